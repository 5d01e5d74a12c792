//! What a drill run reports: the only thing the runner and the reporters share.
//!
//! The runner never prints; it emits [`Event`]s. Reporters (live terminal, Markdown, JSON,
//! JUnit) are built from the same recorded list, so a report shows exactly what happened.

use std::time::Duration;

use serde::Serialize;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Did what it should, and every expectation held.
    Passed,
    /// An expectation did not hold.
    Failed {
        /// What the drill expected.
        expected: String,
        /// What was seen.
        seen: String,
    },
    /// The lab could not perform the step (Docker, a command that could not start…).
    Error {
        /// What went wrong.
        message: String,
    },
    /// Not run (skipped by the user, or after an earlier failure).
    Skipped {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// Whether the step passed.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }
}

/// One event of a drill run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The drill starts.
    DrillStarted {
        /// The drill's name.
        name: String,
        /// Its title.
        title: String,
        /// What it proves.
        proves: String,
        /// The PostgreSQL release.
        pg_version: String,
        /// The profile.
        profile: String,
        /// The number of steps.
        steps: usize,
    },
    /// A step starts.
    StepStarted {
        /// 1-based step number.
        number: usize,
        /// Its title.
        title: String,
        /// The node it acts on (resolved from a role if need be).
        node: Option<String>,
        /// The commands and files, rendered for this run.
        commands: Vec<String>,
        /// Seconds since the drill started.
        at: f64,
    },
    /// A step ended.
    StepFinished {
        /// 1-based step number.
        number: usize,
        /// How it ended.
        outcome: Outcome,
        /// What the step printed or read (trimmed excerpt).
        output: String,
        /// How long it took.
        #[serde(serialize_with = "secs")]
        took: Duration,
        /// Whether a failure of this step is tolerated.
        optional: bool,
    },
    /// A fault was injected or healed.
    Fault {
        /// The fault.
        name: String,
        /// The node.
        node: String,
        /// Healed rather than injected.
        heal: bool,
        /// Seconds since the drill started.
        at: f64,
    },
    /// The monitor saw a node's readiness change.
    Readiness {
        /// The node probed.
        node: String,
        /// pg_isready's code.
        code: u8,
        /// Seconds since the drill started.
        at: f64,
    },
    /// A node's role changed (promoted, or configured and started as a standby).
    Role {
        /// The node.
        node: String,
        /// `primary` or `standby`.
        role: String,
        /// Seconds since the drill started.
        at: f64,
    },
    /// The ledger writer's progress: acknowledged and failed writes so far.
    LedgerSample {
        /// Rows acknowledged so far.
        acked: u64,
        /// Attempts that failed or whose outcome is unknown so far.
        failed: u64,
        /// Seconds since the drill started.
        at: f64,
    },
    /// Replication lag of a standby, as the monitor measured it.
    Lag {
        /// The standby.
        node: String,
        /// Seconds since its last replayed transaction.
        seconds: f64,
        /// Seconds since the drill started.
        at: f64,
    },
    /// A figure the drill measured (RPO, RTO phases, write gaps).
    Measure {
        /// What (`rpo_rows`, `rpo_seconds`, `rto_detection_seconds`, …).
        name: String,
        /// The value.
        value: f64,
        /// Seconds since the drill started.
        at: f64,
    },
    /// The drill ended.
    DrillFinished {
        /// Whether every step passed (false when stopped).
        passed: bool,
        /// The step at which the user stopped the drill on purpose (`q` in `--step` mode): the
        /// run is reported as stopped, not failed.
        stopped_at: Option<usize>,
        /// Seconds the drill took.
        #[serde(serialize_with = "secs")]
        took: Duration,
    },
}

/// A finished drill's result as reports show it: `PASSED`, `FAILED` or `STOPPED`.
pub fn result_word(passed: bool, stopped_at: Option<usize>) -> &'static str {
    match (passed, stopped_at) {
        (_, Some(_)) => "STOPPED",
        (true, None) => "PASSED",
        (false, None) => "FAILED",
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}
