//! How one PostgreSQL major version spells the things the document does.
//!
//! The procedures of the document do not change in substance from 9.3 to current releases, but
//! names do (SEED-GUIDE §5): `pg_xlog` became `pg_wal`, `recovery.conf` became settings plus a
//! signal file, `*_location` columns became `*_lsn`, and so on. [`Dialect`] is the one place
//! where version numbers are compared; everything else asks it.

use crate::version::{Major, PgVersion};

/// The oldest major the lab speaks (the document's).
pub const OLDEST_MAJOR: Major = Major {
    first: 9,
    second: 3,
};

/// The newest major the dialect table knows (the image recipe knows its build targets).
pub const NEWEST_MAJOR: Major = Major {
    first: 17,
    second: 0,
};

/// The final releases of the supported majors that the project no longer maintains.
const FINAL_RELEASES: &[(Major, u32)] = &[
    (
        Major {
            first: 9,
            second: 3,
        },
        25,
    ),
    (
        Major {
            first: 9,
            second: 4,
        },
        26,
    ),
    (
        Major {
            first: 9,
            second: 5,
        },
        25,
    ),
    (
        Major {
            first: 9,
            second: 6,
        },
        24,
    ),
    (
        Major {
            first: 10,
            second: 0,
        },
        23,
    ),
    (
        Major {
            first: 11,
            second: 0,
        },
        22,
    ),
    (
        Major {
            first: 12,
            second: 0,
        },
        22,
    ),
];

/// For a major still maintained: no minor release above this exists (quarterly releases over
/// a five-year life reach about 22).
const LIVE_MINOR_BOUND: u32 = 30;

/// The supported range, as the errors of [`check_supported`] name it.
fn supported_range() -> String {
    format!(
        "the lab supports PostgreSQL {OLDEST_MAJOR} to {NEWEST_MAJOR} (9.3, 9.4, 9.5, 9.6, then 10 to {})",
        NEWEST_MAJOR.first
    )
}

/// A version the lab cannot speak; each message names the supported range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// A major before 9.3.
    #[error("PostgreSQL {0} is too old: {range}", range = supported_range())]
    TooOld(PgVersion),
    /// A major after the newest the dialect table knows.
    #[error("PostgreSQL {0} is too new: {range}", range = supported_range())]
    TooNew(PgVersion),
    /// 9.7 and such: majors that never were.
    #[error("PostgreSQL {0} does not exist: {range}", range = supported_range())]
    NoSuchMajor(Major),
    /// A minor above a retired major's final release.
    #[error("PostgreSQL {version} does not exist: {major}'s final release is {major}.{last}; {range}", major = version.major, range = supported_range())]
    AfterFinal {
        /// The version asked for.
        version: PgVersion,
        /// The major's final minor.
        last: u32,
    },
    /// A minor no live major reaches yet.
    #[error("PostgreSQL {version} does not exist: no {major} release is numbered above {major}.{LIVE_MINOR_BOUND}; {range}", major = version.major, range = supported_range())]
    Unreleased {
        /// The version asked for.
        version: PgVersion,
    },
}

/// The final release of a major the project no longer maintains (`9.3` → `9.3.25`); `None`
/// for a live major, whose newest release only the source site knows.
pub fn final_release(major: Major) -> Option<PgVersion> {
    FINAL_RELEASES
        .iter()
        .find(|(m, _)| *m == major)
        .map(|(_, last)| PgVersion::exact(major, *last))
}

/// Whether the lab can speak `version`: a release that exists of a major from 9.3 to the
/// newest the dialect table knows. The error names the supported range.
pub fn check_supported(version: &PgVersion) -> Result<(), Unsupported> {
    let major = version.major;
    if major < OLDEST_MAJOR {
        return Err(Unsupported::TooOld(*version));
    }
    if major > NEWEST_MAJOR {
        return Err(Unsupported::TooNew(*version));
    }
    if major.is_legacy() && major.second > 6 {
        return Err(Unsupported::NoSuchMajor(major));
    }
    let last = FINAL_RELEASES
        .iter()
        .find(|(m, _)| *m == major)
        .map(|(_, last)| *last);
    match (version.minor, last) {
        (Some(minor), Some(last)) if minor > last => Err(Unsupported::AfterFinal {
            version: *version,
            last,
        }),
        (Some(minor), None) if minor > LIVE_MINOR_BOUND => {
            Err(Unsupported::Unreleased { version: *version })
        }
        _ => Ok(()),
    }
}

/// The spelling of directories, settings, flags, columns and log lines for one major version.
///
/// Build it with [`Dialect::for_major`]; every answer is a pure function of the major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dialect {
    major: Major,
}

impl Dialect {
    /// The dialect of `major`.
    pub fn for_major(major: Major) -> Self {
        Dialect { major }
    }

    /// The major version this dialect describes.
    pub fn major(&self) -> Major {
        self.major
    }

    /// Whether the major is `first.second` or later (`10.0` stands for 10).
    fn at_least(&self, first: u32, second: u32) -> bool {
        self.major >= Major { first, second }
    }

    /// The name of the WAL directory: `pg_xlog` before 10, `pg_wal` from 10.
    ///
    /// The lab keeps the document's layout: the directory lives at `/disk2/<name>` and
    /// `/disk1/data/<name>` is a symbolic link to it (see [`Dialect::wal_path`]).
    pub fn wal_dir_name(&self) -> &'static str {
        if self.at_least(10, 0) {
            "pg_wal"
        } else {
            "pg_xlog"
        }
    }

    /// Where the WAL lives in the document's layout: `/disk2/pg_xlog` (or `/disk2/pg_wal`).
    pub fn wal_path(&self) -> String {
        format!("/disk2/{}", self.wal_dir_name())
    }

    /// The `wal_level` a primary needs for a hot standby: `hot_standby` before 9.6, `replica`
    /// from 9.6 (which still accepts `hot_standby` as an alias; the lab writes the new name).
    pub fn wal_level(&self) -> &'static str {
        if self.at_least(9, 6) {
            "replica"
        } else {
            "hot_standby"
        }
    }

    /// Whether standby and PITR settings go in `recovery.conf` (before 12). From 12 on they are
    /// ordinary settings, and the mode is chosen by a `standby.signal` or `recovery.signal` file;
    /// a `recovery.conf` present then makes the server refuse to start.
    pub fn uses_recovery_conf(&self) -> bool {
        !self.at_least(12, 0)
    }

    /// The file the lab writes standby/PITR settings to: `recovery.conf` before 12,
    /// `postgresql.auto.conf` from 12.
    ///
    /// From 12 the file is replaced whole, as `recovery.conf` is, rather than appended to
    /// `postgresql.conf`: a base backup copies the configuration files, so settings appended for
    /// one role (say the `recovery_target_time` of a point-in-time recovery, §4 step 5) would
    /// follow the data to the next standby (§4 step 6) and stop its replay at that time.
    /// `postgresql.auto.conf` is also where `pg_basebackup -R` puts `primary_conninfo` from 12.
    pub fn recovery_settings_file(&self) -> &'static str {
        if self.uses_recovery_conf() {
            "recovery.conf"
        } else {
            "postgresql.auto.conf"
        }
    }

    /// The `pg_basebackup` option that includes the WAL needed to make the backup consistent:
    /// the document's `--xlog` (short `-x`) before 10, `-X stream` from 10 (`-x` was removed).
    pub fn base_backup_wal_flag(&self) -> &'static str {
        if self.at_least(10, 0) {
            "-X stream"
        } else {
            "--xlog"
        }
    }

    /// The `pg_basebackup` option for a backup without WAL, if one is needed: before 10 leaving
    /// the WAL out is the default (the document's form has no flag); from 10 the default is to
    /// stream it, so `-X none` is needed to keep the document's shape (an empty WAL directory
    /// that is then replaced by a link to `/disk2`).
    pub fn base_backup_no_wal_flag(&self) -> Option<&'static str> {
        if self.at_least(10, 0) {
            Some("-X none")
        } else {
            None
        }
    }

    /// The files a plain-format `pg_basebackup` leaves in its target directory, whatever else
    /// it copies: `PG_VERSION`, `global/pg_control` and `backup_label` in every version, and
    /// `backup_manifest` from 13. A directory without one of them is not a complete backup.
    pub fn base_backup_files(&self) -> &'static [&'static str] {
        if self.at_least(13, 0) {
            &[
                "PG_VERSION",
                "global/pg_control",
                "backup_label",
                "backup_manifest",
            ]
        } else {
            &["PG_VERSION", "global/pg_control", "backup_label"]
        }
    }

    /// The WAL position columns of `pg_stat_replication`, in order sent, write, flush, replay:
    /// `*_location` before 10, `*_lsn` from 10.
    pub fn replication_position_columns(&self) -> [&'static str; 4] {
        if self.at_least(10, 0) {
            ["sent_lsn", "write_lsn", "flush_lsn", "replay_lsn"]
        } else {
            [
                "sent_location",
                "write_location",
                "flush_location",
                "replay_location",
            ]
        }
    }

    /// The function returning the time of the last transaction replayed on a standby; the same
    /// in every supported version.
    pub fn replay_timestamp_function(&self) -> &'static str {
        "pg_last_xact_replay_timestamp()"
    }

    /// The function returning the primary's current WAL write position:
    /// `pg_current_xlog_location()` before 10, `pg_current_wal_lsn()` from 10.
    pub fn current_wal_position_function(&self) -> &'static str {
        if self.at_least(10, 0) {
            "pg_current_wal_lsn()"
        } else {
            "pg_current_xlog_location()"
        }
    }

    /// A standby's last WAL position received: `pg_last_xlog_receive_location()` before 10,
    /// `pg_last_wal_receive_lsn()` from 10.
    pub fn receive_position_function(&self) -> &'static str {
        if self.at_least(10, 0) {
            "pg_last_wal_receive_lsn()"
        } else {
            "pg_last_xlog_receive_location()"
        }
    }

    /// A standby's last WAL position replayed: `pg_last_xlog_replay_location()` before 10,
    /// `pg_last_wal_replay_lsn()` from 10.
    pub fn replay_position_function(&self) -> &'static str {
        if self.at_least(10, 0) {
            "pg_last_wal_replay_lsn()"
        } else {
            "pg_last_xlog_replay_location()"
        }
    }

    /// The function giving the bytes between two WAL positions (its name, for `name(a, b)`):
    /// `pg_xlog_location_diff` (9.2) before 10, `pg_wal_lsn_diff` from 10.
    pub fn position_diff_function(&self) -> &'static str {
        if self.at_least(10, 0) {
            "pg_wal_lsn_diff"
        } else {
            "pg_xlog_location_diff"
        }
    }

    /// The recovery setting naming a file whose creation promotes the standby: `trigger_file`
    /// (recovery.conf) before 12, `promote_trigger_file` from 12 (renamed with recovery.conf's
    /// end, 12 release notes), none from 16 (removed: "Remove the promote_trigger_file
    /// setting", 16 release notes).
    pub fn promote_trigger_setting(&self) -> Option<&'static str> {
        if self.at_least(16, 0) {
            None
        } else if self.at_least(12, 0) {
            Some("promote_trigger_file")
        } else {
            Some("trigger_file")
        }
    }

    /// Whether replication slots exist (from 9.4: `pg_create_physical_replication_slot()`,
    /// `pg_replication_slots`, `max_replication_slots`, the slot's directory under
    /// `pg_replslot/`). A slot keeps every WAL segment from its `restart_lsn` on until it is
    /// dropped, whether or not its standby ever comes back.
    pub fn has_replication_slots(&self) -> bool {
        self.at_least(9, 4)
    }

    /// Whether a standby can delay applying what it receives (`recovery_min_apply_delay`, from
    /// 9.4: a recovery.conf setting before 12, a server setting from 12, which the lab writes
    /// where it writes the standby's other settings, [`Dialect::recovery_settings_file`]).
    pub fn has_recovery_min_apply_delay(&self) -> bool {
        self.at_least(9, 4)
    }

    /// The functions that pause and resume a standby's replay and ask whether it is paused,
    /// as calls: `pg_xlog_replay_pause()`, `pg_xlog_replay_resume()` and
    /// `pg_is_xlog_replay_paused()` (9.1) before 10, `pg_wal_replay_pause()`… from 10.
    pub fn replay_pause_functions(&self) -> [&'static str; 3] {
        if self.at_least(10, 0) {
            [
                "pg_wal_replay_pause()",
                "pg_wal_replay_resume()",
                "pg_is_wal_replay_paused()",
            ]
        } else {
            [
                "pg_xlog_replay_pause()",
                "pg_xlog_replay_resume()",
                "pg_is_xlog_replay_paused()",
            ]
        }
    }

    /// The client that streams WAL from a server into a directory, as a standby would (and,
    /// with `-S`, through a replication slot): `pg_receivexlog` (9.2) before 10,
    /// `pg_receivewal` from 10.
    pub fn receive_wal_program(&self) -> &'static str {
        if self.at_least(10, 0) {
            "pg_receivewal"
        } else {
            "pg_receivexlog"
        }
    }

    /// initdb's flag for data page checksums: `-k` from 9.3 (9.3 release notes: "Add an option
    /// to checksum data pages", `initdb --data-checksums`), so on every major the lab speaks;
    /// `None` would be a major without them.
    pub fn data_checksums_flag(&self) -> Option<&'static str> {
        self.at_least(9, 3).then_some("-k")
    }

    /// The setting that spaces checkpoints: `checkpoint_segments` before 9.5, `max_wal_size`
    /// from 9.5 (they are not measured in the same unit).
    pub fn checkpoint_spacing_setting(&self) -> &'static str {
        if self.at_least(9, 5) {
            "max_wal_size"
        } else {
            "checkpoint_segments"
        }
    }

    /// The default `log_directory` under PGDATA where the logging collector writes the server
    /// log: `pg_log` before 10, `log` from 10.
    pub fn log_dir_name(&self) -> &'static str {
        if self.at_least(10, 0) {
            "log"
        } else {
            "pg_log"
        }
    }

    /// The postmaster's last words when crash recovery on a primary fails and the server gives
    /// up (§3 step 1, the WAL directory made read-only).
    ///
    /// Verified: 9.3 from the document (`aborting startup due to startup process failure`), 15.18
    /// from DOCKER-NOTES (`shutting down due to startup process failure`). The boundary at 15 is
    /// inferred from the sources, not observed on 10–14: both messages exist in later versions,
    /// and which one is logged depends on whether the postmaster has left its startup state.
    /// Before 15 the startup process told the postmaster that redo had started only in archive
    /// recovery, so a failing crash recovery was still "startup" and aborted; from 15 (which runs
    /// the checkpointer during crash recovery) it always does, and the failure takes the
    /// "shutting down" path.
    pub fn startup_failure_message(&self) -> &'static str {
        if self.at_least(15, 0) {
            "shutting down due to startup process failure"
        } else {
            "aborting startup due to startup process failure"
        }
    }

    /// Whether `recovery_target_action` exists (from 9.5). Where it does, the lab sets it to
    /// `'promote'` for a point-in-time recovery with `hot_standby = off`, because its default
    /// (`pause`) then means "shut down", whereas 9.3 ends recovery and opens the database, which
    /// is what the document expects (§4 step 5).
    pub fn has_recovery_target_action(&self) -> bool {
        self.at_least(9, 5)
    }

    /// Whether `recovery_target = 'immediate'` exists (from 9.4): recovery stops as soon as
    /// the backup is consistent.
    pub fn has_recovery_target_immediate(&self) -> bool {
        self.at_least(9, 4)
    }

    /// Whether `recovery_target_lsn` exists (from 10).
    pub fn has_recovery_target_lsn(&self) -> bool {
        self.at_least(10, 0)
    }

    /// Whether the server keeps a previous checkpoint and, when the latest checkpoint record
    /// cannot be read, falls back to it and opens (before 11, which removed the secondary
    /// checkpoint). Seen on 9.3.5: `invalid primary checkpoint record` → `using previous
    /// checkpoint record at …` → `redo done at …` → `database system is ready to accept
    /// connections`, without the WAL after the damaged page. From 11 the server refuses to
    /// start (`could not locate a valid checkpoint record`).
    pub fn falls_back_to_previous_checkpoint(&self) -> bool {
        !self.at_least(11, 0)
    }

    /// Whether, at the end of archive recovery on a new timeline, the old timeline's last
    /// (partial) segment is renamed `.partial` before it is archived (from 9.5). Before 9.5 it
    /// is archived under its plain name, which the archive may already hold (the promoted
    /// server's former primary archived it); the report's `test ! -f` `archive_command` then
    /// refuses it forever (seen on 9.3.5 after the point-in-time recovery of §4).
    pub fn archives_partial_segment(&self) -> bool {
        self.at_least(9, 5)
    }

    /// Whether `pg_rewind` exists (from 9.5): a stopped old master is brought back onto the
    /// new master's timeline by copying only the blocks changed since the fork, instead of a
    /// whole base backup. It needs data checksums (`initdb -k`) or `wal_log_hints = on` on
    /// the target, and `full_page_writes` on the source.
    pub fn has_pg_rewind(&self) -> bool {
        self.at_least(9, 5)
    }

    /// Whether `pg_rewind` finishes the crash recovery of a target that was not shut down
    /// cleanly itself (from 13: it runs the target in single-user mode first). Before 13 it
    /// refuses such a target ("target server must be shut down cleanly"), and the DBA runs
    /// that single-user recovery by hand.
    pub fn rewind_recovers_crashed_target(&self) -> bool {
        self.at_least(13, 0)
    }

    /// The default `recovery_target_timeline`: `current` (the backup's timeline) before 12,
    /// `latest` from 12.
    pub fn default_recovery_target_timeline(&self) -> &'static str {
        if self.at_least(12, 0) {
            "latest"
        } else {
            "current"
        }
    }

    /// The query the lab runs on a primary to see its standbys: who (`client_addr`), how
    /// (`state`, `sync_state`) and how far (the version's four position columns).
    pub fn replication_status_query(&self) -> String {
        format!(
            "SELECT client_addr, state, {}, sync_state FROM pg_stat_replication",
            self.replication_position_columns().join(", ")
        )
    }

    /// The document's check on a standby: `SELECT pg_last_xact_replay_timestamp()`.
    pub fn replay_timestamp_query(&self) -> String {
        format!("SELECT {}", self.replay_timestamp_function())
    }

    /// The primary's current WAL position, e.g. `SELECT pg_current_wal_lsn()`.
    pub fn current_wal_position_query(&self) -> String {
        format!("SELECT {}", self.current_wal_position_function())
    }
}

impl From<Major> for Dialect {
    fn from(major: Major) -> Self {
        Dialect::for_major(major)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(version: &str) -> Dialect {
        let v: crate::version::PgVersion = version.parse().unwrap();
        Dialect::for_major(v.major)
    }

    /// One row of the §5 table per version, as the columns a drill relies on.
    #[track_caller]
    fn check(version: &str, row: [&str; 9]) {
        let d = dialect(version);
        let actual = [
            d.wal_dir_name(),
            d.wal_level(),
            d.recovery_settings_file(),
            d.base_backup_wal_flag(),
            d.replication_position_columns()[3],
            d.current_wal_position_function(),
            d.checkpoint_spacing_setting(),
            d.log_dir_name(),
            d.default_recovery_target_timeline(),
        ];
        assert_eq!(actual, row, "dialect of {version}");
    }

    #[test]
    fn spells_each_version_as_the_section_5_table() {
        #[rustfmt::skip]
        let table = [
            ("9.3", ["pg_xlog", "hot_standby", "recovery.conf", "--xlog", "replay_location",
                     "pg_current_xlog_location()", "checkpoint_segments", "pg_log", "current"]),
            ("9.6", ["pg_xlog", "replica", "recovery.conf", "--xlog", "replay_location",
                     "pg_current_xlog_location()", "max_wal_size", "pg_log", "current"]),
            ("10", ["pg_wal", "replica", "recovery.conf", "-X stream", "replay_lsn",
                    "pg_current_wal_lsn()", "max_wal_size", "log", "current"]),
            ("11", ["pg_wal", "replica", "recovery.conf", "-X stream", "replay_lsn",
                    "pg_current_wal_lsn()", "max_wal_size", "log", "current"]),
            ("12", ["pg_wal", "replica", "postgresql.auto.conf", "-X stream", "replay_lsn",
                    "pg_current_wal_lsn()", "max_wal_size", "log", "latest"]),
            ("15", ["pg_wal", "replica", "postgresql.auto.conf", "-X stream", "replay_lsn",
                    "pg_current_wal_lsn()", "max_wal_size", "log", "latest"]),
            ("17", ["pg_wal", "replica", "postgresql.auto.conf", "-X stream", "replay_lsn",
                    "pg_current_wal_lsn()", "max_wal_size", "log", "latest"]),
        ];
        for (version, row) in table {
            check(version, row);
        }
    }

    #[test]
    fn boundaries_fall_where_postgresql_changed() {
        assert_eq!(
            dialect("9.4").checkpoint_spacing_setting(),
            "checkpoint_segments"
        );
        assert_eq!(dialect("9.5").checkpoint_spacing_setting(), "max_wal_size");
        assert_eq!(dialect("9.5").wal_level(), "hot_standby");
        assert!(!dialect("9.4").has_recovery_target_action());
        assert!(dialect("9.5").has_recovery_target_action());
        assert!(!dialect("9.3").has_recovery_target_immediate());
        assert!(dialect("9.4").has_recovery_target_immediate());
        assert!(!dialect("9.6").has_recovery_target_lsn());
        assert!(dialect("10").has_recovery_target_lsn());
        for (v, has) in [("9.3", false), ("9.4", true), ("15", true)] {
            assert_eq!(dialect(v).has_replication_slots(), has, "{v}");
            assert_eq!(dialect(v).has_recovery_min_apply_delay(), has, "{v}");
        }
        assert_eq!(
            dialect("9.6").replay_pause_functions()[0],
            "pg_xlog_replay_pause()"
        );
        assert_eq!(
            dialect("10").replay_pause_functions()[2],
            "pg_is_wal_replay_paused()"
        );
        assert_eq!(dialect("9.6").receive_wal_program(), "pg_receivexlog");
        assert_eq!(dialect("10").receive_wal_program(), "pg_receivewal");
        assert!(dialect("11").uses_recovery_conf());
        assert!(!dialect("12").uses_recovery_conf());
        assert!(!dialect("9.4").has_pg_rewind());
        assert!(dialect("9.5").has_pg_rewind());
        assert!(!dialect("12").rewind_recovers_crashed_target());
        assert!(dialect("13").rewind_recovers_crashed_target());
        assert_eq!(dialect("9.6").base_backup_no_wal_flag(), None);
        assert_eq!(dialect("10").base_backup_no_wal_flag(), Some("-X none"));
    }

    #[test]
    fn startup_failure_line_is_the_documents_for_93_and_the_observed_one_for_15() {
        let abort = "aborting startup due to startup process failure";
        let shut = "shutting down due to startup process failure";
        assert_eq!(dialect("9.3").startup_failure_message(), abort);
        assert_eq!(dialect("14").startup_failure_message(), abort);
        assert_eq!(dialect("15").startup_failure_message(), shut);
        assert_eq!(dialect("17").startup_failure_message(), shut);
    }

    #[test]
    fn builds_the_check_queries() {
        assert_eq!(
            dialect("9.3").replication_status_query(),
            "SELECT client_addr, state, sent_location, write_location, flush_location, \
             replay_location, sync_state FROM pg_stat_replication"
        );
        assert_eq!(
            dialect("15").replication_status_query(),
            "SELECT client_addr, state, sent_lsn, write_lsn, flush_lsn, replay_lsn, sync_state \
             FROM pg_stat_replication"
        );
        // The document's own line (p.18).
        assert_eq!(
            dialect("9.3").replay_timestamp_query(),
            "SELECT pg_last_xact_replay_timestamp()"
        );
        assert_eq!(
            dialect("9.3").current_wal_position_query(),
            "SELECT pg_current_xlog_location()"
        );
        assert_eq!(
            dialect("17").current_wal_position_query(),
            "SELECT pg_current_wal_lsn()"
        );
        assert_eq!(dialect("9.3").wal_path(), "/disk2/pg_xlog");
        assert_eq!(dialect("15").wal_path(), "/disk2/pg_wal");
    }

    #[test]
    fn only_versions_the_table_knows_are_supported() {
        for ok in [
            "9.3", "9.3.0", "9.3.25", "9.6.24", "10", "15.18", "15.20", "17", "17.2",
        ] {
            assert_eq!(check_supported(&ok.parse().unwrap()), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("8.4", "too old"),
            ("9.2.24", "too old"),
            ("18", "too new"),
            ("99", "too new"),
            ("9.9", "9.9 does not exist"),
            ("9.3.99", "9.3's final release is 9.3.25"),
            ("9.3.26", "9.3's final release is 9.3.25"),
            ("12.23", "12's final release is 12.22"),
            ("15.31", "above 15.30"),
        ] {
            let e = check_supported(&bad.parse().unwrap())
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(
                e.contains("the lab supports PostgreSQL 9.3 to 17"),
                "{bad}: {e}"
            );
        }
    }
}
