//! End to end: a drill suite across versions. Two drills on real 9.3.5 and the current major,
//! two labs side by side: the index holds every drill × version cell with its report, the
//! comparison names what 9.3 does differently, the suite's junit.xml is valid against the JUnit
//! schema, the exit code is the worst run's, and no lab is left. A suite interrupted with
//! SIGINT stops every run and removes every lab it made.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::browser::{check_page, keep_screenshot, Expect};
use support::{assert_nothing_left, engine, pg93_tarball, Pg};

/// The drills: a failover whose recovery differs on 9.3 (it opens from the previous
/// checkpoint), and a short one that behaves the same.
const DRILLS: [&str; 2] = ["wal-segment-corrupted-failover", "partition-heal"];

/// The suite's labs are `<prefix>-1`, … in 172.16.50.0/24 and the three /24s after it.
const PREFIX: &str = "e2e-suite";

fn versions() -> String {
    format!("9.3.5,{}", Pg::Current.version())
}

/// Builds (or finds) both versions' images before the suite runs.
async fn images() -> (String, String) {
    let engine = engine().await;
    let old = Pg::Pg93.images(&engine).await.version.to_string();
    let current = Pg::Current.images(&engine).await.version.to_string();
    (old, current)
}

/// The suite directory a run wrote (`<runs>/suite/latest`).
fn suite_dir(runs: &Path) -> std::path::PathBuf {
    let latest = runs.join("suite").join("latest");
    let stamp = std::fs::read_link(&latest).expect("runs/suite/latest is a link");
    runs.join("suite").join(stamp)
}

fn validate_junit(file: &Path) {
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/junit/junit.xsd");
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", xsd])
        .arg(file)
        .output()
        .expect("xmllint runs (Debian's libxml2-utils: test.sh installs it)");
    assert!(
        out.status.success(),
        "{} is not valid JUnit:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_suite_on_two_versions_compares_them_in_one_index() {
    let (old, current) = images().await;
    let runs = tempfile::tempdir().unwrap();
    let tarball = pg93_tarball();
    let mut args = vec!["drill", "run"];
    args.extend(DRILLS);
    let versions = versions();
    args.extend([
        "--pg-version",
        &versions,
        "--pg-tarball",
        tarball.to_str().unwrap(),
        "--jobs",
        "2",
        "--name",
        PREFIX,
        "--subnet",
        "172.16.50.0/24",
        "--runs-dir",
        runs.path().to_str().unwrap(),
    ]);
    let out = support::lab(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for i in 1..=4 {
        assert_nothing_left(&format!("{PREFIX}-{i}")).await;
    }
    let dir = suite_dir(runs.path());
    let md = std::fs::read_to_string(dir.join("index.md")).expect("index.md");
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{md}");

    // Every cell: passed, with a link to a report that exists.
    for drill in DRILLS {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| `{drill}` |")))
            .unwrap_or_else(|| panic!("no row for {drill}:\n{md}"));
        let cells: Vec<&str> = row.split(" | ").skip(1).collect();
        assert_eq!(cells.len(), 2, "{row}");
        for (cell, version) in cells.iter().zip([&old, &current]) {
            assert!(cell.contains("✔ PASSED"), "{drill} on {version}: {cell}");
            let link = cell
                .split("[report](")
                .nth(1)
                .and_then(|l| l.split(')').next())
                .unwrap_or_else(|| panic!("no report link in {cell}"));
            assert!(link.starts_with(&format!("{version}/{drill}/")), "{link}");
            assert!(dir.join(link).is_file(), "{link} is missing");
        }
    }
    // The comparison names what 9.3 does differently: it opens from its previous checkpoint
    // (and loses the rows after the damage), where the current major refuses to start.
    let compared = md
        .split("### `wal-segment-corrupted-failover`")
        .nth(1)
        .and_then(|s| s.split("### ").next())
        .expect("a comparison for wal-segment-corrupted-failover");
    assert!(
        compared.contains("| outcome |") && compared.contains("previous-checkpoint"),
        "{compared}"
    );
    assert!(
        compared.contains("`rows_lost_by_restarted_master` | measure |"),
        "{compared}"
    );
    let html = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("previous-checkpoint"));
    // The page as a browser shows it: no console message, every report link resolves, a cell
    // per drill and version, and the drill-time chart with a bar for each run.
    let shot = dir.join("screenshot.png");
    let cells = DRILLS.len() * 2;
    check_page(
        &dir.join("index.html"),
        &[
            Expect::exactly("table.matrix tbody td.pass", cells),
            Expect::exactly("svg.durations > g[data-drill]", DRILLS.len()),
            Expect::exactly("svg.durations rect[data-version]", cells),
            Expect::exactly("a[href$=\"/report.html\"]", cells),
        ],
        &shot,
        (1280, 1000),
    );
    keep_screenshot(&shot, "suite-index");

    // One junit.xml: valid, one test suite per version, one test case per drill on each.
    let junit = dir.join("junit.xml");
    validate_junit(&junit);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    assert!(
        !xml.contains("<failure") && !xml.contains("<error"),
        "{xml}"
    );
    // The index, for whoever runs this test with --no-capture (the README's excerpt).
    eprintln!("{md}");
}

#[tokio::test]
async fn an_interrupted_suite_stops_every_run_and_removes_its_labs() {
    images().await;
    let runs = tempfile::tempdir().unwrap();
    let tarball = pg93_tarball();
    let prefix = "e2e-suite-stop";
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["drill", "run", "partition-heal", "--pg-version"])
        .arg(versions())
        .arg("--pg-tarball")
        .arg(&tarball)
        .args([
            "--jobs",
            "2",
            "--name",
            prefix,
            "--subnet",
            "172.16.56.0/24",
        ])
        .arg("--runs-dir")
        .arg(runs.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lab runs");
    // Wait until both labs have containers, then interrupt.
    let engine = engine().await;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut up = 0;
        for i in 1..=2 {
            let inv = lab::cluster::inventory(&engine, Some(&format!("{prefix}-{i}")))
                .await
                .unwrap();
            if !inv.containers.is_empty() {
                up += 1;
            }
        }
        if up == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the suite's labs never came up");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // SAFETY: kill(2) on our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("suite interrupted by SIGINT"), "{stderr}");
    for i in 1..=2 {
        assert_nothing_left(&format!("{prefix}-{i}")).await;
    }
    let md = std::fs::read_to_string(suite_dir(runs.path()).join("index.md")).unwrap();
    assert!(!md.contains("PASSED"), "{md}");
    validate_junit(&suite_dir(runs.path()).join("junit.xml"));
}
