//! End to end: `lab up` builds the document's chapter-1 pair on real containers, `lab status`
//! reports it, data and archived WAL flow between the nodes, and `lab down` (or an interrupted
//! `up`) leaves nothing behind. Each test uses its own lab name and subnet.

mod support;

use std::process::{Command, Stdio};

use std::time::{Duration, Instant};
use support::{assert_nothing_left, lab, ok, Down};

#[tokio::test]
async fn up_reaches_streaming_and_down_removes_everything() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let name = "e2e-up";
    let _down = Down(name);
    let started = Instant::now();
    support::up(&version, name, "172.16.31.0/24", &[]);
    eprintln!("warm up: {:?}", started.elapsed());

    // status --json: node1 primary, node2 standby, one streaming async row from node2
    let status: serde_json::Value =
        serde_json::from_str(&ok(&["status", "--name", name, "--json"])).unwrap();
    assert_eq!(status["pg_version"], version.as_str());
    assert_eq!(status["nodes"][0]["name"], "node1");
    assert_eq!(status["nodes"][0]["role"], "primary");
    assert_eq!(status["nodes"][0]["pg_isready"], 0);
    assert_eq!(status["nodes"][0]["timeline"], 1);
    assert_eq!(status["nodes"][1]["role"], "standby");
    assert_eq!(status["nodes"][1]["timeline"], 1);
    assert!(status["nodes"][1]["last_replay"].is_string(), "{status}");
    // the replay lag in bytes, read on the primary (pg_wal_lsn_diff … replay_lsn)
    assert!(status["nodes"][1]["replay_lag_bytes"].is_u64(), "{status}");
    let rows = status["replication"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{status}");
    assert_eq!(rows[0]["on"], "node1");
    assert_eq!(rows[0]["columns"]["state"], "streaming");
    assert_eq!(rows[0]["columns"]["sync_state"], "async");
    assert_eq!(rows[0]["columns"]["client_addr"], "172.16.31.102");

    // a row written on the master is read on the slave
    ok(&[
        "exec",
        "--name",
        name,
        "node1",
        "--",
        "psql",
        "-X",
        "-d",
        "testdb",
        "-c",
        "CREATE TABLE e2e(v text); INSERT INTO e2e VALUES ('written on node1')",
    ]);
    until(name, "node2", "SELECT v FROM e2e", "written on node1").await;

    // an archived WAL file of the master can be fetched from node2 with scp (chapter 5)
    ok(&[
        "exec",
        "--name",
        name,
        "node1",
        "--",
        "psql",
        "-X",
        "-c",
        "SELECT pg_switch_wal()",
    ]);
    let fetch = "for i in $(seq 1 50); do f=$(ssh -o BatchMode=yes 172.16.31.101 'ls /disk3/archive | grep -v history | head -1'); \
                 [ -n \"$f\" ] && break; sleep 0.2; done; \
                 scp -o BatchMode=yes 172.16.31.101:/disk3/archive/$f /tmp/$f && stat -c %s /tmp/$f";
    let size = ok(&["exec", "--name", name, "node2", "--", "bash", "-c", fetch]);
    assert_eq!(size.trim(), "16777216", "a whole WAL segment: {size}");

    // bad input: an unknown node, an existing lab of that name
    let out = lab(&["exec", "--name", name, "node3", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("unknown node `node3`: a lab has node1 and node2"));
    let out = lab(&[
        "up",
        "--pg-version",
        &version,
        "--name",
        name,
        "--subnet",
        "172.16.32.0/24",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{out:?}"
    );

    let removed = ok(&["down", "--name", name]);
    assert!(
        removed.contains("2 container(s), 1 network(s), 8 volume(s)"),
        "{removed}"
    );
    assert_nothing_left(name).await;
}

/// A lab remembers how it was made: `--reuse` on a `--sync` lab runs the drill's synchronous
/// steps, as on a fresh `--sync` lab, and `lab status` says the lab is synchronous.
#[tokio::test]
async fn reuse_on_a_sync_lab_behaves_as_a_fresh_sync_lab() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let name = "e2e-reuse-sync";
    let _down = Down(name);
    support::up(
        &version,
        name,
        "172.16.40.0/24",
        &["--sync", "--archive-command", "literal"],
    );
    let status: serde_json::Value =
        serde_json::from_str(&ok(&["status", "--name", name, "--json"])).unwrap();
    assert_eq!(status["spec"]["sync"], true, "{status}");
    assert_eq!(status["spec"]["archive_command"], "literal", "{status}");
    assert_eq!(status["spec"]["restore_command"], "archive", "{status}");
    assert_eq!(status["spec"]["subnet"], "172.16.40.0/24", "{status}");
    assert_eq!(status["spec"]["pg_version"], version.as_str(), "{status}");
    assert_eq!(
        status["replication"][0]["columns"]["sync_state"], "sync",
        "{status}"
    );
    let text = ok(&["status", "--name", name]);
    assert!(
        text.contains("made with: synchronous, subnet 172.16.40.0/24"),
        "{text}"
    );

    let runs = tempfile::tempdir().unwrap();
    let out = support::run_drill_reusing("partition-heal", name, runs.path());
    let report = std::fs::read_to_string(runs.path().join("partition-heal/latest/report.md"))
        .unwrap_or_default();
    assert!(
        out.status.success(),
        "partition-heal --reuse failed ({}):\n{}\n{report}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "**Result: PASSED**",
        "canceling wait for synchronous replication",
        "still waiting after 5 s",
    ] {
        assert!(report.contains(want), "report lacks {want:?}:\n{report}");
    }
    assert!(
        report.contains("the master keeps accepting writes — – skipped"),
        "the asynchronous step was not left out on a synchronous lab:\n{report}"
    );

    ok(&["down", "--name", name]);
    assert_nothing_left(name).await;
}

#[tokio::test]
async fn a_taken_subnet_is_refused_and_leaves_nothing() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    // another lab's network holds the subnet
    let holder = "e2e-holder";
    let _down = Down(holder);
    let layout = lab::cluster::LabLayout {
        name: holder.into(),
        subnet: "172.16.33.0/24".into(),
        nodes: vec![],
        image: String::new(),
        version: version.clone(),
        publish: None,
        sql_password: String::new(),
        wal_disk_size: None,
        spec: Default::default(),
    };
    lab::cluster::create_network(&engine, &layout)
        .await
        .unwrap();
    let out = lab(&[
        "up",
        "--pg-version",
        &version,
        "--name",
        "e2e-busy",
        "--subnet",
        "172.16.33.0/24",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("subnet 172.16.33.0/24 is taken") && err.contains("--subnet"),
        "{err}"
    );
    assert_nothing_left("e2e-busy").await;
}

#[tokio::test]
async fn an_interrupted_up_removes_what_it_created() {
    let engine = support::engine().await;
    let version = support::images(&engine).await.version.to_string();
    let name = "e2e-int";
    let _down = Down(name);
    for (signal, at) in [(libc::SIGTERM, "containers"), (libc::SIGINT, "cluster")] {
        let child = Command::new(env!("CARGO_BIN_EXE_lab"))
            .args([
                "up",
                "--pg-version",
                &version,
                "--name",
                name,
                "--subnet",
                "172.16.34.0/24",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until `up` has created something (and, the second time, started PostgreSQL).
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let inv = lab::cluster::inventory(&engine, Some(name)).await.unwrap();
            let ready = match at {
                "containers" => inv.containers.len() == 2,
                _ => {
                    inv.containers.len() == 2
                        && lab(&["exec", "--name", name, "node1", "--", "pg_isready", "-q"])
                            .status
                            .success()
                }
            };
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "up never got to {at}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("interrupted by"), "{err}");
        assert_nothing_left(name).await;
    }
}

/// Waits up to 60 s until `sql` on `node` of lab `name` answers `want` (`psql -At`).
async fn until(name: &str, node: &str, sql: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let args = [
            "exec", "--name", name, node, "--", "psql", "-X", "-At", "-d", "testdb", "-c", sql,
        ];
        let out = lab(&args);
        if String::from_utf8_lossy(&out.stdout).trim() == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{node} never answered {want:?} to {sql}: {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `lab exec --name NAME NODE -- COMMAND…`, failing the test on a non-zero exit.
fn exec(name: &str, node: &str, command: &[&str]) -> String {
    let mut args = vec!["exec", "--name", name, node, "--"];
    args.extend_from_slice(command);
    ok(&args)
}

/// `psql -X -At -d testdb -c SQL` on `node` of lab `name`, stopping at the first error.
fn sql_on(name: &str, node: &str, sql: &str) -> String {
    let psql = [
        "psql",
        "-X",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        "testdb",
        "-c",
        sql,
    ];
    exec(name, node, &psql).trim().to_string()
}

/// `lab up --set max_prepared_transactions=10` on 9.3: both servers have the setting (the slave
/// through its base backup), and a transaction prepared on the master survives a failover: the
/// promoted slave lists it and commits it.
#[tokio::test]
async fn a_setting_from_up_reaches_both_servers_and_a_prepared_transaction_survives_failover() {
    let engine = support::engine().await;
    let pg = support::Pg::Pg93;
    let images = pg.images(&engine).await;
    let name = "e2e-settings";
    let _down = Down(name);
    let started = Instant::now();
    let mut extra: Vec<String> = pg.flags(&images)[2..].to_vec();
    extra.extend(["--set".into(), "max_prepared_transactions=10".into()]);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    support::up(&images.version.to_string(), name, "172.16.41.0/24", &extra);
    for node in ["node1", "node2"] {
        assert_eq!(
            sql_on(name, node, "SHOW max_prepared_transactions"),
            "10",
            "{node}"
        );
    }
    let status: serde_json::Value =
        serde_json::from_str(&ok(&["status", "--name", name, "--json"])).unwrap();
    assert_eq!(
        status["spec"]["settings"][0]["name"], "max_prepared_transactions",
        "{status}"
    );

    // A prepared transaction on the master, then a committed marker after it: once the slave
    // has replayed the marker, it has replayed the PREPARE.
    sql_on(
        name,
        "node1",
        "CREATE TABLE e2e_2pc(v text); BEGIN; INSERT INTO e2e_2pc VALUES ('prepared'); \
         PREPARE TRANSACTION 'e2e'; CREATE TABLE e2e_marker();",
    );
    until(
        name,
        "node2",
        "SELECT count(*) FROM pg_class WHERE relname = 'e2e_marker'",
        "1",
    )
    .await;

    // Failover: the master stops dead, the slave is promoted.
    let data = "/disk1/data";
    exec(
        name,
        "node1",
        &["pg_ctl", "stop", "-m", "immediate", "-D", data],
    );
    exec(name, "node2", &["pg_ctl", "promote", "-D", data]);
    until(name, "node2", "SELECT pg_is_in_recovery()", "f").await;
    assert_eq!(
        sql_on(name, "node2", "SELECT gid FROM pg_prepared_xacts"),
        "e2e"
    );
    sql_on(name, "node2", "COMMIT PREPARED 'e2e'");
    assert_eq!(sql_on(name, "node2", "SELECT v FROM e2e_2pc"), "prepared");
    eprintln!("settings e2e: {:?}", started.elapsed());

    ok(&["down", "--name", name]);
    assert_nothing_left(name).await;
}

/// The replay lag in bytes on real 9.3 (whose columns and functions are `*_location`):
/// `lab status` (JSON and text), `lab monitor` and a drill's monitor read it on the primary and
/// show it beside the seconds since the last replayed commit; once a write has been replayed
/// on an idle pair it is 0 B, while the seconds keep growing.
#[tokio::test]
async fn pg93_status_monitor_and_a_drill_show_the_replay_lag_in_bytes() {
    let engine = support::engine().await;
    let images = support::Pg::Pg93.images(&engine).await;
    let name = "e2e-240";
    let _down = Down(name);
    let started = Instant::now();
    let mut extra = support::Pg::Pg93.flags(&images);
    extra.drain(..2); // --pg-version, which `up` names itself
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    support::up(&images.version.to_string(), name, "172.16.240.0/24", &extra);
    eprintln!("up: {:?}", started.elapsed());

    exec(
        name,
        "node1",
        &[
            "psql",
            "-X",
            "-d",
            "testdb",
            "-c",
            "CREATE TABLE lag_probe AS SELECT 1 AS v",
        ],
    );
    until(name, "node2", "SELECT count(*) FROM lag_probe", "1").await;

    // The standby reports its replay position every wal_receiver_status_interval (10 s) when
    // idle, so the primary's figure reaches 0 within about that.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status: serde_json::Value =
            serde_json::from_str(&ok(&["status", "--name", name, "--json"])).unwrap();
        let node2 = &status["nodes"][1];
        assert_eq!(node2["role"], "standby", "{status}");
        assert!(node2["replay_lag_bytes"].is_u64(), "{status}");
        assert!(node2["replay_lag_seconds"].is_number(), "{status}");
        if node2["replay_lag_bytes"] == 0 {
            break status;
        }
        assert!(Instant::now() < deadline, "never 0 bytes behind: {status}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(status["nodes"][0]["replay_lag_bytes"].is_null(), "{status}");
    let text = ok(&["status", "--name", name]);
    assert!(text.contains("replay lag behind primary"), "{text}");
    let row = text.lines().find(|l| l.contains("standby")).unwrap();
    assert!(row.contains(" 0 B "), "{text}");

    let watched = ok(&["monitor", "--name", name, "--count", "1"]);
    assert!(
        watched.contains("node2: replay lag 0 B behind the primary (")
            && watched.contains(" s since last replayed commit)"),
        "{watched}"
    );
    eprintln!("status and monitor: {:?}", started.elapsed());

    // A drill's monitor: its lag events carry the bytes, and the report draws them.
    let runs = tempfile::tempdir().unwrap();
    let drill = runs.path().join("lag-watch.toml");
    std::fs::write(
        &drill,
        r#"name = "lag-watch"
title = "Watch the replay lag"
proves = "The monitor reads the replay lag in bytes on the primary."
monitor = { interval = "200ms" }

[[steps]]
title = "a write on the master"
on = "primary"
db = "testdb"
sql = "INSERT INTO lag_probe SELECT generate_series(1, 1000); SELECT 1"
expect = "1"

[[steps]]
title = "let the monitor watch"
sleep = "1500ms"
"#,
    )
    .unwrap();
    let out = support::run_drill_reusing(drill.to_str().unwrap(), name, runs.path());
    let latest = runs.path().join("lag-watch/latest");
    let report = std::fs::read_to_string(latest.join("report.json")).unwrap_or_default();
    assert!(out.status.success(), "{out:?}\n{report}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let lag: Vec<&serde_json::Value> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "lag")
        .collect();
    assert!(!lag.is_empty(), "{report}");
    for e in &lag {
        assert_eq!(e["node"], "node2", "{e}");
        assert!(
            e["bytes"].as_u64().is_some_and(|b| b < 16 << 20),
            "a standby of a live primary is a few bytes behind: {e}"
        );
    }
    let html = std::fs::read_to_string(latest.join("report.html")).unwrap();
    assert!(
        html.contains("<g data-lane=\"replay lag\">")
            && html.contains("<g data-lane=\"last commit\">"),
        "report.html lacks a lag lane"
    );
    eprintln!("with the drill: {:?}", started.elapsed());
}
