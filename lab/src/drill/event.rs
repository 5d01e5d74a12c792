//! What a drill run reports: the only thing the runner and the reporters share.
//!
//! The runner never prints; it emits [`Event`]s. Reporters (live terminal, Markdown, JSON,
//! JUnit) are built from the same recorded list, so a report shows exactly what happened.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::node::NodeId;

/// Where a step acted: one node, or every node (`"all"` in `report.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One node.
    Node(NodeId),
    /// Every node.
    All,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Node(node) => node.fmt(f),
            Target::All => f.write_str("all"),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Target, D::Error> {
        match String::deserialize(deserializer)?.as_str() {
            "all" => Ok(Target::All),
            name => name
                .parse()
                .map(Target::Node)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A node's role, as [`Event::Role`] records it (`"primary"`, `"standby"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Accepts writes.
    Primary,
    /// Follows a primary.
    Standby,
}

impl Role {
    /// Its name in events and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Standby => "standby",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A phase of the recovery time, as the runner measures it from the first fault (each a
/// [`Event::Measure`] by the name strum spells here, the one place it is spelled).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::EnumString,
)]
pub enum RtoPhase {
    /// The monitor's first non-accepting reading of the failed node.
    #[strum(serialize = "rto_detection_seconds")]
    Detection,
    /// The old master made sure to be down.
    #[strum(serialize = "rto_fenced_seconds")]
    Fenced,
    /// The first promotion.
    #[strum(serialize = "rto_promoted_seconds")]
    Promoted,
    /// The first write acknowledged after the outage.
    #[strum(serialize = "rto_first_write_seconds")]
    FirstWrite,
}

impl RtoPhase {
    /// The name of its measure.
    pub fn measure(self) -> &'static str {
        self.into()
    }
}

/// What a measure measures: a phase of the recovery time, typed, or any other figure by its
/// name (the ledger's RPO and write gap, a drill's own `measure`). `report.json` spells both
/// as the name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MeasureName {
    /// A phase of the recovery time.
    Rto(RtoPhase),
    /// Any other figure.
    Named(String),
}

impl MeasureName {
    /// Its name in reports.
    pub fn as_str(&self) -> &str {
        match self {
            MeasureName::Rto(phase) => phase.measure(),
            MeasureName::Named(name) => name,
        }
    }
}

impl From<&str> for MeasureName {
    /// An RTO phase's name is that phase; any other name is a named figure.
    fn from(name: &str) -> MeasureName {
        name.parse()
            .map_or_else(|_| MeasureName::Named(name.to_string()), MeasureName::Rto)
    }
}

impl std::fmt::Display for MeasureName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MeasureName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MeasureName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<MeasureName, D::Error> {
        Ok(MeasureName::from(
            String::deserialize(deserializer)?.as_str(),
        ))
    }
}

/// Who performed a step of a hands-on rehearsal (`lab drill run --by-hand`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Performer {
    /// The DBA typed it on the server; the lab checked the outcome.
    Dba,
    /// The lab performed it (the DBA let it, or it is the lab's part: faults, checks, marks).
    Lab,
}

impl Performer {
    /// Its name in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Performer::Dba => "DBA",
            Performer::Lab => "lab",
        }
    }
}

/// One event of a drill run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        /// The node it acts on (resolved from a role if need be), or every node.
        node: Option<Target>,
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
        #[serde(with = "secs")]
        took: Duration,
        /// Whether a failure of this step is tolerated.
        optional: bool,
    },
    /// A fault was injected or healed.
    Fault {
        /// The fault (its name in `report.json`).
        #[serde(rename = "name")]
        fault: crate::fault::Fault,
        /// The node.
        node: NodeId,
        /// Healed rather than injected.
        heal: bool,
        /// Seconds since the drill started.
        at: f64,
    },
    /// The monitor saw a node's readiness change.
    Readiness {
        /// The node probed.
        node: NodeId,
        /// pg_isready's code.
        code: u8,
        /// Seconds since the drill started.
        at: f64,
    },
    /// A node's role changed (promoted, or configured and started as a standby).
    Role {
        /// The node.
        node: NodeId,
        /// `primary` or `standby`.
        role: Role,
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
    /// Replication lag of a standby, as the monitor measured it (see [`crate::pg::lag`]).
    Lag {
        /// The standby.
        node: NodeId,
        /// Seconds since its last replayed transaction (grows on an idle primary).
        seconds: f64,
        /// Bytes of WAL the primary has written that the standby has not replayed, from the
        /// primary's `pg_stat_replication` in the same round; absent when no primary listed
        /// the standby, and in reports written before the lab measured it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
        /// Seconds since the drill started.
        at: f64,
    },
    /// A figure the drill measured (RPO, RTO phases, write gaps).
    Measure {
        /// What (`rpo_rows`, `rpo_seconds`, `rto_detection_seconds`, …).
        name: MeasureName,
        /// The value.
        value: f64,
        /// Seconds since the drill started.
        at: f64,
    },
    /// A step offered to the DBA in a hands-on rehearsal: who did it in the end, after how
    /// many checks, and what each failed check found (recorded before its `StepFinished`, whose
    /// `took` is the whole time from the prompt to the passing check). Absent from other runs,
    /// and from reports written before hands-on rehearsals existed.
    Performed {
        /// 1-based step number.
        number: usize,
        /// Who performed it.
        by: Performer,
        /// How many times the DBA said "done" and the lab checked.
        #[serde(default)]
        tries: u32,
        /// Each failed check's message, in order: what was wrong before it was right.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        wrong: Vec<String>,
        /// Seconds since the drill started, when it was settled.
        at: f64,
    },
    /// The drill ended.
    DrillFinished {
        /// Whether every step passed (false when stopped).
        passed: bool,
        /// The step at which the user stopped the drill on purpose (`q` in `--step` mode): the
        /// run is reported as stopped, not failed. Absent from `report.json` unless stopped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped_at: Option<usize>,
        /// Seconds the drill took.
        #[serde(with = "secs")]
        took: Duration,
    },
}

impl Event {
    /// When it happened, in seconds since the drill started, for the events that say so.
    pub fn at(&self) -> Option<f64> {
        match self {
            Event::StepStarted { at, .. }
            | Event::Fault { at, .. }
            | Event::Readiness { at, .. }
            | Event::Role { at, .. }
            | Event::LedgerSample { at, .. }
            | Event::Measure { at, .. }
            | Event::Lag { at, .. }
            | Event::Performed { at, .. } => Some(*at),
            Event::DrillStarted { .. }
            | Event::StepFinished { .. }
            | Event::DrillFinished { .. } => None,
        }
    }
}

/// A finished drill's result as reports show it: `PASSED`, `FAILED` or `STOPPED`.
pub fn result_word(passed: bool, stopped_at: Option<usize>) -> &'static str {
    match (passed, stopped_at) {
        (_, Some(_)) => "STOPPED",
        (true, None) => "PASSED",
        (false, None) => "FAILED",
    }
}

/// A run's `report.json`: its events, in the order they happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Every event of the run.
    pub events: Vec<Event>,
}

/// Durations as seconds with millisecond precision (`12.345`).
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `report.json` as `lab drill run` writes it (one event of each kind).
    const RECORDED: &str = r#"{
  "events": [
    {"event": "drill_started", "name": "node-crash-failover", "title": "T", "proves": "P.", "pg_version": "15.18", "profile": "default", "steps": 3},
    {"event": "step_started", "number": 1, "title": "crash", "node": "node1", "commands": ["kill -9 1"], "at": 0.5},
    {"event": "fault", "name": "node-crash", "node": "node1", "heal": false, "at": 0.6},
    {"event": "readiness", "node": "node1", "code": 2, "at": 1.2},
    {"event": "step_finished", "number": 1, "outcome": {"status": "passed"}, "output": "", "took": 0.25, "optional": false},
    {"event": "step_started", "number": 2, "title": "count", "node": null, "commands": [], "at": 1.5},
    {"event": "step_finished", "number": 2, "outcome": {"status": "failed", "expected": "1", "seen": "0"}, "output": "0", "took": 1.0, "optional": true},
    {"event": "step_finished", "number": 3, "outcome": {"status": "error", "message": "lost"}, "output": "", "took": 0.0, "optional": false},
    {"event": "step_finished", "number": 4, "outcome": {"status": "skipped", "reason": "not sync"}, "output": "", "took": 0.0, "optional": false},
    {"event": "role", "node": "node2", "role": "primary", "at": 3.0},
    {"event": "ledger_sample", "acked": 40, "failed": 2, "at": 3.5},
    {"event": "lag", "node": "node2", "seconds": 0.125, "at": 4.0},
    {"event": "measure", "name": "rpo_rows", "value": 0.0, "at": 5.0},
    {"event": "drill_finished", "passed": false, "took": 5.123}
  ]
}"#;

    #[test]
    fn a_recorded_report_reads_as_events_and_writes_back_the_same() {
        let report: RunReport = serde_json::from_str(RECORDED).unwrap();
        assert_eq!(report.events.len(), 14);
        assert_eq!(
            report.events[13],
            Event::DrillFinished {
                passed: false,
                stopped_at: None,
                took: Duration::from_millis(5123)
            }
        );
        let written = serde_json::to_value(&report).unwrap();
        let recorded: serde_json::Value = serde_json::from_str(RECORDED).unwrap();
        assert_eq!(written, recorded);
        let again: RunReport = serde_json::from_value(written).unwrap();
        assert_eq!(again, report);
    }

    #[test]
    fn a_hands_on_step_reads_with_its_defaults_and_writes_back() {
        let minimal =
            r#"{"events": [{"event": "performed", "number": 3, "by": "lab", "at": 2.5}]}"#;
        let report: RunReport = serde_json::from_str(minimal).unwrap();
        assert_eq!(
            report.events,
            [Event::Performed {
                number: 3,
                by: Performer::Lab,
                tries: 0,
                wrong: vec![],
                at: 2.5
            }]
        );
        let full = Event::Performed {
            number: 4,
            by: Performer::Dba,
            tries: 2,
            wrong: vec!["expected x; there is: y".into()],
            at: 9.0,
        };
        let json = serde_json::to_string(&full).unwrap();
        assert!(json.contains(r#""by":"dba""#), "{json}");
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), full);
    }

    #[test]
    fn lag_reads_with_or_without_its_bytes_and_writes_them_only_when_measured() {
        let old = r#"{"event": "lag", "node": "node2", "seconds": 0.125, "at": 4.0}"#;
        let without = serde_json::from_str::<Event>(old).unwrap();
        assert_eq!(
            without,
            Event::Lag {
                node: NodeId::NODE2,
                seconds: 0.125,
                bytes: None,
                at: 4.0
            }
        );
        assert!(!serde_json::to_string(&without).unwrap().contains("bytes"));
        let new =
            r#"{"event": "lag", "node": "node2", "seconds": 0.125, "bytes": 8192, "at": 4.0}"#;
        let with = serde_json::from_str::<Event>(new).unwrap();
        assert_eq!(
            with,
            Event::Lag {
                node: NodeId::NODE2,
                seconds: 0.125,
                bytes: Some(8192),
                at: 4.0
            }
        );
        assert_eq!(
            serde_json::to_value(&with).unwrap(),
            serde_json::from_str::<serde_json::Value>(new).unwrap()
        );
    }

    #[test]
    fn a_negative_duration_or_an_unknown_event_is_refused() {
        let bad = r#"{"events": [{"event": "drill_finished", "passed": true, "took": -1.0}]}"#;
        assert!(serde_json::from_str::<RunReport>(bad).is_err());
        let unknown = r#"{"events": [{"event": "weather", "at": 1.0}]}"#;
        assert!(serde_json::from_str::<RunReport>(unknown).is_err());
    }

    /// Each phase's measure name reads back as that phase; other measures are none.
    #[test]
    fn rto_phase_names_read_back() {
        use strum::VariantArray;
        for phase in RtoPhase::VARIANTS {
            assert_eq!(phase.measure().parse::<RtoPhase>(), Ok(*phase));
            assert!(phase.measure().starts_with("rto_"));
        }
        assert!("rpo_rows".parse::<RtoPhase>().is_err());
    }
}
