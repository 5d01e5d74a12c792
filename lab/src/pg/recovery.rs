//! A point-in-time recovery's target and what the server does on reaching it, as PostgreSQL
//! names them: `recovery_target_time`, `recovery_target_name`, `recovery_target_xid`,
//! `recovery_target_lsn` and `recovery_target = 'immediate'`, with `recovery_target_inclusive`
//! and the end action (`pause_at_recovery_target` before 9.5, `recovery_target_action` from
//! 9.5). Which of them a release has is the [`super::Dialect`]'s answer.

/// Which recovery target: its name is the drill's parameter (`target_time`, …, and `target`
/// for `immediate`), and `recovery_` before it the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::IntoStaticStr)]
pub enum TargetKind {
    /// `recovery_target_time`: a timestamp.
    #[strum(serialize = "target_time")]
    Time,
    /// `recovery_target_name`: a restore point made by `pg_create_restore_point()`.
    #[strum(serialize = "target_name")]
    Name,
    /// `recovery_target_xid`: a transaction id.
    #[strum(serialize = "target_xid")]
    Xid,
    /// `recovery_target_lsn`: a WAL position (from 10).
    #[strum(serialize = "target_lsn")]
    Lsn,
    /// `recovery_target = 'immediate'`: the end of the backup, as soon as it is consistent
    /// (from 9.4).
    #[strum(serialize = "target")]
    Immediate,
}

impl TargetKind {
    /// Every kind, in the order messages list them.
    pub const ALL: &'static [TargetKind] = <Self as strum::VariantArray>::VARIANTS;
    /// `target`'s one value.
    pub const IMMEDIATE: &'static str = "immediate";

    /// The drill's parameter (`target_time`, `target_name`, `target_xid`, `target_lsn`,
    /// `target`).
    pub fn param(self) -> &'static str {
        self.into()
    }

    /// The setting (`recovery_target_time`, …, `recovery_target`).
    pub fn setting(self) -> String {
        format!("recovery_{}", self.param())
    }

    /// Whether `recovery_target_inclusive` applies (time, xid, lsn: stop just after the
    /// target, or just before it).
    pub fn takes_inclusive(self) -> bool {
        match self {
            TargetKind::Time | TargetKind::Xid | TargetKind::Lsn => true,
            TargetKind::Name | TargetKind::Immediate => false,
        }
    }
}

/// Where a point-in-time recovery stops, with its value (`T`: a drill's template, or the
/// rendered text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryTarget<T> {
    /// A timestamp.
    Time(T),
    /// A restore point's name.
    Name(T),
    /// A transaction id.
    Xid(T),
    /// A WAL position.
    Lsn(T),
    /// As soon as the backup is consistent.
    Immediate,
}

impl<T> RecoveryTarget<T> {
    /// Which target it is.
    pub fn kind(&self) -> TargetKind {
        match self {
            RecoveryTarget::Time(_) => TargetKind::Time,
            RecoveryTarget::Name(_) => TargetKind::Name,
            RecoveryTarget::Xid(_) => TargetKind::Xid,
            RecoveryTarget::Lsn(_) => TargetKind::Lsn,
            RecoveryTarget::Immediate => TargetKind::Immediate,
        }
    }

    /// Its value (`None` for `immediate`, which has none but its name).
    pub fn value(&self) -> Option<&T> {
        match self {
            RecoveryTarget::Time(v)
            | RecoveryTarget::Name(v)
            | RecoveryTarget::Xid(v)
            | RecoveryTarget::Lsn(v) => Some(v),
            RecoveryTarget::Immediate => None,
        }
    }

    /// The same target of `kind` with `value` (`immediate` ignores it).
    pub fn of(kind: TargetKind, value: T) -> Self {
        match kind {
            TargetKind::Time => RecoveryTarget::Time(value),
            TargetKind::Name => RecoveryTarget::Name(value),
            TargetKind::Xid => RecoveryTarget::Xid(value),
            TargetKind::Lsn => RecoveryTarget::Lsn(value),
            TargetKind::Immediate => RecoveryTarget::Immediate,
        }
    }

    /// The same target with its value mapped (a template rendered).
    pub fn try_map<U, E>(
        &self,
        f: impl FnOnce(&T) -> Result<U, E>,
    ) -> Result<RecoveryTarget<U>, E> {
        Ok(match self.value() {
            Some(v) => RecoveryTarget::of(self.kind(), f(v)?),
            None => RecoveryTarget::Immediate,
        })
    }
}

/// What the server does on reaching the target; its name (in drills and in
/// `recovery_target_action`) is strum's lowercase spelling.
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
pub enum TargetAction {
    /// Pause replay (queries allowed: the lab sets `hot_standby = on`); the DBA looks and
    /// resumes or stops.
    Pause,
    /// End recovery and open for writes on a new timeline.
    Promote,
    /// Stop the server (from 9.5).
    Shutdown,
}

impl TargetAction {
    /// The names, in the order of [`TargetAction::ALL`].
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;
    /// Every action.
    pub const ALL: &'static [TargetAction] = <Self as strum::VariantArray>::VARIANTS;

    /// The name, as `recovery_target_action` spells it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A point-in-time recovery's settings besides `restore_command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery<T> {
    /// Where it stops.
    pub target: RecoveryTarget<T>,
    /// `recovery_target_inclusive` (unset: PostgreSQL's default, `true`).
    pub inclusive: Option<bool>,
    /// What the server does there (unset: end recovery and open, as 9.3 does with
    /// `hot_standby = off` and the document expects).
    pub at_target: Option<TargetAction>,
}

/// The settings of `r`'s target, unquoted, in the order they are written: the target, then
/// `recovery_target_inclusive` when given, then the end action as the release spells it
/// (`recovery_target_action`, `'promote'` when none is given, from 9.5; before,
/// `pause_at_recovery_target` when one is given, and `shutdown`, which only
/// `recovery_target_action` can say, written so that the server refuses it rather than
/// opening). Read by the renderer ([`super::pitr_config`]) and by the checks of what it wrote.
pub fn target_settings(dialect: &super::Dialect, r: &Recovery<String>) -> Vec<(String, String)> {
    let kind = r.target.kind();
    let value = r
        .target
        .value()
        .map_or(TargetKind::IMMEDIATE, String::as_str);
    let mut settings = vec![(kind.setting(), value.to_string())];
    if let Some(inclusive) = r.inclusive {
        settings.push(("recovery_target_inclusive".into(), inclusive.to_string()));
    }
    let action = match (r.at_target, dialect.has_recovery_target_action()) {
        (at, true) => Some((
            "recovery_target_action",
            at.unwrap_or(TargetAction::Promote).as_str(),
        )),
        (None, false) => None,
        (Some(TargetAction::Pause), false) => Some(("pause_at_recovery_target", "true")),
        (Some(TargetAction::Promote), false) => Some(("pause_at_recovery_target", "false")),
        (Some(TargetAction::Shutdown), false) => Some(("recovery_target_action", "shutdown")),
    };
    settings.extend(action.map(|(s, v)| (s.to_string(), v.to_string())));
    settings
}
