//! Shared set-up for the end-to-end tests: a real Docker Engine and real images.
//!
//! These tests never skip: without Docker they fail, saying so.
#![allow(dead_code)]

use lab::docker::Engine;
use lab::image::build::{ensure, ImageOptions, Images};
use lab::ui::Ui;

/// The release the end-to-end tests run on: a major whose upstream tarball Debian's source
/// archive carries (override with `LAB_TEST_PG_VERSION`).
pub fn test_version() -> lab::version::PgVersion {
    std::env::var("LAB_TEST_PG_VERSION")
        .unwrap_or_else(|_| "15".into())
        .parse()
        .expect("LAB_TEST_PG_VERSION is a PostgreSQL version")
}

/// Connects to the engine or fails the test with the reason.
pub async fn engine() -> Engine {
    Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("end-to-end tests need a Docker Engine: {e}"))
}

/// Image options for the tests: the default cache, the host's mirrors.
pub fn image_options() -> ImageOptions {
    ImageOptions {
        version: test_version(),
        tarball: None,
        base: "debian".into(),
        debian_mirror: std::env::var("LAB_DEBIAN_MIRROR").ok(),
        debian_suite: std::env::var("LAB_DEBIAN_SUITE").ok(),
        cache_dir: lab::cli::cache_dir(None),
        source_site: lab::tarball::DEFAULT_SOURCE_SITE.into(),
        allow_unverified: false,
        refresh: false,
        configure_args: vec![],
        check: false,
    }
}

/// Builds (or finds) the images the tests run on.
pub async fn images(engine: &Engine) -> Images {
    ensure(engine, &image_options(), &Ui::new())
        .await
        .unwrap_or_else(|e| panic!("building the test images failed: {e}"))
}

/// Runs the `lab` binary with no standard input.
pub fn lab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the lab binary runs")
}

/// Runs the `lab` binary and returns its standard output, failing the test on a non-zero exit.
#[track_caller]
pub fn ok(args: &[&str]) -> String {
    let out = lab(args);
    assert!(
        out.status.success(),
        "lab {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Fails the test if anything labelled with the lab `name` is left on the engine.
pub async fn assert_nothing_left(name: &str) {
    let inv = lab::cluster::inventory(&engine().await, Some(name))
        .await
        .unwrap();
    assert!(inv.is_empty(), "lab {name} left {inv:?}");
}

/// Removes the lab when dropped, even when an assertion fails half-way.
pub struct Down(pub &'static str);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = lab(&["down", "--name", self.0]);
    }
}

/// Runs a drill on a fresh lab `name` in `subnet` on the test version, writing its run
/// directory under `runs`, and checks the lab is gone afterwards.
pub async fn run_drill(
    drill: &str,
    name: &str,
    subnet: &str,
    runs: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let version = images(&engine().await).await.version.to_string();
    let mut args = vec![
        "drill",
        "run",
        drill,
        "--pg-version",
        &version,
        "--name",
        name,
        "--subnet",
        subnet,
        "--runs-dir",
        runs.to_str().expect("a UTF-8 path"),
    ];
    args.extend_from_slice(extra);
    let out = lab(&args);
    assert_nothing_left(name).await;
    out
}
