//! Bulk restore: the order in which the items of one call are restored.

use crate::domain::*;

/// The most items one bulk restore may name.
pub const MAX_BULK_RESTORE: usize = 100;

fn restore_rank(item: &ItemRef) -> u8 {
    match item {
        ItemRef::Project(_) => 0,
        ItemRef::Workflow(_) => 1,
        ItemRef::Version(..) => 2,
        ItemRef::Training(_) => 3,
    }
}

/// The order in which the items of one bulk restore are tried, as indexes
/// into `items`: parents before what may depend on them (projects, then
/// workflows, then versions, then trainings), and in request order within
/// each kind. So a project listed with its versions is restored before
/// them, and a version before its trainings. Results are still answered in
/// request order.
pub fn bulk_restore_order(items: &[ItemRef]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    // A stable sort keeps request order within a kind.
    order.sort_by_key(|&i| restore_rank(&items[i]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_request_order_is_kept_within_a_kind() {
        let p1 = ProjectId::parse("p0000000000000000001").unwrap();
        let p2 = ProjectId::parse("p0000000000000000002").unwrap();
        let t = TrainingId::parse("t0000000000000000001").unwrap();
        let w = WorkflowId::parse("w0000000000000000001").unwrap();
        let n = VersionNumber::FIRST;
        let items = vec![
            ItemRef::Training(t),
            ItemRef::Version(p1.clone(), n),
            ItemRef::Project(p2.clone()),
            ItemRef::Workflow(w),
            ItemRef::Version(p2, n),
            ItemRef::Project(p1),
        ];
        assert_eq!(bulk_restore_order(&items), vec![2, 5, 3, 1, 4, 0]);
        assert!(bulk_restore_order(&[]).is_empty());
    }
}
