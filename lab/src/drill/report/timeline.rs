//! `report.html`: a drill run as one self-contained page that shows the incident at a glance.
//!
//! The page has a header (drill, PostgreSQL release, profile, result, what it proves), an inline
//! SVG timeline, a table of the steps and a legend; no scripts and no external assets. The
//! timeline has one lane per node (its pg_isready state as coloured bands, its role changes as
//! markers), fault and heal markers across every lane, step ticks along the top, the ledger
//! writer's progress (with its stalls shaded and its failed writes marked) and, when the monitor
//! measured it, each standby's replay lag.
//!
//! It is built in two stages: [`model`] turns the run's [`RunSummary`] (the one fold of its
//! events) into a [`Timeline`] (pure, and unit-tested), and [`html`] renders that model. Every
//! number is printed with fixed decimals, so the same events always give the same bytes.

use crate::drill::event::{Event, Outcome, Performer, Role, RtoPhase, Target};
use crate::drill::summary::{FaultAt, RunSummary, StepView};
use crate::node::NodeId;

/// Ledger stalls longer than this (seconds without an acknowledged write) are shaded.
pub const GAP_MIN: f64 = 1.0;

/// A node's state according to `pg_isready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// No reading yet (or pg_isready could not even try: code 3).
    Unknown,
    /// Code 0: accepting connections.
    Accepting,
    /// Code 1: rejecting connections (starting up or shutting down).
    Rejecting,
    /// Code 2: no response.
    NoResponse,
}

impl Readiness {
    /// The state for a pg_isready exit code.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Readiness::Accepting,
            1 => Readiness::Rejecting,
            2 => Readiness::NoResponse,
            _ => Readiness::Unknown,
        }
    }

    /// How the legend and the hover titles name it.
    pub fn label(self) -> &'static str {
        match self {
            Readiness::Unknown => "unknown",
            Readiness::Accepting => "accepting",
            Readiness::Rejecting => "rejecting",
            Readiness::NoResponse => "no response",
        }
    }
}

/// A stretch of time during which a node kept one readiness state.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Seconds since the drill started.
    pub start: f64,
    /// Seconds since the drill started (exclusive).
    pub end: f64,
    /// The state.
    pub state: Readiness,
}

/// A node taking a role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleMark {
    /// Seconds since the drill started.
    pub at: f64,
    /// `primary` or `standby`.
    pub role: Role,
}

/// One node's lane.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLane {
    /// The node.
    pub node: NodeId,
    /// Its readiness, covering the whole drill without overlaps.
    pub bands: Vec<Band>,
    /// Its role changes, in time order.
    pub roles: Vec<RoleMark>,
}

/// A step, as its start and end events describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepMark {
    /// 1-based step number.
    pub number: usize,
    /// Its title.
    pub title: String,
    /// The node it acted on, or every node.
    pub node: Option<Target>,
    /// Seconds since the drill started.
    pub start: f64,
    /// How long it took, once finished.
    pub took: Option<f64>,
    /// How it ended, once finished.
    pub outcome: Option<Outcome>,
    /// Whether a failure is tolerated.
    pub optional: bool,
    /// In a hands-on rehearsal: who performed it and after how many checks.
    pub performed: Option<(Performer, u32)>,
}

impl StepMark {
    /// Whether it failed or could not be performed.
    pub fn bad(&self) -> bool {
        matches!(
            self.outcome,
            Some(Outcome::Failed { .. } | Outcome::Error { .. })
        )
    }
}

/// One sample of the ledger writer's progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LedgerPoint {
    /// Seconds since the drill started.
    pub at: f64,
    /// Writes acknowledged so far.
    pub acked: u64,
    /// Writes failed so far.
    pub failed: u64,
}

/// A stretch without any acknowledged write (between two samples that show the same count).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    /// The first sample showing the stalled count.
    pub start: f64,
    /// The last sample showing it.
    pub end: f64,
}

/// Writes that failed since the previous sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailMark {
    /// The sample that showed them.
    pub at: f64,
    /// How many failed since the previous sample.
    pub new: u64,
    /// How many failed so far.
    pub total: u64,
}

/// The ledger lane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// The samples, in time order.
    pub points: Vec<LedgerPoint>,
    /// Stalls longer than [`GAP_MIN`].
    pub gaps: Vec<Gap>,
    /// Where failed writes appeared.
    pub failures: Vec<FailMark>,
}

/// One standby's replay lag over time.
#[derive(Debug, Clone, PartialEq)]
pub struct LagSeries {
    /// The standby.
    pub node: NodeId,
    /// `(seconds since the drill started, seconds since its last replayed commit)`, in time
    /// order.
    pub points: Vec<(f64, f64)>,
    /// `(seconds since the drill started, bytes behind the primary)`, in time order: the
    /// readings that had a primary's figure (none in reports from before the lab measured it).
    pub bytes: Vec<(f64, f64)>,
}

impl LagSeries {
    /// Whether any standby's lag was measured in bytes.
    pub fn any_bytes(lag: &[LagSeries]) -> bool {
        lag.iter().any(|s| !s.bytes.is_empty())
    }
}

/// What the header says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// The drill's name.
    pub name: String,
    /// Its title.
    pub title: String,
    /// What it proves.
    pub proves: String,
    /// The PostgreSQL release.
    pub pg_version: String,
    /// The profile.
    pub profile: String,
    /// Whether it passed, once finished.
    pub passed: Option<bool>,
    /// The step at which the user stopped the drill.
    pub stopped_at: Option<usize>,
    /// Seconds it took, once finished.
    pub took: Option<f64>,
}

/// Everything the page draws, computed from the events.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The header.
    pub header: Header,
    /// The end of the time axis (seconds; the drill's duration, or its last event).
    pub end: f64,
    /// One lane per node, in node order.
    pub lanes: Vec<NodeLane>,
    /// Faults and heals, in time order.
    pub faults: Vec<FaultAt>,
    /// Steps, in the order they started.
    pub steps: Vec<StepMark>,
    /// The ledger lane (empty when the drill ran no ledger writer).
    pub ledger: Ledger,
    /// One lag series per standby, in natural name order.
    pub lag: Vec<LagSeries>,
    /// The figures the drill measured (`rpo_rows`, `rows_lost_by_restarted_master`, …), in
    /// the order they were measured.
    pub measures: Vec<(String, f64)>,
    /// The RTO phases, when the run measured them.
    pub rto: Option<Rto>,
}

/// The phases of the recovery time, each in seconds after the first injected fault, as the
/// runner measured them (`rto_detection_seconds`, `rto_fenced_seconds`,
/// `rto_promoted_seconds`, `rto_first_write_seconds`); a phase not reached is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rto {
    /// The faulted node first seen not accepting connections.
    pub detection: Option<f64>,
    /// The old primary made sure to be down.
    pub fenced: Option<f64>,
    /// A new primary.
    pub promoted: Option<f64>,
    /// The first write acknowledged after the outage.
    pub first_write: Option<f64>,
}

impl Rto {
    /// The run's RTO phases (the last value of each wins), or `None` when it measured none.
    pub fn of(run: &RunSummary) -> Option<Rto> {
        let phase = |p| run.rto(p).filter(|v| v.is_finite() && *v >= 0.0);
        let any = <RtoPhase as strum::VariantArray>::VARIANTS
            .iter()
            .any(|p| run.rto(*p).is_some());
        any.then(|| Rto {
            detection: phase(RtoPhase::Detection),
            fenced: phase(RtoPhase::Fenced),
            promoted: phase(RtoPhase::Promoted),
            first_write: phase(RtoPhase::FirstWrite),
        })
    }
}

/// What the page draws of a run: a pure function of its summary.
pub fn model(run: &RunSummary) -> Timeline {
    let end = if run.latest.is_nan() || run.latest <= 0.0 {
        1.0
    } else {
        run.latest
    };
    let mut faults: Vec<FaultAt> = run.faults().copied().collect();
    faults.sort_by(|a, b| a.at.total_cmp(&b.at));
    let mut points: Vec<LedgerPoint> = run
        .ledger
        .iter()
        .map(|s| LedgerPoint {
            at: s.at,
            acked: s.acked,
            failed: s.failed,
        })
        .collect();
    points.sort_by(|a, b| a.at.total_cmp(&b.at));
    let measures: Vec<(String, f64)> = run
        .measures
        .iter()
        .map(|(name, value)| (name.to_string(), *value))
        .collect();
    Timeline {
        header: header(run),
        end,
        lanes: lanes(run, end),
        faults,
        steps: run.steps.iter().map(step_mark).collect(),
        ledger: Ledger {
            gaps: ledger_gaps(&points),
            failures: ledger_failures(&points),
            points,
        },
        lag: lag_series(run),
        rto: Rto::of(run),
        measures,
    }
}

/// The page's header: the run's drill and server, and how it ended.
fn header(run: &RunSummary) -> Header {
    let mut h = Header::default();
    if let Some(started) = run.header {
        h.name = started.name.to_string();
        h.title = started.title.to_string();
        h.proves = started.proves.to_string();
        h.pg_version = started.pg_version.to_string();
        h.profile = started.profile.to_string();
    }
    if let Some(end) = run.ending {
        h.passed = Some(end.passed);
        h.stopped_at = end.stopped_at;
        h.took = Some(end.took);
    }
    h
}

/// A step as the page marks it (its time and outcome once finished).
fn step_mark(s: &StepView) -> StepMark {
    StepMark {
        number: s.number,
        title: s.title.to_string(),
        node: s.node,
        start: s.at,
        took: s.outcome.map(|_| s.took),
        outcome: s.outcome.cloned(),
        optional: s.optional,
        performed: s.performed.map(|p| (p.by, p.tries)),
    }
}

/// One lane per node that has readings, roles or faults, in node order.
fn lanes(run: &RunSummary, end: f64) -> Vec<NodeLane> {
    let mut nodes: Vec<NodeId> = run
        .readings()
        .map(|r| r.node)
        .chain(run.roles.iter().map(|r| r.node))
        .chain(run.faults().map(|f| f.node))
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
        .into_iter()
        .map(|node| {
            let mine: Vec<(f64, u8)> = run
                .readings()
                .filter(|r| r.node == node)
                .map(|r| (r.at, r.code))
                .collect();
            let mut roles: Vec<RoleMark> = run
                .roles
                .iter()
                .filter(|r| r.node == node)
                .map(|r| RoleMark {
                    at: r.at,
                    role: r.role,
                })
                .collect();
            roles.sort_by(|a, b| a.at.total_cmp(&b.at));
            NodeLane {
                node,
                bands: readiness_bands(&mine, end),
                roles,
            }
        })
        .collect()
}

/// One series per standby whose lag was measured, its points in time order, in node order.
fn lag_series(run: &RunSummary) -> Vec<LagSeries> {
    let mut lag: Vec<LagSeries> = Vec::new();
    for r in &run.lag {
        let i = match lag.iter().position(|s| s.node == r.node) {
            Some(i) => i,
            None => {
                lag.push(LagSeries {
                    node: r.node,
                    points: vec![],
                    bytes: vec![],
                });
                lag.len() - 1
            }
        };
        lag[i].points.push((r.at, r.seconds));
        if let Some(b) = r.bytes {
            lag[i].bytes.push((r.at, b as f64));
        }
    }
    for s in &mut lag {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        s.bytes.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    lag.sort_by_key(|s| s.node);
    lag
}

/// Turns a node's readiness readings (`(seconds, pg_isready code)`) into bands covering
/// `0..end`: unknown before the first reading, then each state until the next different one.
pub fn readiness_bands(readings: &[(f64, u8)], end: f64) -> Vec<Band> {
    let mut sorted = readings.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut bands: Vec<Band> = Vec::new();
    let mut push = |start: f64, stop: f64, state: Readiness| {
        if stop <= start {
            return;
        }
        match bands.last_mut() {
            Some(last) if last.state == state && last.end == start => last.end = stop,
            _ => bands.push(Band {
                start,
                end: stop,
                state,
            }),
        }
    };
    let (mut since, mut state) = (0.0, Readiness::Unknown);
    for (at, code) in sorted {
        let at = at.clamp(0.0, end);
        let next = Readiness::from_code(code);
        if next != state {
            push(since, at, state);
            (since, state) = (at, next);
        }
    }
    push(since, end, state);
    bands
}

/// The stalls of the ledger writer: runs of samples (in time order) showing the same
/// acknowledged count for longer than [`GAP_MIN`] seconds.
pub fn ledger_gaps(points: &[LedgerPoint]) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let mut j = i;
        while j + 1 < points.len() && points[j + 1].acked <= points[i].acked {
            j += 1;
        }
        if points[j].at - points[i].at > GAP_MIN {
            gaps.push(Gap {
                start: points[i].at,
                end: points[j].at,
            });
        }
        i = j + 1;
    }
    gaps
}

/// The samples (in time order) at which the failed count grew.
pub fn ledger_failures(points: &[LedgerPoint]) -> Vec<FailMark> {
    let mut before = 0;
    let mut marks = Vec::new();
    for p in points {
        if p.failed > before {
            marks.push(FailMark {
                at: p.at,
                new: p.failed - before,
                total: p.failed,
            });
        }
        before = before.max(p.failed);
    }
    marks
}

mod page;

/// `report.html`: the run as one self-contained page (inline CSS and SVG, no scripts).
pub fn html(events: &[Event]) -> String {
    page::page(&model(&RunSummary::of(events))).into_string()
}

#[cfg(test)]
mod tests {
    use super::page::{tick_label, tick_step};
    use super::*;
    use std::time::Duration;

    fn model_of(events: &[Event]) -> Timeline {
        model(&RunSummary::of(events))
    }

    fn readiness(node: &str, code: u8, at: f64) -> Event {
        Event::Readiness {
            node: node.parse().unwrap(),
            code,
            at,
        }
    }

    fn role(node: &str, role: Role, at: f64) -> Event {
        Event::Role {
            node: node.parse().unwrap(),
            role,
            at,
        }
    }

    fn sample(at: f64, acked: u64, failed: u64) -> Event {
        Event::LedgerSample { acked, failed, at }
    }

    fn lag(node: &str, seconds: f64, bytes: Option<u64>, at: f64) -> Event {
        Event::Lag {
            node: node.parse().unwrap(),
            seconds,
            bytes,
            at,
        }
    }

    fn fault(name: &str, node: &str, heal: bool, at: f64) -> Event {
        Event::Fault {
            fault: name.parse().expect("a fault of the catalogue"),
            node: node.parse().unwrap(),
            heal,
            at,
        }
    }

    fn step(
        number: usize,
        title: &str,
        node: &str,
        at: f64,
        took: f64,
        outcome: Outcome,
    ) -> [Event; 2] {
        [
            Event::StepStarted {
                number,
                title: title.into(),
                node: Some(Target::Node(node.parse().unwrap())),
                commands: vec![],
                at,
            },
            Event::StepFinished {
                number,
                outcome,
                output: String::new(),
                took: Duration::from_secs_f64(took),
                optional: false,
            },
        ]
    }

    fn band(start: f64, end: f64, state: Readiness) -> Band {
        Band { start, end, state }
    }

    #[test]
    fn readiness_becomes_bands_from_zero_to_the_end() {
        use Readiness::*;
        let bands = readiness_bands(&[(0.5, 0), (4.3, 1), (6.0, 2), (6.0, 2), (29.0, 0)], 34.2);
        assert_eq!(
            bands,
            vec![
                band(0.0, 0.5, Unknown),
                band(0.5, 4.3, Accepting),
                band(4.3, 6.0, Rejecting),
                band(6.0, 29.0, NoResponse),
                band(29.0, 34.2, Accepting),
            ]
        );
        // Unsorted readings, a repeat, and a reading at 0 (no unknown band).
        let bands = readiness_bands(&[(3.0, 2), (0.0, 0), (2.0, 0), (5.0, 2)], 10.0);
        assert_eq!(
            bands,
            vec![band(0.0, 3.0, Accepting), band(3.0, 10.0, NoResponse)]
        );
        // Code 3 (no attempt) is unknown; two readings at once: the later one wins.
        let bands = readiness_bands(&[(1.0, 0), (2.0, 3), (4.0, 1), (4.0, 0)], 5.0);
        assert_eq!(
            bands,
            vec![
                band(0.0, 1.0, Unknown),
                band(1.0, 2.0, Accepting),
                band(2.0, 4.0, Unknown),
                band(4.0, 5.0, Accepting),
            ]
        );
        assert_eq!(readiness_bands(&[], 7.0), vec![band(0.0, 7.0, Unknown)]);
    }

    #[test]
    fn lanes_hold_bands_and_role_markers_in_node_order() {
        let t = model_of(&[
            readiness("node3", 0, 1.0),
            role("node2", Role::Primary, 20.0),
            readiness("node2", 0, 0.6),
            role("node2", Role::Standby, 0.8),
            readiness("node1", 0, 0.5),
            Event::DrillFinished {
                passed: true,
                stopped_at: None,
                took: Duration::from_secs(30),
            },
        ]);
        assert_eq!(t.end, 30.0);
        let names: Vec<String> = t.lanes.iter().map(|l| l.node.name()).collect();
        assert_eq!(names, ["node1", "node2", "node3"]);
        let node2 = &t.lanes[1];
        assert_eq!(
            node2.roles,
            vec![
                RoleMark {
                    at: 0.8,
                    role: Role::Standby
                },
                RoleMark {
                    at: 20.0,
                    role: Role::Primary
                },
            ]
        );
        assert_eq!(node2.bands.last().unwrap().end, 30.0);
        assert!(t.lanes[0].roles.is_empty());
    }

    #[test]
    fn ledger_stalls_longer_than_a_second_are_gaps() {
        let points: Vec<LedgerPoint> = [
            (0.0, 0, 0),
            (1.0, 10, 0),
            (2.0, 20, 0),
            (3.0, 20, 1), // stalled for 1 s only: not a gap
            (4.0, 30, 1),
            (5.0, 30, 1),
            (6.0, 30, 3),
            (7.5, 30, 3),
            (8.0, 45, 3),
            (9.0, 60, 3),
            (10.0, 60, 3),
            (12.0, 60, 3), // still stalled at the end
        ]
        .into_iter()
        .map(|(at, acked, failed)| LedgerPoint { at, acked, failed })
        .collect();
        assert_eq!(
            ledger_gaps(&points),
            vec![
                Gap {
                    start: 4.0,
                    end: 7.5
                },
                Gap {
                    start: 9.0,
                    end: 12.0
                }
            ]
        );
        assert_eq!(
            ledger_failures(&points),
            vec![
                FailMark {
                    at: 3.0,
                    new: 1,
                    total: 1
                },
                FailMark {
                    at: 6.0,
                    new: 2,
                    total: 3
                }
            ]
        );
        assert!(ledger_gaps(&[]).is_empty());
    }

    #[test]
    fn ticks_suit_the_length_of_the_drill() {
        assert_eq!(tick_step(8.0), 1.0);
        assert_eq!(tick_step(34.2), 5.0);
        assert_eq!(tick_step(100.0), 10.0);
        assert_eq!(tick_step(300.0), 30.0);
        assert_eq!(tick_step(700.0), 60.0);
        assert_eq!(tick_label(90.0, 30.0), "90s");
        assert_eq!(tick_label(120.0, 60.0), "2m");
        assert_eq!(tick_label(5400.0, 900.0), "1h30m");
    }

    #[test]
    fn measures_are_listed_in_the_order_they_were_taken() {
        let events = vec![
            Event::Measure {
                name: "rows_lost_by_restarted_master".into(),
                value: 104.0,
                at: 3.0,
            },
            Event::Measure {
                name: "rpo_rows".into(),
                value: 0.0,
                at: 4.0,
            },
        ];
        let t = model_of(&events);
        assert_eq!(
            t.measures,
            vec![
                ("rows_lost_by_restarted_master".to_string(), 104.0),
                ("rpo_rows".to_string(), 0.0)
            ]
        );
        let page = html(&events);
        let lost = page
            .find("<code>rows_lost_by_restarted_master</code></td><td class=\"num\">104.000")
            .expect("the measure is in the page");
        assert!(lost < page.find("<code>rpo_rows</code>").unwrap());
        assert!(!html(&[]).contains("<h2>Measures</h2>"));
    }

    #[test]
    fn rto_phases_come_from_the_rto_measures() {
        let m = |name: &str, value: f64| Event::Measure {
            name: name.into(),
            value,
            at: 9.0,
        };
        let t = model_of(&[
            m("rpo_rows", 0.0),
            m("rto_detection_seconds", 1.5),
            m("rto_promoted_seconds", 6.0),
            m("rto_first_write_seconds", 7.4),
        ]);
        assert_eq!(
            t.rto,
            Some(Rto {
                detection: Some(1.5),
                fenced: None,
                promoted: Some(6.0),
                first_write: Some(7.4),
            })
        );
        assert_eq!(model_of(&[m("rpo_rows", 0.0)]).rto, None);
        assert!(!html(&[m("rpo_rows", 0.0)]).contains("RTO phases"));
    }

    #[test]
    fn text_is_escaped() {
        let mut events = vec![
            Event::DrillStarted {
                name: "x<y".into(),
                title: "A & B".into(),
                proves: "'quoted'".into(),
                pg_version: "15".into(),
                profile: "default".into(),
                steps: 1,
            },
            readiness("node1", 0, 1.0),
            fault("node-crash", "node1", false, 2.0),
        ];
        events.extend(step(
            1,
            "Check <b>\"a\" & 'b'</b>",
            "node1",
            0.0,
            1.0,
            Outcome::Failed {
                expected: "<1>".into(),
                seen: "</td>".into(),
            },
        ));
        let page = html(&events);
        // Node names are typed (`NodeId`) and hold no markup; the free text does.
        // maud escapes `&`, `<`, `>` and `"`: a `'` is harmless in text and in `"`-quoted values.
        assert!(page.contains("Check &lt;b&gt;&quot;a&quot; &amp; 'b'&lt;/b&gt;"));
        assert!(!page.contains("<b>"));
        assert!(!page.contains("</td>\"") && page.contains("&lt;/td&gt;"));
        assert!(page.contains("A &amp; B") && page.contains("x&lt;y"));
    }

    /// A failover: node1 crashes at 4 s, node2 is promoted at 20 s, writes stall between,
    /// one check fails, node1 comes back as a standby.
    fn failover() -> Vec<Event> {
        let mut e = vec![Event::DrillStarted {
            name: "failover-switchback".into(),
            title: "Failover to the standby, then switch back".into(),
            proves: "When the primary crashes, the standby can be promoted without losing an \
                     acknowledged write, and the old primary can rejoin as a standby."
                .into(),
            pg_version: "15.18".into(),
            profile: "default".into(),
            steps: 7,
        }];
        e.push(role("node1", Role::Primary, 0.3));
        e.push(role("node2", Role::Standby, 0.4));
        e.push(readiness("node1", 0, 0.5));
        e.push(readiness("node2", 0, 0.6));
        e.extend(step(
            1,
            "Check that the standby is streaming",
            "node1",
            0.0,
            1.2,
            Outcome::Passed,
        ));
        e.extend(step(
            2,
            "Crash the primary",
            "node1",
            3.8,
            0.4,
            Outcome::Passed,
        ));
        e.push(fault("node-crash", "node1", false, 4.0));
        e.push(readiness("node1", 1, 4.3));
        e.push(readiness("node1", 2, 6.0));
        e.extend(step(
            3,
            "The standby stays read-only",
            "node2",
            5.0,
            3.0,
            Outcome::Passed,
        ));
        e.extend(step(
            4,
            "Promote node2",
            "node2",
            19.0,
            1.4,
            Outcome::Passed,
        ));
        e.push(role("node2", Role::Primary, 20.0));
        e.extend(step(
            5,
            "Writes resume within 5 s of the promotion",
            "node2",
            20.5,
            4.6,
            Outcome::Failed {
                expected: "an acknowledged write < 5 s after promotion".into(),
                seen: "no acknowledged write 5.0 s after promotion".into(),
            },
        ));
        e.push(fault("node-crash", "node1", true, 25.0));
        e.push(readiness("node1", 1, 28.0));
        e.extend(step(
            6,
            "Rebuild node1 as a standby of node2",
            "node1",
            25.2,
            6.0,
            Outcome::Passed,
        ));
        e.push(role("node1", Role::Standby, 30.5));
        e.push(readiness("node1", 0, 31.0));
        e.extend(step(
            7,
            "Check that node1 replays from node2",
            "node1",
            31.5,
            1.0,
            Outcome::Passed,
        ));
        for i in 0..=17 {
            let at = i as f64 * 2.0;
            let acked = match at {
                a if a <= 4.0 => (a * 10.0) as u64,
                a if a < 30.0 => 40,
                a => 40 + ((a - 28.0) * 12.0) as u64,
            };
            let failed = match at {
                a if a < 6.0 => 0,
                a if a < 30.0 => ((a - 4.0) / 4.0) as u64,
                _ => 6,
            };
            e.push(sample(at, acked, failed));
        }
        // node2 behind node1 in bytes while node1 is up, then no primary lists it; node1
        // rebuilt behind node2.
        for (at, s, b) in [(1.0, 0.1, 0), (3.0, 0.3, 180_224)] {
            e.push(lag("node2", s, Some(b), at));
        }
        for at in [6.0, 10.0, 14.0, 18.0] {
            e.push(lag("node2", at - 4.0, None, at));
        }
        e.push(lag("node1", 2.5, Some(2 << 20), 31.0));
        e.push(lag("node1", 0.4, Some(0), 33.0));
        e.push(Event::DrillFinished {
            passed: false,
            stopped_at: None,
            took: Duration::from_secs_f64(34.2),
        });
        e
    }

    #[test]
    fn failover_model() {
        let t = model_of(&failover());
        assert_eq!(t.end, 34.2);
        assert_eq!(
            t.ledger.gaps,
            vec![Gap {
                start: 4.0,
                end: 28.0
            }]
        );
        assert_eq!(t.ledger.failures.len(), 6);
        let states: Vec<Readiness> = t.lanes[0].bands.iter().map(|b| b.state).collect();
        use Readiness::*;
        assert_eq!(
            states,
            [Unknown, Accepting, Rejecting, NoResponse, Rejecting, Accepting]
        );
        assert_eq!(t.lag.len(), 2);
        assert_eq!(t.lag[0].bytes, [(31.0, 2097152.0), (33.0, 0.0)]);
        assert_eq!(t.lag[1].points.len(), 6);
        assert_eq!(t.lag[1].bytes, [(1.0, 0.0), (3.0, 180224.0)]);
        assert!(t.steps[4].bad() && !t.steps[3].bad());
    }

    #[test]
    fn failover_matches_the_golden_file() {
        crate::golden::assert_golden("timeline/failover.html", &html(&failover()));
    }
}
