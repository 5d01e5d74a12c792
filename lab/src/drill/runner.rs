//! Running a validated drill against a lab, step by step, emitting events.
//!
//! The runner talks to the lab only through [`LabOps`] (commands, SQL and SQL sessions on named
//! nodes, operations on their containers), so it can be tested against a scripted fake. It is
//! made of small parts: a dispatcher with one handler per step kind (`steps`), each step within
//! its bound ([`Runner::execute`]); the log tap (`tap`), the readiness monitor (`monitor`) and
//! the ledger (`workload`) as components that reach the lab through the same interface. It
//! keeps the drill's state: who is primary, the variables captured so far, the marks, and the
//! faults injected and not yet healed (healed when the drill fails, so a failed drill leaves no
//! node crippled).

mod hands_on;
mod monitor;
pub mod postcondition;
mod steps;
mod tap;
mod workload;

use crate::node::NodeId;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::event::{Event, Outcome, Target};
use super::render::{self, Context};
use super::summary::RunSummary;
use crate::cluster::{Output, OutputCap};
use crate::fault::Fault;
use crate::ledger::Connector;
use crate::plan::{Command, Op, User};
use crate::scenario::{self, Drill, NodeRef, StepKind};

pub use hands_on::{Hand, HandPrompt};
pub use workload::rto;

/// Why the lab could not do what the runner asked (as opposed to a command that ran and
/// failed, which is an [`Output`] with its exit code). A step that meets one is an
/// [`Outcome::Error`] (exit 3), never a failed expectation (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabError {
    /// The node is not one of the lab's.
    #[error("{0}")]
    UnknownNode(String),
    /// The engine could not be asked, or stopped answering: the command may never have run.
    #[error("{0}")]
    Engine(String),
    /// SQL could not be run: no connection to the server, or the statement failed.
    #[error("{0}")]
    Sql(String),
    /// This lab cannot do that (a lab without containers to operate on).
    #[error("{0}")]
    Unsupported(String),
}

/// What the runner needs from a lab; as a [`Connector`] (SQL sessions on nodes, by name) it is
/// also the ledger writer's way to the nodes.
pub trait LabOps: Connector {
    /// Runs `bash -c command` as `user` on `node`; `Err` when it could not be run at all.
    fn run(
        &self,
        node: NodeId,
        user: User,
        command: &str,
        env: &HashMap<String, String>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Output, LabError>> + Send;

    /// [`LabOps::run`] keeping at most `cap` of each output stream (a drill's `run` steps: a
    /// command may write for as long as its timeout allows). By default the output is cut
    /// once collected; a lab that can should cut it while it is read.
    fn run_capped(
        &self,
        node: NodeId,
        user: User,
        command: &str,
        env: &HashMap<String, String>,
        timeout: Duration,
        cap: OutputCap,
    ) -> impl Future<Output = Result<Output, LabError>> + Send {
        let run = self.run(node, user, command, env, timeout);
        async move { run.await.map(|out| out.capped(cap)) }
    }

    /// The first value of the first row of `sql` on `node`'s database `db` (`None` for NULL or
    /// no row); `Err` when the server cannot be reached or the statement fails.
    fn sql(
        &self,
        node: NodeId,
        db: &str,
        sql: &str,
    ) -> impl Future<Output = Result<Option<String>, LabError>> + Send;

    /// An operation on the node's container (kill, start, network disconnect and connect).
    fn node_op(
        &self,
        node: NodeId,
        op: crate::fault::NodeOp,
    ) -> impl Future<Output = Result<(), LabError>> + Send {
        let _ = (node, op);
        async {
            Err(LabError::Unsupported(
                "this lab cannot operate on containers".to_string(),
            ))
        }
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

/// The person at the terminal, asked by the runner (which never prints): before each step the
/// lab performs (`--step`), and in a hands-on rehearsal for each step the DBA performs.
pub trait Pacer {
    /// Before a step the lab performs, with its rendered commands.
    fn pace(&mut self, number: usize, title: &str, commands: &[String]) -> Pace;

    /// A step for the DBA to perform by hand (asked again after each failed check); a pacer
    /// that does not rehearse by hand lets the lab do it.
    fn by_hand(&mut self, prompt: &HandPrompt) -> Hand {
        let _ = prompt;
        Hand::Lab
    }
}

impl<F: FnMut(usize, &str, &[String]) -> Pace> Pacer for F {
    fn pace(&mut self, number: usize, title: &str, commands: &[String]) -> Pace {
        self(number, title, commands)
    }
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

/// What the runner decided.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Whether every non-optional step passed (false when stopped).
    pub passed: bool,
    /// The step at which the user stopped the drill (`q` in `--step` mode).
    pub stopped_at: Option<usize>,
    /// Each node's server log as the drill saw it.
    pub logs: Vec<(NodeId, String)>,
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

/// How long the second look after an action the lab performed may wait for its outcome to
/// show (a promotion and a standby's first streaming are asynchronous).
pub const POSTCONDITION_BOUND: Duration = Duration::from_secs(60);

/// How long the check of a step the DBA says is done may wait for its outcome to show: a
/// wrong command is told quickly, and the DBA can check again.
pub const BY_HAND_CHECK_BOUND: Duration = Duration::from_secs(20);

/// Why a step could not be performed (an [`Outcome::Error`]).
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// It could not be rendered.
    #[error(transparent)]
    Render(#[from] render::RenderError),
    /// A pattern made with run-time values is not a regex.
    #[error(transparent)]
    Regex(#[from] regex::Error),
    /// The lab could not do it.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// A fault's command exited with an error.
    #[error("`{title}` exited with {code}: {output}")]
    Command {
        /// The plan step's title.
        title: String,
        /// Its exit code.
        code: i64,
        /// What it printed.
        output: String,
    },
}

/// What a step ended with, and its output.
type StepResult = (Outcome, String);

/// A step that could not be performed.
fn error(message: impl ToString) -> StepResult {
    (
        Outcome::Error {
            message: message.to_string(),
        },
        String::new(),
    )
}

/// An expectation that did not hold.
fn failure(expected: String, seen: String, output: String) -> StepResult {
    (Outcome::Failed { expected, seen }, output)
}

/// The node a kind needs (`what needs a node` otherwise).
fn needs(node: Option<NodeId>, what: &str) -> Result<NodeId, StepResult> {
    node.ok_or_else(|| error(format!("{what} needs a node")))
}

/// How often a step that waits for something looks again.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// The one poll-until-deadline helper of the runner: a step looks, and if what it waits for
/// is not there yet, asks [`Deadline::again`] whether to look once more. (A closure-taking
/// retry crate does not fit: each look borrows the runner mutably, to read the logs.)
struct Deadline(Instant);

impl Deadline {
    /// A deadline `timeout` from now.
    fn after(timeout: Duration) -> Self {
        Deadline(later(Instant::now(), timeout))
    }

    /// `false` once the deadline has passed; otherwise waits [`POLL_EVERY`] and says `true`.
    async fn again(&self) -> bool {
        if Instant::now() >= self.0 {
            return false;
        }
        tokio::time::sleep(POLL_EVERY).await;
        true
    }
}

/// `now` + `d`, never overflowing: a duration too long for the clock (a timeout of
/// `u64::MAX` seconds) means "a century from now", which no drill reaches.
pub fn later(now: Instant, d: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(d)
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}

/// Where a mark was set: each node's log position, and the monitor's.
struct Mark {
    logs: HashMap<NodeId, usize>,
    readings: usize,
}

/// A step as prepared for its run: where it runs and what it renders to.
struct Prepared {
    /// The node it resolves to (`None` for `all`, or no node).
    node: Option<NodeId>,
    title: String,
    /// The commands shown for it.
    commands: Vec<String>,
    /// Its plan steps per target node.
    plans: steps::Plans,
    /// Why it could not be rendered.
    render_error: Option<String>,
}

/// Runs drills.
pub struct Runner<L: LabOps> {
    lab: Arc<L>,
    ctx: Context,
    nodes: Vec<NodeId>,
    taps: tap::LogTap,
    marks: HashMap<String, Mark>,
    monitor: monitor::Monitor,
    faults: Vec<(Fault, NodeId)>,
    sink: Sink,
    ledger_enabled: bool,
    ledger: Option<workload::LedgerRun>,
    /// When the faulted primary was last made sure to be down (stop action, or a crash).
    fenced_at: Option<f64>,
    /// Check each action's outcome from the servers after performing it.
    postconditions: bool,
    /// Offer the DBA's steps to the pacer (a hands-on rehearsal).
    by_hand: bool,
}

impl<L: LabOps> Runner<L> {
    /// A runner for a lab whose nodes are `nodes` and whose current primary is `ctx.primary`.
    pub fn new(lab: L, ctx: Context, nodes: Vec<NodeId>, sink: Sink) -> Self {
        Runner {
            lab: Arc::new(lab),
            taps: tap::LogTap::new(&nodes, ctx.dialect.log_dir_name()),
            ctx,
            nodes,
            marks: HashMap::new(),
            monitor: monitor::Monitor::default(),
            faults: Vec::new(),
            sink,
            ledger_enabled: false,
            ledger: None,
            fenced_at: None,
            postconditions: false,
            by_hand: false,
        }
    }

    /// Checks each action's outcome from the servers after performing it (a failed check is
    /// an [`Outcome::Failed`] saying what was expected and what is there).
    pub fn with_postconditions(mut self) -> Self {
        self.postconditions = true;
        self
    }

    /// A hands-on rehearsal: the DBA performs the actions and the commands that change state
    /// ([`hands_on::for_the_dba`]), asked through [`Pacer::by_hand`], and the lab checks each
    /// outcome; the lab still injects faults and performs the checks, marks and waits.
    pub fn by_hand(mut self) -> Self {
        self.by_hand = true;
        self.with_postconditions()
    }

    /// Lets the runner's ledger writer connect to the nodes (through [`LabOps::connect`]).
    pub fn with_ledger(mut self) -> Self {
        self.ledger_enabled = true;
        self
    }

    /// [`Runner::with_ledger`], for a caller that holds the lab's controller password (the
    /// lab's [`LabOps::connect`] has its own).
    pub fn with_ledger_password(self, _password: String) -> Self {
        self.with_ledger()
    }

    /// What the node's log tap holds after `mark` (all of it without one).
    fn log_since(&self, node: NodeId, mark: Option<&str>) -> &str {
        let from = mark
            .and_then(|m| self.marks.get(m))
            .and_then(|m| m.logs.get(&node).copied())
            .unwrap_or(0);
        self.taps.since(node, from)
    }

    async fn sync_all_logs(&mut self) {
        for node in self.nodes.clone() {
            self.taps.sync(&*self.lab, node, false).await;
        }
    }

    /// Starts the readiness monitor (see [`monitor::Monitor::start`]).
    fn start_monitor(&self, pace: monitor::Pace) -> tokio::task::JoinHandle<()> {
        let targets: Vec<(NodeId, String)> = self
            .nodes
            .iter()
            .filter_map(|&n| Some((n, self.ctx.node(n).ok()?.address)))
            .collect();
        let lag_sql = crate::pg::lag::probe_query(&self.ctx.dialect);
        self.monitor
            .start(self.lab.clone(), self.sink.clone(), targets, lag_sql, pace)
    }

    /// Runs the drill. `pace` is asked before each step (`--step` mode), with the rendered
    /// commands.
    pub async fn run(&mut self, drill: &Drill, profile: &str, mut pacer: impl Pacer) -> Verdict {
        self.begin(drill, profile);
        let started = Instant::now();
        self.sync_all_logs().await;
        let monitor = drill.monitor.map(|interval| {
            self.start_monitor(monitor::Pace {
                interval,
                fast: drill.monitor_after_fault,
            })
        });
        let mut backgrounds = Vec::new();
        let (mut failed, mut stopped_at) = (false, None);
        for (i, step) in drill.steps.iter().enumerate() {
            let number = i + 1;
            let t0 = Instant::now();
            let prepared = self.prepare(number, step);
            let skipped = if failed || stopped_at.is_some() {
                Some(if stopped_at.is_some() {
                    "the drill was stopped".to_string()
                } else {
                    "an earlier step failed".to_string()
                })
            } else if let Some(when) = self.ctx.unmet(&step.when) {
                Some(self.ctx.not_applicable(when))
            } else if self.by_hand && hands_on::for_the_dba(step) {
                let (outcome, output, quit) =
                    self.hands_on(number, step, prepared, &mut pacer).await;
                if quit {
                    stopped_at = Some(number);
                }
                // A step the DBA skipped or stopped at is not a failure, as in `--step` mode.
                let bad = matches!(outcome, Outcome::Failed { .. } | Outcome::Error { .. });
                failed |= bad && !step.optional;
                self.finish(number, outcome, output, t0, step.optional);
                continue;
            } else {
                match pacer.pace(number, &prepared.title, &prepared.commands) {
                    Pace::Run => None,
                    Pace::Skip => Some("skipped in --step mode".to_string()),
                    Pace::Quit => {
                        stopped_at = Some(number);
                        Some("the drill was stopped".to_string())
                    }
                }
            };
            if let Some(reason) = skipped {
                let outcome = Outcome::Skipped { reason };
                self.finish(number, outcome, String::new(), t0, step.optional);
                continue;
            }
            let (outcome, output) = self.perform(step, prepared, &mut backgrounds).await;
            failed |= !outcome.passed() && !step.optional;
            self.finish(number, outcome, output, t0, step.optional);
        }
        // Heal what is still broken when the drill failed or was stopped, so the lab is usable
        // for inspection.
        if failed || stopped_at.is_some() {
            self.heal_open_faults().await;
        }
        self.wind_down(backgrounds, monitor).await;
        let passed = !failed && stopped_at.is_none();
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
                .map(|n| (*n, self.taps.text(*n)))
                .collect(),
        }
    }

    /// The profile's values as variables, and the drill's first event.
    fn begin(&mut self, drill: &Drill, profile: &str) {
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
    }

    /// Resolves a step's node, renders its commands and emits its start.
    fn prepare(&self, number: usize, step: &scenario::Step) -> Prepared {
        let node = step.on.as_ref().and_then(|r| self.ctx.resolve(r));
        let targets: Vec<NodeId> = match &step.on {
            Some(NodeRef::All) => self.nodes.clone(),
            _ => node.into_iter().collect(),
        };
        let title = render::title(&self.ctx, &step.title);
        let mut prepared = Prepared {
            node,
            title,
            commands: Vec::new(),
            plans: Vec::new(),
            render_error: None,
        };
        for &t in &targets {
            match render::command_steps(&self.ctx, t, &prepared.title, &step.kind) {
                Ok(steps) => {
                    prepared.commands.extend(steps.iter().map(display_step));
                    prepared.plans.push((t, steps));
                }
                Err(e) => prepared.render_error = Some(e.to_string()),
            }
        }
        prepared
            .commands
            .extend(render::describe(&self.ctx, &step.kind));
        self.sink.emit(Event::StepStarted {
            number,
            title: prepared.title.clone(),
            node: match &step.on {
                Some(NodeRef::All) => Some(Target::All),
                _ => prepared.node.map(Target::Node),
            },
            commands: prepared.commands.clone(),
            at: self.sink.at(),
        });
        prepared
    }

    /// Performs a prepared step: `sql` and `wait` on all nodes on each in turn, until one does
    /// not pass; anything else on its node.
    async fn perform(
        &mut self,
        step: &scenario::Step,
        prepared: Prepared,
        backgrounds: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> StepResult {
        if let Some(e) = prepared.render_error {
            return error(e);
        }
        if !Self::on_each(step) {
            let node = prepared.node;
            return self.execute(step, node, prepared.plans, backgrounds).await;
        }
        let (mut outcome, mut outputs) = (Outcome::Passed, Vec::new());
        for n in self.nodes.clone() {
            let (o, out) = self.execute(step, Some(n), Vec::new(), backgrounds).await;
            outputs.push(format!("{n}: {out}"));
            if !o.passed() {
                outcome = o;
                break;
            }
        }
        (outcome, outputs.join("\n"))
    }

    /// Heals the faults still open, newest first.
    async fn heal_open_faults(&mut self) {
        for (fault, node) in std::mem::take(&mut self.faults).into_iter().rev() {
            let Ok(steps) = render::fault_steps(&self.ctx, node, fault, true) else {
                continue;
            };
            for s in steps {
                let _ = self.exec_plan_step(node, &s).await;
            }
            self.sink.emit(Event::Fault {
                fault,
                node,
                heal: true,
                at: self.sink.at(),
            });
        }
    }

    /// Ends what the drill started: background commands (given 5 s), the ledger, the monitor;
    /// then reads the logs a last time.
    async fn wind_down(
        &mut self,
        backgrounds: Vec<tokio::task::JoinHandle<()>>,
        monitor: Option<tokio::task::JoinHandle<()>>,
    ) {
        for b in backgrounds {
            let _ = tokio::time::timeout(Duration::from_secs(5), b).await;
        }
        if let Some(run) = self.ledger.take() {
            let _ = run.stop().await;
        }
        if let Some(m) = monitor {
            m.abort();
        }
        self.sync_all_logs().await;
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
    fn faults_on(&self, node: NodeId) -> bool {
        let events = self.sink.events();
        let run = RunSummary::of(&events);
        let injected = run.faults().any(|f| !f.heal && f.node == node);
        injected
    }

    async fn exec_plan_step(&self, node: NodeId, step: &Command) -> Result<Output, LabError> {
        let (user, command, env) = step.op.to_command();
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
        node: Option<NodeId>,
        plans: steps::Plans,
        backgrounds: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> StepResult {
        let Some(bound) = self.bound(step) else {
            return self.execute_unbounded(step, node, plans, backgrounds).await;
        };
        let waiting_for = self.waiting_for(step, node);
        let run = self.execute_unbounded(step, node, plans, backgrounds);
        match tokio::time::timeout(bound, run).await {
            Ok(done) => done,
            Err(_) => failure(
                format!("the step to end within {} s", bound.as_secs()),
                format!(
                    "still waiting after {} s for {waiting_for}",
                    bound.as_secs()
                ),
                String::new(),
            ),
        }
    }

    /// A step's time bound: its own timeout, else its kind's default, plus [`BOUND_GRACE`]. A
    /// `load` without its own timeout is bounded by its length (`pgbench -T`) plus
    /// [`LOAD_MARGIN`]: a load whose commits are held (a synchronous standby that is gone)
    /// ends soon after it should have, not an hour later.
    /// The sums saturate: no duration a drill gives can overflow them. (A `seconds` that does
    /// not render to a number in [`scenario::LOAD_SECONDS`] fails the step when rendered.)
    fn bound(&self, step: &scenario::Step) -> Option<Duration> {
        load_bound(&self.ctx, step)
    }

    /// What a step waits for, in words, for the message of a step that reached its bound.
    fn waiting_for(&self, step: &scenario::Step, node: Option<NodeId>) -> String {
        let on = node.map(|n| format!(" on {n}")).unwrap_or_default();
        let text = match &step.kind {
            StepKind::Sql { sql, .. } => self.ctx.render(sql).ok(),
            StepKind::Run { command, .. } => self.ctx.render(command).ok(),
            StepKind::Action(a) => return format!("the `{}` action{on}", a.name()),
            // The step is what it waits for.
            StepKind::Fault { .. }
            | StepKind::Wait(_)
            | StepKind::ExpectLog { .. }
            | StepKind::ExpectMonitor { .. }
            | StepKind::Mark(_)
            | StepKind::Sleep(_)
            | StepKind::Note(_) => None,
        };
        match text {
            Some(t) => format!("`{}`{on}", t.lines().next().unwrap_or_default()),
            None => format!("the `{}` step{on}", step.kind.key()),
        }
    }
}

/// A plan step as shown in reports: the prompt and command, or the file and its lines.
pub fn display_step(step: &Command) -> String {
    match &step.op {
        Op::Shell { user, command } => command
            .lines()
            .map(|l| format!("{} {l}", user.prompt()))
            .collect::<Vec<_>>()
            .join("\n"),
        Op::WriteFile {
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

/// See [`Runner::bound`].
fn load_bound(ctx: &render::Context, step: &scenario::Step) -> Option<Duration> {
    // A step's own timeout wins over its action's length.
    let load_seconds = step
        .kind
        .action()
        .and_then(scenario::Action::runs_for)
        .filter(|_| step.timeout.is_none())
        .and_then(|seconds| ctx.render(seconds).ok())
        .and_then(|s| render::load_seconds(&s).ok());
    match load_seconds {
        Some(s) => Some(
            Duration::from_secs(s)
                .saturating_add(LOAD_MARGIN)
                .saturating_add(BOUND_GRACE),
        ),
        None => step
            .effective_timeout()
            .map(|t| t.saturating_add(BOUND_GRACE)),
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
