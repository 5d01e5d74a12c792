//! A run's events folded once into what its readers ask of them (pure): the header, how it
//! ended, the steps with their outcomes and times, the measures, the faults and readiness
//! readings in order, the role changes, the ledger's samples, the replay lag, the first
//! promotion after the first fault and the latest time the run names. `report.md`,
//! `junit.xml`, `report.html`, the suite's index and comparison, `lab bench`, the exit code and
//! the runner's own RTO phases read a [`RunSummary`]; nothing else walks the events
//! (`layers::only_the_fold_reads_events` checks it).

use super::event::{Event, MeasureName, Outcome, Performer, Role, RtoPhase, Target};
use crate::fault::Fault;
use crate::node::NodeId;

/// The drill and server a run was for (its `drill_started` event).
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// The drill's name.
    pub name: &'a str,
    /// Its title.
    pub title: &'a str,
    /// What it proves.
    pub proves: &'a str,
    /// The PostgreSQL release.
    pub pg_version: &'a str,
    /// The profile.
    pub profile: &'a str,
}

/// How a run ended (its `drill_finished` event).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ending {
    /// Every step that counts passed.
    pub passed: bool,
    /// The step before which the user stopped it (`q` in `--step` mode).
    pub stopped_at: Option<usize>,
    /// The drill's own time, in seconds.
    pub took: f64,
}

/// A step as reconstructed from its events.
#[derive(Debug, Clone)]
pub struct StepView<'a> {
    /// 1-based step number.
    pub number: usize,
    /// Its title.
    pub title: &'a str,
    /// When it started, in seconds since the drill started.
    pub at: f64,
    /// The node it acted on (none: the runner's own step).
    pub node: Option<Target>,
    /// The commands and files, as rendered for the run.
    pub commands: &'a [String],
    /// None while the step has not finished (a run cut short).
    pub outcome: Option<&'a Outcome>,
    /// What it printed.
    pub output: &'a str,
    /// How long it took, in seconds.
    pub took: f64,
    /// Its failure does not fail the drill.
    pub optional: bool,
    /// In a hands-on rehearsal, who performed a step offered to the DBA, after how many
    /// checks, and what the failed ones found.
    pub performed: Option<Performed<'a>>,
}

/// A step of a hands-on rehearsal, as its [`Event::Performed`] says.
#[derive(Debug, Clone, Copy)]
pub struct Performed<'a> {
    /// The DBA or the lab.
    pub by: Performer,
    /// How many times the lab checked.
    pub tries: u32,
    /// What each failed check found.
    pub wrong: &'a [String],
}

/// A fault injected or healed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultAt {
    /// The fault.
    pub fault: Fault,
    /// Where.
    pub node: NodeId,
    /// Healed, not injected.
    pub heal: bool,
    /// Seconds since the drill started.
    pub at: f64,
}

/// The monitor's pg_isready reading of a node, when it changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Of which node.
    pub node: NodeId,
    /// pg_isready's code.
    pub code: u8,
    /// Seconds since the drill started.
    pub at: f64,
}

/// A fault injected or healed, or a readiness reading, in the order of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Incident {
    /// A fault injected or healed.
    Fault(FaultAt),
    /// The monitor's pg_isready reading changed.
    Readiness(Reading),
}

/// A node taking a role (promoted, or made a standby).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoleChange {
    /// The node.
    pub node: NodeId,
    /// Its new role.
    pub role: Role,
    /// Seconds since the drill started.
    pub at: f64,
}

/// One sample of the ledger writer's progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LedgerSample {
    /// Writes acknowledged so far.
    pub acked: u64,
    /// Writes failed (or of unknown outcome) so far.
    pub failed: u64,
    /// Seconds since the drill started.
    pub at: f64,
}

/// A standby's replay lag, as the monitor measured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LagReading {
    /// The standby.
    pub node: NodeId,
    /// Seconds since its last replayed transaction.
    pub seconds: f64,
    /// Bytes behind the primary, when a primary listed it (see [`crate::pg::lag`]).
    pub bytes: Option<u64>,
    /// Seconds since the drill started.
    pub at: f64,
}

/// The first fault injected and the first node promoted after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Promotion {
    /// The first fault injected.
    pub fault: Fault,
    /// The node promoted.
    pub node: NodeId,
    /// Seconds from the fault to the promotion.
    pub after: f64,
}

/// A run, as its readers see it.
#[derive(Debug, Clone, Default)]
pub struct RunSummary<'a> {
    /// Its `drill_started`.
    pub header: Option<Header<'a>>,
    /// Its `drill_finished` (none: cut short).
    pub ending: Option<Ending>,
    /// The steps, in order.
    pub steps: Vec<StepView<'a>>,
    /// `(name, value)`, in the order they were measured.
    pub measures: Vec<(&'a MeasureName, f64)>,
    /// Faults and readiness readings, in order.
    pub incidents: Vec<Incident>,
    /// Role changes, in order.
    pub roles: Vec<RoleChange>,
    /// The ledger writer's samples, in order.
    pub ledger: Vec<LedgerSample>,
    /// Replay lag readings, in order.
    pub lag: Vec<LagReading>,
    /// The first promotion after the first injected fault.
    pub promotion: Option<Promotion>,
    /// The latest time the run names, in seconds since it started: any event's time, a
    /// finished step's end, the drill's own time (0 when none).
    pub latest: f64,
}

impl<'a> RunSummary<'a> {
    /// The one fold of a run's events.
    pub fn of(events: &'a [Event]) -> RunSummary<'a> {
        let mut run = RunSummary::default();
        for e in events {
            if let Some(at) = e.at() {
                run.latest = run.latest.max(at);
            }
            run.apply(e);
        }
        run
    }

    /// Folds one event in.
    fn apply(&mut self, e: &'a Event) {
        match e {
            Event::DrillStarted {
                name,
                title,
                proves,
                pg_version,
                profile,
                ..
            } => {
                self.header.get_or_insert(Header {
                    name,
                    title,
                    proves,
                    pg_version,
                    profile,
                });
            }
            Event::DrillFinished {
                passed,
                stopped_at,
                took,
            } => {
                self.latest = self.latest.max(took.as_secs_f64());
                self.ending.get_or_insert(Ending {
                    passed: *passed,
                    stopped_at: *stopped_at,
                    took: took.as_secs_f64(),
                });
            }
            Event::StepStarted { .. } | Event::Performed { .. } | Event::StepFinished { .. } => {
                self.apply_step(e);
            }
            Event::Measure { name, value, .. } => self.measures.push((name, *value)),
            Event::Fault {
                fault,
                node,
                heal,
                at,
            } => self.incidents.push(Incident::Fault(FaultAt {
                fault: *fault,
                node: *node,
                heal: *heal,
                at: *at,
            })),
            Event::Readiness { node, code, at } => {
                self.incidents.push(Incident::Readiness(Reading {
                    node: *node,
                    code: *code,
                    at: *at,
                }))
            }
            Event::Role { node, role, at } => self.apply_role(RoleChange {
                node: *node,
                role: *role,
                at: *at,
            }),
            Event::LedgerSample { acked, failed, at } => self.ledger.push(LedgerSample {
                acked: *acked,
                failed: *failed,
                at: *at,
            }),
            Event::Lag {
                node,
                seconds,
                bytes,
                at,
            } => self.lag.push(LagReading {
                node: *node,
                seconds: *seconds,
                bytes: *bytes,
                at: *at,
            }),
        }
    }

    /// A step's start, who performed it, and its end.
    fn apply_step(&mut self, e: &'a Event) {
        match e {
            Event::StepStarted {
                number,
                title,
                node,
                commands,
                at,
            } => self.steps.push(StepView {
                number: *number,
                title,
                at: *at,
                node: *node,
                commands,
                outcome: None,
                output: "",
                took: 0.0,
                optional: false,
                performed: None,
            }),
            Event::Performed {
                number,
                by,
                tries,
                wrong,
                ..
            } => {
                if let Some(s) = self.step_mut(*number) {
                    s.performed = Some(Performed {
                        by: *by,
                        tries: *tries,
                        wrong,
                    });
                }
            }
            Event::StepFinished {
                number,
                outcome,
                output,
                took,
                optional,
            } => {
                if let Some(s) = self.step_mut(*number) {
                    s.outcome = Some(outcome);
                    s.output = output;
                    s.took = took.as_secs_f64();
                    s.optional = *optional;
                    let end = s.at + s.took;
                    self.latest = self.latest.max(end);
                }
            }
            _ => {}
        }
    }

    /// A role change, and the first promotion after the first injected fault.
    fn apply_role(&mut self, change: RoleChange) {
        self.roles.push(change);
        if change.role != Role::Primary || self.promotion.is_some() {
            return;
        }
        let first = self.faults().find(|f| !f.heal).copied();
        if let Some(first) = first {
            if change.at >= first.at {
                self.promotion = Some(Promotion {
                    fault: first.fault,
                    node: change.node,
                    after: change.at - first.at,
                });
            }
        }
    }

    /// The faults injected and healed, in order.
    pub fn faults(&self) -> impl Iterator<Item = &FaultAt> {
        self.incidents.iter().filter_map(|i| match i {
            Incident::Fault(f) => Some(f),
            Incident::Readiness(_) => None,
        })
    }

    /// The readiness readings of every node, in order.
    pub fn readings(&self) -> impl Iterator<Item = &Reading> {
        self.incidents.iter().filter_map(|i| match i {
            Incident::Readiness(r) => Some(r),
            Incident::Fault(_) => None,
        })
    }

    /// The latest step numbered `number`.
    fn step_mut(&mut self, number: usize) -> Option<&mut StepView<'a>> {
        self.steps.iter_mut().rev().find(|s| s.number == number)
    }

    /// A measure by name (the first, if it was measured twice).
    pub fn measure(&self, name: &str) -> Option<f64> {
        self.measures
            .iter()
            .find_map(|(n, v)| (n.as_str() == name).then_some(*v))
    }

    /// The RTO phase's measure (the last, if it was measured twice).
    pub fn rto(&self, phase: RtoPhase) -> Option<f64> {
        self.measures
            .iter()
            .rev()
            .find_map(|(n, v)| (**n == MeasureName::Rto(phase)).then_some(*v))
    }

    /// Whether a step that counts (not optional) could not be performed: the lab failed, not a
    /// check.
    pub fn lab_error(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.outcome, Some(Outcome::Error { .. })) && !s.optional)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fault(name: &str, heal: bool, at: f64) -> Event {
        Event::Fault {
            fault: name.parse().unwrap(),
            node: NodeId::NODE1,
            heal,
            at,
        }
    }

    fn primary(node: &str, at: f64) -> Event {
        Event::Role {
            node: node.parse().unwrap(),
            role: Role::Primary,
            at,
        }
    }

    /// The promotion counted is the first after the first injected fault: not one before it,
    /// and not measured from a heal.
    #[test]
    fn the_promotion_is_the_first_after_the_first_injected_fault() {
        let events = vec![
            primary("node1", 0.1),
            fault("wal-full", true, 1.0),
            fault("node-crash", false, 5.0),
            fault("partition", false, 6.0),
            primary("node2", 9.5),
            primary("node1", 20.0),
        ];
        let run = RunSummary::of(&events);
        assert_eq!(
            run.promotion,
            Some(Promotion {
                fault: Fault::NodeCrash,
                node: NodeId::NODE2,
                after: 4.5
            })
        );
        assert_eq!(run.incidents.len(), 3);
        assert!(RunSummary::of(&events[..4]).promotion.is_none());
    }

    /// What the timeline and the runner's RTO read: each kind in the order it happened, and
    /// the latest time named (an event's, a step's end, the drill's own).
    #[test]
    fn readings_roles_ledger_and_lag_are_kept_in_order() {
        let events = vec![
            Event::Readiness {
                node: NodeId::NODE2,
                code: 0,
                at: 0.5,
            },
            fault("node-crash", false, 1.0),
            Event::Readiness {
                node: NodeId::NODE1,
                code: 2,
                at: 1.4,
            },
            primary("node2", 3.0),
            Event::LedgerSample {
                acked: 10,
                failed: 1,
                at: 3.5,
            },
            Event::Lag {
                node: NodeId::NODE2,
                seconds: 0.25,
                bytes: Some(4096),
                at: 2.0,
            },
            Event::StepStarted {
                number: 1,
                title: "wait".into(),
                node: None,
                commands: vec![],
                at: 3.0,
            },
            Event::StepFinished {
                number: 1,
                outcome: Outcome::Passed,
                output: String::new(),
                took: Duration::from_secs(2),
                optional: false,
            },
        ];
        let run = RunSummary::of(&events);
        let readings: Vec<(NodeId, u8)> = run.readings().map(|r| (r.node, r.code)).collect();
        assert_eq!(readings, [(NodeId::NODE2, 0), (NodeId::NODE1, 2)]);
        assert_eq!(run.faults().count(), 1);
        assert_eq!(
            run.roles,
            [RoleChange {
                node: NodeId::NODE2,
                role: Role::Primary,
                at: 3.0
            }]
        );
        assert_eq!(
            run.ledger,
            [LedgerSample {
                acked: 10,
                failed: 1,
                at: 3.5
            }]
        );
        assert_eq!(
            run.lag,
            [LagReading {
                node: NodeId::NODE2,
                seconds: 0.25,
                bytes: Some(4096),
                at: 2.0
            }]
        );
        assert_eq!(run.steps[0].at, 3.0);
        // The step ends at 5 s, after every event's own time.
        assert_eq!(run.latest, 5.0);
        assert_eq!(RunSummary::of(&[]).latest, 0.0);
    }

    #[test]
    fn steps_measures_and_the_ending_are_read_once() {
        let events = vec![
            Event::StepStarted {
                number: 1,
                title: "promote".into(),
                node: Some(Target::Node(NodeId::NODE2)),
                commands: vec!["pg_ctl promote".into()],
                at: 0.0,
            },
            Event::Measure {
                name: "rpo_rows".into(),
                value: 0.0,
                at: 1.0,
            },
            Event::StepFinished {
                number: 1,
                outcome: Outcome::Error {
                    message: "no engine".into(),
                },
                output: String::new(),
                took: Duration::from_millis(1500),
                optional: false,
            },
            Event::DrillFinished {
                passed: false,
                stopped_at: None,
                took: Duration::from_secs(2),
            },
        ];
        let run = RunSummary::of(&events);
        assert_eq!(run.steps.len(), 1);
        assert_eq!(run.steps[0].took, 1.5);
        assert_eq!(run.measure("rpo_rows"), Some(0.0));
        assert_eq!(run.measure("rto"), None);
        assert!(run.lab_error());
        assert_eq!(
            run.ending,
            Some(Ending {
                passed: false,
                stopped_at: None,
                took: 2.0
            })
        );
    }
}
