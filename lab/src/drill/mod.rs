//! Drills: the document's procedures as files that a runner performs and checks on a lab.
//!
//! `scenario` parses and validates drill files (no I/O); this module holds the built-in drills,
//! renders steps into commands (`render`, pure), runs them (`runner`, through the `LabOps`
//! trait), and turns the recorded events into reports (`report`).

pub mod event;
pub mod explain;
pub mod render;
pub mod report;
pub mod runbook;
mod runbook_lines;
pub mod runner;
pub mod script;
pub mod shard;
pub mod suite_record;
pub mod summary;

use crate::node::NodeId;
use std::collections::HashMap;
use std::time::Duration;

use crate::cluster::{Lab, Output};
use crate::docker::Engine;
use crate::ledger::StatementError;
use crate::plan::User;
use crate::scenario::{self, Diagnostic, Drill};

/// The drills that ship inside the binary (also in `scenarios/`): name and file text.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "failover-switchback",
        include_str!("../../../scenarios/failover-switchback.toml"),
    ),
    (
        "pitr-from-standby-backup",
        include_str!("../../../scenarios/pitr-from-standby-backup.toml"),
    ),
    (
        "node-crash-failover",
        include_str!("../../../scenarios/node-crash-failover.toml"),
    ),
    (
        "binary-damaged-failover",
        include_str!("../../../scenarios/binary-damaged-failover.toml"),
    ),
    (
        "wal-full-failover",
        include_str!("../../../scenarios/wal-full-failover.toml"),
    ),
    (
        "data-area-damaged-failover",
        include_str!("../../../scenarios/data-area-damaged-failover.toml"),
    ),
    (
        "wal-segment-corrupted-failover",
        include_str!("../../../scenarios/wal-segment-corrupted-failover.toml"),
    ),
    (
        "data-file-corrupted-failover",
        include_str!("../../../scenarios/data-file-corrupted-failover.toml"),
    ),
    (
        "partition-heal",
        include_str!("../../../scenarios/partition-heal.toml"),
    ),
    (
        "archive-only-catchup",
        include_str!("../../../scenarios/archive-only-catchup.toml"),
    ),
    (
        "recovery-targets",
        include_str!("../../../scenarios/recovery-targets.toml"),
    ),
    (
        "planned-switchover",
        include_str!("../../../scenarios/planned-switchover.toml"),
    ),
    (
        "delayed-standby",
        include_str!("../../../scenarios/delayed-standby.toml"),
    ),
    (
        "slot-fills-wal",
        include_str!("../../../scenarios/slot-fills-wal.toml"),
    ),
    (
        "rewind-rejoin",
        include_str!("../../../scenarios/rewind-rejoin.toml"),
    ),
];

/// Why a drill could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Neither a built-in name nor a readable file.
    NotFound(String),
    /// The file is invalid.
    Invalid(Vec<Diagnostic>),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NotFound(msg) => f.write_str(msg),
            LoadError::Invalid(diags) => {
                for (i, d) in diags.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
        }
    }
}

/// Loads a built-in drill by name, or a drill file by path. A name with a `/` (`./name`) is
/// always a file; a built-in name is the built-in drill, and a file of that name in the
/// current directory is pointed out on stderr, not read.
pub fn load(name_or_path: &str) -> Result<Drill, LoadError> {
    if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
        if std::path::Path::new(name).exists() {
            eprintln!(
                "note: `{name}` is the built-in drill; the file {name} in this directory was not \
                 used (write ./{name} for it)"
            );
        }
        return scenario::parse(&format!("{name}.toml"), text).map_err(LoadError::Invalid);
    }
    let bytes = read_drill_file(name_or_path)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).expect("the valid prefix");
        let line = valid.matches('\n').count() + 1;
        let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        LoadError::Invalid(vec![Diagnostic {
            file: name_or_path.to_string(),
            line,
            col,
            message: format!(
                "the file is not UTF-8 text: invalid byte 0x{:02x} at offset {}",
                e.as_bytes()[valid.len()],
                valid.len()
            ),
        }])
    })?;
    scenario::parse(name_or_path, &text).map_err(LoadError::Invalid)
}

/// The bytes of a drill file: a regular file (a FIFO, a directory or a device is refused, and
/// opening never blocks) of at most [`scenario::MAX_FILE_BYTES`].
fn read_drill_file(path: &str) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let not_found = |e: std::io::Error| {
        LoadError::NotFound(format!(
            "`{}` is neither a built-in drill ({}) nor a readable file: {e}",
            crate::text::shorten(path, 200),
            BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    };
    let at_start = |message: String| {
        LoadError::Invalid(vec![Diagnostic {
            file: path.to_string(),
            line: 1,
            col: 1,
            message,
        }])
    };
    // O_NONBLOCK: opening a FIFO with no writer returns at once; the type is then checked on
    // the open file, so nothing can swap it in between.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(not_found)?;
    let meta = file.metadata().map_err(not_found)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(at_start(format!(
            "this is {what}: a drill is a regular file of at most 1 MiB"
        )));
    }
    if meta.len() > scenario::MAX_FILE_BYTES as u64 {
        return Err(at_start(scenario::too_big(meta.len())));
    }
    // Read at most one byte past the limit: a file that grows meanwhile is refused by the
    // parser, never read whole.
    let mut bytes = Vec::new();
    file.take(scenario::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(not_found)?;
    Ok(bytes)
}

/// [`runner::LabOps`] on a real lab: commands by `docker exec`, SQL with tokio-postgres as the
/// lab's controller role.
pub struct DockerOps {
    /// The engine.
    pub engine: Engine,
    /// The lab.
    pub lab: Lab,
}

impl DockerOps {
    fn node(&self, node: NodeId) -> Result<&crate::cluster::Node, runner::LabError> {
        self.lab
            .node(node)
            .map_err(|e| runner::LabError::UnknownNode(e.to_string()))
    }
}

impl crate::ledger::Connector for DockerOps {
    type Session = tokio_postgres::Client;

    async fn connect(
        &self,
        node: NodeId,
        db: &str,
        timeout: Duration,
    ) -> Result<Self::Session, StatementError> {
        let node = self
            .node(node)
            .map_err(|e| StatementError::no_answer(e.to_string()))?;
        crate::sql::connect(&node.addr, db, &self.lab.sql_password, timeout)
            .await
            .map_err(|e| StatementError::no_answer(e.to_string()))
    }

    async fn execute(&self, session: &Self::Session, sql: &str) -> Result<(), StatementError> {
        session
            .simple_query(sql)
            .await
            .map(drop)
            .map_err(|e| StatementError::of_postgres(&e))
    }
}

impl runner::LabOps for DockerOps {
    async fn run(
        &self,
        node: NodeId,
        user: User,
        command: &str,
        env: &HashMap<String, String>,
        timeout: Duration,
    ) -> Result<Output, runner::LabError> {
        self.node(node)?
            .run(&self.engine, user, command, env, timeout)
            .await
            .map_err(|e| runner::LabError::Engine(e.to_string()))
    }

    async fn run_capped(
        &self,
        node: NodeId,
        user: User,
        command: &str,
        env: &HashMap<String, String>,
        timeout: Duration,
        cap: crate::cluster::OutputCap,
    ) -> Result<Output, runner::LabError> {
        self.node(node)?
            .run_capped(&self.engine, user, command, env, timeout, Some(cap))
            .await
            .map_err(|e| runner::LabError::Engine(e.to_string()))
    }

    async fn sql(
        &self,
        node: NodeId,
        db: &str,
        sql: &str,
    ) -> Result<Option<String>, runner::LabError> {
        let node = self.node(node)?;
        let client = crate::sql::connect(
            &node.addr,
            db,
            &self.lab.sql_password,
            Duration::from_secs(10),
        )
        .await
        .map_err(|e| runner::LabError::Sql(e.to_string()))?;
        crate::sql::scalar(&client, sql)
            .await
            .map_err(|e| runner::LabError::Sql(e.to_string()))
    }

    async fn node_op(
        &self,
        node: NodeId,
        op: crate::fault::NodeOp,
    ) -> Result<(), runner::LabError> {
        let node = self.node(node)?;
        crate::cluster::node_op(&self.engine, &self.lab.name, node, op)
            .await
            .map_err(|e| runner::LabError::Engine(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_drills_are_valid() {
        for (name, _) in BUILTIN {
            let drill = load(name).unwrap_or_else(|e| panic!("{name}:\n{e}"));
            assert_eq!(drill.name, *name);
            assert!(drill.profiles.contains_key("default") && drill.profiles.contains_key("seed"));
        }
    }

    #[test]
    fn unknown_drills_list_the_builtin_ones() {
        let e = load("no-such-drill").unwrap_err().to_string();
        assert!(
            e.contains("failover-switchback, pitr-from-standby-backup, node-crash-failover"),
            "{e}"
        );
    }
}
