//! `lab bench`: the figures users quote, measured in one run on one machine, printed as a table
//! (and JSON), each against its target. Nothing here asserts: a figure off target is shown as
//! such, so the numbers are trustworthy rather than tuned to pass.

pub mod input;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::commands::{bring_up, build_images, UpConfig};
use crate::docker::Engine;
use crate::drill::event::{Event, MeasureName, RtoPhase, RunReport};
use crate::drill::summary::RunSummary;
use crate::error::{Error, Result};
use crate::image::build::ImageOptions;
use crate::node::NodeId;
use crate::pg::{ArchiveCommand, RestoreCommand};
use crate::plan::User;
use crate::ui::Ui;

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// The target, as text (`≤ 15 s`), if there is one.
    pub target: Option<String>,
    /// Whether the value meets the target (`None` without a target).
    pub met: Option<bool>,
}

/// What to measure (`lab bench`'s flags).
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Image options (the version measured).
    pub images: ImageOptions,
    /// Remove the lab's images first and measure a cold build, with a bare compile beside it.
    pub cold: bool,
    /// Run every built-in drill (warm, default profile).
    pub drills: bool,
    /// Measure at scale 100 (base backup throughput) and how `up` and the two documented
    /// drills grow from scale 1 to 10 to 100.
    pub scale: bool,
    /// What each failure of the table costs: the ledger drills, asynchronous and synchronous,
    /// at scale 1 (and 100 with `scale`).
    pub failures: bool,
    /// `lab drill check` on the worst 1 MiB drill files: time and peak memory (no engine).
    pub check_input: bool,
    /// Print JSON instead of a table (`command` only).
    pub json: bool,
}

/// The failure-table drills that run the ledger, so that their RPO and RTO phases are measured
/// (`wal-segment-corrupted-failover` does not: writes during its fault would rewrite the WAL
/// page it corrupts).
pub const FAILURE_DRILLS: [&str; 5] = [
    "node-crash-failover",
    "binary-damaged-failover",
    "wal-full-failover",
    "data-area-damaged-failover",
    "data-file-corrupted-failover",
];

/// What one failure cost, from a drill's measures (seconds are from the fault).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FailureCost {
    /// The drill.
    pub drill: String,
    /// The pgbench scale.
    pub scale: u32,
    /// Synchronous replication.
    pub sync: bool,
    /// Whether the drill passed.
    pub passed: bool,
    /// Acknowledged rows missing on the new master.
    pub rpo_rows: Option<f64>,
    /// The time those rows span.
    pub rpo_seconds: Option<f64>,
    /// Fault → the monitor sees the failed node not accepting connections.
    pub detected: Option<f64>,
    /// Fault → the old master is stopped.
    pub fenced: Option<f64>,
    /// Fault → the standby is promoted.
    pub promoted: Option<f64>,
    /// Fault → the first write the new master acknowledges.
    pub first_write: Option<f64>,
    /// Promotion → first acknowledged write: the lab's own overhead (target ≤ 1 s).
    pub overhead: Option<f64>,
}

/// Everything one `lab bench` run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measured {
    /// The figures, each against its target where it has one.
    pub figures: Vec<Figure>,
    /// What each failure cost (`--failures`).
    pub failures: Vec<FailureCost>,
}

/// The drills measured at every scale with `--scale`: the report's two recovery scenarios.
pub const SCALED_DRILLS: [&str; 2] = ["failover-switchback", "pitr-from-standby-backup"];

/// Warm `lab up` to confirmed streaming at scale 1, in seconds.
pub const UP_TARGET: f64 = 8.0;

/// The whole failure table on one version, one drill after another, in seconds.
pub const TABLE_TARGET: f64 = 360.0;

/// The run time of the failure table as one suite on one lab at a time: the drills' whole
/// processes (each brings its lab up, runs, reports and takes it down) one after another.
pub fn table_estimate(process_seconds: &[f64]) -> f64 {
    process_seconds.iter().sum()
}

/// Where the bench's drills write their reports.
pub const RUNS_DIR: &str = "runs/bench";

/// One drill run by the bench, as a `lab drill run` process.
#[derive(Debug, Clone, Default)]
struct DrillRun {
    /// Wall time of the whole process: `up`, the steps, the reports, `down`.
    total: f64,
    /// Whether the process exited 0.
    passed: bool,
    /// The steps alone (the report's `drill_finished.took`).
    steps: Option<f64>,
    /// From the first fault to the first promotion, when the drill has both.
    fault_to_promoted: Option<f64>,
    /// The process's peak resident memory, in MiB.
    peak_mib: f64,
    /// The drill's measures (`measure` events), by name.
    measures: std::collections::BTreeMap<MeasureName, f64>,
}

/// The measures of a run, by name.
fn drill_measures(events: &[Event]) -> std::collections::BTreeMap<MeasureName, f64> {
    RunSummary::of(events)
        .measures
        .into_iter()
        .map(|(name, value)| (name.clone(), value))
        .collect()
}

/// What a run's events say: (the steps' time, the first injected fault → the first promotion
/// after it).
fn drill_phases(events: &[Event]) -> (Option<f64>, Option<f64>) {
    let run = RunSummary::of(events);
    (run.ending.map(|e| e.took), run.promotion.map(|p| p.after))
}

/// The events of the `report.json` at `path` (none when it is missing or unreadable: the run
/// ended before writing it).
fn read_events(path: &std::path::Path) -> Vec<Event> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str::<RunReport>(&s).ok())
        .map(|r| r.events)
        .unwrap_or_default()
}

/// Runs the bench's drills, keeping the largest peak memory of their processes.
struct Drills<'a> {
    /// The PostgreSQL version.
    version: &'a str,
    /// The largest peak resident memory of a drill process so far, in MiB.
    peak_mib: Option<f64>,
}

impl Drills<'_> {
    fn run(&mut self, name: &str, scale: u32, sync: bool) -> Result<DrillRun> {
        let run = run_drill(self.version, name, scale, sync)?;
        self.peak_mib = Some(self.peak_mib.unwrap_or(0.0).max(run.peak_mib));
        Ok(run)
    }
}

/// Runs built-in drill `name` at `scale` (synchronous with `sync`) in a `lab drill run`
/// process.
fn run_drill(version: &str, name: &str, scale: u32, sync: bool) -> Result<DrillRun> {
    let scale = scale.to_string();
    let latest = std::path::Path::new(RUNS_DIR).join(name).join("latest");
    // A run that ends before writing its reports must not be read as the previous one.
    let _ = std::fs::remove_file(&latest);
    let t = Instant::now();
    let child =
        std::process::Command::new(std::env::current_exe().map_err(|e| Error::Lab(e.to_string()))?)
            .args([
                "drill",
                "run",
                name,
                "--pg-version",
                version,
                "--scale",
                &scale,
                "--name",
                "bench-drill",
                "--subnet",
                "172.16.91.0/24",
                "--runs-dir",
                RUNS_DIR,
            ])
            .args(if sync { &["--sync"][..] } else { &[][..] })
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| Error::Lab(format!("running drill {name}: {e}")))?;
    let (code, peak_mib) =
        wait_with_peak(child).map_err(|e| Error::Lab(format!("waiting for drill {name}: {e}")))?;
    let total = t.elapsed().as_secs_f64();
    let report = latest.join("report.json");
    let events = read_events(&report);
    let (steps, fault_to_promoted) = drill_phases(&events);
    Ok(DrillRun {
        total,
        passed: code == Some(0),
        steps,
        fault_to_promoted,
        peak_mib,
        measures: drill_measures(&events),
    })
}

/// Waits for `child` and returns its exit code (`None` if a signal ended it) and its peak
/// resident memory in MiB. wait4 rather than `Child::wait`: it also reports this one process's
/// peak memory.
pub(crate) fn wait_with_peak(child: std::process::Child) -> std::io::Result<(Option<i32>, f64)> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which nothing else waits for.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if rc != pid {
        return Err(std::io::Error::last_os_error());
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // ru_maxrss is in KiB on Linux.
    Ok((code, usage.ru_maxrss as f64 / 1024.0))
}

/// The figures of one drill run: its steps against the 60 s target, and its phases.
fn drill_figures(figs: &mut Vec<Figure>, name: &str, scale: u32, run: &DrillRun) {
    let status = if run.passed { "" } else { ", FAILED" };
    let label = format!("drill {name}, scale {scale}{status}");
    match run.steps {
        Some(steps) => {
            figs.push(figure(label, steps, "s", Some(("<=", 60.0))));
            figs.push(figure(
                "  up + reports + down",
                run.total - steps,
                "s",
                None,
            ));
        }
        None => figs.push(figure(
            format!("{label} (no report: whole process)"),
            run.total,
            "s",
            None,
        )),
    }
    if let Some(rto) = run.fault_to_promoted {
        figs.push(figure("  fault → promoted", rto, "s", None));
    }
}

pub(crate) fn figure(
    name: impl Into<String>,
    value: f64,
    unit: &'static str,
    target: Option<(&str, f64)>,
) -> Figure {
    let (target, met) = match target {
        Some(("<=", t)) => (Some(format!("≤ {t} {unit}")), Some(value <= t)),
        Some((">=", t)) => (Some(format!("≥ {t} {unit}")), Some(value >= t)),
        _ => (None, None),
    };
    Figure {
        name: name.into(),
        value,
        unit,
        target,
        met,
    }
}

fn up_args(images: &ImageOptions, name: &str, subnet: &str, scale: u32) -> UpConfig {
    UpConfig {
        images: images.clone(),
        name: name.into(),
        subnet: subnet.into(),
        scale,
        check_seconds: 1,
        sync: false,
        restore_command: RestoreCommand::Archive,
        archive_command: ArchiveCommand::Atomic,
        publish: None,
        keep: false,
        wal_disk_size: None,
        settings: Vec::new(),
        data_checksums: false,
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

async fn timed_node(
    engine: &Engine,
    lab: &crate::cluster::Lab,
    node: NodeId,
    cmd: &str,
) -> Result<(Duration, String)> {
    let n = lab.node(node)?;
    let t = Instant::now();
    let out = n
        .must(engine, User::Postgres, cmd, Duration::from_secs(3600))
        .await?;
    Ok((t.elapsed(), out.stdout))
}

/// `lab bench`: runs the benchmark and prints what it measured (a table, or JSON).
pub async fn command(opts: &BenchConfig, ui: &Ui) -> Result<()> {
    let measured = run(opts, ui).await?;
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&measured).expect("figures serialise")
        );
    } else {
        println!("{}", render(&measured));
    }
    Ok(())
}

/// `--failures`: what each failure drill costs, asynchronous and synchronous, at scale 1 (and
/// 100 with `with_scale_100`).
fn failure_costs(drills: &mut Drills, with_scale_100: bool, ui: &Ui) -> Result<Vec<FailureCost>> {
    let mut failures = Vec::new();
    let scales: &[u32] = if with_scale_100 { &[1, 100] } else { &[1] };
    for &scale in scales {
        for sync in [false, true] {
            for name in FAILURE_DRILLS {
                // Loading scale 100 writes more WAL than the 256 MiB WAL disk holds.
                if name == "wal-full-failover" && scale > 1 {
                    continue;
                }
                let mode = if sync { "sync" } else { "async" };
                ui.println(&format!("failure drill {name}, scale {scale}, {mode}…"));
                let run = drills.run(name, scale, sync)?;
                let m = |k: MeasureName| run.measures.get(&k).copied();
                failures.push(FailureCost {
                    drill: name.to_string(),
                    scale,
                    sync,
                    passed: run.passed,
                    rpo_rows: m("rpo_rows".into()),
                    rpo_seconds: m("rpo_seconds".into()),
                    detected: m(MeasureName::Rto(RtoPhase::Detection)),
                    fenced: m(MeasureName::Rto(RtoPhase::Fenced)),
                    promoted: m(MeasureName::Rto(RtoPhase::Promoted)),
                    first_write: m(MeasureName::Rto(RtoPhase::FirstWrite)),
                    overhead: m("lab_overhead_promote_to_first_write_seconds".into()),
                });
            }
        }
    }
    Ok(failures)
}

/// `--cold`: every image removed and built again, and the same tarball compiled bare beside
/// them, in a plain container of the base image (same machine and tool chain, no layering).
async fn cold_figures(
    engine: &Engine,
    opts: &BenchConfig,
    ui: &Ui,
    figs: &mut Vec<Figure>,
) -> Result<()> {
    let removed = crate::image::remove_all(engine).await?;
    ui.println(&format!("removed {removed} image(s) for a cold build"));
    let images = build_images(&opts.images, ui).await?;
    for l in &images.layers {
        figs.push(figure(
            format!("cold build: {} layer", l.layer),
            l.took.as_secs_f64(),
            "s",
            None,
        ));
    }
    let build = images
        .layers
        .iter()
        .find(|l| l.layer == "build")
        .map(|l| l.took)
        .unwrap_or_default();
    // The same tarball compiled bare, in a plain container of the base image: same machine,
    // same tool chain, no image layering.
    let cache = opts.images.cache_dir.join("tarballs");
    let script = format!(
        "cd /tmp && tar xjf /src/postgresql-{v}.tar.bz2 && cd postgresql-{v} && ./configure >/dev/null && make -j\"$(nproc)\" {w} >/dev/null",
        v = images.version,
        w = crate::image::make_targets(&images.version).0
    );
    let t = Instant::now();
    let status = std::process::Command::new("docker")
        .args([
            "run",
            "--rm",
            "-v",
            &format!("{}:/src:ro", cache.display()),
            &images.base,
            "sh",
            "-c",
            &script,
        ])
        .status()
        .map_err(|e| Error::Lab(format!("the bare compile needs the docker CLI: {e}")))?;
    if !status.success() {
        return Err(Error::Lab("the bare compile failed".into()));
    }
    let bare = t.elapsed().as_secs_f64();
    figs.push(figure("bare configure + make world", bare, "s", None));
    figs.push(figure(
        "build layer / bare compile",
        build.as_secs_f64() / bare,
        "×",
        Some(("<=", 1.15)),
    ));
    Ok(())
}

/// At scale 100, on the `bench-scale` lab: a base backup against a plain copy of the same data
/// directory (the lab is removed if they fail).
async fn backup_figures(engine: &Engine, figs: &mut Vec<Figure>) -> Result<()> {
    let lab = crate::cluster::Lab::find(engine, "bench-scale").await?;
    let (_, size) =
        timed_node(engine, &lab, NodeId::NODE1, "du -sbL /disk1/data | cut -f1").await?;
    let mib = size.trim().parse::<f64>().unwrap_or(0.0) / 1_048_576.0;
    let from = lab.node(NodeId::NODE1)?.addr.clone();
    // -X fetch: the document's max_wal_senders = 2 leaves one sender free beside
    // the standby's, and -X stream needs two.
    let bb_cmd = format!("pg_basebackup -h {from} -U repuser -D /disk3/bench-bb -X fetch -c fast");
    let measured = async {
        let (bb, _) = timed_node(engine, &lab, NodeId::NODE2, &bb_cmd).await?;
        let (cp, _) = timed_node(
            engine,
            &lab,
            NodeId::NODE1,
            "cp -a /disk1/data /disk3/bench-copy",
        )
        .await?;
        Ok::<_, Error>((bb, cp))
    }
    .await;
    let (bb, cp) = match measured {
        Ok(m) => m,
        Err(e) => {
            crate::cluster::down(engine, "bench-scale").await?;
            return Err(e);
        }
    };
    figs.push(figure("data directory at scale 100", mib, "MiB", None));
    figs.push(figure(
        "base backup throughput",
        mib / bb.as_secs_f64(),
        "MiB/s",
        None,
    ));
    figs.push(figure(
        "plain copy throughput",
        mib / cp.as_secs_f64(),
        "MiB/s",
        None,
    ));
    figs.push(figure(
        "base backup / plain copy",
        cp.as_secs_f64() / bb.as_secs_f64(),
        "×",
        Some((">=", 0.5)),
    ));
    Ok(())
}

/// Runs the benchmark, printing progress as it goes, and returns what it measured.
pub async fn run(opts: &BenchConfig, ui: &Ui) -> Result<Measured> {
    if opts.check_input {
        return Ok(Measured {
            figures: input::measure()?,
            failures: Vec::new(),
        });
    }
    crate::input::config::images(&opts.images)?;
    let mut figs = Vec::new();
    let engine = Engine::connect().await?;
    if opts.cold {
        cold_figures(&engine, opts, ui, &mut figs).await?;
    }
    let t = Instant::now();
    let images = build_images(&opts.images, ui).await?;
    figs.push(figure(
        "unchanged rebuild",
        t.elapsed().as_secs_f64(),
        "s",
        Some(("<=", 3.0)),
    ));
    for l in &images.layers {
        figs.push(figure(
            format!("image size: {}", l.layer),
            l.size.unwrap_or(0) as f64 / 1_048_576.0,
            "MiB",
            None,
        ));
    }
    let version = images.version.to_string();
    let mut pinned = opts.images.clone();
    pinned.version = images.version;

    // Warm up, scale 1, per phase.
    let t = Instant::now();
    let (engine, up) = bring_up(&up_args(&pinned, "bench", "172.16.90.0/24", 1), ui).await?;
    let total = t.elapsed().as_secs_f64();
    crate::cluster::down(&engine, "bench").await?;
    figs.push(figure(
        "warm up to streaming, scale 1",
        total,
        "s",
        Some(("<=", UP_TARGET)),
    ));
    for (phase, secs) in &up.report.phases.0 {
        if *secs >= 0.5 {
            figs.push(figure(format!("  up phase: {phase}"), *secs, "s", None));
        }
    }

    // Each built-in drill at scale 1 (with --drills), or the two documented ones (with
    // --scale alone, as the base of their growth).
    let at_scale_1: Vec<&str> = if opts.drills {
        crate::drill::BUILTIN.iter().map(|(n, _)| *n).collect()
    } else if opts.scale {
        SCALED_DRILLS.to_vec()
    } else {
        vec![]
    };
    let mut drills = Drills {
        version: &version,
        peak_mib: None,
    };
    let mut table = Vec::new();
    for name in at_scale_1 {
        ui.println(&format!("drill {name}, scale 1…"));
        let run = drills.run(name, 1, false)?;
        drill_figures(&mut figs, name, 1, &run);
        table.push(run.total);
    }
    if opts.drills {
        figs.push(figure(
            "the failure table, every built-in drill in turn (each: up, steps, reports, down)",
            table_estimate(&table),
            "s",
            Some(("<=", TABLE_TARGET)),
        ));
    }

    if opts.scale {
        for scale in [10, 100] {
            let t = Instant::now();
            let (engine, _) = bring_up(
                &up_args(&pinned, "bench-scale", "172.16.92.0/24", scale),
                ui,
            )
            .await?;
            figs.push(figure(
                format!("warm up to streaming, scale {scale}"),
                t.elapsed().as_secs_f64(),
                "s",
                None,
            ));
            if scale == 100 {
                backup_figures(&engine, &mut figs).await?;
            }
            crate::cluster::down(&engine, "bench-scale").await?;
            for name in SCALED_DRILLS {
                ui.println(&format!("drill {name}, scale {scale}…"));
                let run = drills.run(name, scale, false)?;
                drill_figures(&mut figs, name, scale, &run);
            }
        }
    }
    let mut failures = Vec::new();
    if opts.failures {
        failures = failure_costs(&mut drills, opts.scale, ui)?;
        // Synchronous runs are left out: there the first write waits, as it should, until the
        // rebuilt standby is back (the synchronous stall), which is not the lab's overhead.
        if let Some(worst) = failures
            .iter()
            .filter(|f| !f.sync)
            .filter_map(|f| f.overhead)
            .max_by(f64::total_cmp)
        {
            figs.push(figure(
                "lab overhead promote → first write (worst asynchronous failure drill)",
                worst,
                "s",
                Some(("<=", 1.0)),
            ));
        }
    }
    if let Some(peak) = peak_rss_mib() {
        figs.push(figure(
            "lab process peak memory (this one: images, up, scale runs)",
            peak,
            "MiB",
            Some(("<=", 50.0)),
        ));
    }
    if let Some(peak) = drills.peak_mib {
        figs.push(figure(
            "lab process peak memory (the largest drill process)",
            peak,
            "MiB",
            Some(("<=", 50.0)),
        ));
    }
    Ok(Measured {
        figures: figs,
        failures,
    })
}

/// What was measured, as tables: the figures, then what each failure cost.
pub fn render(measured: &Measured) -> String {
    let mut out = render_figures(&measured.figures);
    if !measured.failures.is_empty() {
        out.push_str("\n\nwhat each failure cost (seconds from the fault; RPO = acknowledged rows missing on the new master)\n");
        out.push_str(&render_failures(&measured.failures));
    }
    out
}

fn render_failures(failures: &[FailureCost]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "drill",
        "scale",
        "mode",
        "",
        "RPO rows",
        "RPO s",
        "detected",
        "fenced",
        "promoted",
        "first write",
        "promote → write",
    ]);
    let secs = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into());
    for f in failures {
        t.add_row([
            f.drill.clone(),
            f.scale.to_string(),
            if f.sync { "sync" } else { "async" }.to_string(),
            if f.passed { "✔" } else { "✘ failed" }.to_string(),
            f.rpo_rows
                .map(|v| format!("{v:.0}"))
                .unwrap_or_else(|| "–".into()),
            secs(f.rpo_seconds),
            secs(f.detected),
            secs(f.fenced),
            secs(f.promoted),
            secs(f.first_write),
            secs(f.overhead),
        ]);
    }
    t.to_string()
}

/// The figures as a table.
fn render_figures(figs: &[Figure]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(["figure", "value", "target", ""]);
    for f in figs {
        t.add_row([
            f.name.clone(),
            format!("{:.2} {}", f.value, f.unit),
            f.target.clone().unwrap_or_default(),
            match f.met {
                Some(true) => "✔".into(),
                Some(false) => "✘ off target".into(),
                None => String::new(),
            },
        ]);
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(json: serde_json::Value) -> Vec<Event> {
        serde_json::from_value::<RunReport>(json).unwrap().events
    }

    #[test]
    fn a_reports_phases_are_its_steps_and_fault_to_first_promotion() {
        let report = events(serde_json::json!({"events": [
            {"event": "role", "node": "node2", "role": "standby", "at": 1.0},
            {"event": "fault", "node": "node1", "name": "node-crash", "heal": false, "at": 4.5},
            {"event": "role", "node": "node2", "role": "primary", "at": 7.0},
            {"event": "role", "node": "node1", "role": "primary", "at": 20.0},
            {"event": "drill_finished", "passed": true, "took": 25.5},
        ]}));
        assert_eq!(drill_phases(&report), (Some(25.5), Some(2.5)));
        let no_fault = events(serde_json::json!({"events": [
            {"event": "drill_finished", "passed": false, "took": 3.0},
        ]}));
        assert_eq!(drill_phases(&no_fault), (Some(3.0), None));
        assert_eq!(drill_phases(&[]), (None, None));
    }

    #[test]
    fn a_reports_measures_are_read_by_name() {
        let report = events(serde_json::json!({"events": [
            {"event": "measure", "name": "rpo_rows", "value": 0.0, "at": 30.0},
            {"event": "measure", "name": "rto_promoted_seconds", "value": 2.25, "at": 30.0},
            {"event": "fault", "node": "node1", "name": "node-crash", "heal": false, "at": 4.5},
        ]}));
        let m = drill_measures(&report);
        assert_eq!(m.len(), 2);
        assert_eq!(m[&MeasureName::from("rpo_rows")], 0.0);
        assert_eq!(m[&MeasureName::Rto(RtoPhase::Promoted)], 2.25);
    }

    #[test]
    fn the_table_estimate_is_the_drills_in_turn() {
        assert_eq!(table_estimate(&[40.5, 60.0, 19.5]), 120.0);
        assert_eq!(table_estimate(&[]), 0.0);
    }

    #[test]
    fn a_missing_or_foreign_report_has_no_events() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_events(&dir.path().join("report.json")).is_empty());
        let foreign = dir.path().join("other.json");
        std::fs::write(&foreign, r#"{"events": [{"event": "weather"}]}"#).unwrap();
        assert!(read_events(&foreign).is_empty());
        let written = dir.path().join("written.json");
        std::fs::write(
            &written,
            r#"{"events": [{"event": "drill_finished", "passed": true, "took": 1.5}]}"#,
        )
        .unwrap();
        assert_eq!(drill_phases(&read_events(&written)).0, Some(1.5));
    }
}
