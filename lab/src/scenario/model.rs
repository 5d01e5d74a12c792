//! The validated drill: what the runner executes, with every name resolved and every value typed.
//!
//! These types are the second stage of reading a drill file (the first is the spanned TOML
//! document walked by `check.rs`). Nothing here can be invalid in a way the parser could have
//! caught: node names are [`NodeRef`]s, durations are [`Duration`]s, regexes compile, variables are
//! defined before they are used. What remains open is what only a run can know (the values of
//! variables, whether PostgreSQL behaves), so strings that may hold `${...}` stay [`Template`]s.
//!
//! The vocabulary (kinds, actions, faults, nodes, built-in variables) is kept here as `const`
//! slices, so that the checker, its error messages and the runner read the same lists.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use strum::{EnumIter, EnumString, IntoStaticStr, VariantNames};

use super::Template;
use crate::node::NodeId;
use crate::plan::User;

/// The nodes of the lab.
pub const NODES: [NodeId; 2] = NodeId::PAIR;

/// The nodes' names, as messages list them (`node1, node2`).
pub fn node_names() -> String {
    NODES.map(NodeId::name).join(", ")
}

/// The replication roles a step may name instead of a node; the runner resolves them when the
/// step runs (after a promotion, `primary` is another node than before).
pub const ROLES: &[&str] = &["primary", "standby"];

/// A step's kind: every step has exactly one of these keys. The one place kinds are named:
/// the key is the variant's name in snake case (`ExpectLog` is `expect_log`), and the checker,
/// its messages, the schema, reports and the runner's dispatch all go through this enum.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, EnumString, IntoStaticStr, VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum Kind {
    /// A shell command.
    Run,
    /// An SQL statement.
    Sql,
    /// A built-in action ([`ActionKind`]).
    Action,
    /// A fault injected or healed.
    Fault,
    /// Wait until a condition holds.
    Wait,
    /// Lines the server log must show.
    ExpectLog,
    /// pg_isready codes the monitor must have seen.
    ExpectMonitor,
    /// A named moment.
    Mark,
    /// A pause.
    Sleep,
    /// Text for the report.
    Note,
}

impl Kind {
    /// The key in drill files.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The step kinds' keys, in the order messages list them.
pub const KINDS: &[&str] = Kind::VARIANTS;

/// A built-in action (`action = NAME`): its name is the variant's in snake case.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, EnumString, IntoStaticStr, VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum ActionKind {
    /// `pg_ctl start`.
    Start,
    /// `pg_ctl stop`.
    Stop,
    /// `pg_ctl promote`.
    Promote,
    /// `pg_basebackup` from another node.
    BaseBackup,
    /// `pg_basebackup` into a local directory.
    LocalBackup,
    /// Directories moved to the spare disk.
    MoveAside,
    /// The WAL directory relinked to its disk.
    LinkWal,
    /// Configured as a standby and started.
    MakeStandby,
    /// Point-in-time recovery.
    Pitr,
    /// pgbench.
    Load,
    /// A backup copied from another node.
    CopyBackup,
    /// The ledger writer started.
    LedgerStart,
    /// The ledger writer pointed at another node.
    LedgerRetarget,
    /// The ledger checked.
    LedgerCheck,
    /// Server settings changed (appended to postgresql.conf), then a reload or a restart.
    Set,
    /// `pg_rewind` from another node (the stopped old master rejoins without a base backup).
    Rewind,
}

impl ActionKind {
    /// The name in drill files.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The built-in actions' names, in the order messages list them.
pub const ACTIONS: &[&str] = ActionKind::VARIANTS;

/// The faults a `fault` step can inject (and heal).
///
/// - `wal-permission`: `chmod u-w` on the WAL directory, the document's simulated WAL-disk
///   failure (SEED-GUIDE §3 step 1); healing gives the permission back.
///
/// The names are the fault catalogue's ([`crate::fault::Fault`]), spelled there once.
pub const FAULTS: &[&str] = &crate::fault::NAMES;

/// The variables every drill may use, besides `profile.KEY` and captures.
///
/// - `pg.wal_dir`: the WAL directory's name in the data directory (`pg_xlog` before 10, then
///   `pg_wal`).
/// - `pg.log_dir`: the server log directory (`pg_log` before 10, then `log`).
/// - `pg.startup_failure`: the log line of a startup process that gives up
///   (`aborting startup due to startup process failure` on 9.3).
/// - `pg.replay_timestamp_function`: `pg_last_xact_replay_timestamp`.
/// - `pg.current_lsn`, `pg.receive_lsn`, `pg.replay_lsn`: the primary's current WAL position
///   and a standby's last received and replayed ones (`pg_current_xlog_location()` … before 10,
///   `pg_current_wal_lsn()` … from 10), as calls.
/// - `pg.lsn_diff`: the name of the function giving the bytes between two positions
///   (`pg_xlog_location_diff` before 10, `pg_wal_lsn_diff` from 10), for `${pg.lsn_diff}(a, b)`.
/// - `pg.replay_pause`, `pg.replay_resume`, `pg.replay_paused`: a standby's replay paused,
///   resumed, and whether it is paused (`pg_xlog_replay_pause()` … before 10,
///   `pg_wal_replay_pause()` … from 10), as calls.
/// - `pg.receive_wal`: the program that streams WAL into a directory, as a standby would
///   (`pg_receivexlog` before 10, `pg_receivewal` from 10).
/// - `pg.version`, `pg.major`: the release under test (`9.3.0`) and its major (`9.3`).
/// - `node1.addr`, `node2.addr`, `primary.addr`, `standby.addr`: IPv4 addresses (roles are
///   resolved when the step runs).
/// - `lab.sync_state`: what `pg_stat_replication.sync_state` shows for the standby in the lab's
///   mode: `sync` with `--sync`, else `async`.
/// - `today`: the run's date as `YYYYMMDD`, as the document names its daily backups.
/// - `run_dir`: the directory on the host where the run's records are kept.
pub const BUILTIN_VARIABLES: &[&str] = &[
    "pg.wal_dir",
    "pg.log_dir",
    "pg.startup_failure",
    "pg.replay_timestamp_function",
    "pg.switch_wal",
    "pg.current_lsn",
    "pg.receive_lsn",
    "pg.replay_lsn",
    "pg.lsn_diff",
    "pg.replay_pause",
    "pg.replay_resume",
    "pg.replay_paused",
    "pg.receive_wal",
    "pg.version",
    "pg.major",
    "node1.addr",
    "node2.addr",
    "primary.addr",
    "standby.addr",
    "lab.sync_state",
    "today",
    "run_dir",
];

/// The seconds a `load` may run (`pgbench -T`): at least one, at most a day. Checked where the
/// value is known (`lab drill check`, per profile) and again when the step is rendered.
pub const LOAD_SECONDS: std::ops::RangeInclusive<u64> = 1..=86_400;

/// The monitor's sampling interval when `[monitor]` gives none (or is absent but a step checks
/// the monitor's history).
pub const DEFAULT_MONITOR_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest readiness-monitor interval, in a drill's `[monitor]` and for `lab monitor
/// --interval`: probing both nodes faster only loads them.
pub const MIN_MONITOR_INTERVAL: Duration = Duration::from_millis(100);

/// How long the monitor samples at `[monitor] after_fault` once a fault step starts: the
/// built-in faults bite within seconds (the WAL-disk fault, after the segment switches, in
/// 4-10 s on 9.3.5 and 15), and a fast monitor only loads the nodes.
pub const FAULT_WATCH: Duration = Duration::from_secs(30);

/// The longest readiness-monitor interval (an hour): a slower monitor sees nothing.
pub const MAX_MONITOR_INTERVAL: Duration = Duration::from_secs(3600);

/// The longest `sleep` or `timeout` of a step (a day): a drill is rehearsed in one sitting.
pub const MAX_STEP_DURATION: Duration = Duration::from_secs(24 * 3600);

/// A drill, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    /// Short name (`[a-z0-9-]+`), used for run directories and reports.
    pub name: String,
    /// One-line title.
    pub title: String,
    /// What the drill proves, in one or more sentences.
    pub proves: String,
    /// Where the procedure comes from (e.g. `report chapter 3, pp.21-44`).
    pub source: Option<String>,
    /// The monitor's sampling interval, if the drill monitors readiness: set by `[monitor]`, or
    /// [`DEFAULT_MONITOR_INTERVAL`] when a step checks the monitor without a `[monitor]` table.
    pub monitor: Option<Duration>,
    /// `[monitor] after_fault`: the monitor's interval for [`FAULT_WATCH`] after each fault step
    /// starts, so that a state that lasts about a second (the master rejecting connections while
    /// it recovers, between accepting and no response) is seen, which the slower `interval`
    /// misses.
    pub monitor_after_fault: Option<Duration>,
    /// Profiles by name, each mapping variable names (without the `profile.` prefix) to values.
    /// Empty, or holding `default` and profiles that all define the same keys.
    pub profiles: BTreeMap<String, BTreeMap<String, String>>,
    /// The steps, in file order; at least one.
    pub steps: Vec<Step>,
    /// What the drill needs of the lab it brings up (`[lab]`).
    pub lab: LabNeeds,
    /// The size of the drill file in bytes: what a runbook's length is bounded by.
    pub source_bytes: usize,
}

/// What a drill needs of a fresh lab, beyond chapter 1 (`[lab]` in a drill file). A flag given
/// to `lab drill run` wins; a reused lab (`--reuse`) is taken as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabNeeds {
    /// `wal_disk_size = "256m"`: each node's WAL disk is a tmpfs of this many bytes, as
    /// `--wal-disk-size` makes it (the `wal-full` fault fills it).
    pub wal_disk_size: Option<i64>,
    /// `settings = { max_prepared_transactions = 10 }`: server settings on both servers from
    /// chapter 1, as `--set` writes them (a flag's value wins for the same name).
    pub settings: Vec<crate::pg::Setting>,
    /// `data_checksums = true`: `initdb -k`, as `--data-checksums`.
    pub data_checksums: bool,
}

/// One step of a drill.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 0-based position in [`Drill::steps`] (messages and reports say "step `index + 1`").
    pub index: usize,
    /// 1-based line of the step's table (its `[[steps]]` header) in the drill file.
    pub line: usize,
    /// Unique id (`[a-z0-9_-]+`), to refer to the step from the command line.
    pub id: Option<String>,
    /// What the step does, in a few words.
    pub title: String,
    /// The node it acts on; `None` for kinds that act on no node (`mark`, `sleep`, `note`).
    pub on: Option<NodeRef>,
    /// The `timeout` the file gives; `None` means the kind's default
    /// ([`StepKind::default_timeout`], see [`Step::effective_timeout`]).
    pub timeout: Option<Duration>,
    /// The variable this step defines for later steps (`run`: trimmed stdout; `sql`: the first
    /// value).
    pub capture: Option<String>,
    /// A failure is reported but the drill goes on.
    pub optional: bool,
    /// The conditions the step runs under (`when`, one or a list): all must hold; none
    /// runs it always.
    pub when: Vec<When>,
    /// What the step does.
    pub kind: StepKind,
}

/// What a step's `when` can depend on: the lab's replication mode, or a behaviour of the
/// PostgreSQL release under test (answered by the version's dialect, never by comparing
/// version numbers in a drill file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `sync`: the lab runs synchronous replication (`--sync`).
    Sync,
    /// `previous-checkpoint`: the server keeps its previous checkpoint and falls back to it
    /// when the latest checkpoint record cannot be read (before 11), instead of refusing to
    /// start.
    PreviousCheckpoint,
    /// `literal-archive`: the lab runs the report's own `archive_command`
    /// (`--archive-command literal`), which refuses a segment the archive already holds.
    LiteralArchive,
    /// `partial-segment`: after a timeline switch the old timeline's last segment is archived
    /// as `.partial` (from 9.5); before, it is offered to the archive under its plain name,
    /// which the archive may already hold.
    PartialSegment,
    /// `target-immediate`: the release has `recovery_target = 'immediate'` (from 9.4).
    TargetImmediate,
    /// `target-lsn`: the release has `recovery_target_lsn` (from 10).
    TargetLsn,
    /// `target-action`: the release has `recovery_target_action`, and so `shutdown` at the
    /// target (from 9.5; before, `pause_at_recovery_target`).
    TargetAction,
    /// `trigger-file`: a standby can be promoted by creating a trigger file (`trigger_file` in
    /// recovery.conf before 12, `promote_trigger_file` from 12; removed in 16).
    TriggerFile,
    /// `slots`: the release has replication slots (from 9.4).
    Slots,
    /// `apply-delay`: a standby can delay its replay (`recovery_min_apply_delay`, from 9.4).
    ApplyDelay,
    /// `rewind`: the release has `pg_rewind` (from 9.5), which the `rewind` action runs.
    Rewind,
}

impl Condition {
    /// Every condition, in the order of [`Condition::NAMES`].
    pub const ALL: [Condition; 11] = [
        Condition::Sync,
        Condition::LiteralArchive,
        Condition::PreviousCheckpoint,
        Condition::PartialSegment,
        Condition::TargetImmediate,
        Condition::TargetLsn,
        Condition::TargetAction,
        Condition::TriggerFile,
        Condition::Slots,
        Condition::ApplyDelay,
        Condition::Rewind,
    ];
    /// The names used in drill files.
    pub const NAMES: &'static [&'static str] = &[
        "sync",
        "literal-archive",
        "previous-checkpoint",
        "partial-segment",
        "target-immediate",
        "target-lsn",
        "target-action",
        "trigger-file",
        "slots",
        "apply-delay",
        "rewind",
    ];

    /// The name used in drill files.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|c| *c == self).expect("listed")]
    }

    /// Looks a condition up by name.
    pub fn from_name(name: &str) -> Option<Condition> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }

    /// What the condition means, for reports (`true`: it holds).
    pub fn describe(self, holds: bool) -> &'static str {
        match (self, holds) {
            (Condition::Sync, true) => "the lab replicates synchronously",
            (Condition::Sync, false) => "the lab replicates asynchronously",
            (Condition::LiteralArchive, true) => "the lab runs the report's archive_command",
            (Condition::LiteralArchive, false) => {
                "the lab runs its own archive_command (accepts an identical segment)"
            }
            (Condition::PreviousCheckpoint, true) => {
                "this release falls back to its previous checkpoint (before 11)"
            }
            (Condition::PreviousCheckpoint, false) => {
                "this release keeps no previous checkpoint (11 and later)"
            }
            (Condition::PartialSegment, true) => {
                "this release archives the old timeline's last segment as .partial (9.5 and later)"
            }
            (Condition::PartialSegment, false) => {
                "this release archives the old timeline's last segment under its plain name (before 9.5)"
            }
            (Condition::TargetImmediate, true) => {
                "this release has recovery_target = 'immediate' (9.4 and later)"
            }
            (Condition::TargetImmediate, false) => {
                "this release has no recovery_target = 'immediate' (it came in 9.4)"
            }
            (Condition::TargetLsn, true) => "this release has recovery_target_lsn (10 and later)",
            (Condition::TargetLsn, false) => {
                "this release has no recovery_target_lsn (it came in 10)"
            }
            (Condition::TargetAction, true) => {
                "this release has recovery_target_action, shutdown included (9.5 and later)"
            }
            (Condition::TargetAction, false) => {
                "this release has pause_at_recovery_target, no recovery_target_action and no shutdown at the target (before 9.5)"
            }
            (Condition::TriggerFile, true) => {
                "this release promotes a standby by a trigger file (trigger_file, promote_trigger_file from 12; before 16)"
            }
            (Condition::TriggerFile, false) => {
                "this release has no promotion trigger file (promote_trigger_file was removed in 16: use pg_ctl promote)"
            }
            (Condition::Slots, true) => "this release has replication slots (9.4 and later)",
            (Condition::Slots, false) => {
                "this release has no replication slots (they came in 9.4)"
            }
            (Condition::ApplyDelay, true) => {
                "this release can delay a standby's replay, recovery_min_apply_delay (9.4 and later)"
            }
            (Condition::ApplyDelay, false) => {
                "this release cannot delay a standby's replay: no recovery_min_apply_delay (it came in 9.4)"
            }
            (Condition::Rewind, true) => "this release has pg_rewind (9.5 and later)",
            (Condition::Rewind, false) => "this release has no pg_rewind (it came in 9.5)",
        }
    }

    /// Whether the condition holds for a release, when the release alone answers it (the
    /// dialect's answer); `None` for the lab's own conditions (`sync`, `literal-archive`).
    pub fn for_release(self, dialect: &crate::pg::Dialect) -> Option<bool> {
        match self {
            Condition::Sync | Condition::LiteralArchive => None,
            Condition::PreviousCheckpoint => Some(dialect.falls_back_to_previous_checkpoint()),
            Condition::PartialSegment => Some(dialect.archives_partial_segment()),
            Condition::TargetImmediate => Some(dialect.has_recovery_target_immediate()),
            Condition::TargetLsn => Some(dialect.has_recovery_target_lsn()),
            Condition::TargetAction => Some(dialect.has_recovery_target_action()),
            Condition::TriggerFile => Some(dialect.promote_trigger_setting().is_some()),
            Condition::Slots => Some(dialect.has_replication_slots()),
            Condition::ApplyDelay => Some(dialect.has_recovery_min_apply_delay()),
            Condition::Rewind => Some(dialect.has_pg_rewind()),
        }
    }
}

/// `when = "CONDITION"` or `when = "not CONDITION"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    /// What it depends on.
    pub condition: Condition,
    /// Whether the condition must hold (`false` for `not`).
    pub holds: bool,
}

impl When {
    /// Parses `CONDITION` or `not CONDITION`.
    pub fn parse(text: &str) -> Option<When> {
        let (holds, name) = match text.strip_prefix("not ") {
            Some(rest) => (false, rest.trim()),
            None => (true, text.trim()),
        };
        Condition::from_name(name).map(|condition| When { condition, holds })
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.holds {
            f.write_str("not ")?;
        }
        f.write_str(self.condition.as_str())
    }
}

impl Step {
    /// The step's timeout: its own, else its kind's default; `None` for kinds that do not wait.
    pub fn effective_timeout(&self) -> Option<Duration> {
        self.timeout.or_else(|| self.kind.default_timeout())
    }
}

/// A node, named directly or by its current role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRef {
    /// A node by name (one of [`NODES`]).
    Node(NodeId),
    /// Whichever node is the primary when the step runs.
    Primary,
    /// Whichever node is the standby when the step runs.
    Standby,
    /// Every node (only where the kind allows it).
    All,
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Node(name) => name.fmt(f),
            NodeRef::Primary => f.write_str("primary"),
            NodeRef::Standby => f.write_str("standby"),
            NodeRef::All => f.write_str("all"),
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// A shell command (`bash -c`).
    Run {
        /// The command line.
        command: Template,
        /// Who runs it (default `postgres`).
        user: User,
        /// The exit code that passes (default 0); `None` accepts any (always `None` for a
        /// background command, whose exit is not checked).
        expect_exit: Option<i64>,
        /// A regex the output must match (variable values are matched literally).
        expect_output: Option<Template>,
        /// Start it and go on; the runner stops it when the drill ends. Such a command takes
        /// no `capture`, `expect_output` or `expect_exit` other than `"any"`.
        background: bool,
    },
    /// An SQL statement run with `psql`.
    Sql {
        /// The statement.
        sql: Template,
        /// The database (default `postgres`).
        db: String,
        /// The text the first column of the first row must equal (`NULL` for null).
        expect: Option<Template>,
        /// Record the first value, a number, as a measure of the run under this name (shown
        /// in the report's measures beside the ledger's RPO and RTO figures).
        measure: Option<String>,
    },
    /// A built-in procedure.
    Action(Action),
    /// A fault injected, or healed.
    Fault {
        /// The fault, resolved by the checker.
        fault: crate::fault::Fault,
        /// Heal instead of inject.
        heal: bool,
    },
    /// Wait until a condition holds (default timeout 60 s).
    Wait(WaitFor),
    /// Every line must appear in the node's server log, in any order.
    ExpectLog {
        /// Regexes (variable values are matched literally).
        lines: Vec<Template>,
        /// Look only after this mark; `None` means since the drill started.
        since: Option<String>,
    },
    /// The monitor must have seen these pg_isready codes, in this order, as a subsequence of its
    /// history with repeats collapsed.
    ExpectMonitor {
        /// Codes 0 (accepting), 1 (rejecting), 2 (no response).
        codes: Vec<u8>,
        /// Look only after this mark; `None` means since the drill started.
        since: Option<String>,
        /// The node whose readiness is checked; `None` means the step's `on`.
        of: Option<NodeRef>,
    },
    /// Record the positions of every server log and of the monitor history under this name.
    Mark(String),
    /// Do nothing for a while.
    Sleep(Duration),
    /// Text for the report; nothing runs.
    Note(String),
}

impl StepKind {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            StepKind::Run { .. } => Kind::Run,
            StepKind::Sql { .. } => Kind::Sql,
            StepKind::Action(_) => Kind::Action,
            StepKind::Fault { .. } => Kind::Fault,
            StepKind::Wait(_) => Kind::Wait,
            StepKind::ExpectLog { .. } => Kind::ExpectLog,
            StepKind::ExpectMonitor { .. } => Kind::ExpectMonitor,
            StepKind::Mark(_) => Kind::Mark,
            StepKind::Sleep(_) => Kind::Sleep,
            StepKind::Note(_) => Kind::Note,
        }
    }

    /// The kind's key in the file (one of [`KINDS`]).
    pub fn key(&self) -> &'static str {
        self.kind().name()
    }

    /// The action, for an action step.
    pub fn action(&self) -> Option<&Action> {
        match self {
            StepKind::Action(action) => Some(action),
            StepKind::Run { .. }
            | StepKind::Sql { .. }
            | StepKind::Fault { .. }
            | StepKind::Wait(_)
            | StepKind::ExpectLog { .. }
            | StepKind::ExpectMonitor { .. }
            | StepKind::Mark(_)
            | StepKind::Sleep(_)
            | StepKind::Note(_) => None,
        }
    }
}

/// How the runner performs an action ([`Action::performed`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Performed<'a> {
    /// By the lab's ledger writer, not on a node.
    ByLedger(LedgerAction),
    /// Its commands started on the node and not waited for (a `load` in the background).
    InBackground,
    /// Its commands on the node, waited for.
    Waited {
        /// How long it runs by its own parameters (a `load`'s `seconds`); `None`: until its
        /// work is done.
        runs_for: Option<&'a Template>,
    },
}

/// What an action does to the roles of the node it runs on ([`Action::role_change`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RoleChange<'a> {
    /// Nothing.
    None,
    /// `promote`: the node opens as the primary and is a standby no longer.
    Promoted,
    /// `pitr`: the node opens as a primary that no node follows.
    Recovered,
    /// `make_standby`: the node follows this one.
    Follows(&'a NodeRef),
    /// `base_backup`, `copy_backup`: a backup copied into this directory (into the data
    /// directory, the node is a standby no longer until it is made one again).
    CopiedInto(&'a Template),
    /// `move_aside`: these areas moved aside (the data among them, the node is a standby no
    /// longer until it is made one again).
    MovedAside(&'a [Area]),
    /// `rewind`: the data directory rewound to the source's timeline, with the source's
    /// configuration files and server logs copied over it (the node is a standby no longer until
    /// it is made one again).
    Rewound,
}

/// What the ledger writer does for one of the ledger's actions ([`Action::ledger`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerAction {
    /// `ledger_start`: the writer started against the node.
    Start,
    /// `ledger_retarget`: the writer pointed at the node.
    Retarget,
    /// `ledger_check`: the writer stopped and its history checked against the node's rows.
    Check {
        /// The most acknowledged rows that may be lost ([`Action::LedgerCheck`]).
        max_lost: Option<u64>,
    },
}

/// A built-in procedure, with its parameters (`with = { ... }`).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `pg_ctl start`.
    Start,
    /// `pg_ctl -m MODE stop`.
    Stop {
        /// The shutdown mode (default fast).
        mode: StopMode,
        /// The mode to try if `mode` fails (the document: fast, else immediate).
        fallback: Option<StopMode>,
    },
    /// Promote the standby: `pg_ctl promote`, or by its trigger file.
    Promote {
        /// How (default `pg_ctl promote`).
        method: PromoteMethod,
    },
    /// `pg_basebackup` from another node into this one.
    BaseBackup {
        /// The node copied.
        from: NodeRef,
        /// The target directory (default `/disk1/data`).
        to: Template,
        /// Include the WAL (`--xlog` / `-X stream`); default false.
        wal: bool,
    },
    /// `pg_basebackup -h 127.0.0.1` into a local directory.
    LocalBackup {
        /// The target directory.
        to: Template,
    },
    /// Move the node's data, WAL and/or archive directories aside and recreate them empty.
    MoveAside {
        /// Where to (under `/disk4/`).
        to: Template,
        /// What to move (default all three, in this order).
        what: Vec<Area>,
    },
    /// Replace the data directory's WAL directory by a link to `/disk2`.
    LinkWal,
    /// Configure the node as a standby and start it.
    MakeStandby {
        /// The primary it follows.
        of: NodeRef,
        /// `recovery_target_timeline = 'latest'` (else the version's default).
        latest_timeline: bool,
        /// The `restore_command` (else the lab's, `lab up --restore-command`): `literal`, the
        /// document's copy from the node's own WAL directory, lets a standby find only the
        /// timelines it already knows, as the document's switchback did (§3 step 6).
        restore: Option<crate::pg::RestoreCommand>,
        /// `recovery_min_apply_delay`: the standby applies each commit this long after the
        /// primary made it (a delayed standby, from 9.4); `None`: at once.
        apply_delay: Option<Duration>,
    },
    /// Configure a point-in-time recovery (the server is started by a later step).
    Pitr {
        /// Exactly one target (`target_time`, `target_name`, `target_xid`, `target_lsn` or
        /// `target = "immediate"`), `inclusive` and `at_target`.
        recovery: crate::pg::Recovery<Template>,
        /// `restore_command` (default: the lab's local archive copy).
        restore_command: Option<Template>,
    },
    /// Run pgbench.
    Load {
        /// `pgbench -T`: a number of seconds, or a template that renders to one.
        seconds: Template,
        /// `pgbench -c` (default 2).
        clients: u32,
        /// Started and not waited for (its exit not checked), like a `run` step's `background`.
        background: bool,
    },
    /// Copy a backup taken on another node into this one.
    CopyBackup {
        /// The node holding the backup.
        from: NodeRef,
        /// The backup's directory on `from`.
        backup: Template,
        /// The target directory (default `/disk1/data`).
        to: Template,
    },
    /// Start the ledger writer against this node: numbered rows, one per transaction, each
    /// acknowledgement recorded with its time (the measure of what a failover loses).
    LedgerStart,
    /// Point the ledger writer at this node (the new primary after a failover).
    LedgerRetarget,
    /// Stop the writer and check its history against the rows present on this node: lost
    /// acknowledged rows (RPO), rows present but never acknowledged, duplicates, and the RTO
    /// phases. Fails when more than `max_lost` acknowledged rows are missing, and, in
    /// synchronous mode, when any is.
    LedgerCheck {
        /// The most acknowledged rows that may be lost (no limit when absent, in async mode).
        max_lost: Option<u64>,
    },
    /// Change server settings: append them to postgresql.conf (a later line wins, on every
    /// version: 9.3 has no ALTER SYSTEM) and reload or restart the server.
    Set {
        /// The settings, each checked ([`crate::pg::setting`]).
        settings: Vec<crate::pg::Setting>,
        /// How the server takes them (default reload).
        apply: Apply,
    },
    /// `pg_rewind` of this (stopped) node's data directory from a running node: the blocks
    /// changed since the timelines forked are copied back from the source, so that the old
    /// master can follow the new one without a base backup. From 9.5 ([`Condition::Rewind`]);
    /// the target needs data checksums or `wal_log_hints`.
    Rewind {
        /// The running server rewound from (the new primary).
        from: NodeRef,
    },
}

impl Action {
    /// How the runner performs it: the one place each action says it.
    pub fn performed(&self) -> Performed<'_> {
        match self {
            Action::LedgerStart => Performed::ByLedger(LedgerAction::Start),
            Action::LedgerRetarget => Performed::ByLedger(LedgerAction::Retarget),
            Action::LedgerCheck { max_lost } => Performed::ByLedger(LedgerAction::Check {
                max_lost: *max_lost,
            }),
            Action::Load {
                background: true, ..
            } => Performed::InBackground,
            Action::Load { seconds, .. } => Performed::Waited {
                runs_for: Some(seconds),
            },
            Action::Start
            | Action::Stop { .. }
            | Action::Promote { .. }
            | Action::BaseBackup { .. }
            | Action::LocalBackup { .. }
            | Action::MoveAside { .. }
            | Action::LinkWal
            | Action::MakeStandby { .. }
            | Action::Pitr { .. }
            | Action::CopyBackup { .. }
            | Action::Set { .. }
            | Action::Rewind { .. } => Performed::Waited { runs_for: None },
        }
    }

    /// What the ledger writer does, when the writer performs it (start, retarget, check);
    /// `None` for the actions that are commands on a node.
    pub fn ledger(&self) -> Option<LedgerAction> {
        match self.performed() {
            Performed::ByLedger(ledger) => Some(ledger),
            Performed::InBackground | Performed::Waited { .. } => None,
        }
    }

    /// Whether the ledger writer performs it (start, retarget, check), not a command on a node.
    pub fn is_ledger(&self) -> bool {
        self.ledger().is_some()
    }

    /// Whether it is started and not waited for (a `load` in the background), its exit not
    /// checked, like a `run` step's `background`.
    pub fn in_background(&self) -> bool {
        matches!(self.performed(), Performed::InBackground)
    }

    /// How long it runs by its own parameters when it is waited for: a foreground `load`'s
    /// `seconds` (`pgbench -T`). `None` for the others, which end when their work is done.
    pub fn runs_for(&self) -> Option<&Template> {
        match self.performed() {
            Performed::Waited { runs_for } => runs_for,
            Performed::ByLedger(_) | Performed::InBackground => None,
        }
    }

    /// Whether it replaces a node's data directory (moved aside, a backup copied in, or rewound
    /// from another node's, whose log directory pg_rewind copies too), so that the server log
    /// files found there afterwards came with the data.
    pub fn moves_data(&self) -> bool {
        match self.role_change() {
            RoleChange::CopiedInto(_) | RoleChange::MovedAside(_) | RoleChange::Rewound => true,
            RoleChange::None
            | RoleChange::Promoted
            | RoleChange::Recovered
            | RoleChange::Follows(_) => false,
        }
    }

    /// What it does to the roles of the node it runs on: the one place each action says it
    /// (read by [`super::primary_after`], the checker's role tracking and the runner).
    pub fn role_change(&self) -> RoleChange<'_> {
        match self {
            Action::Promote { .. } => RoleChange::Promoted,
            Action::Pitr { .. } => RoleChange::Recovered,
            Action::MakeStandby { of, .. } => RoleChange::Follows(of),
            Action::BaseBackup { to, .. } | Action::CopyBackup { to, .. } => {
                RoleChange::CopiedInto(to)
            }
            Action::MoveAside { what, .. } => RoleChange::MovedAside(what),
            Action::Rewind { .. } => RoleChange::Rewound,
            Action::Start
            | Action::Stop { .. }
            | Action::LocalBackup { .. }
            | Action::LinkWal
            | Action::Load { .. }
            | Action::LedgerStart
            | Action::LedgerRetarget
            | Action::LedgerCheck { .. }
            | Action::Set { .. } => RoleChange::None,
        }
    }

    /// The conditions of the release it needs (a `pitr` to an LSN needs `target-lsn`): a
    /// step of it runs only where they hold, and a drill checked for a release without one is
    /// refused unless the step's `when` asks for it (then it is skipped there).
    pub fn needs(&self) -> Vec<Condition> {
        let recovery = match self {
            Action::Pitr { recovery, .. } => recovery,
            Action::Rewind { .. } => return vec![Condition::Rewind],
            Action::Promote {
                method: PromoteMethod::TriggerFile,
            } => return vec![Condition::TriggerFile],
            Action::MakeStandby { apply_delay, .. } => {
                return apply_delay
                    .map(|_| Condition::ApplyDelay)
                    .into_iter()
                    .collect()
            }
            Action::Start
            | Action::Stop { .. }
            | Action::Promote {
                method: PromoteMethod::PgCtl,
            }
            | Action::BaseBackup { .. }
            | Action::LocalBackup { .. }
            | Action::MoveAside { .. }
            | Action::LinkWal
            | Action::Load { .. }
            | Action::CopyBackup { .. }
            | Action::LedgerStart
            | Action::LedgerRetarget
            | Action::LedgerCheck { .. }
            | Action::Set { .. } => return Vec::new(),
        };
        let target = match recovery.target.kind() {
            crate::pg::TargetKind::Immediate => Some(Condition::TargetImmediate),
            crate::pg::TargetKind::Lsn => Some(Condition::TargetLsn),
            crate::pg::TargetKind::Time
            | crate::pg::TargetKind::Name
            | crate::pg::TargetKind::Xid => None,
        };
        let shutdown = (recovery.at_target == Some(crate::pg::TargetAction::Shutdown))
            .then_some(Condition::TargetAction);
        target.into_iter().chain(shutdown).collect()
    }

    /// Which action it is.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Start => ActionKind::Start,
            Action::Stop { .. } => ActionKind::Stop,
            Action::Promote { .. } => ActionKind::Promote,
            Action::BaseBackup { .. } => ActionKind::BaseBackup,
            Action::LocalBackup { .. } => ActionKind::LocalBackup,
            Action::MoveAside { .. } => ActionKind::MoveAside,
            Action::LinkWal => ActionKind::LinkWal,
            Action::MakeStandby { .. } => ActionKind::MakeStandby,
            Action::Pitr { .. } => ActionKind::Pitr,
            Action::Load { .. } => ActionKind::Load,
            Action::CopyBackup { .. } => ActionKind::CopyBackup,
            Action::LedgerStart => ActionKind::LedgerStart,
            Action::LedgerRetarget => ActionKind::LedgerRetarget,
            Action::LedgerCheck { .. } => ActionKind::LedgerCheck,
            Action::Set { .. } => ActionKind::Set,
            Action::Rewind { .. } => ActionKind::Rewind,
        }
    }

    /// The action's name in the file (one of [`ACTIONS`]).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// How a `set` action's settings take effect; its name in drills is strum's lowercase spelling
/// (the names: `<Apply as VariantNames>::VARIANTS`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, EnumString, IntoStaticStr, VariantNames,
)]
#[strum(serialize_all = "lowercase")]
pub enum Apply {
    /// `pg_ctl reload`: settings of context sighup and below.
    Reload,
    /// `pg_ctl restart`: every setting, postmaster ones too.
    Restart,
}

/// How `promote` promotes a standby; its name in drills is strum's snake_case spelling.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    strum::VariantArray,
    strum::VariantNames,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum PromoteMethod {
    /// `pg_ctl promote` (from 9.1).
    #[default]
    PgCtl,
    /// Create the trigger file the standby watches ([`Condition::TriggerFile`]): the way 9.3's
    /// runbooks promoted beside `pg_ctl promote`.
    TriggerFile,
}

impl PromoteMethod {
    /// The names, in the order of [`PromoteMethod::ALL`].
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;
    /// Every method.
    pub const ALL: &'static [PromoteMethod] = <Self as strum::VariantArray>::VARIANTS;
}

/// A `pg_ctl stop` mode; its name (in drills and in `-m`) is strum's lowercase spelling.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::VariantArray,
    strum::VariantNames,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
pub enum StopMode {
    /// `-m fast`.
    Fast,
    /// `-m smart`.
    Smart,
    /// `-m immediate`.
    Immediate,
}

impl StopMode {
    /// The names, in the order of [`StopMode::ALL`].
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;
    /// Every mode.
    pub const ALL: &'static [StopMode] = <Self as strum::VariantArray>::VARIANTS;

    /// The `-m` argument.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A directory tree of a node that `move_aside` can move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The data directory (`/disk1/data`).
    Data,
    /// The WAL directory (`/disk2/pg_xlog` or `pg_wal`).
    Wal,
    /// The WAL archive (`/disk3/archive`).
    Archive,
}

impl Area {
    /// The names, in the order of [`Area::ALL`].
    pub const NAMES: &'static [&'static str] = &["data", "wal", "archive"];
    /// Every area.
    pub const ALL: [Area; 3] = [Area::Data, Area::Wal, Area::Archive];

    /// The name used in drill files.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Data => "data",
            Area::Wal => "wal",
            Area::Archive => "archive",
        }
    }
}

/// What a `wait` step waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `pg_isready` returns this code (0 accepting, 1 rejecting, 2 no response, 3 no attempt).
    PgIsReady(u8),
    /// The first value of a query equals a text.
    Sql {
        /// The query.
        sql: Template,
        /// The text (`NULL` for null).
        equals: Template,
        /// The database (default `postgres`).
        db: String,
    },
    /// A line matching the regex appears in the server log.
    Log {
        /// The regex (variable values are matched literally).
        pattern: Template,
        /// Look only after this mark; `None` means since the drill started.
        since: Option<String>,
    },
}
