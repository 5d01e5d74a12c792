//! End to end: the exported runbook script (`lab drill runbook NAME --format sh`) of every
//! built-in drill runs to its end against a lab's two servers, exactly as a DBA runs it on real
//! ones: the containers stand in for the two hosts, a small stand-in for ssh (the only place
//! Docker appears) maps each address to its container, and only the physical-fault pauses are
//! answered by the test, which performs the fault through `lab fault` and presses Enter. Then
//! the drill's evidence is checked on the servers; and a script whose expectation does not hold
//! stops with its FAIL line and a non-zero exit.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use support::{up, Down, Pg};

/// The stand-in for ssh: `root@ADDRESS COMMAND` runs COMMAND in that address's container.
fn write_ssh(dir: &Path, lab: &str, net: u8) -> std::path::PathBuf {
    let path = dir.join("ssh");
    let text = format!(
        "#!/bin/bash\n\
         # Stands in for ssh: root@ADDRESS COMMAND runs COMMAND as root in the lab's container.\n\
         case ${{1#root@}} in\n\
         \x20 172.16.{net}.101) c={c1} ;;\n\
         \x20 172.16.{net}.102) c={c2} ;;\n\
         \x20 *) echo \"ssh stand-in: unknown host $1\" >&2; exit 255 ;;\n\
         esac\n\
         exec docker exec -i -u root \"$c\" bash -c \"$2\"\n",
        c1 = lab::cluster::container_name(lab, lab::node::NodeId::NODE1),
        c2 = lab::cluster::container_name(lab, lab::node::NodeId::NODE2),
    );
    std::fs::write(&path, text).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
    path
}

/// The fault a pause asks for: (`inject` or `heal`, fault, node).
fn pause_fault(line: &str) -> (&'static str, &'static str, &'static str) {
    let node = if line.contains("node1") {
        "node1"
    } else {
        "node2"
    };
    if line.contains("cut the power") {
        ("inject", "node-crash", node)
    } else if line.contains("back on") {
        ("heal", "node-crash", node)
    } else if line.contains("pull") {
        ("inject", "partition", node)
    } else if line.contains("plug") {
        ("heal", "partition", node)
    } else {
        panic!("a pause the test cannot answer: {line}")
    }
}

/// What a script run left: its exit, its output (both streams), how long it took.
struct ScriptRun {
    success: bool,
    stdout: String,
    stderr: String,
    seconds: f64,
}

/// Runs `script` against lab `lab` in 172.16.`net`, answering its pauses through `lab fault`.
fn run_script(script: &Path, lab: &str, net: u8, dir: &Path) -> ScriptRun {
    let ssh = write_ssh(dir, lab, net);
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(script)
        .env("NODE1", format!("172.16.{net}.101"))
        .env("NODE2", format!("172.16.{net}.102"))
        .env("RUNBOOK_SSH", &ssh)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let mut stdin = child.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("PAUSE step ") {
            let (verb, fault, node) = pause_fault(&line);
            support::ok(&["fault", verb, fault, "--node", node, "--name", lab]);
            writeln!(stdin).unwrap();
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = child.wait().unwrap();
    ScriptRun {
        success: status.success(),
        stdout,
        stderr: errors.join().unwrap(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The script of `drill` for `pg`, synchronous if `sync` (`--without-setup`: the lab brought
/// the pair up).
fn export(drill: &str, pg: Pg, sync: bool, dir: &Path) -> std::path::PathBuf {
    let version = pg.version().to_string();
    let mut args = vec![
        "drill",
        "runbook",
        drill,
        "--format",
        "sh",
        "--without-setup",
        "--pg-version",
        &version,
    ];
    if sync {
        args.push("--sync");
    }
    let text = support::ok(&args);
    let path = dir.join(format!("{drill}.sh"));
    std::fs::write(&path, text).unwrap();
    path
}

/// One value by SQL on `node` of lab `lab` (the test's own look, beside the script's checks).
fn sql(lab: &str, node: &str, db: &str, query: &str) -> String {
    let out = Command::new("docker")
        .args(["exec", "-u", "postgres"])
        .arg(lab::cluster::container_name(
            lab,
            node.parse().expect("a node"),
        ))
        .args(["/usr/local/pgsql/bin/psql", "-XAtq", "-d", db, "-c", query])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Brings up lab `lab` in 172.16.`net` on `pg` (synchronous if `sync`) with the drill's `[lab]`
/// needs.
async fn lab_for(pg: Pg, sync: bool, drill: &str, lab: &str, net: u8) {
    let images = pg.images(&support::engine().await).await;
    let mut extra: Vec<String> = pg.flags(&images).into_iter().skip(2).collect();
    if sync {
        extra.push("--sync".to_string());
    }
    let d = lab::drill::load(drill).unwrap();
    if let Some(bytes) = d.lab.wal_disk_size {
        extra.extend(["--wal-disk-size".to_string(), bytes.to_string()]);
    }
    if d.lab.data_checksums {
        extra.push("--data-checksums".to_string());
    }
    for setting in &d.lab.settings {
        extra.extend([
            "--set".to_string(),
            format!("{}={}", setting.name, setting.value),
        ]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let subnet = format!("172.16.{net}.0/24");
    up(&images.version.to_string(), lab, &subnet, &extra);
}

/// Exports `drill`'s script for `pg` (synchronous if `sync`), runs it on a fresh lab of that
/// mode, checks it ran to its end and returns the run (the lab stays up until `_down` drops).
async fn script_passes(
    pg: Pg,
    sync: bool,
    drill: &str,
    lab: &'static str,
    net: u8,
) -> (ScriptRun, Down) {
    let down = Down(lab);
    lab_for(pg, sync, drill, lab, net).await;
    let dir = tempfile::tempdir().unwrap();
    let script = export(drill, pg, sync, dir.path());
    let run = run_script(&script, lab, net, dir.path());
    eprintln!(
        "runbook script {drill} on {}: {:.0} s",
        pg.version(),
        run.seconds
    );
    assert!(
        run.success && run.stdout.contains("the runbook ran to its end"),
        "{drill} on {pg:?}: the script stopped:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    (run, down)
}

/// Who is master at the end: node `master` out of recovery, the other in it.
#[track_caller]
fn roles(lab: &str, master: &str) {
    let other = if master == "node1" { "node2" } else { "node1" };
    assert_eq!(
        sql(lab, master, "postgres", "SELECT pg_is_in_recovery()"),
        "f"
    );
    assert_eq!(
        sql(lab, other, "postgres", "SELECT pg_is_in_recovery()"),
        "t"
    );
}

fn failover_switchback(lab: &str, _sync: bool, run: &ScriptRun) {
    roles(lab, "node1");
    let fingerprint = "SELECT (SELECT count(*) FROM pgbench_history) || ' ' || (SELECT sum(abalance) FROM pgbench_accounts)";
    assert_eq!(
        sql(lab, "node1", "testdb", fingerprint),
        sql(lab, "node2", "testdb", fingerprint)
    );
    assert!(
        run.stdout.contains("== step 43 [node2 ") && run.stdout.contains("timeline 3"),
        "{}",
        run.stdout
    );
}

fn pitr(lab: &str, _sync: bool, run: &ScriptRun) {
    assert!(run.stdout.contains("max_mtime = "), "{}", run.stdout);
    assert_eq!(
        sql(lab, "node1", "postgres", "SELECT pg_is_in_recovery()"),
        "f"
    );
}

/// The script's second recovery left the master with the rows up to the target transaction.
fn recovered_rows(lab: &str, _sync: bool, run: &ScriptRun) {
    assert!(run.stdout.contains("xid = "), "{}", run.stdout);
    let rows = "SELECT string_agg(id::text, ',' ORDER BY id) FROM recovered";
    assert_eq!(sql(lab, "node1", "testdb", rows), "1,2,3");
    assert_eq!(
        sql(lab, "node1", "postgres", "SELECT pg_is_in_recovery()"),
        "f"
    );
}

/// The script gave the master back the rows it deleted, from the delayed standby, and the
/// standby, no longer delayed, holds the same rows.
fn rows_given_back(lab: &str, _sync: bool, run: &ScriptRun) {
    roles(lab, "node1");
    assert!(
        run.stdout.contains("master_rows = 100 50500"),
        "{}",
        run.stdout
    );
    let rows = "SELECT count(*) || ' ' || sum(amount) FROM invoices";
    assert_eq!(sql(lab, "node1", "testdb", rows), "100 50500");
    assert_eq!(sql(lab, "node2", "testdb", rows), "100 50500");
    assert_eq!(
        sql(lab, "node2", "postgres", "SHOW recovery_min_apply_delay"),
        "0"
    );
}

/// The script filled the master's WAL disk through the slot, recovered it without the slot, and
/// the pair streams the rows written after.
fn wal_freed(lab: &str, _sync: bool, run: &ScriptRun) {
    roles(lab, "node1");
    assert!(run.stdout.contains("segments_full = "), "{}", run.stdout);
    assert_eq!(
        sql(
            lab,
            "node1",
            "postgres",
            "SELECT count(*) FROM pg_replication_slots"
        ),
        "0"
    );
    let rows = "SELECT count(*) FROM wal_filler";
    assert_eq!(
        sql(lab, "node1", "testdb", rows),
        sql(lab, "node2", "testdb", rows)
    );
}

fn master_is_node1(lab: &str, _sync: bool, _run: &ScriptRun) {
    roles(lab, "node1");
}

fn master_is_node2(lab: &str, _sync: bool, _run: &ScriptRun) {
    roles(lab, "node2");
}

/// A failure-table drill: node2 promoted, node1 rebuilt as its standby, and the script's own
/// ledger check counted acknowledged rows on the new master, none missing in synchronous mode
/// (the script stops when more are missing than the drill allows).
fn failed_over(lab: &str, sync: bool, run: &ScriptRun) {
    roles(lab, "node2");
    let (acked, missing) = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ledger: "))
        .filter_map(|l| l.split_once(" acknowledged ids, "))
        .find_map(|(n, rest)| Some((n, rest.strip_suffix(" of them missing on node2")?)))
        .map(|(n, m)| (n.parse::<u64>().unwrap(), m.parse::<u64>().unwrap()))
        .unwrap_or_else(|| panic!("no ledger check on node2:\n{}", run.stdout));
    assert!(acked > 0, "{}", run.stdout);
    if sync {
        assert_eq!(missing, 0, "{}", run.stdout);
    }
}

/// Both switchovers done: node1 is master again, and the script's ledger check found every
/// acknowledged row on it (it stops when any is missing: `max_lost = 0`).
fn switched_over_and_back(lab: &str, _sync: bool, run: &ScriptRun) {
    roles(lab, "node1");
    let missing = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ledger: "))
        .find_map(|l| {
            l.split_once(" acknowledged ids, ")?
                .1
                .strip_suffix(" of them missing on node1")
        })
        .unwrap_or_else(|| panic!("no ledger check on node1:\n{}", run.stdout));
    assert_eq!(missing, "0", "{}", run.stdout);
}

/// The old master rejoined by pg_rewind, then rebuilt from a base backup: node2 is the master
/// and node1 its standby, the script printed both measures, and pg_rewind finished.
fn rejoined(lab: &str, sync: bool, run: &ScriptRun) {
    failed_over(lab, sync, run);
    for name in ["rewind_seconds", "rebuild_seconds"] {
        let seconds: f64 = run
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("measure {name} = ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no measure {name}:\n{}", run.stdout));
        assert!(seconds > 0.0, "{name} = {seconds}");
        eprintln!("runbook script rewind-rejoin: {name} = {seconds}");
    }
    let output = format!("{}\n{}", run.stdout, run.stderr);
    assert!(output.contains("pg_rewind: Done!"), "{output}");
}

/// One test per drill, server and mode: `test: "drill" on Pg [sync] @ net => check`.
macro_rules! scripts {
    ($($test:ident: $drill:literal on $pg:ident $($sync:ident)? @ $net:literal => $check:path;)*) => {$(
        #[tokio::test]
        async fn $test() {
            let lab = concat!("runbook-sh-", $net);
            let sync = false $(|| stringify!($sync) == "sync")?;
            let (run, _down) = script_passes(Pg::$pg, sync, $drill, lab, $net).await;
            $check(lab, sync, &run);
        }
    )*};
}

// Every built-in drill's exported script, on both servers (delayed-standby and slot-fills-wal, whose
// steps 9.3 nearly all skips, on the current major only); on 9.3 the drills whose mode changes
// nothing but what may be lost run synchronous (with `--sync` scripts), where every_drill_e2e
// runs them asynchronous.
scripts! {
    failover_switchback_93: "failover-switchback" on Pg93 @ 200 => failover_switchback;
    failover_switchback_current: "failover-switchback" on Current @ 201 => failover_switchback;
    pitr_93_sync: "pitr-from-standby-backup" on Pg93 sync @ 202 => pitr;
    pitr_current: "pitr-from-standby-backup" on Current @ 203 => pitr;
    recovery_targets_93: "recovery-targets" on Pg93 @ 225 => recovered_rows;
    recovery_targets_current: "recovery-targets" on Current @ 226 => recovered_rows;
    planned_switchover_93_sync: "planned-switchover" on Pg93 sync @ 227 => switched_over_and_back;
    delayed_standby_current: "delayed-standby" on Current @ 231 => rows_given_back;
    slot_fills_wal_current: "slot-fills-wal" on Current @ 232 => wal_freed;
    partition_heal_93: "partition-heal" on Pg93 @ 216 => master_is_node1;
    partition_heal_current: "partition-heal" on Current @ 217 => master_is_node1;
    archive_only_catchup_93_sync: "archive-only-catchup" on Pg93 sync @ 218 => master_is_node1;
    archive_only_catchup_current: "archive-only-catchup" on Current @ 219 => master_is_node1;
    node_crash_93_sync: "node-crash-failover" on Pg93 sync @ 204 => failed_over;
    node_crash_current: "node-crash-failover" on Current @ 205 => failed_over;
    binary_damaged_93_sync: "binary-damaged-failover" on Pg93 sync @ 206 => failed_over;
    binary_damaged_current: "binary-damaged-failover" on Current @ 207 => failed_over;
    wal_full_93_sync: "wal-full-failover" on Pg93 sync @ 208 => failed_over;
    wal_full_current: "wal-full-failover" on Current @ 209 => failed_over;
    data_area_damaged_93_sync: "data-area-damaged-failover" on Pg93 sync @ 210 => failed_over;
    data_area_damaged_current: "data-area-damaged-failover" on Current @ 211 => failed_over;
    wal_segment_corrupted_93_sync: "wal-segment-corrupted-failover" on Pg93 sync @ 212 => master_is_node2;
    wal_segment_corrupted_current: "wal-segment-corrupted-failover" on Current @ 213 => master_is_node2;
    data_file_corrupted_93_sync: "data-file-corrupted-failover" on Pg93 sync @ 214 => failed_over;
    data_file_corrupted_current: "data-file-corrupted-failover" on Current @ 215 => failed_over;
    // On the current major only: on 9.3 the rewind is skipped and the rest is the rebuild that
    // node_crash_93_sync's script runs.
    rewind_rejoin_current: "rewind-rejoin" on Current @ 229 => rejoined;
}

/// A script whose expectation does not hold on the servers (node2 is the slave, the drill says
/// it is the master) stops at that step with its FAIL line and a non-zero exit.
#[tokio::test]
async fn a_script_stops_where_the_servers_differ_from_the_rehearsal() {
    let (lab, net) = ("runbook-sh-220", 220);
    let _down = Down(lab);
    lab_for(Pg::Current, false, "failover-switchback", lab, net).await;
    let dir = tempfile::tempdir().unwrap();
    let drill = dir.path().join("wrong.toml");
    std::fs::write(
        &drill,
        "name = \"wrong-expectation\"\ntitle = \"node2 is taken for the master\"\n\
         proves = \"nothing: its check does not hold\"\n\n\
         [[steps]]\ntitle = \"a row on node1\"\non = \"node1\"\n\
         sql = \"SELECT 1\"\n\n\
         [[steps]]\ntitle = \"node2 accepts writes\"\non = \"node2\"\n\
         sql = \"SELECT pg_is_in_recovery()\"\nexpect = \"f\"\n\n\
         [[steps]]\ntitle = \"never reached\"\non = \"node1\"\nrun = \"touch /tmp/reached\"\n",
    )
    .unwrap();
    let script = export(drill.to_str().unwrap(), Pg::Current, false, dir.path());
    let run = run_script(&script, lab, net, dir.path());
    assert!(!run.success, "{}", run.stdout);
    let want = format!(
        "FAIL step 2 (node2 172.16.{net}.102): node2 accepts writes: expected SELECT pg_is_in_recovery(): f, seen: t"
    );
    assert!(run.stderr.contains(&want), "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("== step 3 "), "{}", run.stdout);
}
