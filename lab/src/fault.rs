//! The fault catalogue: every failure of the document's table (SEED-GUIDE §2), and a few more
//! for rehearsal, each with the way it is injected and, where one makes sense, its heal.
//!
//! Like Jepsen's nemesis, a fault is data: [`inject`] and [`heal`] render it into commands run
//! in the node (as root or postgres) or into an operation on the node's container. Nothing here
//! needs a privileged container; rendering does no I/O.

use crate::node::NodeId;
use crate::pg::Dialect;
use crate::plan::{Command, User};

/// An operation on a node's container rather than inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeOp {
    /// SIGKILL the container: the server "loses power".
    Kill,
    /// Start the container again (same volumes): the server is repaired and boots; PostgreSQL
    /// is not started, as after a reboot.
    Start,
    /// Disconnect the node from the lab network.
    Disconnect,
    /// Connect it again, at its address.
    Connect,
}

/// What injecting or healing a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultOp {
    /// Commands inside the node.
    Commands(Vec<Command>),
    /// An operation on the container.
    Node(NodeOp),
}

/// A fault of the catalogue, in the order of the document's table. Its name in drills and on the
/// command line is [`Fault::name`] (kebab-case); parsing, the list and the dispatch all come from
/// this enum, so a new fault cannot be forgotten anywhere (the compiler checks every `match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray)]
pub enum Fault {
    /// Hardware or OS failure.
    NodeCrash,
    /// The postgres binary is damaged.
    PgBinaryDamaged,
    /// The WAL directory loses write permission.
    WalPermission,
    /// The WAL disk is full.
    WalFull,
    /// The base directory disappears.
    DataAreaDamaged,
    /// The WAL page of the last checkpoint record is overwritten.
    WalSegmentCorrupted,
    /// The first page of a table is overwritten.
    DataFileCorrupted,
    /// Operator error: TRUNCATE.
    Truncate,
    /// Operator error: DROP TABLE.
    DropTable,
    /// Operator error: UPDATE without WHERE.
    WrongUpdate,
    /// The node is disconnected from the lab network.
    Partition,
}

/// Why a fault could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// No fault has this name.
    #[error("unknown fault `{0}`: expected one of {names}", names = NAMES.join(", "))]
    Unknown(String),
    /// The fault cannot be healed.
    #[error(
        "fault `{name}` has no heal: {what}; recover as the document does (promote the standby, or restore from backup)",
        name = .0.name(),
        what = .0.what()
    )]
    NoHeal(Fault),
}

/// A fault's entry in the catalogue (`lab fault list`).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The fault.
    pub fault: Fault,
    /// Its name in drills and on the command line.
    pub name: &'static str,
    /// The row of the document's failure table it belongs to (0: beyond the table).
    pub row: u8,
    /// What it simulates.
    pub what: &'static str,
    /// Whether it has a heal.
    pub healable: bool,
}

impl Fault {
    /// Its name in drills and on the command line (the one place names are spelled).
    pub const fn name(self) -> &'static str {
        match self {
            Fault::NodeCrash => "node-crash",
            Fault::PgBinaryDamaged => "pg-binary-damaged",
            Fault::WalPermission => "wal-permission",
            Fault::WalFull => "wal-full",
            Fault::DataAreaDamaged => "data-area-damaged",
            Fault::WalSegmentCorrupted => "wal-segment-corrupted",
            Fault::DataFileCorrupted => "data-file-corrupted",
            Fault::Truncate => "truncate",
            Fault::DropTable => "drop-table",
            Fault::WrongUpdate => "wrong-update",
            Fault::Partition => "partition",
        }
    }

    /// The row of the document's failure table it belongs to (0: beyond the table).
    pub const fn row(self) -> u8 {
        match self {
            Fault::NodeCrash => 1,
            Fault::PgBinaryDamaged | Fault::WalPermission | Fault::WalFull => 2,
            Fault::DataAreaDamaged | Fault::WalSegmentCorrupted | Fault::DataFileCorrupted => 3,
            Fault::Truncate | Fault::DropTable | Fault::WrongUpdate => 4,
            Fault::Partition => 0,
        }
    }

    /// What it simulates.
    pub const fn what(self) -> &'static str {
        match self {
            Fault::NodeCrash => "hardware or OS failure: the node's container is killed (heal: it boots again on the same volumes, PostgreSQL down)",
            Fault::PgBinaryDamaged => "the postgres binary is damaged: the server cannot start again (heal: the intact binary is put back)",
            Fault::WalPermission => "the WAL area is broken: its directory loses write permission, as the document does (chmod u-w)",
            Fault::WalFull => "the WAL area is full: a size-limited WAL disk (lab up --wal-disk-size) is filled (heal: the filler is removed)",
            Fault::DataAreaDamaged => "the data area is damaged: the cluster's base directory disappears (heal: it comes back)",
            Fault::WalSegmentCorrupted => "a WAL file is corrupted: the segment holding the last checkpoint's redo point is overwritten (seen at the next start)",
            Fault::DataFileCorrupted => "a data file is corrupted: the first page of pgbench_accounts is overwritten (seen once it is read from disk)",
            Fault::Truncate => "operator error: TRUNCATE pgbench_history",
            Fault::DropTable => "operator error: DROP TABLE pgbench_history",
            Fault::WrongUpdate => "operator error: UPDATE pgbench_accounts without WHERE",
            Fault::Partition => "network partition: the node is disconnected from the lab network (heal: reconnected)",
        }
    }

    /// Whether it has a heal.
    pub const fn healable(self) -> bool {
        matches!(
            self,
            Fault::NodeCrash
                | Fault::PgBinaryDamaged
                | Fault::WalPermission
                | Fault::WalFull
                | Fault::DataAreaDamaged
                | Fault::Partition
        )
    }

    const fn entry(self) -> Entry {
        Entry {
            fault: self,
            name: self.name(),
            row: self.row(),
            what: self.what(),
            healable: self.healable(),
        }
    }

    /// How to inject it on `node`.
    pub fn inject(self, dialect: &Dialect, node: NodeId) -> FaultOp {
        let wal = dialect.wal_path();
        match self {
            Fault::NodeCrash => FaultOp::Node(NodeOp::Kill),
            Fault::PgBinaryDamaged => shell(
                node,
                "fault: the postgres binary is damaged",
                User::Root,
                format!("[ -e {BIN}.lab-intact ] || mv {BIN} {BIN}.lab-intact\nprintf 'damaged' > {BIN}\nchmod 755 {BIN}"),
            ),
            // §3 step 1: the WAL disk "fails": the WAL directory loses its write permission.
            Fault::WalPermission => shell(node, "fault: the WAL disk fails (chmod u-w)", User::Postgres, format!("chmod u-w {wal}")),
            Fault::WalFull => shell(
                node,
                "fault: the WAL disk fills up",
                User::Root,
                // Only ever on a size-limited tmpfs: never fill a disk the host shares.
                format!(
                    "[ \"$(stat -f -c %T /disk2)\" = tmpfs ] || {{ echo 'wal-full needs a size-limited WAL disk: lab up --wal-disk-size 256m' >&2; false; }}\n\
                     dd if=/dev/zero of={FILLER} bs=1M 2>/dev/null || true\n\
                     df -h /disk2"
                ),
            ),
            Fault::DataAreaDamaged => shell(
                node,
                "fault: the data area is damaged (base/ disappears)",
                User::Postgres,
                "mv /disk1/data/base /disk1/data/base.lab-damaged",
            ),
            Fault::WalSegmentCorrupted => shell(
                node,
                "fault: the WAL page holding the last checkpoint record is overwritten",
                User::Postgres,
                // The segment and offset of the checkpoint record, from pg_controldata: a restart
                // then cannot find a valid checkpoint record.
                format!(
                    "cd {wal}\n\
                     cd_() {{ pg_controldata | sed -n \"s/^$1: *//p\"; }}\n\
                     loc=$(cd_ \"Latest checkpoint location\"); tli=$(cd_ \"Latest checkpoint's TimeLineID\"); seg=$(cd_ \"Bytes per WAL segment\")\n\
                     lsn=$(( (16#${{loc%/*}} << 32) + 16#${{loc#*/}} )); no=$(( lsn / seg )); per=$(( 4294967296 / seg ))\n\
                     f=$(printf '%08X%08X%08X' $tli $(( no / per )) $(( no % per )))\n\
                     dd if=/dev/urandom of=$f bs=8192 seek=$(( (lsn % seg) / 8192 )) count=1 conv=notrunc 2>/dev/null\n\
                     echo \"overwrote the page of $f holding the checkpoint record at $loc\""
                ),
            ),
            Fault::DataFileCorrupted => shell(
                node,
                "fault: the first page of pgbench_accounts is overwritten",
                User::Postgres,
                "f=$(psql -X -At -d testdb -c \"SELECT pg_relation_filepath('pgbench_accounts')\")\n\
                 dd if=/dev/urandom of=/disk1/data/$f bs=8192 count=1 conv=notrunc 2>/dev/null\n\
                 echo \"overwrote block 0 of $f\"",
            ),
            Fault::Truncate => psql(node, "operator error: TRUNCATE", "TRUNCATE TABLE pgbench_history"),
            Fault::DropTable => psql(node, "operator error: DROP TABLE", "DROP TABLE pgbench_history"),
            Fault::WrongUpdate => psql(node, "operator error: UPDATE without WHERE", "UPDATE pgbench_accounts SET abalance = 0"),
            Fault::Partition => FaultOp::Node(NodeOp::Disconnect),
        }
    }

    /// How to heal it on `node`; [`FaultError::NoHeal`] for faults that have no heal.
    pub fn heal(self, dialect: &Dialect, node: NodeId) -> Result<FaultOp, FaultError> {
        let wal = dialect.wal_path();
        Ok(match self {
            Fault::NodeCrash => FaultOp::Node(NodeOp::Start),
            Fault::PgBinaryDamaged => shell(
                node,
                "heal: the intact postgres binary is back",
                User::Root,
                format!("mv {BIN}.lab-intact {BIN}"),
            ),
            Fault::WalPermission => shell(
                node,
                "heal: give the WAL directory its write permission back",
                User::Postgres,
                format!("chmod u+w {wal}"),
            ),
            Fault::WalFull => shell(
                node,
                "heal: remove the filler from the WAL disk",
                User::Root,
                format!("rm -f {FILLER}"),
            ),
            Fault::DataAreaDamaged => shell(
                node,
                "heal: the base directory comes back",
                User::Postgres,
                "mv /disk1/data/base.lab-damaged /disk1/data/base",
            ),
            Fault::Partition => FaultOp::Node(NodeOp::Connect),
            Fault::WalSegmentCorrupted
            | Fault::DataFileCorrupted
            | Fault::Truncate
            | Fault::DropTable
            | Fault::WrongUpdate => return Err(FaultError::NoHeal(self)),
        })
    }

    /// Injects (`heal` false) or heals it on `node`.
    pub fn op(self, dialect: &Dialect, node: NodeId, heal: bool) -> Result<FaultOp, FaultError> {
        if heal {
            self.heal(dialect, node)
        } else {
            Ok(self.inject(dialect, node))
        }
    }
}

impl std::str::FromStr for Fault {
    type Err = FaultError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        <Fault as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .find(|f| f.name() == name)
            .ok_or_else(|| FaultError::Unknown(name.to_string()))
    }
}

/// In events and reports a fault is its name (`"node-crash"`).
impl serde::Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Fault {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const COUNT: usize = <Fault as strum::VariantArray>::VARIANTS.len();

/// Every fault, in the order of the document's table.
pub const CATALOGUE: [Entry; COUNT] = {
    let all = <Fault as strum::VariantArray>::VARIANTS;
    let mut out = [Fault::NodeCrash.entry(); COUNT];
    let mut i = 0;
    while i < COUNT {
        out[i] = all[i].entry();
        i += 1;
    }
    out
};

/// The fault names (what drills may name), in catalogue order.
pub const NAMES: [&str; COUNT] = {
    let mut out = [""; COUNT];
    let mut i = 0;
    while i < COUNT {
        out[i] = CATALOGUE[i].name;
        i += 1;
    }
    out
};

/// The fault names (what drills may name).
pub fn names() -> Vec<&'static str> {
    NAMES.to_vec()
}

/// Looks a fault up by name.
pub fn find(name: &str) -> Result<Entry, FaultError> {
    name.parse::<Fault>().map(Fault::entry)
}

const BIN: &str = "/usr/local/pgsql/bin/postgres";
const FILLER: &str = "/disk2/lab-filler";

fn shell(node: NodeId, title: &str, user: User, command: impl Into<String>) -> FaultOp {
    FaultOp::Commands(vec![Command::shell(node, title, user, command)])
}

fn psql(node: NodeId, title: &str, sql: &str) -> FaultOp {
    shell(
        node,
        title,
        User::Postgres,
        format!("psql -X -d testdb -c \"{sql}\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &str) -> Dialect {
        Dialect::for_major(v.parse::<crate::version::PgVersion>().unwrap().major)
    }

    fn commands(op: FaultOp) -> String {
        match op {
            FaultOp::Commands(steps) => crate::plan::Plan { steps }.render(),
            FaultOp::Node(op) => format!("{op:?}"),
        }
    }

    #[test]
    fn every_fault_renders_and_heals_as_catalogued() {
        for f in CATALOGUE {
            assert_eq!(f.name.parse::<Fault>(), Ok(f.fault));
            for v in ["9.3", "15"] {
                let _ = f.fault.inject(&d(v), NodeId::NODE1);
                assert_eq!(
                    f.fault.heal(&d(v), NodeId::NODE1).is_ok(),
                    f.healable,
                    "{}",
                    f.name
                );
            }
        }
    }

    #[test]
    fn the_documents_wal_fault_is_chmod_on_the_versions_wal_directory() {
        assert!(
            commands(Fault::WalPermission.inject(&d("9.3"), NodeId::NODE1))
                .contains("$ chmod u-w /disk2/pg_xlog")
        );
        assert!(
            commands(Fault::WalPermission.heal(&d("15"), NodeId::NODE1).unwrap())
                .contains("$ chmod u+w /disk2/pg_wal")
        );
    }

    #[test]
    fn filling_the_wal_disk_refuses_anything_but_a_tmpfs() {
        let c = commands(Fault::WalFull.inject(&d("15"), NodeId::NODE2));
        assert!(
            c.contains("stat -f -c %T /disk2") && c.contains("--wal-disk-size"),
            "{c}"
        );
    }

    #[test]
    fn unknown_faults_and_missing_heals_say_what_exists() {
        let e = "meteor".parse::<Fault>().unwrap_err().to_string();
        assert!(e.contains("node-crash") && e.contains("partition"), "{e}");
        let e = Fault::Truncate
            .heal(&d("15"), NodeId::NODE1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no heal"), "{e}");
    }
}
