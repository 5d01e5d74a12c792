//! Shared set-up for the end-to-end tests: a real Docker Engine and real images.
//!
//! These tests never skip: without Docker they fail, saying so.
#![allow(dead_code)]

pub mod browser;

use lab::docker::Engine;
use lab::image::build::{ensure, ImageOptions, Images};
use lab::ui::Ui;

/// The PostgreSQL servers the end-to-end tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pg {
    /// A current major whose upstream tarball Debian's source archive carries: 15 unless
    /// `LAB_TEST_PG_VERSION` says otherwise.
    Current,
    /// Real 9.3, with its regression suite run in the build layer: 9.3.5 built from
    /// `shared/pg93/postgresql-9.3.5.tar.bz2` (the `.sha256` beside it vouches for it), or
    /// whichever 9.3 release [`pg93_tarball`] finds.
    Pg93,
}

impl Pg {
    /// The release asked for.
    pub fn version(self) -> lab::version::PgVersion {
        match self {
            Pg::Current => std::env::var("LAB_TEST_PG_VERSION")
                .unwrap_or_else(|_| "15".into())
                .parse()
                .expect("LAB_TEST_PG_VERSION is a PostgreSQL version"),
            Pg::Pg93 => lab::tarball::version_from_file_name(&pg93_tarball())
                .expect("a 9.3 tarball named postgresql-9.3.Z.tar.bz2"),
        }
    }

    /// The tarball to build from, if the tests bring their own.
    pub fn tarball(self) -> Option<std::path::PathBuf> {
        (self == Pg::Pg93).then(pg93_tarball)
    }

    /// The image options for this server: the default cache, the host's mirrors.
    pub fn options(self) -> ImageOptions {
        ImageOptions {
            version: self.version(),
            tarball: self.tarball(),
            base: "debian".into(),
            debian_mirror: std::env::var("LAB_DEBIAN_MIRROR")
                .ok()
                .filter(|m| !m.is_empty()),
            debian_suite: std::env::var("LAB_DEBIAN_SUITE")
                .ok()
                .filter(|s| !s.is_empty()),
            cache_dir: lab::image::build::cache_dir(None),
            source_site: lab::tarball::DEFAULT_SOURCE_SITE.into(),
            allow_unverified: false,
            refresh: false,
            configure_args: vec![],
            // 9.3 is 2013 code built with today's compiler: its regression suite must pass.
            check: self == Pg::Pg93,
            verbose: false,
        }
    }

    /// The `lab` flags that choose this server (the images must exist: see [`Pg::images`]).
    pub fn flags(self, images: &Images) -> Vec<String> {
        let mut flags = vec!["--pg-version".to_string(), images.version.to_string()];
        if let Some(t) = self.tarball() {
            flags.extend(["--pg-tarball".to_string(), t.display().to_string()]);
        }
        flags
    }

    /// Builds (or finds) this server's images.
    pub async fn images(self, engine: &Engine) -> Images {
        ensure(engine, &self.options(), &Ui::new())
            .await
            .unwrap_or_else(|e| panic!("building the {self:?} test images failed: {e}"))
    }
}

/// The 9.3 source tarball the tests build from: `LAB_TEST_PG93_TARBALL`; else 9.3.5 in the
/// project's shared folder beside the checkout; else 9.3's final release in the lab's cache,
/// which `./test.sh` fetches from the PostgreSQL project's site (pinned checksum) when the
/// shared folder is absent.
pub fn pg93_tarball() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("LAB_TEST_PG93_TARBALL") {
        let path = std::path::PathBuf::from(path);
        assert!(
            path.is_file(),
            "LAB_TEST_PG93_TARBALL names {}, which is not a file",
            path.display()
        );
        return path;
    }
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/pg93/postgresql-9.3.5.tar.bz2");
    if shared.is_file() {
        return shared;
    }
    let cached = lab::image::build::cache_dir(None).join("tarballs/postgresql-9.3.25.tar.bz2");
    assert!(
        cached.is_file(),
        "the 9.3 end-to-end tests need a 9.3 tarball: {} (the shared folder beside the checkout), \
         {} (./test.sh fetches it when it can), or LAB_TEST_PG93_TARBALL",
        shared.display(),
        cached.display()
    );
    cached
}

/// The release the end-to-end tests run on by default.
pub fn test_version() -> lab::version::PgVersion {
    Pg::Current.version()
}

/// Connects to the engine or fails the test with the reason.
pub async fn engine() -> Engine {
    Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("end-to-end tests need a Docker Engine: {e}"))
}

/// Image options for the tests on the default release.
pub fn image_options() -> ImageOptions {
    Pg::Current.options()
}

/// Builds (or finds) the images the tests run on by default.
pub async fn images(engine: &Engine) -> Images {
    Pg::Current.images(engine).await
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
    succeeded(args, lab(args))
}

/// The standard output of a finished `lab ARGS` process, failing the test on a non-zero exit.
#[track_caller]
pub fn succeeded(args: &[&str], out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "lab {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `lab up` of lab `name` in `subnet` on `version` with a 2 s check run and `extra` flags,
/// failing the test if it does not succeed.
#[track_caller]
pub fn up(version: &str, name: &str, subnet: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "up",
        "--pg-version",
        version,
        "--name",
        name,
        "--subnet",
        subnet,
        "--check-seconds",
        "2",
    ];
    args.extend_from_slice(extra);
    ok(&args)
}

/// `lab drill run DRILL --reuse` on lab `name`, writing its run directory under `runs`.
pub fn run_drill_reusing(drill: &str, name: &str, runs: &std::path::Path) -> std::process::Output {
    lab(&[
        "drill",
        "run",
        drill,
        "--reuse",
        "--name",
        name,
        "--runs-dir",
        runs.to_str().expect("a UTF-8 path"),
    ])
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

/// Runs a drill on a fresh lab `name` in `subnet` on the default release, writing its run
/// directory under `runs`, and checks the lab is gone afterwards.
pub async fn run_drill(
    drill: &str,
    name: &str,
    subnet: &str,
    runs: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    run_drill_on(Pg::Current, drill, name, subnet, runs, extra).await
}

/// Runs a drill on a fresh lab `name` in `subnet` on `pg` (its images built first), writing
/// its run directory under `runs`, and checks the lab is gone afterwards.
pub async fn run_drill_on(
    pg: Pg,
    drill: &str,
    name: &str,
    subnet: &str,
    runs: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let images = pg.images(&engine().await).await;
    let flags = pg.flags(&images);
    let mut args = vec![
        "drill",
        "run",
        drill,
        "--name",
        name,
        "--subnet",
        subnet,
        "--runs-dir",
        runs.to_str().expect("a UTF-8 path"),
    ];
    args.extend(flags.iter().map(String::as_str));
    args.extend_from_slice(extra);
    let out = lab(&args);
    assert_nothing_left(name).await;
    out
}
