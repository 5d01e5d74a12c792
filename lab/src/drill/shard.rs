//! A suite spread across CI runners: `--shard K/N` runs a deterministic share of the suite's
//! drill × version runs, balanced by how long each run took before (no I/O here).
//!
//! The runs are assigned greedily, longest first (LPT), each to the shard with the least time so
//! far (the lowest-numbered on a tie), in an order that depends only on the estimates and the
//! suite's own order: every runner computes the same assignment from the same inputs, so the N
//! shards partition the suite. The estimates come from a [`Timings`] table: the one committed in
//! `scenarios/timings.json` (embedded), or one a suite wrote (`--timings`), with a fallback by
//! step count for a run it does not know.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::version::PgVersion;

/// The most shards a suite is spread over.
pub const MAX_SHARDS: usize = 64;

/// A run the table does not know is estimated at this much per step of its drill…
pub const FALLBACK_SECONDS_PER_STEP: f64 = 3.0;
/// … plus this for bringing its lab up and removing it.
pub const FALLBACK_LAB_SECONDS: f64 = 40.0;

/// The committed table (whole-run seconds per drill and major).
pub const DEFAULT_TIMINGS: &str = include_str!("../../../scenarios/timings.json");

/// Shard `index` of `count` (both from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which one, from 1.
    pub index: usize,
    /// How many.
    pub count: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// `K/N` with 1 ≤ K ≤ N ≤ [`MAX_SHARDS`]; `None` otherwise.
    pub fn parse(s: &str) -> Option<Shard> {
        let (k, n) = s.trim().split_once('/')?;
        let (index, count) = (k.trim().parse().ok()?, n.trim().parse().ok()?);
        ((1..=count).contains(&index) && count <= MAX_SHARDS).then_some(Shard { index, count })
    }
}

/// How long each drill's run took, per major: `{"seconds": {"drill": {"15": 62.0}}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Where the figures come from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Whole-run seconds (`up`, the drill, the reports, `down`) per drill, then per major.
    pub seconds: BTreeMap<String, BTreeMap<String, f64>>,
}

impl Timings {
    /// The committed table.
    pub fn committed() -> Timings {
        serde_json::from_str(DEFAULT_TIMINGS).expect("scenarios/timings.json is valid")
    }

    /// Parses a table; the error says what is wrong, in serde's words.
    pub fn parse(text: &str) -> Result<Timings, String> {
        let t: Timings = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for (drill, per) in &t.seconds {
            for (major, s) in per {
                if !s.is_finite() || *s < 0.0 {
                    return Err(format!(
                        "{drill} on {major}: {s} is not a duration in seconds"
                    ));
                }
            }
        }
        Ok(t)
    }

    /// The estimate for `drill` (of `steps` steps) on `version`: its time on that major, else its
    /// mean over the majors it has, else by its steps.
    pub fn estimate(&self, drill: &str, steps: usize, version: &PgVersion) -> f64 {
        let fallback = steps as f64 * FALLBACK_SECONDS_PER_STEP + FALLBACK_LAB_SECONDS;
        let Some(per) = self.seconds.get(drill).filter(|p| !p.is_empty()) else {
            return fallback;
        };
        per.get(&version.major.to_string())
            .copied()
            .unwrap_or_else(|| per.values().sum::<f64>() / per.len() as f64)
    }

    /// Records one run's time (the newest figure wins).
    pub fn record(&mut self, drill: &str, version: &PgVersion, seconds: f64) {
        self.seconds
            .entry(drill.to_string())
            .or_default()
            .insert(version.major.to_string(), (seconds * 10.0).round() / 10.0);
    }
}

/// Assigns items of the given estimated costs to `count` shards, longest first, each to the
/// least loaded shard (the lowest-numbered on a tie); ties between items go in their given
/// order. Returns, per item, its shard (from 0). Costs are compared in whole milliseconds, so the
/// assignment is the same on every machine.
pub fn assign(costs: &[f64], count: usize) -> Vec<usize> {
    let millis: Vec<u64> = costs
        .iter()
        .map(|c| (c.max(0.0) * 1000.0).round() as u64)
        .collect();
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| millis[b].cmp(&millis[a]).then(a.cmp(&b)));
    let mut load = vec![0u64; count.max(1)];
    let mut shard_of = vec![0; costs.len()];
    for item in order {
        let least = (0..load.len())
            .min_by_key(|&s| (load[s], s))
            .expect("at least one shard");
        load[least] += millis[item];
        shard_of[item] = least;
    }
    shard_of
}

/// The items (indices into `costs`) that fall to `shard`, in their given order.
pub fn select(costs: &[f64], shard: Shard) -> Vec<usize> {
    assign(costs, shard.count)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| *s + 1 == shard.index)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loads(costs: &[f64], count: usize) -> Vec<f64> {
        let mut l = vec![0.0; count];
        for (i, s) in assign(costs, count).into_iter().enumerate() {
            l[s] += costs[i];
        }
        l
    }

    #[test]
    fn shards_parse_within_bounds_only() {
        assert_eq!(Shard::parse("2/3"), Some(Shard { index: 2, count: 3 }));
        assert_eq!(Shard::parse("1/1"), Some(Shard { index: 1, count: 1 }));
        assert_eq!(Shard::parse("64/64").map(|s| s.count), Some(64));
        for bad in ["0/3", "4/3", "1/0", "1/65", "3", "a/b", "1/2/3", "-1/2", ""] {
            assert_eq!(Shard::parse(bad), None, "{bad}");
        }
        assert_eq!(Shard { index: 2, count: 5 }.to_string(), "2/5");
    }

    #[test]
    fn the_shards_partition_the_whole_set_for_every_count() {
        let costs: Vec<f64> = (0..30).map(|i| 10.0 + (i * 37 % 23) as f64).collect();
        for count in 1..=MAX_SHARDS {
            let mut seen: Vec<usize> = (1..=count)
                .flat_map(|index| select(&costs, Shard { index, count }))
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..costs.len()).collect::<Vec<_>>(), "{count} shards");
        }
    }

    #[test]
    fn the_assignment_is_deterministic_and_ties_go_in_order() {
        let costs = [5.0, 5.0, 5.0, 5.0, 9.0];
        assert_eq!(assign(&costs, 2), assign(&costs, 2));
        // 9 → shard 0; then the 5s in their order: shard 1, 1, 0, 1.
        assert_eq!(assign(&costs, 2), [1, 1, 0, 1, 0]);
        // Equal costs within a millisecond count as equal.
        assert_eq!(assign(&[1.0, 1.0004], 2), [0, 1]);
    }

    #[test]
    fn longest_first_balances_within_the_longest_item() {
        // The committed table's 30 runs (every drill on three majors) over 2, 3 and 4 shards.
        let t = Timings::committed();
        let costs: Vec<f64> = t
            .seconds
            .values()
            .flat_map(|per| per.values().take(3).copied())
            .collect();
        assert!(costs.len() >= 30, "{}", costs.len());
        let longest = costs.iter().copied().fold(0.0, f64::max);
        for count in [2, 3, 4] {
            let l = loads(&costs, count);
            let (lo, hi) = l
                .iter()
                .fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
            assert!(hi - lo <= longest, "{count} shards: {l:?}");
            // LPT is within 4/3 of the best possible; the mean is a bound on the best.
            let mean = costs.iter().sum::<f64>() / count as f64;
            assert!(
                hi <= mean * 4.0 / 3.0,
                "{count} shards: {l:?} (mean {mean})"
            );
        }
        // Not always the best: 3,3,2,2,2 over two shards is 7 and 5 where 6 and 6 exist.
        assert_eq!(loads(&[3.0, 3.0, 2.0, 2.0, 2.0], 2), [7.0, 5.0]);
    }

    #[test]
    fn estimates_fall_back_to_other_majors_then_to_steps() {
        let mut t = Timings::default();
        let v15: PgVersion = "15".parse().unwrap();
        let v93: PgVersion = "9.3.25".parse().unwrap();
        let v17: PgVersion = "17.2".parse().unwrap();
        assert_eq!(t.estimate("d", 10, &v15), 10.0 * 3.0 + 40.0);
        t.record("d", &v15, 60.04);
        t.record("d", &v93, 80.0);
        assert_eq!(t.estimate("d", 10, &v15), 60.0);
        assert_eq!(t.estimate("d", 10, &"15.3".parse().unwrap()), 60.0);
        assert_eq!(t.estimate("d", 10, &v17), 70.0);
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(Timings::parse(&text).unwrap(), t);
        assert!(Timings::parse(r#"{"seconds": {"d": {"15": -1}}}"#).is_err());
        assert!(Timings::parse("{}").is_err());
    }

    #[test]
    fn the_committed_table_knows_every_built_in_drill() {
        let t = Timings::committed();
        for (name, _) in crate::drill::BUILTIN {
            assert!(t.seconds.contains_key(*name), "{name}");
        }
    }
}
