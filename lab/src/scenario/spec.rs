//! What each step kind and each action is, declared once: the keys it takes with their types,
//! whether each is required and what it means; whether it acts on a node (`on`), whether it
//! captures, and how long it may take by default.
//!
//! One entry per kind ([`KindSpec::of`]) and per action ([`ActionSpec::of`]), each a match arm,
//! so that a kind or an action added to the model does not compile until it has one. The
//! checker reads its key checks from here (unknown keys, missing required keys, each value's
//! type: see `check.rs`), the JSON Schema is written from here (`schema.rs`), and the model's
//! default timeouts ([`super::StepKind::default_timeout`]) are these. Pure data: no I/O.

use std::time::Duration;

use super::model::{
    Action, ActionKind, Apply, Area, Kind, PromoteMethod, StepKind, StopMode, ACTIONS, FAULTS,
    LOAD_SECONDS, ROLES,
};
use crate::pg::TargetAction;

/// What a key's value is: the type the checker reads it as (and refuses otherwise) and the
/// schema describes. The checker checks more than the type where it can (names, paths, regexes,
/// variables); the schema says what it can of that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    /// A string (a command, SQL, a title, a note…).
    Text,
    /// A string of lowercase letters, digits, `_` and `-` (an id, a mark).
    Id,
    /// A variable's or a measure's name: `[a-z_][a-z0-9_]*`.
    Variable,
    /// A directory on the lab's disks (`/disk1/` to `/disk4/`), or on the spare disk only
    /// (`/disk4/`); the checker checks more (no `..`, plain path characters).
    Directory {
        /// Only on the spare disk.
        spare: bool,
    },
    /// `true` or `false`.
    Boolean,
    /// A number of `unit`, from `min` to `max` (no upper bound when `None`).
    Count {
        /// What is counted, for messages ("clients").
        unit: &'static str,
        /// The least.
        min: i64,
        /// The most, if there is a most.
        max: Option<i64>,
    },
    /// A pg_isready exit code, 0 to `max`.
    ReadyCode {
        /// 3 (no attempt) where a wait can see it, 2 where the monitor records codes.
        max: u8,
    },
    /// A non-empty array of pg_isready codes, 0 to `max`.
    ReadyCodes {
        /// The highest code allowed.
        max: u8,
    },
    /// A duration string (`500ms`, `10s`, `1m30s`).
    Duration,
    /// One of these names.
    OneOf(&'static [&'static str]),
    /// A node or a role, and `all` (every node) too when `all`.
    Node {
        /// Whether `all` is allowed.
        all: bool,
    },
    /// An exit code (0 to 255) or `"any"`.
    ExitCode,
    /// A non-empty array of regexes.
    Regexes,
    /// A non-empty array of distinct [`Area`] names.
    Areas,
    /// `load`'s `seconds`: a number in [`LOAD_SECONDS`], or a string that makes one.
    Seconds,
    /// `when`: a condition, or an array of them.
    When,
    /// `wait`'s table ([`WAIT_KEYS`]).
    Wait,
    /// An action's `with` table ([`ActionSpec::params`]).
    Params,
    /// A table of server settings (`{ max_prepared_transactions = 10 }`).
    Settings,
}

/// The TOML types a value can have, as far as [`Type`]s tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A string.
    String,
    /// A boolean.
    Boolean,
    /// An integer.
    Integer,
    /// An array.
    Array,
    /// A table.
    Table,
}

impl Type {
    /// The TOML types a value of this type has (anything else is the wrong type).
    pub(super) fn shapes(self) -> &'static [Shape] {
        match self {
            Type::Text
            | Type::Id
            | Type::Variable
            | Type::Directory { .. }
            | Type::Duration
            | Type::OneOf(_)
            | Type::Node { .. } => &[Shape::String],
            Type::Boolean => &[Shape::Boolean],
            Type::Count { .. } | Type::ReadyCode { .. } => &[Shape::Integer],
            Type::ExitCode | Type::Seconds => &[Shape::Integer, Shape::String],
            Type::ReadyCodes { .. } | Type::Regexes | Type::Areas => &[Shape::Array],
            Type::When => &[Shape::String, Shape::Array],
            Type::Wait | Type::Params | Type::Settings => &[Shape::Table],
        }
    }

    /// What a value of this type is, in words, as "`key` must be …" messages say it.
    pub(super) fn expected(self) -> String {
        match self {
            Type::Text | Type::Id | Type::Variable | Type::Directory { .. } | Type::OneOf(_) => {
                "a string".into()
            }
            Type::Boolean => "true or false".into(),
            Type::Count {
                unit,
                min,
                max: Some(max),
            } => format!("a number of {unit} ({min} to {max})"),
            Type::Count {
                unit,
                min,
                max: None,
            } => format!("a number of {unit} ({min} or more)"),
            Type::ReadyCode { max } => {
                let (last, codes) = READY_CODES[..=usize::from(max).min(3)]
                    .split_last()
                    .expect("code 0 at least");
                match codes {
                    [] => format!("a pg_isready code: {last}"),
                    _ => format!("a pg_isready code: {} or {last}", codes.join(", ")),
                }
            }
            Type::ReadyCodes { max } => {
                let codes: Vec<String> = (0..=max).map(|c| c.to_string()).collect();
                format!("an array of pg_isready codes ({})", codes.join(", "))
            }
            Type::Duration => "a duration string such as \"10s\"".into(),
            Type::Node { all } => format!(
                "a node ({}), a role ({}){}",
                super::model::node_names(),
                ROLES.join(", "),
                if all { " or all" } else { "" }
            ),
            Type::ExitCode => "an exit code (0 to 255) or \"any\"".into(),
            Type::Regexes => "an array of regex strings".into(),
            Type::Areas => {
                let names: Vec<String> = Area::NAMES.iter().map(|a| format!("\"{a}\"")).collect();
                format!("an array of {}", names.join(", "))
            }
            Type::Seconds => format!(
                "a number of seconds ({} to {}), or a string such as \"${{profile.load_seconds}}\"",
                LOAD_SECONDS.start(),
                LOAD_SECONDS.end()
            ),
            Type::When => "a condition or an array of conditions".into(),
            Type::Wait => "a table such as { pg_isready = 0 }".into(),
            Type::Params => "a table of parameters such as { mode = \"fast\" }".into(),
            Type::Settings => {
                "a table of settings such as { max_prepared_transactions = 10 }".into()
            }
        }
    }

    /// The type of each item of an array type (a type that is no array: itself).
    pub(super) fn item(self) -> Type {
        match self {
            Type::ReadyCodes { max } => Type::ReadyCode { max },
            Type::Regexes => Type::Text,
            Type::Areas => Type::OneOf(Area::NAMES),
            other => other,
        }
    }

    /// The integers a [`Type::Count`] or a [`Type::ReadyCode`] allows (`None` for other types).
    pub(super) fn range(self) -> Option<std::ops::RangeInclusive<i64>> {
        match self {
            Type::Count { min, max, .. } => Some(min..=max.unwrap_or(i64::MAX)),
            Type::ReadyCode { max } | Type::ReadyCodes { max } => Some(0..=i64::from(max)),
            Type::Text
            | Type::Id
            | Type::Variable
            | Type::Directory { .. }
            | Type::Boolean
            | Type::Duration
            | Type::OneOf(_)
            | Type::Node { .. }
            | Type::ExitCode
            | Type::Regexes
            | Type::Areas
            | Type::Seconds
            | Type::When
            | Type::Wait
            | Type::Params
            | Type::Settings => None,
        }
    }
}

/// pg_isready's exit codes and what each means.
const READY_CODES: [&str; 4] = [
    "0 (accepting)",
    "1 (rejecting)",
    "2 (no response)",
    "3 (no attempt)",
];

/// One key of a step, of a `wait` table or of an action's `with`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeySpec {
    /// The key.
    pub name: &'static str,
    /// Its value's type.
    pub ty: Type,
    /// Whether a step (a table) without it is refused.
    pub required: bool,
    /// What it means, for the schema (editors show it); `None` where the schema has said
    /// nothing so far (`wait`, `pg_isready`, a few action parameters).
    pub about: Option<&'static str>,
}

/// An optional key.
const fn key(name: &'static str, ty: Type, about: &'static str) -> KeySpec {
    KeySpec {
        name,
        ty,
        required: false,
        about: Some(about),
    }
}

/// A required key.
const fn required(name: &'static str, ty: Type, about: &'static str) -> KeySpec {
    KeySpec {
        required: true,
        ..key(name, ty, about)
    }
}

/// An optional key without a description.
const fn bare(name: &'static str, ty: Type) -> KeySpec {
    KeySpec {
        name,
        ty,
        required: false,
        about: None,
    }
}

/// What a node or a role is, where a key names one.
const NODE_ABOUT: &str = "A node, or a role resolved when the step runs.";

/// Every step's title.
const TITLE: KeySpec = required(
    "title",
    Type::Text,
    "What the step does, as reports show it.",
);
/// `id`.
const ID: KeySpec = key(
    "id",
    Type::Id,
    "An identifier other steps and reports refer to.",
);
/// `optional`.
const OPTIONAL: KeySpec = key(
    "optional",
    Type::Boolean,
    "A failure of this step does not fail the drill.",
);
/// `when`, on a step or on a `use`.
pub(super) const WHEN: KeySpec = key(
    "when",
    Type::When,
    "Run the step only when these hold (else it is skipped as not applying).",
);
/// `timeout`, for the kinds that have a [`Timeout`].
const TIMEOUT: KeySpec = key("timeout", Type::Duration, "How long the step may take.");
/// `capture`, for the kinds that capture.
const CAPTURE: KeySpec = key(
    "capture",
    Type::Variable,
    "Keep the output as ${NAME} for later steps.",
);

/// The keys every step may have, whatever its kind.
const COMMON: [KeySpec; 4] = [TITLE, ID, OPTIONAL, WHEN];

/// `db`, of `sql` and of `wait`.
const DB: KeySpec = key("db", Type::Text, "The database (default postgres).");
/// `since`: a mark set by an earlier step.
const SINCE: KeySpec = key("since", Type::Text, "A mark set by an earlier step.");
/// `expect_monitor`'s codes: the monitor records 0 to 2 (it always attempts).
pub(super) const MONITOR_CODES: Type = Type::ReadyCodes { max: 2 };

/// Whether a step kind takes `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum On {
    /// It acts on no node.
    No,
    /// It acts on one node.
    One,
    /// It acts on one node or on all of them.
    OneOrAll,
}

/// How long a step of a kind may take when it gives no `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timeout {
    /// It does not wait: no `timeout` key, no bound.
    No,
    /// This long.
    After(Duration),
    /// As long as its action's [`ActionSpec::timeout`].
    ByAction,
}

impl Timeout {
    /// The default for a step of this kind, which is `action` when it is an action step.
    pub(super) fn of(self, action: Option<ActionKind>) -> Option<Duration> {
        match self {
            Timeout::No => None,
            Timeout::After(d) => Some(d),
            Timeout::ByAction => action.map(|a| ActionSpec::of(a).timeout),
        }
    }
}

/// One step kind: its own key's value, the keys it takes besides the common ones, `on`,
/// whether it captures and its default timeout.
#[derive(Debug, Clone, Copy)]
pub(super) struct KindSpec {
    /// The kind.
    pub kind: Kind,
    /// The kind's own key (`run = …`): its type and what it means.
    pub value: Type,
    /// What the kind's value means, for the schema.
    pub about: Option<&'static str>,
    /// The keys besides the common ones (`title`, `on`, `timeout`, `capture`, `id`,
    /// `optional`, `when`) and the kind's own.
    pub extra: &'static [KeySpec],
    /// Whether it acts on a node (then `on` is required).
    pub on: On,
    /// Whether it takes `capture`.
    pub captures: bool,
    /// Its default timeout (and whether it takes `timeout` at all).
    pub timeout: Timeout,
}

/// Seconds as a [`Duration`], in a table.
const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A default timeout of `s` seconds.
const fn after(s: u64) -> Timeout {
    Timeout::After(secs(s))
}

impl KindSpec {
    /// The one table entry of `kind`.
    pub(super) fn of(kind: Kind) -> KindSpec {
        match kind {
            Kind::Run => Self::RUN,
            Kind::Sql => Self::SQL,
            Kind::Action => Self::ACTION,
            Kind::Fault => Self::FAULT,
            Kind::Wait => Self::WAIT,
            Kind::ExpectLog => Self::EXPECT_LOG,
            Kind::ExpectMonitor => Self::EXPECT_MONITOR,
            Kind::Mark => Self::MARK,
            Kind::Sleep => Self::SLEEP,
            Kind::Note => Self::NOTE,
        }
    }

    const RUN: KindSpec = KindSpec {
        kind: Kind::Run,
        value: Type::Text,
        about: Some("A shell command."),
        extra: &[
            key(
                "user",
                Type::OneOf(&["postgres", "root"]),
                "Who runs the command (default postgres).",
            ),
            key(
                "expect_exit",
                Type::ExitCode,
                "The exit code expected (default 0), or \"any\".",
            ),
            key(
                "expect_output",
                Type::Text,
                "A regex the output must match.",
            ),
            key("background", Type::Boolean, "Run until the drill ends."),
        ],
        on: On::OneOrAll,
        captures: true,
        timeout: after(600),
    };

    const SQL: KindSpec = KindSpec {
        kind: Kind::Sql,
        value: Type::Text,
        about: Some("An SQL statement."),
        extra: &[
            DB,
            key("expect", Type::Text, "The output expected."),
            key(
                "measure",
                Type::Variable,
                "Record the (numeric) output as a measure of this name in the report.",
            ),
        ],
        on: On::OneOrAll,
        captures: true,
        timeout: after(60),
    };

    const ACTION: KindSpec = KindSpec {
        kind: Kind::Action,
        value: Type::OneOf(ACTIONS),
        about: Some("A built-in action, rendered per version."),
        extra: &[key("with", Type::Params, "The action's parameters.")],
        on: On::OneOrAll,
        captures: false,
        timeout: Timeout::ByAction,
    };

    const FAULT: KindSpec = KindSpec {
        kind: Kind::Fault,
        value: Type::OneOf(FAULTS),
        about: Some("A fault of `lab fault list`."),
        extra: &[key("heal", Type::Boolean, "Undo the fault instead.")],
        on: On::One,
        captures: false,
        timeout: after(60),
    };

    const WAIT: KindSpec = KindSpec {
        kind: Kind::Wait,
        value: Type::Wait,
        about: None,
        extra: &[],
        on: On::OneOrAll,
        captures: false,
        timeout: after(60),
    };

    const EXPECT_LOG: KindSpec = KindSpec {
        kind: Kind::ExpectLog,
        value: Type::Regexes,
        about: Some("Regexes the server log must show, in order."),
        extra: &[SINCE],
        on: On::One,
        captures: false,
        timeout: after(30),
    };

    const EXPECT_MONITOR: KindSpec = KindSpec {
        kind: Kind::ExpectMonitor,
        value: MONITOR_CODES,
        about: Some("pg_isready codes the monitor must have seen, in order."),
        extra: &[SINCE, key("of", NODE, NODE_ABOUT)],
        on: On::One,
        captures: false,
        timeout: after(30),
    };

    const MARK: KindSpec = KindSpec {
        kind: Kind::Mark,
        value: Type::Id,
        about: Some("A name for this moment."),
        extra: &[],
        on: On::No,
        captures: false,
        timeout: Timeout::No,
    };

    const SLEEP: KindSpec = KindSpec {
        kind: Kind::Sleep,
        value: Type::Duration,
        about: Some("How long to pause."),
        extra: &[],
        on: On::No,
        captures: false,
        timeout: Timeout::No,
    };

    const NOTE: KindSpec = KindSpec {
        kind: Kind::Note,
        value: Type::Text,
        about: Some("A note for the report."),
        extra: &[],
        on: On::No,
        captures: false,
        timeout: Timeout::No,
    };

    /// Every kind's, in the order of [`Kind`].
    pub(super) fn all() -> impl Iterator<Item = KindSpec> {
        <Kind as strum::IntoEnumIterator>::iter().map(KindSpec::of)
    }

    /// The kind's key.
    pub(super) fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The kind's own key, as a key: required (a step of this kind has it by definition).
    pub(super) fn own_key(&self) -> KeySpec {
        KeySpec {
            name: self.name(),
            ty: self.value,
            required: true,
            about: self.about,
        }
    }

    /// `on` for this kind, if it takes one (then it is required).
    pub(super) fn on_key(&self) -> Option<KeySpec> {
        let all = match self.on {
            On::No => return None,
            On::One => false,
            On::OneOrAll => true,
        };
        Some(required("on", Type::Node { all }, NODE_ABOUT))
    }

    /// Every key a step of this kind may have, in the order messages list them.
    pub(super) fn keys(&self) -> Vec<KeySpec> {
        let mut keys = vec![TITLE];
        keys.extend(self.on_key());
        if self.timeout != Timeout::No {
            keys.push(TIMEOUT);
        }
        if self.captures {
            keys.push(CAPTURE);
        }
        keys.extend([ID, OPTIONAL, WHEN, self.own_key()]);
        keys.extend(self.extra);
        keys
    }
}

/// The keys every step takes whatever its kind (a step whose kind is not known is checked
/// against these).
pub(super) fn common_keys() -> &'static [KeySpec] {
    &COMMON
}

/// Whether `key` is valid in a step of some kind.
pub(super) fn is_step_key(key: &str) -> bool {
    KindSpec::all().any(|s| s.keys().iter().any(|k| k.name == key))
}

/// `wait`'s `pg_isready`: any of pg_isready's codes, 3 (no attempt) too.
pub(super) const WAIT_READY: Type = Type::ReadyCode { max: 3 };

/// The keys of a `wait` table; exactly one of `pg_isready`, `sql` and `log` (the forms), which
/// the checker requires.
pub(super) const WAIT_KEYS: &[KeySpec] = &[
    bare("pg_isready", WAIT_READY),
    key(
        "sql",
        Type::Text,
        "A query whose output must equal `equals`.",
    ),
    key("equals", Type::Text, "The output waited for."),
    DB,
    key("log", Type::Text, "A regex the server log must show."),
    key(
        "since",
        Type::Text,
        "A mark: the log is searched from there.",
    ),
];

/// One action: the parameters of its `with`, the nodes it may act on and its default timeout.
#[derive(Debug, Clone, Copy)]
pub(super) struct ActionSpec {
    /// The parameters, in the order messages list them.
    pub params: &'static [KeySpec],
    /// Whether it may act on every node at once (`on = "all"`): [`On::OneOrAll`], else
    /// [`On::One`].
    pub on: On,
    /// How long a step of it may take when it gives no `timeout`.
    pub timeout: Duration,
    /// Parameters of which exactly one must be given (`pitr`'s targets); none when empty.
    pub one_of: &'static [&'static str],
}

/// `restore`'s names: [`crate::pg::RestoreCommand`]'s (a test keeps them the same).
const RESTORE_COMMANDS: &[&str] = &["literal", "archive"];

/// `stop`'s `mode` and `fallback`.
const STOP_MODE: Type = Type::OneOf(StopMode::NAMES);
/// A directory parameter.
const DIRECTORY: Type = Type::Directory { spare: false };
/// What a directory parameter is.
const DIRECTORY_ABOUT: &str = "A directory under /disk1/ to /disk4/.";
/// A node parameter (`from`, `of`).
const NODE: Type = Type::Node { all: false };

/// `load`'s `clients`.
pub(super) const CLIENTS: KeySpec = bare(
    "clients",
    Type::Count {
        unit: "clients",
        min: 1,
        max: Some(1000),
    },
);

/// `ledger_check`'s `max_lost`.
pub(super) const MAX_LOST: KeySpec = bare(
    "max_lost",
    Type::Count {
        unit: "rows",
        min: 0,
        max: None,
    },
);

impl ActionSpec {
    /// The one table entry of `action`.
    pub(super) fn of(action: ActionKind) -> ActionSpec {
        match action {
            ActionKind::Start => Self::START,
            ActionKind::Stop => Self::STOP,
            ActionKind::Promote => Self::PROMOTE,
            ActionKind::BaseBackup => Self::BASE_BACKUP,
            ActionKind::LocalBackup => Self::LOCAL_BACKUP,
            ActionKind::MoveAside => Self::MOVE_ASIDE,
            ActionKind::LinkWal => Self::LINK_WAL,
            ActionKind::MakeStandby => Self::MAKE_STANDBY,
            ActionKind::Pitr => Self::PITR,
            ActionKind::Load => Self::LOAD,
            ActionKind::CopyBackup => Self::COPY_BACKUP,
            ActionKind::LedgerStart => Self::LEDGER_START,
            ActionKind::LedgerRetarget => Self::LEDGER_RETARGET,
            ActionKind::LedgerCheck => Self::LEDGER_CHECK,
            ActionKind::Set => Self::SET,
            ActionKind::Rewind => Self::REWIND,
        }
    }

    /// An action on one node, of these parameters, taking `timeout` seconds by default.
    const fn on_one(params: &'static [KeySpec], timeout: u64) -> ActionSpec {
        ActionSpec {
            params,
            on: On::One,
            timeout: secs(timeout),
            one_of: &[],
        }
    }

    const START: ActionSpec = ActionSpec {
        on: On::OneOrAll,
        ..Self::on_one(&[], 300)
    };

    const STOP: ActionSpec = ActionSpec {
        on: On::OneOrAll,
        ..Self::on_one(
            &[
                key("mode", STOP_MODE, "pg_ctl stop -m MODE."),
                key("fallback", STOP_MODE, "pg_ctl stop -m MODE."),
            ],
            300,
        )
    };

    const PROMOTE: ActionSpec = Self::on_one(
        &[key(
            "method",
            Type::OneOf(PromoteMethod::NAMES),
            "pg_ctl (pg_ctl promote, the default) or trigger_file: the lab adds the release's \
             trigger setting (trigger_file in recovery.conf and a restart before 12, \
             promote_trigger_file and a reload from 12; none from 16) and creates the file.",
        )],
        300,
    );

    const BASE_BACKUP: ActionSpec = Self::on_one(
        &[
            required("from", NODE, NODE_ABOUT),
            key("to", DIRECTORY, DIRECTORY_ABOUT),
            bare("wal", Type::Boolean),
        ],
        3600,
    );

    const LOCAL_BACKUP: ActionSpec =
        Self::on_one(&[required("to", DIRECTORY, DIRECTORY_ABOUT)], 3600);

    const MOVE_ASIDE: ActionSpec = Self::on_one(
        &[
            required(
                "to",
                Type::Directory { spare: true },
                "A directory under /disk4/.",
            ),
            bare("what", Type::Areas),
        ],
        3600,
    );

    const LINK_WAL: ActionSpec = Self::on_one(&[], 300);

    const MAKE_STANDBY: ActionSpec = Self::on_one(
        &[
            required("of", NODE, NODE_ABOUT),
            key(
                "timeline",
                Type::OneOf(&["default", "latest"]),
                "recovery_target_timeline.",
            ),
            key(
                "restore",
                Type::OneOf(RESTORE_COMMANDS),
                "The standby's restore_command: literal (the document's, from its own WAL directory) or archive (the lab's).",
            ),
            key(
                "apply_delay",
                Type::Duration,
                "recovery_min_apply_delay: the standby applies each commit this long after the primary made it (a delayed standby), from PostgreSQL 9.4 (when = \"apply-delay\" skips the step before 9.4).",
            ),
        ],
        300,
    );

    const PITR: ActionSpec = ActionSpec {
        one_of: &["target_time", "target_name", "target_xid", "target_lsn", "target"],
        ..Self::on_one(
            &[
                key(
                    "target_time",
                    Type::Text,
                    "recovery_target_time: stop at this time (one target only).",
                ),
                key(
                    "target_name",
                    Type::Text,
                    "recovery_target_name: stop at this restore point, made by pg_create_restore_point() (one target only).",
                ),
                key(
                    "target_xid",
                    Type::Text,
                    "recovery_target_xid: stop at this transaction id (one target only).",
                ),
                key(
                    "target_lsn",
                    Type::Text,
                    "recovery_target_lsn: stop at this WAL position, from PostgreSQL 10 (one target only; when = \"target-lsn\" skips the step before 10).",
                ),
                key(
                    "target",
                    Type::OneOf(&["immediate"]),
                    "recovery_target = 'immediate': stop as soon as the backup is consistent, from 9.4 (one target only; when = \"target-immediate\").",
                ),
                key(
                    "inclusive",
                    Type::Boolean,
                    "recovery_target_inclusive: stop just after the target (true, the default) or just before it; for target_time, target_xid and target_lsn.",
                ),
                key(
                    "at_target",
                    Type::OneOf(TargetAction::NAMES),
                    "What the server does at the target: promote (the default: open on a new timeline), pause (hot_standby on) or shutdown (from 9.5; when = \"target-action\"). pause_at_recovery_target before 9.5, recovery_target_action from 9.5.",
                ),
                key("restore_command", Type::Text, "The restore_command."),
            ],
            3600,
        )
    };

    const LOAD: ActionSpec = Self::on_one(
        &[
            required(
                "seconds",
                Type::Seconds,
                "Seconds (1 to 86400), or a string such as \"${profile.load_seconds}\".",
            ),
            CLIENTS,
            bare("background", Type::Boolean),
        ],
        3600,
    );

    const COPY_BACKUP: ActionSpec = Self::on_one(
        &[
            required("from", NODE, NODE_ABOUT),
            required("backup", DIRECTORY, DIRECTORY_ABOUT),
            key("to", DIRECTORY, DIRECTORY_ABOUT),
        ],
        3600,
    );

    const LEDGER_START: ActionSpec = Self::on_one(&[], 60);

    const LEDGER_RETARGET: ActionSpec = Self::on_one(&[], 60);

    const LEDGER_CHECK: ActionSpec = Self::on_one(&[MAX_LOST], 60);

    /// The parameters a step of the action may give together: all but the second and later
    /// of [`ActionSpec::one_of`] (tests give every parameter at once).
    #[cfg(test)]
    pub(super) fn together(&self) -> Vec<KeySpec> {
        let first = self.one_of.first();
        self.params
            .iter()
            .filter(|p| !self.one_of.contains(&p.name) || Some(&p.name) == first)
            .copied()
            .collect()
    }

    /// The parameters a step of the action must give: the required ones and the first of
    /// [`ActionSpec::one_of`].
    #[cfg(test)]
    pub(super) fn needed(&self) -> Vec<KeySpec> {
        let first = self.one_of.first();
        self.params
            .iter()
            .filter(|p| p.required || Some(&p.name) == first)
            .copied()
            .collect()
    }

    const SET: ActionSpec = ActionSpec {
        on: On::OneOrAll,
        ..Self::on_one(
            &[
                required(
                    "settings",
                    Type::Settings,
                    "Server settings appended to postgresql.conf (a later line wins), such as { hot_standby_feedback = true }.",
                ),
                key(
                    "apply",
                    Type::OneOf(<Apply as strum::VariantNames>::VARIANTS),
                    "reload (default: pg_ctl reload) or restart (pg_ctl restart, for settings that need one).",
                ),
            ],
            300,
        )
    };

    /// `pg_rewind` of the stopped node from a running one: a few seconds on the lab; on a
    /// large database it reads every file's size and copies what changed, so the bound is a
    /// base backup's.
    const REWIND: ActionSpec = Self::on_one(
        &[required(
            "from",
            NODE,
            "The running server to rewind from (the new master), which pg_rewind --source-server reaches as postgres through pg_hba.conf's monitoring line (p.24, md5: its postgres role needs a password the target's ~/.pgpass holds). The node rewound must be stopped; pg_rewind exists from 9.5 (when = \"rewind\" skips the step before).",
        )],
        3600,
    );

    /// The parameter named `name`, if the action takes it.
    pub(super) fn param(&self, name: &str) -> Option<&'static KeySpec> {
        self.params.iter().find(|p| p.name == name)
    }
}

impl StepKind {
    /// How long the step may take when the file gives no `timeout`: its kind's (or its
    /// action's) in the one table; `None` for kinds that take no timeout (`mark`, `sleep`,
    /// `note`). (Here rather than beside [`StepKind`] in the model, which the table reads: the
    /// model does not read the table.)
    ///
    /// For `expect_log` and `expect_monitor` it is how long the runner may wait for what is
    /// expected to show up; for a background `run`, how long starting it may take.
    pub fn default_timeout(&self) -> Option<Duration> {
        KindSpec::of(self.kind())
            .timeout
            .of(self.action().map(Action::kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn restore_names_are_the_restore_commands() {
        let names = crate::pg::RestoreCommand::ALL.map(crate::pg::RestoreCommand::as_str);
        assert_eq!(RESTORE_COMMANDS, names);
    }

    #[test]
    fn the_default_timeouts_are_the_tables() {
        let secs = |k: Kind| Timeout::of(KindSpec::of(k).timeout, None).map(|d| d.as_secs());
        assert_eq!(secs(Kind::Run), Some(600));
        assert_eq!(secs(Kind::Sql), Some(60));
        assert_eq!(secs(Kind::ExpectLog), Some(30));
        assert_eq!(secs(Kind::Note), None);
        for action in ActionKind::iter() {
            let by_action = Timeout::ByAction.of(Some(action));
            assert_eq!(by_action, Some(ActionSpec::of(action).timeout));
        }
    }

    #[test]
    fn no_kind_lists_a_key_twice() {
        for spec in KindSpec::all() {
            let keys = spec.keys();
            for (i, k) in keys.iter().enumerate() {
                assert!(
                    !keys[..i].iter().any(|o| o.name == k.name),
                    "{}: `{}` twice",
                    spec.name(),
                    k.name
                );
            }
        }
        for action in ActionKind::iter() {
            let params = ActionSpec::of(action).params;
            for (i, p) in params.iter().enumerate() {
                assert!(!params[..i].iter().any(|o| o.name == p.name), "{}", p.name);
            }
        }
    }

    #[test]
    fn pitrs_targets_are_its_parameters_and_the_dialects_names() {
        let names: Vec<&str> = crate::pg::TargetKind::ALL
            .iter()
            .map(|k| k.param())
            .collect();
        assert_eq!(ActionSpec::PITR.one_of, names);
        for action in ActionKind::iter() {
            let spec = ActionSpec::of(action);
            for name in spec.one_of {
                assert!(spec.param(name).is_some_and(|p| !p.required), "{name}");
            }
        }
    }

    #[test]
    fn type_phrases_read_as_the_checker_said_them() {
        assert_eq!(
            Type::ReadyCode { max: 3 }.expected(),
            "a pg_isready code: 0 (accepting), 1 (rejecting), 2 (no response) or 3 (no attempt)"
        );
        assert_eq!(
            MONITOR_CODES.expected(),
            "an array of pg_isready codes (0, 1, 2)"
        );
        assert_eq!(CLIENTS.ty.expected(), "a number of clients (1 to 1000)");
        assert_eq!(MAX_LOST.ty.expected(), "a number of rows (0 or more)");
        assert_eq!(
            Type::Areas.expected(),
            "an array of \"data\", \"wal\", \"archive\""
        );
    }
}
