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
    }
}

/// Builds (or finds) the images the tests run on.
pub async fn images(engine: &Engine) -> Images {
    ensure(engine, &image_options(), &Ui::new())
        .await
        .unwrap_or_else(|e| panic!("building the test images failed: {e}"))
}
