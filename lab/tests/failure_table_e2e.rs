//! End to end: the ledger reports what a failover cost (RPO may be above zero in asynchronous
//! mode, must be zero in synchronous mode). Every drill of the failure table passing on each
//! server is in `every_drill_e2e`.

mod support;

use std::path::Path;
use std::process::Output;

use support::run_drill as drill;

fn report(runs: &Path, drill: &str) -> String {
    std::fs::read_to_string(runs.join(drill).join("latest/report.md")).unwrap_or_default()
}

#[track_caller]
fn assert_passed(out: &Output, runs: &Path, drill: &str) -> String {
    let md = report(runs, drill);
    assert!(
        out.status.success(),
        "{drill} failed:\n{}\n{md}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(md.contains("**Result: PASSED**"), "{md}");
    assert!(runs.join(drill).join("latest/report.html").exists());
    md
}

/// The value of a measure in report.md's table.
fn measure(md: &str, name: &str) -> f64 {
    md.lines()
        .find_map(|l| l.strip_prefix(&format!("| {name} | ")))
        .and_then(|v| v.trim_end_matches(" |").parse().ok())
        .unwrap_or_else(|| panic!("no measure {name} in the report"))
}

#[tokio::test]
async fn a_crash_costs_what_the_ledger_says_and_nothing_in_sync_mode() {
    let runs = tempfile::tempdir().unwrap();
    let out = drill(
        "node-crash-failover",
        "e2e-crash",
        "172.16.60.0/24",
        runs.path(),
        &[],
    )
    .await;
    let md = assert_passed(&out, runs.path(), "node-crash-failover");
    // Asynchronous: the figures are reported, whatever they are.
    assert!(measure(&md, "ledger_acked") > 0.0, "{md}");
    // What was lost is part of what was acknowledged, and nothing lost spans no time.
    let (lost, acked) = (measure(&md, "rpo_rows"), measure(&md, "ledger_acked"));
    assert!(lost <= acked && lost.fract() == 0.0, "{md}");
    if lost == 0.0 {
        assert_eq!(measure(&md, "rpo_seconds"), 0.0, "{md}");
    }
    assert!(measure(&md, "rto_promoted_seconds") > 0.0);
    assert!(
        measure(&md, "lab_overhead_promote_to_first_write_seconds") <= 1.0,
        "{md}"
    );

    let sync_runs = tempfile::tempdir().unwrap();
    let out = drill(
        "node-crash-failover",
        "e2e-crash-sync",
        "172.16.61.0/24",
        sync_runs.path(),
        &["--sync"],
    )
    .await;
    let md = assert_passed(&out, sync_runs.path(), "node-crash-failover");
    assert_eq!(
        measure(&md, "rpo_rows"),
        0.0,
        "synchronous replication loses nothing: {md}"
    );
    assert_eq!(measure(&md, "rpo_seconds"), 0.0);
    assert!(measure(&md, "ledger_acked") > 0.0);
}
