//! The ledger as a runner component: its writer connects through the lab interface (a
//! [`LabOps`] is a [`ledger::Connector`]), so a scripted fake lab answers it like every other step; and the RTO
//! phases computed from the run's summary (the one fold of its events) and the writer's history.

use crate::node::NodeId;
use std::time::Duration;

use super::{error, LabOps, Runner, StepResult};
use crate::drill::event::{Event, MeasureName, Outcome, Role, RtoPhase};
use crate::drill::summary::RunSummary;
use crate::ledger::{self, History};
use crate::scenario;

/// The ledger's database.
const DB: &str = "testdb";

/// Rows a second: enough to see every second of an outage, small enough to keep the history in
/// memory for hours.
const RATE: f64 = 200.0;

/// A running ledger writer and its sampler.
pub(super) struct LedgerRun {
    writer: ledger::Writer,
    /// Drill time (seconds) when the writer started: ledger times are relative to it.
    offset: f64,
    sampler: tokio::task::JoinHandle<()>,
}

impl LedgerRun {
    /// Stops the writer (and its sampler) and returns its history.
    pub(super) async fn stop(self) -> History {
        self.sampler.abort();
        self.writer.stop().await
    }
}

/// A measure of the ledger's own (not an RTO phase).
fn named(name: &str) -> MeasureName {
    MeasureName::Named(name.to_string())
}

/// What `ledger_check` measured.
struct Checked {
    measures: Vec<(MeasureName, f64)>,
    lost: Vec<i64>,
}

const NOT_RUNNING: &str = "no ledger writer is running (ledger_start first)";

impl<L: LabOps> Runner<L> {
    /// The ledger actions: start the writer, point it elsewhere, or stop it and account.
    pub(super) async fn ledger_action(
        &mut self,
        node: NodeId,
        action: scenario::LedgerAction,
    ) -> StepResult {
        match action {
            scenario::LedgerAction::Start => self.ledger_start(node),
            scenario::LedgerAction::Retarget => match &self.ledger {
                Some(run) => match self.ctx.node(node) {
                    Ok(n) => {
                        run.writer.retarget(node);
                        let addr = n.address;
                        (Outcome::Passed, format!("now writing to {node} ({addr})"))
                    }
                    Err(e) => error(e),
                },
                None => error(NOT_RUNNING),
            },
            scenario::LedgerAction::Check { max_lost } => self.ledger_check(node, max_lost).await,
        }
    }

    fn ledger_start(&mut self, node: NodeId) -> StepResult {
        let addr = match self.ctx.node(node) {
            Ok(n) => n.address,
            Err(e) => return error(e),
        };
        if !self.ledger_enabled {
            return error("this lab gives the runner no SQL access for the ledger");
        }
        if self.ledger.is_some() {
            return error("the ledger writer is already running");
        }
        let writer = ledger::Writer::start(self.lab.clone(), node, DB.into(), Some(RATE));
        let progress = writer.progress_handle();
        let sink = self.sink.clone();
        let sampler = tokio::spawn(async move {
            loop {
                let p = progress.progress();
                sink.emit(Event::LedgerSample {
                    acked: p.acked,
                    failed: p.failed,
                    at: sink.at(),
                });
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        self.ledger = Some(LedgerRun {
            writer,
            offset: self.sink.at(),
            sampler,
        });
        (Outcome::Passed, format!("writing to {node} ({addr})"))
    }

    async fn ledger_check(&mut self, node: NodeId, max_lost: Option<u64>) -> StepResult {
        let Some(run) = self.ledger.take() else {
            return error(NOT_RUNNING);
        };
        let offset = run.offset;
        let history = run.stop().await;
        let ids = match self.lab.sql(node, DB, ledger::present_ids_list_sql()).await {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => return error(e),
        };
        let present = match ledger::parse_id_list(&ids) {
            Ok(p) => p,
            Err(e) => return error(e),
        };
        let checked = self.account(&history, offset, &present);
        let summary = checked
            .measures
            .iter()
            .map(|(n, v)| format!("{n} = {v:.3}"))
            .collect::<Vec<_>>()
            .join("\n");
        let sync = self.ctx.topo.sync;
        let allowed = match (max_lost, sync) {
            (Some(m), _) => Some(m as usize),
            (None, true) => Some(0),
            (None, false) => None,
        };
        match allowed {
            Some(m) if checked.lost.len() > m => (
                Outcome::Failed {
                    expected: format!(
                        "at most {m} acknowledged row(s) lost{}",
                        if sync {
                            " (synchronous replication)"
                        } else {
                            ""
                        }
                    ),
                    seen: format!(
                        "{} lost (ids {:?}…)",
                        checked.lost.len(),
                        &checked.lost[..checked.lost.len().min(10)]
                    ),
                },
                summary,
            ),
            _ => (Outcome::Passed, summary),
        }
    }

    /// The ledger's measures (emitted as events) and the lost ids.
    fn account(&self, history: &History, offset: f64, present: &[i64]) -> Checked {
        let acc = ledger::account(history, present);
        let mut measures = vec![
            (named("ledger_acked"), acc.acked as f64),
            (named("rpo_rows"), acc.rpo_rows as f64),
            (named("rpo_seconds"), acc.rpo_seconds),
            (
                named("unacknowledged_present"),
                acc.unacked_present.len() as f64,
            ),
            (named("duplicated"), acc.duplicated.len() as f64),
        ];
        if let Some((from, to)) = ledger::longest_gap(history) {
            measures.push((named("longest_write_gap_seconds"), to - from));
        }
        let events = self.sink.events();
        let run = RunSummary::of(&events);
        measures.extend(rto(&run, self.fenced_at, history, offset));
        let at = self.sink.at();
        for (name, value) in &measures {
            self.sink.emit(Event::Measure {
                name: name.clone(),
                value: *value,
                at,
            });
        }
        Checked {
            measures,
            lost: acc.lost,
        }
    }
}

/// The RTO phases, each in seconds after the first injected fault: detection (the faulted node's
/// first non-accepting pg_isready), fencing (the old primary made sure to be down), promotion
/// (a new primary), and the first write the ledger got acknowledged after its longest gap (none
/// when writes never resumed, never the end of the run); plus
/// the lab's own share between promotion and that first write.
pub fn rto(
    run: &RunSummary,
    fenced_at: Option<f64>,
    history: &History,
    ledger_offset: f64,
) -> Vec<(MeasureName, f64)> {
    let Some(fault) = run.faults().find(|f| !f.heal) else {
        return Vec::new();
    };
    let fault_at = fault.at;
    let mut out = Vec::new();
    if let Some(seen) = run
        .readings()
        .find(|r| r.node == fault.node && r.code != 0 && r.at >= fault_at)
    {
        out.push((MeasureName::Rto(RtoPhase::Detection), seen.at - fault_at));
    }
    if let Some(at) = fenced_at.filter(|at| *at >= fault_at) {
        out.push((MeasureName::Rto(RtoPhase::Fenced), at - fault_at));
    }
    let promoted = run
        .roles
        .iter()
        .find(|r| r.role == Role::Primary && r.at >= fault_at)
        .map(|r| r.at);
    if let Some(at) = promoted {
        out.push((MeasureName::Rto(RtoPhase::Promoted), at - fault_at));
    }
    // The first acknowledgement after the outage (the longest gap in writes), if writes resumed:
    // a stall that lasts to the end of the run has no first write.
    let first_write = ledger::first_write_after_outage(history)
        .map(|at| at + ledger_offset)
        .filter(|at| *at >= fault_at);
    if let Some(at) = first_write {
        out.push((MeasureName::Rto(RtoPhase::FirstWrite), at - fault_at));
        if let Some(p) = promoted {
            out.push((
                named("lab_overhead_promote_to_first_write_seconds"),
                (at - p).max(0.0),
            ));
        }
    }
    out
}
