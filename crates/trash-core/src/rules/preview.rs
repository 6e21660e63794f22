//! What a restore would bring back, for dry runs.

use crate::domain::*;
use crate::ports::ProjectAggregate;

/// Every item of the aggregate that records operation `op`: its root first,
/// then the items cascaded with it (versions, then trainings). Exactly what
/// restoring the operation brings back.
pub fn operation_items(agg: &ProjectAggregate, op: &OperationId) -> Vec<ItemRef> {
    let mut out = Vec::new();
    if let Some(o) = agg.operations.iter().find(|o| &o.id == op) {
        out.push(o.root.clone());
    }
    let records = |state: &ItemState| state.operation() == Some(op);
    if records(&agg.project.state) && !out.contains(&ItemRef::Project(agg.project.id.clone())) {
        out.push(ItemRef::Project(agg.project.id.clone()));
    }
    for v in &agg.versions {
        let item = ItemRef::Version(v.project.clone(), v.number);
        if records(&v.state) && !out.contains(&item) {
            out.push(item);
        }
    }
    for t in &agg.trainings {
        let item = ItemRef::Training(t.id.clone());
        if records(&t.state) && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
