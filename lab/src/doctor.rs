//! `lab doctor`: what a fresh machine needs, checked one line at a time, each failure with what
//! to fix. Exit 0 when nothing fails (warnings allowed), 3 otherwise.
//!
//! The checks gather facts (engine, privileges, tools, disk, mirror, cache, the release asked
//! for); [`render`], [`verdict`] and the release line are pure.

use std::path::Path;
use std::time::Duration;

use crate::docker::{Engine, EngineKind};
use crate::error::{Error, Result};
use crate::image::build::{choose_base, debian_sources, is_root, which, ImageOptions};
use crate::image::Base;
use crate::tarball::{passed_over_note, Availability, PassedOver, TarballError, TarballRequest};
use crate::version::PgVersion;

/// How long the release check may look (listings of the source site and the mirrors).
const RELEASE_WAIT: Duration = Duration::from_secs(120);

/// Free space a version's three images and a scale-1 lab's volumes need (base 0.5, build 0.6,
/// node 0.6 GiB, volumes and logs 0.3 GiB), with room to spare.
pub const NEEDED_DISK: u64 = 4 << 30;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// All is well.
    Ok,
    /// Works, but something will be slower or need the network.
    Warn,
    /// `lab up` cannot work until this is fixed.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub found: String,
    /// What to do about it (for warnings and failures).
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, found: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            found: found.into(),
            fix: None,
        }
    }

    fn bad(
        name: &'static str,
        status: Status,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name,
            status,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The report, one line per check: `✔`/`!`/`✘`, the name, what was found and, after `→`, the fix.
pub fn render(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        let mark = match c.status {
            Status::Ok => "✔",
            Status::Warn => "!",
            Status::Fail => "✘",
        };
        out.push_str(&format!("{mark} {:<width$}  {}", c.name, c.found));
        if let Some(fix) = &c.fix {
            out.push_str(&format!(" → {fix}"));
        }
        out.push('\n');
    }
    out
}

/// `Ok` when no check failed; else the error (exit 3) that counts the failures.
pub fn verdict(checks: &[Check]) -> Result<()> {
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Lab(format!(
            "lab doctor: {} check(s) failed: {}",
            failed.len(),
            failed.join(", ")
        )))
    }
}

/// Runs every check and prints the report; invalid options are refused (exit 2) first.
pub async fn run(opts: &ImageOptions) -> Result<()> {
    crate::input::config::images(opts)?;
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let sources = crate::apt::host_sources(Path::new("/etc/apt"));
    let base = choose_base(opts, &sources, &os_release);
    let request = TarballRequest {
        version: opts.version,
        path: opts.tarball.clone(),
        cache_dir: opts.cache_dir.clone(),
        source_site: opts.source_site.clone(),
        debian_sources: debian_sources(opts, sources.clone(), &os_release),
        allow_unverified: opts.allow_unverified,
        refresh: opts.refresh,
    };
    let (engine_check, docker_root) = engine().await;
    let mut checks = vec![engine_check];
    let needs_root = matches!(base, Ok(Base::Debootstrap { .. }));
    checks.push(privileges(needs_root));
    checks.push(debootstrap(needs_root));
    checks.push(disk(
        "disk (images)",
        docker_root.as_deref().unwrap_or("/var/lib/docker"),
    ));
    checks.push(disk("disk (cache)", &nearest_existing(&opts.cache_dir)));
    checks.push(match &base {
        Ok(Base::Debootstrap { suite, mirror }) => mirror_check(mirror, suite).await,
        Ok(Base::Registry { image, .. }) => {
            Check::ok("apt mirror", format!("not needed (--base {image})"))
        }
        Err(e) => Check::bad(
            "apt mirror",
            Status::Fail,
            e.to_string(),
            "pass --debian-mirror URL and --debian-suite",
        ),
    });
    checks.push(source_site(&opts.source_site).await);
    checks.push(tarballs(&opts.cache_dir.join("tarballs")));
    let found = tokio::time::timeout(RELEASE_WAIT, crate::tarball::locate(&request, |_| {})).await;
    checks.push(release(&opts.version, found.ok()));
    print!("{}", render(&checks));
    verdict(&checks)
}

/// The engine answers, which one it is and its version; also where it keeps images.
async fn engine() -> (Check, Option<String>) {
    let engine = match Engine::connect().await {
        Ok(e) => e,
        Err(e) => {
            let fix = start_engine(EngineKind::expected());
            return (Check::bad("engine", Status::Fail, e.to_string(), fix), None);
        }
    };
    let version = engine.client().version().await;
    let info = engine.client().info().await.ok();
    let root = info.and_then(|i| i.docker_root_dir);
    match version {
        Ok(v) => (engine_found(&v, engine.rootless()), root),
        Err(e) => (
            Check::bad(
                "engine",
                Status::Fail,
                crate::docker::describe(&e),
                start_engine(engine.kind()),
            ),
            root,
        ),
    }
}

/// How to start an engine of this kind.
fn start_engine(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Docker => {
            "start the Docker Engine (systemctl start docker), or point DOCKER_HOST at its socket"
        }
        EngineKind::Podman => {
            "start Podman's API service (systemctl enable --now podman.socket, or `podman system service --time=0`), or point DOCKER_HOST at its socket"
        }
    }
}

/// The engine line from the version endpoint: its name, release and API version (and
/// `rootless` for rootless Podman), failed when the API is older than the lab needs.
fn engine_found(v: &bollard::models::SystemVersion, rootless: bool) -> Check {
    let kind = EngineKind::of(v);
    let api = v.api_version.clone().unwrap_or_default();
    let found = format!(
        "{} {} (API {api}{})",
        kind.name(),
        v.version.clone().unwrap_or_default(),
        if rootless { ", rootless" } else { "" }
    );
    if !api_too_old(&api) {
        return Check::ok("engine", found);
    }
    let fix = match kind {
        EngineKind::Docker => "upgrade to Docker Engine 20.10 (API 1.41) or later",
        EngineKind::Podman => "upgrade to Podman 4 (API 1.41) or later",
    };
    Check::bad("engine", Status::Fail, found, fix)
}

/// Whether an engine API version is older than 20.10's (1.41).
fn api_too_old(api: &str) -> bool {
    let mut parts = api.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) < (1, 41)
}

/// Root, or sudo without a password, for debootstrap.
fn privileges(needed: bool) -> Check {
    let name = "root or sudo";
    if !needed {
        return Check::ok(name, "not needed (registry base)");
    }
    if is_root() {
        return Check::ok(name, "running as root");
    }
    let sudo = std::process::Command::new("sudo")
        .args(["-n", "true"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if sudo {
        Check::ok(name, "sudo works without a password")
    } else {
        Check::bad(name, Status::Fail, "neither root nor passwordless sudo",
            "run lab as root (sudo lab …): debootstrap needs it for the base image, or use --base rockylinux:9 where a registry is reachable")
    }
}

/// debootstrap installed, or installable by the lab (apt-get as root).
fn debootstrap(needed: bool) -> Check {
    let name = "debootstrap";
    if !needed {
        return Check::ok(name, "not needed (registry base)");
    }
    match which("debootstrap") {
        Some(p) => Check::ok(name, p.display().to_string()),
        None if which("apt-get").is_some() && is_root() => Check::ok(name, "not installed: the first build installs it with apt-get"),
        None => Check::bad(name, Status::Fail, "not installed",
            "install it (Debian/Ubuntu: apt-get install debootstrap; Fedora/RHEL: dnf install debootstrap)"),
    }
}

/// The closest existing directory at or above `path` (a cache not made yet lives on its parent's
/// file system).
fn nearest_existing(path: &Path) -> String {
    path.ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("/"))
        .display()
        .to_string()
}

/// Bytes available to this user on the file system holding `path`.
fn free_bytes(path: &str) -> Option<u64> {
    let c = std::ffi::CString::new(path).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `s` a valid statvfs to fill.
    (unsafe { libc::statvfs(c.as_ptr(), &mut s) } == 0)
        .then(|| s.f_bavail as u64 * s.f_frsize as u64)
}

fn disk(name: &'static str, path: &str) -> Check {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    match free_bytes(path) {
        Some(free) if free >= NEEDED_DISK => Check::ok(name, format!("{:.1} GiB free on {path}", gib(free))),
        Some(free) => Check::bad(name, Status::Fail, format!("{:.1} GiB free on {path}", gib(free)),
            format!("free at least {:.0} GiB (a version's images and a lab's volumes): `lab images rm`, docker image prune", gib(NEEDED_DISK))),
        None => Check::bad(name, Status::Warn, format!("cannot read free space of {path}"), "check it with df"),
    }
}

/// The apt mirror of the host's sources (or --debian-mirror) answers for the suite.
async fn mirror_check(mirror: &str, suite: &str) -> Check {
    let url = format!("{mirror}/dists/{suite}/InRelease");
    match reachable(&url).await {
        Ok(()) => Check::ok("apt mirror", format!("{mirror} serves {suite}")),
        Err(e) => Check::bad("apt mirror", Status::Fail, format!("{url}: {e}"),
            "fix the mirror in /etc/apt/sources.list*, or pass --debian-mirror URL (debootstrap needs it)"),
    }
}

/// The PostgreSQL source site: needed for releases Debian does not carry (9.3.25).
async fn source_site(site: &str) -> Check {
    match reachable(&format!("{site}/")).await {
        Ok(()) => Check::ok("source site", site.to_string()),
        Err(e) => Check::bad(
            "source site",
            Status::Warn,
            format!("{site}: {e}"),
            "releases Debian does not carry need a tarball in the cache or --pg-tarball",
        ),
    }
}

/// Why a site could not be reached.
#[derive(Debug, thiserror::Error)]
enum Unreachable {
    /// The request failed (said without its URL, which the line names).
    #[error("{}", .0.cause())]
    Failed(#[from] crate::download::DownloadError),
    /// Nothing came back in time.
    #[error("no answer in 15 s")]
    Silent,
}

async fn reachable(url: &str) -> std::result::Result<(), Unreachable> {
    let client = crate::download::Downloader::new();
    let get = client.bytes(url, 4 << 20);
    match tokio::time::timeout(Duration::from_secs(15), get).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(Unreachable::Silent),
    }
}

/// The release `lab up` would build for `--pg-version`, as `images build` would resolve it
/// (`found`: `None` when the look took too long): a tarball given or cached, or one listed by
/// the source site or a Debian mirror; failed when none can be had, since `up` would fail.
fn release(
    asked: &PgVersion,
    found: Option<std::result::Result<Availability, TarballError>>,
) -> Check {
    let name = "release";
    let found = match found {
        Some(found) => found,
        None => {
            return Check::bad(name, Status::Fail,
                format!("PostgreSQL {asked}: no answer from the source site or the mirrors in {} s", RELEASE_WAIT.as_secs()),
                format!("put postgresql-{asked}.tar.bz2 in the cache's tarballs directory, or pass --pg-tarball PATH"))
        }
    };
    match found {
        Ok(Availability::Local(t)) => Check::ok(
            name,
            with_note(
                format!(
                    "PostgreSQL {} from {} ({})",
                    t.version,
                    t.path.display(),
                    t.verification
                ),
                &t.version,
                &t.passed_over,
            ),
        ),
        Ok(Availability::Listed {
            version,
            url,
            passed_over,
        }) => Check::ok(
            name,
            with_note(
                format!("PostgreSQL {version} at {url} (the first build downloads it)"),
                &version,
                &passed_over,
            ),
        ),
        Err(TarballError::NotFound {
            version,
            attempts,
            cache,
            available,
        }) => {
            let file = if asked.is_exact() {
                format!("postgresql-{version}.tar.bz2")
            } else {
                format!("postgresql-{version}.N.tar.bz2 (a release of {version})")
            };
            let mut fix = format!("put {file} in {cache}/ or pass --pg-tarball PATH");
            let supported: Vec<String> = available
                .into_iter()
                .filter(|v| {
                    v.parse()
                        .is_ok_and(|v| crate::pg::check_supported(&v).is_ok())
                })
                .collect();
            if let Some(newest) = supported.first() {
                fix.push_str(&format!(
                    ", or use a release that can be had here: {} (e.g. --pg-version {newest})",
                    supported.join(", ")
                ));
            }
            Check::bad(
                name,
                Status::Fail,
                format!(
                    "PostgreSQL {version} cannot be had: {}",
                    attempts.join("; ")
                ),
                fix,
            )
        }
        Err(e) => Check::bad(
            name,
            Status::Fail,
            e.to_string(),
            "pass the release's own tarball, or --pg-version of the release it holds",
        ),
    }
}

/// A release line with the newer releases passed over on the way, if any.
fn with_note(found: String, version: &PgVersion, passed: &[PassedOver]) -> String {
    match passed_over_note(version, passed) {
        Some(note) => format!("{found}; {note}"),
        None => found,
    }
}

/// The source tarballs already in the cache.
fn tarballs(dir: &Path) -> Check {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| crate::tarball::version_from_file_name(&e.path()))
        .map(|v| v.to_string())
        .collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        Check::bad("tarballs", Status::Warn, format!("none in {}", dir.display()),
            "the first build downloads one; offline, put postgresql-X.Y.Z.tar.bz2 there or pass --pg-tarball")
    } else {
        Check::ok(
            "tarballs",
            format!("{} in {}", found.join(", "), dir.display()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_fails_the_doctor_with_exit_3_and_a_warning_does_not() {
        let checks = vec![
            Check::ok("engine", "Docker Engine 20.10.24 (API 1.41)"),
            Check::bad("tarballs", Status::Warn, "none", "download one"),
        ];
        assert!(verdict(&checks).is_ok());
        let mut failing = checks.clone();
        failing.push(Check::bad(
            "disk (images)",
            Status::Fail,
            "1.0 GiB free",
            "free some",
        ));
        let err = verdict(&failing).expect_err("a failure");
        assert_eq!(err.exit_code(), crate::error::EXIT_LAB);
        assert!(
            err.to_string().contains("1 check(s) failed: disk (images)"),
            "{err}"
        );
    }

    #[test]
    fn each_check_is_one_line_with_its_fix() {
        let text = render(&[
            Check::ok("engine", "Docker Engine 20.10.24 (API 1.41)"),
            Check::bad(
                "debootstrap",
                Status::Fail,
                "not installed",
                "apt-get install debootstrap",
            ),
        ]);
        assert_eq!(
            text,
            "✔ engine       Docker Engine 20.10.24 (API 1.41)\n\
             ✘ debootstrap  not installed → apt-get install debootstrap\n"
        );
    }

    /// The version endpoint's answer, as the two engines give it (trimmed).
    fn version_answer(component: &str, version: &str, api: &str) -> bollard::models::SystemVersion {
        serde_json::from_value(serde_json::json!({
            "Platform": { "Name": "" },
            "Components": [{ "Name": component, "Version": version }],
            "Version": version,
            "ApiVersion": api,
        }))
        .unwrap()
    }

    #[test]
    fn the_engine_is_named_from_its_components() {
        let docker = engine_found(&version_answer("Engine", "20.10.24+dfsg1", "1.41"), false);
        assert_eq!(
            docker,
            Check::ok("engine", "Docker Engine 20.10.24+dfsg1 (API 1.41)")
        );
        let podman = engine_found(&version_answer("Podman Engine", "4.3.1", "1.41"), false);
        assert_eq!(podman, Check::ok("engine", "Podman 4.3.1 (API 1.41)"));
        let rootless = engine_found(&version_answer("Podman Engine", "4.3.1", "1.41"), true);
        assert_eq!(rootless.found, "Podman 4.3.1 (API 1.41, rootless)");
        let old = engine_found(&version_answer("Podman Engine", "3.0.1", "1.40"), false);
        assert_eq!(old.status, Status::Fail);
        assert_eq!(
            old.fix.as_deref(),
            Some("upgrade to Podman 4 (API 1.41) or later")
        );
    }

    #[test]
    fn engines_older_than_20_10_are_refused() {
        assert!(api_too_old("1.40"));
        assert!(api_too_old(""));
        assert!(!api_too_old("1.41"));
        assert!(!api_too_old("1.47"));
    }

    #[test]
    fn the_cache_tarballs_are_listed_by_version() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(tarballs(dir.path()).status, Status::Warn);
        std::fs::write(dir.path().join("postgresql-15.18.tar.bz2"), b"x").unwrap();
        std::fs::write(dir.path().join("postgresql-15.18.tar.bz2.sha256"), b"x").unwrap();
        let c = tarballs(dir.path());
        assert_eq!(c.status, Status::Ok);
        assert!(c.found.starts_with("15.18 in "), "{}", c.found);
    }

    fn v(s: &str) -> PgVersion {
        s.parse().unwrap()
    }

    #[test]
    fn the_release_asked_for_passes_when_it_can_be_had_and_fails_when_not() {
        let cached = crate::tarball::Tarball {
            version: v("15.18"),
            path: "/c/tarballs/postgresql-15.18.tar.bz2".into(),
            sha256: "ab".into(),
            verification: crate::tarball::Verification::Pinned,
            passed_over: vec![],
        };
        let c = release(&v("15"), Some(Ok(Availability::Local(cached))));
        assert_eq!(c.status, Status::Ok);
        assert_eq!(
            c.found,
            "PostgreSQL 15.18 from /c/tarballs/postgresql-15.18.tar.bz2 (pinned SHA-256)"
        );
        let listed = Availability::Listed {
            version: v("15.18"),
            url: "http://m.example/p/postgresql-15_15.18.orig.tar.bz2".into(),
            passed_over: vec![PassedOver {
                version: v("15.20"),
                listed_by: "the mirror http://m.example".into(),
                why: "HTTP 404".into(),
            }],
        };
        let c = release(&v("15"), Some(Ok(listed)));
        assert_eq!(c.status, Status::Ok);
        assert_eq!(
            c.found,
            "PostgreSQL 15.18 at http://m.example/p/postgresql-15_15.18.orig.tar.bz2 (the first \
             build downloads it); 15.20 is listed by the mirror http://m.example but its tarball \
             could not be fetched (HTTP 404): building 15.18"
        );

        let missing = TarballError::NotFound {
            version: "9.3.25".into(),
            attempts: vec![
                "cache /c/tarballs: no postgresql-9.3.25.tar.bz2".into(),
                "http://s.example: connection refused".into(),
            ],
            cache: "/c/tarballs".into(),
            available: vec!["15.18".into(), "13.16".into()],
        };
        let c = release(&v("9.3.25"), Some(Err(missing)));
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            c.found,
            "PostgreSQL 9.3.25 cannot be had: cache /c/tarballs: no postgresql-9.3.25.tar.bz2; \
             http://s.example: connection refused"
        );
        let fix = c.fix.unwrap();
        assert!(
            fix.contains("/c/tarballs/") && fix.contains("--pg-tarball"),
            "{fix}"
        );
        assert!(
            fix.contains("15.18, 13.16 (e.g. --pg-version 15.18)"),
            "{fix}"
        );
        assert!(verdict(&[release(&v("15"), None)]).is_err());
        assert!(!render(&[release(&v("15"), None)]).trim_end().contains('\n'));
    }

    #[test]
    fn free_space_is_read_from_the_file_system() {
        assert!(free_bytes("/").is_some_and(|b| b > 0));
        assert_eq!(free_bytes("/nonexistent/dir"), None);
        assert_eq!(nearest_existing(Path::new("/tmp/h12-none/a/b")), "/tmp");
    }
}
