//! What each action leaves true on the servers, and the look that checks it.
//!
//! [`spec`] is pure: from an action, the node it ran on and the runner's knowledge (roles,
//! topology, dialect, in a [`Context`]) to the [`Check`]s its outcome must pass, one entry per
//! action kind (an exhaustive match: a new kind cannot be added without its check). [`verify`]
//! reads each check's facts from the servers through [`LabOps`] (SQL, and file listings as
//! root), never from having run anything, so it judges a step the lab performed (a second
//! look) and one a DBA typed by hand alike. Version differences come from the dialect.

use crate::node::NodeId;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::LabOps;
use crate::drill::render::{Context, RenderError};
use crate::pg::{self, Dialect};
use crate::plan::{quote, User};
use crate::scenario::{Action, Area, NodeRef};

/// When pgbench's newest history row was written (seconds since 1970, 0 for none): what a load
/// leaves behind. Not the row count: pgbench truncates the table when it starts.
const HISTORY_NEWEST: &str =
    "SELECT coalesce(extract(epoch from max(mtime)), 0) FROM pgbench_history";

/// How long one probe of a check may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// How often a check that does not hold yet is looked at again.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// One fact a step must leave true, read from a node. In every variant `node` is the node
/// read, `dir`, `path` and `file` are absolute paths on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are the ones each variant's line names
pub enum Check {
    /// `pg_ctl status` finds a server running (`true`), or none (`false`).
    Running { node: NodeId, running: bool },
    /// `pg_is_in_recovery()` answers `in_recovery`.
    Recovery { node: NodeId, in_recovery: bool },
    /// The node is on a newer timeline than before the step (its newest timeline history file).
    NextTimeline { node: NodeId },
    /// `upstream`'s `pg_stat_replication` shows `address` streaming (what every version has;
    /// 9.3 has no `pg_stat_wal_receiver`), and `standby` is on `upstream`'s timeline.
    Streams {
        standby: NodeId,
        upstream: NodeId,
        address: String,
    },
    /// Every one of `names` exists under `dir`.
    Files {
        node: NodeId,
        dir: String,
        names: Vec<String>,
    },
    /// `dir` holds at least one WAL segment.
    WalSegments { node: NodeId, dir: String },
    /// `path` is a symbolic link to `target`.
    Link {
        node: NodeId,
        path: String,
        target: String,
    },
    /// `dir` exists and is empty.
    Empty { node: NodeId, dir: String },
    /// The configuration file `file` sets `name` to a value containing `contains`.
    Setting {
        node: NodeId,
        file: String,
        name: String,
        contains: String,
    },
    /// `path` exists (`true`) or does not.
    Exists {
        node: NodeId,
        path: String,
        present: bool,
    },
    /// `SHOW name` on the node answers `value` ([`crate::pg::setting_shows`]).
    Shows {
        node: NodeId,
        name: String,
        value: String,
    },
    /// The number `sql` answers on `db` is larger than before the step (pgbench's newest row).
    Grows {
        node: NodeId,
        db: String,
        sql: String,
    },
}

/// What an action must leave true, or why there is nothing on the servers to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// These checks, all of them.
    Checks(Vec<Check>),
    /// Nothing to check, and why.
    Unchecked(&'static str),
}

impl Spec {
    /// The checks (none when unchecked).
    pub fn checks(&self) -> &[Check] {
        match self {
            Spec::Checks(c) => c,
            Spec::Unchecked(_) => &[],
        }
    }

    /// What the checks expect, one line each (or why nothing is checked).
    pub fn describe(&self) -> Vec<String> {
        match self {
            Spec::Checks(c) => c.iter().map(Check::to_string).collect(),
            Spec::Unchecked(why) => vec![format!("nothing: {why}")],
        }
    }
}

/// The checks of `action` performed on `node`, with the roles as they were before it.
pub fn spec(ctx: &Context, node: NodeId, action: &Action) -> Result<Spec, RenderError> {
    let d = &ctx.dialect;
    let checks = match action {
        Action::Start => start(ctx, node)?,
        Action::Stop { .. } => vec![Check::Running {
            node,
            running: false,
        }],
        Action::Promote { .. } => vec![
            Check::Recovery {
                node,
                in_recovery: false,
            },
            Check::NextTimeline { node },
        ],
        Action::BaseBackup { to, wal, .. } => backup(d, node, &ctx.render_path(to, false)?, *wal),
        Action::LocalBackup { to } => backup(d, node, &ctx.render_path(to, false)?, true),
        Action::MoveAside { to, what } => moved(d, node, &ctx.render_path(to, true)?, what),
        Action::LinkWal => vec![wal_link(d, node, pg::DATA_DIR)],
        Action::MakeStandby {
            of,
            latest_timeline,
            apply_delay,
            ..
        } => standby_settings(ctx, node, of, *latest_timeline, *apply_delay)?,
        Action::Pitr { recovery, .. } => {
            let rendered = pg::Recovery {
                target: recovery.target.try_map(|t| ctx.render(t))?,
                inclusive: recovery.inclusive,
                at_target: recovery.at_target,
            };
            pitr_settings(d, node, &rendered)
        }
        Action::Load {
            background: true, ..
        } => {
            return Ok(Spec::Unchecked(
                "a load started in the background: the steps after it see its effect",
            ))
        }
        Action::Load { .. } => vec![Check::Grows {
            node,
            db: "testdb".into(),
            sql: HISTORY_NEWEST.into(),
        }],
        Action::CopyBackup { to, .. } => {
            let to = ctx.render_path(to, false)?;
            let mut checks = vec![backup_files(d, node, &to)];
            checks.push(wal_link(d, node, &to));
            checks
        }
        Action::Set { settings, .. } => settings
            .iter()
            .map(|s| Check::Shows {
                node,
                name: s.name.clone(),
                value: s.value.clone(),
            })
            .collect(),
        // Stopped still (pg_rewind starts nothing), its WAL directory the link to /disk2
        // still (pg_rewind writes through it).
        Action::Rewind { .. } => vec![
            Check::Running {
                node,
                running: false,
            },
            wal_link(d, node, pg::DATA_DIR),
        ],
        Action::LedgerStart | Action::LedgerRetarget | Action::LedgerCheck { .. } => {
            return Ok(Spec::Unchecked(
                "the lab's own ledger writer, not a server's state (ledger_check is a check)",
            ))
        }
    };
    Ok(Spec::Checks(checks))
}

/// A started server runs; the primary opens for writes, a standby recovers and streams from the
/// primary on its timeline.
fn start(ctx: &Context, node: NodeId) -> Result<Vec<Check>, RenderError> {
    let mut checks = vec![Check::Running {
        node,
        running: true,
    }];
    let primary = node == ctx.primary;
    checks.push(Check::Recovery {
        node,
        in_recovery: !primary,
    });
    if !primary {
        checks.push(Check::Streams {
            standby: node,
            upstream: ctx.primary,
            address: ctx.node(node)?.address,
        });
    }
    Ok(checks)
}

/// The files of a complete backup in `dir`, and with its WAL at least one segment.
fn backup(d: &Dialect, node: NodeId, dir: &str, wal: bool) -> Vec<Check> {
    let mut checks = vec![backup_files(d, node, dir)];
    if wal {
        checks.push(Check::WalSegments {
            node,
            dir: format!("{dir}/{}", d.wal_dir_name()),
        });
    }
    checks
}

fn backup_files(d: &Dialect, node: NodeId, dir: &str) -> Check {
    Check::Files {
        node,
        dir: dir.into(),
        names: d
            .base_backup_files()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// `dir`'s WAL directory is the link to the WAL disk.
fn wal_link(d: &Dialect, node: NodeId, dir: &str) -> Check {
    Check::Link {
        node,
        path: format!("{dir}/{}", d.wal_dir_name()),
        target: d.wal_path(),
    }
}

/// Each area moved into `to` and recreated empty.
fn moved(d: &Dialect, node: NodeId, to: &str, what: &[Area]) -> Vec<Check> {
    let mut checks = Vec::new();
    for area in what {
        let dir = match area {
            Area::Data => pg::DATA_DIR.to_string(),
            Area::Wal => d.wal_path(),
            Area::Archive => pg::ARCHIVE_DIR.to_string(),
        };
        let name = dir.rsplit('/').next().unwrap_or_default().to_string();
        checks.push(Check::Files {
            node,
            dir: to.into(),
            names: vec![name],
        });
        checks.push(Check::Empty { node, dir });
    }
    checks
}

/// The standby settings: following `of` by its address, standby mode (or `standby.signal`
/// from 12), the latest timeline and the apply delay when asked.
fn standby_settings(
    ctx: &Context,
    node: NodeId,
    of: &NodeRef,
    latest: bool,
    apply_delay: Option<std::time::Duration>,
) -> Result<Vec<Check>, RenderError> {
    let d = &ctx.dialect;
    let of = ctx.resolve(of).ok_or(RenderError::NeedsNode(
        "make_standby needs one node to follow",
    ))?;
    let file = format!("{}/{}", pg::DATA_DIR, d.recovery_settings_file());
    let setting = |name: &str, contains: String| Check::Setting {
        node,
        file: file.clone(),
        name: name.into(),
        contains,
    };
    let mut checks = vec![setting(
        "primary_conninfo",
        format!("host={}", ctx.node(of)?.address),
    )];
    if d.uses_recovery_conf() {
        checks.push(setting("standby_mode", "on".into()));
    } else {
        checks.push(Check::Exists {
            node,
            path: format!("{}/standby.signal", pg::DATA_DIR),
            present: true,
        });
    }
    if latest {
        checks.push(setting("recovery_target_timeline", "latest".into()));
    }
    if let Some(delay) = apply_delay {
        checks.push(setting(pg::APPLY_DELAY_SETTING, pg::time_value(delay)));
    }
    Ok(checks)
}

/// The recovery settings of a point-in-time recovery as they were written (the target, its
/// `recovery_target_inclusive` and end action as the release spells them, the
/// `restore_command`), and from 12 the `recovery.signal` that asks for it, without a
/// `standby.signal` that would win.
fn pitr_settings(d: &Dialect, node: NodeId, recovery: &pg::Recovery<String>) -> Vec<Check> {
    let file = format!("{}/{}", pg::DATA_DIR, d.recovery_settings_file());
    let setting = |name: String, contains: String| Check::Setting {
        node,
        file: file.clone(),
        name,
        contains,
    };
    let mut checks: Vec<Check> = pg::target_settings(d, recovery)
        .into_iter()
        .map(|(name, value)| setting(name, value))
        .collect();
    checks.push(setting("restore_command".into(), String::new()));
    if !d.uses_recovery_conf() {
        for (name, present) in [("recovery.signal", true), ("standby.signal", false)] {
            checks.push(Check::Exists {
                node,
                path: format!("{}/{name}", pg::DATA_DIR),
                present,
            });
        }
    }
    checks
}

impl fmt::Display for Check {
    /// What the check expects, in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Running {
                node,
                running: true,
            } => write!(f, "a server runs on {node}"),
            Check::Running { node, .. } => write!(f, "no server runs on {node}"),
            Check::Recovery { node, in_recovery } => write!(
                f,
                "{node} is {} (pg_is_in_recovery() = {})",
                if *in_recovery {
                    "in recovery"
                } else {
                    "out of recovery"
                },
                if *in_recovery { "t" } else { "f" }
            ),
            Check::NextTimeline { node } => {
                write!(f, "{node} is on the next timeline (a new history file)")
            }
            Check::Streams {
                standby,
                upstream,
                address,
            } => write!(
                f,
                "{upstream} streams to {standby} ({address} streaming in pg_stat_replication), \
                 both on one timeline"
            ),
            Check::Files { node, dir, names } => {
                write!(f, "{node}:{dir} holds {}", names.join(", "))
            }
            Check::WalSegments { node, dir } => write!(f, "{node}:{dir} holds a WAL segment"),
            Check::Link { node, path, target } => write!(f, "{node}:{path} links to {target}"),
            Check::Empty { node, dir } => write!(f, "{node}:{dir} exists and is empty"),
            Check::Setting {
                node,
                file,
                name,
                contains,
            } if contains.is_empty() => write!(f, "{node}:{file} sets {name}"),
            Check::Setting {
                node,
                file,
                name,
                contains,
            } => write!(f, "{node}:{file} sets {name} to a value with `{contains}`"),
            Check::Exists {
                node,
                path,
                present,
            } => write!(
                f,
                "{node}:{path} {}",
                if *present { "exists" } else { "does not exist" }
            ),
            Check::Shows { node, name, value } => {
                write!(f, "SHOW {name} on {node} answers {value:?}")
            }
            Check::Grows { node, db, sql } if sql == HISTORY_NEWEST => write!(
                f,
                "{node}'s {db} has pgbench rows newer than before the step (max(mtime) of \
                 pgbench_history)"
            ),
            Check::Grows { node, db, sql } => {
                write!(
                    f,
                    "`{sql}` on {node}'s {db} answers more than before the step"
                )
            }
        }
    }
}

/// A check that did not hold: what it expected, and what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// What was expected.
    pub expected: String,
    /// What the servers show.
    pub seen: String,
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}; there is: {}", self.expected, self.seen)
    }
}

/// What the checks compare with from before the step (a timeline, a count), by check index.
#[derive(Debug, Clone, Default)]
pub struct Baseline(HashMap<usize, f64>);

/// Reads, before the step, what `checks` compare with afterwards.
pub async fn baseline<L: LabOps>(lab: &L, ctx: &Context, checks: &[Check]) -> Baseline {
    let mut before = HashMap::new();
    for (i, check) in checks.iter().enumerate() {
        let value = match check {
            Check::NextTimeline { node } => timeline(lab, &ctx.dialect, *node)
                .await
                .ok()
                .map(|t| t as f64),
            Check::Grows { node, db, sql } => number(lab, *node, db, sql).await.ok(),
            _ => None,
        };
        if let Some(v) = value {
            before.insert(i, v);
        }
    }
    Baseline(before)
}

/// Looks at `checks` until all hold or `bound` passes; then the first that does not hold.
pub async fn verify<L: LabOps>(
    lab: &L,
    ctx: &Context,
    checks: &[Check],
    before: &Baseline,
    bound: Duration,
) -> Result<(), Unmet> {
    let deadline = super::later(Instant::now(), bound);
    loop {
        let mut unmet = None;
        for (i, check) in checks.iter().enumerate() {
            if let Err(seen) = look(lab, &ctx.dialect, check, before.0.get(&i).copied()).await {
                unmet = Some(Unmet {
                    expected: check.to_string(),
                    seen,
                });
                break;
            }
        }
        match unmet {
            None => return Ok(()),
            Some(u) if Instant::now() >= deadline => return Err(u),
            Some(_) => tokio::time::sleep(POLL_EVERY).await,
        }
    }
}

/// One look at one check: `Err` says what is there instead.
async fn look<L: LabOps>(
    lab: &L,
    d: &Dialect,
    check: &Check,
    before: Option<f64>,
) -> Result<(), String> {
    match check {
        Check::Running { node, running } => {
            let out = shell(lab, *node, User::Postgres, "pg_ctl status").await?;
            let runs = out.0 == 0;
            let first = out.1.lines().next().unwrap_or_default().to_string();
            (runs == *running)
                .then_some(())
                .ok_or_else(|| format!("pg_ctl status exits {}: {first}", out.0))
        }
        Check::Recovery { node, in_recovery } => {
            let want = if *in_recovery { "t" } else { "f" };
            match lab
                .sql(*node, "postgres", "SELECT pg_is_in_recovery()")
                .await
            {
                Ok(Some(v)) if v == want => Ok(()),
                Ok(v) => Err(format!(
                    "pg_is_in_recovery() = {}",
                    v.as_deref().unwrap_or("NULL")
                )),
                Err(e) => Err(format!("no answer over SQL: {e}")),
            }
        }
        Check::NextTimeline { node } => {
            let now = timeline(lab, d, *node).await?;
            let was = before.unwrap_or(1.0);
            (now as f64 > was)
                .then_some(())
                .ok_or_else(|| format!("timeline {now}, as before the step"))
        }
        Check::Streams {
            standby,
            upstream,
            address,
        } => streams(lab, d, *standby, *upstream, address).await,
        Check::Grows { node, db, sql } => {
            let now = number(lab, *node, db, sql).await?;
            match before {
                Some(was) if now <= was => Err(format!("{now}, as before the step")),
                _ => Ok(()),
            }
        }
        Check::Shows { node, name, value } => {
            let sql = crate::plan::sql_literal("a setting's name", name)
                .map(|n| format!("SELECT current_setting({n})"))
                .map_err(|e| e.to_string())?;
            match lab.sql(*node, "postgres", &sql).await {
                Ok(Some(v)) if crate::pg::setting_shows(&v, value) => Ok(()),
                Ok(v) => Err(format!("SHOW {name} answers {:?}", v.unwrap_or_default())),
                Err(e) => Err(format!("no answer over SQL: {e}")),
            }
        }
        _ => look_at_files(lab, check).await,
    }
}

/// One look at a check of files on a node (as root: the data directory is postgres's alone).
async fn look_at_files<L: LabOps>(lab: &L, check: &Check) -> Result<(), String> {
    match check {
        Check::Files { node, dir, names } => {
            let words: Vec<String> = names.iter().map(|n| quote(n).into_owned()).collect();
            let cmd = format!(
                "cd {} || exit 2\nfor f in {}; do test -e \"$f\" && echo \"$f\"; done; true",
                quote(dir),
                words.join(" ")
            );
            let (code, out) = shell(lab, *node, User::Root, &cmd).await?;
            if code != 0 {
                return Err(format!("{dir} does not exist"));
            }
            let present: Vec<&str> = out.lines().collect();
            let missing: Vec<&str> = names
                .iter()
                .map(String::as_str)
                .filter(|n| !present.contains(n))
                .collect();
            missing
                .is_empty()
                .then_some(())
                .ok_or_else(|| format!("{dir} lacks {}", missing.join(", ")))
        }
        Check::WalSegments { node, dir } => {
            let names = listing(lab, *node, dir).await?;
            names
                .iter()
                .any(|n| is_segment(n))
                .then_some(())
                .ok_or_else(|| format!("no WAL segment in {dir} ({})", shown(&names)))
        }
        Check::Link { node, path, target } => {
            let (code, out) =
                shell(lab, *node, User::Root, &format!("readlink {}", quote(path))).await?;
            match (code, out.trim()) {
                (0, t) if t == target || t == format!("{target}/") => Ok(()),
                (0, t) => Err(format!("{path} links to {t}")),
                _ => Err(format!("{path} is not a link")),
            }
        }
        Check::Empty { node, dir } => {
            let names = listing(lab, *node, dir).await?;
            names
                .is_empty()
                .then_some(())
                .ok_or_else(|| format!("{dir} holds {}", shown(&names)))
        }
        Check::Setting {
            node,
            file,
            name,
            contains,
        } => {
            let (code, text) =
                shell(lab, *node, User::Root, &format!("cat {}", quote(file))).await?;
            if code != 0 {
                return Err(format!("{file} does not exist"));
            }
            match setting(&text, name) {
                Some(v) if v.contains(contains.as_str()) => Ok(()),
                Some(v) => Err(format!("{name} = '{}'", masked(&v))),
                None => Err(format!("{file} does not set {name}")),
            }
        }
        Check::Exists {
            node,
            path,
            present,
        } => {
            let (code, _) =
                shell(lab, *node, User::Root, &format!("test -e {}", quote(path))).await?;
            match (code == 0, *present) {
                (true, false) => Err(format!("{path} exists")),
                (false, true) => Err(format!("{path} does not exist")),
                _ => Ok(()),
            }
        }
        Check::Running { .. }
        | Check::Recovery { .. }
        | Check::NextTimeline { .. }
        | Check::Streams { .. }
        | Check::Shows { .. }
        | Check::Grows { .. } => Err("not a check of files".into()),
    }
}

/// [`Check::Streams`]: the upstream lists the standby's address streaming, on one timeline.
async fn streams<L: LabOps>(
    lab: &L,
    d: &Dialect,
    standby: NodeId,
    upstream: NodeId,
    address: &str,
) -> Result<(), String> {
    let sql = "SELECT string_agg(host(client_addr) || ' ' || state, ', ') FROM pg_stat_replication";
    let seen = match lab.sql(upstream, "postgres", sql).await {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => return Err(format!("{upstream} does not answer over SQL: {e}")),
    };
    if !seen
        .split(", ")
        .any(|s| s == format!("{address} streaming"))
    {
        let shown = if seen.is_empty() { "no standby" } else { &seen };
        return Err(format!("{upstream}'s pg_stat_replication shows {shown}"));
    }
    let (mine, theirs) = (
        timeline(lab, d, standby).await?,
        timeline(lab, d, upstream).await?,
    );
    (mine == theirs)
        .then_some(())
        .ok_or_else(|| format!("{standby} on timeline {mine}, {upstream} on timeline {theirs}"))
}

/// A node's timeline: the newest timeline history file in its WAL directory (1 when none).
async fn timeline<L: LabOps>(lab: &L, d: &Dialect, node: NodeId) -> Result<u64, String> {
    let dir = format!("{}/{}/", pg::DATA_DIR, d.wal_dir_name());
    let names = listing(lab, node, &dir).await?;
    Ok(newest_timeline(&names))
}

/// The newest timeline among `00000002.history`-like names (1 when none).
pub fn newest_timeline(names: &[String]) -> u64 {
    names
        .iter()
        .filter_map(|n| n.strip_suffix(".history"))
        .filter(|id| id.len() == 8)
        .filter_map(|id| u64::from_str_radix(id, 16).ok())
        .max()
        .unwrap_or(1)
}

/// A WAL segment's name: 24 hexadecimal digits.
fn is_segment(name: &str) -> bool {
    name.len() == 24 && name.chars().all(|c| c.is_ascii_hexdigit())
}

/// The names in `dir` (as root); `Err` when it cannot be listed.
async fn listing<L: LabOps>(lab: &L, node: NodeId, dir: &str) -> Result<Vec<String>, String> {
    let (code, out) = shell(lab, node, User::Root, &format!("ls -A {}", quote(dir))).await?;
    if code != 0 {
        return Err(format!("{dir} cannot be listed (it does not exist?)"));
    }
    Ok(out.lines().map(str::to_string).collect())
}

/// At most five names, for messages.
fn shown(names: &[String]) -> String {
    match names.len() {
        0 => "it is empty".into(),
        n if n <= 5 => names.join(", "),
        n => format!("{}, … {} in all", names[..5].join(", "), n),
    }
}

/// A number read over SQL.
async fn number<L: LabOps>(lab: &L, node: NodeId, db: &str, sql: &str) -> Result<f64, String> {
    match lab.sql(node, db, sql).await {
        Ok(Some(v)) => v.trim().parse().map_err(|_| format!("`{sql}` answers {v}")),
        Ok(None) => Err(format!("`{sql}` answers NULL")),
        Err(e) => Err(format!("no answer over SQL: {e}")),
    }
}

/// A probe's exit code and standard output; `Err` when the lab could not run it.
async fn shell<L: LabOps>(
    lab: &L,
    node: NodeId,
    user: User,
    command: &str,
) -> Result<(i64, String), String> {
    lab.run(node, user, command, &HashMap::new(), PROBE_TIMEOUT)
        .await
        .map(|out| (out.code, out.stdout))
        .map_err(|e| format!("{node} could not be asked: {e}"))
}

/// The value a configuration file gives `name` (the last setting wins), unquoted.
pub fn setting(text: &str, name: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once('=')?;
            (key.trim() == name).then(|| unquote(value.trim()))
        })
        .next_back()
}

/// A configuration value without its quotes (`'a''b'` is `a'b`) or its trailing comment.
fn unquote(value: &str) -> String {
    match value.strip_prefix('\'') {
        Some(rest) => {
            let mut out = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\'' if chars.peek() == Some(&'\'') => {
                        out.push('\'');
                        chars.next();
                    }
                    '\'' => break,
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        }
        None => value
            .split('#')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A conninfo with its password hidden, for messages and reports.
fn masked(value: &str) -> String {
    value
        .split(' ')
        .map(|w| match w.split_once('=') {
            Some(("password", _)) => "password=***".to_string(),
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[path = "postcondition_tests.rs"]
mod tests;
