//! `lab drill runbook NAME --format sh`: a drill as a bash script a DBA runs from an operator
//! host against two real servers (pure, like [`super::runbook`]).
//!
//! Each step is a numbered block sent to the server it names through `on NODE USER`, over
//! `$RUNBOOK_SSH` as root (`su - postgres` for postgres blocks). Expectations are real checks
//! that stop the script with `FAIL step N (node, address): expected …, seen …`; a server log is
//! read by offset on the server itself (`log_sync`, the shell twin of the runner's log tap);
//! physical faults are `PAUSE step N: …` lines the operator answers with Enter. Every value of
//! the drill reaches the script through `plan::quote` (shell words); values captured at run
//! time are shell variables, passed to SQL as psql variables (`:'name'`).

use crate::node::NodeId;
use std::collections::BTreeSet;

use super::render::{self, Context};
use super::runbook::{self, Options};
use super::runbook_lines::{self, seconds};
use crate::pg::{self, Dialect};
use crate::plan::{quote, Command, Op, User};
use crate::scenario::{self, Action, Drill, LedgerAction, NodeRef, Step, StepKind, WaitFor};

/// The placeholders the blocks carry for the servers' addresses: `on` replaces them with
/// `$NODE1`/`$NODE2` as it sends a block.
const ADDR1: &str = "@NODE1@";
const ADDR2: &str = "@NODE2@";

/// The script's functions (no drill value in them).
const FUNCTIONS: &str = include_str!("script_functions.sh");

/// The script of `drill` for `opts` (chapters 1 and 5 are the text runbook's: the script starts
/// from a running pair).
pub fn script(drill: &Drill, opts: &Options) -> String {
    let mut gen = Gen::new(drill, opts);
    gen.out.push_str(&header(drill, opts));
    gen.out.push_str(FUNCTIONS);
    gen.out.push_str(&begin(drill, &gen.ctx.dialect));
    for (i, step) in drill.steps.iter().enumerate() {
        gen.step(i + 1, step);
    }
    gen.out.push_str("\nfinish\n");
    gen.out
}

fn header(drill: &Drill, opts: &Options) -> String {
    let d = Dialect::for_major(opts.version.major);
    format!(
        "#!/usr/bin/env bash\n\
         # Runbook script: {title}\n\
         # drill {name} ({source}), PostgreSQL {version}, profile {profile}\n\
         # made by `lab drill runbook {name} --format sh --pg-version {version}`\n\
         #\n\
         # Run it from an operator host that reaches both servers as root over ssh\n\
         # (RUNBOOK_SSH, default `ssh -o BatchMode=yes -o ConnectTimeout=5`), once the pair runs\n\
         # as chapter 1 of the text runbook sets it up: node1 the master, node2 its slave, data in\n\
         # {data}, WAL in {wal}, archive in {archive}, PostgreSQL in $PGBIN.\n\
         # Each step runs on the server it names; a check that does not hold stops the script:\n\
         #   FAIL step N (node1 ADDRESS): expected ..., seen ...\n\
         # A physical fault (power, cable) stops at a line `PAUSE step N: ...`: do it, press Enter.\n\
         # In a block, {ADDR1} and {ADDR2} stand for $NODE1 and $NODE2.\n\
         set -Eeuo pipefail\n\n\
         NODE1=${{NODE1:-{addr1}}}   # node1, the master at the start\n\
         NODE2=${{NODE2:-{addr2}}}   # node2, the slave at the start\n\
         PGBIN=${{PGBIN:-/usr/local/pgsql/bin}}\n\
         PGOSUSER=${{PGOSUSER:-postgres}}\n\
         read -r -a SSH <<< \"${{RUNBOOK_SSH:-ssh -o BatchMode=yes -o ConnectTimeout=5}}\"\n\
         PGDATA={data}\n\
         LOGDIR=$PGDATA/{logdir}\n\
         STATE=/var/tmp/lab-runbook   # on each server: the log read so far, the ledger\n",
        title = drill.title,
        name = drill.name,
        source = drill.source.as_deref().unwrap_or("user drill"),
        version = opts.version,
        profile = opts.profile,
        data = pg::DATA_DIR,
        wal = d.wal_path(),
        archive = pg::ARCHIVE_DIR,
        logdir = d.log_dir_name(),
        addr1 = opts.topo.master.address,
        addr2 = opts.topo.slave.address,
    )
}

/// The start: the log offsets every `since`-less check counts from, the monitor if any.
fn begin(drill: &Drill, _d: &Dialect) -> String {
    let mut out = String::from("\nbegin\n");
    if let Some(interval) = drill.monitor {
        out.push_str(&format!(
            "start_monitor {}   # pg_isready of both servers, as chapter 3 step 0 watches them\n",
            interval.as_secs().max(1)
        ));
    }
    out
}

/// What a `run` step checks and keeps.
struct RunChecks {
    background: bool,
    /// The exit status that passes (`None`: any).
    exit: Option<i64>,
    /// A regex the output (both streams) must match.
    output: Option<String>,
    /// The variable the output goes into.
    capture: Option<String>,
}

/// The generator's state as it walks the drill.
struct Gen {
    ctx: Context,
    out: String,
    /// The values captured so far (shell variables).
    captured: BTreeSet<String>,
    /// The marks a log check counts from.
    log_marks: BTreeSet<String>,
    /// The marks a monitor check counts from.
    monitor_marks: BTreeSet<String>,
}

impl Gen {
    fn new(drill: &Drill, opts: &Options) -> Gen {
        let mut opts = opts.clone();
        opts.topo.master.address = ADDR1.into();
        opts.topo.slave.address = ADDR2.into();
        let dialect = Dialect::for_major(opts.version.major);
        Gen {
            ctx: runbook::context(drill, dialect, &opts),
            out: String::new(),
            captured: BTreeSet::new(),
            log_marks: marks_used(drill, false),
            monitor_marks: marks_used(drill, true),
        }
    }

    fn push(&mut self, line: impl AsRef<str>) {
        self.out.push_str(line.as_ref());
        self.out.push('\n');
    }

    fn step(&mut self, number: usize, step: &Step) {
        let title = render::title(&self.ctx, &step.title);
        let node = step.on.as_ref().and_then(|r| self.ctx.resolve(r));
        let at = match &step.on {
            Some(NodeRef::All) => "all".to_string(),
            _ => node.map_or_else(|| "-".into(), NodeId::name),
        };
        self.push(format!(
            "\n# ---- step {number} [{at}] {}",
            title.replace('\n', " ")
        ));
        if let Some(when) = self.ctx.unmet(&step.when) {
            self.push(format!("# {}", self.ctx.not_applicable(when)));
            return;
        }
        self.push(format!(
            "step {number} {} {}",
            quote(&node.map_or_else(|| "-".into(), NodeId::name)),
            quote(&title)
        ));
        let targets: Vec<NodeId> = match &step.on {
            Some(NodeRef::All) => crate::scenario::NODES.to_vec(),
            _ => node.into_iter().collect(),
        };
        if step.optional {
            self.push("( OPTIONAL=1   # an optional step: what does not hold is said, and the runbook goes on");
        }
        self.kind(step, &targets);
        if step.optional {
            self.push(") || true");
        }
        if let (StepKind::Action(action), Some(n)) = (&step.kind, node) {
            if let Some(p) =
                scenario::primary_after(action, n, self.ctx.primary, |r| self.ctx.resolve(r))
            {
                self.ctx.primary = p;
            }
        }
    }

    fn kind(&mut self, step: &Step, targets: &[NodeId]) {
        let wait = runbook_lines::wait_seconds(step);
        match &step.kind {
            StepKind::Run {
                command,
                user,
                expect_exit,
                expect_output,
                background,
            } => {
                let checks = RunChecks {
                    background: *background,
                    exit: *expect_exit,
                    output: expect_output.as_ref().map(|e| self.regex(e)),
                    capture: step.capture.clone(),
                };
                for &t in targets {
                    let cmd = self
                        .ctx
                        .render_shell(command)
                        .unwrap_or_else(|_| command.raw.clone());
                    self.run(t, *user, &cmd, &checks);
                }
            }
            StepKind::Sql {
                sql,
                db,
                expect,
                measure,
            } => {
                for &t in targets {
                    let answer = Answer {
                        expect: expect.as_ref(),
                        capture: step.capture.as_deref(),
                        measure: measure.as_deref(),
                    };
                    self.sql(t, db, sql, answer);
                }
            }
            StepKind::Action(a) => match a.ledger() {
                Some(ledger) => self.ledger(targets, ledger),
                None => self.commands(step, targets),
            },
            StepKind::Fault { .. } => self.commands(step, targets),
            StepKind::Wait(w) => self.wait(targets, w, wait),
            StepKind::ExpectLog { lines, since } => {
                let lines: Vec<String> = lines.iter().map(|l| self.regex(l)).collect();
                for &t in targets {
                    self.expect_log(t, &lines, since.as_deref());
                }
            }
            StepKind::ExpectMonitor { codes, since, of } => {
                let of = of.as_ref().and_then(|r| self.ctx.resolve(r));
                for t in of.iter().chain(targets).take(1) {
                    let codes: Vec<String> = codes.iter().map(u8::to_string).collect();
                    let mark = since
                        .as_deref()
                        .map_or("0".into(), |m| format!("\"${}\"", monitor_var(m)));
                    self.push(format!("expect_monitor {t} {mark} {}", codes.join(" ")));
                }
            }
            StepKind::Mark(m) => self.mark(m),
            StepKind::Sleep(d) => self.push(format!("sleep {}", seconds(*d))),
            StepKind::Note(n) => self.push(format!("note {}", quote(n))),
        }
    }

    /// A mark: the log offsets (and the monitor's line) later checks count from, in shell
    /// variables, for the marks a check uses.
    fn mark(&mut self, name: &str) {
        let var = mark_var(name);
        let (log, monitor) = (
            self.log_marks.contains(name),
            self.monitor_marks.contains(name),
        );
        if log {
            for node in crate::scenario::NODES {
                self.push(format!("{var}_{node}=$(log_offset {node})"));
            }
            self.push(format!(
                "echo \"mark {name}: server logs at node1 ${{{var}_node1}}, node2 ${{{var}_node2}}\""
            ));
        }
        if monitor {
            self.push(format!("{var}_monitor=$(monitor_lines)"));
        }
        if !log && !monitor {
            self.push(format!("# (mark `{name}`: no later check counts from it)"));
        }
    }

    /// A regex with the drill's values matched literally; captures are not known here.
    fn regex(&self, t: &scenario::Template) -> String {
        self.ctx.render_regex(t).unwrap_or_else(|_| t.raw.clone())
    }

    /// A shell word for `text`, its captured `${name}`s as shell variables.
    fn word(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            let name = rest[at + 2..].split_once('}').map(|(n, _)| n);
            match name.filter(|n| self.captured.contains(*n)) {
                Some(name) => {
                    if at > 0 {
                        out.push_str(&quote(&rest[..at]));
                    }
                    out.push_str(&format!("\"${{{name}}}\""));
                    rest = &rest[at + 3 + name.len()..];
                }
                None => {
                    out.push_str(&quote(&rest[..at + 2]));
                    rest = &rest[at + 2..];
                }
            }
        }
        if !rest.is_empty() || out.is_empty() {
            out.push_str(&quote(rest));
        }
        out
    }

    /// SQL with each captured `${name}` as the psql variable `:'name'`, and those names.
    fn sql_text(&self, t: &scenario::Template) -> (String, Vec<String>) {
        let mut sql = self.ctx.render_sql(t).unwrap_or_else(|_| t.raw.clone());
        let mut vars = Vec::new();
        for name in &self.captured {
            let placeholder = format!("${{{name}}}");
            if sql.contains(&placeholder) {
                sql = sql.replace(&placeholder, &format!(":'{name}'"));
                vars.push(name.clone());
            }
        }
        (sql, vars)
    }

    fn block(&mut self, head: &str, body: &str) {
        let end = terminator(body);
        self.push(format!("{head} <<'{end}'"));
        self.out.push_str(body.trim_end());
        self.push(format!("\n{end}"));
    }

    /// A command on `node`: in the background, or checked (exit status, output), its output
    /// captured if the step captures it; the captured values it uses are passed to it.
    fn run(&mut self, node: NodeId, user: User, cmd: &str, run: &RunChecks) {
        let (cmd, vars) = self.shell_text(cmd);
        let on = format!("on {node} {}{}", user.name(), var_args(&vars));
        if run.background {
            self.push("# in the background: started now, stopped when the script ends");
            self.block(&format!("background {node} {}", user.name()), &cmd);
            return;
        }
        match (run.exit, &run.output, &run.capture) {
            (Some(0), None, None) => self.block(&on, &cmd),
            _ => {
                // The output a regex checks is both streams, as the runner's; a capture is stdout.
                let both = if run.output.is_some() { " 2>&1" } else { "" };
                self.block(&format!("rc=0; out=$({on}{both}"), &cmd);
                self.push(") || rc=$?");
                if let Some(code) = run.exit {
                    self.push(format!("check_eq \"$rc\" {code} \"exit status\""));
                }
                if let Some(re) = &run.output {
                    self.push(format!("check_match \"$out\" {}", quote(re)));
                }
                if let Some(name) = &run.capture {
                    self.push(format!("{name}=$out; echo \"{name} = ${name}\""));
                    self.captured.insert(name.clone());
                }
            }
        }
    }

    /// A command with each captured `${name}` quoted as one word, and those names.
    fn shell_text(&self, cmd: &str) -> (String, Vec<String>) {
        let mut text = cmd.to_string();
        let mut vars = Vec::new();
        for name in &self.captured {
            let placeholder = format!("${{{name}}}");
            if text.contains(&placeholder) {
                text = text.replace(&placeholder, &format!("\"${{{name}}}\""));
                vars.push(name.clone());
            }
        }
        (text, vars)
    }

    fn sql(&mut self, node: NodeId, db: &str, sql: &scenario::Template, answer: Answer<'_>) {
        let (text, vars) = self.sql_text(sql);
        let head = format!("seen=$(psql_on {node} {}{}", quote(db), var_args(&vars));
        self.block(&head, &text);
        self.push(")");
        if let Some(e) = answer.expect {
            let want = self.word(&self.ctx.render(e).unwrap_or_else(|_| e.raw.clone()));
            self.push(format!("check_eq \"$seen\" {want} {}", quote(&text)));
        }
        if let Some(name) = answer.capture {
            self.push(format!("{name}=$seen; echo \"{name} = ${name}\""));
            self.captured.insert(name.to_string());
        }
        // A measure's name is a variable's (checked): plain word characters.
        if let Some(name) = answer.measure {
            self.push(format!("echo \"measure {name} = $seen\""));
        }
    }

    fn wait(&mut self, targets: &[NodeId], w: &WaitFor, seconds: u64) {
        for t in targets {
            match w {
                WaitFor::PgIsReady(code) => self.push(format!("wait_isready {t} {code} {seconds}")),
                WaitFor::Sql { sql, equals, db } => {
                    let (text, vars) = self.sql_text(sql);
                    let want = self.word(
                        &self
                            .ctx
                            .render(equals)
                            .unwrap_or_else(|_| equals.raw.clone()),
                    );
                    let head = format!(
                        "wait_sql {t} {} {want} {seconds}{}",
                        quote(db),
                        var_args(&vars)
                    );
                    self.block(&head, &text);
                }
                WaitFor::Log { pattern, since } => {
                    let re = self.regex(pattern);
                    let mark = log_mark(since.as_deref(), *t);
                    self.push(format!("wait_log {t} {mark} {seconds} {}", quote(&re)));
                }
            }
        }
    }

    fn expect_log(&mut self, node: NodeId, lines: &[String], since: Option<&str>) {
        let mark = log_mark(since, node);
        let words: Vec<String> = lines.iter().map(|l| quote(l).into_owned()).collect();
        self.push(format!("expect_log {node} {mark} \\"));
        self.push(format!("  {}", words.join(" \\\n  ")));
    }

    /// An action's or a fault's commands, block by block; a fault on the machine itself is a
    /// pause for the operator.
    fn commands(&mut self, step: &Step, targets: &[NodeId]) {
        let action = step.kind.action();
        let moves_data = action.is_some_and(Action::moves_data);
        let background = action.is_some_and(Action::in_background);
        for t in targets {
            if let StepKind::Fault { fault, heal } = &step.kind {
                if let Some(op) = runbook_lines::node_op(&self.ctx, *t, *fault, *heal) {
                    // The placeholder of its address (the context's topology holds them).
                    let addr = self.ctx.node(*t).map(|n| n.address).unwrap_or_default();
                    let text = runbook_lines::operator(op, *t, &addr);
                    self.push(format!("pause {}", quote(&text)));
                    continue;
                }
            }
            let title = render::title(&self.ctx, &step.title);
            if moves_data {
                self.push(format!(
                    "sync_logs {t}   # read its log before its data directory goes"
                ));
            }
            match render::command_steps(&self.ctx, *t, &title, &step.kind) {
                Ok(steps) => steps.iter().for_each(|s| self.plan_step(*t, s, background)),
                Err(e) => self.push(format!("fail {}", quote(&format!("cannot render: {e}")))),
            }
            if moves_data {
                self.push(format!(
                    "sync_logs {t} adopt   # the log files that came with the data"
                ));
            }
        }
    }

    /// One of a step's commands; `background`: a load started and not waited for.
    fn plan_step(&mut self, node: NodeId, s: &Command, background: bool) {
        self.push(format!("# {}", s.title.replace('\n', " ")));
        match &s.op {
            Op::Shell { user, command } if background => {
                self.push("# in the background: started now, stopped when the script ends");
                self.block(&format!("background {node} {}", user.name()), command)
            }
            Op::Shell { user, command } => {
                self.block(&format!("on {node} {}", user.name()), command)
            }
            Op::WriteFile {
                path,
                content,
                append,
            } => {
                let (text, vars) = self.conf_text(content);
                let op = if *append { "append_file" } else { "write_file" };
                self.block(
                    &format!("{op} {node} {}{}", quote(path), var_args(&vars)),
                    &text,
                );
            }
        }
    }

    /// A file's content with each captured `${name}` as `@name@`, which `write_file` fills in
    /// (quoted for a configuration value) as it writes it.
    fn conf_text(&self, content: &str) -> (String, Vec<String>) {
        let mut text = content.to_string();
        let mut vars = Vec::new();
        for name in &self.captured {
            let placeholder = format!("${{{name}}}");
            if text.contains(&placeholder) {
                text = text.replace(&placeholder, &format!("@{name}@"));
                vars.push(name.clone());
            }
        }
        (text, vars)
    }

    fn ledger(&mut self, targets: &[NodeId], action: LedgerAction) {
        for t in targets {
            match action {
                LedgerAction::Start => self.push(format!("ledger_start {t}")),
                LedgerAction::Retarget => self.push(format!("ledger_retarget {t}")),
                LedgerAction::Check { max_lost } => {
                    let allowed = match (max_lost, self.ctx.topo.sync) {
                        (Some(m), _) => m.to_string(),
                        (None, true) => "0".into(),
                        (None, false) => "any".into(),
                    };
                    self.push(format!("ledger_check {t} {allowed}"));
                }
            }
        }
    }
}

/// What an `sql` step does with its answer: checks it, captures it, prints it as a measure.
struct Answer<'a> {
    expect: Option<&'a scenario::Template>,
    capture: Option<&'a str>,
    measure: Option<&'a str>,
}

/// The marks the drill's log checks (or its monitor checks) count from.
fn marks_used(drill: &Drill, monitor: bool) -> BTreeSet<String> {
    drill
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::ExpectMonitor { since, .. } => since.clone().filter(|_| monitor),
            StepKind::ExpectLog { since, .. } | StepKind::Wait(WaitFor::Log { since, .. }) => {
                since.clone().filter(|_| !monitor)
            }
            StepKind::Wait(WaitFor::PgIsReady(_) | WaitFor::Sql { .. })
            | StepKind::Run { .. }
            | StepKind::Sql { .. }
            | StepKind::Action(_)
            | StepKind::Fault { .. }
            | StepKind::Mark(_)
            | StepKind::Sleep(_)
            | StepKind::Note(_) => None,
        })
        .collect()
}

/// The shell variable of a mark's log offset on `node`.
fn mark_var(mark: &str) -> String {
    let clean: String = mark
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("m_{clean}")
}

fn monitor_var(mark: &str) -> String {
    format!("{}_monitor", mark_var(mark))
}

/// The log offset a check on `node` starts from: the mark's, else the script's start.
fn log_mark(since: Option<&str>, node: NodeId) -> String {
    match since {
        Some(m) => format!("\"${}_{node}\"", mark_var(m)),
        None => "0".into(),
    }
}

fn var_args(vars: &[String]) -> String {
    vars.iter().map(|v| format!(" {v}")).collect()
}

/// A heredoc terminator the body does not contain as a line.
fn terminator(body: &str) -> String {
    let mut end = "EOF".to_string();
    while body.lines().any(|l| l == end) {
        end.push('_');
    }
    end
}
