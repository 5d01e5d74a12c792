//! A hands-on rehearsal: the DBA performs a step, the lab checks its outcome from the servers.
//!
//! The runner shows the step through [`super::Pacer::by_hand`] and waits, without a bound, for
//! the answer: the DBA's time is not the step's. When the DBA says done, the lab reads the
//! step's postconditions ([`super::postcondition`]) within
//! [`super::BY_HAND_CHECK_BOUND`]; a failed check is shown with the next prompt, and the DBA
//! checks again, lets the lab do the step, skips it or stops. [`Event::Performed`] records who
//! did it, the tries and what each failed check found.

use super::postcondition::{self, Spec, Unmet};
use super::{LabOps, Pacer, Prepared, Runner};
use crate::drill::event::{Event, Outcome, Performer};
use crate::node::NodeId;
use crate::plan::{Op, User};
use crate::scenario::{self, Action, NodeRef, StepKind};

/// What the DBA answers to a step of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hand {
    /// Done: check it.
    Done,
    /// Let the lab perform it.
    Lab,
    /// Skip it.
    Skip,
    /// Stop the drill here.
    Quit,
}

/// A step for the DBA: what to do, where, and what the lab will check.
#[derive(Debug, Clone)]
pub struct HandPrompt {
    /// 1-based step number.
    pub number: usize,
    /// Its title.
    pub title: String,
    /// The node to do it on.
    pub node: NodeId,
    /// Its address.
    pub address: String,
    /// Whether one of the commands needs root (`#`).
    pub root: bool,
    /// The commands and files, as the runbook shows them.
    pub commands: Vec<String>,
    /// What the lab checks once the DBA says done.
    pub checks: Vec<String>,
    /// How many checks failed so far.
    pub tries: u32,
    /// The last failed check, if any.
    pub wrong: Option<Unmet>,
}

/// Whether the DBA performs `step` in a hands-on rehearsal: the actions on one node but the
/// ledger's and a background load, and the foreground commands that only change state (no
/// capture, no expected output or failure: those are the lab's checks). Faults, SQL, waits,
/// expectations, marks, sleeps and notes stay the lab's.
pub fn for_the_dba(step: &scenario::Step) -> bool {
    if matches!(step.on, None | Some(NodeRef::All)) {
        return false;
    }
    match &step.kind {
        StepKind::Action(action) => !action.is_ledger() && !action.in_background(),
        StepKind::Run {
            background,
            expect_exit,
            expect_output,
            ..
        } => {
            !background
                && expect_output.is_none()
                && *expect_exit == Some(0)
                && step.capture.is_none()
        }
        // The lab's checks.
        StepKind::Sql { .. }
        | StepKind::Wait(_)
        | StepKind::ExpectLog { .. }
        | StepKind::ExpectMonitor { .. } => false,
        // The lab's own doing: a fault is the lab's to inject, the others are no command.
        StepKind::Fault { .. } | StepKind::Mark(_) | StepKind::Sleep(_) | StepKind::Note(_) => {
            false
        }
    }
}

impl<L: LabOps> Runner<L> {
    /// A step of the DBA's: prompts until its check passes, or the DBA lets the lab do it,
    /// skips it or stops (`true`: stop the drill).
    pub(super) async fn hands_on(
        &mut self,
        number: usize,
        step: &scenario::Step,
        prepared: Prepared,
        pacer: &mut impl Pacer,
    ) -> (Outcome, String, bool) {
        let Some(node) = prepared.node else {
            return self.by_lab(number, step, prepared, 0, Vec::new()).await;
        };
        let action = step.kind.action();
        let spec = match action.map(|a| postcondition::spec(&self.ctx, node, a)) {
            Some(Ok(spec)) => spec,
            Some(Err(e)) => return (error(e), String::new(), false),
            None => Spec::Unchecked(
                "a command: the lab cannot tell what it changed; the steps after it check",
            ),
        };
        if action.is_some_and(Action::moves_data) {
            self.taps.sync(&*self.lab, node, false).await;
        }
        let before = postcondition::baseline(&*self.lab, &self.ctx, spec.checks()).await;
        let mut prompt = HandPrompt {
            number,
            title: prepared.title.clone(),
            address: self.ctx.node(node).map(|n| n.address).unwrap_or_default(),
            node,
            root: needs_root(&prepared),
            commands: prepared.commands.clone(),
            checks: spec.describe(),
            tries: 0,
            wrong: None,
        };
        let mut wrong = Vec::new();
        loop {
            match pacer.by_hand(&prompt) {
                Hand::Done => {}
                Hand::Lab => {
                    return self
                        .by_lab(number, step, prepared, prompt.tries, wrong)
                        .await
                }
                Hand::Skip => {
                    self.performed(number, Performer::Dba, prompt.tries, wrong);
                    let reason = "skipped in the hands-on rehearsal".to_string();
                    return (Outcome::Skipped { reason }, String::new(), false);
                }
                Hand::Quit => {
                    let reason = "the drill was stopped".to_string();
                    return (Outcome::Skipped { reason }, String::new(), true);
                }
            }
            prompt.tries += 1;
            let bound = super::BY_HAND_CHECK_BOUND;
            let checks = spec.checks();
            match postcondition::verify(&*self.lab, &self.ctx, checks, &before, bound).await {
                Ok(()) => break,
                Err(unmet) => {
                    wrong.push(unmet.to_string());
                    prompt.wrong = Some(unmet);
                }
            }
        }
        if let Some(action) = action {
            if action.moves_data() {
                self.taps.sync(&*self.lab, node, true).await;
            }
            self.settle(action, node);
        }
        self.performed(number, Performer::Dba, prompt.tries, wrong);
        let output = format!(
            "performed by the DBA; checked: {}",
            spec.describe().join("; ")
        );
        (Outcome::Passed, output, false)
    }

    /// The lab performs a step offered to the DBA.
    async fn by_lab(
        &mut self,
        number: usize,
        step: &scenario::Step,
        prepared: Prepared,
        tries: u32,
        wrong: Vec<String>,
    ) -> (Outcome, String, bool) {
        self.performed(number, Performer::Lab, tries, wrong);
        let mut backgrounds = Vec::new();
        let (outcome, output) = self.perform(step, prepared, &mut backgrounds).await;
        (outcome, output, false)
    }

    fn performed(&self, number: usize, by: Performer, tries: u32, wrong: Vec<String>) {
        self.sink.emit(Event::Performed {
            number,
            by,
            tries,
            wrong,
            at: self.sink.at(),
        });
    }
}

/// Whether one of the step's commands runs as root.
fn needs_root(prepared: &Prepared) -> bool {
    prepared.plans.iter().any(|(_, steps)| {
        steps.iter().any(|s| {
            matches!(
                s.op,
                Op::Shell {
                    user: User::Root,
                    ..
                }
            )
        })
    })
}

fn error(e: impl ToString) -> Outcome {
    Outcome::Error {
        message: e.to_string(),
    }
}
