//! The lab's shape: two nodes, their addresses, the replication role and the workload sizes.
//!
//! The directory layout is fixed (it is the document's, chapter 1 and SEED-GUIDE §1) and given
//! here as constants; what a user may reasonably change (scale, run length, synchronous mode,
//! which `restore_command` and `archive_command`) lives in [`Topology`].

use super::Dialect;
use crate::node::NodeId;
use crate::plan::conninfo_value;

/// The data directory (`PGDATA`) on every node.
pub const DATA_DIR: &str = "/disk1/data";

/// The WAL archive on every node (`archive_command` copies into it).
pub const ARCHIVE_DIR: &str = "/disk3/archive";

/// Where §3 step 4 puts the backup taken right after a promotion (§4 uses
/// `/disk3/backup/YYYYMMDD/data` instead).
pub const BACKUP_DIR: &str = "/disk3/backup/data";

/// Where the recovery steps move broken data, WAL and archive aside (the lab's `/disk4`).
pub const BROKEN_DIR: &str = "/disk4/broken";

/// The file `pg_ctl start` sends the server's own standard output and error to (`-l`).
///
/// The server log proper goes to the logging collector's files under PGDATA (document p.9);
/// this file only catches what is written before the collector starts. It exists because a
/// server started without `-l` keeps the caller's output open, so a command run through
/// `docker exec` would never see end-of-file and never finish.
pub const PG_CTL_LOG: &str = "/disk1/pg_ctl.log";

/// The file whose creation promotes a standby, for the `promote` action's `trigger_file`
/// method: beside the data directory, not in it (a base backup would copy it).
pub const PROMOTE_TRIGGER_FILE: &str = "/disk1/promote.trigger";

/// The port every server listens on: PostgreSQL's default, which the document does not change.
pub const PORT: u16 = 5432;

/// The superuser role `initdb` made (named after the OS user that ran it): `pg_rewind`
/// connects to its source as it.
pub const SUPERUSER: &str = "postgres";

/// The `restore_command` of the document's §4 point-in-time recovery: a local copy from the
/// node's own archive.
pub const LOCAL_ARCHIVE_RESTORE: &str = "cp /disk3/archive/%f \"%p\" 2> /dev/null";

/// One server of the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its name (also its container's host name, and its `application_name` when synchronous).
    pub name: NodeId,
    /// Its IPv4 address on the lab network.
    pub address: String,
}

impl Node {
    /// A node called `name` at `address`.
    pub fn new(name: NodeId, address: &str) -> Self {
        Node {
            name,
            address: address.to_string(),
        }
    }
}

/// Which `restore_command` a standby uses to fetch WAL it could not stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreCommand {
    /// The document's exact line, `scp /disk2/pg_xlog/%f "%p" 2> /dev/null` (p.15).
    ///
    /// `scp` without a host part is a local copy: it reads the standby's *own* WAL directory,
    /// so it never reaches the primary's archive, although chapter 5 sets up ssh for exactly
    /// that: it can only hand back segments the standby already has. The lab can run it to
    /// show what it can and cannot recover (SEED-GUIDE §1). From 10 the directory is spelled
    /// `pg_wal`, so that the line behaves on every version as it did on 9.3.
    Literal,
    /// The working form (the lab's default):
    /// `scp -o ConnectTimeout=2 <primary>:/disk3/archive/%f "%p" 2> /dev/null || exit 1`,
    /// fetching from the primary's archive over ssh as the `postgres` user.
    ///
    /// The two additions matter, as the lab's node-crash drill showed: when the primary is gone,
    /// scp exits with 255, and PostgreSQL treats a restore_command exit status above 125 as
    /// fatal, so the standby shut itself down ("could not restore file "00000002.history" from
    /// archive: child process exited with exit code 255") just when it was needed for a
    /// failover. `|| exit 1` turns any failure into "file not available"; `ConnectTimeout` keeps
    /// an unreachable primary from stalling recovery for minutes.
    #[default]
    Archive,
}

impl RestoreCommand {
    /// Every variant, as a drill's `make_standby` names them (`restore`).
    pub const ALL: [RestoreCommand; 2] = [RestoreCommand::Literal, RestoreCommand::Archive];

    /// Its name (as `lab up --restore-command` and a drill's `restore` spell it).
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreCommand::Literal => "literal",
            RestoreCommand::Archive => "archive",
        }
    }

    /// The command line for a standby of `dialect` whose primary is at `primary_address`.
    pub fn command(self, dialect: &Dialect, primary_address: &str) -> String {
        match self {
            RestoreCommand::Literal => {
                format!("scp {}/%f \"%p\" 2> /dev/null", dialect.wal_path())
            }
            RestoreCommand::Archive => {
                format!(
                    "scp -o ConnectTimeout=2 {primary_address}:{ARCHIVE_DIR}/%f \"%p\" 2> /dev/null || exit 1"
                )
            }
        }
    }
}

/// How the master copies a finished WAL segment into its archive (`archive_command`, p.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveCommand {
    /// The document's exact line, `test ! -f /disk3/archive/%f && cp %p /disk3/archive/%f`.
    ///
    /// `cp` writes the segment in place, so a master that dies while it copies leaves a torn
    /// segment under the final name, as the lab's damaged-data-area drill showed: the failing
    /// shutdown checkpoint of the damaged master comes right after the shutdown's own segment
    /// switch, the archiver is killed mid-copy (`archive command was terminated by signal 3`),
    /// and the standby, fetching that segment at promotion, stops with `FATAL: archive file
    /// ... has wrong size` and does not come back. `test ! -f` then also refuses to archive the
    /// segment again. The lab can run it to show this (SEED-GUIDE §1).
    Literal,
    /// The crash-safe form (the lab's default): a segment already in the archive is accepted
    /// when it is byte for byte the same (`cmp -s`) and refused when it differs; a new one is
    /// copied under a temporary name and renamed into place, so the archive holds whole
    /// segments or none:
    /// `if test -f /disk3/archive/%f; then cmp -s %p /disk3/archive/%f; else cp %p /disk3/archive/%f.tmp && mv /disk3/archive/%f.tmp /disk3/archive/%f; fi`.
    ///
    /// Accepting the identical copy is what keeps archiving going after a point-in-time
    /// recovery on releases before 9.5: the recovered server offers the old timeline's last
    /// segment again under a name the archive already holds, and the report's `test ! -f`
    /// refuses it forever, so `pg_stop_backup` of the next base backup waits for it
    /// ("still waiting for all required WAL segments to be archived"). A different segment of
    /// the same name is still refused: the archive never loses what it holds.
    #[default]
    Atomic,
}

impl ArchiveCommand {
    /// The command line.
    pub fn command(self) -> String {
        match self {
            ArchiveCommand::Literal => {
                format!("test ! -f {ARCHIVE_DIR}/%f && cp %p {ARCHIVE_DIR}/%f")
            }
            ArchiveCommand::Atomic => format!(
                "if test -f {ARCHIVE_DIR}/%f; then cmp -s %p {ARCHIVE_DIR}/%f; else cp %p {ARCHIVE_DIR}/%f.tmp && mv {ARCHIVE_DIR}/%f.tmp {ARCHIVE_DIR}/%f; fi"
            ),
        }
    }
}

/// The lab: the document's two servers and what the procedures are parameterised by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The initial master (`node1`, 172.16.3.101).
    pub master: Node,
    /// The initial slave (`node2`, 172.16.3.102).
    pub slave: Node,
    /// The lab network, in CIDR notation (172.16.3.0/24).
    pub subnet: String,
    /// The replication role (`repuser`).
    pub repl_user: String,
    /// Its password (`repuser`), also written to each node's `~postgres/.pgpass`.
    pub repl_password: String,
    /// The pgbench scale factor of the initial data: the document used 10000 (about 150 GB);
    /// the lab's default is 1.
    pub scale: u32,
    /// The length in seconds of the check run `pgbench -T`: the document used 180; the lab's
    /// default is 3.
    pub check_seconds: u32,
    /// Synchronous replication: sets `synchronous_standby_names` on the master, and puts
    /// `application_name=<standby>` in the standby's `primary_conninfo`. The document runs
    /// asynchronous and notes the procedures "should also work" synchronously.
    ///
    /// The setting lists both nodes, slave first (`'node2, node1'`): the base backup copies it
    /// to the slave, and a list naming only `node2` would make `node2`, once promoted, wait
    /// forever for a standby of that name. A server never waits for itself, so the same line is
    /// right on whichever node is the primary.
    pub sync: bool,
    /// The standby's `restore_command`.
    pub restore: RestoreCommand,
    /// The master's `archive_command`.
    pub archive: ArchiveCommand,
    /// Base backups ask for an immediate checkpoint (`-c fast`). The document's commands use
    /// pg_basebackup's default, a spread checkpoint, which on an idle lab makes every backup wait
    /// up to checkpoint_completion_target × checkpoint_timeout (about 4.5 minutes); the lab adds
    /// `-c fast` except in [`Topology::document`].
    pub fast_checkpoint: bool,
    /// The document's tuning (p.13: `shared_buffers = 16GB`, `checkpoint_segments = 64`, for its
    /// 150 GB database) written as settings rather than as a comment. Only for printed runbooks
    /// (`lab drill runbook --profile seed`) and [`Topology::document`]: a container the size of
    /// the lab's could not start with 16 GB of shared buffers.
    pub document_tuning: bool,
    /// Server settings of the user's (`lab up --set`, a drill's `[lab] settings`), written to
    /// the master's postgresql.conf before its first start (the slave's comes with its base
    /// backup); each checked by [`super::settings`].
    pub settings: Vec<super::Setting>,
    /// `initdb -k`: data page checksums (`lab up --data-checksums`).
    pub data_checksums: bool,
}

impl Default for Topology {
    /// The document's layout (node1 master at .101, node2 slave at .102, `repuser`), with a
    /// small scale (1), a short check run (3 s), asynchronous replication, the working
    /// `restore_command` and the crash-safe `archive_command`.
    fn default() -> Self {
        Topology {
            master: Node::new(NodeId::NODE1, "172.16.3.101"),
            slave: Node::new(NodeId::NODE2, "172.16.3.102"),
            subnet: "172.16.3.0/24".to_string(),
            repl_user: "repuser".to_string(),
            repl_password: "repuser".to_string(),
            scale: 1,
            check_seconds: 1,
            sync: false,
            restore: RestoreCommand::Archive,
            archive: ArchiveCommand::Atomic,
            fast_checkpoint: true,
            document_tuning: false,
            settings: Vec::new(),
            data_checksums: false,
        }
    }
}

impl Topology {
    /// The document's values exactly: scale 10000, `pgbench -T 180`, the literal
    /// `restore_command` and `archive_command`, its tuning lines.
    pub fn document() -> Self {
        Topology {
            scale: 10000,
            check_seconds: 180,
            restore: RestoreCommand::Literal,
            archive: ArchiveCommand::Literal,
            fast_checkpoint: false,
            document_tuning: true,
            ..Topology::default()
        }
    }

    /// The standby's `primary_conninfo` value for a primary at `primary`; with [`Topology::sync`]
    /// it names the standby (`application_name`) so `synchronous_standby_names` can match it.
    /// Each value is quoted for a connection string ([`conninfo_value`]).
    pub fn primary_conninfo(
        &self,
        standby: &Node,
        primary: &Node,
    ) -> Result<String, crate::plan::QuoteError> {
        let port = PORT.to_string();
        let name = standby.name.name();
        let mut words = vec![
            ("host", "the primary's address", primary.address.as_str()),
            ("port", "the port", port.as_str()),
            ("user", "the replication role", self.repl_user.as_str()),
            ("password", "the replication password", &self.repl_password),
        ];
        if self.sync {
            words.push(("application_name", "the standby's name", &name));
        }
        conninfo(&words)
    }

    /// `pg_rewind --source-server`'s connection string for the server at `source`: a normal
    /// (not a replication) connection as the [`SUPERUSER`] to the `postgres` database, which
    /// the document's monitoring line of pg_hba.conf admits from the peer (p.24, `host postgres
    /// postgres <peer>/32 md5`; the password comes from the target's `~/.pgpass`). Each value
    /// is quoted as in [`Topology::primary_conninfo`].
    pub fn rewind_conninfo(&self, source: &Node) -> Result<String, crate::plan::QuoteError> {
        let port = PORT.to_string();
        conninfo(&[
            ("host", "the source's address", &source.address),
            ("port", "the port", &port),
            ("user", "the superuser", SUPERUSER),
            ("dbname", "the database", "postgres"),
        ])
    }
}

/// A libpq connection string of `key=value` words, each value quoted for it
/// ([`conninfo_value`]; `what` names it in a refusal).
fn conninfo(words: &[(&str, &str, &str)]) -> Result<String, crate::plan::QuoteError> {
    let words: Result<Vec<String>, _> = words
        .iter()
        .map(|(key, what, value)| conninfo_value(what, value).map(|v| format!("{key}={v}")))
        .collect();
    Ok(words?.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::PgVersion;

    #[test]
    fn restore_commands_are_the_documents_and_the_working_one() {
        let dialect = |v: &str| Dialect::for_major(v.parse::<PgVersion>().unwrap().major);
        assert_eq!(
            RestoreCommand::Literal.command(&dialect("9.3"), "172.16.3.101"),
            r#"scp /disk2/pg_xlog/%f "%p" 2> /dev/null"#
        );
        assert_eq!(
            RestoreCommand::Literal.command(&dialect("15"), "172.16.3.101"),
            r#"scp /disk2/pg_wal/%f "%p" 2> /dev/null"#
        );
        assert_eq!(
            RestoreCommand::Archive.command(&dialect("15"), "172.16.3.101"),
            r#"scp -o ConnectTimeout=2 172.16.3.101:/disk3/archive/%f "%p" 2> /dev/null || exit 1"#
        );
        assert_eq!(RestoreCommand::default(), RestoreCommand::Archive);
    }

    #[test]
    fn archive_commands_are_the_documents_and_the_crash_safe_one() {
        assert_eq!(
            ArchiveCommand::Literal.command(),
            "test ! -f /disk3/archive/%f && cp %p /disk3/archive/%f"
        );
        assert_eq!(
            ArchiveCommand::Atomic.command(),
            "if test -f /disk3/archive/%f; then cmp -s %p /disk3/archive/%f; else cp %p /disk3/archive/%f.tmp && mv /disk3/archive/%f.tmp /disk3/archive/%f; fi"
        );
        assert_eq!(Topology::default().archive, ArchiveCommand::Atomic);
        assert_eq!(Topology::document().archive, ArchiveCommand::Literal);
    }

    #[test]
    fn rewind_connects_as_the_superuser_to_the_postgres_database() {
        let topo = Topology::default();
        assert_eq!(
            topo.rewind_conninfo(&topo.slave).unwrap(),
            "host=172.16.3.102 port=5432 user=postgres dbname=postgres"
        );
        let odd = Node::new(NodeId::NODE2, "a b");
        assert_eq!(
            topo.rewind_conninfo(&odd).unwrap(),
            "host='a b' port=5432 user=postgres dbname=postgres"
        );
    }

    #[test]
    fn conninfo_names_the_standby_only_when_synchronous() {
        let mut topo = Topology::default();
        assert_eq!(
            topo.primary_conninfo(&topo.slave, &topo.master).unwrap(),
            "host=172.16.3.101 port=5432 user=repuser password=repuser"
        );
        topo.sync = true;
        assert_eq!(
            topo.primary_conninfo(&topo.master, &topo.slave).unwrap(),
            "host=172.16.3.102 port=5432 user=repuser password=repuser application_name=node1"
        );
        topo.repl_password = "it's a secret".into();
        assert_eq!(
            topo.primary_conninfo(&topo.slave, &topo.master).unwrap(),
            r"host=172.16.3.101 port=5432 user=repuser password='it\'s a secret' application_name=node2"
        );
    }
}
