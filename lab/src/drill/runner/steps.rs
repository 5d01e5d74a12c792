//! One handler per step kind; [`Runner::execute_unbounded`] dispatches to them.

use crate::node::NodeId;
use std::collections::HashMap;
use std::time::Duration;

use super::postcondition;
use super::{error, failure, needs, Deadline, LabOps, Mark, Runner, StepError, StepResult};
use crate::cluster::OutputCap;
use crate::drill::event::{Event, Outcome, Role};
use crate::drill::render;
use crate::fault::{Fault, FaultOp};
use crate::plan::{Command, Op, User};
use crate::scenario::{self, Action, NodeRef, Performed, RoleChange, StepKind, Template, WaitFor};

/// A day: the bound of a command that has none of its own (the step's bound still applies).
const UNBOUNDED: Duration = Duration::from_secs(24 * 3600);

/// The rendered plan steps of a step, per target node.
pub(super) type Plans = Vec<(NodeId, Vec<Command>)>;

impl<L: LabOps> Runner<L> {
    /// Runs a step of any kind, without its bound ([`Runner::execute`] adds it).
    pub(super) async fn execute_unbounded(
        &mut self,
        step: &scenario::Step,
        node: Option<NodeId>,
        plans: Plans,
        backgrounds: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> StepResult {
        // The kinds that wait (`wait`, `expect_log`, `expect_monitor`) all have one: their
        // kind's default when the step gives none (`spec.rs`).
        let timeout = step.effective_timeout();
        let outcome = match &step.kind {
            StepKind::Run { background, .. } if *background => {
                Ok(self.run_in_background(plans, backgrounds))
            }
            StepKind::Run { .. } => Ok(self.run_commands(step, plans).await),
            StepKind::Action(action) => match action.performed() {
                Performed::InBackground => Ok(self.run_in_background(plans, backgrounds)),
                Performed::ByLedger(ledger) => match needs(node, "the ledger") {
                    Ok(n) => Ok(self.ledger_action(n, ledger).await),
                    Err(e) => Err(e),
                },
                Performed::Waited { .. } => Ok(self.action(action, node, plans).await),
            },
            StepKind::Fault { fault, heal } => match needs(node, "a fault") {
                Ok(n) => Ok(self.fault(n, *fault, *heal).await),
                Err(e) => Err(e),
            },
            StepKind::Sql { .. } => match needs(node, "sql") {
                Ok(n) => Ok(self.sql(step, n).await),
                Err(e) => Err(e),
            },
            StepKind::Wait(w) => match needs(node, "wait") {
                Ok(n) => Ok(self.wait(n, w, timeout.unwrap_or_default()).await),
                Err(e) => Err(e),
            },
            StepKind::ExpectLog { lines, since } => match needs(node, "expect_log") {
                Ok(n) => {
                    let timeout = timeout.unwrap_or_default();
                    Ok(self.expect_log(n, lines, since.as_deref(), timeout).await)
                }
                Err(e) => Err(e),
            },
            StepKind::ExpectMonitor { codes, since, of } => {
                let watched = of.as_ref().and_then(|r| self.ctx.resolve(r));
                match needs(watched.or(node), "expect_monitor") {
                    Ok(n) => {
                        let timeout = timeout.unwrap_or_default();
                        Ok(self
                            .expect_monitor(n, codes, since.as_deref(), timeout)
                            .await)
                    }
                    Err(e) => Err(e),
                }
            }
            StepKind::Mark(name) => Ok(self.mark(name).await),
            StepKind::Sleep(d) => {
                tokio::time::sleep(*d).await;
                Ok((Outcome::Passed, String::new()))
            }
            StepKind::Note(_) => Ok((Outcome::Passed, String::new())),
        };
        outcome.unwrap_or_else(|e| e)
    }

    /// A `run` step with `background`: each command started, not waited for.
    fn run_in_background(
        &self,
        plans: Plans,
        backgrounds: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> StepResult {
        for (n, steps) in plans {
            for s in steps {
                let lab = self.lab.clone();
                let Op::Shell { user, command } = s.op else {
                    continue;
                };
                backgrounds.push(tokio::spawn(async move {
                    let none = HashMap::new();
                    let _ = lab
                        .run_capped(n, user, &command, &none, UNBOUNDED, OutputCap::RUN)
                        .await;
                }));
            }
        }
        (Outcome::Passed, "started in the background".into())
    }

    /// A `run` step: each command in turn, its exit and output checked, its output captured.
    async fn run_commands(&mut self, step: &scenario::Step, plans: Plans) -> StepResult {
        let StepKind::Run {
            expect_exit,
            expect_output,
            ..
        } = &step.kind
        else {
            return error("not a run step");
        };
        let mut all = String::new();
        for (n, steps) in plans {
            for s in steps {
                let Op::Shell { user, command } = &s.op else {
                    continue;
                };
                let timeout = step.effective_timeout().unwrap_or(UNBOUNDED);
                let out = match self
                    .lab
                    .run_capped(n, *user, command, &HashMap::new(), timeout, OutputCap::RUN)
                    .await
                {
                    Ok(out) => out,
                    Err(e) => {
                        return (
                            Outcome::Error {
                                message: e.to_string(),
                            },
                            all,
                        )
                    }
                };
                all.push_str(&out.combined());
                if let Some(code) = expect_exit.filter(|c| *c != out.code) {
                    let expected = format!("exit code {code}");
                    return failure(expected, out.exit_summary(), all);
                }
                if let Some(re) = expect_output {
                    if let Some(problem) = self.output_problem(re, &out.combined()) {
                        return (problem, all);
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

    /// Why `output` does not pass the `expect_output` regex, if it does not.
    fn output_problem(&self, re: &Template, output: &str) -> Option<Outcome> {
        match self.ctx.render_regex(re).map(|r| regex::Regex::new(&r)) {
            Ok(Ok(re)) if re.is_match(output) => None,
            Ok(Ok(re)) => Some(Outcome::Failed {
                expected: format!("output matching /{re}/"),
                seen: output.to_string(),
            }),
            Ok(Err(e)) => Some(Outcome::Error {
                message: e.to_string(),
            }),
            Err(e) => Some(Outcome::Error {
                message: e.to_string(),
            }),
        }
    }

    /// Where `node`'s server log is, read up to now.
    async fn log_position(&mut self, node: NodeId) -> usize {
        self.taps.sync(&*self.lab, node, false).await;
        self.taps.positions().get(&node).copied().unwrap_or(0)
    }

    /// What `node`'s server log (and pg_ctl's) gained since `from`, its last lines, for a
    /// failed command's output: "Examine the log output" is answered in the report.
    async fn server_log_since(&mut self, node: NodeId, from: usize) -> String {
        const LINES: usize = 20;
        self.taps.sync(&*self.lab, node, false).await;
        let text = self.taps.since(node, from);
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return String::new();
        }
        let shown = &lines[lines.len().saturating_sub(LINES)..];
        format!(
            "\n--- {node}'s server log since the step began (last {} lines) ---\n{}\n",
            shown.len(),
            shown.join("\n")
        )
    }

    /// A built-in action (not the ledger's): its commands on each target, then what it changes
    /// in the drill's state (who is primary, whether the faulted primary is fenced).
    async fn action(&mut self, action: &Action, node: Option<NodeId>, plans: Plans) -> StepResult {
        let moves_data = action.moves_data();
        let look = match node.filter(|_| self.postconditions) {
            Some(n) => match postcondition::spec(&self.ctx, n, action) {
                Ok(spec) => {
                    let before =
                        postcondition::baseline(&*self.lab, &self.ctx, spec.checks()).await;
                    Some((spec, before))
                }
                Err(e) => return error(e),
            },
            None => None,
        };
        // The node's server log read up to now (before its data directory may go): a failed
        // command or check shows what followed.
        let look_from = match node {
            Some(n) => self.log_position(n).await,
            None => 0,
        };
        let mut all = String::new();
        for (n, steps) in plans {
            // Where the server log is now, so a failure shows what the step itself logged.
            let log_from = if node == Some(n) {
                look_from
            } else {
                self.log_position(n).await
            };
            for s in steps {
                match self.exec_plan_step(n, &s).await {
                    Ok(out) if out.ok() => all.push_str(&out.combined()),
                    Ok(out) => {
                        all.push_str(&out.combined());
                        all.push_str(&self.server_log_since(n, log_from).await);
                        let expected = format!("`{}` exits 0", s.title);
                        return failure(expected, out.exit_summary(), all);
                    }
                    Err(e) => {
                        return (
                            Outcome::Error {
                                message: e.to_string(),
                            },
                            all,
                        )
                    }
                }
            }
            if moves_data {
                self.taps.sync(&*self.lab, n, true).await;
            }
        }
        // The second look: what the action must have left true, read from the servers.
        if let Some((spec, before)) = look {
            let checks = spec.checks();
            let bound = super::POSTCONDITION_BOUND;
            if let Err(unmet) =
                postcondition::verify(&*self.lab, &self.ctx, checks, &before, bound).await
            {
                if let Some(n) = node {
                    all.push_str(&self.server_log_since(n, look_from).await);
                }
                return failure(unmet.expected, unmet.seen, all);
            }
        }
        if let Some(n) = node {
            self.settle(action, n);
        }
        (Outcome::Passed, all)
    }

    /// What an action performed on `node` changes in the drill's state: who is primary, and
    /// whether the faulted primary is fenced (a stop of the primary a fault struck; a node
    /// stopped once another is primary, as an old master rejoined and stopped again to be
    /// rebuilt, is not fencing).
    pub(super) fn settle(&mut self, action: &Action, node: NodeId) {
        let primary = node == self.ctx.primary;
        self.roles_after(action, node);
        if matches!(action, Action::Stop { .. }) && primary && self.faults_on(node) {
            self.fenced_at = Some(self.sink.at());
        }
    }

    /// The roles after `action` on `node` (the one rule: [`scenario::primary_after`]). What a
    /// server did is recorded as an event: a promotion (or a recovery that opens a primary) and
    /// a node made a standby; references to `primary` follow the rule from the next step on.
    fn roles_after(&mut self, action: &Action, node: NodeId) {
        match action.role_change() {
            RoleChange::Promoted | RoleChange::Recovered => self.emit_role(node, Role::Primary),
            RoleChange::Follows(_) => self.emit_role(node, Role::Standby),
            RoleChange::CopiedInto(_)
            | RoleChange::MovedAside(_)
            | RoleChange::Rewound
            | RoleChange::None => {}
        }
        let ctx = &self.ctx;
        if let Some(primary) =
            scenario::primary_after(action, node, ctx.primary, |r| ctx.resolve(r))
        {
            self.ctx.primary = primary;
        }
    }

    fn emit_role(&self, node: NodeId, role: Role) {
        self.sink.emit(Event::Role {
            node,
            role,
            at: self.sink.at(),
        });
    }

    /// A fault injected or healed on `node`; a healable one is remembered until it is healed.
    async fn fault(&mut self, node: NodeId, fault: Fault, heal: bool) -> StepResult {
        // Dated when the injection starts: a probe may see a killed node before the kill
        // request returns, and detection is measured from this time.
        let started = self.sink.at();
        self.monitor.hurry(crate::scenario::FAULT_WATCH);
        let output = match self.apply_fault(node, fault, heal).await {
            Ok(output) => output,
            Err(e) => return error(e),
        };
        if heal {
            self.faults.retain(|(f, n)| !(*f == fault && *n == node));
        } else if fault.healable() {
            self.faults.push((fault, node));
        }
        self.sink.emit(Event::Fault {
            fault,
            node,
            heal,
            at: started,
        });
        (Outcome::Passed, output)
    }

    /// An `sql` step: the first value, captured, recorded as a measure, checked.
    async fn sql(&mut self, step: &scenario::Step, node: NodeId) -> StepResult {
        let StepKind::Sql {
            sql,
            db,
            expect,
            measure,
        } = &step.kind
        else {
            return error("not an sql step");
        };
        let sql = match self.ctx.render_sql(sql) {
            Ok(s) => s,
            Err(e) => return error(e),
        };
        let value = match self.lab.sql(node, db, &sql).await {
            Ok(v) => v,
            Err(e) => return error(e),
        };
        let shown = value.unwrap_or_else(|| "NULL".into());
        if let Some(var) = &step.capture {
            self.ctx.vars.insert(var.clone(), shown.clone());
        }
        if let Some(name) = measure {
            let Ok(value) = shown.trim().parse::<f64>() else {
                let expected = format!("a number for the measure `{name}`");
                return failure(expected, shown.clone(), shown);
            };
            self.sink.emit(Event::Measure {
                name: crate::drill::event::MeasureName::Named(name.clone()),
                value,
                at: self.sink.at(),
            });
        }
        match expect.as_ref().map(|e| self.ctx.render(e)) {
            Some(Ok(e)) if e != shown => failure(e, shown.clone(), shown),
            Some(Err(e)) => (
                Outcome::Error {
                    message: e.to_string(),
                },
                shown,
            ),
            _ => (Outcome::Passed, shown),
        }
    }

    /// A `wait` step: looks until the condition holds or the timeout passes.
    async fn wait(&mut self, node: NodeId, w: &WaitFor, timeout: Duration) -> StepResult {
        let deadline = Deadline::after(timeout);
        loop {
            let (done, seen) = match self.look(node, w).await {
                Ok(look) => look,
                Err(e) => return error(e),
            };
            if done {
                return (Outcome::Passed, seen);
            }
            if !deadline.again().await {
                let what = render::describe(&self.ctx, &StepKind::Wait(w.clone())).join(" ");
                return failure(format!("{what} within {timeout:?}"), seen, String::new());
            }
        }
    }

    /// One look at a `wait` condition: whether it holds, and what was seen.
    async fn look(&mut self, node: NodeId, w: &WaitFor) -> Result<(bool, String), StepError> {
        Ok(match w {
            WaitFor::PgIsReady(code) => {
                let addr = self.ctx.node(node)?.address;
                let cmd = crate::pg::isready_command(&addr);
                let ten = Duration::from_secs(10);
                let seen = match self
                    .lab
                    .run(node, User::Postgres, &cmd, &HashMap::new(), ten)
                    .await
                {
                    Ok(out) => out.stdout.trim().to_string(),
                    Err(_) => "2".into(),
                };
                (seen == code.to_string(), format!("pg_isready {seen}"))
            }
            WaitFor::Sql { sql, equals, db } => {
                let (sql, want) = (self.ctx.render_sql(sql)?, self.ctx.render(equals)?);
                match self.lab.sql(node, db, &sql).await {
                    Ok(v) => {
                        let v = v.unwrap_or_else(|| "NULL".into());
                        (v == want, v)
                    }
                    Err(e) => (false, e.to_string()),
                }
            }
            WaitFor::Log { pattern, since } => {
                let pattern = self.ctx.render_regex(pattern)?;
                let re = regex::Regex::new(&pattern)?;
                self.taps.sync(&*self.lab, node, false).await;
                let text = self.log_since(node, since.as_deref());
                match re.find(text) {
                    Some(m) => (true, m.as_str().to_string()),
                    None => (false, "no matching log line".into()),
                }
            }
        })
    }

    /// An `expect_log` step: every line in order in the node's log (after `since`), waiting
    /// until the timeout for the server to write them.
    async fn expect_log(
        &mut self,
        node: NodeId,
        lines: &[Template],
        since: Option<&str>,
        timeout: Duration,
    ) -> StepResult {
        let mut patterns = Vec::new();
        for line in lines {
            let pattern = match self.ctx.render_regex(line) {
                Ok(p) => p,
                Err(e) => return error(e),
            };
            match regex::Regex::new(&pattern) {
                Ok(re) => patterns.push(re),
                Err(e) => return error(e),
            }
        }
        let deadline = Deadline::after(timeout);
        loop {
            self.taps.sync(&*self.lab, node, false).await;
            let text = self.log_since(node, since);
            let missing = match find_in_order(text, &patterns) {
                Ok(found) => return (Outcome::Passed, found.join("\n")),
                Err(missing) => missing,
            };
            if !deadline.again().await {
                let text = self.log_since(node, since);
                return missing.failure(text);
            }
        }
    }

    /// An `expect_monitor` step: the codes, in order, in `node`'s readiness history (after
    /// `since`), waiting until the timeout for the monitor to see them.
    async fn expect_monitor(
        &mut self,
        watched: NodeId,
        codes: &[u8],
        since: Option<&str>,
        timeout: Duration,
    ) -> StepResult {
        let from = since
            .and_then(|m| self.marks.get(m))
            .map_or(0, |m| m.readings);
        let deadline = Deadline::after(timeout);
        loop {
            let seen = self.monitor.seen(from, watched);
            let shown = arrows(&seen);
            if super::monitor::is_subsequence(codes, &seen) {
                return (Outcome::Passed, format!("monitor saw {watched}: {shown}"));
            }
            if !deadline.again().await {
                let seen = if shown.is_empty() {
                    "no readings".into()
                } else {
                    shown
                };
                return failure(arrows(codes), seen, String::new());
            }
        }
    }

    /// A `mark` step: every log's and the monitor's position, under `name`.
    async fn mark(&mut self, name: &str) -> StepResult {
        self.sync_all_logs().await;
        let mark = Mark {
            logs: self.taps.positions(),
            readings: self.monitor.len(),
        };
        self.marks.insert(name.to_string(), mark);
        (Outcome::Passed, String::new())
    }

    /// Injects or heals a fault: commands in the node, or an operation on its container.
    pub(super) async fn apply_fault(
        &self,
        node: NodeId,
        fault: Fault,
        heal: bool,
    ) -> Result<String, StepError> {
        let op = fault
            .op(&self.ctx.dialect, node, heal)
            .map_err(render::RenderError::from)?;
        match op {
            FaultOp::Node(op) => {
                self.lab.node_op(node, op).await?;
                Ok(format!("{}: {node}", render::node_op_verb(op)))
            }
            FaultOp::Commands(steps) => {
                let mut all = String::new();
                for s in steps {
                    let out = self.exec_plan_step(node, &s).await?;
                    all.push_str(&out.combined());
                    if !out.ok() {
                        return Err(StepError::Command {
                            title: s.title,
                            code: out.code,
                            output: out.combined(),
                        });
                    }
                }
                Ok(all)
            }
        }
    }

    /// Whether `sql`/`wait` on `all` runs on each node in turn (the other kinds render one
    /// plan per node instead).
    pub(super) fn on_each(step: &scenario::Step) -> bool {
        let each_in_turn = match step.kind {
            StepKind::Sql { .. } | StepKind::Wait(_) => true,
            StepKind::Run { .. }
            | StepKind::Action(_)
            | StepKind::Fault { .. }
            | StepKind::ExpectLog { .. }
            | StepKind::ExpectMonitor { .. }
            | StepKind::Mark(_)
            | StepKind::Sleep(_)
            | StepKind::Note(_) => false,
        };
        each_in_turn && matches!(step.on, Some(NodeRef::All))
    }
}

/// Codes as `0 → 2 → 0`.
fn arrows(codes: &[u8]) -> String {
    codes
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Where [`find_in_order`] stopped: the pattern not found, after which byte, and what was found.
struct Missing {
    pattern: String,
    pos: usize,
    found: Vec<String>,
}

impl Missing {
    /// The failure: the pattern, how many lines matched before it, and the log's last lines
    /// after the last match.
    fn failure(self, text: &str) -> StepResult {
        let tail: Vec<&str> = text[self.pos.min(text.len())..]
            .trim_start_matches('\n')
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let expected = format!(
            "a line matching /{}/ after {} matched line(s)",
            self.pattern,
            self.found.len()
        );
        let seen = if tail.is_empty() {
            "no further log lines".into()
        } else {
            tail.join("\n")
        };
        failure(expected, seen, self.found.join("\n"))
    }
}

/// The whole lines of `text` matching each pattern in turn, each after the previous one.
fn find_in_order(text: &str, patterns: &[regex::Regex]) -> Result<Vec<String>, Missing> {
    let mut pos = 0;
    let mut found = Vec::new();
    for re in patterns {
        let Some(m) = re.find(&text[pos..]) else {
            return Err(Missing {
                pattern: re.as_str().to_string(),
                pos,
                found,
            });
        };
        let start = text[..pos + m.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[pos + m.end()..]
            .find('\n')
            .map_or(text.len(), |i| pos + m.end() + i);
        found.push(text[start..end].to_string());
        pos = end;
    }
    Ok(found)
}
