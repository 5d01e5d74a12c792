//! End to end: both documented drills pass on real containers, a wrong expectation fails the
//! drill with exit code 1 and a report showing expected against seen, and an invalid drill is
//! refused with exit code 2 before anything runs. Every lab is removed afterwards.

mod support;

use std::path::Path;
use std::process::Output;

use support::browser::{check_page, keep_screenshot, lanes_of, report_expectations};
use support::{lab, run_drill};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[track_caller]
fn assert_passed(out: &Output, runs: &Path, drill: &str) {
    let latest = runs.join(drill).join("latest");
    let report = std::fs::read_to_string(latest.join("report.md")).unwrap_or_default();
    assert!(
        out.status.success(),
        "drill {drill} failed ({}):\n{}\n{report}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("**Result: PASSED**"), "{report}");
    let junit = read(&latest.join("junit.xml"));
    assert!(
        junit.contains("failures=\"0\"") && junit.contains("errors=\"0\""),
        "{junit}"
    );
    for node in ["node1", "node2"] {
        assert!(read(&latest.join(format!("{node}.log")))
            .contains("database system is ready to accept"));
    }
    // Secrets stay out of the run directory: passwords masked, no private key anywhere.
    for entry in std::fs::read_dir(&latest).unwrap() {
        let text = read(&entry.unwrap().path());
        assert!(
            !text.contains("password=repuser") && !text.contains("PRIVATE KEY"),
            "a secret in the run directory"
        );
    }
    let json: serde_json::Value = serde_json::from_str(&read(&latest.join("report.json"))).unwrap();
    assert!(json["events"].as_array().unwrap().len() > 10);
}

/// The run's report.html in headless Chromium: no console message, the timeline's SVG has a
/// lane per node plus the ledger and replay-lag lanes the run recorded, a row per step; the
/// screenshot is kept with the run (`screenshot.png`) and under `target/tmp/screenshots/`.
fn check_report_in_browser(latest: &Path, drill: &str) {
    let json: serde_json::Value = serde_json::from_str(&read(&latest.join("report.json"))).unwrap();
    let events = json["events"].as_array().unwrap();
    let steps = events
        .iter()
        .filter(|e| e["event"] == "step_started")
        .count();
    let expect = report_expectations(&["node1", "node2"], &lanes_of(events), steps);
    let shot = latest.join("screenshot.png");
    check_page(&latest.join("report.html"), &expect, &shot, (1280, 1000));
    keep_screenshot(&shot, drill);
}

#[tokio::test]
async fn failover_switchback_passes() {
    let runs = tempfile::tempdir().unwrap();
    let out = run_drill(
        "failover-switchback",
        "e2e-fs",
        "172.16.36.0/24",
        runs.path(),
        &[],
    )
    .await;
    assert_passed(&out, runs.path(), "failover-switchback");
    let report = read(&runs.path().join("failover-switchback/latest/report.md"));
    // The document's evidence is in the report: the fault, the log lines, the new timelines.
    for want in [
        "injected `wal-permission` on node1",
        "selected new timeline ID: 2",
        "selected new timeline ID: 3",
        "on timeline 3",
        // Chapter 3's lesson (p.28) and node2's switchback (p.43).
        "pg_ctl: server is running",
        "End of WAL reached on timeline 2",
        "new target timeline is 3",
    ] {
        assert!(report.contains(want), "report lacks {want:?}");
    }
    check_report_in_browser(
        &runs.path().join("failover-switchback/latest"),
        "failover-switchback",
    );
}

#[tokio::test]
async fn pitr_from_standby_backup_passes() {
    let runs = tempfile::tempdir().unwrap();
    let out = run_drill(
        "pitr-from-standby-backup",
        "e2e-pitr",
        "172.16.37.0/24",
        runs.path(),
        &[],
    )
    .await;
    assert_passed(&out, runs.path(), "pitr-from-standby-backup");
    let report = read(
        &runs
            .path()
            .join("pitr-from-standby-backup/latest/report.md"),
    );
    assert!(
        report.contains("starting point-in-time recovery to"),
        "{report}"
    );
}

/// What a failed run left: its run directory and report.md.
struct Failed {
    latest: std::path::PathBuf,
    report: String,
    _dir: tempfile::TempDir,
}

/// Runs the drill file `body` (whose `name` is `drill`) on a fresh lab `lab` in `subnet` with
/// `extra` flags, and checks it failed: exit 1, a FAILED report, the steps after the failure
/// skipped, the lab removed.
async fn failing_drill(drill: &str, body: &str, lab: &str, subnet: &str, extra: &[&str]) -> Failed {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{drill}.toml"));
    std::fs::write(&file, body).unwrap();
    let runs = dir.path().join("runs");
    let out = run_drill(file.to_str().unwrap(), lab, subnet, &runs, extra).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let latest = runs.join(drill).join("latest");
    let report = read(&latest.join("report.md"));
    assert!(report.contains("**Result: FAILED**"), "{report}");
    assert!(
        report.contains("Skipped: an earlier step failed"),
        "{report}"
    );
    Failed {
        latest,
        report,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_wrong_expectation_fails_with_exit_code_1_and_shows_expected_and_seen() {
    let body = r#"
name = "wrong-expectation"
title = "A drill whose expectation is wrong"
proves = "that a failed expectation fails the drill"

[[steps]]
title = "the master has five branches (it has one at scale 1)"
on = "primary"
sql = "SELECT count(*) FROM pgbench_branches"
db = "testdb"
expect = "5"

[[steps]]
title = "never reached"
on = "node2"
run = "true"
"#;
    let run = failing_drill(
        "wrong-expectation",
        body,
        "e2e-wrong",
        "172.16.38.0/24",
        &[],
    )
    .await;
    assert!(
        run.report.contains("| `5` | `1` |"),
        "expected vs seen: {}",
        run.report
    );
    let junit = read(&run.latest.join("junit.xml"));
    assert!(junit.contains("failures=\"1\""), "{junit}");
}

/// No step waits without a bound: a commit held for a synchronous slave that is cut off ends at
/// its step's bound with exit 1, the partition is healed, the reports are written, and the lab
/// is removed.
#[tokio::test]
async fn a_blocked_commit_ends_at_its_steps_bound() {
    let body = r#"
name = "blocked-commit"
title = "A commit held for a synchronous slave that is cut off"
proves = "that a step which cannot end fails at its bound, and the drill heals its faults"

[[steps]]
title = "cut the slave off the network"
on = "node2"
fault = "partition"

[[steps]]
title = "a commit on the master waits for the synchronous slave"
on = "node1"
sql = "CREATE TABLE blocked (id int)"
timeout = "5s"

[[steps]]
title = "never reached"
on = "node1"
run = "true"
"#;
    let started = std::time::Instant::now();
    let sync = ["--sync"];
    let run = failing_drill(
        "blocked-commit",
        body,
        "e2e-blocked",
        "172.16.39.0/24",
        &sync,
    )
    .await;
    let report = &run.report;
    assert!(
        report.contains("still waiting after 10 s for `CREATE TABLE blocked (id int)` on node1"),
        "{report}"
    );
    assert!(report.contains("healed `partition` on node2"), "{report}");
    assert!(run.latest.join("report.html").exists());
    // up, the bounded wait, reports and down: minutes at most, never "forever".
    assert!(started.elapsed() < std::time::Duration::from_secs(240));
}

#[test]
fn an_invalid_drill_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "name = \"bad\"\ntitle = \"t\"\nproves = \"p\"\n\n[[steps]]\ntitle = \"x\"\non = \"node3\"\nrun = \"true\"\n").unwrap();
    for args in [
        vec!["drill", "check", file.to_str().unwrap()],
        vec![
            "drill",
            "run",
            file.to_str().unwrap(),
            "--name",
            "e2e-never",
        ],
    ] {
        let out = lab(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.toml:7:6"), "{err}");
        assert!(err.contains("node3"), "{err}");
    }
}
