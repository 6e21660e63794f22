//! The pages of the web view, as `maud` templates: what each page shows,
//! given what the handlers read. No I/O here.

use maud::{html, Markup};
use trash_core::domain::*;
use trash_core::ports::{EmptyJob, EmptyJobState, TrashEntry, TrashedItem};
use trash_core::usecases::{DeleteForeverPreview, EventsPage, SearchPage};

use crate::words::{and_list, exact, plural, relative};

/// The kinds offered by the type filter, with their labels.
pub const KINDS: [(ItemKind, &str); 4] = [
    (ItemKind::Project, "Projects"),
    (ItemKind::Version, "Versions"),
    (ItemKind::Workflow, "Workflows"),
    (ItemKind::Training, "Trainings"),
];

/// The filter of the list as the query carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only items of this kind.
    pub kind: Option<ItemKind>,
    /// The name searched for (blank: all).
    pub text: String,
}

impl Filter {
    /// Whether anything is filtered.
    pub fn active(&self) -> bool {
        self.kind.is_some() || !self.text.trim().is_empty()
    }
}

/// The address of the trash page of `ws` with `filter` and the given
/// list and activity positions.
pub fn trash_url(
    ws: &WorkspaceSlug,
    filter: &Filter,
    cursor: Option<&str>,
    events: Option<&str>,
) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(kind) = filter.kind {
        pairs.push(("type", kind.as_str()));
    }
    let text = filter.text.trim();
    if !text.is_empty() {
        pairs.push(("q", text));
    }
    if let Some(c) = cursor {
        pairs.push(("cursor", c));
    }
    if let Some(e) = events {
        pairs.push(("events", e));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        format!("/app/{ws}/trash")
    } else {
        format!("/app/{ws}/trash?{query}")
    }
}

/// `<time>` with the machine-readable instant, the exact UTC time on
/// hover, and the time relative to `now` as its text.
fn time(now: Timestamp, at: Timestamp) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) title=(exact(at)) { (relative(now, at)) }
    }
}

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(csrf); }
}

/// The hidden fields naming an item in a form or a link.
fn item_fields(item: &TrashedItem) -> Markup {
    let (kind, id, parent) = item_params(item);
    html! {
        input type="hidden" name="type" value=(kind);
        input type="hidden" name="id" value=(id);
        input type="hidden" name="parent_id" value=(parent);
    }
}

/// The item as form fields: type, id, and the parent project of a version.
pub fn item_params(item: &TrashedItem) -> (&'static str, String, String) {
    let target = item.item_ref();
    let parent = match &target {
        ItemRef::Version(project, _) => project.to_string(),
        _ => String::new(),
    };
    (target.kind().as_str(), target.wire_id(), parent)
}

/// The kind of an item as a word.
fn kind_word(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Project => "project",
        ItemKind::Version => "version",
        ItemKind::Workflow => "workflow",
        ItemKind::Training => "training",
    }
}

/// Where an item lives, as a short line.
fn place(item: &TrashedItem) -> String {
    match item {
        TrashedItem::Project(p) => format!("/{}", p.slug),
        TrashedItem::Version(v) => format!("{}, version {}", v.project_name, v.number),
        TrashedItem::Workflow(w) => format!("workflows/{}", w.slug),
        TrashedItem::Training(t) => format!("/{}/{}", t.project_slug, t.version),
    }
}

/// What a root carries with it: "with 3 versions and 1 training", or
/// nothing when it carries nothing.
pub fn contains_line(contains: &Contains) -> Option<String> {
    let mut parts = Vec::new();
    if contains.versions > 0 {
        parts.push(plural(contains.versions.into(), "version", "versions"));
    }
    if contains.trainings > 0 {
        parts.push(plural(contains.trainings.into(), "training", "trainings"));
    }
    (!parts.is_empty()).then(|| format!("with {}", and_list(&parts)))
}

/// Everything the trash page shows.
pub struct TrashView<'a> {
    /// The workspace.
    pub ws: &'a WorkspaceSlug,
    /// Who is signed in.
    pub user: &'a WebUser,
    /// The CSRF token of this session's forms.
    pub csrf: &'a str,
    /// Whether destructive controls are shown (owner or admin).
    pub admin: bool,
    /// Now, by the clock port.
    pub now: Timestamp,
    /// How long items stay in the trash.
    pub retention_days: i64,
    /// An outcome message: its text and whether it reports a problem.
    pub notice: Option<(&'static str, bool)>,
    /// The filter.
    pub filter: &'a Filter,
    /// The list position this page started at, if not the first page.
    pub cursor: Option<&'a str>,
    /// The page of items.
    pub items: &'a SearchPage,
    /// The activity position this page started at, if not the newest.
    pub events_cursor: Option<&'a str>,
    /// The page of activity.
    pub events: &'a EventsPage,
    /// The workspace's latest "Empty Trash" job, if any.
    pub job: Option<&'a EmptyJob>,
    /// The workspace's legal holds (held items are marked, and cannot be
    /// deleted forever).
    pub holds: &'a [Hold],
    /// After an Empty Trash: how many items legal holds kept.
    pub held_kept: Option<u32>,
}

/// How long a finished "Empty Trash" job stays reported on the page.
const JOB_SHOWN_FOR_MILLIS: i64 = 60 * 60 * 1000;

/// The progress of the "Empty Trash" job: while it runs (the page reloads
/// itself), and for an hour after it finished.
fn job_panel(v: &TrashView<'_>) -> Markup {
    let Some(job) = v.job else {
        return html! {};
    };
    let recent = job
        .finished_at
        .is_some_and(|at| v.now.unix_millis() - at.unix_millis() < JOB_SHOWN_FOR_MILLIS);
    let total = job.total.max(job.removed + job.failed);
    // Emptying keeps what legal holds cover: those listed here stay.
    let held_shown = v
        .items
        .entries
        .iter()
        .filter(|e| !trash_core::rules::blocking_holds(v.holds, &e.operation.root).is_empty())
        .count();
    html! {
        @if job.state == EmptyJobState::Running {
            section id="empty-progress" class="panel" aria-labelledby="progress-heading"
                data-state="running"
                data-status=(format!("/app/{}/trash/empty-job", v.ws))
                data-done=(format!("/app/{}/trash", v.ws)) {
                h2 id="progress-heading" { "Emptying the trash" }
                p role="status" {
                    "Removed " strong data-removed { (job.removed) } " of " (plural(total, "item", "items"))
                    @if job.failed > 0 { "; " (job.failed) " could not be removed" }
                    ". Started " (time(v.now, job.started_at)) " by " (job.actor.name) "."
                }
                progress max=(total.max(1)) value=(job.removed) aria-labelledby="progress-heading" {
                    (job.removed) " of " (total)
                }
                p class="summary" {
                    "The work goes on if you leave this page. "
                    a href=(format!("/app/{}/trash", v.ws)) { "Refresh" }
                }
            }
        } @else if recent {
            section id="empty-progress" class="panel" aria-labelledby="progress-heading" {
                h2 id="progress-heading" { "The trash was emptied" }
                p role="status" {
                    (plural(job.removed, "item was", "items were")) " removed for good "
                    @if let Some(at) = job.finished_at { (time(v.now, at)) }
                    "."
                    @if job.failed > 0 {
                        " " (plural(job.failed, "item", "items")) " could not be removed and "
                        @if job.failed == 1 { "is" } @else { "are" } " still in the trash; empty it again to retry."
                    }
                    @if held_shown > 0 {
                        " " (plural(held_shown as u64, "held item was", "held items were")) " kept: legal holds stop their deletion."
                    }
                }
            }
        }
    }
}

/// Top bar: who is signed in and the sign-out button.
fn bar(user: &WebUser, csrf: &str) -> Markup {
    html! {
        header class="bar" {
            p class="brand" { "trashd" }
            div class="who" {
                span { "Signed in as " strong { (user.email.as_str()) } " (" (user.role.as_str()) ")" }
                form class="inline" method="post" action="/app/logout" {
                    (csrf_field(csrf))
                    button type="submit" { "Sign out" }
                }
            }
        }
    }
}

fn notice(notice: Option<(&'static str, bool)>) -> Markup {
    html! {
        @if let Some((text, bad)) = notice {
            @if bad {
                p class="note danger" role="alert" { (text) }
            } @else {
                p class="note" role="status" { (text) }
            }
        }
    }
}

fn filters(v: &TrashView<'_>) -> Markup {
    html! {
        form class="filters" method="get" action=(format!("/app/{}/trash", v.ws)) role="search" aria-label="Filter the trash" {
            div class="field" {
                label for="filter-type" { "Type" }
                select id="filter-type" name="type" {
                    option value="" selected[v.filter.kind.is_none()] { "All types" }
                    @for (kind, label) in KINDS {
                        option value=(kind.as_str()) selected[v.filter.kind == Some(kind)] { (label) }
                    }
                }
            }
            div class="field" {
                label for="filter-q" { "Name" }
                input id="filter-q" type="search" name="q" value=(v.filter.text) placeholder="Search by name" autocomplete="off";
            }
            div class="buttons" {
                button type="submit" class="primary" { "Filter" }
                @if v.filter.active() {
                    a href=(trash_url(v.ws, &Filter::default(), None, None)) { "Clear" }
                }
            }
        }
    }
}

fn item_card(v: &TrashView<'_>, entry: &TrashEntry) -> Markup {
    let op = &entry.operation;
    let item = &entry.item;
    let name = item.confirmation_name();
    let kind = item.item_ref().kind();
    let (t, id, parent) = item_params(item);
    let confirm_url = format!(
        "/app/{}/trash/delete-forever?{}",
        v.ws,
        serde_urlencoded::to_string([("type", t), ("id", &id), ("parent_id", &parent)])
            .unwrap_or_default()
    );
    // The same rule the cleanup and permanent deletion decide with.
    let held: Vec<&str> = trash_core::rules::blocking_holds(v.holds, &op.root)
        .into_iter()
        .map(|h| h.reason.as_str())
        .collect();
    html! {
        li class="item" {
            div {
                span class="kind" { (kind_word(kind)) }
                h3 class="name" { (name) }
                p class="where" { (place(item)) }
                @if let Some(line) = contains_line(&op.contains) {
                    p class="contains" { (line) }
                }
                @if !held.is_empty() {
                    p class="held" { strong { "Held: " } (held.join("; ")) }
                }
                p class="when" {
                    span { "Trashed " (time(v.now, op.deleted_at)) " by " (op.actor.name) }
                    span { "Removed for good " (time(v.now, op.scheduled_cleanup_at)) }
                }
            }
            div class="actions" {
                form class="inline" method="post" action=(format!("/app/{}/trash/restore", v.ws)) {
                    (csrf_field(v.csrf))
                    (item_fields(item))
                    button type="submit" aria-label=(format!("Restore {name}")) { "Restore" }
                }
                @if v.admin && !held.is_empty() {
                    button type="button" class="danger-outline" disabled title="Under legal hold: release the hold to delete it" aria-label=(format!("Delete {name} forever (held)")) { "Delete forever…" }
                } @else if v.admin {
                    a class="button danger-outline" href=(confirm_url) aria-label=(format!("Delete {name} forever…")) { "Delete forever…" }
                }
            }
        }
    }
}

fn empty_state(v: &TrashView<'_>) -> Markup {
    html! {
        div class="empty" {
            @if v.filter.active() {
                h2 { "No items match" }
                p { "Nothing in the trash matches this filter. "
                    a href=(trash_url(v.ws, &Filter::default(), None, None)) { "Show everything" } "." }
            } @else if v.cursor.is_some() {
                h2 { "No more items" }
                p { a href=(trash_url(v.ws, v.filter, None, None)) { "Back to the first page" } }
            } @else {
                h2 { "The trash is empty." }
                p { "When a project, version, workflow or training is deleted, it comes here first, with everything deleted along with it. "
                    "It can be restored for " (plural(v.retention_days.max(0) as u64, "day", "days"))
                    "; after that it is removed for good." }
            }
        }
    }
}

fn pager(v: &TrashView<'_>) -> Markup {
    let next = v.items.next_cursor.as_ref().map(|c| c.encode());
    html! {
        @if v.cursor.is_some() || next.is_some() {
            nav class="pager" aria-label="Pages of the trash" {
                @if v.cursor.is_some() {
                    a href=(trash_url(v.ws, v.filter, None, None)) { "First page" }
                }
                @if let Some(next) = &next {
                    a rel="next" href=(trash_url(v.ws, v.filter, Some(next), None)) {
                        @if v.items.budget_spent { "Continue searching" } @else { "Next page" }
                    }
                }
            }
        }
    }
}

fn list_summary(v: &TrashView<'_>) -> Markup {
    let shown = v.items.entries.len() as u64;
    html! {
        @if v.filter.active() && v.items.budget_spent {
            p class="summary" role="status" {
                (plural(shown, "match", "matches")) " among the next "
                (plural(v.items.examined.into(), "item", "items")) " searched; more of the trash remains to be searched."
            }
        }
    }
}

fn empty_trash_form(v: &TrashView<'_>) -> Markup {
    html! {
        section class="panel danger-zone" aria-labelledby="empty-heading" {
            h2 id="empty-heading" class="danger-text" { "Empty the trash" }
            p { "Deletes every item in this workspace's trash for good, with everything it contains. This cannot be undone. Items under legal hold are kept." }
            form class="confirm-form" method="post" action=(format!("/app/{}/trash/empty", v.ws)) {
                (csrf_field(v.csrf))
                label for="empty-confirm" { "Type the workspace slug " code { (v.ws) } " to confirm" }
                input id="empty-confirm" type="text" name="confirm" required autocomplete="off" spellcheck="false";
                div { button type="submit" class="danger" { "Empty trash" } }
            }
        }
    }
}

/// What an audit event says happened, after the actor's name.
fn event_sentence(event: &AuditEvent) -> String {
    let item = match &event.item {
        Some(item) => item.to_string(),
        // A workspace hold's events are about the whole workspace.
        None => format!("the whole trash of {}", event.workspace),
    };
    match event.kind {
        AuditKind::Trashed => format!("moved {item} to the trash"),
        AuditKind::Restored => format!("restored {item}"),
        AuditKind::Purged => format!("removed {item} for good at the end of its retention"),
        AuditKind::DeletedForever => format!("deleted {item} forever"),
        AuditKind::Emptied => format!("deleted {item} forever by emptying the trash"),
        AuditKind::CancellationRequested => format!("asked to cancel the job of {item}"),
        AuditKind::CancellationSucceeded => format!("confirmed the cancellation of {item}"),
        AuditKind::CancellationFailed => format!("could not cancel the job of {item} yet"),
        AuditKind::HoldPlaced => format!("placed a legal hold on {item}"),
        AuditKind::HoldReleased => format!("released the legal hold on {item}"),
    }
}

fn activity(v: &TrashView<'_>) -> Markup {
    let older = v.events.next_cursor.map(|c| c.encode());
    html! {
        section id="activity" class="panel activity" aria-labelledby="activity-heading" {
            h2 id="activity-heading" { "Activity" }
            @if v.events.events.is_empty() {
                p { "Nothing has happened in this trash yet." }
            } @else {
                ol {
                    @for record in &v.events.events {
                        li {
                            strong { (record.event.actor.name) } " " (event_sentence(&record.event))
                            span class="at" { (time(v.now, record.event.at)) }
                        }
                    }
                }
            }
            @if v.events_cursor.is_some() || older.is_some() {
                nav class="pager" aria-label="Pages of the activity" {
                    @if v.events_cursor.is_some() {
                        a href=(format!("{}#activity", trash_url(v.ws, v.filter, v.cursor, None))) { "Newest activity" }
                    }
                    @if let Some(older) = &older {
                        a href=(format!("{}#activity", trash_url(v.ws, v.filter, v.cursor, Some(older)))) { "Older activity" }
                    }
                }
            }
        }
    }
}

/// The trash page.
pub fn trash_page(v: &TrashView<'_>) -> Markup {
    html! {
        (bar(v.user, v.csrf))
        main {
            h1 { "Trash of " (v.ws) }
            (notice(v.notice))
            @if let Some(n) = v.held_kept.filter(|n| *n > 0) {
                p class="note" role="status" {
                    (plural(n.into(), "held item was", "held items were")) " kept: legal holds stop their deletion."
                }
            }
            p class="lede" {
                "Deleted items stay here for " (plural(v.retention_days.max(0) as u64, "day", "days"))
                ". Restoring brings an item back with everything that was moved to the trash with it."
            }
            (job_panel(v))
            (filters(v))
            (list_summary(v))
            @if v.items.entries.is_empty() {
                (empty_state(v))
            } @else {
                h2 class="visually-hidden" { "Items in the trash" }
                ul class="items" {
                    @for entry in &v.items.entries {
                        (item_card(v, entry))
                    }
                }
            }
            (pager(v))
            @if v.admin
                && !(v.items.entries.is_empty() && !v.filter.active() && v.cursor.is_none())
                && !v.job.is_some_and(|j| j.state == EmptyJobState::Running)
            {
                (empty_trash_form(v))
            }
            (activity(v))
        }
    }
}

/// The "delete forever" confirmation: exactly what goes, and the typed
/// name that confirms it.
pub fn confirm_page(
    ws: &WorkspaceSlug,
    user: &WebUser,
    csrf: &str,
    now: Timestamp,
    preview: &DeleteForeverPreview,
) -> Markup {
    let item = &preview.item;
    let kind = kind_word(item.item_ref().kind());
    let name = &preview.confirmation;
    let r = &preview.removed;
    let is_project = matches!(item, TrashedItem::Project(_));
    html! {
        (bar(user, csrf))
        main {
            h1 { "Delete " (kind) " “" (name) "” forever?" }
            p { "This cannot be undone. It was moved to the trash "
                (time(now, preview.operation.deleted_at)) " by " (preview.operation.actor.name)
                " and would otherwise be removed for good " (time(now, preview.operation.scheduled_cleanup_at)) "." }
            section class="panel danger-zone" aria-labelledby="destroyed-heading" {
                h2 id="destroyed-heading" { "What will be destroyed" }
                ul class="destroyed" {
                    li { "The " (kind) " " strong { (name) } " (" (place(item)) ")" }
                    @if is_project || matches!(item, TrashedItem::Version(_)) {
                        @if is_project {
                            li { (plural(r.versions, "version", "versions")) }
                        }
                        li { (plural(r.trainings, "training", "trainings")) }
                    }
                    @if preview.deletes_images {
                        li { (plural(r.images, "image", "images")) " that no other project links" }
                    }
                }
                @if !preview.deletes_images {
                    p { "Images are kept." }
                }
                form class="confirm-form" method="post" action=(format!("/app/{ws}/trash/delete-forever")) {
                    (csrf_field(csrf))
                    (item_fields(item))
                    label for="confirm" { "Type " code { (name) } " to confirm" }
                    input id="confirm" type="text" name="confirm" required autocomplete="off" spellcheck="false";
                    div class="pager" {
                        button type="submit" class="danger" { "Delete forever" }
                        a href=(format!("/app/{ws}/trash")) { "Cancel" }
                    }
                }
            }
        }
    }
}

/// The sign-in page.
pub fn login_page(token: &str, problem: Option<&str>) -> Markup {
    html! {
        header class="bar" { p class="brand" { "trashd" } }
        main class="narrow" {
            section class="panel" aria-labelledby="sign-in-heading" {
            h1 id="sign-in-heading" { "Sign in" }
            p class="lede" { "The Trash view of your workspace: restore what was deleted, or delete it for good." }
            @if let Some(problem) = problem {
                p class="note danger" role="alert" { (problem) }
            }
            form method="post" action="/app/login" {
                input type="hidden" name="csrf_token" value=(token);
                div class="field" {
                    label for="email" { "E-mail" }
                    input id="email" type="email" name="email" required autocomplete="username";
                }
                div class="field" {
                    label for="password" { "Password" }
                    input id="password" type="password" name="password" required autocomplete="current-password";
                }
                button type="submit" class="primary" { "Sign in" }
            }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_lines_agree_with_their_numbers() {
        let c = |versions, trainings| {
            contains_line(&Contains {
                versions,
                trainings,
            })
        };
        assert_eq!(c(0, 0), None);
        assert_eq!(c(0, 1).as_deref(), Some("with 1 training"));
        assert_eq!(c(1, 0).as_deref(), Some("with 1 version"));
        assert_eq!(c(3, 2).as_deref(), Some("with 3 versions and 2 trainings"));
    }

    #[test]
    fn trash_urls_carry_the_filter_encoded() {
        let ws = WorkspaceSlug::parse("acme").expect("slug");
        let filter = Filter {
            kind: Some(ItemKind::Version),
            text: " a&b c ".into(),
        };
        assert_eq!(
            trash_url(&ws, &filter, Some("c1"), None),
            "/app/acme/trash?type=version&q=a%26b+c&cursor=c1"
        );
        assert_eq!(
            trash_url(&ws, &Filter::default(), None, None),
            "/app/acme/trash"
        );
    }
}
