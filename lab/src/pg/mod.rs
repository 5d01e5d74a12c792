//! PostgreSQL knowledge of the lab: how each version spells a step, and the document's procedures.
//!
//! The source document (`seed/sr-failure-recovery-pg93.ja.txt`) was written for PostgreSQL 9.3;
//! the lab runs the same procedures on later majors too. This module keeps the two concerns
//! apart:
//!
//! - [`Dialect`] answers, for one major version, how a setting, directory, flag, column or log
//!   line is spelled (SEED-GUIDE §5). Nothing else in the module compares version numbers.
//! - [`Topology`] describes the lab (nodes, addresses, replication role, pgbench sizes and the
//!   `restore_command` variant); its [`Default`] is the document's layout at a small scale.
//! - [`setup_plan`] renders chapter 1 (building the master, the slave and the replication) as a
//!   [`Plan`](crate::plan::Plan), and the smaller builders ([`standby_config`],
//!   [`pitr_config`], [`base_backup`], [`local_backup`], [`link_wal_dir`]) are the pieces the
//!   recovery drills of chapters 3 and 4 reuse.
//! - [`install_lines`], [`replication_checks`], [`watch_loops`] and [`ssh_plan`] write, as the
//!   document does, what the lab does by other means (image layers, SQL checks, the drill
//!   monitor, `up`'s key exchange), for printed runbooks.
//! - [`lag`] is the replication lag the lab shows: the query, its reading, the words.
//!
//! Architecture invariant: this module does no I/O. It only produces text and
//! [`Command`](crate::plan::Command)s, so every command for every version can be printed as a runbook
//! and compared with the golden files in `fixtures/pg/`. The command lines are the document's own
//! wherever the version allows; every deviation the lab needs is explained where it is made.

mod chapters;
mod dialect;
#[cfg(test)]
pub(crate) mod document_lines;
pub mod lag;
mod recovery;
mod settings;
mod setup;
mod topology;

pub use chapters::{
    install_lines, lab_ssh_lines, replication_checks, ssh_plan, watch_loops, LAB_SSH_KEYGEN,
};
pub use dialect::{
    check_supported, final_release, Dialect, Unsupported, NEWEST_MAJOR, OLDEST_MAJOR,
};
pub use recovery::{target_settings, Recovery, RecoveryTarget, TargetAction, TargetKind};
pub use settings::{
    check as check_setting, check_name as check_setting_name, conf_lines as setting_lines,
    conf_pairs, merged as merged_settings, parse_assignment, setting, shows as setting_shows,
    time_value, Setting, SettingError, APPLY_DELAY_SETTING,
};
pub use setup::{
    backup_dir, base_backup, link_wal_dir, local_backup, pg_ctl_start, pgpass, pitr_config, rewind,
    setup_parts, setup_plan, standby_config, SetupParts, StandbyOptions,
};
pub use topology::{
    ArchiveCommand, Node, RestoreCommand, Topology, ARCHIVE_DIR, BACKUP_DIR, BROKEN_DIR, DATA_DIR,
    LOCAL_ARCHIVE_RESTORE, PG_CTL_LOG, PORT, PROMOTE_TRIGGER_FILE, SUPERUSER,
};

/// The document's readiness probe over TCP to `addr`, printing pg_isready's exit code (0
/// accepting, 1 rejecting, 2 no response, 3 no attempt). It names a user and database so that a
/// probe does not fill the server log with `role "..." does not exist` (DOCKER-NOTES).
pub fn isready_command(addr: &str) -> String {
    format!("{}; echo $?", isready_probe(addr))
}

/// The probe alone (quiet, its answer in the exit status).
pub fn isready_probe(addr: &str) -> String {
    format!("pg_isready -h {addr} -p {PORT} -U postgres -d postgres -q")
}
