use super::*;
use crate::drill::event::RunReport;
use crate::drill::report::suite_index::tests::suite as small_suite;
use crate::drill::shard;

/// Writes each run's `report.json` (and a log) under `dir`, as `lab drill run` and the suite do.
fn write_runs(dir: &Path, runs: &[SuiteRun]) {
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    for r in runs {
        if let Some(d) = &r.report_dir {
            let run_dir = dir.join(d);
            std::fs::create_dir_all(&run_dir).unwrap();
            let report = RunReport {
                events: r.events.clone(),
            };
            std::fs::write(
                run_dir.join("report.json"),
                serde_json::to_string(&report).unwrap(),
            )
            .unwrap();
        }
        let log = dir
            .join("logs")
            .join(format!("{}@{}.log", r.drill, r.version));
        std::fs::write(log, format!("{} on {}\n", r.drill, r.version)).unwrap();
    }
}

/// The runs as the suite collects them: events read back from each `report.json`.
fn read_back(dir: &Path, runs: &[SuiteRun]) -> Vec<SuiteRun> {
    runs.iter()
        .map(|r| SuiteRun {
            events: r
                .report_dir
                .as_ref()
                .map(|d| crate::commands::suite::events(&dir.join(d)))
                .unwrap_or_default(),
            ..r.clone()
        })
        .collect()
}

/// Writes a suite directory the way `suite::run` does: runs, then its index and record.
fn write_suite(dir: &Path, suite: &Suite) {
    write_runs(dir, &suite.runs);
    let suite = Suite {
        runs: read_back(dir, &suite.runs),
        ..suite.clone()
    };
    crate::commands::suite::write(dir, &suite).unwrap();
}

fn read(dir: &Path, file: &str, stamp: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .replace(stamp, "STAMP")
}

#[test]
fn two_shards_merged_write_the_unsharded_suites_index_and_junit() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = Suite {
        stamp: "20261129-120000".into(),
        ..small_suite()
    };
    let whole_dir = tmp.path().join("whole");
    write_suite(&whole_dir, &whole);

    // The shards, split as `--shard K/2` splits them (costs: each run's drill time), each in
    // its own runner's runs directory, with a `latest` link beside it.
    let costs: Vec<f64> = whole
        .runs
        .iter()
        .map(|r| r.took().unwrap_or(30.0))
        .collect();
    for index in 1..=2 {
        let shard = Shard { index, count: 2 };
        let mine = shard::select(&costs, shard);
        assert!(!mine.is_empty() && mine.len() < whole.runs.len());
        let stamp = format!("20261129-11000{index}");
        let s = Suite {
            stamp: stamp.clone(),
            runs: mine.iter().map(|&i| whole.runs[i].clone()).collect(),
            shard: Some(shard),
            ..whole.clone()
        };
        let base = tmp.path().join(format!("shards/suite-shard-{index}/suite"));
        write_suite(&base.join(&stamp), &s);
        std::os::unix::fs::symlink(&stamp, base.join("latest")).unwrap();
        let md = std::fs::read_to_string(base.join(&stamp).join("index.md")).unwrap();
        assert!(
            md.contains("shard ") && md.contains("in other shards"),
            "{md}"
        );
    }

    let out = tmp.path().join("merged");
    let cfg = MergeConfig {
        dirs: vec![tmp.path().join("shards")],
        runs_dir: out.clone(),
    };
    // The small suite has a failed run and an interrupted one: the worst is the lab's.
    let e = merge(&cfg).unwrap_err();
    assert_eq!(e.exit_code(), crate::error::EXIT_LAB, "{e}");
    let stamp = std::fs::read_link(out.join("suite/latest")).unwrap();
    let merged = out.join("suite").join(&stamp);
    let stamp = stamp.display().to_string();
    for file in ["index.md", "index.html", "junit.xml"] {
        assert_eq!(
            read(&merged, file, &stamp),
            read(&whole_dir, file, &whole.stamp),
            "{file}"
        );
    }
    // Each run's directory and log came along, and the record is the whole suite's.
    for r in &whole.runs {
        if let Some(d) = &r.report_dir {
            assert!(merged.join(d).join("report.json").is_file(), "{d}");
            let latest = merged.join(&r.version).join(&r.drill).join("latest");
            assert!(latest.join("report.json").is_file(), "{}", latest.display());
        }
        let log = format!("logs/{}@{}.log", r.drill, r.version);
        assert!(merged.join(&log).is_file(), "{log}");
    }
    let record: SuiteRecord =
        serde_json::from_str(&std::fs::read_to_string(merged.join(RECORD)).unwrap()).unwrap();
    let expect = SuiteRecord {
        stamp: stamp.clone(),
        ..SuiteRecord::of(&whole)
    };
    assert_eq!(record, expect);
}

fn found(dir: &str, drills: &[&str], shard: Option<(usize, usize)>, runs: &[&str]) -> Found {
    Found {
        dir: dir.into(),
        record: SuiteRecord {
            stamp: dir.into(),
            drills: drills.iter().map(|d| d.to_string()).collect(),
            versions: vec!["9.3.5".into(), "15.18".into()],
            shard: shard.map(|(index, count)| Shard { index, count }),
            runs: runs
                .iter()
                .map(|r| {
                    let (drill, version) = r.split_once('@').unwrap();
                    RunRecord {
                        drill: drill.into(),
                        version: version.into(),
                        report_dir: None,
                        exit: Some(0),
                        interrupted: false,
                        seconds: None,
                    }
                })
                .collect(),
        },
    }
}

#[test]
fn runs_come_in_the_suites_order_and_missing_shards_are_named() {
    let a = found("a", &["x", "y"], Some((2, 3)), &["y@9.3.5", "x@15.18"]);
    let b = found("b", &["x", "y"], Some((1, 3)), &["x@9.3.5", "y@15.18"]);
    let c = combine(&[a.clone(), b, a]).unwrap();
    let order: Vec<String> = c
        .runs
        .iter()
        .map(|(_, r)| format!("{}@{}", r.drill, r.version))
        .collect();
    assert_eq!(order, ["x@9.3.5", "x@15.18", "y@9.3.5", "y@15.18"]);
    assert_eq!(c.missing, [Shard { index: 3, count: 3 }]);
}

#[test]
fn shards_of_different_suites_or_overlapping_are_refused() {
    let a = found("a", &["x", "y"], Some((1, 2)), &["x@9.3.5"]);
    let other = found("b", &["x"], Some((2, 2)), &["x@15.18"]);
    assert!(matches!(
        combine(&[a.clone(), other]),
        Err(MergeError::Disagree { what: "drills", .. })
    ));
    let three = found("b", &["x", "y"], Some((2, 3)), &["x@15.18"]);
    assert!(matches!(
        combine(&[a.clone(), three]),
        Err(MergeError::Disagree {
            what: "shard counts",
            ..
        })
    ));
    let again = found("b", &["x", "y"], Some((1, 2)), &["y@9.3.5"]);
    assert!(matches!(
        combine(&[a.clone(), again]),
        Err(MergeError::ShardTwice { .. })
    ));
    let overlap = found("b", &["x", "y"], Some((2, 2)), &["x@9.3.5"]);
    assert!(matches!(
        combine(&[a, overlap]),
        Err(MergeError::RunTwice { .. })
    ));
    let tmp = tempfile::tempdir().unwrap();
    let e = find(&[tmp.path().to_path_buf()]).unwrap_err();
    assert!(matches!(e, MergeError::NoSuite(_)), "{e}");
    let e = Error::from(e);
    assert_eq!(e.exit_code(), crate::error::EXIT_INVALID);
}
