//! List the trash.

use crate::domain::*;
use crate::ports::{AuditQuery, StoreError, TrashEntry, TrashQuery, TrashedItem};

use super::{check_access, AccessDenied, TrashService};

/// How many entries a page holds: 1 to 1000 (default 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    /// The largest page.
    pub const MAX: PageLimit = PageLimit(1000);

    /// Accepts 1 to 1000.
    pub fn new(n: u32) -> Result<PageLimit, InvalidValue> {
        if (1..=1000).contains(&n) {
            Ok(PageLimit(n))
        } else {
            Err(InvalidValue::OutOfRange {
                what: "limit",
                detail: "must be between 1 and 1000",
            })
        }
    }

    /// Parses a decimal `limit` query value.
    pub fn parse(value: &str) -> Result<PageLimit, InvalidValue> {
        let n = value.parse::<u32>().map_err(|_| InvalidValue::OutOfRange {
            what: "limit",
            detail: "must be between 1 and 1000",
        })?;
        PageLimit::new(n)
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        PageLimit::MAX
    }
}

/// A page request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListTrashRequest {
    /// Only roots of this kind.
    pub kind: Option<ItemKind>,
    /// Page size.
    pub limit: PageLimit,
    /// Continue after this position.
    pub cursor: Option<TrashCursor>,
}

/// One page of the trash, newest `deletedAt` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashPage {
    /// The entries.
    pub entries: Vec<TrashEntry>,
    /// For each entry (same index), the legal holds that stop its
    /// destruction ([`crate::rules::blocking_holds`]); empty when not held.
    pub holds: Vec<Vec<HoldId>>,
    /// Where the next page starts, if more entries remain.
    pub next_cursor: Option<TrashCursor>,
}

/// Why listing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListTrashError {
    /// The principal may not do this.
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TrashService {
    /// Lists the workspace's trash: one entry per operation root (cascaded
    /// members are not listed on their own; their root reports `contains`).
    pub async fn list_trash(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        request: &ListTrashRequest,
    ) -> Result<TrashPage, ListTrashError> {
        let kind = request.kind.unwrap_or(ItemKind::Project);
        check_access(
            principal,
            workspace,
            required_scope(Action::ListTrash, kind),
        )?;
        Ok(self.trash_page(workspace, request).await?)
    }

    pub(crate) async fn trash_page(
        &self,
        workspace: &WorkspaceSlug,
        request: &ListTrashRequest,
    ) -> Result<TrashPage, StoreError> {
        let limit = request.limit.get();
        let mut entries = self
            .reads
            .list_trash(&TrashQuery {
                workspace: workspace.clone(),
                kind: request.kind,
                limit: limit + 1,
                after: request.cursor.clone(),
            })
            .await?;
        let next_cursor = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| TrashCursor::after(&e.operation))
        } else {
            None
        };
        let holds = if entries.is_empty() {
            Vec::new()
        } else {
            let held = self.workspace_holds(workspace).await?;
            entries
                .iter()
                .map(|e| crate::rules::blocking_hold_ids(&held.holds, &e.operation.root))
                .collect()
        };
        Ok(TrashPage {
            entries,
            holds,
            next_cursor,
        })
    }
}

/// A search of the trash by name, a page at a time: entries whose name,
/// slug or id (or their project's name or slug) contains `text`, ignoring
/// case, newest `deletedAt` first.
///
/// The listing is read in keyset order from `cursor`, and at most `budget`
/// entries are examined per call, so a call costs the same however large
/// the trash is; a page that ran out of budget before it filled says so
/// ([`SearchPage::budget_spent`]) and its cursor continues the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashSearch {
    /// Only roots of this kind.
    pub kind: Option<ItemKind>,
    /// What to look for; blank lists everything (plain paging).
    pub text: String,
    /// At most this many matches per page.
    pub limit: PageLimit,
    /// Continue after this position.
    pub cursor: Option<TrashCursor>,
    /// At most this many entries examined per call (at least one page).
    pub budget: u32,
}

/// One page of a [`TrashSearch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    /// The matching entries.
    pub entries: Vec<TrashEntry>,
    /// Where the search continues, if entries remain to be examined.
    pub next_cursor: Option<TrashCursor>,
    /// How many entries were examined.
    pub examined: u32,
    /// The page is short because the budget ran out, not because the trash
    /// was read to its end.
    pub budget_spent: bool,
}

/// How many entries a search reads from the store at a time.
const SEARCH_CHUNK: u32 = 500;

/// Whether a listed item matches `needle` (already lower case).
fn item_matches(item: &TrashedItem, needle: &str) -> bool {
    let hit = |s: &str| s.to_lowercase().contains(needle);
    match item {
        TrashedItem::Project(p) => hit(p.name.as_str()) || hit(p.slug.as_str()),
        TrashedItem::Version(v) => {
            hit(v.name.as_str()) || hit(v.project_name.as_str()) || hit(v.project_slug.as_str())
        }
        TrashedItem::Workflow(w) => hit(w.name.as_str()) || hit(w.slug.as_str()),
        TrashedItem::Training(t) => hit(t.id.as_str()) || hit(t.project_slug.as_str()),
    }
}

impl TrashService {
    /// Searches the workspace's trash (see [`TrashSearch`]); needs what
    /// listing needs.
    pub async fn search_trash(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        search: &TrashSearch,
    ) -> Result<SearchPage, ListTrashError> {
        let kind = search.kind.unwrap_or(ItemKind::Project);
        check_access(
            principal,
            workspace,
            required_scope(Action::ListTrash, kind),
        )?;
        let needle = search.text.trim().to_lowercase();
        if needle.is_empty() {
            let page = self
                .trash_page(
                    workspace,
                    &ListTrashRequest {
                        kind: search.kind,
                        limit: search.limit,
                        cursor: search.cursor.clone(),
                    },
                )
                .await?;
            return Ok(SearchPage {
                examined: page.entries.len() as u32,
                entries: page.entries,
                next_cursor: page.next_cursor,
                budget_spent: false,
            });
        }
        let want = search.limit.get() as usize;
        let budget = search.budget.max(1);
        let mut cursor = search.cursor.clone();
        let mut entries = Vec::new();
        let mut examined = 0u32;
        loop {
            let chunk = SEARCH_CHUNK.min(budget - examined);
            let page = self
                .reads
                .list_trash(&TrashQuery {
                    workspace: workspace.clone(),
                    kind: search.kind,
                    limit: chunk,
                    after: cursor.clone(),
                })
                .await?;
            let read = page.len();
            for entry in page {
                examined += 1;
                cursor = Some(TrashCursor::after(&entry.operation));
                if item_matches(&entry.item, &needle) {
                    entries.push(entry);
                    if entries.len() == want {
                        return Ok(SearchPage {
                            entries,
                            next_cursor: cursor,
                            examined,
                            budget_spent: false,
                        });
                    }
                }
            }
            if read < chunk as usize {
                return Ok(SearchPage {
                    entries,
                    next_cursor: None,
                    examined,
                    budget_spent: false,
                });
            }
            if examined >= budget {
                return Ok(SearchPage {
                    entries,
                    next_cursor: cursor,
                    examined,
                    budget_spent: true,
                });
            }
        }
    }
}

/// Why reading the audit trail failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The principal may not do this.
    #[error(transparent)]
    Denied(#[from] AccessDenied),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TrashService {
    /// Reads the workspace's audit trail (needs `project:read`), oldest
    /// first, after position `after`.
    pub async fn audit_trail(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, AuditError> {
        check_access(
            principal,
            workspace,
            Scope::new(Resource::Project, Permission::Read),
        )?;
        Ok(self
            .audit
            .audit_events(workspace, after, limit.clamp(1, 1000))
            .await?)
    }
}

/// A page request of the audit trail (the events API, the web activity panel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsRequest {
    /// Only events about items of this kind.
    pub kind: Option<ItemKind>,
    /// Page size.
    pub limit: PageLimit,
    /// Continue with the events older than this position.
    pub cursor: Option<EventCursor>,
}

impl Default for EventsRequest {
    fn default() -> Self {
        EventsRequest {
            kind: None,
            limit: EventsRequest::DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

impl EventsRequest {
    /// The page size when none is asked for.
    pub const DEFAULT_LIMIT: PageLimit = PageLimit(100);
}

/// One page of the audit trail, newest first. Only the kinds in
/// [`AuditKind::PUBLIC`] are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsPage {
    /// The events.
    pub events: Vec<AuditRecord>,
    /// Where the next (older) page starts, if more events remain.
    pub next_cursor: Option<EventCursor>,
}

impl TrashService {
    /// Reads the workspace's audit trail newest first, a page at a time
    /// (needs `project:read`; a web user of the workspace may read it too).
    pub async fn events(
        &self,
        principal: &Principal,
        workspace: &WorkspaceSlug,
        request: &EventsRequest,
    ) -> Result<EventsPage, AuditError> {
        check_access(
            principal,
            workspace,
            Scope::new(Resource::Project, Permission::Read),
        )?;
        let limit = request.limit.get();
        let mut events = self
            .audit
            .audit_page(&AuditQuery {
                workspace: workspace.clone(),
                before: request.cursor.map(|c| c.seq),
                kinds: AuditKind::PUBLIC.to_vec(),
                item_kind: request.kind,
                limit: limit + 1,
            })
            .await?;
        let next_cursor = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|e| EventCursor { seq: e.seq })
        } else {
            None
        };
        Ok(EventsPage {
            events,
            next_cursor,
        })
    }
}
