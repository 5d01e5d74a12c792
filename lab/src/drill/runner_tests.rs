//! The runner against a scripted fake lab: no Docker, every call recorded.
//!
//! The fake answers the runner's own plumbing (the log tap's file listing and `tail -c +N`, and
//! pg_isready probes) from per-node state, and anything else from a test's closure, or with
//! exit 0. A `run` step whose command starts with `say ` appends the rest to the node's server
//! log, which is how a drill makes the "server" write a line at a given point.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::drill::event::Role;
use crate::node::NodeId;
use crate::pg::{Dialect, Topology};
use crate::version::PgVersion;

/// One call the runner made.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Run {
        node: String,
        user: User,
        command: String,
    },
    Sql {
        node: String,
        db: String,
        sql: String,
    },
}

type RunRule = dyn Fn(&str, &str) -> Option<Result<Output, LabError>> + Send + Sync;
type SqlRule = dyn Fn(&str, &str) -> Result<Option<String>, LabError> + Send + Sync;

struct Fake {
    calls: Mutex<Vec<Call>>,
    /// Each node's server log (one file, /disk1/pg_ctl.log).
    logs: Mutex<HashMap<String, String>>,
    /// Each node's scripted pg_isready codes; the last one repeats. Default: 0.
    ready: HashMap<String, Sequence>,
    on_run: Box<RunRule>,
    on_sql: Box<SqlRule>,
    /// Commands containing this never return.
    hang: Option<&'static str>,
    /// The ledger as the fake's "servers" hold it.
    ledger: Mutex<Ledger>,
    /// Commands containing the first fail (exit 1) after logging the second on their node.
    fail_logging: Option<(&'static str, &'static str)>,
}

/// The fake's ledger table on each node, and which node accepts writes.
#[derive(Default)]
struct Ledger {
    /// Each node's rows.
    rows: HashMap<String, Vec<i64>>,
    /// Nodes whose container was killed (no connection, no answer).
    down: std::collections::HashSet<String>,
    /// The node that accepts writes; the others answer an `ERROR` (read-only).
    primary: Option<String>,
    /// Rows written on the primary with ids up to this one also reach `replica`.
    replicated_up_to: i64,
    /// The standby that receives the primary's rows.
    replica: Option<String>,
}

/// Values handed out in order, the last one forever.
struct Sequence {
    values: Vec<u8>,
    next: AtomicUsize,
}

impl Sequence {
    fn take(&self) -> u8 {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.values[i.min(self.values.len() - 1)]
    }
}

fn exit(code: i64, stdout: &str) -> Output {
    Output {
        code,
        stdout: stdout.to_string(),
        stderr: String::new(),
    }
}

impl Fake {
    fn new() -> Self {
        Fake {
            calls: Mutex::default(),
            logs: Mutex::default(),
            ready: HashMap::new(),
            on_run: Box::new(|_, _| None),
            on_sql: Box::new(|_, _| Ok(None)),
            hang: None,
            ledger: Mutex::default(),
            fail_logging: None,
        }
    }

    /// Commands containing `pattern` write `line` to their node's server log and exit 1.
    fn fail_logging(mut self, pattern: &'static str, line: &'static str) -> Self {
        self.fail_logging = Some((pattern, line));
        self
    }

    /// The ledger's servers: `primary` takes writes, and rows up to `replicated_up_to` reach
    /// `replica` (the rest would be lost by a failover to it).
    fn ledger(self, primary: &str, replica: &str, replicated_up_to: i64) -> Self {
        *self.ledger.lock().unwrap() = Ledger {
            primary: Some(primary.to_string()),
            replica: Some(replica.to_string()),
            replicated_up_to,
            ..Ledger::default()
        };
        self
    }

    /// Commands containing `pattern` never return.
    fn hang(mut self, pattern: &'static str) -> Self {
        self.hang = Some(pattern);
        self
    }

    /// Answers commands containing `pattern` (on any node) with `reply`.
    fn rule(mut self, pattern: &'static str, reply: Result<Output, LabError>) -> Self {
        let before = std::mem::replace(&mut self.on_run, Box::new(|_, _| None));
        self.on_run = Box::new(move |node, cmd| {
            if cmd.contains(pattern) {
                Some(reply.clone())
            } else {
                before(node, cmd)
            }
        });
        self
    }

    fn on_sql(
        mut self,
        f: impl Fn(&str, &str) -> Result<Option<String>, LabError> + Send + Sync + 'static,
    ) -> Self {
        self.on_sql = Box::new(f);
        self
    }

    fn ready(mut self, node: &str, codes: &[u8]) -> Self {
        let seq = Sequence {
            values: codes.to_vec(),
            next: AtomicUsize::new(0),
        };
        self.ready.insert(node.to_string(), seq);
        self
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The commands run, without the log tap's and the probes' plumbing.
    fn commands(&self) -> Vec<(String, User, String)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Run {
                    node,
                    user,
                    command,
                } if !is_plumbing(&command) => Some((node, user, command)),
                _ => None,
            })
            .collect()
    }

    fn probes(&self, node: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| matches!(c, Call::Run { node: n, command, .. } if n == node && command.starts_with("pg_isready")))
            .count()
    }
}

fn is_plumbing(command: &str) -> bool {
    command.starts_with("for f in /disk1/pg_ctl.log")
        || command.starts_with("tail -c +")
        || command.starts_with("pg_isready")
}

impl crate::ledger::Connector for Fake {
    type Session = String;

    async fn connect(
        &self,
        node: NodeId,
        _db: &str,
        _timeout: Duration,
    ) -> Result<String, crate::ledger::StatementError> {
        let node = node.name();
        let node = node.as_str();
        if self.ledger.lock().unwrap().down.contains(node) {
            return Err(crate::ledger::StatementError::no_answer(format!(
                "{node}: connection refused"
            )));
        }
        Ok(node.to_string())
    }

    async fn execute(&self, node: &String, sql: &str) -> Result<(), crate::ledger::StatementError> {
        let mut ledger = self.ledger.lock().unwrap();
        if ledger.down.contains(node) {
            return Err(crate::ledger::StatementError::no_answer(
                "connection closed",
            ));
        }
        if sql.starts_with("TRUNCATE") {
            ledger.rows.insert(node.clone(), Vec::new());
        }
        let Some(id) = sql
            .strip_prefix("INSERT INTO lab_ledger(id) VALUES (")
            .and_then(|rest| rest.strip_suffix(')'))
        else {
            return Ok(());
        };
        if ledger.primary.as_deref() != Some(node) {
            return Err(crate::ledger::StatementError {
                severity: Some("ERROR".into()),
                message: "cannot execute INSERT in a read-only transaction".into(),
            });
        }
        let id: i64 = id.parse().unwrap();
        ledger.rows.entry(node.clone()).or_default().push(id);
        if let Some(replica) = ledger
            .replica
            .clone()
            .filter(|_| id <= ledger.replicated_up_to)
        {
            ledger.rows.entry(replica).or_default().push(id);
        }
        Ok(())
    }
}

impl LabOps for Fake {
    async fn node_op(&self, node: NodeId, op: crate::fault::NodeOp) -> Result<(), LabError> {
        let node = node.name();
        let node = node.as_str();
        let mut ledger = self.ledger.lock().unwrap();
        match op {
            crate::fault::NodeOp::Kill => ledger.down.insert(node.to_string()),
            crate::fault::NodeOp::Start => ledger.down.remove(node),
            _ => true,
        };
        Ok(())
    }

    async fn run(
        &self,
        node: NodeId,
        user: User,
        command: &str,
        _env: &HashMap<String, String>,
        _timeout: Duration,
    ) -> Result<Output, LabError> {
        let node = node.name();
        let node = node.as_str();
        self.calls.lock().unwrap().push(Call::Run {
            node: node.into(),
            user,
            command: command.into(),
        });
        if self.hang.is_some_and(|p| command.contains(p)) {
            std::future::pending::<()>().await;
        }
        if let Some(reply) = (self.on_run)(node, command) {
            return reply;
        }
        let mut logs = self.logs.lock().unwrap();
        let log = logs.entry(node.to_string()).or_default();
        if let Some((_, line)) = self.fail_logging.filter(|(p, _)| command.contains(p)) {
            log.push_str(line);
            log.push('\n');
            return Ok(exit(
                1,
                "pg_ctl: could not start server\nExamine the log output.\n",
            ));
        }
        if command.starts_with("for f in /disk1/pg_ctl.log") {
            let listing = if log.is_empty() {
                String::new()
            } else {
                format!("/disk1/pg_ctl.log {}\n", log.len())
            };
            return Ok(exit(0, &listing));
        }
        if let Some(rest) = command.strip_prefix("tail -c +") {
            let (from, file) = rest.split_once(' ').expect("tail -c +N FILE");
            assert_eq!(file, "/disk1/pg_ctl.log");
            let from: usize = from.parse().expect("an offset");
            return Ok(exit(0, &log[from - 1..]));
        }
        if command.contains("pg_ctl") && command.contains("promote") {
            self.ledger.lock().unwrap().primary = Some(node.to_string());
        }
        if let Some(line) = command.strip_prefix("say ") {
            log.push_str(line);
            log.push('\n');
            return Ok(exit(0, ""));
        }
        if command.starts_with("pg_isready") {
            let code = self.ready.get(node).map_or(0, Sequence::take);
            return Ok(exit(0, &format!("{code}\n")));
        }
        Ok(exit(0, ""))
    }

    async fn sql(&self, node: NodeId, db: &str, sql: &str) -> Result<Option<String>, LabError> {
        let node = node.name();
        let node = node.as_str();
        self.calls.lock().unwrap().push(Call::Sql {
            node: node.into(),
            db: db.into(),
            sql: sql.into(),
        });
        if sql.contains("waits forever") {
            std::future::pending::<()>().await;
        }
        if sql == crate::ledger::present_ids_list_sql() {
            let ledger = self.ledger.lock().unwrap();
            let mut ids = ledger.rows.get(node).cloned().unwrap_or_default();
            ids.sort_unstable();
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            return Ok(Some(ids.join(",")));
        }
        (self.on_sql)(node, sql)
    }
}

fn context() -> Context {
    let version: PgVersion = "15".parse().unwrap();
    let dialect = Dialect::for_major(version.major);
    let topo = Topology::default();
    let vars = render::builtin_vars(&dialect, &topo, "15", "/tmp/run");
    Context {
        dialect,
        topo,
        primary: NodeId::NODE1,
        vars,
        lenient: false,
    }
}

/// A drill made of `body` (its steps, and `monitor` if any).
fn drill(body: &str) -> Drill {
    let text = format!("name = \"t\"\ntitle = \"T\"\nproves = \"P.\"\n{body}");
    scenario::parse_valid("t.toml", &text)
}

struct Ran {
    verdict: Verdict,
    events: Vec<Event>,
    lab: Arc<Fake>,
}

impl Ran {
    /// Each step's outcome, in order.
    fn outcomes(&self) -> Vec<Outcome> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::StepFinished { outcome, .. } => Some(outcome.clone()),
                _ => None,
            })
            .collect()
    }

    fn outcome(&self, number: usize) -> Outcome {
        self.outcomes()[number - 1].clone()
    }

    fn output(&self, number: usize) -> String {
        self.events
            .iter()
            .find_map(|e| match e {
                Event::StepFinished {
                    number: n, output, ..
                } if *n == number => Some(output.clone()),
                _ => None,
            })
            .unwrap()
    }

    /// The node each step was started on.
    fn step_nodes(&self) -> Vec<Option<String>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::StepStarted { node, .. } => Some(node.map(|n| n.to_string())),
                _ => None,
            })
            .collect()
    }

    fn log(&self, node: &str) -> String {
        let (_, text) = self
            .verdict
            .logs
            .iter()
            .find(|(n, _)| n.name() == node)
            .unwrap();
        text.clone()
    }
}

async fn run(fake: Fake, body: &str) -> Ran {
    run_paced(fake, body, |_| Pace::Run).await
}

/// Runs a drill answering the `--step` prompt of each step number with `pace`.
async fn run_paced(fake: Fake, body: &str, pace: impl FnMut(usize) -> Pace) -> Ran {
    run_in(fake, context(), false, body, pace).await
}

/// Runs a drill in `ctx`, with the ledger if `ledger`.
async fn run_in(
    fake: Fake,
    ctx: Context,
    ledger: bool,
    body: &str,
    mut pace: impl FnMut(usize) -> Pace,
) -> Ran {
    let drill = drill(body);
    let nodes = NodeId::PAIR.to_vec();
    let mut runner = Runner::new(fake, ctx, nodes, Sink::new(|_| {}));
    if ledger {
        runner = runner.with_ledger();
    }
    let verdict = runner
        .run(&drill, "default", |n: usize, _: &str, _: &[String]| pace(n))
        .await;
    Ran {
        verdict,
        events: runner.sink.events(),
        lab: runner.lab.clone(),
    }
}

fn cmd(node: &str, user: User, command: &str) -> (String, User, String) {
    (node.to_string(), user, command.to_string())
}

#[tokio::test]
async fn steps_reach_the_lab_in_order_with_the_versions_commands() {
    let ran = run(
        Fake::new(),
        r#"
[[steps]]
title = "as root on node2"
on = "node2"
run = "id -un"
user = "root"

[[steps]]
title = "stop node1"
on = "node1"
action = "stop"
with = { mode = "fast", fallback = "immediate" }

[[steps]]
title = "promote node2"
on = "node2"
action = "promote"

[[steps]]
title = "rebuild node1 from node2"
on = "node1"
action = "base_backup"
with = { from = "node2" }

[[steps]]
title = "as postgres on node1"
on = "node1"
run = "echo done"
"#,
    )
    .await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    assert_eq!(
        ran.lab.commands(),
        vec![
            cmd("node2", User::Root, "id -un"),
            cmd(
                "node1",
                User::Postgres,
                "set -e\nif pg_ctl status >/dev/null; then pg_ctl -m fast stop || pg_ctl -m immediate stop; else echo 'no server running'; fi"
            ),
            cmd("node2", User::Postgres, "set -e\npg_ctl promote"),
            cmd(
                "node1",
                User::Postgres,
                "set -e\npg_basebackup -h 172.16.3.102 -U repuser -D /disk1/data -X none --progress -c fast"
            ),
            cmd("node1", User::Postgres, "echo done"),
        ]
    );
    // The report shows the same commands with the user's prompt.
    let shown = ran.events.iter().find_map(|e| match e {
        Event::StepStarted {
            number: 3,
            commands,
            ..
        } => Some(commands.clone()),
        _ => None,
    });
    assert_eq!(shown, Some(vec!["$ pg_ctl promote".to_string()]));
}

#[tokio::test]
async fn roles_follow_a_promotion() {
    // (After the promotion no node follows node2, so the checker refuses `on = "standby"`
    // there: the standby is used before it.)
    let ran = run(
        Fake::new(),
        r#"
[[steps]]
title = "on the primary"
on = "primary"
run = "echo one"

[[steps]]
title = "on the standby"
on = "standby"
run = "echo three"

[[steps]]
title = "promote node2"
on = "node2"
action = "promote"

[[steps]]
title = "on the new primary"
on = "primary"
run = "echo two"
"#,
    )
    .await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    let runs: Vec<(String, String)> = ran
        .lab
        .commands()
        .into_iter()
        .map(|(n, _, c)| (n, c))
        .collect();
    assert_eq!(
        runs,
        vec![
            ("node1".to_string(), "echo one".to_string()),
            ("node2".to_string(), "echo three".to_string()),
            ("node2".to_string(), "set -e\npg_ctl promote".to_string()),
            ("node2".to_string(), "echo two".to_string()),
        ]
    );
    let on = |n: &str| Some(n.to_string());
    assert_eq!(
        ran.step_nodes(),
        vec![on("node1"), on("node2"), on("node2"), on("node2")]
    );
}

/// A node made the standby of the other tells who is primary, however the other became it (a
/// `run` step, here); `primary` and `standby` resolve accordingly, and the rebuilt node can be
/// promoted again.
#[tokio::test]
async fn roles_follow_a_rebuild_as_the_others_standby() {
    let ran = run(
        Fake::new(),
        r#"
[[steps]]
title = "promote node2 by hand"
on = "node2"
run = "pg_ctl promote"

[[steps]]
title = "node1 follows node2"
on = "node1"
action = "make_standby"
with = { of = "node2" }

[[steps]]
title = "on the primary"
on = "primary"
run = "echo primary"

[[steps]]
title = "promote the standby again"
on = "standby"
action = "promote"

[[steps]]
title = "on the new primary"
on = "primary"
run = "echo new primary"
"#,
    )
    .await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    let on = |n: &str| Some(n.to_string());
    assert_eq!(
        ran.step_nodes(),
        vec![
            on("node2"),
            on("node1"),
            on("node2"),
            on("node1"),
            on("node1")
        ]
    );
    let roles: Vec<(String, String)> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Role { node, role, .. } => Some((node.name(), role.to_string())),
            _ => None,
        })
        .collect();
    let role = |n: &str, r: &str| (n.to_string(), r.to_string());
    assert_eq!(
        roles,
        vec![role("node1", "standby"), role("node1", "primary")]
    );
}

#[tokio::test]
async fn a_captured_value_is_used_by_later_commands_and_expectations() {
    let fake = Fake::new().on_sql(|node, sql| {
        Ok(Some(
            match (node, sql) {
                ("node1", "SELECT count(*) FROM t") => "42",
                ("node2", "SELECT count(*) >= '42' FROM t") => "t",
                ("node2", "SELECT count(*) FROM t") => "42",
                _ => "unexpected",
            }
            .to_string(),
        ))
    });
    let ran = run(
        fake,
        r#"
[[steps]]
title = "count on node1"
on = "node1"
sql = "SELECT count(*) FROM t"
db = "testdb"
capture = "rows"

[[steps]]
title = "use ${rows} rows in a command on /disk2/${pg.wal_dir}"
on = "node1"
run = "echo rows=${rows}"

[[steps]]
title = "use it in SQL"
on = "node2"
sql = "SELECT count(*) >= ${rows} FROM t"
expect = "t"

[[steps]]
title = "use it in an expectation"
on = "node2"
sql = "SELECT count(*) FROM t"
expect = "${rows}"
"#,
    )
    .await;
    assert_eq!(ran.outcomes(), vec![Outcome::Passed; 4]);
    assert!(ran.verdict.passed);
    assert_eq!(ran.output(1), "42");
    let sql: Vec<Call> = ran
        .lab
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Sql { .. }))
        .collect();
    assert_eq!(
        sql[0],
        Call::Sql {
            node: "node1".into(),
            db: "testdb".into(),
            sql: "SELECT count(*) FROM t".into()
        }
    );
    assert_eq!(
        sql[1],
        Call::Sql {
            node: "node2".into(),
            db: "postgres".into(),
            sql: "SELECT count(*) >= '42' FROM t".into()
        }
    );
    assert_eq!(
        ran.lab.commands(),
        vec![cmd("node1", User::Postgres, "echo rows=42")]
    );
    let titles: Vec<&str> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            Event::StepStarted { title, .. } => Some(title.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(titles[1], "use 42 rows in a command on /disk2/pg_wal");
}

#[tokio::test]
async fn an_expectation_against_a_capture_fails_with_both_values() {
    let fake =
        Fake::new().on_sql(|node, _| Ok(Some(if node == "node1" { "42" } else { "41" }.into())));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "count on node1"
on = "node1"
sql = "SELECT count(*) FROM t"
capture = "rows"

[[steps]]
title = "node2 has as many"
on = "node2"
sql = "SELECT count(*) FROM t"
expect = "${rows}"
"#,
    )
    .await;
    assert_eq!(
        ran.outcome(2),
        Outcome::Failed {
            expected: "42".into(),
            seen: "41".into()
        }
    );
    assert!(!ran.verdict.passed);
}

#[tokio::test]
async fn a_wrong_expectation_fails_the_drill_and_skips_the_rest() {
    let fake = Fake::new().on_sql(|_, _| Ok(Some("t".into())));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "not in recovery"
on = "node1"
sql = "SELECT pg_is_in_recovery()"
expect = "f"

[[steps]]
title = "never runs"
on = "node1"
run = "echo later"
"#,
    )
    .await;
    assert_eq!(
        ran.outcomes(),
        vec![
            Outcome::Failed {
                expected: "f".into(),
                seen: "t".into()
            },
            Outcome::Skipped {
                reason: "an earlier step failed".into()
            },
        ]
    );
    assert!(!ran.verdict.passed);
    assert!(ran.lab.commands().is_empty(), "{:?}", ran.lab.commands());
    assert!(ran
        .events
        .iter()
        .any(|e| matches!(e, Event::DrillFinished { passed: false, .. })));
}

#[tokio::test]
async fn a_null_is_seen_as_null() {
    let ran = run(
        Fake::new(),
        r#"
[[steps]]
title = "a value"
on = "node1"
sql = "SELECT NULL"
expect = "1"
"#,
    )
    .await;
    assert_eq!(
        ran.outcome(1),
        Outcome::Failed {
            expected: "1".into(),
            seen: "NULL".into()
        }
    );
}

#[tokio::test]
async fn an_optional_failure_does_not_fail_the_drill() {
    let fake = Fake::new().on_sql(|_, _| Ok(Some("t".into())));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "not in recovery"
on = "node1"
sql = "SELECT pg_is_in_recovery()"
expect = "f"
optional = true

[[steps]]
title = "still runs"
on = "node1"
run = "echo later"
"#,
    )
    .await;
    assert!(matches!(ran.outcome(1), Outcome::Failed { .. }));
    assert_eq!(ran.outcome(2), Outcome::Passed);
    assert!(ran.verdict.passed);
    assert_eq!(
        ran.lab.commands(),
        vec![cmd("node1", User::Postgres, "echo later")]
    );
}

const FAULT_THEN_CHECK: &str = r#"
[[steps]]
title = "the WAL disk fails"
on = "node1"
fault = "wal-permission"

[[steps]]
title = "a check"
on = "node1"
run = "check-something"
"#;

/// A command of an action that fails shows, in its output, what the node's server log gained
/// during the step (pg_ctl's "Examine the log output" answered in the report), and not what it
/// held before.
#[tokio::test]
async fn a_failed_action_shows_the_server_log_it_wrote() {
    let fake = Fake::new().fail_logging(
        "pg_ctl start",
        "FATAL:  could not open file \"global/pg_control\": No such file",
    );
    let drill = "\n[[steps]]\ntitle = \"an old line\"\non = \"node1\"\nrun = \"say LOG:  an old line\"\n\n[[steps]]\ntitle = \"start\"\non = \"node1\"\naction = \"start\"\n";
    let ran = run(fake, drill).await;
    let output = ran
        .events
        .iter()
        .find_map(|e| match e {
            Event::StepFinished {
                number: 2, output, ..
            } => Some(output.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        output.contains("node1's server log since the step began")
            && output.contains("could not open file \"global/pg_control\""),
        "{output}"
    );
    assert!(!output.contains("an old line"), "{output}");
}

#[tokio::test]
async fn a_failed_drill_heals_its_faults_after_the_failing_step() {
    let fake = Fake::new().rule("check-something", Ok(exit(1, "")));
    let ran = run(fake, FAULT_THEN_CHECK).await;
    assert_eq!(
        ran.outcome(2),
        Outcome::Failed {
            expected: "exit code 0".into(),
            seen: "exit code 1".into()
        }
    );
    assert!(!ran.verdict.passed);
    assert_eq!(
        ran.lab.commands(),
        vec![
            cmd("node1", User::Postgres, "set -e\nchmod u-w /disk2/pg_wal"),
            cmd("node1", User::Postgres, "check-something"),
            cmd("node1", User::Postgres, "set -e\nchmod u+w /disk2/pg_wal"),
        ]
    );
    let faults: Vec<(String, String, bool)> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Fault {
                fault, node, heal, ..
            } => Some((fault.to_string(), node.name(), *heal)),
            _ => None,
        })
        .collect();
    let f = |heal| ("wal-permission".to_string(), "node1".to_string(), heal);
    assert_eq!(faults, vec![f(false), f(true)]);
    // The heal is reported after the failing step finished.
    let failed_at = ran
        .events
        .iter()
        .position(|e| matches!(e, Event::StepFinished { number: 2, .. }))
        .unwrap();
    let healed_at = ran
        .events
        .iter()
        .position(|e| matches!(e, Event::Fault { heal: true, .. }))
        .unwrap();
    assert!(healed_at > failed_at);
}

/// A statement that never returns (a commit held for a synchronous standby that is gone) ends
/// at its step's bound: the step fails saying what it waited for, the rest is skipped, and the
/// fault injected before it is healed.
#[tokio::test(start_paused = true)]
async fn a_step_that_never_ends_fails_at_its_bound_and_the_faults_are_healed() {
    let body = r#"
[[steps]]
title = "break"
on = "node1"
fault = "wal-permission"

[[steps]]
title = "a commit that waits forever"
on = "node1"
sql = "INSERT INTO t VALUES (1) -- waits forever"
timeout = "3s"

[[steps]]
title = "never reached"
on = "node1"
run = "true"
"#;
    let ran = run(Fake::new(), body).await;
    assert!(!ran.verdict.passed);
    assert_eq!(
        ran.outcome(2),
        Outcome::Failed {
            expected: "the step to end within 8 s".into(),
            seen:
                "still waiting after 8 s for `INSERT INTO t VALUES (1) -- waits forever` on node1"
                    .into(),
        }
    );
    assert!(matches!(ran.outcome(3), Outcome::Skipped { .. }));
    assert!(ran
        .events
        .iter()
        .any(|e| matches!(e, Event::Fault { heal: true, .. })));
}

/// A load whose commits are held is bounded by its own length, not by an hour.
#[tokio::test(start_paused = true)]
async fn a_held_load_ends_a_minute_after_its_length() {
    let body = r#"
[[steps]]
title = "load"
on = "node1"
action = "load"
with = { seconds = 7 }
"#;
    let ran = run(Fake::new().hang("pgbench"), body).await;
    assert_eq!(
        ran.outcome(1),
        Outcome::Failed {
            expected: "the step to end within 72 s".into(),
            seen: "still waiting after 72 s for the `load` action on node1".into(),
        }
    );
}

#[tokio::test]
async fn a_drill_stopped_in_step_mode_is_reported_as_stopped_with_the_steps_done() {
    let body = format!(
        "{FAULT_THEN_CHECK}\n[[steps]]\ntitle = \"after\"\non = \"node1\"\nrun = \"after\"\n"
    );
    let ran = run_paced(Fake::new(), &body, |n| {
        if n == 2 {
            Pace::Quit
        } else {
            Pace::Run
        }
    })
    .await;
    assert_eq!(ran.verdict.stopped_at, Some(2));
    assert!(!ran.verdict.passed, "a stopped drill did not pass");
    assert_eq!(ran.outcome(1), Outcome::Passed);
    let stopped = Outcome::Skipped {
        reason: "the drill was stopped".into(),
    };
    assert_eq!(ran.outcomes()[1..], [stopped.clone(), stopped]);
    // The fault the drill left is healed, so the lab can be inspected; nothing after the stop ran.
    assert_eq!(
        ran.lab.commands(),
        vec![
            cmd("node1", User::Postgres, "set -e\nchmod u-w /disk2/pg_wal"),
            cmd("node1", User::Postgres, "set -e\nchmod u+w /disk2/pg_wal"),
        ]
    );
    assert!(ran.events.iter().any(|e| matches!(
        e,
        Event::DrillFinished {
            passed: false,
            stopped_at: Some(2),
            ..
        }
    )));

    let finished = ran.events.last().expect("events");
    let json = serde_json::to_string(finished).expect("serialises");
    assert!(json.contains(r#""passed":false,"stopped_at":2"#), "{json}");
    let md = super::super::report::markdown(&ran.events);
    assert!(md.contains("**Result: STOPPED**"), "{md}");
    assert!(
        md.contains("before step 2") && md.contains("1 step(s) had run"),
        "{md}"
    );
    assert!(!md.contains("FAILED"), "{md}");
    let junit = super::super::report::junit(&ran.events);
    assert!(
        junit.contains(r#"name="result" value="stopped""#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"failures="0""#) && junit.contains(r#"errors="0""#),
        "{junit}"
    );
    assert!(junit.contains(r#"skipped="2""#), "{junit}");
}

#[tokio::test]
async fn a_failed_drill_is_not_reported_as_stopped() {
    let fake = Fake::new().rule("check-something", Ok(exit(1, "")));
    let ran = run(fake, FAULT_THEN_CHECK).await;
    assert_eq!(ran.verdict.stopped_at, None);
    let md = super::super::report::markdown(&ran.events);
    assert!(
        md.contains("**Result: FAILED**") && !md.contains("STOPPED"),
        "{md}"
    );
}

#[tokio::test]
async fn a_passing_drill_does_not_heal() {
    let ran = run(Fake::new(), FAULT_THEN_CHECK).await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    assert_eq!(
        ran.lab.commands(),
        vec![
            cmd("node1", User::Postgres, "set -e\nchmod u-w /disk2/pg_wal"),
            cmd("node1", User::Postgres, "check-something"),
        ]
    );
    assert!(!ran
        .events
        .iter()
        .any(|e| matches!(e, Event::Fault { heal: true, .. })));
}

#[tokio::test]
async fn a_fault_healed_by_the_drill_is_not_healed_again() {
    let fake = Fake::new().rule("check-something", Ok(exit(1, "")));
    let body = format!(
        "{}\n{FAULT_THEN_CHECK}",
        r#"
[[steps]]
title = "break"
on = "node1"
fault = "wal-permission"

[[steps]]
title = "mend"
on = "node1"
fault = "wal-permission"
heal = true
"#
    );
    // Injected, healed by the drill, injected again, then a failure: healed once more at the
    // end, for the second injection only.
    let ran = run(fake, &body).await;
    assert!(!ran.verdict.passed);
    let heals = ran
        .lab
        .commands()
        .iter()
        .filter(|(_, _, c)| c.contains("chmod u+w"))
        .count();
    assert_eq!(heals, 2, "one by the drill, one after the failure");
}

#[tokio::test]
async fn expect_log_looks_after_its_mark_and_in_order() {
    let ran = run(
        Fake::new(),
        r#"
[[steps]]
title = "before the mark"
on = "node1"
run = "say LOG:  redo done at 0/3000028"

[[steps]]
title = "mark"
mark = "m"

[[steps]]
title = "after the mark"
on = "node1"
run = "say LOG:  selected new timeline ID: 2"

[[steps]]
title = "after the mark, again"
on = "node1"
run = "say LOG:  database system is ready to accept connections"

[[steps]]
title = "a line from before the mark is not seen"
on = "node1"
since = "m"
expect_log = ["redo done at"]
optional = true
timeout = "300ms"

[[steps]]
title = "without the mark it is"
on = "node1"
expect_log = ["redo done at"]

[[steps]]
title = "the lines after the mark, in order"
on = "node1"
since = "m"
expect_log = ["selected new timeline ID: ${profile.tl}", "ready to accept"]

[[steps]]
title = "out of order"
on = "node1"
since = "m"
expect_log = ["ready to accept", "selected new timeline"]
optional = true
timeout = "300ms"

[profiles.default]
tl = "2"
"#,
    )
    .await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    assert_eq!(
        ran.outcome(5),
        Outcome::Failed {
            expected: "a line matching /redo done at/ after 0 matched line(s)".into(),
            seen: "LOG:  selected new timeline ID: 2\nLOG:  database system is ready to accept connections".into()
        }
    );
    assert_eq!(ran.outcome(6), Outcome::Passed);
    assert_eq!(ran.outcome(7), Outcome::Passed);
    assert_eq!(
        ran.output(7),
        "LOG:  selected new timeline ID: 2\nLOG:  database system is ready to accept connections"
    );
    match ran.outcome(8) {
        Outcome::Failed { expected, seen } => {
            assert_eq!(
                expected,
                "a line matching /selected new timeline/ after 1 matched line(s)"
            );
            assert_eq!(seen, "no further log lines");
        }
        other => panic!("{other:?}"),
    }
    // The tap read each byte once, whatever the number of reads.
    assert_eq!(
        ran.log("node1"),
        "LOG:  redo done at 0/3000028\nLOG:  selected new timeline ID: 2\nLOG:  database system is ready to accept connections\n"
    );
}

#[tokio::test]
async fn expect_log_waits_for_a_line_still_to_come() {
    // A background command writes the line; on the test's single thread it runs only once the
    // step has looked a first time and sleeps before looking again.
    let ran = run(
        Fake::new(),
        r#"
[[steps]]
title = "the server will log soon"
on = "node1"
run = "say LOG:  database system is ready to accept connections"
background = true
expect_exit = "any"

[[steps]]
title = "the line shows up"
on = "node1"
expect_log = ["ready to accept"]
timeout = "5s"
"#,
    )
    .await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
}

#[tokio::test]
async fn a_command_that_cannot_run_is_an_error_not_a_failure() {
    let fake = Fake::new()
        .rule(
            "unreachable",
            Err(LabError::Engine("no such container: lab-node2".into())),
        )
        .rule("exits-1", Ok(exit(1, "")));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "fails"
on = "node1"
run = "exits-1"
optional = true

[[steps]]
title = "cannot run"
on = "node2"
run = "unreachable"
"#,
    )
    .await;
    assert_eq!(
        ran.outcome(1),
        Outcome::Failed {
            expected: "exit code 0".into(),
            seen: "exit code 1".into()
        }
    );
    assert_eq!(
        ran.outcome(2),
        Outcome::Error {
            message: "no such container: lab-node2".into()
        }
    );
    assert!(!ran.verdict.passed);
}

#[tokio::test]
async fn sql_that_cannot_reach_the_server_is_an_error() {
    let fake = Fake::new().on_sql(|_, _| Err(LabError::Sql("connection refused".into())));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "query"
on = "node1"
sql = "SELECT 1"
expect = "1"
"#,
    )
    .await;
    assert_eq!(
        ran.outcome(1),
        Outcome::Error {
            message: "connection refused".into()
        }
    );
}

#[tokio::test]
async fn wait_polls_pg_isready_until_the_code_appears() {
    let ran = run(
        Fake::new().ready("node1", &[0, 0, 2]),
        r#"
[[steps]]
title = "node1 stops answering"
on = "node1"
wait = { pg_isready = 2 }
timeout = "10s"
"#,
    )
    .await;
    assert_eq!(ran.outcome(1), Outcome::Passed);
    assert_eq!(ran.output(1), "pg_isready 2");
    assert_eq!(ran.lab.probes("node1"), 3);
    assert!(ran.lab.calls().contains(&Call::Run {
        node: "node1".into(),
        user: User::Postgres,
        command: "pg_isready -h 172.16.3.101 -p 5432 -U postgres -d postgres -q; echo $?".into()
    }));
}

#[tokio::test]
async fn wait_fails_after_its_timeout_with_the_last_value_seen() {
    let started = Instant::now();
    let ran = run(
        Fake::new().ready("node1", &[0, 1]),
        r#"
[[steps]]
title = "node1 stops answering"
on = "node1"
wait = { pg_isready = 2 }
timeout = "1s"
"#,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(
        ran.outcome(1),
        Outcome::Failed {
            expected: "wait until pg_isready returns 2 within 1s".into(),
            seen: "pg_isready 1".into()
        }
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(ran.lab.probes("node1") >= 3);
}

#[tokio::test]
async fn the_monitor_checks_the_order_of_readiness_changes() {
    let ran = run(
        Fake::new()
            .ready("node1", &[0, 0, 1, 1, 2])
            .ready("node2", &[0]),
        r#"
monitor = { interval = "100ms" }

[[steps]]
title = "accepting, rejecting, then no response"
on = "node1"
expect_monitor = [0, 1, 2]
timeout = "5s"

[[steps]]
title = "not back to accepting"
on = "node1"
expect_monitor = [2, 0]
timeout = "500ms"
optional = true

[[steps]]
title = "node2 stayed up"
on = "node1"
of = "standby"
expect_monitor = [0]
"#,
    )
    .await;
    assert_eq!(ran.outcome(1), Outcome::Passed);
    assert_eq!(ran.output(1), "monitor saw node1: 0 → 1 → 2");
    assert_eq!(
        ran.outcome(2),
        Outcome::Failed {
            expected: "2 → 0".into(),
            seen: "0 → 1 → 2".into()
        }
    );
    assert_eq!(ran.outcome(3), Outcome::Passed);
    assert_eq!(ran.output(3), "monitor saw node2: 0");
    assert!(ran.verdict.passed);
    let changes: Vec<u8> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Readiness { node, code, .. } if *node == NodeId::NODE1 => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(changes, vec![0, 1, 2]);
}

#[tokio::test]
async fn the_monitor_rejects_a_wrong_order() {
    let ran = run(
        Fake::new().ready("node1", &[2, 0]),
        r#"
monitor = { interval = "100ms" }

[[steps]]
title = "let the monitor see both"
sleep = "500ms"

[[steps]]
title = "accepting, then no response"
on = "node1"
expect_monitor = [0, 2]
timeout = "500ms"
"#,
    )
    .await;
    assert_eq!(
        ran.outcome(2),
        Outcome::Failed {
            expected: "0 → 2".into(),
            seen: "2 → 0".into()
        }
    );
    assert!(!ran.verdict.passed);
}

#[tokio::test]
async fn sql_and_wait_on_all_nodes_run_on_each() {
    let fake = Fake::new().on_sql(|_, _| Ok(Some("1".into())));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "both answer"
on = "all"
sql = "SELECT 1"
expect = "1"

[[steps]]
title = "both up"
on = "all"
wait = { pg_isready = 0 }
"#,
    )
    .await;
    assert_eq!(ran.outcomes(), vec![Outcome::Passed; 2]);
    let sql_nodes: Vec<String> = ran
        .lab
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Sql { node, .. } => Some(node),
            _ => None,
        })
        .collect();
    assert_eq!(sql_nodes, vec!["node1", "node2"]);
    assert_eq!((ran.lab.probes("node1"), ran.lab.probes("node2")), (1, 1));
}

#[tokio::test]
async fn a_captured_value_that_makes_a_bad_path_is_refused_before_it_runs() {
    let fake = Fake::new().on_sql(|_, _| Ok(Some("x /disk1/data; touch /tmp/pwned".into())));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "a value from the database"
on = "node1"
sql = "SELECT dir FROM t"
capture = "dir"

[[steps]]
title = "back up under it"
on = "node1"
action = "local_backup"
with = { to = "/disk3/${dir}" }
"#,
    )
    .await;
    let Outcome::Error { message } = ran.outcome(2) else {
        panic!("{:?}", ran.outcomes());
    };
    assert!(
        message.contains("contains ` `: paths may hold only"),
        "{message}"
    );
    assert!(
        ran.lab
            .commands()
            .iter()
            .all(|(_, _, c)| !c.contains("pwned")),
        "the injected text reached a shell"
    );
}

fn ledger_history(acks: &[f64], ended: f64) -> crate::ledger::History {
    crate::ledger::History {
        ops: acks
            .iter()
            .enumerate()
            .map(|(i, &at)| crate::ledger::Op {
                id: i as i64 + 1,
                invoked: at - 0.1,
                completed: Some(at),
                outcome: crate::ledger::OpOutcome::Acked,
            })
            .collect(),
        connect_failures: Vec::new(),
        started_at_unix: 1_700_000_000.0,
        ended,
    }
}

fn failover_events() -> Vec<Event> {
    vec![
        Event::Fault {
            fault: crate::fault::Fault::NodeCrash,
            node: NodeId::NODE1,
            heal: false,
            at: 10.0,
        },
        Event::Readiness {
            node: NodeId::NODE1,
            code: 2,
            at: 11.0,
        },
        Event::Role {
            node: NodeId::NODE2,
            role: Role::Primary,
            at: 14.0,
        },
    ]
}

#[test]
fn rto_first_write_is_the_first_acknowledgement_after_the_outage() {
    // The ledger started 2 s into the drill; writes stall at 8 (drill 10) and resume at 13
    // (drill 15), a second after the promotion.
    let history = ledger_history(&[1.0, 4.0, 8.0, 13.0, 14.0, 15.0], 15.5);
    let rto: HashMap<String, f64> = rto(
        &RunSummary::of(&failover_events()),
        Some(12.0),
        &history,
        2.0,
    )
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    assert_eq!(rto["rto_detection_seconds"], 1.0);
    assert_eq!(rto["rto_fenced_seconds"], 2.0);
    assert_eq!(rto["rto_promoted_seconds"], 4.0);
    assert_eq!(rto["rto_first_write_seconds"], 5.0);
    assert_eq!(rto["lab_overhead_promote_to_first_write_seconds"], 1.0);
}

#[test]
fn rto_has_no_first_write_when_writes_never_resume() {
    // Writes stop at the fault and the run ends 30 s later without another acknowledgement:
    // the end of the run is not a write.
    let history = ledger_history(&[1.0, 4.0, 8.0], 38.0);
    let rto: HashMap<String, f64> = rto(&RunSummary::of(&failover_events()), None, &history, 2.0)
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    assert_eq!(rto["rto_promoted_seconds"], 4.0);
    assert!(!rto.contains_key("rto_first_write_seconds"), "{rto:?}");
    assert!(
        !rto.contains_key("lab_overhead_promote_to_first_write_seconds"),
        "{rto:?}"
    );
    assert!(!rto.contains_key("rto_fenced_seconds"), "{rto:?}");
}

#[tokio::test]
async fn the_monitor_reports_the_replay_lag_of_an_accepting_standby() {
    // node1 is a primary listing node2 4 KiB behind, node2 a standby whose last replayed commit
    // is 0.25 s old; a node that does not accept connections is not asked. Both answer the one
    // probe, which reads the bytes on the primary.
    let node2_addr = context().node(NodeId::NODE2).unwrap().address;
    let fake = Fake::new()
        .ready("node1", &[0])
        .ready("node2", &[0, 0, 2])
        .on_sql(move |node, sql| {
            assert!(sql.contains("pg_last_xact_replay_timestamp()"), "{sql}");
            assert!(
                sql.contains("pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)"),
                "{sql}"
            );
            Ok(Some(if node == "node2" {
                "standby 0.25".to_string()
            } else {
                format!("primary {node2_addr}=4096")
            }))
        });
    let ran = run(
        fake,
        r#"
monitor = { interval = "100ms" }

[[steps]]
title = "let the monitor watch"
sleep = "600ms"
"#,
    )
    .await;
    let lag: Vec<(NodeId, f64, Option<u64>)> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Lag {
                node,
                seconds,
                bytes,
                ..
            } => Some((*node, *seconds, *bytes)),
            _ => None,
        })
        .collect();
    assert!(
        (2..=3).contains(&lag.len()),
        "two accepting rounds of node2, maybe a third before it stopped: {lag:?}"
    );
    assert!(
        lag.iter().all(|&l| l == (NodeId::NODE2, 0.25, Some(4096))),
        "{lag:?}"
    );
}

#[tokio::test]
async fn without_a_primary_listing_it_a_standby_has_no_bytes() {
    // node1 answers as a primary whose pg_stat_replication lists no standby.
    let fake = Fake::new()
        .ready("node1", &[0])
        .ready("node2", &[0])
        .on_sql(|node, _| {
            Ok(Some(
                if node == "node2" {
                    "standby 7.5"
                } else {
                    "primary"
                }
                .to_string(),
            ))
        });
    let ran = run(
        fake,
        r#"
monitor = { interval = "100ms" }

[[steps]]
title = "let the monitor watch"
sleep = "250ms"
"#,
    )
    .await;
    let lag: Vec<&Event> = ran
        .events
        .iter()
        .filter(|e| matches!(e, Event::Lag { .. }))
        .collect();
    assert!(!lag.is_empty());
    assert!(
        lag.iter().all(|e| matches!(
            e,
            Event::Lag {
                seconds: 7.5,
                bytes: None,
                ..
            }
        )),
        "{lag:?}"
    );
}

/// Runs a drill with the ledger enabled.
async fn run_with_ledger(fake: Fake, body: &str) -> Ran {
    run_in(fake, context(), true, body, |_| Pace::Run).await
}

impl Ran {
    /// The measures recorded, by name.
    fn measures(&self) -> HashMap<String, f64> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Measure { name, value, .. } => Some((name.to_string(), *value)),
                _ => None,
            })
            .collect()
    }
}

/// `seen` is `want`, to the microsecond (times are sums of float seconds).
#[track_caller]
fn assert_close(seen: f64, want: f64) {
    assert!((seen - want).abs() < 1e-6, "{seen} is not {want}");
}

/// A failover under the ledger: 1 s of writes to node1 (201 rows, at 0 s, 0.005 s … 1 s; those
/// up to 100 reach node2), node1 crashes at 1.002 s, is fenced 0.5 s later, node2 is promoted
/// 1 s after the crash and takes the writes.
const LEDGER_FAILOVER: &str = r#"
[[steps]]
title = "start the ledger"
on = "node1"
action = "ledger_start"

[[steps]]
title = "write for a second"
sleep = "1002ms"

[[steps]]
title = "crash"
on = "node1"
fault = "node-crash"

[[steps]]
title = "wait"
sleep = "500ms"

[[steps]]
title = "fence the old primary"
on = "node1"
action = "stop"

[[steps]]
title = "wait"
sleep = "500ms"

[[steps]]
title = "promote"
on = "node2"
action = "promote"

[[steps]]
title = "write to the new primary"
on = "node2"
action = "ledger_retarget"

[[steps]]
title = "write for a second"
sleep = "1s"

[[steps]]
title = "account"
on = "node2"
action = "ledger_check"
with = { max_lost = 1000 }
"#;

#[tokio::test(start_paused = true)]
async fn the_ledger_counts_rows_acknowledged_and_lost_through_the_lab() {
    let fake = Fake::new().ledger("node1", "node2", 100);
    let ran = run_with_ledger(fake, LEDGER_FAILOVER).await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    let m = ran.measures();
    // 200 rows a second: ids 1..=201 acknowledged by node1 (0 s to 1 s), of which 101..=201
    // never reached node2; then node2's second after the promotion.
    let rows = ran.lab.ledger.lock().unwrap().rows.clone();
    let on_node1 = rows["node1"].len();
    let on_node2 = rows["node2"].len();
    assert_eq!(on_node1, 201, "{m:?}");
    assert_eq!(m["rpo_rows"], (on_node1 - 100) as f64, "{m:?}");
    assert_eq!(
        m["ledger_acked"],
        (on_node1 + on_node2 - 100) as f64,
        "{m:?}"
    );
    assert_eq!(m["unacknowledged_present"], 0.0);
    assert_eq!(m["duplicated"], 0.0);
    // The window lost: from the last replicated row's acknowledgement (id 100) to node1's last.
    assert_close(m["rpo_seconds"], 0.505);
}

#[tokio::test(start_paused = true)]
async fn rto_phases_are_dated_from_the_fault_to_the_first_write_after_the_outage() {
    let fake = Fake::new().ledger("node1", "node2", 100);
    let ran = run_with_ledger(fake, LEDGER_FAILOVER).await;
    let m = ran.measures();
    assert_close(m["rto_fenced_seconds"], 0.5);
    assert_close(m["rto_promoted_seconds"], 1.0);
    // The writer reconnects to node2 at once and its first row is acknowledged then.
    assert_close(m["rto_first_write_seconds"], 1.0);
    assert_close(m["lab_overhead_promote_to_first_write_seconds"], 0.0);
    assert!(
        !m.contains_key("rto_detection_seconds"),
        "no monitor: {m:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_writes_never_resume_has_no_rto_first_write() {
    // Same failover, but nobody points the writer at the new primary.
    let body = LEDGER_FAILOVER.replace("action = \"ledger_retarget\"", "run = \"true\"");
    let fake = Fake::new().ledger("node1", "node2", 100);
    let ran = run_with_ledger(fake, &body).await;
    let m = ran.measures();
    assert_eq!(m["rpo_rows"], 101.0, "{m:?}");
    assert_eq!(m["ledger_acked"], 201.0, "{m:?}");
    assert_close(m["rto_promoted_seconds"], 1.0);
    assert!(!m.contains_key("rto_first_write_seconds"), "{m:?}");
    assert!(
        !m.contains_key("lab_overhead_promote_to_first_write_seconds"),
        "{m:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn fencing_is_a_stop_on_a_faulted_node_only() {
    // A stop on the node that was not faulted fences nothing.
    let body = LEDGER_FAILOVER.replace(
        "title = \"fence the old primary\"\non = \"node1\"",
        "title = \"stop the other\"\non = \"node2\"",
    );
    let fake = Fake::new().ledger("node1", "node2", 100);
    let ran = run_with_ledger(fake, &body).await;
    let m = ran.measures();
    assert!(!m.contains_key("rto_fenced_seconds"), "{m:?}");
    assert_close(m["rto_promoted_seconds"], 1.0);
}

#[tokio::test(start_paused = true)]
async fn a_faulted_node_stopped_after_another_was_promoted_is_not_fenced() {
    // The old master stopped once node2 is the primary (as rewind-rejoin stops the rejoined
    // node1 to rebuild it): no fencing phase, which would date after the promotion.
    let body = LEDGER_FAILOVER.replace(
        "[[steps]]\ntitle = \"fence the old primary\"\non = \"node1\"\naction = \"stop\"\n\n",
        "",
    );
    let body = body.replace(
        "[[steps]]\ntitle = \"account\"",
        "[[steps]]\ntitle = \"stop the old master to rebuild it\"\non = \"node1\"\naction = \"stop\"\n\n[[steps]]\ntitle = \"account\"",
    );
    assert!(body.contains("stop the old master") && !body.contains("fence the old"));
    let fake = Fake::new().ledger("node1", "node2", 100);
    let ran = run_with_ledger(fake, &body).await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    let m = ran.measures();
    assert!(!m.contains_key("rto_fenced_seconds"), "{m:?}");
    assert_close(m["rto_promoted_seconds"], 1.0);
}

#[tokio::test(start_paused = true)]
async fn synchronous_replication_allows_no_loss_unless_the_drill_says_so() {
    let body = LEDGER_FAILOVER.replace("with = { max_lost = 1000 }\n", "");
    let fake = Fake::new().ledger("node1", "node2", 100);
    let mut ctx = context();
    ctx.topo.sync = true;
    let ran = run_in(fake, ctx, true, &body, |_| Pace::Run).await;
    assert!(!ran.verdict.passed);
    let outcome = ran.outcome(10);
    assert_eq!(
        outcome,
        Outcome::Failed {
            expected: "at most 0 acknowledged row(s) lost (synchronous replication)".into(),
            seen: "101 lost (ids [101, 102, 103, 104, 105, 106, 107, 108, 109, 110]…)".into(),
        }
    );
}

#[tokio::test]
async fn ledger_actions_out_of_order_are_errors() {
    // (A check before any start is refused by the drill checker already.)
    let twice = r#"
[[steps]]
title = "start"
on = "node1"
action = "ledger_start"

[[steps]]
title = "start again"
on = "node1"
action = "ledger_start"
"#;
    let ran = run_with_ledger(Fake::new().ledger("node1", "node2", 0), twice).await;
    assert_eq!(ran.outcome(1), Outcome::Passed);
    assert_eq!(
        ran.outcome(2),
        Outcome::Error {
            message: "the ledger writer is already running".into()
        }
    );
    // Without SQL access for the ledger (no `with_ledger`), it does not start.
    let ran = run(Fake::new(), twice).await;
    assert_eq!(
        ran.outcome(1),
        Outcome::Error {
            message: "this lab gives the runner no SQL access for the ledger".into()
        }
    );
}

/// A `seconds` that a captured value makes too large (or not a number) is refused when the
/// step is rendered: a step error, no overflow, no pgbench, and the drill ends as after any
/// failure.
#[tokio::test(start_paused = true)]
async fn a_load_whose_seconds_a_capture_makes_huge_is_refused_without_a_panic() {
    for value in ["18446744073709551615", "86401", "0", "1; touch /tmp/pwned"] {
        let fake = Fake::new().on_sql(move |_, _| Ok(Some(value.into())));
        let ran = run(
            fake,
            r#"
[[steps]]
title = "a value from the database"
on = "node1"
sql = "SELECT n FROM t"
capture = "n"

[[steps]]
title = "load for it"
on = "node1"
action = "load"
with = { seconds = "${n}" }
"#,
        )
        .await;
        let Outcome::Error { message } = ran.outcome(2) else {
            panic!("{value}: {:?}", ran.outcomes());
        };
        assert!(
            message.contains("must be a number of seconds (1 to 86400)"),
            "{message}"
        );
        assert!(
            ran.lab
                .commands()
                .iter()
                .all(|(_, _, c)| !c.contains("pgbench")),
            "{value} reached pgbench"
        );
    }
}

/// Durations at `u64::MAX` seconds: the runner's sums saturate, its deadlines lie a century
/// ahead at most.
#[test]
fn the_runners_arithmetic_saturates_at_the_largest_durations() {
    let now = Instant::now();
    assert!(later(now, Duration::MAX) > now);
    assert_eq!(
        later(now, Duration::from_secs(3)),
        now + Duration::from_secs(3)
    );
    let _ = Deadline::after(Duration::MAX);
    let d = drill(
        r#"
[[steps]]
title = "load"
on = "node1"
action = "load"
with = { seconds = 86400 }
"#,
    );
    let ctx = context();
    let mut step = d.steps[0].clone();
    assert_eq!(
        load_bound(&ctx, &step),
        Some(Duration::from_secs(86_400) + LOAD_MARGIN + BOUND_GRACE)
    );
    step.timeout = Some(Duration::MAX);
    assert_eq!(load_bound(&ctx, &step), Some(Duration::MAX));
    step.kind = StepKind::Action(scenario::Action::Load {
        seconds: scenario::Template::literal(&u64::MAX.to_string()),
        clients: 1,
        background: false,
    });
    step.timeout = None;
    assert_eq!(
        load_bound(&ctx, &step),
        step.effective_timeout()
            .map(|t| t.saturating_add(BOUND_GRACE))
    );
}

/// A `run` step's output is kept within [`OutputCap::RUN`]: its head and tail, and how many
/// bytes were dropped (here seen through the capture, which is the trimmed output).
#[tokio::test]
async fn a_run_steps_output_is_capped() {
    let fake = Fake::new().rule("yes", Ok(exit(0, &"y\n".repeat(500_000))));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "a command that writes a lot"
on = "node1"
run = "yes | head -c 1000000"
capture = "out"

[[steps]]
title = "use it"
on = "node1"
run = "echo ${out}"
"#,
    )
    .await;
    assert_eq!(ran.outcome(2), Outcome::Passed);
    let echoed = ran
        .lab
        .commands()
        .into_iter()
        .find(|(_, _, c)| c.contains("echo"))
        .unwrap()
        .2;
    assert!(echoed.len() < 2 * 64 * 1024 + 100, "{}", echoed.len());
    assert!(
        echoed.contains("[… 868928 bytes dropped …]"),
        "{}",
        &echoed[..200]
    );
}

/// A captured value in a `run` command is one shell word: it cannot add a command.
#[tokio::test]
async fn a_captured_value_in_a_command_is_one_shell_word() {
    let fake = Fake::new().on_sql(|_, _| Ok(Some("x; touch /tmp/pwned".into())));
    let ran = run(
        fake,
        r#"
[[steps]]
title = "a value from the database"
on = "node1"
sql = "SELECT v FROM t"
capture = "v"

[[steps]]
title = "use it on /disk2/${pg.wal_dir}"
on = "node1"
run = "echo ${v} /disk2/${pg.wal_dir}"
"#,
    )
    .await;
    assert_eq!(ran.outcome(2), Outcome::Passed);
    let commands = ran.lab.commands();
    let echo = commands
        .iter()
        .find(|(_, _, c)| c.contains("echo"))
        .unwrap();
    assert!(
        echo.2.ends_with("echo 'x; touch /tmp/pwned' /disk2/pg_wal"),
        "{}",
        echo.2
    );
}

/// Servers whose state follows the commands the runner (or the played DBA) types: who runs, who
/// is in recovery, timelines, signal files, pgbench's rows; and every file probe answered as a
/// complete backup, moved directories and written settings would answer. With `good = false`
/// every probe answers the opposite: each postcondition must then fail.
#[derive(Default)]
struct World {
    good: bool,
    stopped: std::collections::HashSet<String>,
    promoted: std::collections::HashSet<String>,
    signals: std::collections::HashSet<String>,
    history_rows: u64,
}

impl World {
    /// Applies a command's effect (what the servers would do).
    fn apply(&mut self, node: &str, cmd: &str) {
        let key = |p: &str| format!("{node}:{p}");
        if cmd.contains("pg_ctl promote") {
            self.promoted.insert(node.to_string());
        }
        // pg_rewind runs on a stopped server only, and starts none.
        if cmd.contains("pg_ctl -m") || cmd.contains("pg_rewind ") {
            self.stopped.insert(node.to_string());
        }
        if cmd.contains("pg_ctl start") {
            self.stopped.remove(node);
        }
        if cmd.contains("pgbench -T") {
            self.history_rows += 10;
        }
        for line in cmd.lines() {
            if let Some(p) = line.strip_prefix("touch ") {
                self.signals.insert(key(p));
            } else if let Some(p) = line.strip_prefix("rm -f ") {
                self.signals.remove(&key(p));
            }
        }
    }

    /// A probe's answer, or `None` for a command that is not one.
    fn probe(&self, node: &str, cmd: &str) -> Option<Output> {
        let good = self.good;
        let yes = |ok: bool| if ok == good { exit(0, "") } else { exit(1, "") };
        if cmd == "pg_ctl status" {
            let runs = self.stopped.contains(node) != good;
            return Some(if runs {
                exit(0, "pg_ctl: server is running (PID: 7)")
            } else {
                exit(3, "pg_ctl: no server running")
            });
        }
        if let Some(dir) = cmd.strip_prefix("ls -A ") {
            let names = if dir.contains("/disk1/data/pg_wal/") {
                (self.promoted.contains(node) && good).then_some("00000002.history\n")
            } else if dir.starts_with("/disk3/backup") {
                good.then_some("000000010000000000000003\n")
            } else {
                (!good).then_some("PG_VERSION\n")
            };
            return Some(exit(0, names.unwrap_or_default()));
        }
        if let Some(rest) = cmd.strip_prefix("cd ") {
            let names = rest.split("for f in ").nth(1)?.split("; do").next()?;
            let listed: String = names.split(' ').map(|n| format!("{n}\n")).collect();
            return Some(exit(0, if good { &listed } else { "" }));
        }
        if cmd.starts_with("readlink ") {
            return Some(yes(true).with_stdout("/disk2/pg_wal\n"));
        }
        if cmd.starts_with("cat ") {
            let text =
                "primary_conninfo = 'host=172.16.3.101 port=5432 user=repuser password=s3cret'\n\
                        restore_command = 'cp /disk3/archive/%f %p'\n\
                        recovery_target_time = '2024-01-01 00:00:00'\n\
                        recovery_target_action = 'promote'\n\
                        recovery_target_timeline='latest'\n";
            let bad = "primary_conninfo = 'host=172.16.3.102 password=s3cret'\n";
            return Some(exit(0, if good { text } else { bad }));
        }
        if let Some(path) = cmd.strip_prefix("test -e ") {
            let present = self.signals.contains(&format!("{node}:{path}"));
            return Some(yes(present));
        }
        None
    }

    fn sql(&self, node: &str, sql: &str) -> Option<String> {
        let good = self.good;
        if sql == "SELECT pg_is_in_recovery()" {
            let primary = node == "node1" || self.promoted.contains(node);
            return Some(if primary == good { "f" } else { "t" }.into());
        }
        if sql.starts_with("SELECT current_setting(") {
            return Some(if good { "8MB" } else { "4MB" }.into());
        }
        if sql.contains("FROM pg_stat_replication") {
            return good.then(|| "172.16.3.102 streaming".into());
        }
        if sql.contains("pgbench_history") {
            return Some(if good { self.history_rows } else { 0 }.to_string());
        }
        None
    }
}

impl Output {
    fn with_stdout(mut self, stdout: &str) -> Output {
        if self.code == 0 {
            self.stdout = stdout.to_string();
        }
        self
    }
}

/// A fake lab whose servers follow `world` (shared, so a played DBA can change it too).
fn world_fake(world: Arc<Mutex<World>>) -> Fake {
    let (w1, w2) = (world.clone(), world);
    let mut fake = Fake::new().on_sql(move |node, sql| Ok(w2.lock().unwrap().sql(node, sql)));
    fake.on_run = Box::new(move |node, cmd| {
        let mut w = w1.lock().unwrap();
        match w.probe(node, cmd) {
            Some(out) => Some(Ok(out)),
            None => {
                w.apply(node, cmd);
                None
            }
        }
    });
    fake
}

/// One step of each action kind, with a word of what its failed check expects.
const ACTIONS_AND_CHECKS: &[(&str, &str)] = &[
    (
        r#"on = "node1"
action = "stop""#,
        "no server runs on node1",
    ),
    (
        r#"on = "node1"
action = "start""#,
        "a server runs on node1",
    ),
    (
        r#"on = "node2"
action = "start""#,
        "a server runs on node2",
    ),
    (
        r#"on = "node2"
action = "promote""#,
        "node2 is out of recovery",
    ),
    (
        r#"on = "node2"
action = "base_backup"
with = { from = "node1" }"#,
        "holds PG_VERSION, global/pg_control, backup_label, backup_manifest",
    ),
    (
        r#"on = "node2"
action = "local_backup"
with = { to = "/disk3/backup/data" }"#,
        "node2:/disk3/backup/data holds PG_VERSION",
    ),
    (
        r#"on = "node1"
action = "move_aside"
with = { to = "/disk4/broken" }"#,
        "node1:/disk4/broken holds data",
    ),
    (
        r#"on = "node2"
action = "link_wal""#,
        "node2:/disk1/data/pg_wal links to /disk2/pg_wal",
    ),
    (
        r#"on = "node2"
action = "make_standby"
with = { of = "node1", timeline = "latest" }"#,
        "sets primary_conninfo to a value with `host=172.16.3.101`",
    ),
    (
        r#"on = "node1"
action = "pitr"
with = { target_time = "2024-01-01 00:00:00" }"#,
        "sets recovery_target_time",
    ),
    (
        r#"on = "node1"
action = "load"
with = { seconds = "2" }"#,
        "has pgbench rows newer than before the step",
    ),
    (
        r#"on = "node1"
action = "copy_backup"
with = { from = "node2", backup = "/disk3/backup/data" }"#,
        "node1:/disk1/data holds PG_VERSION",
    ),
    (
        r#"on = "node1"
action = "set"
with = { settings = { work_mem = "8192kB" } }"#,
        "SHOW work_mem on node1 answers \"8192kB\"",
    ),
    (
        r#"on = "node1"
action = "rewind"
with = { from = "node2" }"#,
        "no server runs on node1",
    ),
];

/// Runs `body` with postconditions on servers that behave (`good`) or not.
async fn run_checked(good: bool, body: &str) -> Ran {
    let world = Arc::new(Mutex::new(World {
        good,
        ..World::default()
    }));
    let drill = drill(body);
    let nodes = NodeId::PAIR.to_vec();
    let mut runner =
        Runner::new(world_fake(world), context(), nodes, Sink::new(|_| {})).with_postconditions();
    let verdict = runner
        .run(&drill, "default", |_: usize, _: &str, _: &[String]| {
            Pace::Run
        })
        .await;
    Ran {
        verdict,
        events: runner.sink.events(),
        lab: runner.lab.clone(),
    }
}

#[tokio::test(start_paused = true)]
async fn every_actions_postcondition_passes_on_servers_that_did_it_and_fails_on_others() {
    for (step, expected) in ACTIONS_AND_CHECKS {
        let body = format!("[[steps]]\ntitle = \"the action\"\n{step}\n");
        let ran = run_checked(true, &body).await;
        assert_eq!(ran.outcome(1), Outcome::Passed, "{step}");
        let ran = run_checked(false, &body).await;
        let Outcome::Failed { expected: e, seen } = ran.outcome(1) else {
            panic!("{step}: {:?}", ran.outcome(1))
        };
        assert!(e.contains(expected), "{step}: expected {e}, seen {seen}");
        assert!(
            !seen.is_empty() && !seen.contains("s3cret"),
            "{step}: {seen}"
        );
    }
}

#[test]
fn every_action_kind_has_a_postcondition_case() {
    use strum::IntoEnumIterator;
    for kind in scenario::ActionKind::iter() {
        let name = kind.name();
        let ledger = name.starts_with("ledger_");
        let covered = ACTIONS_AND_CHECKS
            .iter()
            .any(|(step, _)| step.contains(&format!("action = \"{name}\"")));
        assert!(covered || ledger, "no postcondition case for {name}");
    }
}

/// The played DBA: answers each prompt with `answer`, which may change the servers.
struct Dba<F: FnMut(&HandPrompt) -> Hand> {
    answer: F,
    prompts: Arc<Mutex<Vec<HandPrompt>>>,
}

impl<F: FnMut(&HandPrompt) -> Hand> Pacer for Dba<F> {
    fn pace(&mut self, _: usize, _: &str, _: &[String]) -> Pace {
        Pace::Run
    }

    fn by_hand(&mut self, prompt: &HandPrompt) -> Hand {
        self.prompts.lock().unwrap().push(prompt.clone());
        (self.answer)(prompt)
    }
}

const PROMOTE_BY_HAND: &str = r#"
[[steps]]
title = "node1 is gone"
on = "node1"
fault = "node-crash"

[[steps]]
title = "promote node2"
on = "node2"
action = "promote"

[[steps]]
title = "node2 answers"
on = "node2"
sql = "SELECT 1"
"#;

/// Rehearses `body` by hand on good servers, the DBA played by `answer`.
async fn by_hand(
    body: &str,
    answer: impl FnMut(&HandPrompt, &mut World) -> Hand,
) -> (Ran, Vec<HandPrompt>) {
    let world = Arc::new(Mutex::new(World {
        good: true,
        ..World::default()
    }));
    let mut answer = answer;
    let w = world.clone();
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let dba = Dba {
        answer: move |p: &HandPrompt| answer(p, &mut w.lock().unwrap()),
        prompts: prompts.clone(),
    };
    let drill = drill(body);
    let nodes = NodeId::PAIR.to_vec();
    let mut runner = Runner::new(world_fake(world), context(), nodes, Sink::new(|_| {})).by_hand();
    let verdict = runner.run(&drill, "default", dba).await;
    let ran = Ran {
        verdict,
        events: runner.sink.events(),
        lab: runner.lab.clone(),
    };
    let prompts = prompts.lock().unwrap().clone();
    (ran, prompts)
}

fn performed(ran: &Ran) -> Vec<(usize, crate::drill::event::Performer, u32, Vec<String>)> {
    ran.events
        .iter()
        .filter_map(|e| match e {
            Event::Performed {
                number,
                by,
                tries,
                wrong,
                ..
            } => Some((*number, *by, *tries, wrong.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_step_the_dba_did_passes_its_check_and_the_lab_runs_no_command_for_it() {
    let (ran, prompts) = by_hand(PROMOTE_BY_HAND, |_, world| {
        world.apply("node2", "pg_ctl promote");
        Hand::Done
    })
    .await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    assert_eq!(prompts.len(), 1, "only the action is the DBA's");
    let p = &prompts[0];
    assert_eq!((p.number, p.node), (2, NodeId::NODE2));
    assert_eq!(p.address, "172.16.3.102");
    assert_eq!(p.commands, ["$ pg_ctl promote"]);
    assert!(
        p.checks.iter().any(|c| c.contains("out of recovery")),
        "{:?}",
        p.checks
    );
    use crate::drill::event::Performer;
    assert_eq!(performed(&ran), [(2, Performer::Dba, 1, vec![])]);
    assert!(
        !ran.lab
            .commands()
            .iter()
            .any(|(_, _, c)| c.contains("pg_ctl promote")),
        "the lab promoted: {:?}",
        ran.lab.commands()
    );
    assert!(ran.events.iter().any(
        |e| matches!(e, Event::Role { node, role, .. } if *node == NodeId::NODE2 && *role == Role::Primary)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_wrong_command_is_caught_and_the_retry_passes() {
    let (ran, prompts) = by_hand(PROMOTE_BY_HAND, |p, world| {
        if p.tries == 1 {
            world.apply("node2", "pg_ctl promote");
        }
        Hand::Done
    })
    .await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    assert_eq!(prompts.len(), 2);
    let wrong = prompts[1].wrong.as_ref().expect("the failed check shown");
    assert_eq!(
        (wrong.expected.as_str(), wrong.seen.as_str()),
        (
            "node2 is out of recovery (pg_is_in_recovery() = f)",
            "pg_is_in_recovery() = t"
        )
    );
    let [(2, by, 2, messages)] = &performed(&ran)[..] else {
        panic!("{:?}", performed(&ran))
    };
    assert_eq!(*by, crate::drill::event::Performer::Dba);
    assert_eq!(
        messages,
        &["expected node2 is out of recovery (pg_is_in_recovery() = f); there is: pg_is_in_recovery() = t"]
    );
}

#[tokio::test(start_paused = true)]
async fn the_dba_can_let_the_lab_do_a_step_and_its_check_still_runs() {
    let (ran, _) = by_hand(PROMOTE_BY_HAND, |p, _| {
        if p.tries == 0 {
            Hand::Done
        } else {
            Hand::Lab
        }
    })
    .await;
    assert!(ran.verdict.passed, "{:?}", ran.outcomes());
    let [(2, by, 1, messages)] = &performed(&ran)[..] else {
        panic!("{:?}", performed(&ran))
    };
    assert_eq!(*by, crate::drill::event::Performer::Lab);
    assert_eq!(messages.len(), 1);
    assert!(ran
        .lab
        .commands()
        .contains(&cmd("node2", User::Postgres, "set -e\npg_ctl promote")));
}

#[tokio::test(start_paused = true)]
async fn the_dba_can_skip_or_stop_and_the_wait_for_the_dba_has_no_bound() {
    let (ran, _) = by_hand(PROMOTE_BY_HAND, |_, _| Hand::Skip).await;
    assert!(matches!(ran.outcome(2), Outcome::Skipped { .. }));
    assert_eq!(ran.outcome(3), Outcome::Passed, "the drill goes on");
    let started = Instant::now();
    let (ran, _) = by_hand(PROMOTE_BY_HAND, |_, _| {
        // An hour at the prompt: longer than the step's timeout (300 s).
        std::thread::sleep(Duration::from_millis(1));
        Hand::Quit
    })
    .await;
    assert_eq!(ran.verdict.stopped_at, Some(2));
    assert!(started.elapsed() < Duration::from_secs(300));
}
