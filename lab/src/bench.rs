//! `lab bench`: the figures users quote, measured in one run on one machine, printed as a table
//! (and JSON), each against its target. Nothing here asserts: a figure off target is shown as
//! such, so the numbers are trustworthy rather than tuned to pass.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{build_images, ArchiveArg, ImageArgs, NameArg, RestoreArg, UpArgs};
use crate::commands::bring_up;
use crate::docker::Engine;
use crate::error::{Error, Result};
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

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Image options (the version measured).
    pub images: ImageArgs,
    /// Remove the lab's images first and measure a cold build, with a bare compile beside it.
    pub cold: bool,
    /// Run every built-in drill (warm, default profile).
    pub drills: bool,
    /// Measure at scale 100 (base backup throughput) and the growth from scale 1 to 10 to 100.
    pub scale: bool,
}

fn figure(
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

fn up_args(images: &ImageArgs, name: &str, subnet: &str, scale: u32) -> UpArgs {
    UpArgs {
        images: images.clone(),
        lab: NameArg { name: name.into() },
        subnet: subnet.into(),
        scale,
        check_seconds: 1,
        sync: false,
        restore_command: RestoreArg::Archive,
        archive_command: ArchiveArg::Atomic,
        publish: None,
        keep: false,
        wal_disk_size: None,
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
    node: &str,
    cmd: &str,
) -> Result<(Duration, String)> {
    let n = lab.node(node)?;
    let t = Instant::now();
    let out = n
        .must(engine, User::Postgres, cmd, Duration::from_secs(3600))
        .await?;
    Ok((t.elapsed(), out.stdout))
}

/// Runs the benchmark, printing progress as it goes, and returns the figures.
pub async fn run(opts: &BenchOptions, ui: &Ui) -> Result<Vec<Figure>> {
    let mut figs = Vec::new();
    let engine = Engine::connect().await?;
    if opts.cold {
        let removed = crate::image::remove_all(&engine).await?;
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
        let cache = crate::cli::cache_dir(opts.images.cache_dir.as_ref()).join("tarballs");
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
    pinned.pg_version = images.version;

    // Warm up, scale 1, per phase.
    let t = Instant::now();
    let (engine, up) = bring_up(&up_args(&pinned, "bench", "172.16.90.0/24", 1), ui).await?;
    let total = t.elapsed().as_secs_f64();
    crate::cluster::down(&engine, "bench").await?;
    figs.push(figure(
        "warm up to streaming, scale 1",
        total,
        "s",
        Some(("<=", 15.0)),
    ));
    for (phase, secs) in &up.report.phases.0 {
        if *secs >= 0.5 {
            figs.push(figure(format!("  up phase: {phase}"), *secs, "s", None));
        }
    }

    if opts.drills {
        for (name, _) in crate::drill::BUILTIN {
            let t = Instant::now();
            let status = std::process::Command::new(
                std::env::current_exe().map_err(|e| Error::Lab(e.to_string()))?,
            )
            .args([
                "drill",
                "run",
                name,
                "--pg-version",
                &version,
                "--name",
                "bench-drill",
                "--subnet",
                "172.16.91.0/24",
                "--runs-dir",
                "runs/bench",
            ])
            .args(if *name == "wal-full-failover" {
                &["--wal-disk-size", "256m"][..]
            } else {
                &[][..]
            })
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| Error::Lab(e.to_string()))?;
            let secs = t.elapsed().as_secs_f64();
            let label = if status.success() {
                format!("drill {name} (incl. up)")
            } else {
                format!("drill {name} (FAILED)")
            };
            figs.push(figure(label, secs, "s", Some(("<=", 60.0 + total))));
        }
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
                let lab = crate::cluster::Lab::find(&engine, "bench-scale").await?;
                let (_, size) =
                    timed_node(&engine, &lab, "node1", "du -sbL /disk1/data | cut -f1").await?;
                let mib = size.trim().parse::<f64>().unwrap_or(0.0) / 1_048_576.0;
                let from = lab.node("node1")?.addr.clone();
                // -X fetch: the document's max_wal_senders = 2 leaves one sender free beside
                // the standby's, and -X stream needs two.
                let bb_cmd = format!(
                    "pg_basebackup -h {from} -U repuser -D /disk3/bench-bb -X fetch -c fast"
                );
                let measured = async {
                    let (bb, _) = timed_node(&engine, &lab, "node2", &bb_cmd).await?;
                    let (cp, _) = timed_node(
                        &engine,
                        &lab,
                        "node1",
                        "cp -a /disk1/data /disk3/bench-copy",
                    )
                    .await?;
                    Ok::<_, Error>((bb, cp))
                }
                .await;
                let (bb, cp) = match measured {
                    Ok(m) => m,
                    Err(e) => {
                        crate::cluster::down(&engine, "bench-scale").await?;
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
            }
            crate::cluster::down(&engine, "bench-scale").await?;
        }
    }
    if let Some(peak) = peak_rss_mib() {
        figs.push(figure(
            "lab process peak memory",
            peak,
            "MiB",
            Some(("<=", 50.0)),
        ));
    }
    Ok(figs)
}

/// The figures as a table.
pub fn render(figs: &[Figure]) -> String {
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
