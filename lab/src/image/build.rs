//! Making the three images: finds each one by its content tag, builds only what is missing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::progress::{self, BuildProgress};
use super::{Base, BuildInputs, Family, NODE_INIT};
use crate::apt::{self, AptSource};
use crate::docker::{
    ChannelWriter, DockerError, Engine, EngineKind, KEY_LABEL, LAYER_LABEL, MANAGED_LABEL,
};
use crate::tarball::{self, Tarball, TarballError, TarballRequest};
use crate::ui::{Task, Ui};
use crate::version::PgVersion;

/// Label with the PostgreSQL release of build and node images.
pub const PG_VERSION_LABEL: &str = "io.pglab.pg-version";

/// What `lab images build` (and `lab up`) was asked for.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// `--pg-version`.
    pub version: PgVersion,
    /// `--pg-tarball`.
    pub tarball: Option<PathBuf>,
    /// `--base`: `debian` (debootstrap on the host) or a registry image.
    pub base: String,
    /// `--debian-mirror`: overrides the host's apt sources.
    pub debian_mirror: Option<String>,
    /// `--debian-suite`: overrides the host's release.
    pub debian_suite: Option<String>,
    /// The cache directory.
    pub cache_dir: PathBuf,
    /// `--pg-source-site`.
    pub source_site: String,
    /// `--allow-unverified`.
    pub allow_unverified: bool,
    /// `--refresh`.
    pub refresh: bool,
    /// `--configure-arg` (repeatable).
    pub configure_args: Vec<String>,
    /// `--check`: run the regression suite in the build layer (a build layer that exists but
    /// was never checked is built again, checked).
    pub check: bool,
    /// `--verbose`: stream the build log (it always goes to the log file).
    pub verbose: bool,
}

/// The cache directory: `--cache-dir`, `$LAB_CACHE_DIR`, `$XDG_CACHE_HOME/pglab` or
/// `~/.cache/pglab`.
pub fn cache_dir(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_path_buf();
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("pglab");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/tmp".into());
    home.join(".cache").join("pglab")
}

/// The images a lab runs on.
#[derive(Debug, Clone)]
pub struct Images {
    /// The exact PostgreSQL release.
    pub version: PgVersion,
    /// Base image tag.
    pub base: String,
    /// Build image tag.
    pub build: String,
    /// Node image tag.
    pub node: String,
    /// Per layer: name, whether it was already there, how long it took.
    pub layers: Vec<LayerReport>,
}

/// What happened to one layer.
#[derive(Debug, Clone)]
pub struct LayerReport {
    /// `base`, `build` or `node`.
    pub layer: &'static str,
    /// The tag.
    pub tag: String,
    /// Found by its content tag, nothing built.
    pub cached: bool,
    /// Time spent.
    pub took: Duration,
    /// Image size in bytes, if known.
    pub size: Option<i64>,
}

/// Why images could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The tarball could not be had or verified.
    #[error(transparent)]
    Tarball(#[from] TarballError),
    /// The engine failed.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// The base cannot be made on this host (missing tool, not root, no mirror…).
    #[error("{0}")]
    Base(String),
    /// A flag's value cannot go into a Dockerfile (invalid input: exit 2).
    #[error("{flag} {value:?}: {source}")]
    Word {
        /// The flag (`--base`, `--configure-arg`).
        flag: &'static str,
        /// Its value.
        value: String,
        /// Why not.
        #[source]
        source: super::BadWord,
    },
    /// A local file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ImageError {
    let what = what.into();
    move |source| ImageError::Io { what, source }
}

/// Decides how the base image is made from the options and the host's apt configuration.
pub fn choose_base(
    opts: &ImageOptions,
    sources: &[AptSource],
    os_release: &str,
) -> Result<Base, ImageError> {
    match opts.base.as_str() {
        "debian" | "debootstrap" => {
            let suite = opts
                .debian_suite
                .clone()
                .or_else(|| apt::host_debian_suite(os_release))
                .ok_or_else(|| {
                    ImageError::Base(
                        "this host is not Debian, so the Debian suite to bootstrap is unknown: pass --debian-suite (e.g. bookworm) and --debian-mirror".into(),
                    )
                })?;
            let mirror = match opts.debian_mirror.as_deref().filter(|m| !m.is_empty()) {
                Some(m) => m.trim_end_matches('/').to_string(),
                None => sources
                    .iter()
                    .find(|s| s.suites.contains(&suite) && s.components.iter().any(|c| c == "main"))
                    .map(|s| s.uri.clone())
                    .ok_or_else(|| {
                        ImageError::Base(format!(
                            "no mirror for Debian {suite} in the host's apt sources (/etc/apt): pass --debian-mirror URL"
                        ))
                    })?,
            };
            Ok(Base::Debootstrap { suite, mirror })
        }
        image => {
            let family = Family::of_image(image).ok_or_else(|| {
                ImageError::Base(format!(
                    "cannot tell how to install packages in `{image}`: use `debian` (debootstrap, no registry), a RHEL-compatible image (rockylinux:9, almalinux:9) or debian/ubuntu"
                ))
            })?;
            let image = super::dockerfile_word(image).map_err(|source| ImageError::Word {
                flag: "--base",
                value: image.to_string(),
                source,
            })?;
            Ok(Base::Registry { image, family })
        }
    }
}

/// The `./configure` arguments as words of the build layer's Dockerfile.
fn configure_words(args: &[String]) -> Result<Vec<super::DockerfileWord>, ImageError> {
    args.iter()
        .map(|a| {
            super::dockerfile_word(a).map_err(|source| ImageError::Word {
                flag: "--configure-arg",
                value: a.clone(),
                source,
            })
        })
        .collect()
}

/// The Debian mirrors to look in for upstream tarballs: the `--debian-mirror` (with the suite
/// and its `-updates`), or the host's apt sources.
pub fn debian_sources(
    opts: &ImageOptions,
    host: Vec<AptSource>,
    os_release: &str,
) -> Vec<AptSource> {
    match opts.debian_mirror.as_deref().filter(|m| !m.is_empty()) {
        Some(mirror) => {
            let suite = opts
                .debian_suite
                .clone()
                .or_else(|| apt::host_debian_suite(os_release))
                .unwrap_or_else(|| "bookworm".into());
            vec![AptSource {
                uri: mirror.trim_end_matches('/').to_string(),
                suites: vec![suite.clone(), format!("{suite}-updates")],
                components: vec!["main".into()],
                signed_by: None,
            }]
        }
        None => host,
    }
}

/// Makes sure all three images exist, building what is missing.
pub async fn ensure(engine: &Engine, opts: &ImageOptions, ui: &Ui) -> Result<Images, ImageError> {
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let host_sources = apt::host_sources(Path::new("/etc/apt"));
    let base = choose_base(opts, &host_sources, &os_release)?;
    let logs = opts.cache_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(io(format!("creating {}", logs.display())))?;

    // The tarball first: a wrong checksum should stop us before minutes of bootstrapping.
    let tarball = source_tarball(opts, debian_sources(opts, host_sources, &os_release), ui).await?;

    let mut layers = Vec::new();

    // 1. base
    let base_tag = base.tag();
    let base_key = base.key();
    match start_layer(engine, ui, "base", &base_tag).await? {
        Layer::Cached(report) => layers.push(report),
        Layer::Missing(mut task) => {
            let labels = image_labels("base", &base_key, None);
            match &base {
                Base::Debootstrap { suite, mirror } => {
                    debootstrap_base(
                        engine,
                        &base_tag,
                        suite,
                        mirror,
                        &labels,
                        &opts.cache_dir,
                        &mut task,
                    )
                    .await?
                }
                Base::Registry { .. } => {
                    let files = vec![(
                        "Dockerfile".to_string(),
                        FileSource::Text(base.dockerfile()),
                    )];
                    build_from(engine, &base_tag, labels, files, &logs, |l| {
                        task.say(l, false)
                    })
                    .await?
                }
            }
            layers.push(finish_layer(engine, "base", &base_tag, task).await);
        }
    }

    // 2. build
    let inputs = BuildInputs {
        version: tarball.version,
        tarball_sha256: tarball.sha256.clone(),
        compression: crate::tarball::Compression::of(&tarball.path),
        configure_args: configure_words(&opts.configure_args)?,
        check: opts.check,
    };
    let build_key = inputs.key(&base_key);
    let build_tag = format!("pglab/build:{}-{build_key}", tarball.version);
    let unchecked =
        |labels: &HashMap<String, String>| opts.check && !labels.contains_key(super::CHECKED_LABEL);
    match start_layer_unless(engine, ui, "build", &build_tag, unchecked).await? {
        Layer::Cached(report) => layers.push(report),
        Layer::Missing(mut task) => {
            let files = vec![
                (
                    "Dockerfile".to_string(),
                    FileSource::Text(inputs.dockerfile(&base_tag)),
                ),
                (
                    inputs.tarball_name(),
                    FileSource::Path(tarball.path.clone()),
                ),
            ];
            let mut labels = image_labels("build", &build_key, Some(&tarball.version));
            if opts.check {
                labels.insert(super::CHECKED_LABEL.into(), "make check passed".into());
            }
            let mut watch = MakeWatch::start(opts, &tarball, ui);
            build_from(engine, &build_tag, labels, files, &logs, |line| {
                watch.line(&mut task, line)
            })
            .await?;
            watch.finished(opts, &tarball);
            layers.push(finish_layer(engine, "build", &build_tag, task).await);
        }
    }

    // 3. node
    let node_key = super::node_key(&base_key, &build_key);
    let node_tag = format!("pglab/node:{}-{node_key}", tarball.version);
    match start_layer(engine, ui, "node", &node_tag).await? {
        Layer::Cached(report) => layers.push(report),
        Layer::Missing(mut task) => {
            let files = vec![
                (
                    "Dockerfile".to_string(),
                    FileSource::Text(super::node_dockerfile(&base_tag, &build_tag)),
                ),
                (
                    "node-init".to_string(),
                    FileSource::Text(NODE_INIT.to_string()),
                ),
            ];
            let labels = image_labels("node", &node_key, Some(&tarball.version));
            build_from(engine, &node_tag, labels, files, &logs, |l| {
                task.say(l, false)
            })
            .await?;
            layers.push(finish_layer(engine, "node", &node_tag, task).await);
        }
    }

    Ok(Images {
        version: tarball.version,
        base: base_tag,
        build: build_tag,
        node: node_tag,
        layers,
    })
}

/// The source tarball `opts` asks for, resolved and verified, its progress on a `tarball` task.
async fn source_tarball(
    opts: &ImageOptions,
    debian_sources: Vec<apt::AptSource>,
    ui: &Ui,
) -> Result<Tarball, ImageError> {
    let mut task = ui.task("tarball");
    let req = TarballRequest {
        version: opts.version,
        path: opts.tarball.clone(),
        cache_dir: opts.cache_dir.clone(),
        source_site: opts.source_site.clone(),
        debian_sources,
        allow_unverified: opts.allow_unverified,
        refresh: opts.refresh,
    };
    let tarball = {
        let task = std::cell::RefCell::new(&mut task);
        tarball::resolve(
            &req,
            |m| task.borrow_mut().say(m, true),
            |d, t| task.borrow_mut().bytes(d, t),
        )
        .await
    };
    let tarball: Tarball = match tarball {
        Ok(t) => t,
        Err(e) => {
            task.failed("no usable tarball");
            return Err(e.into());
        }
    };
    if let Some(note) = tarball::passed_over_note(&tarball.version, &tarball.passed_over) {
        ui.println(&note);
    }
    task.done(&format!(
        "PostgreSQL {} from {} ({})",
        tarball.version,
        tarball.path.display(),
        tarball.verification
    ));
    Ok(tarball)
}

fn image_labels(layer: &str, key: &str, version: Option<&PgVersion>) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (MANAGED_LABEL.to_string(), "true".to_string()),
        (LAYER_LABEL.to_string(), layer.to_string()),
        (KEY_LABEL.to_string(), key.to_string()),
    ]);
    if let Some(v) = version {
        labels.insert(PG_VERSION_LABEL.to_string(), v.to_string());
    }
    labels
}

/// A layer found by its tag, or one to build.
enum Layer {
    Cached(LayerReport),
    Missing(Task),
}

/// Looks for the layer by its content tag.
async fn start_layer(
    engine: &Engine,
    ui: &Ui,
    layer: &'static str,
    tag: &str,
) -> Result<Layer, ImageError> {
    start_layer_unless(engine, ui, layer, tag, |_| false).await
}

/// Looks for the layer by its content tag; an image found whose labels `stale` rejects is
/// built again.
async fn start_layer_unless(
    engine: &Engine,
    ui: &Ui,
    layer: &'static str,
    tag: &str,
    stale: impl Fn(&HashMap<String, String>) -> bool,
) -> Result<Layer, ImageError> {
    let mut task = ui.task(layer);
    if engine.image_labels(tag).await?.is_some_and(|l| !stale(&l)) {
        let took = task.done(&format!("{tag} (cached)"));
        return Ok(Layer::Cached(LayerReport {
            layer,
            tag: tag.to_string(),
            cached: true,
            took,
            size: engine.image_size(tag).await,
        }));
    }
    task.say(&format!("building {tag}"), true);
    Ok(Layer::Missing(task))
}

/// Reports a freshly built layer.
async fn finish_layer(engine: &Engine, layer: &'static str, tag: &str, task: Task) -> LayerReport {
    let size = engine.image_size(tag).await;
    let mib = size
        .map(|s| format!(", {} MiB", s >> 20))
        .unwrap_or_default();
    let took = task.done(&format!("{tag} built{mib}"));
    LayerReport {
        layer,
        tag: tag.to_string(),
        cached: false,
        took,
        size,
    }
}

/// Where the number of objects a tarball's `make world` produced is remembered, by its checksum.
fn objects_file(cache_dir: &Path, tarball: &Tarball) -> PathBuf {
    cache_dir
        .join("build-objects")
        .join(format!("{}.count", tarball.sha256))
}

/// The progress of the build layer's `make world`, from its log: a bar with an ETA on a
/// terminal, one line per tenth elsewhere, the whole log with `--verbose`.
struct MakeWatch {
    progress: BuildProgress,
    /// The tarball's C files, counted on a blocking thread when no earlier build is known.
    listed: Arc<OnceLock<u64>>,
    ui: Ui,
    verbose: bool,
}

impl MakeWatch {
    fn start(opts: &ImageOptions, tarball: &Tarball, ui: &Ui) -> MakeWatch {
        let remembered = std::fs::read_to_string(objects_file(&opts.cache_dir, tarball))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let listed = Arc::new(OnceLock::new());
        if remembered.is_none() {
            let (path, listed) = (tarball.path.clone(), listed.clone());
            tokio::task::spawn_blocking(move || {
                if let Ok(n) = count_sources(&path) {
                    let _ = listed.set(n);
                }
            });
        }
        MakeWatch {
            progress: BuildProgress::new(remembered),
            listed,
            ui: ui.clone(),
            verbose: opts.verbose,
        }
    }

    fn line(&mut self, task: &mut Task, line: &str) {
        if self.verbose {
            self.ui.println(line);
        }
        if let Some(&n) = self.listed.get() {
            self.progress.expect(n);
        }
        if line.starts_with("Step ") || line.starts_with("STEP ") {
            task.say(line, true);
        }
        if !self.progress.line(line) {
            return;
        }
        match self.progress.total() {
            Some(total) => {
                task.progress(self.progress.done(), total, "objects");
                if let Some(pct) = self.progress.next_tenth() {
                    task.say(
                        &format!("make world {pct}% ({} objects)", self.progress.done()),
                        true,
                    );
                }
            }
            None => task.say(&format!("{} objects", self.progress.done()), false),
        }
    }

    /// Remembers how many objects this tarball's build produced, for the next one's bar.
    fn finished(&self, opts: &ImageOptions, tarball: &Tarball) {
        let file = objects_file(&opts.cache_dir, tarball);
        if self.progress.done() > 0 {
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(&file, format!("{}\n", self.progress.done()));
        }
    }
}

/// The C files `make world` compiles, from the tarball's listing (bzip2, as the build layer
/// unpacks it).
fn count_sources(path: &Path) -> std::io::Result<u64> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut archive = tar::Archive::new(crate::tarball::Compression::of(path).reader(file));
    let mut names = Vec::new();
    for entry in archive.entries()? {
        names.push(entry?.path()?.to_string_lossy().into_owned());
    }
    Ok(progress::estimate_from_listing(
        names.iter().map(String::as_str),
    ))
}

/// A file of a build context.
enum FileSource {
    Text(String),
    Path(PathBuf),
}

/// Streams a build context (a tar of `files`, made on a blocking thread) into a classic build;
/// each line of its log goes to `line` (and all of it to the log file).
async fn build_from(
    engine: &Engine,
    tag: &str,
    labels: HashMap<String, String>,
    files: Vec<(String, FileSource)>,
    logs: &Path,
    line: impl FnMut(&str),
) -> Result<(), ImageError> {
    let (producer, body) = stream_tar(move |ar| {
        for (name, src) in &files {
            match src {
                FileSource::Text(text) => {
                    let mut h = tar::Header::new_gnu();
                    h.set_size(text.len() as u64);
                    h.set_mode(0o644);
                    h.set_mtime(0);
                    h.set_cksum();
                    ar.append_data(&mut h, name, text.as_bytes())?;
                }
                FileSource::Path(path) => {
                    let mut f = std::fs::File::open(path)?;
                    ar.append_file(name, &mut f)?;
                }
            }
        }
        Ok(())
    });
    let log = logs.join(format!("{}.log", tag.replace(['/', ':'], "_")));
    let result = engine.build(tag, labels, body, &log, line).await;
    let _ = producer.await;
    result.map_err(ImageError::from)
}

/// Makes a tar archive on a blocking thread and streams it as it is written: `fill` adds the
/// entries. A failure ends the stream with the error, so the engine sees a broken body.
fn stream_tar(
    fill: impl FnOnce(&mut tar::Builder<ChannelWriter>) -> std::io::Result<()> + Send + 'static,
) -> (
    tokio::task::JoinHandle<()>,
    impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static,
) {
    let (writer, body) = ChannelWriter::new();
    let producer = tokio::task::spawn_blocking(move || {
        let mut ar = tar::Builder::new(writer);
        let result = fill(&mut ar).and_then(|()| ar.finish());
        if let (Err(e), Ok(w)) = (result, ar.into_inner()) {
            w.fail(e);
        }
    });
    (producer, body)
}

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The first `cmd` on `PATH` (and in /usr/sbin, /sbin).
pub(crate) fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .map(|p| p.join(cmd))
            .find(|p| p.is_file())
    })
}

/// Runs a command, feeding its output lines to the task; fails with the last lines.
async fn run_logged(
    cmd: &mut tokio::process::Command,
    what: &str,
    task: &mut Task,
) -> Result<(), ImageError> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(io(format!("starting {what}")))?;
    let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
    let stderr = BufReader::new(child.stderr.take().expect("piped")).lines();
    let mut merged = std::pin::pin!(futures_util::stream::select(
        tokio_stream_lines(stdout),
        tokio_stream_lines(stderr),
    ));
    let mut tail = std::collections::VecDeque::new();
    use futures_util::StreamExt;
    while let Some(line) = merged.next().await {
        task.say(&line, false);
        tail.push_back(line);
        if tail.len() > 20 {
            tail.pop_front();
        }
    }
    let status = child
        .wait()
        .await
        .map_err(io(format!("waiting for {what}")))?;
    if !status.success() {
        return Err(ImageError::Base(format!(
            "{what} failed ({status}):\n{}",
            tail.into_iter().collect::<Vec<_>>().join("\n")
        )));
    }
    Ok(())
}

fn tokio_stream_lines<R: tokio::io::AsyncBufRead + Unpin + Send + 'static>(
    lines: tokio::io::Lines<R>,
) -> impl futures_util::Stream<Item = String> + Send {
    futures_util::stream::unfold(lines, |mut lines| async move {
        lines.next_line().await.ok().flatten().map(|l| (l, lines))
    })
}

/// Installs debootstrap with apt-get on a Debian-like host where we are root; otherwise says
/// what to install.
async fn ensure_debootstrap(task: &mut Task) -> Result<PathBuf, ImageError> {
    if let Some(p) = which("debootstrap") {
        return Ok(p);
    }
    let hint = "install debootstrap (Debian/Ubuntu: apt-get install debootstrap; Fedora/RHEL: dnf install debootstrap), or use a registry base where one is reachable: --base rockylinux:9";
    if !is_root() || which("apt-get").is_none() {
        return Err(ImageError::Base(format!(
            "debootstrap is not installed: {hint}"
        )));
    }
    task.say("installing debootstrap with apt-get", true);
    let install = || {
        let mut c = tokio::process::Command::new("apt-get");
        c.args(["install", "-y", "--no-install-recommends", "debootstrap"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    if run_logged(&mut install(), "apt-get install debootstrap", task)
        .await
        .is_err()
    {
        run_logged(
            tokio::process::Command::new("apt-get").arg("update"),
            "apt-get update",
            task,
        )
        .await?;
        run_logged(&mut install(), "apt-get install debootstrap", task).await?;
    }
    which("debootstrap")
        .ok_or_else(|| ImageError::Base(format!("debootstrap still missing after apt-get: {hint}")))
}

/// Removes a directory tree when dropped (the bootstrap root, even after a failure).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bootstraps a Debian root filesystem on the host and imports it as the base image.
async fn debootstrap_base(
    engine: &Engine,
    tag: &str,
    suite: &str,
    mirror: &str,
    labels: &HashMap<String, String>,
    cache_dir: &Path,
    task: &mut Task,
) -> Result<(), ImageError> {
    if !is_root() {
        return Err(ImageError::Base(
            "debootstrap needs root: run `lab` as root (or with sudo) to make the offline base, or use --base rockylinux:9 where a registry is reachable".into(),
        ));
    }
    let debootstrap = ensure_debootstrap(task).await?;
    let work = cache_dir.join("rootfs");
    std::fs::create_dir_all(&work).map_err(io(format!("creating {}", work.display())))?;
    let dir = tempfile::Builder::new()
        .prefix("bootstrap-")
        .tempdir_in(&work)
        .map_err(io("creating the bootstrap directory"))?
        .keep();
    let _cleanup = RemoveOnDrop(dir.clone());
    let root = dir.join("root");
    task.say(&format!("debootstrap {suite} from {mirror}"), true);
    run_logged(
        tokio::process::Command::new(debootstrap)
            .arg("--variant=minbase")
            .arg(format!("--include={}", super::debian_packages().join(",")))
            .arg("--components=main")
            .arg(suite)
            .arg(&root)
            .arg(mirror),
        "debootstrap",
        task,
    )
    .await?;
    run_logged(
        tokio::process::Command::new("chroot").arg(&root).args([
            "/bin/sh",
            "-ec",
            super::base_finish_script(),
        ]),
        "finishing the root filesystem",
        task,
    )
    .await?;

    task.say("importing the root filesystem", true);
    let root_for_tar = root.clone();
    let (producer, body) = stream_tar(move |ar| {
        ar.follow_symlinks(false);
        ar.mode(tar::HeaderMode::Complete);
        append_rootfs(ar, &root_for_tar)
    });
    let mut changes = vec![
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        "ENV LANG=C.UTF-8".to_string(),
        "CMD [\"/bin/bash\"]".to_string(),
    ];
    let mut sorted: Vec<_> = labels.iter().collect();
    sorted.sort();
    changes.extend(sorted.into_iter().map(|(k, v)| format!("LABEL {k}={v}")));
    let logs = cache_dir.join("logs");
    let result = import_rootfs(engine, tag, changes, body, &logs, |l| task.say(l, false)).await;
    let _ = producer.await;
    result
}

/// Imports a root filesystem (streamed) as `tag` with Dockerfile-style `changes` (`ENV`,
/// `LABEL`, `CMD`).
///
/// The Docker Engine applies the changes as it imports. Podman's compat API takes each value of
/// `changes` as one instruction, and bollard sends them as one value, joined by newlines, as the
/// Docker Engine reads them: the first instruction would swallow the others (`ENV PATH=…\nENV
/// LANG=…`, no labels). On Podman the root filesystem is imported bare under a temporary tag,
/// the changes are applied by a build `FROM` it (they add no layer), and the temporary tag is
/// removed; the build's log goes to `logs` and its lines to `line`.
pub async fn import_rootfs(
    engine: &Engine,
    tag: &str,
    changes: Vec<String>,
    body: impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static,
    logs: &Path,
    line: impl FnMut(&str),
) -> Result<(), ImageError> {
    if engine.kind() == EngineKind::Docker {
        return Ok(engine.import_rootfs(tag, changes, body).await?);
    }
    let bare = format!("{tag}-rootfs");
    engine.import_rootfs(&bare, Vec::new(), body).await?;
    let dockerfile = format!("FROM {bare}\n{}\n", changes.join("\n"));
    let files = vec![("Dockerfile".to_string(), FileSource::Text(dockerfile))];
    std::fs::create_dir_all(logs).map_err(io(format!("creating {}", logs.display())))?;
    let built = build_from(engine, tag, HashMap::new(), files, logs, line).await;
    super::remove_tags(engine, &[bare]).await?;
    built
}

/// Adds a root filesystem to a tar archive, leaving out the contents of the pseudo file systems
/// (`/dev`, `/proc`, `/sys`: the engine provides them).
fn append_rootfs<W: std::io::Write>(ar: &mut tar::Builder<W>, root: &Path) -> std::io::Result<()> {
    for top in std::fs::read_dir(root)? {
        let top = top?;
        let name = top.file_name();
        let name_str = name.to_string_lossy();
        if matches!(name_str.as_ref(), "dev" | "proc" | "sys") {
            ar.append_dir(&*name_str, top.path())?;
            continue;
        }
        if top.file_type()?.is_dir() {
            ar.append_dir_all(&*name_str, top.path())?;
        } else {
            ar.append_path_with_name(top.path(), &*name_str)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(base: &str, configure_args: &[&str]) -> ImageOptions {
        ImageOptions {
            version: "15".parse().unwrap(),
            tarball: None,
            base: base.into(),
            debian_mirror: Some(String::new()),
            debian_suite: Some("bookworm".into()),
            cache_dir: "/tmp".into(),
            source_site: String::new(),
            allow_unverified: false,
            refresh: false,
            configure_args: configure_args.iter().map(|a| a.to_string()).collect(),
            check: false,
            verbose: false,
        }
    }

    #[test]
    fn a_word_that_cannot_go_into_a_dockerfile_is_refused() {
        let e = choose_base(&opts("rockylinux:9\nRUN id", &[]), &[], "").unwrap_err();
        assert!(matches!(e, ImageError::Word { flag: "--base", .. }), "{e}");
        let e = configure_words(&["--with-x\nRUN id".into()]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--configure-arg \"--with-x\\nRUN id\""),
            "{e}"
        );
        assert!(choose_base(&opts("rockylinux:9", &[]), &[], "").is_ok());
    }

    #[test]
    fn an_empty_mirror_is_no_mirror() {
        let e = choose_base(&opts("debian", &[]), &[], "").unwrap_err();
        assert!(e.to_string().contains("pass --debian-mirror URL"), "{e}");
        assert!(debian_sources(&opts("debian", &[]), vec![], "").is_empty());
    }
}
