//! Server settings a lab or a drill sets (`lab up --set NAME=VALUE`, a drill's `[lab] settings`,
//! the `set` action): their names checked, the settings the lab itself must control refused,
//! a setting the version does not have refused with the version that introduced or removed it,
//! and the lines written to `postgresql.conf` (each value through [`conf_value`]).
//!
//! The version facts come from PostgreSQL's release notes (appendix E of the manual), cited
//! beside [`INTRODUCED`] and [`REMOVED`]; these tables are the only place outside the dialect
//! where a setting's existence is compared with a major.

use serde::{Deserialize, Serialize};

use super::Dialect;
use crate::plan::{conf_value, QuoteError};
use crate::text::shorten;
use crate::version::Major;

/// One server setting: `name = 'value'` in `postgresql.conf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// The setting's name, lower-case (PostgreSQL's names are case-insensitive).
    pub name: String,
    /// Its value as written by the user, unquoted.
    pub value: String,
}

/// A setting the lab cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// Not `NAME=VALUE`.
    #[error("`{}`: expected NAME=VALUE, such as max_prepared_transactions=10", shorten(.0, 60))]
    NotAnAssignment(String),
    /// Not a setting's name.
    #[error("`{}` is not a setting's name: letters, digits and `_` (a custom setting: `class.name`), starting with a letter or `_`, at most {MAX_NAME} characters", shorten(.0, 60))]
    Name(String),
    /// A setting the lab controls itself.
    #[error("`{name}` is set by the lab itself: {why}")]
    Controlled {
        /// The setting.
        name: String,
        /// Why, and what to use instead.
        why: &'static str,
    },
    /// A setting introduced after the lab's version.
    #[error("`{name}` does not exist in PostgreSQL {major}: it was introduced in {since}")]
    Introduced {
        /// The setting.
        name: String,
        /// The lab's major.
        major: Major,
        /// The first major that has it.
        since: Major,
    },
    /// A setting removed before (or in) the lab's version.
    #[error("`{name}` does not exist in PostgreSQL {major}: it was removed in {removed}{}", instead_of(.instead))]
    Removed {
        /// The setting.
        name: String,
        /// The lab's major.
        major: Major,
        /// The first major without it.
        removed: Major,
        /// What replaced it, if anything.
        instead: Option<&'static str>,
    },
    /// A recovery setting before 12: it belongs in recovery.conf, not postgresql.conf.
    #[error("`{name}` is a recovery.conf setting in PostgreSQL {major} (a server setting from 12), which a postgresql.conf line would make the server refuse to start with{}", recovery_conf_instead(.name))]
    RecoveryConf {
        /// The setting.
        name: String,
        /// The lab's major.
        major: Major,
    },
    /// The value cannot be written in postgresql.conf.
    #[error(transparent)]
    Quote(#[from] QuoteError),
}

/// Where the lab writes a recovery.conf setting itself, for the message that refuses it.
fn recovery_conf_instead(name: &str) -> &'static str {
    if name == APPLY_DELAY_SETTING {
        " (a delayed standby: make_standby's apply_delay writes it there)"
    } else {
        ""
    }
}

fn instead_of(instead: &Option<&'static str>) -> String {
    instead.map(|i| format!(" (use {i})")).unwrap_or_default()
}

/// The longest name taken (PostgreSQL's own names are far shorter).
pub const MAX_NAME: usize = 63;

const fn major(first: u32, second: u32) -> Major {
    Major { first, second }
}

/// Settings introduced after 9.3, by the major that introduced them. Sources: the release
/// notes of each major (PostgreSQL manual, appendix E, "Server Configuration" and
/// "Replication" items): 9.4 added replication slots (max_replication_slots), wal_log_hints
/// and recovery_min_apply_delay (a recovery.conf setting until 12); 9.5 replaced
/// checkpoint_segments by max_wal_size and min_wal_size and added track_commit_timestamp,
/// wal_compression and wal_retrieve_retry_interval; 9.6 idle_in_transaction_session_timeout;
/// 13 renamed wal_keep_segments wal_keep_size (in megabytes) and added max_slot_wal_keep_size.
const INTRODUCED: &[(Major, &[&str])] = &[
    (
        major(9, 4),
        &[
            "max_replication_slots",
            "wal_log_hints",
            "recovery_min_apply_delay",
        ],
    ),
    (
        major(9, 5),
        &[
            "max_wal_size",
            "min_wal_size",
            "track_commit_timestamp",
            "wal_compression",
            "wal_retrieve_retry_interval",
        ],
    ),
    (major(9, 6), &["idle_in_transaction_session_timeout"]),
    (major(13, 0), &["wal_keep_size", "max_slot_wal_keep_size"]),
];

/// Settings removed, by the major that removed them, and what replaced them. Sources: the
/// release notes of 9.3 (replication_timeout renamed wal_sender_timeout; listed although 9.3
/// is the oldest major the lab speaks, so that the message names the new name), 9.5
/// (checkpoint_segments), 13 (wal_keep_segments) and 16 (vacuum_defer_cleanup_age).
const REMOVED: &[(Major, &str, Option<&str>)] = &[
    (
        major(9, 3),
        "replication_timeout",
        Some("wal_sender_timeout"),
    ),
    (major(9, 5), "checkpoint_segments", Some("max_wal_size")),
    (major(13, 0), "wal_keep_segments", Some("wal_keep_size")),
    (major(16, 0), "vacuum_defer_cleanup_age", None),
];

/// Settings before 12 read from recovery.conf only (12 release notes: "recovery.conf settings
/// become server settings"); the lab's own recovery settings are in [`CONTROLLED`].
const RECOVERY_CONF_BEFORE_12: &[&str] = &[
    "recovery_min_apply_delay",
    "primary_slot_name",
    "recovery_target_inclusive",
    "recovery_target_timeline",
    "recovery_end_command",
    "archive_cleanup_command",
];

const LAYOUT: &str = "the lab's layout (/disk1/data, port 5432, the pair's addresses) is the document's, and its steps, checks and connections depend on it";
const ARCHIVING: &str =
    "the master archives WAL as chapter 1 sets up (choose the command with --archive-command)";
const REPLICATION: &str =
    "chapter 1's replication needs it as the dialect writes it (document p.13)";
const RECOVERY: &str = "the lab writes the recovery settings itself (the standby's configuration, the pitr action's targets, --restore-command)";
const LOGGING: &str = "the drills read the server log where and as the lab writes it (document p.9), and their log assertions depend on it";

/// Settings the lab itself sets, and why a drill or flag may not.
const CONTROLLED: &[(&str, &str)] = &[
    ("port", LAYOUT),
    ("listen_addresses", LAYOUT),
    ("data_directory", LAYOUT),
    ("config_file", LAYOUT),
    ("hba_file", LAYOUT),
    ("ident_file", LAYOUT),
    ("unix_socket_directories", LAYOUT),
    ("unix_socket_directory", LAYOUT),
    ("archive_mode", ARCHIVING),
    ("archive_command", ARCHIVING),
    ("wal_level", REPLICATION),
    ("max_wal_senders", REPLICATION),
    ("hot_standby", REPLICATION),
    (
        "synchronous_standby_names",
        "--sync sets it (both nodes' names)",
    ),
    ("primary_conninfo", RECOVERY),
    ("restore_command", RECOVERY),
    ("standby_mode", RECOVERY),
    ("trigger_file", RECOVERY),
    ("promote_trigger_file", RECOVERY),
    ("recovery_target", RECOVERY),
    ("recovery_target_name", RECOVERY),
    ("recovery_target_time", RECOVERY),
    ("recovery_target_xid", RECOVERY),
    ("recovery_target_lsn", RECOVERY),
    ("recovery_target_action", RECOVERY),
    ("pause_at_recovery_target", RECOVERY),
    ("logging_collector", LOGGING),
    ("log_directory", LOGGING),
    ("log_filename", LOGGING),
    ("log_destination", LOGGING),
    ("log_rotation_age", LOGGING),
    ("log_rotation_size", LOGGING),
    ("log_truncate_on_rotation", LOGGING),
    ("lc_messages", LOGGING),
    (
        "data_checksums",
        "it is chosen at initdb: use --data-checksums or [lab] data_checksums = true",
    ),
];

/// Whether `name` is a setting's name: `[A-Za-z_][A-Za-z0-9_]*`, or two such words joined by a
/// dot (a custom setting), at most [`MAX_NAME`] characters.
pub fn check_name(name: &str) -> Result<(), SettingError> {
    let word = |w: &str| {
        w.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let ok = name.len() <= MAX_NAME
        && match name.split_once('.') {
            Some((class, rest)) => word(class) && word(rest),
            None => word(name),
        };
    if ok {
        Ok(())
    } else {
        Err(SettingError::Name(name.to_string()))
    }
}

/// A setting whose name is checked (lower-cased) and whose value can be written in
/// postgresql.conf; whether the version has it is [`check`]'s.
pub fn setting(name: &str, value: &str) -> Result<Setting, SettingError> {
    check_name(name)?;
    let name = name.to_ascii_lowercase();
    if let Some((_, why)) = CONTROLLED.iter().find(|(n, _)| *n == name) {
        return Err(SettingError::Controlled { name, why });
    }
    conf_value(&name, value)?;
    Ok(Setting {
        name,
        value: value.to_string(),
    })
}

/// `--set NAME=VALUE`: the value is everything after the first `=`.
pub fn parse_assignment(s: &str) -> Result<Setting, SettingError> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| SettingError::NotAnAssignment(s.to_string()))?;
    setting(name.trim(), value)
}

/// Whether `dialect`'s major has `setting` as a postgresql.conf setting.
pub fn check(dialect: &Dialect, setting: &Setting) -> Result<(), SettingError> {
    let major = dialect.major();
    let name = &setting.name;
    let introduced = INTRODUCED
        .iter()
        .find(|(_, names)| names.contains(&name.as_str()));
    if let Some(&(since, _)) = introduced.filter(|(since, _)| major < *since) {
        return Err(SettingError::Introduced {
            name: name.clone(),
            major,
            since,
        });
    }
    let gone = REMOVED
        .iter()
        .find(|(removed, n, _)| n == name && major >= *removed);
    if let Some(&(removed, _, instead)) = gone {
        return Err(SettingError::Removed {
            name: name.clone(),
            major,
            removed,
            instead,
        });
    }
    if dialect.uses_recovery_conf() && RECOVERY_CONF_BEFORE_12.contains(&name.as_str()) {
        return Err(SettingError::RecoveryConf {
            name: name.clone(),
            major,
        });
    }
    Ok(())
}

/// The postgresql.conf lines of `settings`, each `name = 'value'` ([`conf_value`]); a later
/// line wins over an earlier one of the same name, so appending them changes a setting.
pub fn conf_lines(settings: &[Setting]) -> Result<String, QuoteError> {
    conf_pairs(settings.iter().map(|s| (s.name.as_str(), s.value.as_str())))
}

/// The configuration lines `name = 'value'` of `(name, value)` pairs, each value through
/// [`conf_value`]: the one way the lab writes settings into postgresql.conf or recovery.conf.
pub fn conf_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<String, QuoteError> {
    let mut out = String::new();
    for (name, value) in pairs {
        out.push_str(&format!("{name} = {}\n", conf_value(name, value)?));
    }
    Ok(out)
}

/// A delayed standby's setting (9.4+), which the lab writes with the standby's other recovery
/// settings (`make_standby`'s `apply_delay`), never as a `set`: before 12 it is a recovery.conf
/// setting ([`RECOVERY_CONF_BEFORE_12`]).
pub const APPLY_DELAY_SETTING: &str = "recovery_min_apply_delay";

/// A duration as a time setting's value, in the largest of PostgreSQL's units (`h`, `min`,
/// `s`, `ms`) that says it exactly: `1h`, `90s`, `1500ms`.
pub fn time_value(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    [("h", 3_600_000), ("min", 60_000), ("s", 1_000)]
        .into_iter()
        .find(|(_, unit)| ms % unit == 0 && ms > 0)
        .map_or_else(
            || format!("{ms}ms"),
            |(name, unit)| format!("{}{name}", ms / unit),
        )
}

/// `base` with `over` laid on it: a setting of `over` replaces the one of the same name in
/// place, a new one is added at the end.
pub fn merged(base: &[Setting], over: &[Setting]) -> Vec<Setting> {
    let mut out = base.to_vec();
    for s in over {
        match out.iter_mut().find(|b| b.name == s.name) {
            Some(b) => b.value = s.value.clone(),
            None => out.push(s.clone()),
        }
    }
    out
}

/// Whether `shown` (what `SHOW` / `current_setting` answers) is the value `written`: the same
/// text ignoring case, the same boolean (`on`/`true`/`yes`/`1`), or the same amount in memory
/// (`kB` to `TB`) or time (`ms` to `d`) units. A bare number written for a setting with a unit
/// is in the setting's own unit, which only the server knows: it compares as text.
pub fn shows(shown: &str, written: &str) -> bool {
    let (shown, written) = (shown.trim(), written.trim());
    if shown.eq_ignore_ascii_case(written) {
        return true;
    }
    let boolean = |v: &str| match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    };
    if let (Some(a), Some(b)) = (boolean(shown), boolean(written)) {
        return a == b;
    }
    matches!((amount(shown), amount(written)), (Some(a), Some(b)) if a == b)
}

/// A number with a memory or time unit, in kB or ms (PostgreSQL's unit names, case-sensitive).
fn amount(v: &str) -> Option<(u8, u128)> {
    const UNITS: &[(&str, u8, u128)] = &[
        ("kB", 0, 1),
        ("MB", 0, 1 << 10),
        ("GB", 0, 1 << 20),
        ("TB", 0, 1 << 30),
        ("ms", 1, 1),
        ("s", 1, 1000),
        ("min", 1, 60_000),
        ("h", 1, 3_600_000),
        ("d", 1, 86_400_000),
    ];
    let digits = v.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = v.split_at(digits);
    let n: u128 = n.parse().ok()?;
    let (_, kind, scale) = UNITS.iter().find(|(u, ..)| *u == unit.trim())?;
    Some((*kind, n.checked_mul(*scale)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::PgVersion;

    fn dialect(v: &str) -> Dialect {
        Dialect::for_major(v.parse::<PgVersion>().unwrap().major)
    }

    fn on(v: &str, name: &str) -> Result<(), String> {
        let s = setting(name, "1").map_err(|e| e.to_string())?;
        check(&dialect(v), &s).map_err(|e| e.to_string())
    }

    #[test]
    fn names_are_checked_and_lower_cased() {
        assert_eq!(
            parse_assignment("Max_Prepared_Transactions=10").unwrap(),
            Setting {
                name: "max_prepared_transactions".into(),
                value: "10".into()
            }
        );
        assert_eq!(parse_assignment("a.b=x=y").unwrap().value, "x=y");
        for bad in ["1abc", "a b", "a-b", "a.b.c", "", "a;b", "a'"] {
            assert_eq!(
                check_name(bad),
                Err(SettingError::Name(bad.into())),
                "{bad}"
            );
        }
        assert!(check_name(&"a".repeat(MAX_NAME + 1)).is_err());
        assert!(matches!(
            parse_assignment("work_mem"),
            Err(SettingError::NotAnAssignment(_))
        ));
    }

    #[test]
    fn the_labs_own_settings_are_refused_with_the_reason() {
        for name in [
            "port",
            "Archive_Command",
            "wal_level",
            "logging_collector",
            "data_checksums",
        ] {
            let e = setting(name, "x").unwrap_err();
            assert!(matches!(e, SettingError::Controlled { .. }), "{name}: {e}");
        }
        assert!(setting("log_directory", "x")
            .unwrap_err()
            .to_string()
            .contains("log assertions"));
    }

    #[test]
    fn values_go_through_the_one_conf_quoting() {
        let s = |v: &str| vec![setting("application_name", v).unwrap()];
        assert_eq!(
            conf_lines(&s("it's # not a comment")).unwrap(),
            "application_name = 'it''s # not a comment'\n"
        );
        assert_eq!(
            conf_lines(&s(r"a\b")).unwrap(),
            "application_name = 'a\\\\b'\n"
        );
        let e = setting("application_name", "a\nport = 1").unwrap_err();
        assert!(matches!(e, SettingError::Quote(_)), "{e}");
    }

    #[test]
    fn versions_without_a_setting_name_the_version_that_changed_it() {
        assert_eq!(
            on("9.3", "wal_keep_size").unwrap_err(),
            "`wal_keep_size` does not exist in PostgreSQL 9.3: it was introduced in 13"
        );
        assert_eq!(
            on("15", "wal_keep_segments").unwrap_err(),
            "`wal_keep_segments` does not exist in PostgreSQL 15: it was removed in 13 (use wal_keep_size)"
        );
        assert!(on("9.3", "checkpoint_segments").is_ok());
        assert!(on("9.5", "checkpoint_segments")
            .unwrap_err()
            .contains("removed in 9.5"));
        for name in ["max_replication_slots", "wal_log_hints"] {
            assert!(
                on("9.3", name).unwrap_err().contains("introduced in 9.4"),
                "{name}"
            );
            assert!(on("9.4", name).is_ok(), "{name}");
        }
        for name in ["track_commit_timestamp", "max_wal_size", "min_wal_size"] {
            assert!(
                on("9.4", name).unwrap_err().contains("introduced in 9.5"),
                "{name}"
            );
        }
        assert!(on("12", "max_slot_wal_keep_size")
            .unwrap_err()
            .contains("introduced in 13"));
        assert!(on("9.3", "recovery_min_apply_delay")
            .unwrap_err()
            .contains("9.4"));
        assert!(on("9.4", "recovery_min_apply_delay")
            .unwrap_err()
            .ends_with("recovery.conf setting in PostgreSQL 9.4 (a server setting from 12), which a postgresql.conf line would make the server refuse to start with (a delayed standby: make_standby's apply_delay writes it there)"));
        assert!(on("11", "primary_slot_name")
            .unwrap_err()
            .ends_with("refuse to start with"));
        assert!(on("12", "recovery_min_apply_delay").is_ok());
        for name in [
            "wal_receiver_timeout",
            "wal_sender_timeout",
            "hot_standby_feedback",
        ] {
            assert!(on("9.3", name).is_ok(), "{name}");
        }
        assert!(on("9.3", "replication_timeout")
            .unwrap_err()
            .contains("wal_sender_timeout"));
    }

    #[test]
    fn chapter_one_writes_them_before_the_masters_first_start_per_version() {
        let topo = super::super::Topology {
            settings: vec![setting("max_prepared_transactions", "10").unwrap()],
            data_checksums: true,
            ..Default::default()
        };
        for (v, initdb) in [
            (
                "9.3",
                "initdb -D /disk1/data -X /disk2/pg_xlog -E UTF8 --locale=C -k",
            ),
            (
                "15",
                "initdb -D /disk1/data -X /disk2/pg_wal -E UTF8 --locale=C -k",
            ),
        ] {
            let plan = super::super::setup_plan(&dialect(v), &topo)
                .unwrap()
                .render();
            let (line, first_start) = (
                plan.find("max_prepared_transactions = '10'").expect(v),
                plan.find("start the master (p.9)").expect(v),
            );
            assert!(line < first_start, "{v}:\n{plan}");
            assert!(plan.contains(initdb), "{v}:\n{plan}");
        }
        let plain = super::super::setup_plan(&dialect("15"), &Default::default())
            .unwrap()
            .render();
        assert!(
            !plain.contains(" -k") && !plain.contains("own settings"),
            "{plain}"
        );
    }

    #[test]
    fn shown_values_compare_as_the_server_means_them() {
        assert!(shows("10", "10"));
        assert!(shows("on", "TRUE") && shows("off", "0") && !shows("on", "off"));
        assert!(shows("8MB", "8192kB") && shows("1min", "60s") && shows("1GB", "1024MB"));
        assert!(!shows("8MB", "8GB") && !shows("8MB", "8192") && !shows("1s", "1kB"));
        assert!(shows("it's # x", "it's # x"));
    }

    #[test]
    fn durations_are_written_in_the_largest_exact_unit() {
        let t = |ms| time_value(std::time::Duration::from_millis(ms));
        assert_eq!(t(3_600_000), "1h");
        assert_eq!(t(5_400_000), "90min");
        assert_eq!(t(90_000), "90s");
        assert_eq!(t(1_500), "1500ms");
        assert_eq!(t(0), "0ms");
        assert!(shows("1h", &t(3_600_000)) && shows("90s", &t(90_000)));
    }

    #[test]
    fn later_settings_replace_earlier_ones_of_the_same_name() {
        let s = |n: &str, v: &str| setting(n, v).unwrap();
        assert_eq!(
            merged(&[s("a", "1"), s("b", "2")], &[s("b", "3"), s("c", "4")]),
            vec![s("a", "1"), s("b", "3"), s("c", "4")]
        );
    }
}
