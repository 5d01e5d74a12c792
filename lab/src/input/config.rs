//! Checks of flags taken together, and of what flags name on this machine, made by the
//! commands before they contact the engine: a tarball of one release with `--pg-version` of
//! another, a suite that names one release twice, directories the lab cannot write to, run
//! directories whose names the file system would refuse.
//!
//! Nothing here creates what it checks: a directory that does not exist yet is judged by the
//! nearest existing one above it (a probe directory is made there and removed at once).

use std::path::{Path, PathBuf};

use super::{refused, InputError};
use crate::image::build::ImageOptions;
use crate::version::PgVersion;

/// The longest file name (one path component) Linux file systems take.
pub const NAME_MAX: usize = 255;

/// The longest path the system calls take.
pub const PATH_MAX: usize = 4096;

/// A run directory's time stamp (`20260101-120000`) and its longest file (`report.html`).
const RUN_TAIL: usize = "/20260101-120000/report.html".len();

type Result<T, E = InputError> = std::result::Result<T, E>;

/// The image flags of one version (`lab up`, `lab images build`, `lab drill run`, `lab bench`,
/// `lab doctor`): the cache directory can be written, and a `--pg-tarball` is the release
/// `--pg-version` asks for.
pub fn images(opts: &ImageOptions) -> Result<()> {
    writable_dir("--cache-dir", &opts.cache_dir)?;
    let Some(path) = &opts.tarball else {
        return Ok(());
    };
    let named = crate::tarball::version_from_file_name(path);
    match named {
        Some(named) if !opts.version.matches(&named) => Err(refused(
            "--pg-tarball",
            path.display().to_string(),
            format!(
                "its name says PostgreSQL {named}, but --pg-version asks for {}: give \
                 --pg-version {named}, or the tarball of {}",
                opts.version, opts.version
            ),
        )),
        None if !opts.version.is_exact() => Err(refused(
            "--pg-tarball",
            path.display().to_string(),
            format!(
                "its name does not say which release it is, and --pg-version {} is a major: \
                 give the release (--pg-version {}.N) or name the file postgresql-X.Y.tar.bz2",
                opts.version, opts.version
            ),
        )),
        _ => Ok(()),
    }
}

/// The server settings and `--data-checksums` of a lab of `version`, checked before the engine is
/// contacted: a setting the major does not have is refused with the major that introduced or
/// removed it ([`crate::pg::check_setting`]); checksums where initdb has no `-k`.
pub fn settings(version: &PgVersion, topo: &crate::pg::Topology) -> Result<()> {
    let dialect = crate::pg::Dialect::for_major(version.major);
    for s in &topo.settings {
        crate::pg::check_setting(&dialect, s).map_err(|e| {
            refused(
                "--set (or the drill's [lab] settings)",
                format!("{}={}", s.name, s.value),
                format!("{e} (--pg-version {version})"),
            )
        })?;
    }
    if topo.data_checksums && dialect.data_checksums_flag().is_none() {
        return Err(refused(
            "--data-checksums",
            "",
            format!("PostgreSQL {version}'s initdb has no data checksums"),
        ));
    }
    Ok(())
}

/// The image flags of a suite on `versions`: the cache directory can be written, a
/// `--pg-tarball` is one of the versions, and no release is named twice (a major is resolved as
/// the build will: the tarball given, the newest cached unless `--refresh`, a retired major's
/// final release; a major that only the source site can resolve must not stand beside a
/// release of its own).
pub fn suite(versions: &[PgVersion], opts: &ImageOptions) -> Result<()> {
    writable_dir("--cache-dir", &opts.cache_dir)?;
    let named = opts
        .tarball
        .as_deref()
        .map(|p| (p, crate::tarball::version_from_file_name(p)));
    if let Some((path, of)) = named {
        if !of.is_some_and(|of| versions.iter().any(|v| v.matches(&of))) {
            return Err(refused(
                "--pg-tarball",
                path.display().to_string(),
                format!(
                    "its file name names none of the suite's versions ({})",
                    list(versions)
                ),
            ));
        }
    }
    let resolved: Vec<Option<PgVersion>> =
        versions.iter().map(|v| release_offline(v, opts)).collect();
    for (i, v) in versions.iter().enumerate() {
        for (j, w) in versions[..i].iter().enumerate() {
            let same = match (resolved[i], resolved[j]) {
                (Some(a), Some(b)) => a == b,
                _ => v.major == w.major,
            };
            if !same {
                continue;
            }
            let why = match resolved[i].or(resolved[j]) {
                Some(r) if resolved[i].is_some() && resolved[j].is_some() => format!(
                    "{w} and {v} are both PostgreSQL {r} here, and a suite writes each release's \
                     runs in one directory: give it once"
                ),
                _ => format!(
                    "{w} and {v} may be the same release ({} means the newest {} release, which \
                     only the source site knows): name releases, such as {}.N",
                    if v.is_exact() { w } else { v },
                    v.major,
                    v.major
                ),
            };
            return Err(refused("--pg-version", list(versions), why));
        }
    }
    Ok(())
}

/// The release a build would take for `version`, if it can be told without the network.
fn release_offline(version: &PgVersion, opts: &ImageOptions) -> Option<PgVersion> {
    if version.is_exact() {
        return Some(*version);
    }
    let given = opts
        .tarball
        .as_deref()
        .and_then(crate::tarball::version_from_file_name)
        .filter(|t| version.matches(t));
    let cached = || {
        (!opts.refresh)
            .then(|| crate::tarball::newest_cached(&opts.cache_dir, version))
            .flatten()
    };
    given
        .or_else(cached)
        .or_else(|| crate::pg::final_release(version.major))
}

fn list(versions: &[PgVersion]) -> String {
    versions
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `--runs-dir` with the run directories a command will write under it: `dirs` are the parts
/// between the runs directory and a run's time stamp (`<drill>` for one run,
/// `suite/<stamp>/<release>/<drill>` for a suite), and `files` other files written under it
/// (a suite's `suite/<stamp>/logs/<drill>@<release>.log`). Each name must fit the file system
/// (at most [`NAME_MAX`] bytes) and each path [`PATH_MAX`].
pub fn runs_dir(dir: &Path, dirs: &[String], files: &[String]) -> Result<()> {
    writable_dir("--runs-dir", dir)?;
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(dir))
        .unwrap_or_else(|_| dir.to_path_buf());
    let base = absolute.as_os_str().len();
    for (part, tail) in dirs
        .iter()
        .map(|d| (d, RUN_TAIL))
        .chain(files.iter().map(|f| (f, 0)))
    {
        if let Some(name) = part.split('/').find(|n| n.len() > NAME_MAX) {
            return Err(refused(
                "drill name",
                super::shorten(name, 40),
                format!(
                    "a run would write a file or directory named after it, of {} bytes: file \
                     systems take at most {NAME_MAX}; give the drill a shorter `name`",
                    name.len()
                ),
            ));
        }
        let total = base + 1 + part.len() + tail;
        if total > PATH_MAX {
            return Err(refused(
                "--runs-dir",
                dir.display().to_string(),
                format!(
                    "a run would write paths of {total} bytes under it: at most {PATH_MAX} \
                     (choose a shorter --runs-dir or drill name)"
                ),
            ));
        }
    }
    Ok(())
}

/// `dir` is a directory this user can create files in, or does not exist yet and the nearest
/// existing directory above it is one.
pub fn writable_dir(flag: &'static str, dir: &Path) -> Result<()> {
    let shown = || dir.display().to_string();
    if dir.as_os_str().is_empty() {
        return Err(refused(flag, "", "give a directory"));
    }
    for at in dir.ancestors() {
        let at: PathBuf = if at.as_os_str().is_empty() {
            ".".into()
        } else {
            at.to_path_buf()
        };
        let meta = match std::fs::metadata(&at) {
            Ok(meta) => meta,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                continue
            }
            Err(e) => {
                return Err(refused(flag, shown(), format!("{}: {e}", at.display())));
            }
        };
        let which = if at == dir {
            String::from("it")
        } else {
            at.display().to_string()
        };
        if !meta.is_dir() {
            return Err(refused(
                flag,
                shown(),
                format!("{which} is {}, not a directory", super::file_kind(&meta)),
            ));
        }
        return probe(&at).map_err(|e| {
            refused(
                flag,
                shown(),
                format!("nothing can be created in {}: {e}", at.display()),
            )
        });
    }
    Err(refused(flag, shown(), "no part of it exists"))
}

/// Creates a directory in `dir` and removes it.
fn probe(dir: &Path) -> std::io::Result<()> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let path = dir.join(format!(".lab-probe-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&path)?;
    std::fs::remove_dir(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(version: &str, tarball: Option<&str>, cache: &Path) -> ImageOptions {
        ImageOptions {
            version: version.parse().unwrap(),
            tarball: tarball.map(PathBuf::from),
            base: "debian".into(),
            debian_mirror: None,
            debian_suite: None,
            cache_dir: cache.to_path_buf(),
            source_site: String::new(),
            allow_unverified: false,
            refresh: false,
            configure_args: vec![],
            check: false,
            verbose: false,
        }
    }

    fn versions(list: &str) -> Vec<PgVersion> {
        list.split(',').map(|v| v.parse().unwrap()).collect()
    }

    #[test]
    fn a_tarball_must_be_the_release_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let t = Some("/x/postgresql-9.3.5.tar.bz2");
        assert_eq!(images(&opts("9.3.5", t, d)), Ok(()));
        assert_eq!(images(&opts("9.3", t, d)), Ok(()));
        let e = images(&opts("15", t, d)).unwrap_err().to_string();
        assert!(
            e.starts_with("--pg-tarball \"/x/postgresql-9.3.5.tar.bz2\": its name says")
                && e.contains("--pg-version asks for 15"),
            "{e}"
        );
        assert!(images(&opts("9.3.25", t, d)).is_err());
        let odd = Some("/x/source.tar.bz2");
        assert_eq!(images(&opts("9.3.5", odd, d)), Ok(()));
        let e = images(&opts("9.3", odd, d)).unwrap_err().to_string();
        assert!(e.contains("is a major"), "{e}");
    }

    #[test]
    fn a_suite_names_each_release_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let none = opts("9.3.25", None, d);
        assert_eq!(suite(&versions("9.3.5,15,17"), &none), Ok(()));
        let e = suite(&versions("9.3,9.3.25"), &none)
            .unwrap_err()
            .to_string();
        assert!(e.contains("both PostgreSQL 9.3.25"), "{e}");
        let e = suite(&versions("15,15.18"), &none).unwrap_err().to_string();
        assert!(e.contains("may be the same release"), "{e}");
        // The cache says which release 15 is: 15.17 beside 15.18 is two releases.
        std::fs::create_dir(d.join("tarballs")).unwrap();
        std::fs::write(d.join("tarballs/postgresql-15.17.tar.bz2"), b"BZh").unwrap();
        assert_eq!(suite(&versions("15,15.18"), &none), Ok(()));
        let e = suite(&versions("15,15.17"), &none).unwrap_err().to_string();
        assert!(e.contains("both PostgreSQL 15.17"), "{e}");
        let refresh = ImageOptions {
            refresh: true,
            ..none.clone()
        };
        assert!(suite(&versions("15,15.18"), &refresh).is_err());
        // A 9.3.5 tarball makes 9.3 that release.
        let t = opts("9.3.25", Some("/x/postgresql-9.3.5.tar.bz2"), d);
        assert_eq!(suite(&versions("9.3,9.3.25"), &t), Ok(()));
        let e = suite(&versions("15,17"), &t).unwrap_err().to_string();
        assert!(
            e.contains("names none of the suite's versions (15,17)"),
            "{e}"
        );
    }

    #[test]
    fn directories_must_be_directories_that_can_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(writable_dir("--runs-dir", dir.path()), Ok(()));
        assert_eq!(writable_dir("--runs-dir", &dir.path().join("a/b")), Ok(()));
        assert!(!dir.path().join("a").exists(), "nothing is created");
        let e = writable_dir("--cache-dir", &file).unwrap_err().to_string();
        assert!(e.contains("it is a regular file, not a directory"), "{e}");
        let e = writable_dir("--runs-dir", &file.join("x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/f is a regular file, not a directory"), "{e}");
        let e = writable_dir("--runs-dir", Path::new("/proc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nothing can be created in /proc"), "{e}");
        let e = writable_dir("--runs-dir", Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a character device, not a directory"), "{e}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no probe is left"
        );
    }

    #[test]
    fn run_directory_names_must_fit_the_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(runs_dir(d, &["failover".into()], &[]), Ok(()));
        let long = "d".repeat(NAME_MAX + 1);
        let e = runs_dir(d, &[long], &[]).unwrap_err().to_string();
        assert!(
            e.starts_with("drill name") && e.contains("of 256 bytes"),
            "{e}"
        );
        let e = runs_dir(
            d,
            &[],
            &[format!("suite/x/logs/{}@15.log", "d".repeat(250))],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("of 257 bytes"), "{e}");
        let deep = vec![format!("{}/x", ["d"; 2100].join("/"))];
        let e = runs_dir(d, &deep, &[]).unwrap_err().to_string();
        assert!(e.contains("at most 4096"), "{e}");
    }
}
