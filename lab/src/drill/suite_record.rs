//! A suite directory's record (`suite.json`) and its runs' times (`timings.json`): pure
//! functions of a [`Suite`], written by [`crate::commands::suite`] and read by [`crate::commands::suite_merge`].

use serde::{Deserialize, Serialize};

use super::report::suite_index::Suite;
use super::shard::{Shard, Timings};
use crate::version::PgVersion;

/// The record's file name in a suite directory.
pub const RECORD: &str = "suite.json";

/// One run of a suite, as its record keeps it (the events stay in the run's `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The drill's name.
    pub drill: String,
    /// The release it ran on.
    pub version: String,
    /// The run directory, relative to the suite directory.
    pub report_dir: Option<String>,
    /// The process's exit code (none: killed or never started).
    pub exit: Option<i32>,
    /// The suite was interrupted while it was going.
    pub interrupted: bool,
    /// Its whole wall time.
    pub seconds: Option<f64>,
}

/// A suite directory's `suite.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRecord {
    /// The suite directory's name.
    pub stamp: String,
    /// Every drill of the suite, in order (also those of other shards).
    pub drills: Vec<String>,
    /// Every release, in order.
    pub versions: Vec<String>,
    /// Which share it ran (none: all of it).
    pub shard: Option<Shard>,
    /// Its runs.
    pub runs: Vec<RunRecord>,
}

impl SuiteRecord {
    /// The record of a suite.
    pub fn of(suite: &Suite) -> SuiteRecord {
        SuiteRecord {
            stamp: suite.stamp.clone(),
            drills: suite.drills.clone(),
            versions: suite.versions.clone(),
            shard: suite.shard,
            runs: suite
                .runs
                .iter()
                .map(|r| RunRecord {
                    drill: r.drill.clone(),
                    version: r.version.clone(),
                    report_dir: r.report_dir.clone(),
                    exit: r.exit,
                    interrupted: r.interrupted,
                    seconds: r.seconds,
                })
                .collect(),
        }
    }

    /// Which share it ran (a whole suite is shard 1/1).
    pub fn share(&self) -> Shard {
        self.shard.unwrap_or(Shard { index: 1, count: 1 })
    }
}

/// The whole time of each run that finished with a report, per drill and major (for
/// `--timings`).
pub fn timings(suite: &Suite) -> Timings {
    let mut t = Timings {
        note: format!("whole-run seconds measured by suite {}", suite.stamp),
        ..Timings::default()
    };
    for r in &suite.runs {
        let (Some(s), Ok(v)) = (r.seconds, r.version.parse::<PgVersion>()) else {
            continue;
        };
        if r.exit.is_some() && !r.events.is_empty() {
            t.record(&r.drill, &v, s);
        }
    }
    t
}
