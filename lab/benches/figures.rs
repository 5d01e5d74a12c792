//! The lab's figures, printed (not asserted): `cargo bench -p lab --bench figures`.
//!
//! The same measurements as `lab bench --cold --drills --scale --failures` (see `lab::bench`):
//! `BENCH_SKIP_COLD=1` keeps the images, `BENCH_QUICK=1` skips the drills and the scale runs,
//! `LAB_TEST_PG_VERSION` picks the version (default 15).

use lab::bench::{render, run, BenchConfig};
use lab::image::build::{cache_dir, ImageOptions};

#[tokio::main]
async fn main() {
    let version = std::env::var("LAB_TEST_PG_VERSION").unwrap_or_else(|_| "15".into());
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let opts = BenchConfig {
        images: ImageOptions {
            version: version.parse().expect("a PostgreSQL version"),
            tarball: None,
            base: "debian".into(),
            debian_mirror: std::env::var("LAB_DEBIAN_MIRROR")
                .ok()
                .filter(|m| !m.is_empty()),
            debian_suite: std::env::var("LAB_DEBIAN_SUITE")
                .ok()
                .filter(|s| !s.is_empty()),
            source_site: lab::tarball::DEFAULT_SOURCE_SITE.into(),
            allow_unverified: false,
            refresh: false,
            configure_args: vec![],
            check: false,
            verbose: false,
            cache_dir: cache_dir(None),
        },
        cold: std::env::var_os("BENCH_SKIP_COLD").is_none(),
        drills: !quick,
        scale: !quick,
        failures: !quick,
        check_input: false,
        json: false,
    };
    match run(&opts, &lab::ui::Ui::new()).await {
        Ok(figs) => println!("{}", render(&figs)),
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
