//! Figures for images and `lab up`, printed (not asserted): run with
//! `cargo bench -p lab --bench figures`.
//!
//! - cold build of each image layer, and the same tarball's bare `./configure && make world` in
//!   a plain container of the base image (same machine, same tool chain, no image layering):
//!   the build layer should cost at most 1.15× the bare compile;
//! - an unchanged rebuild (target ≤ 3 s) and the image sizes;
//! - a warm `lab up` at scale 1 to confirmed streaming (target ≤ 15 s), per phase;
//! - at scale 100, base backup throughput against a plain copy of the same data directory.
//!
//! `BENCH_SKIP_COLD=1` keeps the images (skips the cold build); `LAB_TEST_PG_VERSION` picks the
//! version (default 15).

use std::time::{Duration, Instant};

use lab::cli::{ImageArgs, NameArg, RestoreArg, UpArgs};
use lab::docker::Engine;
use lab::plan::User;
use lab::ui::Ui;

fn image_args(version: &str) -> ImageArgs {
    ImageArgs {
        pg_version: version.parse().unwrap(),
        pg_tarball: None,
        base: "debian".into(),
        debian_mirror: std::env::var("LAB_DEBIAN_MIRROR").ok(),
        debian_suite: std::env::var("LAB_DEBIAN_SUITE").ok(),
        pg_source_site: lab::tarball::DEFAULT_SOURCE_SITE.into(),
        allow_unverified: false,
        refresh: false,
        configure_args: vec![],
        cache_dir: None,
    }
}

fn up_args(version: &str, name: &str, subnet: &str, scale: u32) -> UpArgs {
    UpArgs {
        images: image_args(version),
        lab: NameArg { name: name.into() },
        subnet: subnet.into(),
        scale,
        check_seconds: 1,
        sync: false,
        restore_command: RestoreArg::Archive,
        publish: None,
        keep: false,
        wal_disk_size: None,
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

async fn node_time(
    engine: &Engine,
    lab: &lab::cluster::Lab,
    node: &str,
    user: User,
    cmd: &str,
) -> (Duration, String) {
    let n = lab.node(node).unwrap();
    let t = Instant::now();
    let out = n
        .must(engine, user, cmd, Duration::from_secs(3600))
        .await
        .unwrap();
    (t.elapsed(), out.stdout)
}

#[tokio::main]
async fn main() {
    let version = std::env::var("LAB_TEST_PG_VERSION").unwrap_or_else(|_| "15".into());
    let engine = Engine::connect().await.expect("a Docker Engine");
    let ui = Ui::new();
    let args = image_args(&version);

    println!("== images (PostgreSQL {version})");
    if std::env::var_os("BENCH_SKIP_COLD").is_none() {
        let removed = lab::image::remove_all(&engine).await.unwrap();
        println!("removed {removed} image(s) for a cold build");
        let images = lab::cli::build_images(&args, &ui).await.unwrap();
        for l in &images.layers {
            println!(
                "cold {:<5} {:>8}  {:>5} MiB  {}",
                l.layer,
                secs(l.took),
                l.size.unwrap_or(0) >> 20,
                l.tag
            );
        }
        let build = images
            .layers
            .iter()
            .find(|l| l.layer == "build")
            .unwrap()
            .took;
        // The same tarball, compiled bare in a plain container of the base image.
        let cache = lab::cli::cache_dir(None).join("tarballs");
        let tarball = format!("postgresql-{}.tar.bz2", images.version);
        let script = format!(
            "cd /tmp && tar xjf /src/{tarball} && cd postgresql-{v} && ./configure >/dev/null && make -j\"$(nproc)\" {world} >/dev/null",
            v = images.version,
            world = lab::image::make_targets(&images.version).0
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
            .expect("docker CLI");
        assert!(status.success());
        let bare = t.elapsed();
        println!("bare configure + make world: {}", secs(bare));
        println!(
            "build layer / bare compile: {:.2} (target ≤ 1.15)",
            build.as_secs_f64() / bare.as_secs_f64()
        );
    }
    let t = Instant::now();
    let images = lab::cli::build_images(&args, &ui).await.unwrap();
    println!("unchanged rebuild: {} (target ≤ 3 s)", secs(t.elapsed()));
    for l in &images.layers {
        println!("size {:<5} {:>5} MiB", l.layer, l.size.unwrap_or(0) >> 20);
    }

    println!("\n== warm lab up, scale 1");
    let t = Instant::now();
    let (engine, up) =
        lab::commands::bring_up(&up_args(&version, "bench", "172.16.40.0/24", 1), &ui)
            .await
            .unwrap();
    let total = t.elapsed();
    for (phase, s) in &up.report.phases.0 {
        println!("  {s:>6.2} s  {phase}");
    }
    println!(
        "warm up to confirmed streaming: {} (target ≤ 15 s)",
        secs(total)
    );
    lab::cluster::down(&engine, "bench").await.unwrap();

    println!("\n== scale 100: base backup vs plain copy");
    let (engine, _) =
        lab::commands::bring_up(&up_args(&version, "bench100", "172.16.41.0/24", 100), &ui)
            .await
            .unwrap();
    let lab = lab::cluster::Lab::find(&engine, "bench100").await.unwrap();
    let (_, size) = node_time(
        &engine,
        &lab,
        "node1",
        User::Postgres,
        "du -sbL /disk1/data | cut -f1",
    )
    .await;
    let bytes: f64 = size.trim().parse().unwrap();
    let (bb, _) = node_time(
        &engine,
        &lab,
        "node2",
        User::Postgres,
        &format!(
            "pg_basebackup -h {} -U repuser -D /disk3/bench-bb -X stream -c fast",
            lab.node("node1").unwrap().addr
        ),
    )
    .await;
    let (cp, _) = node_time(
        &engine,
        &lab,
        "node1",
        User::Postgres,
        "cp -a /disk1/data /disk3/bench-copy",
    )
    .await;
    let mib = bytes / 1_048_576.0;
    println!("data directory: {mib:.0} MiB");
    println!(
        "pg_basebackup over the lab network: {} ({:.0} MiB/s)",
        secs(bb),
        mib / bb.as_secs_f64()
    );
    println!(
        "plain copy of the same volume:      {} ({:.0} MiB/s)",
        secs(cp),
        mib / cp.as_secs_f64()
    );
    println!(
        "base backup / plain copy throughput: {:.2} (target ≥ 0.5)",
        cp.as_secs_f64() / bb.as_secs_f64()
    );
    lab::cluster::down(&engine, "bench100").await.unwrap();
}
