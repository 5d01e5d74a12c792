//! Turning a validated drill step into the exact commands and files for one PostgreSQL version.
//!
//! Pure: the runner executes what this renders, and `lab drill runbook` prints it without
//! running anything, so the rehearsed procedure and the printed one cannot drift apart.

use std::collections::HashMap;

use crate::node::NodeId;
use crate::pg::{self, Dialect, Topology};
use crate::plan::{Command, User};
use crate::scenario::{
    Action, Area, Condition, LedgerAction, NodeRef, StepKind, StopMode, Template, When,
};

/// Why a step could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A template could not be rendered (a variable without a value).
    #[error(transparent)]
    Template(#[from] crate::scenario::Unbound),
    /// A path made with run-time values is not one a drill may use.
    #[error("{0}")]
    Path(String),
    /// The step names no single node where it needs one.
    #[error("{0}")]
    NeedsNode(&'static str),
    /// A node that is not in the lab's layout.
    #[error("unknown node `{name}`: this lab has {known}")]
    UnknownNode {
        /// The node asked for.
        name: NodeId,
        /// The lab's nodes.
        known: String,
    },
    /// A fault that cannot be rendered.
    #[error(transparent)]
    Fault(#[from] crate::fault::FaultError),
    /// A value that cannot be quoted for where it goes (a control character in a
    /// configuration value).
    #[error(transparent)]
    Quote(#[from] crate::plan::QuoteError),
    /// An action the release cannot perform (a `pitr` whose target or end action it does not
    /// have, a `make_standby` with an apply delay before 9.4, a `rewind` before pg_rewind, a
    /// `promote` by a trigger file from 16), in a drill checked without the release, run or
    /// printed for it.
    #[error("PostgreSQL {major} cannot perform this `{action}`: {why}")]
    NotInRelease {
        /// The release's major.
        major: String,
        /// The action's name.
        action: &'static str,
        /// What it lacks ([`Condition::describe`]).
        why: &'static str,
    },
    /// A setting the version does not have (a `set` action).
    #[error(transparent)]
    Setting(#[from] crate::pg::SettingError),
    /// A `load`'s `seconds` that is not a number of seconds once its variables have values.
    #[error("`seconds` is \"{0}\": it must be a number of seconds ({min} to {max})", min = LOAD_SECONDS.start(), max = LOAD_SECONDS.end())]
    Seconds(String),
}

pub use crate::scenario::LOAD_SECONDS;

/// A `load`'s rendered `seconds` as a number in [`LOAD_SECONDS`].
pub fn load_seconds(rendered: &str) -> Result<u64, RenderError> {
    rendered
        .parse::<u64>()
        .ok()
        .filter(|n| LOAD_SECONDS.contains(n))
        .ok_or_else(|| RenderError::Seconds(crate::text::shorten(rendered, 40)))
}

/// What a step is rendered against: the version, the layout, who is primary now, and the
/// variables known so far.
#[derive(Debug, Clone)]
pub struct Context {
    /// The version's dialect.
    pub dialect: Dialect,
    /// The lab's layout.
    pub topo: Topology,
    /// The node currently primary.
    pub primary: NodeId,
    /// Variables: built-ins, profile values, captures.
    pub vars: HashMap<String, String>,
    /// Render unknown variables as `${name}` instead of failing (for runbooks, where captured
    /// values are not known yet).
    pub lenient: bool,
}

impl Context {
    /// The node currently standby (the one that is not primary).
    pub fn standby(&self) -> NodeId {
        self.other(self.primary)
    }

    /// The other node of the pair.
    pub fn other(&self, node: NodeId) -> NodeId {
        if node == self.topo.master.name {
            self.topo.slave.name
        } else {
            self.topo.master.name
        }
    }

    /// The node a reference means now (`All` is not a single node: `None`).
    pub fn resolve(&self, r: &NodeRef) -> Option<NodeId> {
        match r {
            NodeRef::Node(n) => Some(*n),
            NodeRef::Primary => Some(self.primary),
            NodeRef::Standby => Some(self.standby()),
            NodeRef::All => None,
        }
    }

    /// A node of the topology by name; an unknown name is an error, never silently a node.
    pub fn node(&self, name: NodeId) -> Result<pg::Node, RenderError> {
        [&self.topo.master, &self.topo.slave]
            .into_iter()
            .find(|n| n.name == name)
            .cloned()
            .ok_or_else(|| RenderError::UnknownNode {
                name,
                known: format!("{} and {}", self.topo.master.name, self.topo.slave.name),
            })
    }

    /// The value of a variable, built-ins that depend on roles included.
    pub fn var(&self, name: &str) -> Option<String> {
        match name {
            "primary.addr" => self.node(self.primary).ok().map(|n| n.address),
            "standby.addr" => self.node(self.standby()).ok().map(|n| n.address),
            _ => self.vars.get(name).cloned(),
        }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.var(name)
            .or_else(|| self.lenient.then(|| format!("${{{name}}}")))
    }

    /// The first of a step's `when` conditions that does not hold in this lab, if any.
    pub fn unmet<'w>(&self, when: &'w [When]) -> Option<&'w When> {
        when.iter().find(|w| self.condition(w.condition) != w.holds)
    }

    /// Whether a condition holds for this lab's mode and release.
    pub fn condition(&self, condition: Condition) -> bool {
        match condition {
            Condition::Sync => self.topo.sync,
            Condition::LiteralArchive => self.topo.archive == pg::ArchiveCommand::Literal,
            Condition::PreviousCheckpoint
            | Condition::PartialSegment
            | Condition::TargetImmediate
            | Condition::TargetLsn
            | Condition::TargetAction
            | Condition::TriggerFile
            | Condition::Slots
            | Condition::ApplyDelay
            | Condition::Rewind => condition
                .for_release(&self.dialect)
                .expect("the release answers its own conditions"),
        }
    }

    /// Why a step whose `when` does not hold is left out, for reports and runbooks.
    pub fn not_applicable(&self, when: &When) -> String {
        format!(
            "does not apply (`when = \"{when}\"`): {}",
            when.condition.describe(!when.holds)
        )
    }

    /// Renders a template with the known variables.
    pub fn render(&self, t: &Template) -> Result<String, RenderError> {
        t.render(&|name: &str| self.lookup(name))
            .map_err(RenderError::Template)
    }

    /// Renders a `run` command: the lab's own values (the built-in variables) as they are,
    /// and a value from a drill's profile or a capture as one shell word ([`crate::plan::quote`]),
    /// so that it cannot add a word or a command (`1; rm -rf /` stays one argument). In a
    /// runbook a value not known yet stays `${name}`.
    pub fn render_shell(&self, t: &Template) -> Result<String, RenderError> {
        self.render_quoted(t, |_, value| Ok(crate::plan::quote(value).into_owned()))
    }

    /// Renders an SQL statement (a `sql` step, a `wait`'s `sql`): the built-in variables as
    /// they are (`SELECT ${pg.switch_wal}`), a profile value or a capture as an SQL literal
    /// ([`crate::plan::sql_literal`]: `count(*) >= '42'`), so that it cannot add a clause.
    pub fn render_sql(&self, t: &Template) -> Result<String, RenderError> {
        self.render_quoted(t, |name, value| {
            crate::plan::sql_literal(&format!("`${{{name}}}`"), value)
        })
    }

    /// `t` rendered, each value not the lab's own (a profile value, a capture) through
    /// `quote`; in a runbook a value not known yet stays `${name}`.
    fn render_quoted(
        &self,
        t: &Template,
        quote: impl Fn(&str, &str) -> Result<String, crate::plan::QuoteError>,
    ) -> Result<String, RenderError> {
        let refused = std::cell::RefCell::new(None);
        let rendered = t
            .render_each(&|name: &str| self.lookup(name), |name, value| {
                let placeholder = self.lenient && self.var(name).is_none();
                if placeholder || crate::scenario::BUILTIN_VARIABLES.contains(&name) {
                    return value;
                }
                quote(name, &value).unwrap_or_else(|e| {
                    refused.borrow_mut().get_or_insert(e);
                    String::new()
                })
            })
            .map_err(RenderError::Template)?;
        match refused.into_inner() {
            Some(e) => Err(RenderError::Quote(e)),
            None => Ok(rendered),
        }
    }

    /// Renders a path template and checks the path the values make, as the drill's checker
    /// checked its literal text: a captured value could hold anything (not in a runbook, where
    /// values are shown as `${name}`).
    pub fn render_path(&self, t: &Template, spare_only: bool) -> Result<String, RenderError> {
        let path = self.render(t)?;
        match crate::scenario::path_problem(&path, spare_only) {
            Some(problem) if !self.lenient => Err(RenderError::Path(problem)),
            _ => Ok(path),
        }
    }

    /// Renders a regex template: variable values are inserted as literal text.
    pub fn render_regex(&self, t: &Template) -> Result<String, RenderError> {
        t.render_regex(&|name: &str| self.lookup(name))
            .map_err(RenderError::Template)
    }
}

/// The built-in variables of a version and layout (captures and profile values are added by
/// the runner).
pub fn builtin_vars(
    dialect: &Dialect,
    topo: &Topology,
    pg_version: &str,
    run_dir: &str,
) -> HashMap<String, String> {
    let mut v = HashMap::new();
    v.insert("pg.wal_dir".into(), dialect.wal_dir_name().into());
    v.insert("pg.log_dir".into(), dialect.log_dir_name().into());
    v.insert(
        "pg.startup_failure".into(),
        dialect.startup_failure_message().into(),
    );
    v.insert(
        "pg.replay_timestamp_function".into(),
        dialect.replay_timestamp_function().into(),
    );
    let switch = if dialect.wal_dir_name() == "pg_xlog" {
        "pg_switch_xlog()"
    } else {
        "pg_switch_wal()"
    };
    v.insert("pg.switch_wal".into(), switch.into());
    let positions = [
        ("pg.current_lsn", dialect.current_wal_position_function()),
        ("pg.receive_lsn", dialect.receive_position_function()),
        ("pg.replay_lsn", dialect.replay_position_function()),
        ("pg.lsn_diff", dialect.position_diff_function()),
    ];
    let [pause, resume, paused] = dialect.replay_pause_functions();
    let more = [
        ("pg.replay_pause", pause),
        ("pg.replay_resume", resume),
        ("pg.replay_paused", paused),
        ("pg.receive_wal", dialect.receive_wal_program()),
    ];
    for (name, function) in positions.into_iter().chain(more) {
        v.insert(name.into(), function.into());
    }
    v.insert("pg.version".into(), pg_version.into());
    v.insert("pg.major".into(), dialect.major().to_string());
    v.insert("node1.addr".into(), topo.master.address.clone());
    v.insert("node2.addr".into(), topo.slave.address.clone());
    let sync_state = if topo.sync { "sync" } else { "async" };
    v.insert("lab.sync_state".into(), sync_state.into());
    v.insert("today".into(), today());
    v.insert("run_dir".into(), run_dir.into());
    v
}

/// Today's date as YYYYMMDD (UTC), the document's backup directory names.
pub fn today() -> String {
    jiff::Timestamp::now().strftime("%Y%m%d").to_string()
}

/// The current UTC time as YYYYMMDD-HHMMSS, for run directory names.
pub fn timestamp() -> String {
    jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string()
}

/// A `set` action: the settings appended to postgresql.conf (a later line wins; the same on
/// every version, as 9.3 has no ALTER SYSTEM), each checked for the version, then a reload
/// or a restart.
fn set_settings(
    d: &crate::pg::Dialect,
    n: NodeId,
    settings: &[crate::pg::Setting],
    apply: crate::scenario::Apply,
) -> Result<Vec<Command>, RenderError> {
    for s in settings {
        pg::check_setting(d, s)?;
    }
    let conf = format!("{}/postgresql.conf", pg::DATA_DIR);
    let append = Command::append(
        n,
        "append the settings to postgresql.conf (a later line wins)",
        &conf,
        pg::setting_lines(settings)?,
    );
    let (title, command) = match apply {
        crate::scenario::Apply::Reload => ("reload the configuration", "pg_ctl reload".to_string()),
        crate::scenario::Apply::Restart => (
            "restart the server to apply them",
            pg::pg_ctl_start("pg_ctl restart"),
        ),
    };
    Ok(vec![
        append,
        Command::shell(n, title, User::Postgres, command),
    ])
}

/// A `promote` action: `pg_ctl promote`, or the trigger file. The standby reads its trigger
/// setting only from its configuration, so the lab adds it where the release keeps it: in
/// recovery.conf, read only at start, then a restart (before 12); in postgresql.conf, then a
/// reload (12 to 15). Creating the file promotes; the server removes it.
fn promote(
    ctx: &Context,
    n: NodeId,
    method: crate::scenario::PromoteMethod,
    action: &Action,
) -> Result<Vec<Command>, RenderError> {
    let d = &ctx.dialect;
    let setting = match method {
        crate::scenario::PromoteMethod::PgCtl => {
            return Ok(vec![Command::shell(
                n,
                "promote the standby",
                User::Postgres,
                "pg_ctl promote",
            )]);
        }
        crate::scenario::PromoteMethod::TriggerFile => d.promote_trigger_setting(),
    };
    let Some(setting) = setting else {
        return Err(RenderError::NotInRelease {
            major: d.major().to_string(),
            action: action.name(),
            why: crate::scenario::Condition::TriggerFile.describe(false),
        });
    };
    let line = pg::conf_pairs([(setting, pg::PROMOTE_TRIGGER_FILE)])?;
    let (file, apply) = if d.uses_recovery_conf() {
        (
            format!("{}/recovery.conf", pg::DATA_DIR),
            Command::shell(
                n,
                "restart the standby: it reads recovery.conf only at start",
                User::Postgres,
                pg::pg_ctl_start("pg_ctl restart -m fast"),
            ),
        )
    } else {
        (
            format!("{}/postgresql.conf", pg::DATA_DIR),
            Command::shell(
                n,
                "reload the configuration",
                User::Postgres,
                "pg_ctl reload",
            ),
        )
    };
    Ok(vec![
        Command::append(n, "the standby's promotion trigger file", &file, line),
        apply,
        Command::shell(
            n,
            "create the trigger file: the standby promotes itself",
            User::Postgres,
            format!("touch {}", crate::plan::quote(pg::PROMOTE_TRIGGER_FILE)),
        ),
    ])
}

/// The commands an action runs on `node`.
pub fn action_steps(
    ctx: &Context,
    node: NodeId,
    action: &Action,
) -> Result<Vec<Command>, RenderError> {
    let d = &ctx.dialect;
    let n = node;
    in_release(ctx, action)?;
    Ok(match action {
        Action::Start => vec![Command::shell(
            n,
            "start the server",
            User::Postgres,
            pg::pg_ctl_start("pg_ctl start"),
        )],
        Action::Stop { mode, fallback } => vec![stop_step(n, mode, fallback.as_ref())],
        Action::Promote { method } => promote(ctx, n, *method, action)?,
        Action::BaseBackup {
            from,
            to,
            wal: with_wal,
        } => {
            let from = ctx.resolve(from).ok_or(RenderError::NeedsNode(
                "base_backup needs one node to copy from",
            ))?;
            let from_addr = ctx.node(from)?.address;
            vec![pg::base_backup(
                d,
                &ctx.topo,
                n,
                &from_addr,
                &ctx.render_path(to, false)?,
                *with_wal,
            )]
        }
        Action::LocalBackup { to } => {
            let to = ctx.render_path(to, false)?;
            vec![
                pg::backup_dir(n, &to),
                pg::local_backup(d, &ctx.topo, n, &to),
            ]
        }
        Action::MoveAside { to, what } => {
            vec![move_aside(ctx, n, &ctx.render_path(to, true)?, what)]
        }
        Action::LinkWal => pg::link_wal_dir(d, n),
        Action::Set { settings, apply } => set_settings(d, n, settings, *apply)?,
        Action::MakeStandby {
            of,
            latest_timeline,
            restore,
            apply_delay,
        } => {
            let of = ctx.resolve(of).ok_or(RenderError::NeedsNode(
                "make_standby needs one node to follow",
            ))?;
            let mut topo = ctx.topo.clone();
            topo.restore = restore.unwrap_or(topo.restore);
            let options = pg::StandbyOptions {
                timeline_latest: *latest_timeline,
                apply_delay: *apply_delay,
            };
            pg::standby_config(d, &topo, &ctx.node(node)?, &ctx.node(of)?, options)?
        }
        Action::Pitr {
            recovery,
            restore_command,
        } => {
            let restore = match restore_command {
                Some(t) => ctx.render(t)?,
                None => pg::LOCAL_ARCHIVE_RESTORE.to_string(),
            };
            let rendered = pg::Recovery {
                target: recovery.target.try_map(|t| ctx.render(t))?,
                inclusive: recovery.inclusive,
                at_target: recovery.at_target,
            };
            pg::pitr_config(d, n, &restore, &rendered)?
        }
        // One client is pgbench's default, and the document's `pgbench -T 180 testdb`.
        Action::Load {
            seconds, clients, ..
        } => {
            let rendered = ctx.render(seconds)?;
            // In a runbook a captured value stays `${name}`: shown as it is, quoted.
            let seconds = match load_seconds(&rendered) {
                Ok(n) => n.to_string(),
                Err(_) if ctx.lenient && rendered.contains("${") => {
                    crate::plan::quote(&rendered).into_owned()
                }
                Err(e) => return Err(e),
            };
            vec![Command::shell(
                n,
                "run pgbench",
                User::Postgres,
                match clients {
                    1 => format!("pgbench -T {seconds} testdb"),
                    _ => format!("pgbench -T {seconds} -c {clients} testdb"),
                },
            )]
        }
        // The ledger writer runs in the runner itself, not in a node.
        Action::LedgerStart | Action::LedgerRetarget | Action::LedgerCheck { .. } => Vec::new(),
        Action::CopyBackup { from, backup, to } => {
            let from = ctx.resolve(from).ok_or(RenderError::NeedsNode(
                "copy_backup needs one node to copy from",
            ))?;
            let (backup, to) = (ctx.render_path(backup, false)?, ctx.render_path(to, false)?);
            copy_backup(ctx, n, from, &backup, &to)?
        }
        Action::Rewind { from } => {
            in_release(ctx, action)?;
            let from = ctx.resolve(from).ok_or(RenderError::NeedsNode(
                "rewind needs one node to rewind from",
            ))?;
            pg::rewind(d, &ctx.topo, n, &ctx.node(from)?)?
        }
    })
}

/// Refuses an action that needs what the release lacks ([`Action::needs`]).
fn in_release(ctx: &Context, action: &Action) -> Result<(), RenderError> {
    match action.needs().into_iter().find(|c| !ctx.condition(*c)) {
        Some(lacking) => Err(RenderError::NotInRelease {
            major: ctx.dialect.major().to_string(),
            action: action.name(),
            why: lacking.describe(false),
        }),
        None => Ok(()),
    }
}

/// The document's stop: `-m mode`, falling back to `-m fallback`; a server that is already down
/// counts as stopped (pg_ctl status exits 3).
fn stop_step(n: NodeId, mode: &StopMode, fallback: Option<&StopMode>) -> Command {
    let mut stop = format!("pg_ctl -m {} stop", mode.as_str());
    if let Some(fb) = fallback {
        stop = format!("{stop} || pg_ctl -m {} stop", fb.as_str());
    }
    Command::shell(
        n,
        &format!("stop the server (-m {})", mode.as_str()),
        User::Postgres,
        format!("if pg_ctl status >/dev/null; then {stop}; else echo 'no server running'; fi"),
    )
}

/// Moves the areas `what` into `to` and recreates them empty.
fn move_aside(ctx: &Context, n: NodeId, to: &str, what: &[Area]) -> Command {
    let dirs: Vec<String> = what
        .iter()
        .map(|a| match a {
            Area::Data => pg::DATA_DIR.to_string(),
            Area::Wal => ctx.dialect.wal_path(),
            Area::Archive => pg::ARCHIVE_DIR.to_string(),
        })
        .collect();
    // The trailing slash is the document's (p.51: `mkdir -p /disk4/broken/YYYYMMDD/`).
    let mut cmd = format!("mkdir -p {to}/\n");
    for dir in &dirs {
        cmd.push_str(&format!("mv {dir} {to}/\n"));
    }
    for dir in &dirs {
        cmd.push_str(&format!("mkdir {dir}\nchown postgres:postgres {dir}\n"));
    }
    cmd.push_str(&format!(
        "chown -R postgres:postgres {to}\nchmod 700 {}",
        pg::DATA_DIR
    ));
    Command::shell(
        n,
        &format!("move the old directories to {to} and recreate them"),
        User::Root,
        cmd,
    )
}

/// Copies the backup `backup` of node `from` to `to` (scp), its WAL directory replaced by the
/// link to the intact WAL disk.
fn copy_backup(
    ctx: &Context,
    n: NodeId,
    from: NodeId,
    backup: &str,
    to: &str,
) -> Result<Vec<Command>, RenderError> {
    let from_addr = ctx.node(from)?.address;
    let wal = ctx.dialect.wal_dir_name();
    let parent = to
        .rsplit_once('/')
        .map(|(p, _)| if p.is_empty() { "/" } else { p })
        .unwrap_or("/");
    Ok(vec![
        Command::shell(
            n,
            &format!("copy the backup from {from} (scp -pr)"),
            User::Postgres,
            format!("rmdir {to} 2>/dev/null || true\nscp -pr {from_addr}:{backup} {parent}\nchmod 700 {to}"),
        ),
        Command::shell(
            n,
            &format!("replace the restored {wal} by the link to the intact /disk2/{wal}"),
            User::Postgres,
            format!("rm -rf {to}/{wal}\ncd {to}\nln -s {} {wal}", ctx.dialect.wal_path()),
        ),
    ])
}

/// The commands of a fault (empty for faults acting on the container, which the runner performs
/// as [`crate::fault::NodeOp`]s).
pub fn fault_steps(
    ctx: &Context,
    node: NodeId,
    fault: crate::fault::Fault,
    heal: bool,
) -> Result<Vec<Command>, RenderError> {
    let op = fault.op(&ctx.dialect, node, heal)?;
    Ok(match op {
        crate::fault::FaultOp::Commands(steps) => steps,
        crate::fault::FaultOp::Node(op) => vec![Command::shell(
            node,
            &format!("{op:?} the node's container"),
            User::Root,
            format!("# docker: {} {node}", node_op_verb(op)),
        )],
    })
}

/// How a container operation reads in a runbook.
pub fn node_op_verb(op: crate::fault::NodeOp) -> &'static str {
    match op {
        crate::fault::NodeOp::Kill => "kill (power loss)",
        crate::fault::NodeOp::Start => "start (the repaired server boots)",
        crate::fault::NodeOp::Disconnect => "network disconnect",
        crate::fault::NodeOp::Connect => "network connect",
    }
}

/// The plan steps of a step kind that runs commands (`run`, `action`, `fault`) on `node`.
pub fn command_steps(
    ctx: &Context,
    node: NodeId,
    title: &str,
    kind: &StepKind,
) -> Result<Vec<Command>, RenderError> {
    let n = node;
    match kind {
        StepKind::Run { command, user, .. } => Ok(vec![Command::shell(
            n,
            title,
            *user,
            ctx.render_shell(command)?,
        )]),
        StepKind::Action(action) => action_steps(ctx, node, action),
        StepKind::Fault { fault, heal } => fault_steps(ctx, node, *fault, *heal),
        StepKind::Sql { .. }
        | StepKind::Wait(_)
        | StepKind::ExpectLog { .. }
        | StepKind::ExpectMonitor { .. }
        | StepKind::Mark(_)
        | StepKind::Sleep(_)
        | StepKind::Note(_) => Ok(Vec::new()),
    }
}

/// A step's title with the variables known at that point rendered (`${pg.wal_dir}` is
/// `pg_xlog` on 9.3); in a runbook, values captured at run time stay `${name}`. A title that
/// cannot be rendered is shown as written.
///
/// A title stays one line: a control character a value brings in (a captured value's newline)
/// is shown as a space, so it cannot add a line to a runbook or a report.
pub fn title(ctx: &Context, title: &str) -> String {
    Template::parse(title)
        .ok()
        .and_then(|t| ctx.render(&t).ok())
        .unwrap_or_else(|| title.to_string())
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// SQL as the document types it: `psql -c "..."` for a one-line query on the `postgres`
/// database (`$ psql -c "SELECT pg_last_xact_replay_timestamp()"`, p.31), otherwise an
/// interactive `psql <db>` and the statement after its prompt, ended by `;`
/// (`testdb=# truncate table pgbench_history;`, p.48; further lines after `testdb-#`).
pub fn psql_lines(db: &str, sql: &str) -> Vec<String> {
    let sql = sql.trim_end();
    if db == "postgres" && !sql.contains('\n') && !sql.contains('"') {
        return vec![format!("$ psql -c \"{sql}\"")];
    }
    let end = if sql.ends_with(';') { "" } else { ";" };
    let mut lines = vec![format!("$ psql {}", crate::plan::quote(db))];
    for (i, line) in format!("{sql}{end}").lines().enumerate() {
        // psql's prompt, then its continuation prompt.
        let prompt = if i == 0 { "=" } else { "-" };
        lines.push(format!("{db}{prompt}# {line}"));
    }
    lines
}

/// A one-line description of what a step that runs no command does, for reports and runbooks.
pub fn describe(ctx: &Context, kind: &StepKind) -> Vec<String> {
    let r = |t: &Template| ctx.render(t).unwrap_or_else(|_| t.raw.clone());
    let r_sql = |t: &Template| ctx.render_sql(t).unwrap_or_else(|_| t.raw.clone());
    match kind {
        StepKind::Sql {
            sql,
            db,
            expect,
            measure,
        } => {
            let mut s = psql_lines(db, &r_sql(sql));
            if let Some(e) = expect {
                s.push(format!("expect: {}", r(e)));
            }
            if let Some(m) = measure {
                s.push(format!("measure: {m}"));
            }
            s
        }
        StepKind::Wait(w) => match w {
            crate::scenario::WaitFor::PgIsReady(code) => {
                vec![format!("wait until pg_isready returns {code}")]
            }
            crate::scenario::WaitFor::Sql { sql, equals, db } => {
                let mut s = psql_lines(db, &r_sql(sql));
                s.push(format!("repeat until it returns {}", r(equals)));
                s
            }
            crate::scenario::WaitFor::Log { pattern: re, .. } => {
                vec![format!("wait for a server log line matching /{}/", r(re))]
            }
        },
        StepKind::ExpectLog { lines, since } => {
            let mut s = vec![format!(
                "expect in the server log, in order{}:",
                since
                    .as_ref()
                    .map(|m| format!(" since `{m}`"))
                    .unwrap_or_default()
            )];
            s.extend(lines.iter().map(|l| format!("  /{}/", r(l))));
            s
        }
        StepKind::ExpectMonitor { codes, .. } => vec![format!(
            "expect the monitor to have seen pg_isready {}",
            codes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(" → ")
        )],
        StepKind::Action(action) => match action.ledger() {
            Some(LedgerAction::Start) => vec!["start the ledger writer: numbered rows, one per transaction, each acknowledgement timed".into()],
            Some(LedgerAction::Retarget) => vec!["point the ledger writer at this node".into()],
            Some(LedgerAction::Check { max_lost }) => vec![format!(
                "stop the ledger writer and check it against this node's rows (lost acknowledged rows allowed: {})",
                max_lost.map_or("any in async mode, none in sync mode".to_string(), |m| m.to_string())
            )],
            // Its commands describe it.
            None => Vec::new(),
        },
        StepKind::Mark(m) => vec![format!("mark `{m}`")],
        StepKind::Sleep(d) => vec![format!("sleep {d:?}")],
        StepKind::Note(n) => vec![format!("note: {n}")],
        // Their commands describe them.
        StepKind::Run { .. } | StepKind::Fault { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_reads_as_the_document_types_it() {
        assert_eq!(
            psql_lines("testdb", "truncate table pgbench_history"),
            ["$ psql testdb", "testdb=# truncate table pgbench_history;"]
        );
        assert_eq!(
            psql_lines("postgres", "SELECT pg_last_xact_replay_timestamp()"),
            ["$ psql -c \"SELECT pg_last_xact_replay_timestamp()\""]
        );
        assert_eq!(
            psql_lines("testdb", "select 1\nfrom t"),
            ["$ psql testdb", "testdb=# select 1", "testdb-# from t;"]
        );
        assert_eq!(
            psql_lines("postgres", "SELECT 'a' || \"b\";"),
            ["$ psql postgres", "postgres=# SELECT 'a' || \"b\";"]
        );
    }

    #[test]
    fn set_appends_the_settings_then_reloads_or_restarts_on_every_version() {
        let settings = [
            pg::setting("hot_standby_feedback", "on").unwrap(),
            pg::setting("application_name", "it's # x").unwrap(),
        ];
        for v in ["9.3", "15"] {
            let d = Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major);
            let render = |apply| {
                crate::plan::Plan {
                    steps: set_settings(&d, NodeId::NODE2, &settings, apply).unwrap(),
                }
                .render()
            };
            let reload = render(crate::scenario::Apply::Reload);
            assert!(
                reload.contains("hot_standby_feedback = 'on'\napplication_name = 'it''s # x'\n"),
                "{v}: {reload}"
            );
            assert!(
                reload.contains("/disk1/data/postgresql.conf"),
                "{v}: {reload}"
            );
            assert!(reload.contains("$ pg_ctl reload"), "{v}: {reload}");
            let restart = render(crate::scenario::Apply::Restart);
            assert!(restart.contains("$ pg_ctl restart -w -l"), "{v}: {restart}");
        }
        let refused = |v: &str, name: &str| {
            let d = Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major);
            let s = [pg::setting(name, "64").unwrap()];
            set_settings(&d, NodeId::NODE1, &s, crate::scenario::Apply::Reload)
                .unwrap_err()
                .to_string()
        };
        assert!(refused("9.3", "wal_keep_size").contains("introduced in 13"));
        assert!(refused("15", "wal_keep_segments").contains("removed in 13"));
    }

    #[test]
    fn a_trigger_file_promotion_is_written_where_the_release_reads_it() {
        let promote = Action::Promote {
            method: crate::scenario::PromoteMethod::TriggerFile,
        };
        let render = |v: &str| {
            let mut ctx = ctx15(false);
            ctx.dialect = Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major);
            action_steps(&ctx, NodeId::NODE2, &promote)
                .map(|steps| crate::plan::Plan { steps }.render())
        };
        let on_93 = render("9.3").unwrap();
        assert!(
            on_93.contains(
                "[/disk1/data/recovery.conf] (append)\ntrigger_file = '/disk1/promote.trigger'\n"
            ),
            "{on_93}"
        );
        assert!(on_93.contains("$ pg_ctl restart -m fast -w"), "{on_93}");
        assert!(on_93.contains("$ touch /disk1/promote.trigger"), "{on_93}");
        let on_15 = render("15").unwrap();
        assert!(
            on_15.contains("[/disk1/data/postgresql.conf] (append)\npromote_trigger_file = '/disk1/promote.trigger'\n"),
            "{on_15}"
        );
        assert!(on_15.contains("$ pg_ctl reload"), "{on_15}");
        assert!(!on_15.contains("restart"), "{on_15}");
        let on_17 = render("17").unwrap_err().to_string();
        assert!(on_17.contains("removed in 16"), "{on_17}");
        let by_pg_ctl = Action::Promote {
            method: crate::scenario::PromoteMethod::PgCtl,
        };
        let ctx = ctx15(false);
        let steps = action_steps(&ctx, NodeId::NODE2, &by_pg_ctl).unwrap();
        assert_eq!(
            crate::plan::Plan { steps }
                .render()
                .trim_end()
                .lines()
                .last(),
            Some("$ pg_ctl promote")
        );
    }

    /// The rewind of node1 from node2, rendered for `version`.
    fn rewind_on(version: &str) -> Result<String, RenderError> {
        let dialect =
            Dialect::for_major(version.parse::<crate::version::PgVersion>().unwrap().major);
        let ctx = Context {
            vars: builtin_vars(&dialect, &Topology::default(), version, "/tmp/run"),
            dialect,
            topo: Topology::default(),
            primary: NodeId::NODE2,
            lenient: false,
        };
        let rewind = Action::Rewind {
            from: NodeRef::Node(NodeId::NODE2),
        };
        let steps = action_steps(&ctx, NodeId::NODE1, &rewind)?;
        assert!(steps.iter().all(|s| s.node == NodeId::NODE1));
        Ok(crate::plan::Plan { steps }.render())
    }

    #[test]
    fn rewind_finishes_crash_recovery_by_hand_before_13_and_lets_pg_rewind_do_it_from_13() {
        let rewind = "$ pg_rewind --target-pgdata=/disk1/data \
                      --source-server='host=172.16.3.102 port=5432 user=postgres dbname=postgres'";
        let single =
            "postgres --single -D /disk1/data -c wal_keep_segments=2147483647 template1 </dev/null";
        let checkpoint = "$ psql -X -d 'host=172.16.3.102 port=5432 user=postgres dbname=postgres' -c CHECKPOINT\n";
        let archive = "restore_command = 'cp /disk3/archive/%f \"%p\" 2> /dev/null'\n";
        for v in ["9.5", "12"] {
            let plan = rewind_on(v).unwrap();
            assert!(plan.contains(&format!("{rewind}\n")), "{v}: {plan}");
            assert!(
                plan.contains("if LC_ALL=C pg_controldata /disk1/data | grep -q '^Database cluster state: *shut down'; then"),
                "{v}: {plan}"
            );
            // single-user recovery first, then the source's checkpoint, then the rewind
            let at = |s: &str| {
                plan.find(s)
                    .unwrap_or_else(|| panic!("{v}: no {s:?} in {plan}"))
            };
            assert!(
                at(single) < at(checkpoint) && at(checkpoint) < at(rewind),
                "{v}: {plan}"
            );
            assert!(
                !plan.contains("--restore-target-wal") && !plan.contains(archive),
                "{v}: {plan}"
            );
        }
        for v in ["13", "15"] {
            let plan = rewind_on(v).unwrap();
            let at = |s: &str| {
                plan.find(s)
                    .unwrap_or_else(|| panic!("{v}: no {s:?} in {plan}"))
            };
            assert!(
                plan.contains(&format!("{rewind} --restore-target-wal\n")),
                "{v}: {plan}"
            );
            assert!(
                at(archive) < at(checkpoint) && at(checkpoint) < at(rewind),
                "{v}: {plan}"
            );
            assert!(
                plan.contains("[/disk1/data/postgresql.conf] (append)"),
                "{v}: {plan}"
            );
            assert!(
                !plan.contains("--single") && !plan.contains("pg_controldata"),
                "{v}: {plan}"
            );
        }
        for v in ["9.3", "9.4"] {
            assert_eq!(
                rewind_on(v).unwrap_err().to_string(),
                format!(
                    "PostgreSQL {v} cannot perform this `rewind`: this release has no pg_rewind (it came in 9.5)"
                )
            );
        }
    }

    fn ctx15(lenient: bool) -> Context {
        let dialect = Dialect::for_major("15".parse::<crate::version::PgVersion>().unwrap().major);
        let mut vars = builtin_vars(&dialect, &Topology::default(), "15", "/tmp/run");
        vars.insert("v".into(), "x'; DROP TABLE t; --".into());
        vars.insert("n".into(), "1; touch /tmp/pwned".into());
        Context {
            vars,
            dialect,
            topo: Topology::default(),
            primary: NodeId::NODE1,
            lenient,
        }
    }

    #[test]
    fn values_that_are_not_the_labs_are_quoted_for_the_shell_and_sql() {
        let ctx = ctx15(false);
        let t = |s: &str| Template::parse(s).unwrap();
        assert_eq!(
            ctx.render_shell(&t("ls /disk2/${pg.wal_dir} ${v}"))
                .unwrap(),
            r#"ls /disk2/pg_wal "x'; DROP TABLE t; --""#
        );
        assert_eq!(
            ctx.render_sql(&t("SELECT ${pg.switch_wal}, ${v}")).unwrap(),
            "SELECT pg_switch_wal(), 'x''; DROP TABLE t; --'"
        );
        let mut newline = ctx.clone();
        newline.vars.insert("v".into(), "1\n; DROP TABLE t".into());
        assert!(matches!(
            newline.render_sql(&t("SELECT ${v}")),
            Err(RenderError::Quote(_))
        ));
        let load = Action::Load {
            seconds: t("${n}"),
            clients: 1,
            background: false,
        };
        assert!(matches!(
            action_steps(&ctx, NodeId::NODE1, &load),
            Err(RenderError::Seconds(_))
        ));
        let runbook = ctx15(true);
        assert_eq!(
            runbook.render_sql(&t("SELECT ${later}")).unwrap(),
            "SELECT ${later}"
        );
        let pitr = Action::Pitr {
            recovery: pg::Recovery {
                target: pg::RecoveryTarget::Time(t("2013-09-24 16:45:04")),
                inclusive: None,
                at_target: None,
            },
            restore_command: Some(t("cp /disk3/archive/%f '%p'")),
        };
        let steps = action_steps(&ctx, NodeId::NODE1, &pitr).unwrap();
        let crate::plan::Op::WriteFile { content, .. } = &steps[0].op else {
            panic!("{steps:?}")
        };
        assert!(content.contains("\nrestore_command = 'cp /disk3/archive/%f ''%p'''\n"));
    }

    #[test]
    fn an_unknown_node_is_an_error_never_the_slave() {
        let dialect = Dialect::for_major("15".parse::<crate::version::PgVersion>().unwrap().major);
        let ctx = Context {
            vars: builtin_vars(&dialect, &Topology::default(), "15", "/tmp/run"),
            dialect,
            topo: Topology::default(),
            primary: NodeId::NODE1,
            lenient: false,
        };
        assert_eq!(
            ctx.node(NodeId::NODE2).unwrap().address,
            ctx.topo.slave.address
        );
        assert_eq!(
            ctx.node(NodeId::new(3).unwrap()).unwrap_err().to_string(),
            "unknown node `node3`: this lab has node1 and node2"
        );
        let action = Action::BaseBackup {
            from: NodeRef::Node(NodeId::new(9).unwrap()),
            to: Template::parse("/disk1/data").unwrap(),
            wal: false,
        };
        assert!(matches!(
            action_steps(&ctx, NodeId::NODE2, &action),
            Err(RenderError::UnknownNode { name, .. }) if name == NodeId::new(9).unwrap()
        ));
    }

    #[test]
    fn run_stamps_are_utc_dates_and_times() {
        let (day, stamp) = (today(), timestamp());
        assert_eq!(day.len(), 8, "{day}");
        assert!(day.chars().all(|c| c.is_ascii_digit()), "{day}");
        let (date, time) = stamp.split_once('-').expect("YYYYMMDD-HHMMSS");
        assert!(date >= day.as_str() && time.len() == 6, "{stamp} vs {day}");
        assert!(day.starts_with("20"), "{day}");
    }
}
