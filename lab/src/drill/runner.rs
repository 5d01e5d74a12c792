//! Running a validated drill against a lab, step by step, emitting events.
//!
//! The runner talks to the lab only through [`LabOps`] (commands and SQL on named nodes), so it
//! can be tested against a scripted fake. It keeps the drill's state: who is primary, the
//! variables captured so far, each node's server log as read so far (the "log tap"), the marks,
//! the monitor's readiness history, and the faults injected and not yet healed (healed when the
//! drill fails, so a failed drill leaves no node crippled).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::event::{Event, Outcome};
use super::render::{self, Context};
use crate::cluster::Output;
use crate::plan::{Action as PlanAction, Step as PlanStep, User};
use crate::scenario::{self, Drill, NodeRef, StepKind, WaitFor};

/// What the runner needs from a lab.
pub trait LabOps: Send + Sync + 'static {
    /// Runs `bash -c command` as `user` on `node`; `Err` when it could not be run at all.
    fn run(
        &self,
        node: &str,
        user: User,
        command: &str,
        env: &HashMap<String, String>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Output, String>> + Send;

    /// The first value of the first row of `sql` on `node`'s database `db` (`None` for NULL or
    /// no row); `Err` when the server cannot be reached or the statement fails.
    fn sql(
        &self,
        node: &str,
        db: &str,
        sql: &str,
    ) -> impl Future<Output = Result<Option<String>, String>> + Send;

    /// An operation on the node's container (kill, start, network disconnect and connect).
    fn node_op(
        &self,
        node: &str,
        op: crate::fault::NodeOp,
    ) -> impl Future<Output = Result<(), String>> + Send {
        let _ = (node, op);
        async { Err("this lab cannot operate on containers".to_string()) }
    }
}

/// What to do before a step, in `--step` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Run it.
    Run,
    /// Skip it.
    Skip,
    /// Stop the drill here.
    Quit,
}

/// Where events go: recorded for the reports, and shown live.
#[derive(Clone)]
pub struct Sink {
    started: Instant,
    events: Arc<Mutex<Vec<Event>>>,
    live: Arc<dyn Fn(&Event) + Send + Sync>,
}

impl Sink {
    /// A sink that calls `live` for each event as it happens.
    pub fn new(live: impl Fn(&Event) + Send + Sync + 'static) -> Sink {
        Sink {
            started: Instant::now(),
            events: Arc::default(),
            live: Arc::new(live),
        }
    }

    /// Records an event.
    pub fn emit(&self, e: Event) {
        (self.live)(&e);
        self.events.lock().expect("not poisoned").push(e);
    }

    /// Seconds since the sink was made.
    pub fn at(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Everything recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("not poisoned").clone()
    }
}

/// One node's server log as read so far.
#[derive(Default)]
struct Tap {
    /// Everything read, in order.
    text: String,
    /// Per file, the bytes already read.
    offsets: HashMap<String, u64>,
}

/// What the runner decided.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Whether every non-optional step passed (false when stopped).
    pub passed: bool,
    /// The step at which the user stopped the drill (`q` in `--step` mode).
    pub stopped_at: Option<usize>,
    /// Each node's server log as the drill saw it.
    pub logs: Vec<(String, String)>,
}

/// How much longer than its timeout a step may take before the runner ends it: the kinds that
/// watch their own deadline (`wait`, `expect_log`) report first, with what they saw.
pub const BOUND_GRACE: Duration = Duration::from_secs(5);

/// How much longer than its `pgbench -T` length a `load` step may take (connection set-up,
/// pgbench's own end) when the file gives it no timeout.
pub const LOAD_MARGIN: Duration = Duration::from_secs(60);

/// How long one readiness probe may take: pg_isready's own connect timeout (3 s) and a second
/// for the exec around it.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(4);

/// Runs drills.
pub struct Runner<L: LabOps> {
    lab: Arc<L>,
    ctx: Context,
    nodes: Vec<String>,
    taps: HashMap<String, Tap>,
    marks: HashMap<String, (HashMap<String, usize>, usize)>,
    readiness: Arc<Mutex<Vec<(String, u8, f64)>>>,
    faults: Vec<(String, String)>,
    sink: Sink,
    ledger_password: Option<String>,
    ledger: Option<LedgerRun>,
    /// When the faulted primary was last made sure to be down (stop action, or a crash).
    fenced_at: Option<f64>,
}

/// A running ledger writer and its sampler.
struct LedgerRun {
    writer: crate::ledger::Writer,
    /// Drill time (seconds) when the writer started: ledger times are relative to it.
    offset: f64,
    sampler: tokio::task::JoinHandle<()>,
}

const LOG_LIST: &str = "for f in /disk1/pg_ctl.log $(ls -tr /disk1/data/{dir}/ 2>/dev/null | sed 's|^|/disk1/data/{dir}/|'); do [ -f \"$f\" ] && echo \"$f $(stat -c %s \"$f\")\"; done; true";

impl<L: LabOps> Runner<L> {
    /// A runner for a lab whose nodes are `nodes` and whose current primary is `ctx.primary`.
    pub fn new(lab: L, ctx: Context, nodes: Vec<String>, sink: Sink) -> Self {
        Runner {
            lab: Arc::new(lab),
            taps: nodes.iter().map(|n| (n.clone(), Tap::default())).collect(),
            ctx,
            nodes,
            marks: HashMap::new(),
            readiness: Arc::default(),
            faults: Vec::new(),
            sink,
            ledger_password: None,
            ledger: None,
            fenced_at: None,
        }
    }

    /// Lets the runner's ledger writer connect to the nodes as the lab's controller role.
    pub fn with_ledger_password(mut self, password: String) -> Self {
        self.ledger_password = Some(password);
        self
    }

    /// Reads what each node's server log gained since the last look. With `adopt`, files are
    /// taken as already read (a data directory copied from another node brings that node's
    /// logs, which are not this node's).
    async fn sync_logs(&mut self, node: &str, adopt: bool) {
        let list = LOG_LIST.replace("{dir}", self.ctx.dialect.log_dir_name());
        let Ok(out) = self
            .lab
            .run(
                node,
                User::Postgres,
                &list,
                &HashMap::new(),
                Duration::from_secs(30),
            )
            .await
        else {
            return;
        };
        let files: Vec<(String, u64)> = out
            .stdout
            .lines()
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(f, s)| s.parse().ok().map(|s| (f.to_string(), s)))
            .collect();
        for (file, size) in files {
            let tap = self.taps.entry(node.to_string()).or_default();
            let read = tap.offsets.get(&file).copied().unwrap_or(0);
            if adopt {
                tap.offsets.insert(file, size);
                continue;
            }
            let from = if size < read { 0 } else { read };
            if size == from {
                continue;
            }
            let cmd = format!("tail -c +{} {}", from + 1, crate::plan::quote(&file));
            if let Ok(out) = self
                .lab
                .run(
                    node,
                    User::Postgres,
                    &cmd,
                    &HashMap::new(),
                    Duration::from_secs(60),
                )
                .await
            {
                let tap = self.taps.entry(node.to_string()).or_default();
                tap.text.push_str(&out.stdout);
                tap.offsets.insert(file, from + out.stdout.len() as u64);
            }
        }
    }

    /// What the node's log tap holds after `mark` (all of it without one).
    fn log_since(&self, node: &str, mark: Option<&str>) -> &str {
        let from = mark
            .and_then(|m| self.marks.get(m))
            .and_then(|(offsets, _)| offsets.get(node).copied())
            .unwrap_or(0);
        self.taps
            .get(node)
            .map(|t| &t.text[from.min(t.text.len())..])
            .unwrap_or("")
    }

    async fn sync_all_logs(&mut self) {
        for node in self.nodes.clone() {
            self.sync_logs(&node, false).await;
        }
    }

    /// Starts the readiness monitor: every `interval`, pg_isready from each node to itself over
    /// TCP (code 2 when the node cannot even run it), all nodes at once. Changes become events.
    /// A standby that accepts connections also reports its replay lag (seconds since its last
    /// replayed transaction) as a [`Event::Lag`] on every round.
    ///
    /// A reading is dated when the probe ends, when the monitor knows. An exec into a container
    /// killed while the probe runs can hang: such a probe gives up after [`PROBE_TIMEOUT`] and
    /// reads 2, and it no longer holds up the other nodes' probes (it used to delay the
    /// detection of a crashed node by up to ten seconds, more than the promotion took).
    fn start_monitor(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let lab = self.lab.clone();
        let sink = self.sink.clone();
        let history = self.readiness.clone();
        let targets: Vec<(String, String)> = self
            .nodes
            .iter()
            .map(|n| (n.clone(), self.ctx.node(n).address))
            .collect();
        let lag_sql = format!(
            "SELECT CASE WHEN pg_is_in_recovery() THEN extract(epoch from now() - {}) END",
            self.ctx.dialect.replay_timestamp_function()
        );
        tokio::spawn(async move {
            let mut last: HashMap<String, u8> = HashMap::new();
            loop {
                let probes = targets.iter().map(|(node, addr)| {
                    let (lab, sink, lag_sql) = (&lab, &sink, &lag_sql);
                    async move {
                        let cmd = crate::pg::isready_command(addr);
                        let code = match lab
                            .run(node, User::Postgres, &cmd, &HashMap::new(), PROBE_TIMEOUT)
                            .await
                        {
                            Ok(out) => out.stdout.trim().parse().unwrap_or(2),
                            Err(_) => 2,
                        };
                        let at = sink.at();
                        if code == 0 {
                            let lag = tokio::time::timeout(
                                PROBE_TIMEOUT,
                                lab.sql(node, "postgres", lag_sql),
                            )
                            .await;
                            if let Ok(Ok(Some(seconds))) = lag {
                                if let Ok(seconds) = seconds.trim().parse::<f64>() {
                                    sink.emit(Event::Lag {
                                        node: node.clone(),
                                        seconds,
                                        at: sink.at(),
                                    });
                                }
                            }
                        }
                        (node, code, at)
                    }
                });
                for (node, code, at) in futures_util::future::join_all(probes).await {
                    history
                        .lock()
                        .expect("not poisoned")
                        .push((node.clone(), code, at));
                    if last.get(node) != Some(&code) {
                        last.insert(node.clone(), code);
                        sink.emit(Event::Readiness {
                            node: node.clone(),
                            code,
                            at,
                        });
                    }
                }
                tokio::time::sleep(interval).await;
            }
        })
    }

    /// Runs the drill. `pace` is asked before each step (`--step` mode), with the rendered
    /// commands.
    pub async fn run(
        &mut self,
        drill: &Drill,
        profile: &str,
        mut pace: impl FnMut(usize, &str, &[String]) -> Pace,
    ) -> Verdict {
        if let Some(values) = drill.profiles.get(profile) {
            for (k, v) in values {
                self.ctx.vars.insert(format!("profile.{k}"), v.clone());
            }
        }
        self.sink.emit(Event::DrillStarted {
            name: drill.name.clone(),
            title: drill.title.clone(),
            proves: drill.proves.clone(),
            pg_version: self.ctx.vars.get("pg.version").cloned().unwrap_or_default(),
            profile: profile.to_string(),
            steps: drill.steps.len(),
        });
        let started = Instant::now();
        self.sync_all_logs().await;
        let monitor = drill.monitor.map(|i| self.start_monitor(i));
        let mut backgrounds = Vec::new();
        let mut failed = false;
        let mut quit = false;
        let mut stopped_at = None;
        for (i, step) in drill.steps.iter().enumerate() {
            let number = i + 1;
            let node = step.on.as_ref().and_then(|r| self.ctx.resolve(r));
            let targets: Vec<String> = match &step.on {
                Some(NodeRef::All) => self.nodes.clone(),
                _ => node.iter().cloned().collect(),
            };
            let title = render::title(&self.ctx, &step.title);
            let mut commands = Vec::new();
            let mut plans = Vec::new();
            let mut render_error = None;
            for t in &targets {
                match render::command_steps(&self.ctx, t, &title, &step.kind) {
                    Ok(steps) => {
                        commands.extend(steps.iter().map(display_step));
                        plans.push((t.clone(), steps));
                    }
                    Err(e) => render_error = Some(e),
                }
            }
            commands.extend(render::describe(&self.ctx, &step.kind));
            self.sink.emit(Event::StepStarted {
                number,
                title: title.clone(),
                node: match &step.on {
                    Some(NodeRef::All) => Some("all".into()),
                    _ => node.clone(),
                },
                commands: commands.clone(),
                at: self.sink.at(),
            });
            let t0 = Instant::now();
            if failed || quit {
                let reason = if quit {
                    "the drill was stopped"
                } else {
                    "an earlier step failed"
                };
                self.finish(
                    number,
                    Outcome::Skipped {
                        reason: reason.into(),
                    },
                    String::new(),
                    t0,
                    step.optional,
                );
                continue;
            }
            if let Some(when) = self.ctx.unmet(&step.when) {
                let reason = self.ctx.not_applicable(when);
                self.finish(
                    number,
                    Outcome::Skipped { reason },
                    String::new(),
                    t0,
                    step.optional,
                );
                continue;
            }
            match pace(number, &title, &commands) {
                Pace::Run => {}
                Pace::Skip => {
                    self.finish(
                        number,
                        Outcome::Skipped {
                            reason: "skipped in --step mode".into(),
                        },
                        String::new(),
                        t0,
                        step.optional,
                    );
                    continue;
                }
                Pace::Quit => {
                    quit = true;
                    stopped_at = Some(number);
                    self.finish(
                        number,
                        Outcome::Skipped {
                            reason: "the drill was stopped".into(),
                        },
                        String::new(),
                        t0,
                        step.optional,
                    );
                    continue;
                }
            }
            let (outcome, output) = match render_error {
                Some(e) => (Outcome::Error { message: e }, String::new()),
                // `sql` and `wait` on all nodes: on each in turn, until one does not pass.
                None if matches!(step.on, Some(NodeRef::All))
                    && matches!(step.kind, StepKind::Sql { .. } | StepKind::Wait(_)) =>
                {
                    let (mut outcome, mut outputs) = (Outcome::Passed, Vec::new());
                    for n in self.nodes.clone() {
                        let (o, out) = self
                            .execute(step, Some(&n), Vec::new(), &mut backgrounds)
                            .await;
                        outputs.push(format!("{n}: {out}"));
                        if !o.passed() {
                            outcome = o;
                            break;
                        }
                    }
                    (outcome, outputs.join("\n"))
                }
                None => {
                    self.execute(step, node.as_deref(), plans, &mut backgrounds)
                        .await
                }
            };
            if !outcome.passed() && !step.optional {
                failed = true;
            }
            self.finish(number, outcome, output, t0, step.optional);
        }
        // Heal what is still broken when the drill failed or was stopped, so the lab is usable
        // for inspection.
        if failed || quit {
            for (name, node) in std::mem::take(&mut self.faults).into_iter().rev() {
                if let Ok(steps) = render::fault_steps(&self.ctx, &node, &name, true) {
                    for s in steps {
                        let _ = self.exec_plan_step(&node, &s).await;
                    }
                    self.sink.emit(Event::Fault {
                        name,
                        node,
                        heal: true,
                        at: self.sink.at(),
                    });
                }
            }
        }
        for b in backgrounds {
            let _ = tokio::time::timeout(Duration::from_secs(5), b).await;
        }
        if let Some(run) = self.ledger.take() {
            run.sampler.abort();
            let _ = run.writer.stop().await;
        }
        if let Some(m) = monitor {
            m.abort();
        }
        self.sync_all_logs().await;
        let passed = !failed && !quit;
        self.sink.emit(Event::DrillFinished {
            passed,
            stopped_at,
            took: started.elapsed(),
        });
        Verdict {
            passed,
            stopped_at,
            logs: self
                .nodes
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        self.taps.get(n).map(|t| t.text.clone()).unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    fn finish(&self, number: usize, outcome: Outcome, output: String, t0: Instant, optional: bool) {
        self.sink.emit(Event::StepFinished {
            number,
            outcome,
            output: excerpt(&output),
            took: t0.elapsed(),
            optional,
        });
    }

    /// Whether a fault was injected on `node` during this drill.
    fn faults_on(&self, node: &str) -> bool {
        self.sink
            .events()
            .iter()
            .any(|e| matches!(e, Event::Fault { node: n, heal: false, .. } if n == node))
    }

    /// The ledger actions: start the writer, point it elsewhere, or stop it and account.
    async fn ledger_action(&mut self, node: &str, action: &scenario::Action) -> (Outcome, String) {
        let addr = self.ctx.node(node).address;
        match action {
            scenario::Action::LedgerStart => {
                let Some(password) = self.ledger_password.clone() else {
                    return (
                        Outcome::Error {
                            message: "this lab gives the runner no SQL access for the ledger"
                                .into(),
                        },
                        String::new(),
                    );
                };
                if self.ledger.is_some() {
                    return (
                        Outcome::Error {
                            message: "the ledger writer is already running".into(),
                        },
                        String::new(),
                    );
                }
                // 200 rows a second: enough to see every second of an outage, small enough to
                // keep the history in memory for hours.
                let writer = crate::ledger::Writer::start(
                    addr.clone(),
                    password,
                    "testdb".into(),
                    Some(200.0),
                );
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
            scenario::Action::LedgerRetarget => match &self.ledger {
                Some(run) => {
                    run.writer.retarget(&addr);
                    (Outcome::Passed, format!("now writing to {node} ({addr})"))
                }
                None => (
                    Outcome::Error {
                        message: "no ledger writer is running (ledger_start first)".into(),
                    },
                    String::new(),
                ),
            },
            scenario::Action::LedgerCheck { max_lost } => {
                let Some(run) = self.ledger.take() else {
                    return (
                        Outcome::Error {
                            message: "no ledger writer is running (ledger_start first)".into(),
                        },
                        String::new(),
                    );
                };
                run.sampler.abort();
                let history = run.writer.stop().await;
                let ids = match self
                    .lab
                    .sql(node, "testdb", "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM lab_ledger")
                    .await
                {
                    Ok(v) => v.unwrap_or_default(),
                    Err(e) => return (Outcome::Error { message: e }, String::new()),
                };
                let present: Vec<i64> = ids.split(',').filter_map(|i| i.parse().ok()).collect();
                let acc = crate::ledger::account(&history, &present);
                let mut measures = vec![
                    ("ledger_acked", acc.acked as f64),
                    ("rpo_rows", acc.rpo_rows as f64),
                    ("rpo_seconds", acc.rpo_seconds),
                    ("unacknowledged_present", acc.unacked_present.len() as f64),
                    ("duplicated", acc.duplicated.len() as f64),
                ];
                if let Some((from, to)) = crate::ledger::longest_gap(&history) {
                    measures.push(("longest_write_gap_seconds", to - from));
                }
                measures.extend(rto(
                    &self.sink.events(),
                    self.fenced_at,
                    &history,
                    run.offset,
                ));
                let at = self.sink.at();
                for (name, value) in &measures {
                    self.sink.emit(Event::Measure {
                        name: name.to_string(),
                        value: *value,
                        at,
                    });
                }
                let summary = measures
                    .iter()
                    .map(|(n, v)| format!("{n} = {v:.3}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let allowed = match (max_lost, self.ctx.topo.sync) {
                    (Some(m), _) => Some(*m as usize),
                    (None, true) => Some(0),
                    (None, false) => None,
                };
                match allowed {
                    Some(m) if acc.lost.len() > m => (
                        Outcome::Failed {
                            expected: format!(
                                "at most {m} acknowledged row(s) lost{}",
                                if self.ctx.topo.sync {
                                    " (synchronous replication)"
                                } else {
                                    ""
                                }
                            ),
                            seen: format!(
                                "{} lost (ids {:?}…)",
                                acc.lost.len(),
                                &acc.lost[..acc.lost.len().min(10)]
                            ),
                        },
                        summary,
                    ),
                    _ => (Outcome::Passed, summary),
                }
            }
            _ => unreachable!("only ledger actions come here"),
        }
    }

    /// Injects or heals a fault: commands in the node, or an operation on its container.
    async fn apply_fault(&self, node: &str, name: &str, heal: bool) -> Result<String, String> {
        let op = if heal {
            crate::fault::heal(&self.ctx.dialect, node, name)?
        } else {
            crate::fault::inject(&self.ctx.dialect, node, name)?
        };
        match op {
            crate::fault::FaultOp::Node(op) => {
                self.lab.node_op(node, op).await?;
                Ok(format!("{}: {node}", render::node_op_verb(op)))
            }
            crate::fault::FaultOp::Commands(steps) => {
                let mut all = String::new();
                for s in steps {
                    let out = self.exec_plan_step(node, &s).await?;
                    all.push_str(&out.combined());
                    if !out.ok() {
                        return Err(format!(
                            "`{}` exited with {}: {}",
                            s.title,
                            out.code,
                            out.combined()
                        ));
                    }
                }
                Ok(all)
            }
        }
    }

    async fn exec_plan_step(&self, node: &str, step: &PlanStep) -> Result<Output, String> {
        let (user, command, env) = step.action.to_command();
        self.lab
            .run(node, user, &command, &env, Duration::from_secs(24 * 3600))
            .await
    }

    /// Runs a step within its time bound ([`scenario::Step::effective_timeout`], plus
    /// [`BOUND_GRACE`] for the kinds that watch their own deadline and say what they saw): a
    /// step that reaches it fails, saying what it was waiting for, so no drill waits forever
    /// (a commit held for a synchronous standby that is gone, a command that hangs). The
    /// drill then ends as after any failure: faults healed, reports written.
    async fn execute(
        &mut self,
        step: &scenario::Step,
        node: Option<&str>,
        plans: Vec<(String, Vec<PlanStep>)>,
        backgrounds: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> (Outcome, String) {
        let Some(bound) = self.bound(step) else {
            return self.execute_unbounded(step, node, plans, backgrounds).await;
        };
        let waiting_for = self.waiting_for(step, node);
        let run = self.execute_unbounded(step, node, plans, backgrounds);
        match tokio::time::timeout(bound, run).await {
            Ok(done) => done,
            Err(_) => (
                Outcome::Failed {
                    expected: format!("the step to end within {} s", bound.as_secs()),
                    seen: format!(
                        "still waiting after {} s for {waiting_for}",
                        bound.as_secs()
                    ),
                },
                String::new(),
            ),
        }
    }

    /// A step's time bound: its own timeout, else its kind's default, plus [`BOUND_GRACE`]. A
    /// `load` without its own timeout is bounded by its length (`pgbench -T`) plus
    /// [`LOAD_MARGIN`]: a load whose commits are held (a synchronous standby that is gone)
    /// ends soon after it should have, not an hour later.
    fn bound(&self, step: &scenario::Step) -> Option<Duration> {
        let load_seconds = match (&step.kind, step.timeout) {
            (StepKind::Action(scenario::Action::Load { seconds, .. }), None) => self
                .ctx
                .render(seconds)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok()),
            _ => None,
        };
        match load_seconds {
            Some(s) => Some(Duration::from_secs(s) + LOAD_MARGIN + BOUND_GRACE),
            None => step.effective_timeout().map(|t| t + BOUND_GRACE),
        }
    }

    /// What a step waits for, in words, for the message of a step that reached its bound.
    fn waiting_for(&self, step: &scenario::Step, node: Option<&str>) -> String {
        let on = node.map(|n| format!(" on {n}")).unwrap_or_default();
        let text = match &step.kind {
            StepKind::Sql { sql, .. } => self.ctx.render(sql).ok(),
            StepKind::Run { command, .. } => self.ctx.render(command).ok(),
            _ => None,
        };
        match (text, &step.kind) {
            (Some(t), _) => format!("`{}`{on}", t.lines().next().unwrap_or_default()),
            (None, StepKind::Action(a)) => format!("the `{}` action{on}", a.name()),
            (None, kind) => format!("the `{}` step{on}", kind.key()),
        }
    }

    async fn execute_unbounded(
        &mut self,
        step: &scenario::Step,
        node: Option<&str>,
        plans: Vec<(String, Vec<PlanStep>)>,
        backgrounds: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> (Outcome, String) {
        let timeout = step.effective_timeout();
        match &step.kind {
            StepKind::Run {
                expect_exit,
                expect_output,
                background,
                ..
            } => {
                if *background {
                    for (n, steps) in plans {
                        for s in steps {
                            let lab = self.lab.clone();
                            let PlanAction::Shell { user, command } = s.action else {
                                continue;
                            };
                            let n = n.clone();
                            backgrounds.push(tokio::spawn(async move {
                                let _ = lab
                                    .run(
                                        &n,
                                        user,
                                        &command,
                                        &HashMap::new(),
                                        Duration::from_secs(24 * 3600),
                                    )
                                    .await;
                            }));
                        }
                    }
                    return (Outcome::Passed, "started in the background".into());
                }
                let mut all = String::new();
                for (n, steps) in plans {
                    for s in steps {
                        let PlanAction::Shell { user, command } = &s.action else {
                            continue;
                        };
                        let out = match self
                            .lab
                            .run(
                                &n,
                                *user,
                                command,
                                &HashMap::new(),
                                timeout.unwrap_or(Duration::from_secs(24 * 3600)),
                            )
                            .await
                        {
                            Ok(out) => out,
                            Err(e) => return (Outcome::Error { message: e }, all),
                        };
                        all.push_str(&out.combined());
                        if let Some(code) = expect_exit {
                            if out.code != *code {
                                return (
                                    Outcome::Failed {
                                        expected: format!("exit code {code}"),
                                        seen: out.exit_summary(),
                                    },
                                    all,
                                );
                            }
                        }
                        if let Some(re) = expect_output {
                            match self.ctx.render_regex(re).map(|r| regex::Regex::new(&r)) {
                                Ok(Ok(re)) if re.is_match(&out.combined()) => {}
                                Ok(Ok(re)) => {
                                    return (
                                        Outcome::Failed {
                                            expected: format!("output matching /{re}/"),
                                            seen: out.combined(),
                                        },
                                        all,
                                    )
                                }
                                Ok(Err(e)) => {
                                    return (
                                        Outcome::Error {
                                            message: e.to_string(),
                                        },
                                        all,
                                    )
                                }
                                Err(e) => return (Outcome::Error { message: e }, all),
                            }
                        }
                        if let Some(var) = &step.capture {
                            self.ctx
                                .vars
                                .insert(var.clone(), out.stdout.trim().to_string());
                        }
                    }
                }
                (Outcome::Passed, all)
            }
            StepKind::Action(
                action @ (scenario::Action::LedgerStart
                | scenario::Action::LedgerRetarget
                | scenario::Action::LedgerCheck { .. }),
            ) => {
                let Some(n) = node else {
                    return (
                        Outcome::Error {
                            message: "the ledger needs a node".into(),
                        },
                        String::new(),
                    );
                };
                self.ledger_action(n, action).await
            }
            StepKind::Action(action) => {
                let moves_data = matches!(
                    action,
                    scenario::Action::MoveAside { .. }
                        | scenario::Action::BaseBackup { .. }
                        | scenario::Action::CopyBackup { .. }
                );
                if moves_data {
                    if let Some(n) = node {
                        self.sync_logs(n, false).await;
                    }
                }
                let mut all = String::new();
                for (n, steps) in plans {
                    for s in steps {
                        match self.exec_plan_step(&n, &s).await {
                            Ok(out) if out.ok() => all.push_str(&out.combined()),
                            Ok(out) => {
                                all.push_str(&out.combined());
                                return (
                                    Outcome::Failed {
                                        expected: format!("`{}` exits 0", s.title),
                                        seen: out.exit_summary(),
                                    },
                                    all,
                                );
                            }
                            Err(e) => return (Outcome::Error { message: e }, all),
                        }
                    }
                    if moves_data {
                        self.sync_logs(&n, true).await;
                    }
                }
                match (action, node) {
                    (scenario::Action::Promote, Some(n)) => {
                        self.ctx.primary = n.to_string();
                        self.sink.emit(Event::Role {
                            node: n.to_string(),
                            role: "primary".into(),
                            at: self.sink.at(),
                        });
                    }
                    (scenario::Action::MakeStandby { .. }, Some(n)) => {
                        self.sink.emit(Event::Role {
                            node: n.to_string(),
                            role: "standby".into(),
                            at: self.sink.at(),
                        });
                    }
                    (scenario::Action::Stop { .. }, Some(n)) if self.faults_on(n) => {
                        self.fenced_at = Some(self.sink.at())
                    }
                    _ => {}
                }
                (Outcome::Passed, all)
            }
            StepKind::Fault { name, heal } => {
                let Some(n) = node else {
                    return (
                        Outcome::Error {
                            message: "a fault needs a node".into(),
                        },
                        String::new(),
                    );
                };
                // Dated when the injection starts: a probe may see a killed node before the kill
                // request returns, and detection is measured from this time.
                let started = self.sink.at();
                let output = match self.apply_fault(n, name, *heal).await {
                    Ok(output) => output,
                    Err(e) => return (Outcome::Error { message: e }, String::new()),
                };
                if *heal {
                    self.faults.retain(|(f, nn)| !(f == name && nn == n));
                } else if crate::fault::find(name).is_ok_and(|f| f.healable) {
                    self.faults.push((name.clone(), n.to_string()));
                }
                self.sink.emit(Event::Fault {
                    name: name.clone(),
                    node: n.to_string(),
                    heal: *heal,
                    at: started,
                });
                (Outcome::Passed, output)
            }
            StepKind::Sql {
                sql,
                db,
                expect,
                measure,
            } => {
                let Some(n) = node else {
                    return (
                        Outcome::Error {
                            message: "sql needs a node".into(),
                        },
                        String::new(),
                    );
                };
                let sql = match self.ctx.render(sql) {
                    Ok(s) => s,
                    Err(e) => return (Outcome::Error { message: e }, String::new()),
                };
                let value = match self.lab.sql(n, db, &sql).await {
                    Ok(v) => v,
                    Err(e) => return (Outcome::Error { message: e }, String::new()),
                };
                let shown = value.clone().unwrap_or_else(|| "NULL".into());
                if let Some(var) = &step.capture {
                    self.ctx.vars.insert(var.clone(), shown.clone());
                }
                if let Some(name) = measure {
                    let Ok(value) = shown.trim().parse::<f64>() else {
                        return (
                            Outcome::Failed {
                                expected: format!("a number for the measure `{name}`"),
                                seen: shown.clone(),
                            },
                            shown,
                        );
                    };
                    self.sink.emit(Event::Measure {
                        name: name.clone(),
                        value,
                        at: self.sink.at(),
                    });
                }
                if let Some(expect) = expect {
                    match self.ctx.render(expect) {
                        Ok(e) if e == shown => {}
                        Ok(e) => {
                            return (
                                Outcome::Failed {
                                    expected: e,
                                    seen: shown.clone(),
                                },
                                shown,
                            )
                        }
                        Err(e) => return (Outcome::Error { message: e }, shown),
                    }
                }
                (Outcome::Passed, shown)
            }
            StepKind::Wait(w) => {
                let Some(n) = node else {
                    return (
                        Outcome::Error {
                            message: "wait needs a node".into(),
                        },
                        String::new(),
                    );
                };
                self.wait(n, w, timeout.unwrap_or(Duration::from_secs(60)))
                    .await
            }
            StepKind::ExpectLog { lines, since } => {
                let Some(n) = node else {
                    return (
                        Outcome::Error {
                            message: "expect_log needs a node".into(),
                        },
                        String::new(),
                    );
                };
                // The log may still be growing: give the server until the timeout to write it.
                let deadline = Instant::now() + timeout.unwrap_or(Duration::from_secs(30));
                'poll: loop {
                    self.sync_logs(n, false).await;
                    let text = self.log_since(n, since.as_deref()).to_string();
                    let mut pos = 0;
                    let mut found = Vec::new();
                    for line in lines {
                        let pattern = match self.ctx.render_regex(line) {
                            Ok(p) => p,
                            Err(e) => return (Outcome::Error { message: e }, String::new()),
                        };
                        let re = match regex::Regex::new(&pattern) {
                            Ok(r) => r,
                            Err(e) => {
                                return (
                                    Outcome::Error {
                                        message: e.to_string(),
                                    },
                                    String::new(),
                                )
                            }
                        };
                        match re.find(&text[pos..]) {
                            Some(m) => {
                                let start =
                                    text[..pos + m.start()].rfind('\n').map_or(0, |i| i + 1);
                                let end = text[pos + m.end()..]
                                    .find('\n')
                                    .map_or(text.len(), |i| pos + m.end() + i);
                                found.push(text[start..end].to_string());
                                pos = end;
                            }
                            None => {
                                if Instant::now() < deadline {
                                    tokio::time::sleep(Duration::from_millis(200)).await;
                                    continue 'poll;
                                }
                                let tail: Vec<&str> = text[pos..]
                                    .trim_start_matches('\n')
                                    .lines()
                                    .rev()
                                    .take(15)
                                    .collect::<Vec<_>>()
                                    .into_iter()
                                    .rev()
                                    .collect();
                                return (
                                    Outcome::Failed {
                                        expected: format!(
                                            "a line matching /{pattern}/ after {} matched line(s)",
                                            found.len()
                                        ),
                                        seen: if tail.is_empty() {
                                            "no further log lines".into()
                                        } else {
                                            tail.join("\n")
                                        },
                                    },
                                    found.join("\n"),
                                );
                            }
                        }
                    }
                    return (Outcome::Passed, found.join("\n"));
                }
            }
            StepKind::ExpectMonitor { codes, since, of } => {
                let Some(watched) = of
                    .as_ref()
                    .and_then(|r| self.ctx.resolve(r))
                    .or(node.map(str::to_string))
                else {
                    return (
                        Outcome::Error {
                            message: "expect_monitor needs a node".into(),
                        },
                        String::new(),
                    );
                };
                let from = since
                    .as_ref()
                    .and_then(|m| self.marks.get(m))
                    .map(|(_, h)| *h)
                    .unwrap_or(0);
                // The history is still growing: give the monitor until the timeout to see it.
                let deadline =
                    Instant::now() + step.effective_timeout().unwrap_or(Duration::from_secs(30));
                loop {
                    let seen = collapsed(
                        &self.readiness.lock().expect("not poisoned")[from..],
                        &watched,
                    );
                    let shown = seen
                        .iter()
                        .map(u8::to_string)
                        .collect::<Vec<_>>()
                        .join(" → ");
                    if is_subsequence(codes, &seen) {
                        return (Outcome::Passed, format!("monitor saw {watched}: {shown}"));
                    }
                    if Instant::now() >= deadline {
                        return (
                            Outcome::Failed {
                                expected: codes
                                    .iter()
                                    .map(u8::to_string)
                                    .collect::<Vec<_>>()
                                    .join(" → "),
                                seen: if shown.is_empty() {
                                    "no readings".into()
                                } else {
                                    shown
                                },
                            },
                            String::new(),
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            StepKind::Mark(name) => {
                self.sync_all_logs().await;
                let offsets = self
                    .taps
                    .iter()
                    .map(|(n, t)| (n.clone(), t.text.len()))
                    .collect();
                let history = self.readiness.lock().expect("not poisoned").len();
                self.marks.insert(name.clone(), (offsets, history));
                (Outcome::Passed, String::new())
            }
            StepKind::Sleep(d) => {
                tokio::time::sleep(*d).await;
                (Outcome::Passed, String::new())
            }
            StepKind::Note(_) => (Outcome::Passed, String::new()),
        }
    }

    async fn wait(&mut self, node: &str, w: &WaitFor, timeout: Duration) -> (Outcome, String) {
        let deadline = Instant::now() + timeout;
        let addr = self.ctx.node(node).address;
        loop {
            let (done, seen) = match w {
                WaitFor::PgIsReady(code) => {
                    let cmd = crate::pg::isready_command(&addr);
                    let seen = match self
                        .lab
                        .run(
                            node,
                            User::Postgres,
                            &cmd,
                            &HashMap::new(),
                            Duration::from_secs(10),
                        )
                        .await
                    {
                        Ok(out) => out.stdout.trim().to_string(),
                        Err(_) => "2".into(),
                    };
                    (seen == code.to_string(), format!("pg_isready {seen}"))
                }
                WaitFor::Sql { sql, equals, db } => {
                    let (sql, want) = match (self.ctx.render(sql), self.ctx.render(equals)) {
                        (Ok(s), Ok(e)) => (s, e),
                        (Err(e), _) | (_, Err(e)) => {
                            return (Outcome::Error { message: e }, String::new())
                        }
                    };
                    match self.lab.sql(node, db, &sql).await {
                        Ok(v) => {
                            let v = v.unwrap_or_else(|| "NULL".into());
                            (v == want, v)
                        }
                        Err(e) => (false, e),
                    }
                }
                WaitFor::Log { pattern: re, since } => {
                    let pattern = match self.ctx.render_regex(re).map(|p| regex::Regex::new(&p)) {
                        Ok(Ok(r)) => r,
                        Ok(Err(e)) => {
                            return (
                                Outcome::Error {
                                    message: e.to_string(),
                                },
                                String::new(),
                            )
                        }
                        Err(e) => return (Outcome::Error { message: e }, String::new()),
                    };
                    self.sync_logs(node, false).await;
                    let text = self.log_since(node, since.as_deref());
                    match pattern.find(text) {
                        Some(m) => (true, text[m.start()..m.end()].to_string()),
                        None => (false, "no matching log line".into()),
                    }
                }
            };
            if done {
                return (Outcome::Passed, seen);
            }
            if Instant::now() >= deadline {
                return (
                    Outcome::Failed {
                        expected: format!(
                            "{} within {timeout:?}",
                            render::describe(&self.ctx, &StepKind::Wait(w.clone())).join(" ")
                        ),
                        seen,
                    },
                    String::new(),
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The RTO phases, each in seconds after the first injected fault: detection (the faulted node's
/// first non-accepting pg_isready), fencing (the old primary made sure to be down), promotion
/// (a new primary), and the first write the ledger got acknowledged after its longest gap (none
/// when writes never resumed, never the end of the run); plus
/// the lab's own share between promotion and that first write.
pub fn rto(
    events: &[Event],
    fenced_at: Option<f64>,
    history: &crate::ledger::History,
    ledger_offset: f64,
) -> Vec<(&'static str, f64)> {
    let Some((fault_node, fault_at)) = events.iter().find_map(|e| match e {
        Event::Fault {
            node,
            heal: false,
            at,
            ..
        } => Some((node.clone(), *at)),
        _ => None,
    }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(at) = events.iter().find_map(|e| match e {
        Event::Readiness { node, code, at }
            if *node == fault_node && *code != 0 && *at >= fault_at =>
        {
            Some(*at)
        }
        _ => None,
    }) {
        out.push(("rto_detection_seconds", at - fault_at));
    }
    if let Some(at) = fenced_at.filter(|at| *at >= fault_at) {
        out.push(("rto_fenced_seconds", at - fault_at));
    }
    let promoted = events.iter().find_map(|e| match e {
        Event::Role { role, at, .. } if role == "primary" && *at >= fault_at => Some(*at),
        _ => None,
    });
    if let Some(at) = promoted {
        out.push(("rto_promoted_seconds", at - fault_at));
    }
    // The first acknowledgement after the outage (the longest gap in writes), if writes resumed:
    // a stall that lasts to the end of the run has no first write.
    let first_write = crate::ledger::first_write_after_outage(history)
        .map(|at| at + ledger_offset)
        .filter(|at| *at >= fault_at);
    if let Some(at) = first_write {
        out.push(("rto_first_write_seconds", at - fault_at));
        if let Some(p) = promoted {
            out.push((
                "lab_overhead_promote_to_first_write_seconds",
                (at - p).max(0.0),
            ));
        }
    }
    out
}

/// A node's readiness codes with repeats collapsed (0 0 1 1 2 → 0 1 2).
fn collapsed(history: &[(String, u8, f64)], node: &str) -> Vec<u8> {
    let mut seen: Vec<u8> = Vec::new();
    for (n, code, _) in history {
        if n == node && seen.last() != Some(code) {
            seen.push(*code);
        }
    }
    seen
}

/// Whether `want` appears in order (not necessarily adjacent) in `seen`.
fn is_subsequence(want: &[u8], seen: &[u8]) -> bool {
    let mut it = seen.iter();
    want.iter().all(|w| it.any(|s| s == w))
}

/// A plan step as shown in reports: the prompt and command, or the file and its lines.
pub fn display_step(step: &PlanStep) -> String {
    match &step.action {
        PlanAction::Shell { user, command } => command
            .lines()
            .map(|l| format!("{} {l}", user.prompt()))
            .collect::<Vec<_>>()
            .join("\n"),
        PlanAction::WriteFile {
            path,
            content,
            append,
        } => {
            format!(
                "[{path}]{}\n{}",
                if *append { " (append)" } else { "" },
                content.trim_end()
            )
        }
    }
}

/// At most 40 lines / 4000 characters of output, for reports.
fn excerpt(s: &str) -> String {
    let lines: Vec<&str> = s.trim_end().lines().collect();
    let mut out = if lines.len() > 40 {
        format!(
            "{}\n… ({} more lines)",
            lines[..40].join("\n"),
            lines.len() - 40
        )
    } else {
        lines.join("\n")
    };
    if out.len() > 4000 {
        let mut cut = 4000;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(" …");
    }
    out
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
