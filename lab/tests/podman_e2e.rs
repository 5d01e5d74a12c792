//! End to end on Podman (rootful), through its Docker-compatible API service: `lab doctor`
//! names it; the images move over from the Docker Engine with `lab images save` / `load` and
//! nothing is built (PostgreSQL is compiled once, on Docker); a lab comes up at its fixed
//! addresses with its disks owned by postgres, survives a node crash and a partition, and `lab
//! down` leaves nothing in Podman's storage; both documented drills pass (failover-switchback on
//! 9.3, pitr-from-standby-backup on the current major); an imported root filesystem keeps its
//! content tag and a build's `FROM` finds it locally, on both engines.
//!
//! The service is `./test.sh`'s job (`ci/podman-service.sh` installs Debian's podman and starts
//! it); `LAB_TEST_PODMAN_HOST` names another endpoint. These tests never skip: without Podman
//! they fail, saying so. Each test points its own process, and the `lab` processes it starts, at
//! Podman through `DOCKER_HOST`; the Docker side (the images saved) keeps the endpoint the test
//! command was given.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;
use std::time::Instant;

use lab::docker::{Engine, EngineKind};
use lab::image::build::Images;
use support::{ok, succeeded, Pg};

/// Podman's rootful socket, where `ci/podman-service.sh` starts the service.
const ROOTFUL_SOCKET: &str = "unix:///run/podman/podman.sock";

/// The Docker Engine's endpoint as the test command gave it (`None`: the default socket).
fn docker_host() -> Option<&'static str> {
    static HOST: OnceLock<Option<String>> = OnceLock::new();
    HOST.get_or_init(|| {
        std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.contains("podman"))
    })
    .as_deref()
}

/// Podman's endpoint: `LAB_TEST_PODMAN_HOST`, else the rootful socket.
fn podman_host() -> String {
    std::env::var("LAB_TEST_PODMAN_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| ROOTFUL_SOCKET.into())
}

/// Points this process (and every `lab` it starts) at Podman, after remembering the Docker
/// endpoint, and connects; fails, saying how to get one, when Podman does not answer.
async fn podman() -> Engine {
    docker_host();
    // Each test is its own process (nextest), and this runs before anything reads the variable.
    std::env::set_var("DOCKER_HOST", podman_host());
    let engine = Engine::connect().await.unwrap_or_else(|e| {
        panic!(
            "the Podman tests need Podman's API service at {}: {e}\n\
             ./test.sh starts it (ci/podman-service.sh installs Debian's podman and runs \
             `podman system service`); LAB_TEST_PODMAN_HOST names another endpoint",
            podman_host()
        )
    });
    assert_eq!(
        engine.kind(),
        EngineKind::Podman,
        "{} is not Podman",
        podman_host()
    );
    engine
}

/// Podman, with `pgs`' images: those the Docker Engine has (built there by the test command),
/// moved over with `lab images save` / `load` when Podman lacks any of them. Nothing is ever
/// built on Podman.
async fn podman_with(pgs: &[Pg]) -> (Engine, Vec<Images>) {
    let docker = support::engine().await;
    let mut images = Vec::new();
    for pg in pgs {
        images.push(pg.images(&docker).await);
    }
    let engine = podman().await;
    if !has_all(&engine, &images).await {
        let dir = tempfile::tempdir().expect("a temporary directory");
        move_images(dir.path());
        assert!(
            has_all(&engine, &images).await,
            "the images are not on Podman after the move"
        );
    }
    (engine, images)
}

/// Whether Podman has every layer of `images`.
async fn has_all(engine: &Engine, images: &[Images]) -> bool {
    for tag in images.iter().flat_map(|i| [&i.base, &i.build, &i.node]) {
        if engine.image_labels(tag).await.unwrap().is_none() {
            return false;
        }
    }
    true
}

/// Runs `lab` on the Docker Engine (the endpoint the test command was given).
#[track_caller]
fn ok_on_docker(args: &[&str]) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.args(args).stdin(std::process::Stdio::null());
    match docker_host() {
        Some(host) => cmd.env("DOCKER_HOST", host),
        None => cmd.env_remove("DOCKER_HOST"),
    };
    succeeded(args, cmd.output().expect("the lab binary runs"))
}

/// The versions the tests run on, as `lab images save --pg-version` takes them.
fn versions() -> String {
    format!("{},{}", Pg::Pg93.version(), Pg::Current.version())
}

/// `lab images save` on Docker, `lab images load` into Podman: returns what each printed and
/// how long each took.
fn move_images(dir: &Path) -> (String, String, f64, f64) {
    let archive = dir.join("images.tar.zst");
    let archive = archive.to_str().expect("a UTF-8 path");
    let started = Instant::now();
    let saved = ok_on_docker(&["images", "save", "--pg-version", &versions(), "-o", archive]);
    let save_took = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let loaded = ok(&["images", "load", archive]);
    (saved, loaded, save_took, started.elapsed().as_secs_f64())
}

#[tokio::test]
async fn the_doctor_names_podman() {
    podman().await;
    let version = Pg::Current.version().to_string();
    let out = ok(&["doctor", "--pg-version", &version]);
    let engine = out
        .lines()
        .find(|l| l.contains(" engine "))
        .unwrap_or_else(|| panic!("no engine line:\n{out}"));
    assert!(
        engine.starts_with("✔") && engine.contains(" Podman 4.") && engine.contains("(API 1.4"),
        "{engine}"
    );
    assert!(!out.contains("Docker Engine"), "{out}");
    assert!(
        out.contains("/var/lib/containers/storage"),
        "the images' disk is Podman's:\n{out}"
    );
}

/// The images the tests run on go from the Docker Engine to Podman in one archive, keep their
/// content tags (Podman qualifies them `localhost/…` and finds them by the short name) and
/// labels, and Podman builds nothing: every layer is found by its tag.
#[tokio::test]
async fn images_move_from_docker_to_podman_and_nothing_is_built() {
    let docker = support::engine().await;
    let mut on_docker = Vec::new();
    for pg in [Pg::Pg93, Pg::Current] {
        on_docker.push((pg, pg.images(&docker).await));
    }
    let engine = podman().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (saved, loaded, save_took, load_took) = move_images(dir.path());
    let tags: Vec<&str> = saved
        .lines()
        .filter_map(|l| l.strip_prefix("saved "))
        .collect();
    assert_eq!(tags.len(), 5, "one base, two builds, two nodes:\n{saved}");
    for tag in &tags {
        let named = format!("loaded localhost/{tag}");
        assert!(
            loaded.lines().any(|l| l == named),
            "{tag} not loaded:\n{loaded}"
        );
        let labels = engine.image_labels(tag).await.unwrap();
        let labels = labels.unwrap_or_else(|| panic!("Podman does not find {tag}"));
        assert_eq!(
            labels.get("io.pglab.managed").map(String::as_str),
            Some("true")
        );
    }
    for (pg, images) in on_docker {
        let started = Instant::now();
        let found = pg.images(&engine).await;
        assert!(found.layers.iter().all(|l| l.cached), "{:?}", found.layers);
        assert_eq!(
            [&found.base, &found.build, &found.node],
            [&images.base, &images.build, &images.node]
        );
        eprintln!(
            "{pg:?}: every layer found on Podman in {:.1?}",
            started.elapsed()
        );
    }
    let size = std::fs::metadata(dir.path().join("images.tar.zst"))
        .unwrap()
        .len();
    eprintln!(
        "archive {:.1} MiB: saved from Docker in {save_took:.1} s, loaded into Podman in {load_took:.1} s",
        size as f64 / (1 << 20) as f64
    );
}

/// Objects labelled with lab `name` in Podman's own storage, as its CLI lists them: containers,
/// networks, volumes.
fn podman_objects(name: &str) -> String {
    let label = format!("label=io.pglab.lab={name}");
    let mut found = String::new();
    for what in [
        &["ps", "-a", "--format", "{{.Names}}"][..],
        &["network", "ls", "--format", "{{.Name}}"],
        &["volume", "ls", "--format", "{{.Name}}"],
    ] {
        let out = std::process::Command::new("podman")
            .args(["--remote", "--url", &podman_host()])
            .args(what)
            .args(["--filter", &label])
            .output()
            .expect("the podman client runs (ci/podman-service.sh installs it)");
        assert!(out.status.success(), "podman {what:?}: {out:?}");
        found.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    found
}

/// What a `lab exec` printed, failing the test on a non-zero exit.
#[track_caller]
fn exec(name: &str, node: &str, script: &str) -> String {
    ok(&["exec", "--name", name, node, "--", "sh", "-c", script])
}

/// `lab fault VERB --name NAME --node NODE FAULT` (inject or heal), failing the test if it fails.
#[track_caller]
fn fault(name: &str, verb: &str, node: &str, fault: &str) {
    ok(&["fault", verb, "--name", name, "--node", node, fault]);
}

/// The lab's status (`lab status --json`).
fn status(name: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&["status", "--name", name, "--json"])).expect("status JSON")
}

#[tokio::test]
async fn up_faults_and_down_on_podman_leave_nothing() {
    let (_engine, images) = podman_with(&[Pg::Current]).await;
    let images = &images[0];
    let name = "podman-e2e-up";
    let _down = support::Down(name);
    let version = images.version.to_string();
    let up = support::up(&version, name, "172.16.234.0/24", &[]);
    assert!(up.contains("node1 (172.16.234.101, master)"), "{up}");
    assert!(up.contains("node2 (172.16.234.102, slave)"), "{up}");
    // The disks are the image's mount points copied up into Podman's volumes: postgres's.
    let owners = exec(
        name,
        "node1",
        "stat -c %U /disk1 /disk2 /disk3 /disk4 /disk1/data",
    );
    assert_eq!(
        owners.split_whitespace().collect::<Vec<_>>(),
        ["postgres"; 5]
    );
    let psql = ok(&[
        "psql",
        "--name",
        name,
        "node1",
        "--",
        "-At",
        "-c",
        "select 42",
    ]);
    assert_eq!(psql.trim(), "42");

    // A power loss and a reboot: the container is killed and started at its address.
    fault(name, "inject", "node2", "node-crash");
    let running = podman_inspect(name, "node2", "{{.State.Running}}");
    assert_eq!(running, "false");
    fault(name, "heal", "node2", "node-crash");
    assert_eq!(podman_inspect(name, "node2", "{{.State.Running}}"), "true");
    exec(
        name,
        "node2",
        "pg_ctl start -w -l /disk1/data/restart.log >/dev/null",
    );

    // A partition: node2 leaves the network and comes back at .102, and streams again.
    fault(name, "inject", "node2", "partition");
    let cut = exec(name, "node2", "pg_isready -h 172.16.234.101 -t 2 || true");
    assert!(cut.contains("no response"), "{cut}");
    fault(name, "heal", "node2", "partition");
    let addr = exec(name, "node2", "hostname -I");
    assert_eq!(addr.trim(), "172.16.234.102");
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    let streaming = loop {
        let st = status(name);
        let rows = st["replication"].to_string();
        if rows.contains("172.16.234.102") && rows.contains("streaming") {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "node2 does not stream again: {st}"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    };
    eprintln!("{streaming}");

    let down = ok(&["down", "--name", name]);
    assert!(
        down.contains("2 container(s), 1 network(s), 8 volume(s)"),
        "{down}"
    );
    assert_eq!(podman_objects(name), "", "left in Podman's storage");
    support::assert_nothing_left(name).await;
}

/// A field of a node container's `podman inspect`.
fn podman_inspect(lab: &str, node: &str, format: &str) -> String {
    let out = std::process::Command::new("podman")
        .args([
            "--remote",
            "--url",
            &podman_host(),
            "inspect",
            "--format",
            format,
        ])
        .arg(lab::cluster::container_name(
            lab,
            node.parse().expect("a node"),
        ))
        .output()
        .expect("the podman client runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[track_caller]
fn assert_passed(out: &Output, runs: &Path, drill: &str) {
    let report =
        std::fs::read_to_string(runs.join(drill).join("latest/report.md")).unwrap_or_default();
    assert!(
        out.status.success() && report.contains("**Result: PASSED**"),
        "drill {drill} on Podman failed ({}):\n{}\n{report}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn failover_switchback_on_93_passes_on_podman() {
    podman_with(&[Pg::Pg93]).await;
    let runs = tempfile::tempdir().unwrap();
    let drill = "failover-switchback";
    let subnet = "172.16.235.0/24";
    let out =
        support::run_drill_on(Pg::Pg93, drill, "podman-e2e-fs", subnet, runs.path(), &[]).await;
    assert_passed(&out, runs.path(), drill);
    let report = std::fs::read_to_string(runs.path().join(drill).join("latest/report.md")).unwrap();
    for want in [
        "injected `wal-permission` on node1",
        "selected new timeline ID: 3",
    ] {
        assert!(report.contains(want), "report lacks {want:?}");
    }
    assert_eq!(podman_objects("podman-e2e-fs"), "");
}

#[tokio::test]
async fn pitr_from_standby_backup_on_current_passes_on_podman() {
    podman_with(&[Pg::Current]).await;
    let runs = tempfile::tempdir().unwrap();
    let drill = "pitr-from-standby-backup";
    let subnet = "172.16.236.0/24";
    let out = support::run_drill_on(
        Pg::Current,
        drill,
        "podman-e2e-pitr",
        subnet,
        runs.path(),
        &[],
    )
    .await;
    assert_passed(&out, runs.path(), drill);
    assert_eq!(podman_objects("podman-e2e-pitr"), "");
}

/// A root filesystem of one file, as a tar stream.
fn tiny_rootfs() -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let mut ar = tar::Builder::new(Vec::new());
    let text = b"imported\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(text.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    ar.append_data(&mut h, "hello", &text[..]).unwrap();
    let bytes = bytes::Bytes::from(ar.into_inner().unwrap());
    futures_util::stream::once(async move { Ok(bytes) })
}

/// A build context of one Dockerfile.
fn context(
    dockerfile: &str,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let mut ar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(dockerfile.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    ar.append_data(&mut h, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    let bytes = bytes::Bytes::from(ar.into_inner().unwrap());
    futures_util::stream::once(async move { Ok(bytes) })
}

/// The lab's image path in small: a root filesystem imported under a content tag (labels from
/// its changes), a build `FROM` it by the short name and copying from it (`COPY --from`, as the
/// node layer does), and a failing `RUN` reported as a build failure. Throwaway `pglab-e2e/…`
/// tags, removed after.
async fn image_path(engine: &Engine) {
    let kind = engine.kind().name();
    let suffix = format!("{}-{:?}", std::process::id(), engine.kind()).to_lowercase();
    let base = format!("pglab-e2e/base:probe-{suffix}");
    let build = format!("pglab-e2e/build:probe-{suffix}");
    let changes = [
        "ENV PATH=/usr/local/sbin:/usr/bin",
        "ENV LANG=C.UTF-8",
        "CMD [\"/hello\"]",
        "LABEL io.pglab.e2e=probe",
        "LABEL io.pglab.layer=base",
    ];
    let changes = changes.map(String::from).to_vec();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("build.log");
    lab::image::build::import_rootfs(engine, &base, changes, tiny_rootfs(), dir.path(), |_| {})
        .await
        .unwrap_or_else(|e| panic!("{kind}: importing {base}: {e}"));
    let config = engine
        .client()
        .inspect_image(&base)
        .await
        .ok()
        .and_then(|i| i.config);
    let labels = engine.image_labels(&base).await.unwrap();
    let latest = engine.image_labels("pglab-e2e/base:latest").await.unwrap();
    let bare = engine
        .image_labels(&format!("{base}-rootfs"))
        .await
        .unwrap();
    let dockerfile =
        format!("FROM {base}\nCOPY --from={base} /hello /hello-again\nLABEL io.pglab.e2e=built\n");
    let built = engine
        .build(&build, HashMap::new(), context(&dockerfile), &log, |_| {})
        .await;
    let build_labels = engine.image_labels(&build).await.unwrap();
    let failing = engine
        .build(
            &build,
            HashMap::new(),
            context(&format!("FROM {base}\nRUN /hello\n")),
            &log,
            |_| {},
        )
        .await;
    let _ = lab::image::remove_tags(engine, &[build.clone(), base.clone()]).await;
    assert_eq!(
        labels
            .as_ref()
            .and_then(|l| l.get("io.pglab.e2e"))
            .map(String::as_str),
        Some("probe"),
        "{kind}: the import is tagged {base} with its labels"
    );
    let config = config.unwrap_or_else(|| panic!("{kind}: no config on {base}"));
    let env = config.env.unwrap_or_default();
    assert!(
        env.iter().any(|e| e == "LANG=C.UTF-8")
            && env.iter().any(|e| e == "PATH=/usr/local/sbin:/usr/bin"),
        "{kind}: each ENV its own: {env:?}"
    );
    assert_eq!(config.cmd, Some(vec!["/hello".to_string()]), "{kind}");
    assert_eq!(
        labels
            .as_ref()
            .and_then(|l| l.get("io.pglab.layer"))
            .map(String::as_str),
        Some("base"),
        "{kind}"
    );
    assert_eq!(latest, None, "{kind}: the import is not named :latest");
    assert_eq!(bare, None, "{kind}: no temporary tag is left");
    built.unwrap_or_else(|e| panic!("{kind}: FROM {base} is found locally: {e}"));
    assert_eq!(
        build_labels
            .as_ref()
            .and_then(|l| l.get("io.pglab.e2e"))
            .map(String::as_str),
        Some("built"),
        "{kind}"
    );
    let failed = failing.expect_err("a RUN that cannot run fails the build");
    assert!(
        matches!(failed, lab::docker::DockerError::Build { .. }),
        "{kind}: {failed}"
    );
}

#[tokio::test]
async fn an_imported_root_filesystem_keeps_its_tag_and_builds_find_it_on_both_engines() {
    let docker = support::engine().await;
    assert_eq!(docker.kind(), EngineKind::Docker);
    image_path(&docker).await;
    image_path(&podman().await).await;
}
