//! Routed policies (policies.md, "Routed policies: one policy per slice"): a policy that, in
//! each conversation, takes the decisions of the plain policy its route names for that
//! conversation's value of one column.
//!
//! A routed policy is never replayed itself: its decisions are composed after the replay from
//! the decisions of the plain policies it routes to (`compose`), so routing costs one lookup
//! per conversation and no pass over the timelines.

use crate::error::UsageError;
use crate::model::Dataset;
use crate::replay::Decision;
use crate::slicing;

/// The route key every other value (null and empty included) takes.
pub const FALLBACK: &str = "*";

/// One routed `[[policy]]`, resolved against the plain policies of its file.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutedPolicy {
    pub name: String,
    /// A column of the conversations table (slices.md).
    pub route_by: String,
    /// Value (trimmed; lower-cased for `segment`, as ingest stores segments) to the index of
    /// a plain policy in `PoliciesFile::policies`, in file order.
    pub routes: Vec<(String, usize)>,
    /// The plain policy of `"*"`.
    pub fallback: usize,
    /// Its index among the file's `[[policy]]` tables, routed or not: where it is listed
    /// among the named policies.
    pub position: usize,
}

impl RoutedPolicy {
    /// A route key as it is compared with the column's values (slices.md: trimmed; `segment`
    /// lower-cased, as ingest lower-cases it).
    pub fn normalise_key(route_by: &str, key: &str) -> String {
        let trimmed = key.trim();
        if route_by == "segment" {
            trimmed.to_lowercase()
        } else {
            trimmed.to_string()
        }
    }

    /// The index of the plain policy taken for a conversation whose value is `value`
    /// (`None`: null or empty, which only `"*"` matches).
    pub fn target(&self, value: Option<&str>) -> usize {
        value
            .and_then(|v| self.routes.iter().find(|(k, _)| k == v))
            .map_or(self.fallback, |(_, p)| *p)
    }

    /// Per conversation of `dataset`, the index of the plain policy it is routed to. The
    /// column must have passed `check_route_columns`.
    pub fn targets(&self, dataset: &Dataset) -> Vec<usize> {
        (0..dataset.conversations.len())
            .map(|i| self.target(slicing::value(dataset, i, &self.route_by).as_deref()))
            .collect()
    }
}

/// Refuses a routed policy whose `route_by` column the conversations table lacks, naming the
/// column and the columns that exist (the same rule and wording as `--by`).
pub fn check_route_columns(dataset: &Dataset, routed: &[RoutedPolicy]) -> Result<(), UsageError> {
    for r in routed {
        slicing::check_column(
            dataset,
            &format!("policy `{}`: route_by {}", r.name, r.route_by),
            &r.route_by,
        )?;
    }
    Ok(())
}

/// A routed policy's decision in every conversation: `plain[targets[i]][i]`, where `plain` is
/// the decisions of the plain policies in file order.
pub fn compose(plain: &[Vec<Decision>], targets: &[usize]) -> Vec<Decision> {
    targets
        .iter()
        .enumerate()
        .map(|(i, &p)| plain.get(p).and_then(|d| d.get(i)).copied().unwrap_or(Decision::NEVER))
        .collect()
}

/// Inserts every routed policy's decisions (`compose`) among the named policies of
/// `names`/`decisions` (as `Replayed` holds them: `historical`, the plain policies in file
/// order, then the rest), at its place in the file's order of `[[policy]]` tables.
pub fn insert_routed<'a>(
    names: &mut Vec<&'a str>,
    decisions: &mut Vec<Vec<Decision>>,
    plain_count: usize,
    routed: &'a [RoutedPolicy],
    dataset: &Dataset,
) {
    if routed.is_empty() {
        return;
    }
    let plain = &decisions[1..=plain_count.min(decisions.len().saturating_sub(1))];
    let composed: Vec<Vec<Decision>> =
        routed.iter().map(|r| compose(plain, &r.targets(dataset))).collect();
    // Positions are increasing, so each insertion lands at its final index.
    let mut order: Vec<(&RoutedPolicy, Vec<Decision>)> = routed.iter().zip(composed).collect();
    order.sort_by_key(|(r, _)| r.position);
    for (r, d) in order {
        let at = (1 + r.position).min(names.len()).min(decisions.len());
        names.insert(at, r.name.as_str());
        decisions.insert(at, d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Conversation;

    fn routed() -> RoutedPolicy {
        RoutedPolicy {
            name: "r".into(),
            route_by: "segment".into(),
            routes: vec![("enterprise".into(), 1), ("smb".into(), 0)],
            fallback: 2,
            position: 1,
        }
    }

    #[test]
    fn values_route_to_their_policy_and_the_rest_to_the_fallback() {
        let r = routed();
        assert_eq!(r.target(Some("enterprise")), 1);
        assert_eq!(r.target(Some("smb")), 0);
        assert_eq!(r.target(Some("mid")), 2);
        assert_eq!(r.target(None), 2);
        assert_eq!(RoutedPolicy::normalise_key("segment", " SMB "), "smb");
        assert_eq!(RoutedPolicy::normalise_key("region", " EU "), "EU");
    }

    #[test]
    fn composed_decisions_are_inserted_in_file_order() {
        let mut d = Dataset::default();
        d.columns.segment = true;
        d.conversations = [Some("smb"), Some("enterprise"), None]
            .iter()
            .map(|s| Conversation { segment: s.map(str::to_string), ..Conversation::default() })
            .collect();
        let at = |p: u32| Decision { point: Some(p), situation: None };
        let mut names = vec!["historical", "a", "b", "c", "a@delay=1"];
        let mut decisions = vec![
            vec![Decision::NEVER; 3],
            vec![at(1), at(1), at(1)],
            vec![at(2), at(2), at(2)],
            vec![at(3), at(3), at(3)],
            vec![at(4), at(4), at(4)],
        ];
        let routed = [routed()];
        insert_routed(&mut names, &mut decisions, 3, &routed, &d);
        assert_eq!(names, ["historical", "a", "r", "b", "c", "a@delay=1"]);
        assert_eq!(decisions[2], vec![at(1), at(2), at(3)]);
        assert!(check_route_columns(&d, &routed).is_ok());
        let mut other = routed[0].clone();
        other.route_by = "region".into();
        let e = check_route_columns(&d, &[other]).unwrap_err().0;
        assert!(e.contains("policy `r`: route_by region") && e.contains("segment"), "{e}");
    }
}
