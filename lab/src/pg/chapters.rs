//! The parts of the document that the lab performs by other means than a [`Plan`] step, written
//! as the document writes them, so that a printed runbook shows the reader the lines they know:
//! the installation (chapter 1 (1), done by the image layers), the replication checks of
//! chapter 1 (pp.17–18, done over SQL by `up`), the watch loops of chapter 3 step 0 (done by the
//! drill monitor), and the ssh keys of chapter 5 (done by `up`, which cannot type a password).

use super::topology::{Node, Topology};
use super::Dialect;
use crate::plan::{Command, Plan, User};

/// Chapter 1 (1), pp.5–7: unpacking the tarball, the `postgres` user (uid and gid 501), `./configure`,
/// `gmake world`, `gmake install-world`, as the document types them for `release` (`9.3.25`).
///
/// The lab's build layer runs the same with `make -j` (GNU make is `make` on Debian) and its node
/// layer creates the user (`lab images build`; the Dockerfiles are in `images/`).
///
/// `make` is `(build, install)`, the targets the lab's build layer runs for the release
/// (`world`/`install-world`, from 17 `world-bin`/`install-world-bin`).
pub fn install_lines(release: &str, make: (&str, &str)) -> String {
    let (build, install) = make;
    format!(
        "# cp postgresql-{release}.tar.bz2 /work/\n\
         # cd /work\n\
         # bzip2 -d postgresql-{release}.tar.bz2\n\
         # tar xvf postgresql-{release}.tar\n\
         # groupadd postgres -g 501\n\
         # useradd postgres -u 501 -g 501\n\
         # chown postgres:postgres /work/postgresql-{release}\n\
         # su - postgres\n\
         $ cd /work/postgresql-{release}\n\
         $ ./configure\n\
         $ gmake {build}\n\
         $ exit\n\
         # gmake {install}\n"
    )
}

/// The replication checks of chapter 1 (pp.17–18) as the document types them: on the master
/// `psql -x -c "select * from pg_stat_replication"` (`state` must be `streaming`), on the slave
/// `psql -c "SELECT pg_last_xact_replay_timestamp()"`. `up` runs the same queries over SQL
/// ([`Dialect::replication_status_query`], [`Dialect::replay_timestamp_query`]).
pub fn replication_checks(dialect: &Dialect, topo: &Topology) -> String {
    format!(
        "[{}] $ psql -x -c \"select * from pg_stat_replication\"\n\
         expect: state | streaming, sync_state | {}, client_addr | {}\n\
         [{}] $ psql -c \"{}\"\n\
         expect: the time of the last replayed transaction\n",
        topo.master.name,
        if topo.sync { "sync" } else { "async" },
        topo.slave.address,
        topo.slave.name,
        dialect.replay_timestamp_query(),
    )
}

/// The document's watch loop on `node` (chapter 3 step 0, p.23): every 10 s, `pg_isready`'s
/// exit code and the date, for the node itself or, with `peer`, for the other node.
fn watch_loop(node: &Node, peer: Option<&Node>) -> Command {
    let (title, probe) = match peer {
        None => (
            "watch the local server".to_string(),
            "pg_isready  -q".to_string(),
        ),
        Some(p) => (
            format!("(another session) watch {} at {}", p.name, p.address),
            format!("pg_isready -h {} -q", p.address),
        ),
    };
    Command::shell(
        node.name,
        &title,
        User::Postgres,
        format!("while true; do {probe} ; echo $?,`date`; sleep 10; done;"),
    )
}

/// Chapter 3 step 0 (pp.23–24): each node watches itself and the other, every 10 s; the codes
/// are 0 accepting, 1 rejecting, 2 no response. The lab's drill monitor probes both nodes the
/// same way (`pg_isready -h <node> -p 5432 -q`) at the drill's interval.
pub fn watch_loops(topo: &Topology) -> Plan {
    let (m, s) = (&topo.master, &topo.slave);
    Plan {
        steps: vec![
            watch_loop(m, None),
            watch_loop(m, Some(s)),
            watch_loop(s, None),
            watch_loop(s, Some(m)),
        ],
    }
}

/// How `lab up` makes each node's key, as `postgres`: chapter 5's `ssh-keygen -t rsa` with its
/// questions answered on the command line (no passphrase, the default file) and its public key
/// printed for the controller.
pub const LAB_SSH_KEYGEN: &str =
    "mkdir -p ~/.ssh && chmod 700 ~/.ssh && rm -f ~/.ssh/id_rsa ~/.ssh/id_rsa.pub \
     && ssh-keygen -q -t rsa -b 3072 -N '' -C \"postgres@$(hostname)\" -f ~/.ssh/id_rsa \
     && cat ~/.ssh/id_rsa.pub";

/// What `lab up` does instead of chapter 5's second command, in a few lines for a runbook.
pub fn lab_ssh_lines() -> String {
    format!(
        "the lab (lab up), as postgres on every node at once:\n  {LAB_SSH_KEYGEN}\n\
         then it writes the public keys to each node's ~/.ssh/authorized_keys (chmod 600), trusts \
         the peers' host keys (ssh-keyscan) and checks `ssh -o BatchMode=yes <peer> true`\n"
    )
}

/// Chapter 5 (p.61): on each node, as `postgres`, a key pair (`ssh-keygen -t rsa`, every
/// question answered with Enter) and the public key appended to the peer's `authorized_keys`.
///
/// The document's second command logs in to the peer with a password; the nodes have none, so
/// `lab up` generates each node's key (`ssh-keygen -q -t rsa -b 3072 -N ''`), hands the public
/// keys over itself into each peer's `~/.ssh/authorized_keys` (mode 600) and trusts the host keys
/// (`ssh-keyscan`), then checks `ssh <peer> true` from each node.
pub fn ssh_plan(topo: &Topology) -> Plan {
    let key = |from: &Node, to: &Node| {
        Command::shell(
            from.name,
            &format!("a key for postgres on {}, authorised on {}", from.name, to.name),
            User::Postgres,
            format!(
                "ssh-keygen -t rsa\n\
                 cat ~/.ssh/id_rsa.pub | ssh {} \"cat >>.ssh/authorized_keys && chmod 600 .ssh/authorized_keys\"",
                to.address
            ),
        )
    };
    Plan {
        steps: vec![
            key(&topo.master, &topo.slave),
            key(&topo.slave, &topo.master),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_loops_are_the_documents() {
        let text = watch_loops(&Topology::default()).render();
        for line in [
            "$ while true; do pg_isready  -q ; echo $?,`date`; sleep 10; done;",
            "$ while true; do pg_isready -h 172.16.3.102 -q ; echo $?,`date`; sleep 10; done;",
            "$ while true; do pg_isready -h 172.16.3.101 -q ; echo $?,`date`; sleep 10; done;",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
        assert_eq!(text.matches("## ").count(), 4);
    }

    #[test]
    fn chapter_5_appends_each_key_to_the_peer() {
        let text = ssh_plan(&Topology::default()).render();
        assert!(text.contains("## 1. [node1]"), "{text}");
        assert!(text.contains(
            "$ cat ~/.ssh/id_rsa.pub | ssh 172.16.3.102 \"cat >>.ssh/authorized_keys && chmod 600 .ssh/authorized_keys\""
        ));
        assert!(text.contains(
            "$ cat ~/.ssh/id_rsa.pub | ssh 172.16.3.101 \"cat >>.ssh/authorized_keys && chmod 600 .ssh/authorized_keys\""
        ));
        assert_eq!(text.matches("$ ssh-keygen -t rsa\n").count(), 2);
    }

    #[test]
    fn checks_name_the_slave_and_the_mode() {
        let d = Dialect::for_major("9.3".parse::<crate::version::PgVersion>().unwrap().major);
        let mut topo = Topology::default();
        let text = replication_checks(&d, &topo);
        assert!(text.contains("[node1] $ psql -x -c \"select * from pg_stat_replication\""));
        assert!(text.contains("sync_state | async, client_addr | 172.16.3.102"));
        assert!(text.contains("[node2] $ psql -c \"SELECT pg_last_xact_replay_timestamp()\""));
        topo.sync = true;
        assert!(replication_checks(&d, &topo).contains("sync_state | sync"));
    }
}
