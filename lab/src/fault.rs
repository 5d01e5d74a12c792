//! The fault catalogue: every failure of the document's table (SEED-GUIDE §2), and a few more
//! for rehearsal, each with the way it is injected and, where one makes sense, its heal.
//!
//! Like Jepsen's nemesis, a fault is data: [`inject`] and [`heal`] render it into commands run
//! in the node (as root or postgres) or into an operation on the node's container. Nothing here
//! needs a privileged container; rendering does no I/O.

use crate::pg::Dialect;
use crate::plan::{NodeName, Step, User};

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
    Commands(Vec<Step>),
    /// An operation on the container.
    Node(NodeOp),
}

/// A fault of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// Its name in drills and on the command line.
    pub name: &'static str,
    /// The row of the document's failure table it belongs to (0: beyond the table).
    pub row: u8,
    /// What it simulates.
    pub what: &'static str,
    /// Whether it has a heal.
    pub healable: bool,
}

/// Every fault, in the order of the document's table.
pub const CATALOGUE: &[Fault] = &[
    Fault { name: "node-crash", row: 1, what: "hardware or OS failure: the node's container is killed (heal: it boots again on the same volumes, PostgreSQL down)", healable: true },
    Fault { name: "pg-binary-damaged", row: 2, what: "the postgres binary is damaged: the server cannot start again (heal: the intact binary is put back)", healable: true },
    Fault { name: "wal-permission", row: 2, what: "the WAL area is broken: its directory loses write permission, as the document does (chmod u-w)", healable: true },
    Fault { name: "wal-full", row: 2, what: "the WAL area is full: a size-limited WAL disk (lab up --wal-disk-size) is filled (heal: the filler is removed)", healable: true },
    Fault { name: "data-area-damaged", row: 3, what: "the data area is damaged: the cluster's base directory disappears (heal: it comes back)", healable: true },
    Fault { name: "wal-segment-corrupted", row: 3, what: "a WAL file is corrupted: the segment holding the last checkpoint's redo point is overwritten (seen at the next start)", healable: false },
    Fault { name: "data-file-corrupted", row: 3, what: "a data file is corrupted: the first page of pgbench_accounts is overwritten (seen once it is read from disk)", healable: false },
    Fault { name: "truncate", row: 4, what: "operator error: TRUNCATE pgbench_history", healable: false },
    Fault { name: "drop-table", row: 4, what: "operator error: DROP TABLE pgbench_history", healable: false },
    Fault { name: "wrong-update", row: 4, what: "operator error: UPDATE pgbench_accounts without WHERE", healable: false },
    Fault { name: "partition", row: 0, what: "network partition: the node is disconnected from the lab network (heal: reconnected)", healable: true },
];

/// The fault names (what drills may name).
pub fn names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|f| f.name).collect()
}

/// Looks a fault up by name.
pub fn find(name: &str) -> Result<&'static Fault, String> {
    CATALOGUE.iter().find(|f| f.name == name).ok_or_else(|| {
        format!(
            "unknown fault `{name}`: expected one of {}",
            names().join(", ")
        )
    })
}

const BIN: &str = "/usr/local/pgsql/bin/postgres";
const FILLER: &str = "/disk2/lab-filler";

fn shell(node: &str, title: &str, user: User, command: impl Into<String>) -> FaultOp {
    FaultOp::Commands(vec![Step::shell(
        &NodeName::from(node),
        title,
        user,
        command,
    )])
}

fn psql(node: &str, title: &str, sql: &str) -> FaultOp {
    shell(
        node,
        title,
        User::Postgres,
        format!("psql -X -d testdb -c \"{sql}\""),
    )
}

/// How to inject `name` on `node`.
pub fn inject(dialect: &Dialect, node: &str, name: &str) -> Result<FaultOp, String> {
    let wal = dialect.wal_path();
    find(name)?;
    Ok(match name {
        "node-crash" => FaultOp::Node(NodeOp::Kill),
        "pg-binary-damaged" => shell(
            node,
            "fault: the postgres binary is damaged",
            User::Root,
            format!("[ -e {BIN}.lab-intact ] || mv {BIN} {BIN}.lab-intact\nprintf 'damaged' > {BIN}\nchmod 755 {BIN}"),
        ),
        // §3 step 1: the WAL disk "fails": the WAL directory loses its write permission.
        "wal-permission" => shell(node, "fault: the WAL disk fails (chmod u-w)", User::Postgres, format!("chmod u-w {wal}")),
        "wal-full" => shell(
            node,
            "fault: the WAL disk fills up",
            User::Root,
            // Only ever on a size-limited tmpfs: never fill a disk the host shares.
            format!(
                "[ \"$(stat -f -c %T /disk2)\" = tmpfs ] || {{ echo 'wal-full needs a size-limited WAL disk: lab up --wal-disk-size 256m' >&2; exit 1; }}\n\
                 dd if=/dev/zero of={FILLER} bs=1M 2>/dev/null || true\n\
                 df -h /disk2"
            ),
        ),
        "data-area-damaged" => shell(
            node,
            "fault: the data area is damaged (base/ disappears)",
            User::Postgres,
            "mv /disk1/data/base /disk1/data/base.lab-damaged",
        ),
        "wal-segment-corrupted" => shell(
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
        "data-file-corrupted" => shell(
            node,
            "fault: the first page of pgbench_accounts is overwritten",
            User::Postgres,
            "f=$(psql -X -At -d testdb -c \"SELECT pg_relation_filepath('pgbench_accounts')\")\n\
             dd if=/dev/urandom of=/disk1/data/$f bs=8192 count=1 conv=notrunc 2>/dev/null\n\
             echo \"overwrote block 0 of $f\"",
        ),
        "truncate" => psql(node, "operator error: TRUNCATE", "TRUNCATE TABLE pgbench_history"),
        "drop-table" => psql(node, "operator error: DROP TABLE", "DROP TABLE pgbench_history"),
        "wrong-update" => psql(node, "operator error: UPDATE without WHERE", "UPDATE pgbench_accounts SET abalance = 0"),
        "partition" => FaultOp::Node(NodeOp::Disconnect),
        _ => unreachable!("every catalogued fault is rendered"),
    })
}

/// How to heal `name` on `node`; an error for faults that have no heal.
pub fn heal(dialect: &Dialect, node: &str, name: &str) -> Result<FaultOp, String> {
    let fault = find(name)?;
    let wal = dialect.wal_path();
    Ok(match name {
        "node-crash" => FaultOp::Node(NodeOp::Start),
        "pg-binary-damaged" => shell(node, "heal: the intact postgres binary is back", User::Root, format!("mv {BIN}.lab-intact {BIN}")),
        "wal-permission" => shell(node, "heal: give the WAL directory its write permission back", User::Postgres, format!("chmod u+w {wal}")),
        "wal-full" => shell(node, "heal: remove the filler from the WAL disk", User::Root, format!("rm -f {FILLER}")),
        "data-area-damaged" => shell(
            node,
            "heal: the base directory comes back",
            User::Postgres,
            "mv /disk1/data/base.lab-damaged /disk1/data/base",
        ),
        "partition" => FaultOp::Node(NodeOp::Connect),
        _ => {
            return Err(format!(
                "fault `{}` has no heal: {}; recover as the document does (promote the standby, or restore from backup)",
                fault.name, fault.what
            ))
        }
    })
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
            for v in ["9.3", "15"] {
                assert!(inject(&d(v), "node1", f.name).is_ok(), "{}", f.name);
                assert_eq!(
                    heal(&d(v), "node1", f.name).is_ok(),
                    f.healable,
                    "{}",
                    f.name
                );
            }
        }
        assert_eq!(
            names(),
            crate::scenario::FAULTS,
            "drills may name exactly the catalogue"
        );
    }

    #[test]
    fn the_documents_wal_fault_is_chmod_on_the_versions_wal_directory() {
        assert!(
            commands(inject(&d("9.3"), "node1", "wal-permission").unwrap())
                .contains("$ chmod u-w /disk2/pg_xlog")
        );
        assert!(commands(heal(&d("15"), "node1", "wal-permission").unwrap())
            .contains("$ chmod u+w /disk2/pg_wal"));
    }

    #[test]
    fn filling_the_wal_disk_refuses_anything_but_a_tmpfs() {
        let c = commands(inject(&d("15"), "node2", "wal-full").unwrap());
        assert!(
            c.contains("stat -f -c %T /disk2") && c.contains("--wal-disk-size"),
            "{c}"
        );
    }

    #[test]
    fn unknown_faults_and_missing_heals_say_what_exists() {
        let e = inject(&d("15"), "node1", "meteor").unwrap_err();
        assert!(e.contains("node-crash") && e.contains("partition"), "{e}");
        let e = heal(&d("15"), "node1", "truncate").unwrap_err();
        assert!(e.contains("has no heal"), "{e}");
    }
}
