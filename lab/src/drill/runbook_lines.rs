//! The text runbook's lines for the steps a DBA cannot type as the runner performs them: marks,
//! sleeps, waits, log and monitor checks, the ledger, background commands, captures and physical
//! faults, each as a command a DBA runs (bounded loops, `grep` since a recorded log offset,
//! shell variables) or an explicit operator pause (pure).

use super::render::Context;
use crate::fault::{FaultOp, NodeOp};
use crate::node::NodeId;
use crate::pg;
use crate::plan::quote;
use crate::scenario::{Action, LedgerAction, Performed, Step, StepKind, WaitFor};

/// The variables captured so far, each with the step that captures it.
pub type Captured = std::collections::HashMap<String, usize>;

/// How long the step may wait, in whole seconds (at least one): its `timeout`, else its
/// kind's default (the runner's).
pub(super) fn wait_seconds(step: &Step) -> u64 {
    step.effective_timeout().map_or(1, |t| t.as_secs().max(1))
}

/// The legend: which host each node is, which is master, what the prompts mean.
pub fn legend(topo: &pg::Topology) -> String {
    format!(
        "-- Hosts: node1 = {} (the master at the start), node2 = {} (its slave at the start).\n\
         -- Prompts: `# ` a command typed as root, `$ ` as postgres (PATH with the PostgreSQL\n\
         --   binaries, PGDATA={}); `[node2] $ ` on that host. Lines starting `==`, `##` or `--`\n\
         --   are headings and notes, never typed. `>>> OPERATOR:` is a physical action.\n\
         -- Values a step captures are shell variables (`acked=$(psql …)`), used later as\n\
         --   \"${{acked}}\" in the same postgres shell of that host.\n\n",
        topo.master.address,
        topo.slave.address,
        pg::DATA_DIR
    )
}

/// A shell word for SQL: double quotes, every `$` but a capture's `${name}` escaped. One pass
/// over the text, whatever the number of captures.
fn sql_word(sql: &str, captured: &Captured) -> String {
    let mut word = String::from("\"");
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let capture = rest
            .strip_prefix("${")
            .and_then(|r| r.split_once('}'))
            .filter(|(name, _)| captured.contains_key(*name));
        if let Some((name, after)) = capture {
            word.push_str(&format!("${{{name}}}"));
            rest = after;
            continue;
        }
        if matches!(c, '"' | '\\' | '`' | '$') {
            word.push('\\');
        }
        word.push(c);
        rest = &rest[c.len_utf8()..];
    }
    word.push('"');
    word
}

/// `psql` returning one value, for a variable or a comparison.
fn psql_value(db: &str, sql: &str, captured: &Captured) -> String {
    format!(
        "psql -XAt -d {} -c {}",
        quote(db),
        sql_word(sql.trim_end(), captured)
    )
}

/// Commands started in the background on their hosts, each with its output kept in a file.
fn background(number: usize, cmds: impl Iterator<Item = (NodeId, String)>) -> Vec<String> {
    let mut out = vec!["-- in the background: it returns at once; stop it with `kill $!` when the drill ends if it still runs".to_string()];
    out.extend(
        cmds.map(|(t, cmd)| format!("[{t}] $ ( {cmd} ) > /var/tmp/step-{number}.log 2>&1 &")),
    );
    out
}

/// The variable names a mark records on a node.
fn mark_vars(mark: &str) -> (String, String) {
    let clean: String = mark
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    (format!("mark_{clean}_log"), format!("mark_{clean}_offset"))
}

/// The lines of `step` on `targets`, if it is one of the kinds this module prints; `None`
/// leaves it to the shared rendering.
pub fn lines(
    ctx: &Context,
    number: usize,
    step: &Step,
    targets: &[NodeId],
    captured: &Captured,
) -> Option<Vec<String>> {
    let r = |t: &crate::scenario::Template| ctx.render(t).unwrap_or_else(|_| t.raw.clone());
    let seconds = wait_seconds(step);
    let on = |t: &NodeId| format!("[{t}] $ ");
    let logs = format!("{}/{}", pg::DATA_DIR, ctx.dialect.log_dir_name());
    Some(match &step.kind {
        StepKind::Mark(m) => {
            let (log, off) = mark_vars(m);
            crate::scenario::NODES
                .iter()
                .map(|t| {
                    format!(
                        "{}{log}=$(ls -t {logs}/* | head -n 1); {off}=$(stat -c %s \"${log}\")   # mark `{m}`: where the server log is now",
                        on(t)
                    )
                })
                .collect()
        }
        StepKind::Sleep(d) => vec![format!("$ sleep {}", self::seconds(*d))],
        StepKind::ExpectLog { lines, since } => {
            let mut out = vec![format!(
                "-- each grep must print a line (the log since {}):",
                since
                    .as_ref()
                    .map_or("the drill's start".into(), |m| format!("mark `{m}`"))
            )];
            for t in targets {
                for l in lines {
                    let re =
                        quote(&ctx.render_regex(l).unwrap_or_else(|_| l.raw.clone())).into_owned();
                    out.push(format!(
                        "{}{} | grep -E -m1 -- {re}",
                        on(t),
                        log_since(since.as_deref(), &logs)
                    ));
                }
            }
            out
        }
        StepKind::Wait(w) => {
            let mut out = Vec::new();
            if let WaitFor::Sql { sql, db, .. } = w {
                let sql = ctx.render_sql(sql).unwrap_or_else(|_| sql.raw.clone());
                out.extend(super::render::psql_lines(db, &sql));
                out.push(format!(
                    "-- repeated until it returns the value, at most {seconds} s:"
                ));
            }
            out.extend(targets.iter().map(|t| {
                format!(
                    "{}{}",
                    on(t),
                    wait_loop(ctx, w, *t, seconds, &logs, captured)
                )
            }));
            out
        }
        StepKind::ExpectMonitor { codes, of, .. } => {
            let of = of
                .as_ref()
                .and_then(|r| ctx.resolve(r))
                .or_else(|| targets.first().copied())?;
            let want: Vec<String> = codes.iter().map(u8::to_string).collect();
            vec![format!(
                "[{}] $ awk -F, '$1 != last {{ printf \"%s \", $1; last = $1 }} END {{ print \"\" }}' /var/tmp/watch-{of}.log   # the watch loop of {of} (chapter 3 step 0, its output kept with `| tee /var/tmp/watch-{of}.log`) must show {} in this order",
                ctx.other(of),
                want.join(" ")
            )]
        }
        StepKind::Action(a) => action_lines(ctx, number, step, a, targets)?,
        StepKind::Run {
            command,
            background: true,
            ..
        } => {
            let cmd = ctx
                .render_shell(command)
                .unwrap_or_else(|_| command.raw.clone());
            background(number, targets.iter().map(|&t| (t, cmd.clone())))
        }
        StepKind::Sql {
            sql, db, expect, ..
        } if step.capture.is_some() || expect.is_some() => {
            let sql = ctx.render_sql(sql).unwrap_or_else(|_| sql.raw.clone());
            let value = psql_value(db, &sql, captured);
            let mut out = super::render::psql_lines(db, &sql);
            out.push("-- the same as one command:".into());
            out.extend(targets.iter().map(|t| match (&step.capture, expect) {
                (Some(name), _) => format!("{}{name}=$({value}); echo \"{name} = ${name}\"", on(t)),
                (None, Some(e)) => {
                    let want = sql_word(&r(e), captured);
                    format!(
                        "{}v=$({value}); [ \"$v\" = {want} ] && echo OK || echo \"NOT AS REHEARSED: $v (expected {})\"",
                        on(t),
                        want.trim_matches('"')
                    )
                }
                (None, None) => unreachable!("guarded"),
            }));
            out
        }
        StepKind::Fault { fault, heal } => {
            let op = targets
                .iter()
                .find_map(|t| node_op(ctx, *t, *fault, *heal).map(|op| (op, t)))?;
            vec![format!(
                ">>> OPERATOR: {}; then go on",
                operator(
                    op.0,
                    *op.1,
                    &ctx.node(*op.1).map(|n| n.address).unwrap_or_default()
                )
            )]
        }
        // The shared rendering prints these.
        StepKind::Run {
            background: false, ..
        }
        | StepKind::Sql { .. }
        | StepKind::Note(_) => return None,
    })
}

/// The lines of an action step: the ledger's writer loop, or a load started in the
/// background; `None` for the others (their commands are printed as they are).
fn action_lines(
    ctx: &Context,
    number: usize,
    step: &Step,
    action: &Action,
    targets: &[NodeId],
) -> Option<Vec<String>> {
    match action.performed() {
        Performed::ByLedger(l) => {
            return Some(targets.iter().flat_map(|&t| ledger(ctx, l, t)).collect())
        }
        Performed::Waited { .. } => return None,
        Performed::InBackground => {}
    }
    let cmds = targets.iter().flat_map(|&t| {
        super::render::command_steps(ctx, t, "", &step.kind)
            .unwrap_or_default()
            .into_iter()
            .filter_map(move |s| match s.op {
                crate::plan::Op::Shell { command, .. } => Some((t, command)),
                crate::plan::Op::WriteFile { .. } => None,
            })
    });
    Some(background(number, cmds))
}

/// The log of the node since a mark (or the whole log since the drill's start).
fn log_since(since: Option<&str>, logs: &str) -> String {
    match since {
        Some(m) => {
            let (log, off) = mark_vars(m);
            format!("tail -c +$(({off} + 1)) \"${log}\"")
        }
        None => format!("cat {logs}/*"),
    }
}

/// A bounded wait: at most `seconds` tries a second apart, then what was seen.
fn wait_loop(
    ctx: &Context,
    w: &WaitFor,
    node: NodeId,
    seconds: u64,
    logs: &str,
    captured: &Captured,
) -> String {
    let r = |t: &crate::scenario::Template| ctx.render(t).unwrap_or_else(|_| t.raw.clone());
    let (probe, want) = match w {
        WaitFor::PgIsReady(code) => {
            let addr = ctx.node(node).map(|n| n.address).unwrap_or_default();
            (format!("pg_isready -h {addr} -q; v=$?"), code.to_string())
        }
        WaitFor::Sql { sql, equals, db } => {
            let sql = ctx.render_sql(sql).unwrap_or_else(|_| sql.raw.clone());
            (
                format!("v=$({})", psql_value(db, &sql, captured)),
                sql_word(&r(equals), captured),
            )
        }
        WaitFor::Log { pattern, since } => {
            let re = quote(
                &ctx.render_regex(pattern)
                    .unwrap_or_else(|_| pattern.raw.clone()),
            )
            .into_owned();
            (
                format!(
                    "v=$({} | grep -E -c -- {re})",
                    log_since(since.as_deref(), logs)
                ),
                "[1-9]*".into(),
            )
        }
    };
    let test = if want == "[1-9]*" {
        "[ \"$v\" -gt 0 ]".to_string()
    } else {
        format!("[ \"$v\" = {want} ]")
    };
    format!(
        "for i in $(seq 1 {seconds}); do {probe}; {test} && break; sleep 1; done; echo \"seen: $v (expected {})\"",
        want.trim_matches('"')
    )
}

/// The ledger as an operator's writer loop (from a host whose psql reaches the master).
fn ledger(ctx: &Context, action: LedgerAction, node: NodeId) -> Vec<String> {
    let addr = ctx.node(node).map(|n| n.address).unwrap_or_default();
    match action {
        LedgerAction::Start => vec![
            "-- the ledger: from an operator host, numbered inserts, each acknowledged id kept".into(),
            format!("[operator] $ echo {addr} > /var/tmp/ledger.target; rm -f /var/tmp/ledger.stop /var/tmp/ledger.acked"),
            format!("[operator] $ psql -XAtq -h {addr} -d testdb -c \"{}; {}\"", crate::ledger::create_table_sql(), crate::ledger::reset_sql()),
            "[operator] $ ( i=0; while [ ! -e /var/tmp/ledger.stop ]; do i=$((i + 1)); psql -XAtq -h \"$(cat /var/tmp/ledger.target)\" -d testdb -c \"INSERT INTO lab_ledger(id) VALUES ($i)\" && echo $i >> /var/tmp/ledger.acked; sleep 0.2; done ) >/dev/null 2>&1 &   # in the background".into(),
        ],
        LedgerAction::Retarget => vec![format!("[operator] $ echo {addr} > /var/tmp/ledger.target   # the ledger writes to {node} now")],
        LedgerAction::Check { max_lost } => vec![
            "[operator] $ touch /var/tmp/ledger.stop; sleep 1".into(),
            format!("[operator] $ psql -XAt -h {addr} -d testdb -c \"{}\" | sort -u > /var/tmp/ledger.present", crate::ledger::present_ids_sql()),
            format!(
                "[operator] $ comm -23 <(sort -u /var/tmp/ledger.acked) /var/tmp/ledger.present | wc -l   # acknowledged ids missing on {node}: at most {}",
                max_lost.map_or("any in async mode, 0 in sync mode".into(), |m| m.to_string())
            ),
        ],
    }
}

/// The container operation a fault is, if it is one (then the operator does it by hand).
pub fn node_op(
    ctx: &Context,
    node: NodeId,
    fault: crate::fault::Fault,
    heal: bool,
) -> Option<NodeOp> {
    match fault.op(&ctx.dialect, node, heal).ok()? {
        FaultOp::Node(op) => Some(op),
        FaultOp::Commands(_) => None,
    }
}

/// What the operator does for a physical fault, in a DBA's words.
pub fn operator(op: NodeOp, node: NodeId, addr: &str) -> String {
    match op {
        NodeOp::Kill => {
            format!("cut the power of {node} ({addr}) now (pull the plug, no shutdown)")
        }
        NodeOp::Start => format!("power {node} ({addr}) back on; do not start PostgreSQL"),
        NodeOp::Disconnect => format!("pull {node}'s network cable ({addr}) now"),
        NodeOp::Connect => format!("plug {node}'s network cable ({addr}) back in"),
    }
}

/// A duration as `sleep` takes it: whole seconds, or seconds with milliseconds.
pub(super) fn seconds(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_words_escape_everything_but_the_captures() {
        let captured = Captured::from([("xid".to_string(), 3)]);
        assert_eq!(
            sql_word(
                r#"SELECT ${xid}, '${other}', "q" || `b` || '\' || $$d$$"#,
                &captured
            ),
            r#""SELECT ${xid}, '\${other}', \"q\" || \`b\` || '\\' || \$\$d\$\$""#
        );
        assert_eq!(sql_word("${xid", &captured), r#""\${xid""#);
        assert_eq!(sql_word("é ${xid}}", &captured), r#""é ${xid}}""#);
    }
}
