//! A run's events folded once into what its readers ask of them (pure): the header, how it
//! ended, the steps with their outcomes, the measures, the faults and readiness readings in
//! order, and the first promotion after the first fault. `report.md`, `junit.xml`, the suite's
//! index and comparison, `lab bench` and the exit code read a [`RunSummary`] instead of walking
//! the events themselves; the HTML timeline, which draws every reading, still reads the stream
//! (issue 18 says what is left).

use super::event::{Event, Outcome, Performer, Role};
use crate::fault::Fault;

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
    /// The node it acted on (none: the runner's own step).
    pub node: Option<&'a str>,
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

/// A fault injected or healed, or a readiness reading, in the order of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Incident<'a> {
    /// A fault injected or healed.
    Fault {
        /// The fault.
        fault: Fault,
        /// Where.
        node: &'a str,
        /// Healed, not injected.
        heal: bool,
        /// Seconds since the drill started.
        at: f64,
    },
    /// The monitor's pg_isready reading changed.
    Readiness {
        /// Of which node.
        node: &'a str,
        /// pg_isready's code.
        code: u8,
        /// Seconds since the drill started.
        at: f64,
    },
}

/// The first fault injected and the first node promoted after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Promotion<'a> {
    /// The first fault injected.
    pub fault: Fault,
    /// The node promoted.
    pub node: &'a str,
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
    pub measures: Vec<(&'a str, f64)>,
    /// Faults and readiness readings, in order.
    pub incidents: Vec<Incident<'a>>,
    /// The first promotion after the first injected fault.
    pub promotion: Option<Promotion<'a>>,
}

impl<'a> RunSummary<'a> {
    /// The one fold of a run's events.
    pub fn of(events: &'a [Event]) -> RunSummary<'a> {
        let mut run = RunSummary::default();
        let mut first_fault: Option<(Fault, f64)> = None;
        for e in events {
            match e {
                Event::DrillStarted {
                    name,
                    title,
                    proves,
                    pg_version,
                    profile,
                    ..
                } => {
                    run.header.get_or_insert(Header {
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
                    run.ending.get_or_insert(Ending {
                        passed: *passed,
                        stopped_at: *stopped_at,
                        took: took.as_secs_f64(),
                    });
                }
                Event::StepStarted {
                    number,
                    title,
                    node,
                    commands,
                    ..
                } => run.steps.push(StepView {
                    number: *number,
                    title,
                    node: node.as_deref(),
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
                    if let Some(s) = run.step_mut(*number) {
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
                    if let Some(s) = run.step_mut(*number) {
                        s.outcome = Some(outcome);
                        s.output = output;
                        s.took = took.as_secs_f64();
                        s.optional = *optional;
                    }
                }
                Event::Measure { name, value, .. } => run.measures.push((name, *value)),
                Event::Fault {
                    fault,
                    node,
                    heal,
                    at,
                } => {
                    if !heal && first_fault.is_none() {
                        first_fault = Some((*fault, *at));
                    }
                    run.incidents.push(Incident::Fault {
                        fault: *fault,
                        node,
                        heal: *heal,
                        at: *at,
                    });
                }
                Event::Readiness { node, code, at } => run.incidents.push(Incident::Readiness {
                    node,
                    code: *code,
                    at: *at,
                }),
                Event::Role { node, role, at } if *role == Role::Primary => {
                    if let (Some((fault, fault_at)), None) = (first_fault, run.promotion) {
                        if *at >= fault_at {
                            run.promotion = Some(Promotion {
                                fault,
                                node,
                                after: at - fault_at,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        run
    }

    /// The latest step numbered `number`.
    fn step_mut(&mut self, number: usize) -> Option<&mut StepView<'a>> {
        self.steps.iter_mut().rev().find(|s| s.number == number)
    }

    /// A measure by name (the first, if it was measured twice).
    pub fn measure(&self, name: &str) -> Option<f64> {
        self.measures
            .iter()
            .find_map(|(n, v)| (*n == name).then_some(*v))
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
            node: "node1".into(),
            heal,
            at,
        }
    }

    fn primary(node: &str, at: f64) -> Event {
        Event::Role {
            node: node.into(),
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
                node: "node2",
                after: 4.5
            })
        );
        assert_eq!(run.incidents.len(), 3);
        assert!(RunSummary::of(&events[..4]).promotion.is_none());
    }

    #[test]
    fn steps_measures_and_the_ending_are_read_once() {
        let events = vec![
            Event::StepStarted {
                number: 1,
                title: "promote".into(),
                node: Some("node2".into()),
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
