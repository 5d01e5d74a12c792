//! End to end: a drill suite across versions. Two drills on real 9.3.5 and the current major,
//! two labs side by side: the index holds every drill × version cell with its report, the
//! comparison names what 9.3 does differently, the suite's junit.xml is valid against the JUnit
//! schema, the exit code is the worst run's, and no lab is left. A suite interrupted with
//! SIGINT stops every run and removes every lab it made. A suite of three tiny drills split over
//! two shards (`--shard K/2`, run one after the other as two CI runners would) merges into one
//! index and one junit.xml (`lab drill merge`), the same as the unsharded suite's, times aside.

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
    format!("{},{}", Pg::Pg93.version(), Pg::Current.version())
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

/// Three tiny drills (one or two steps each): what the shards split.
const TINY: [(&str, &str); 3] = [
    (
        "shard-a",
        "[[steps]]\ntitle = \"the master answers\"\non = \"primary\"\nsql = \"SELECT 1\"\nexpect = \"1\"\n\n\
         [[steps]]\ntitle = \"the slave answers\"\non = \"standby\"\nsql = \"SELECT 2\"\nexpect = \"2\"\n",
    ),
    (
        "shard-b",
        "[[steps]]\ntitle = \"a shell on the master\"\non = \"primary\"\nrun = \"true\"\n",
    ),
    (
        "shard-c",
        "[[steps]]\ntitle = \"one branch at scale 1\"\non = \"primary\"\n\
         sql = \"SELECT count(*) FROM pgbench_branches\"\ndb = \"testdb\"\nexpect = \"1\"\n",
    ),
];

#[tokio::test]
async fn a_suite_split_over_two_shards_merges_into_one_index() {
    let engine = engine().await;
    let release = Pg::Current.images(&engine).await.version.to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, steps) in TINY {
        let file = dir.path().join(format!("{name}.toml"));
        let head = format!("name = \"{name}\"\ntitle = \"T\"\nproves = \"P.\"\n\n");
        std::fs::write(&file, head + steps).unwrap();
        files.push(file.display().to_string());
    }
    // Labs e2e-shard1-1… in 172.16.90.0/24 on, e2e-shard2-1… in 172.16.92.0/24 on (one shard
    // takes one run, the other two).
    let shards = [
        ("e2e-shard1", "172.16.90.0/24"),
        ("e2e-shard2", "172.16.92.0/24"),
    ];
    let mut split = Vec::new();
    for (k, (name, subnet)) in shards.iter().enumerate() {
        let runs = dir.path().join(format!("runner-{}", k + 1));
        let shard = format!("{}/2", k + 1);
        let mut args = vec!["drill", "run"];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--pg-version", &release, "--shard", &shard, "--jobs", "2"]);
        args.extend(["--name", name, "--subnet", subnet]);
        args.extend(["--runs-dir", runs.to_str().unwrap()]);
        let out = support::lab(&args);
        for i in 1..=2 {
            assert_nothing_left(&format!("{name}-{i}")).await;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "shard {shard}: {stderr}");
        let md = std::fs::read_to_string(suite_dir(&runs).join("index.md")).unwrap();
        assert!(md.contains(&format!("shard {shard}: ")), "{md}");
        split.push(md.matches("✔ PASSED").count());
    }
    // Each shard ran a share, together all three runs.
    assert!(split.iter().all(|n| *n > 0), "{split:?}");
    assert_eq!(split.iter().sum::<usize>(), TINY.len(), "{split:?}");

    let merged = dir.path().join("merged");
    let out = support::lab(&[
        "drill",
        "merge",
        dir.path().join("runner-1").to_str().unwrap(),
        dir.path().join("runner-2").to_str().unwrap(),
        "--runs-dir",
        merged.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let suite = suite_dir(&merged);
    let md = std::fs::read_to_string(suite.join("index.md")).unwrap();
    assert!(
        !md.contains("in other shards") && !md.contains("not run") && !md.contains("shard 1/2"),
        "{md}"
    );
    for (name, _) in TINY {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{md}"));
        assert!(row.contains("✔ PASSED"), "{row}");
        let link = row
            .split("[report](")
            .nth(1)
            .and_then(|l| l.split(')').next())
            .unwrap_or_else(|| panic!("no report link in {row}"));
        assert!(suite.join(link).is_file(), "{link} is missing");
        let log = suite.join(format!("logs/{name}@{release}.log"));
        assert!(log.is_file(), "{}", log.display());
    }
    let junit = suite.join("junit.xml");
    validate_junit(&junit);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), TINY.len(), "{xml}");
    assert!(
        !xml.contains("<skipped") && !xml.contains("<failure"),
        "{xml}"
    );
    // Each run's whole time, for --timings.
    let timings = std::fs::read_to_string(suite.join("timings.json")).unwrap();
    for (name, _) in TINY {
        assert!(timings.contains(&format!("\"{name}\"")), "{timings}");
    }

    // The same three drills as one unsharded suite (labs e2e-shard0-1… in 172.16.94.0/24 on):
    // the same index.md and junit.xml, times and timestamps aside.
    let whole = dir.path().join("whole");
    let mut args = vec!["drill", "run"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--pg-version", &release, "--jobs", "2"]);
    args.extend(["--name", "e2e-shard0", "--subnet", "172.16.94.0/24"]);
    args.extend(["--runs-dir", whole.to_str().unwrap()]);
    let out = support::lab(&args);
    for i in 1..=3 {
        assert_nothing_left(&format!("e2e-shard0-{i}")).await;
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let times = regex::Regex::new(r"\d{8}-\d{6}|\d+\.\d+( s)?").unwrap();
    let read = |dir: &Path, file: &str| {
        let text = std::fs::read_to_string(suite_dir(dir).join(file)).unwrap();
        times.replace_all(&text, "T").into_owned()
    };
    for file in ["index.md", "junit.xml"] {
        assert_eq!(read(&merged, file), read(&whole, file), "{file}");
    }
}
