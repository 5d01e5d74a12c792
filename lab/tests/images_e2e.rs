//! End to end: the three image layers are built from the upstream tarball on an engine with no
//! registry, and a node image runs PostgreSQL's tools as the document's postgres user.

mod support;

use std::time::{Duration, Instant};

use testcontainers::core::wait::ExitWaitStrategy;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

use support::Pg;

#[tokio::test]
async fn node_image_runs_postgres_tools_as_uid_501() {
    node_image_runs_postgres_tools(Pg::Current).await;
}

#[tokio::test]
async fn pg93_node_image_runs_postgres_tools_as_uid_501() {
    node_image_runs_postgres_tools(Pg::Pg93).await;
}

/// 9.3.5 is 2013 code built with today's compiler: its build layer carries the mark of a
/// regression suite (`make check`) that passed, and a request for a checked build finds it.
#[tokio::test]
async fn pg93_build_layer_passed_its_regression_suite() {
    let engine = support::engine().await;
    let images = Pg::Pg93.images(&engine).await;
    let labels = engine.image_labels(&images.build).await.unwrap().unwrap();
    assert_eq!(
        labels.get(lab::image::CHECKED_LABEL).map(String::as_str),
        Some("make check passed"),
        "{labels:?}"
    );
}

/// A `.tar.gz` tarball builds (issue 22): the tests' 9.3 tarball recompressed with gzip, with
/// its SHA-256 beside it as the project publishes one beside each tarball, is unpacked as gzip
/// and gives a node image whose server is that release.
#[tokio::test]
async fn pg93_a_gzipped_tarball_builds() {
    let dir = tempfile::tempdir().unwrap();
    let version = Pg::Pg93.version();
    let name = format!("postgresql-{version}.tar.gz");
    let gz = dir.path().join(&name);
    let (from, to) = (support::pg93_tarball(), gz.clone());
    tokio::task::spawn_blocking(move || {
        use sha2::Digest;
        let bz = std::io::BufReader::new(std::fs::File::open(&from).unwrap());
        let out = std::fs::File::create(&to).unwrap();
        let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        std::io::copy(&mut bzip2::read::BzDecoder::new(bz), &mut enc).unwrap();
        enc.finish().unwrap();
        let sum = sha2::Sha256::digest(std::fs::read(&to).unwrap());
        let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(
            format!("{}.sha256", to.display()),
            format!("{hex}  {name}\n"),
        )
        .unwrap();
    })
    .await
    .unwrap();

    let engine = support::engine().await;
    let mut opts = Pg::Pg93.options();
    opts.tarball = Some(gz);
    opts.check = false;
    let images = lab::image::build::ensure(&engine, &opts, &lab::ui::Ui::new())
        .await
        .unwrap_or_else(|e| panic!("the .tar.gz build failed: {e}"));
    assert_eq!(images.version, version);

    let (repo, tag) = images.node.split_once(':').unwrap();
    let container = GenericImage::new(repo, tag)
        .with_wait_for(WaitFor::exit(ExitWaitStrategy::new().with_exit_code(0)))
        .with_user("501")
        .with_cmd(["sh", "-c", "postgres --version"])
        .with_label(lab::docker::MANAGED_LABEL, "true")
        .with_startup_timeout(Duration::from_secs(120))
        .start()
        .await
        .expect("the node image runs");
    let out = container.stdout_to_vec().await.unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.contains(&format!("postgres (PostgreSQL) {version}")),
        "{out}"
    );
}

async fn node_image_runs_postgres_tools(pg: Pg) {
    let engine = support::engine().await;
    let images = pg.images(&engine).await;
    assert!(pg.version().matches(&images.version));

    // An unchanged rebuild finds every layer by its content tag.
    let started = Instant::now();
    let again = pg.images(&engine).await;
    assert_eq!(again.node, images.node);
    assert!(again.layers.iter().all(|l| l.cached), "{:?}", again.layers);
    eprintln!("unchanged rebuild: {:?}", started.elapsed());

    let (repo, tag) = images.node.split_once(':').unwrap();
    let script = "set -e; id -u; id -g; echo PATH=$PATH; echo PGDATA=$PGDATA; \
                  postgres --version; pg_isready --version; pgbench --version; \
                  initdb -D /tmp/check -E UTF8 --locale=C.UTF-8 >/dev/null; \
                  pg_controldata /tmp/check | grep 'Database cluster state'; \
                  ls -ld /disk1 /disk2 /disk3 /disk4 | awk '{print $3\":\"$4, $9}'; \
                  ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l";
    let container = GenericImage::new(repo, tag)
        .with_wait_for(WaitFor::exit(ExitWaitStrategy::new().with_exit_code(0)))
        .with_user("501")
        .with_cmd(["sh", "-c", script])
        .with_label(lab::docker::MANAGED_LABEL, "true")
        .with_startup_timeout(Duration::from_secs(120))
        .start()
        .await
        .expect("the node image runs");
    let out = String::from_utf8(container.stdout_to_vec().await.unwrap()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let major = images.version.major.to_string();
    assert_eq!(lines[0], "501", "{out}");
    assert_eq!(lines[1], "501", "{out}");
    assert!(lines[2].contains("/usr/local/pgsql/bin"), "{out}");
    assert_eq!(lines[3], "PGDATA=/disk1/data", "{out}");
    assert_eq!(
        lines[4],
        format!("postgres (PostgreSQL) {}", images.version),
        "{out}"
    );
    assert!(
        lines[5].starts_with("pg_isready (PostgreSQL) ") && lines[5].contains(&major),
        "{out}"
    );
    assert!(
        lines[6].starts_with("pgbench (PostgreSQL) ") && lines[6].contains(&major),
        "{out}"
    );
    assert_eq!(
        lines[7], "Database cluster state:               shut down",
        "{out}"
    );
    for (i, disk) in ["/disk1", "/disk2", "/disk3", "/disk4"].iter().enumerate() {
        assert_eq!(lines[8 + i], format!("postgres:postgres {disk}"), "{out}");
    }
    // No SSH host keys are baked into the image: each node makes its own at start.
    assert_eq!(lines[12], "0", "{out}");
}

/// `lab images save` → the three images removed by tag → `lab images load` → `lab images build`
/// finds every layer by its content tag and builds nothing.
#[tokio::test]
async fn saved_images_load_back_with_their_tags_and_nothing_is_built() {
    let engine = support::engine().await;
    let images = support::images(&engine).await;
    let version = images.version.to_string();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let archive = dir.path().join("images.tar.zst");
    let archive_arg = archive.to_str().expect("a UTF-8 path");

    let started = Instant::now();
    let saved = support::ok(&[
        "images",
        "save",
        "--pg-version",
        &version,
        "-o",
        archive_arg,
    ]);
    let save_took = started.elapsed();
    for tag in [&images.base, &images.build, &images.node] {
        assert!(saved.contains(&format!("saved {tag}")), "{saved}");
    }
    let size = std::fs::metadata(&archive).expect("the archive").len();
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(&archive).unwrap(), &mut magic).unwrap();
    assert_eq!(magic, [0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");

    let labels_before = engine.image_labels(&images.node).await.unwrap();
    for tag in [&images.node, &images.build, &images.base] {
        // By tag: an image a running lab uses is only untagged.
        lab::image::remove_tags(&engine, std::slice::from_ref(tag))
            .await
            .unwrap_or_else(|e| panic!("removing {tag}: {e}"));
        assert_eq!(engine.image_labels(tag).await.unwrap(), None, "{tag} gone");
    }

    let started = Instant::now();
    let loaded = support::ok(&["images", "load", archive_arg]);
    let load_took = started.elapsed();
    for tag in [&images.base, &images.build, &images.node] {
        assert!(loaded.contains(&format!("loaded {tag}")), "{loaded}");
    }
    assert_eq!(
        engine.image_labels(&images.node).await.unwrap(),
        labels_before
    );

    let rebuilt = support::ok(&["images", "build", "--pg-version", &version]);
    let again = support::images(&engine).await;
    assert_eq!(again.node, images.node, "{rebuilt}");
    assert!(again.layers.iter().all(|l| l.cached), "{:?}", again.layers);
    eprintln!(
        "archive {:.1} MiB, save {save_took:.1?}, load {load_took:.1?}",
        size as f64 / (1 << 20) as f64
    );
}

/// A missing archive is invalid input (exit 2), and saving a version with no images says how
/// to build them.
#[tokio::test]
async fn loading_a_missing_archive_or_saving_absent_images_is_invalid_input() {
    let out = support::lab(&["images", "load", "/nonexistent/images.tar.zst"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("no such file"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let archive = dir.path().join("x.tar.zst");
    let out = support::lab(&[
        "images",
        "save",
        "--pg-version",
        "11.1",
        "-o",
        archive.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lab images build --pg-version 11.1"), "{err}");
    assert!(!archive.exists(), "no archive is left");
}

/// Makes a throwaway image of no content with the lab's labels for `layer` and `version`
/// (nothing built): `docker import` of an empty tar.
fn throwaway_image(tag: &str, layer: &str, version: &str) {
    use std::io::Write;
    let mut import = std::process::Command::new("docker");
    import.arg("import");
    for label in [
        "io.pglab.managed=true".to_string(),
        format!("io.pglab.layer={layer}"),
        format!("io.pglab.key=e2e-rm-{layer}-{version}"),
        format!("io.pglab.pg-version={version}"),
    ] {
        import.args(["--change", &format!("LABEL {label}")]);
    }
    let mut child = import
        .args(["-", tag])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("docker import runs");
    // An empty tar archive: two zero blocks.
    child
        .stdin
        .take()
        .expect("its standard input")
        .write_all(&[0u8; 1024])
        .expect("the archive is written");
    assert!(child.wait().expect("docker import ends").success(), "{tag}");
}

fn image_exists(tag: &str) -> bool {
    std::process::Command::new("docker")
        .args(["image", "inspect", tag])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("docker image inspect runs")
        .success()
}

/// `lab images rm --pg-version` removes that release's images only, and refuses a release it
/// has no image of, an unsupported one, and --with-base alone (exit 2). On throwaway images of
/// releases no test builds (9.3.1, 9.3.2): nothing else is touched.
#[test]
fn images_rm_removes_one_releases_images_only() {
    let tags = [
        ("pglab-e2e-rm:build-9.3.1", "build", "9.3.1"),
        ("pglab-e2e-rm:node-9.3.1", "node", "9.3.1"),
        ("pglab-e2e-rm:node-9.3.2", "node", "9.3.2"),
    ];
    /// Removes what is left of the throwaway images, whatever the test's outcome.
    struct Cleanup(Vec<&'static str>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::process::Command::new("docker")
                .args(["image", "rm", "--force"])
                .args(self.0.iter().filter(|t| image_exists(t)))
                .output();
        }
    }
    let _cleanup = Cleanup(tags.iter().map(|(tag, _, _)| *tag).collect());
    for (tag, layer, version) in tags {
        throwaway_image(tag, layer, version);
    }
    let out = support::ok(&["images", "rm", "--pg-version", "9.3.1"]);
    assert!(
        out.contains("removed pglab-e2e-rm:node-9.3.1\nremoved pglab-e2e-rm:build-9.3.1\n"),
        "{out}"
    );
    assert!(!image_exists(tags[0].0) && !image_exists(tags[1].0));
    assert!(image_exists(tags[2].0), "9.3.2's image stays");

    let out = support::lab(&["images", "rm", "--pg-version", "9.3.1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no image of PostgreSQL 9.3.1"), "{err}");

    support::ok(&["images", "rm", "--pg-version", "9.3.2"]);
    assert!(!image_exists(tags[2].0));

    for args in [
        &["images", "rm", "--pg-version", "8.4"][..],
        &["images", "rm", "--pg-version", "9.3.x"],
        &["images", "rm", "--with-base"],
    ] {
        let out = support::lab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}
