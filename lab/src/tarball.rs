//! Where the PostgreSQL source tarball comes from, and proof that it is the real one.
//!
//! Sources, in order: the file given with `--pg-tarball`; the lab's cache directory; the
//! PostgreSQL project's source site (with the `.sha256` published beside each tarball); and, for
//! the majors Debian ships, the upstream tarball carried unchanged (`*.orig.tar.bz2`) in the
//! source archive of the host's Debian mirrors (with the checksum from the archive's signed
//! index). Every tarball is verified before use; PostgreSQL source is taken from nowhere else.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::apt::{self, AptSource};
use crate::download::Downloader;
use crate::version::{Major, PgVersion};

/// SHA-256 of upstream tarballs the lab knows by heart (`postgresql-X.Y.Z.tar.bz2`).
///
/// 9.3.25 is the final 9.3 release, published by the PostgreSQL project; the 15.x sums are those
/// of the upstream tarballs as Debian's signed source index lists them (`*.orig.tar.bz2`, carried
/// unchanged).
pub const PINNED_SHA256: &[(&str, &str)] = &[
    (
        "9.3.25",
        "e4953e80415d039ccd33d34be74526a090fd585cf93f296cd9c593972504b6db",
    ),
    (
        "15.18",
        "11df0df97fe3ea4ba9a791faaf39cee1d2fe571e78885b5b55d8517d27c323b4",
    ),
    (
        "15.20",
        "30e65cbbb771a39b553ed2df7e65622e65647aed55dbc19bd0fe853ff0a08442",
    ),
];

/// The newest release of `PINNED_SHA256` that `version` (a major alone, or a release) matches.
pub fn newest_pinned(version: &PgVersion) -> Option<PgVersion> {
    PINNED_SHA256
        .iter()
        .filter_map(|(v, _)| v.parse::<PgVersion>().ok())
        .filter(|v| version.matches(v))
        .max_by_key(|v| v.minor)
}

/// The PostgreSQL project's source directory (`v9.3.25/postgresql-9.3.25.tar.bz2` below it).
pub const DEFAULT_SOURCE_SITE: &str = "https://ftp.postgresql.org/pub/source";

/// The pinned checksum of a release, if the lab knows one.
pub fn pinned_sha256(version: &PgVersion) -> Option<&'static str> {
    let v = version.to_string();
    PINNED_SHA256
        .iter()
        .find(|(known, _)| *known == v)
        .map(|(_, sum)| *sum)
}

/// How a tarball's checksum was established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Matched the lab's pinned table.
    Pinned,
    /// Matched a published or recorded `.sha256` file (URL or path).
    Sha256File(String),
    /// Matched Debian's source index; `signed` says whether the index's signature was checked.
    DebianIndex {
        /// The index URL.
        index: String,
        /// Whether `InRelease` was verified with gpgv against the archive keyring.
        signed: bool,
    },
    /// No checksum source; accepted because `--allow-unverified` was given.
    Unverified,
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verification::Pinned => f.write_str("pinned SHA-256"),
            Verification::Sha256File(s) => write!(f, "SHA-256 from {s}"),
            Verification::DebianIndex {
                index,
                signed: true,
            } => write!(f, "SHA-256 from {index} (signed index)"),
            Verification::DebianIndex {
                index,
                signed: false,
            } => write!(
                f,
                "SHA-256 from {index} (signature NOT checked: no gpgv or keyring)"
            ),
            Verification::Unverified => f.write_str("NOT verified (--allow-unverified)"),
        }
    }
}

/// How a source tarball is compressed, told by its name (`--pg-tarball` checks the name against
/// the file's first bytes): the project's `.tar.bz2`, or `.tar.gz`, which the project also
/// publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// `.tar.bz2`.
    #[default]
    Bzip2,
    /// `.tar.gz`.
    Gzip,
}

impl Compression {
    /// The compression a tarball's file name says.
    pub fn of(path: &Path) -> Compression {
        if path.to_string_lossy().ends_with(".tar.gz") {
            Compression::Gzip
        } else {
            Compression::Bzip2
        }
    }

    /// The file name ending, `.tar.bz2` or `.tar.gz`.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Bzip2 => ".tar.bz2",
            Compression::Gzip => ".tar.gz",
        }
    }

    /// The `tar` flags that unpack it.
    pub fn untar(self) -> &'static str {
        match self {
            Compression::Bzip2 => "xjf",
            Compression::Gzip => "xzf",
        }
    }

    /// `file` decompressed.
    pub fn reader<R: std::io::Read + 'static>(self, file: R) -> Box<dyn std::io::Read> {
        match self {
            Compression::Bzip2 => Box::new(bzip2::read::BzDecoder::new(file)),
            Compression::Gzip => Box::new(flate2::read::GzDecoder::new(file)),
        }
    }
}

/// A verified tarball on disk.
#[derive(Debug, Clone)]
pub struct Tarball {
    /// The exact release it contains.
    pub version: PgVersion,
    /// Where it is.
    pub path: PathBuf,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// How the checksum was established.
    pub verification: Verification,
    /// Newer releases listed but not had (see [`passed_over_note`]).
    pub passed_over: Vec<PassedOver>,
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct TarballRequest {
    /// The version; a major alone means the newest release that can be had.
    pub version: PgVersion,
    /// `--pg-tarball`.
    pub path: Option<PathBuf>,
    /// The cache directory (tarballs are kept in `<cache>/tarballs`).
    pub cache_dir: PathBuf,
    /// The PostgreSQL project's source site.
    pub source_site: String,
    /// Debian mirrors to look in (from the host's apt sources, or a flag).
    pub debian_sources: Vec<AptSource>,
    /// Accept a tarball no checksum source vouches for.
    pub allow_unverified: bool,
    /// For a major alone: look for a newer release even if one is cached.
    pub refresh: bool,
}

/// Why no tarball could be had.
#[derive(Debug, thiserror::Error)]
pub enum TarballError {
    /// The checksum differs from the expected one.
    #[error("checksum mismatch for {path}: expected {expected} ({source_of_expected}), got {actual}; the file is corrupt or not the release it claims to be")]
    Mismatch {
        /// The file.
        path: String,
        /// What it should have been.
        expected: String,
        /// Where that came from.
        source_of_expected: String,
        /// What it is.
        actual: String,
    },
    /// Nothing vouches for the tarball.
    #[error("no checksum is known for {path} (PostgreSQL {version}): put its published SHA-256 in {path}.sha256, or pass --allow-unverified to use it anyway")]
    NoChecksum {
        /// The file.
        path: String,
        /// The version.
        version: String,
    },
    /// The given tarball's name announces another release than the one asked for.
    #[error("{path} is PostgreSQL {named} by its name, but the version asked for is {asked} (--pg-version, default 9.3.25): pass --pg-version {named}")]
    VersionMismatch {
        /// The file.
        path: String,
        /// The release its name announces.
        named: String,
        /// The release asked for.
        asked: String,
    },
    /// The version of a given tarball cannot be told.
    #[error("cannot tell which PostgreSQL release {path} is: name it postgresql-X.Y.Z.tar.bz2 or pass an exact --pg-version")]
    UnknownVersion {
        /// The file.
        path: String,
    },
    /// A download failed.
    #[error("{url}: {cause}")]
    Download {
        /// What was fetched.
        url: String,
        /// What went wrong.
        cause: String,
    },
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Every source was tried.
    #[error("{}", not_found_message(.version, .attempts, .cache, .available))]
    NotFound {
        /// What was asked.
        version: String,
        /// What was tried, and what each said.
        attempts: Vec<String>,
        /// Where to put a tarball by hand.
        cache: String,
        /// Releases that could be had (from Debian's index), newest first.
        available: Vec<String>,
    },
}

fn not_found_message(
    version: &str,
    attempts: &[String],
    cache: &str,
    available: &[String],
) -> String {
    let mut msg = format!("cannot get the PostgreSQL {version} source tarball. Tried:\n");
    for a in attempts {
        msg.push_str(&format!("  - {a}\n"));
    }
    msg.push_str(&format!(
        "Put postgresql-{version}.tar.bz2 (from the PostgreSQL project's source site) in {cache}/, \
         or pass --pg-tarball PATH"
    ));
    if !available.is_empty() {
        msg.push_str(&format!(
            ", or use a release that can be had here: {} (e.g. --pg-version {})",
            available.join(", "),
            available[0].split('.').next().unwrap_or(&available[0])
        ));
    }
    msg
}

/// The SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, TarballError> {
    let io = |source| TarballError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The first word of a `sha256sum`-style file, if it looks like a SHA-256.
fn read_sha256_file(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?;
    (word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| word.to_ascii_lowercase())
}

/// The release a tarball's file name announces: `postgresql-9.3.25.tar.bz2` or Debian's
/// `postgresql-15_15.18.orig.tar.bz2`.
pub fn version_from_file_name(path: &Path) -> Option<PgVersion> {
    let name = path.file_name()?.to_str()?;
    let rest = name.strip_prefix("postgresql-")?;
    let rest = rest.split_once('_').map_or(rest, |(_, r)| r);
    let ver = rest
        .strip_suffix(".orig.tar.bz2")
        .or_else(|| rest.strip_suffix(".tar.bz2"))
        .or_else(|| rest.strip_suffix(".tar.gz"))?;
    ver.parse().ok().filter(PgVersion::is_exact)
}

/// Checks a file against the expected checksum, if one is known: pinned (the sums are the
/// `.tar.bz2`'s), then `<file>.sha256` (as the project publishes beside each `.tar.gz` too).
fn verify_local(
    path: &Path,
    version: &PgVersion,
    allow_unverified: bool,
) -> Result<Tarball, TarballError> {
    let actual = sha256_file(path)?;
    let sidecar = PathBuf::from(format!("{}.sha256", path.display()));
    let pinned = pinned_sha256(version).filter(|_| Compression::of(path) == Compression::Bzip2);
    let expected = if let Some(sum) = pinned {
        Some((sum.to_string(), Verification::Pinned))
    } else {
        std::fs::read_to_string(&sidecar)
            .ok()
            .and_then(|t| read_sha256_file(&t))
            .map(|sum| (sum, Verification::Sha256File(sidecar.display().to_string())))
    };
    let verification = match expected {
        Some((expected, how)) if expected == actual => how,
        Some((expected, how)) => {
            return Err(TarballError::Mismatch {
                path: path.display().to_string(),
                expected,
                source_of_expected: how.to_string(),
                actual,
            })
        }
        None if allow_unverified => Verification::Unverified,
        None => {
            return Err(TarballError::NoChecksum {
                path: path.display().to_string(),
                version: version.to_string(),
            })
        }
    };
    Ok(Tarball {
        version: *version,
        path: path.to_path_buf(),
        sha256: actual,
        verification,
        passed_over: Vec::new(),
    })
}

/// The file name the cache uses for a release.
pub fn cache_file_name(version: &PgVersion) -> String {
    format!("postgresql-{version}.tar.bz2")
}

/// The release a request for `want` finds in the cache directory `dir` (its `tarballs/`), the
/// newest of the major for a major: what [`resolve`] takes first unless `--refresh`.
pub fn newest_cached(cache_dir: &Path, want: &PgVersion) -> Option<PgVersion> {
    cached(&cache_dir.join("tarballs"), want).map(|(v, _)| v)
}

/// The newest cached release of the requested major (or the exact one).
fn cached(dir: &Path, want: &PgVersion) -> Option<(PgVersion, PathBuf)> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let v = version_from_file_name(&path)?;
            (want.matches(&v) && path.to_str()?.ends_with(".tar.bz2")).then_some((v, path))
        })
        .max_by_key(|(v, _)| *v)
}

/// A release found in a Debian source index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianOrig {
    /// The upstream release.
    pub version: PgVersion,
    /// Full URL of `postgresql-N_X.Y.orig.tar.bz2`.
    pub url: String,
    /// Its SHA-256 from the index.
    pub sha256: String,
    /// The index it was listed in.
    pub index: String,
    /// Whether that index's signature was checked.
    pub signed: bool,
}

impl DebianOrig {
    /// The mirror that lists it (its index's URL up to `/dists/`).
    pub fn mirror(&self) -> &str {
        self.index.split("/dists/").next().unwrap_or(&self.index)
    }
}

/// Finds `postgresql-<major>` source packages in a `Sources` index and their upstream tarballs.
/// Every major found is returned (so an error can name what is available).
pub fn parse_sources_index(text: &str, mirror: &str, index: &str, signed: bool) -> Vec<DebianOrig> {
    let mut out = Vec::new();
    for stanza in apt::deb822_stanzas(text) {
        let Some(pkg) = stanza.get("Package") else {
            continue;
        };
        let Some(major) = pkg.strip_prefix("postgresql-") else {
            continue;
        };
        if major
            .parse::<PgVersion>()
            .ok()
            .filter(|v| !v.is_exact())
            .is_none()
        {
            continue;
        }
        let (Some(dir), Some(sums)) = (stanza.get("Directory"), stanza.get("Checksums-Sha256"))
        else {
            continue;
        };
        for line in sums.lines() {
            let mut w = line.split_whitespace();
            let (Some(sum), Some(_size), Some(file)) = (w.next(), w.next(), w.next()) else {
                continue;
            };
            let Some(version) = version_from_file_name(Path::new(file)) else {
                continue;
            };
            if file.ends_with(".orig.tar.bz2") {
                out.push(DebianOrig {
                    version,
                    url: format!("{mirror}/{dir}/{file}"),
                    sha256: sum.to_ascii_lowercase(),
                    index: index.to_string(),
                    signed,
                });
            }
        }
    }
    out
}

/// Checks a clearsigned `InRelease` with gpgv and returns the signed text; `None` when gpgv or
/// the keyring is missing (the caller then uses the text unverified and says so).
fn verify_inrelease(text: &[u8], keyring: &Path) -> Result<Option<String>, String> {
    if !keyring.exists() {
        return Ok(None);
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("InRelease");
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    let out = match std::process::Command::new("gpgv")
        .arg("--keyring")
        .arg(keyring)
        .arg("--output")
        .arg("-")
        .arg(&file)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("running gpgv: {e}")),
    };
    if !out.status.success() {
        return Err(format!(
            "signature check failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
}

const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Looks up the PostgreSQL source packages of one suite of a mirror.
async fn debian_suite_origs(
    dl: &Downloader,
    source: &AptSource,
    suite: &str,
) -> Result<Vec<DebianOrig>, String> {
    let base = format!("{}/dists/{suite}", source.uri);
    let inrelease = dl
        .bytes(&format!("{base}/InRelease"), 16 << 20)
        .await
        .map_err(|e| format!("InRelease: {}", e.cause()))?;
    let keyring = source
        .signed_by
        .as_deref()
        .filter(|k| k.starts_with('/'))
        .unwrap_or(DEFAULT_KEYRING);
    let (release, signed) = match verify_inrelease(&inrelease, Path::new(keyring))? {
        Some(text) => (text, true),
        None => (String::from_utf8_lossy(&inrelease).into_owned(), false),
    };
    let stanza = apt::deb822_stanzas(&release)
        .into_iter()
        .next()
        .ok_or("empty InRelease")?;
    let sums = stanza.get("SHA256").ok_or("InRelease has no SHA256 list")?;
    let (want, _) = apt::sha256_entry(sums, "main/source/Sources.xz")
        .ok_or("no main/source/Sources.xz in this suite")?;
    let url = format!("{base}/main/source/Sources.xz");
    let xz = dl
        .bytes(&url, 256 << 20)
        .await
        .map_err(|e| format!("main/source/Sources.xz: {}", e.cause()))?;
    let got = hex::encode(Sha256::digest(&xz));
    if got != want {
        return Err(format!(
            "{url}: checksum {got} differs from InRelease's {want}"
        ));
    }
    let mut text = String::new();
    xz2::read::XzDecoder::new(&xz[..])
        .read_to_string(&mut text)
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(parse_sources_index(&text, &source.uri, &url, signed))
}

/// A newer release than the one used: listed by a site or mirror, but its tarball could not be
/// had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    /// The release listed.
    pub version: PgVersion,
    /// Who listed it: `the source site URL`, `the mirror URL`.
    pub listed_by: String,
    /// Why it was not used.
    pub why: String,
}

/// The one line that says which newer releases were listed and not used, and why, when
/// `chosen` is built instead; `None` when none newer was passed over.
pub fn passed_over_note(chosen: &PgVersion, passed: &[PassedOver]) -> Option<String> {
    let mut newer: Vec<&PassedOver> = passed.iter().filter(|p| p.version > *chosen).collect();
    newer.sort_by_key(|p| std::cmp::Reverse(p.version));
    newer.dedup_by_key(|p| p.version);
    if newer.is_empty() {
        return None;
    }
    let parts: Vec<String> = newer
        .iter()
        .map(|p| {
            let why = p.why.split_whitespace().collect::<Vec<_>>().join(" ");
            format!(
                "{} is listed by {} but its tarball could not be fetched ({why})",
                p.version, p.listed_by
            )
        })
        .collect();
    Some(format!("{}: building {chosen}", parts.join("; ")))
}

/// What a request tried, for the error that says so, and the newer releases it passed over.
#[derive(Debug, Default)]
struct Tried {
    attempts: Vec<String>,
    passed_over: Vec<PassedOver>,
}

impl Tried {
    /// A tarball found, carrying the newer releases passed over on the way.
    fn found(self, mut tarball: Tarball) -> Tarball {
        tarball.passed_over = self.passed_over;
        tarball
    }

    /// A download that failed (a checksum mismatch stops the search: `Err`).
    fn failed(
        &mut self,
        version: PgVersion,
        listed_by: String,
        e: TarballError,
    ) -> Result<(), TarballError> {
        if matches!(e, TarballError::Mismatch { .. }) {
            return Err(e);
        }
        let why = match &e {
            TarballError::Download { cause, .. } => cause.clone(),
            other => other.to_string(),
        };
        self.attempts.push(format!("{listed_by}: {e}"));
        self.passed_over.push(PassedOver {
            version,
            listed_by,
            why,
        });
        Ok(())
    }
}

/// `--pg-tarball`: its name agrees with the version asked for, and it is verified.
fn given(req: &TarballRequest, path: &Path) -> Result<Tarball, TarballError> {
    if let Some(named) = version_from_file_name(path).filter(|v| !req.version.matches(v)) {
        return Err(TarballError::VersionMismatch {
            path: path.display().to_string(),
            named: named.to_string(),
            asked: req.version.to_string(),
        });
    }
    let version = if req.version.is_exact() {
        req.version
    } else {
        version_from_file_name(path)
            .filter(|v| req.version.matches(v))
            .ok_or_else(|| TarballError::UnknownVersion {
                path: path.display().to_string(),
            })?
    };
    if !path.is_file() {
        return Err(TarballError::Io {
            path: path.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    verify_local(path, &version, req.allow_unverified)
}

/// The newest cached release of the request, and whether the cache answers it without looking
/// further (an exact release, or a major without `--refresh`).
fn from_cache(req: &TarballRequest, tried: &mut Tried) -> (Option<(PgVersion, PathBuf)>, bool) {
    let cache = req.cache_dir.join("tarballs");
    let found = cached(&cache, &req.version);
    if found.is_none() {
        tried.attempts.push(format!(
            "cache {}: no {}",
            cache.display(),
            cache_file_name(&req.version)
        ));
    }
    let settles = found.is_some() && (req.version.is_exact() || !req.refresh);
    (found, settles)
}

/// Resolves and verifies the tarball, downloading it into the cache if need be.
/// `progress(message)` is told what is being tried; `bytes(done, total)` follows a download.
/// A newer release listed and not had is in the tarball's `passed_over`.
pub async fn resolve(
    req: &TarballRequest,
    mut say: impl FnMut(&str),
    mut bytes: impl FnMut(u64, Option<u64>),
) -> Result<Tarball, TarballError> {
    if let Some(path) = &req.path {
        return given(req, path);
    }
    let cache = req.cache_dir.join("tarballs");
    let mut tried = Tried::default();
    let (cached, settles) = from_cache(req, &mut tried);
    if let (Some((version, path)), true) = (&cached, settles) {
        say(&format!("using cached {}", path.display()));
        return verify_local(path, version, req.allow_unverified);
    }
    std::fs::create_dir_all(&cache).map_err(|source| TarballError::Io {
        path: cache.display().to_string(),
        source,
    })?;
    let dl = Downloader::new();

    say(&format!("looking on {}", req.source_site));
    if let Some(t) = from_site(&dl, req, &cache, &mut tried, &mut bytes).await? {
        return Ok(tried.found(t));
    }

    let listing = debian_listing(&dl, req, &mut say, &mut tried.attempts).await;
    // Newest first; a mirror that lists a file it does not serve is skipped for the next one.
    for orig in listing.candidates {
        if let Some((version, path)) = &cached {
            if *version >= orig.version {
                return verify_local(path, version, req.allow_unverified).map(|t| tried.found(t));
            }
        }
        say(&format!("downloading {}", orig.url));
        let how = Verification::DebianIndex {
            index: orig.index.clone(),
            signed: orig.signed,
        };
        let got = fetch_verified(
            &dl,
            &orig.url,
            &cache,
            &orig.version,
            &orig.sha256,
            how,
            &mut bytes,
        )
        .await;
        match got {
            Ok(t) => return Ok(tried.found(t)),
            Err(e) => tried.failed(orig.version, format!("the mirror {}", orig.mirror()), e)?,
        }
    }
    if let Some((version, path)) = &cached {
        return verify_local(path, version, req.allow_unverified).map(|t| tried.found(t));
    }
    Err(not_found(req, &cache, tried.attempts, listing.available))
}

/// The error that says every source was tried (and what could be had instead).
fn not_found(
    req: &TarballRequest,
    cache: &Path,
    mut attempts: Vec<String>,
    mut available: Vec<PgVersion>,
) -> TarballError {
    // Said only when some index was read: a mirror that did not answer says nothing of it.
    if !available.is_empty() && !available.iter().any(|v| req.version.matches(v)) {
        attempts.push(format!(
            "Debian source archive: no postgresql-{} source package",
            req.version.major
        ));
    }
    // Only releases the lab speaks are offered (a mirror may carry a newer major).
    available.retain(|v| crate::pg::check_supported(v).is_ok());
    available.sort();
    available.dedup();
    available.reverse();
    TarballError::NotFound {
        version: req.version.to_string(),
        attempts,
        cache: cache.display().to_string(),
        available: available.iter().map(|v| v.to_string()).collect(),
    }
}

/// The PostgreSQL project's source site: the release (the newest listed, for a major), its
/// checksum (pinned or published) and the tarball. `Ok(None)` when it could not be had there.
async fn from_site(
    dl: &Downloader,
    req: &TarballRequest,
    cache: &Path,
    tried: &mut Tried,
    bytes: &mut impl FnMut(u64, Option<u64>),
) -> Result<Option<Tarball>, TarballError> {
    let site = &req.source_site;
    let version = match upstream_release(dl, site, &req.version).await {
        Ok(version) => version,
        Err(e) => {
            tried.attempts.push(format!("{site}: {e}"));
            return Ok(None);
        }
    };
    let dir = format!("{site}/v{version}");
    let name = cache_file_name(&version);
    let published = match pinned_sha256(&version) {
        Some(sum) => Ok((sum.to_string(), Verification::Pinned)),
        None => {
            let url = format!("{dir}/{name}.sha256");
            dl.text(&url, 4096)
                .await
                .map_err(|e| e.cause())
                .and_then(|t| read_sha256_file(&t).ok_or_else(|| "not a SHA-256".to_string()))
                .map(|sum| (sum, Verification::Sha256File(url)))
        }
    };
    let listed_by = format!("the source site {site}");
    let (sum, how) = match published {
        Ok(found) => found,
        Err(e) => {
            let e = TarballError::Download {
                url: format!("{dir}/{name}.sha256"),
                cause: e,
            };
            tried.failed(version, listed_by, e)?;
            return Ok(None);
        }
    };
    let url = format!("{dir}/{name}");
    match fetch_verified(dl, &url, cache, &version, &sum, how, bytes).await {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            tried.failed(version, listed_by, e)?;
            Ok(None)
        }
    }
}

/// What the Debian mirrors list: the candidates of the request (newest first) and every
/// release they carry.
struct DebianListing {
    candidates: Vec<DebianOrig>,
    available: Vec<PgVersion>,
}

/// Reads the source indexes of the request's Debian mirrors (each suite the mirror serves).
async fn debian_listing(
    dl: &Downloader,
    req: &TarballRequest,
    say: &mut impl FnMut(&str),
    attempts: &mut Vec<String>,
) -> DebianListing {
    let mut available = Vec::new();
    let mut candidates: Vec<DebianOrig> = Vec::new();
    if req.debian_sources.is_empty() {
        attempts.push("Debian source archive: no Debian mirror in the host's apt sources (give one with --debian-mirror)".into());
    }
    for source in &req.debian_sources {
        if !source.components.iter().any(|c| c == "main") {
            continue;
        }
        for suite in &apt::mirror_suites(&source.suites) {
            say(&format!("looking in {}/dists/{suite}", source.uri));
            match debian_suite_origs(dl, source, suite).await {
                Ok(origs) => {
                    for o in origs {
                        available.push(o.version);
                        if req.version.matches(&o.version) {
                            candidates.push(o);
                        }
                    }
                }
                Err(e) => attempts.push(format!("Debian {}/dists/{suite}: {e}", source.uri)),
            }
        }
    }
    candidates.sort_by_key(|c| std::cmp::Reverse(c.version));
    DebianListing {
        candidates,
        available,
    }
}

/// Where the release a request needs would come from, found without downloading a tarball.
#[derive(Debug, Clone)]
pub enum Availability {
    /// The given or cached tarball, verified (with the newer releases passed over).
    Local(Tarball),
    /// Listed by the source site or a Debian mirror, and there: the first build downloads it.
    Listed {
        /// The release.
        version: PgVersion,
        /// The tarball's URL.
        url: String,
        /// Newer releases listed but not there.
        passed_over: Vec<PassedOver>,
    },
}

/// What [`resolve`] would take, told as far as possible without the network (the given
/// tarball, the cache) and otherwise from the listings (the source site's directory of the
/// release, the mirrors' signed source indexes) and a HEAD request for the tarball: `lab
/// doctor`'s answer to "can `up` get the release it needs?".
pub async fn locate(
    req: &TarballRequest,
    mut say: impl FnMut(&str),
) -> Result<Availability, TarballError> {
    if let Some(path) = &req.path {
        return given(req, path).map(Availability::Local);
    }
    let cache = req.cache_dir.join("tarballs");
    let mut tried = Tried::default();
    let (cached, settles) = from_cache(req, &mut tried);
    if let (Some((version, path)), true) = (&cached, settles) {
        return verify_local(path, version, req.allow_unverified).map(Availability::Local);
    }
    let dl = Downloader::new();
    let site = &req.source_site;
    say(&format!("looking on {site}"));
    let mut listed = Vec::new();
    let mut available = Vec::new();
    match listed_on_site(&dl, site, &req.version).await {
        Ok((version, url)) => listed.push((version, url, format!("the source site {site}"))),
        Err(e) => tried.attempts.push(format!("{site}: {e}")),
    }
    if listed.is_empty() {
        let listing = debian_listing(&dl, req, &mut say, &mut tried.attempts).await;
        available = listing.available;
        listed.extend(listing.candidates.into_iter().map(|o| {
            let by = format!("the mirror {}", o.mirror());
            (o.version, o.url, by)
        }));
    }
    for (version, url, listed_by) in listed {
        if let Some((cached_version, path)) = &cached {
            if *cached_version >= version {
                return verify_local(path, cached_version, req.allow_unverified)
                    .map(|t| Availability::Local(tried.found(t)));
            }
        }
        match dl.exists(&url).await {
            Ok(()) => {
                return Ok(Availability::Listed {
                    version,
                    url,
                    passed_over: tried.passed_over,
                })
            }
            Err(e) => {
                let e = TarballError::Download {
                    url,
                    cause: e.cause(),
                };
                tried.failed(version, listed_by, e)?;
            }
        }
    }
    if let Some((version, path)) = &cached {
        return verify_local(path, version, req.allow_unverified)
            .map(|t| Availability::Local(tried.found(t)));
    }
    Err(not_found(req, &cache, tried.attempts, available))
}

/// The release's tarball as the source site's directory of it lists it: the release and the
/// tarball's URL.
async fn listed_on_site(
    dl: &Downloader,
    site: &str,
    want: &PgVersion,
) -> Result<(PgVersion, String), String> {
    let version = upstream_release(dl, site, want).await?;
    let dir = format!("v{version}/");
    let name = cache_file_name(&version);
    let listing = dl
        .text(&format!("{site}/{dir}"), 8 << 20)
        .await
        .map_err(|e| format!("{dir}: {}", e.cause()))?;
    if listing.contains(&format!("\"{name}\"")) {
        Ok((version, format!("{site}/{dir}{name}")))
    } else {
        Err(format!("{dir} does not list {name}"))
    }
}

/// The exact release to fetch from the project's site: the one asked for, or the newest of the
/// major as listed in the site's directory index.
async fn upstream_release(
    dl: &Downloader,
    site: &str,
    want: &PgVersion,
) -> Result<PgVersion, String> {
    if want.is_exact() {
        return Ok(*want);
    }
    let index = dl
        .text(&format!("{site}/"), 8 << 20)
        .await
        .map_err(|e| e.cause())?;
    newest_in_listing(&index, want.major)
        .ok_or_else(|| format!("no release of {} listed", want.major))
}

/// The newest `vX.Y[.Z]/` entry of `major` in a directory listing.
pub fn newest_in_listing(html: &str, major: Major) -> Option<PgVersion> {
    html.split("href=\"v")
        .skip(1)
        .filter_map(|s| s.split_once('/').map(|(v, _)| v))
        .filter_map(|v| v.parse::<PgVersion>().ok())
        .filter(|v| v.is_exact() && v.major == major)
        .max()
}

/// Downloads into the cache under a temporary name, verifies, then moves it in place and
/// records its checksum beside it (`sha256sum -c` format).
async fn fetch_verified(
    dl: &Downloader,
    url: &str,
    cache: &Path,
    version: &PgVersion,
    expected: &str,
    how: Verification,
    bytes: &mut impl FnMut(u64, Option<u64>),
) -> Result<Tarball, TarballError> {
    let name = cache_file_name(version);
    let dest = cache.join(&name);
    let partial = cache.join(format!(".{name}.part"));
    let result = dl.to_file(url, &partial, &mut *bytes).await;
    let actual = match result {
        Ok(sum) => sum,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(TarballError::Download {
                url: url.to_string(),
                cause: e.cause(),
            });
        }
    };
    if actual != expected {
        let _ = std::fs::remove_file(&partial);
        return Err(TarballError::Mismatch {
            path: url.to_string(),
            expected: expected.to_string(),
            source_of_expected: how.to_string(),
            actual,
        });
    }
    let io = |source| TarballError::Io {
        path: dest.display().to_string(),
        source,
    };
    std::fs::rename(&partial, &dest).map_err(io)?;
    std::fs::write(
        cache.join(format!("{name}.sha256")),
        format!("{actual}  {name}\n"),
    )
    .map_err(io)?;
    Ok(Tarball {
        version: *version,
        path: dest,
        sha256: actual,
        verification: how,
        passed_over: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PgVersion {
        s.parse().unwrap()
    }

    #[test]
    fn pinned_table_has_the_final_93_release() {
        assert_eq!(
            pinned_sha256(&v("9.3.25")),
            Some("e4953e80415d039ccd33d34be74526a090fd585cf93f296cd9c593972504b6db")
        );
        assert_eq!(pinned_sha256(&v("9.3.24")), None);
    }

    #[test]
    fn file_names_tell_the_release() {
        assert_eq!(
            version_from_file_name(Path::new("/x/postgresql-9.3.25.tar.bz2")),
            Some(v("9.3.25"))
        );
        assert_eq!(
            version_from_file_name(Path::new("postgresql-15_15.18.orig.tar.bz2")),
            Some(v("15.18"))
        );
        assert_eq!(
            version_from_file_name(Path::new("postgresql-15.tar.bz2")),
            None
        );
        assert_eq!(version_from_file_name(Path::new("pg.tar.bz2")), None);
    }

    #[test]
    fn sources_index_yields_upstream_tarballs_of_every_major() {
        let index = "Package: postgresql-15\nVersion: 15.18-0+deb12u1\nDirectory: pool/main/p/postgresql-15\n\
Checksums-Sha256:\n 11aa 5000 postgresql-15_15.18-0+deb12u1.dsc\n 22BB 23405115 postgresql-15_15.18.orig.tar.bz2\n 33cc 100 postgresql-15_15.18.orig.tar.bz2.asc\n\n\
Package: postgresql-common\nVersion: 248\nDirectory: pool/main/p/postgresql-common\nChecksums-Sha256:\n 44 1 postgresql-common_248.tar.xz\n\n\
Package: postgresql-13\nDirectory: pool/main/p/postgresql-13\nChecksums-Sha256:\n 55 9 postgresql-13_13.16.orig.tar.bz2\n";
        let origs = parse_sources_index(index, "http://m.example/debian", "idx", true);
        assert_eq!(origs.len(), 2);
        assert_eq!(origs[0].version, v("15.18"));
        assert_eq!(origs[0].sha256, "22bb");
        assert_eq!(
            origs[0].url,
            "http://m.example/debian/pool/main/p/postgresql-15/postgresql-15_15.18.orig.tar.bz2"
        );
        assert_eq!(origs[1].version, v("13.16"));
    }

    #[test]
    fn a_newer_release_listed_and_not_had_is_named_with_why() {
        let passed = |ver: &str, by: &str, why: &str| PassedOver {
            version: v(ver),
            listed_by: by.into(),
            why: why.into(),
        };
        assert_eq!(passed_over_note(&v("15.18"), &[]), None);
        // An older release passed over (the cache had a newer one) is not news.
        assert_eq!(
            passed_over_note(&v("15.18"), &[passed("15.17", "the mirror M", "HTTP 404")]),
            None
        );
        assert_eq!(
            passed_over_note(
                &v("15.18"),
                &[
                    passed("15.20", "the mirror http://m.example/debian", "HTTP 404"),
                    passed("15.20", "the mirror http://n.example/debian", "HTTP 503"),
                ]
            )
            .as_deref(),
            Some(
                "15.20 is listed by the mirror http://m.example/debian but its tarball could \
                 not be fetched (HTTP 404): building 15.18"
            )
        );
        let two = passed_over_note(
            &v("15.18"),
            &[
                passed("15.19", "the mirror M", "HTTP 404"),
                passed("15.20", "the source site S", "connection\nrefused"),
            ],
        )
        .unwrap();
        assert_eq!(
            two,
            "15.20 is listed by the source site S but its tarball could not be fetched \
             (connection refused); 15.19 is listed by the mirror M but its tarball could not be \
             fetched (HTTP 404): building 15.18"
        );
        assert!(!two.contains('\n'));
    }

    #[test]
    fn listing_gives_the_newest_release_of_a_major() {
        let html = r#"<a href="v9.3.24/">v9.3.24</a> <a href="v9.3.25/">x</a> <a href="v9.4.26/">x</a> <a href="v15.18/">x</a>"#;
        assert_eq!(newest_in_listing(html, v("9.3").major), Some(v("9.3.25")));
        assert_eq!(newest_in_listing(html, v("15").major), Some(v("15.18")));
        assert_eq!(newest_in_listing(html, v("17").major), None);
    }

    fn request(dir: &Path, version: &str, path: Option<PathBuf>) -> TarballRequest {
        TarballRequest {
            version: v(version),
            path,
            cache_dir: dir.to_path_buf(),
            // Unroutable on purpose: resolution must not depend on the network in these tests.
            source_site: "http://127.0.0.1:9/none".into(),
            debian_sources: vec![],
            allow_unverified: false,
            refresh: false,
        }
    }

    fn resolve_now(req: &TarballRequest) -> Result<Tarball, TarballError> {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(resolve(req, |_| {}, |_, _| {}))
    }

    #[test]
    fn given_tarball_is_checked_against_its_sha256_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("postgresql-16.1.tar.bz2");
        std::fs::write(&file, b"not really a tarball").unwrap();
        let good = sha256_file(&file).unwrap();

        // missing checksum: refused, and the message says what to do
        let e = resolve_now(&request(dir.path(), "16", Some(file.clone()))).unwrap_err();
        assert!(matches!(e, TarballError::NoChecksum { .. }), "{e}");
        assert!(e.to_string().contains("--allow-unverified"), "{e}");

        // good checksum
        std::fs::write(
            format!("{}.sha256", file.display()),
            format!("{good}  postgresql-16.1.tar.bz2\n"),
        )
        .unwrap();
        let t = resolve_now(&request(dir.path(), "16", Some(file.clone()))).unwrap();
        assert_eq!(t.version, v("16.1"));
        assert_eq!(t.sha256, good);
        assert!(matches!(t.verification, Verification::Sha256File(_)));

        // bad checksum: both values shown
        let bad = "0".repeat(64);
        std::fs::write(format!("{}.sha256", file.display()), &bad).unwrap();
        let e = resolve_now(&request(dir.path(), "16", Some(file.clone())))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&bad) && e.contains(&good), "{e}");
    }

    #[test]
    fn a_pinned_version_with_other_content_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("postgresql-9.3.25.tar.bz2");
        std::fs::write(&file, b"tampered").unwrap();
        let mut req = request(dir.path(), "9.3.25", Some(file));
        req.allow_unverified = true; // a pinned sum is never overridden
        let e = resolve_now(&req).unwrap_err().to_string();
        assert!(
            e.contains("e4953e80415d039ccd33d34be74526a090fd585cf93f296cd9c593972504b6db"),
            "{e}"
        );
        assert!(e.contains("pinned"), "{e}");
    }

    #[test]
    fn the_cache_serves_the_newest_release_of_a_major() {
        let dir = tempfile::tempdir().unwrap();
        let tarballs = dir.path().join("tarballs");
        std::fs::create_dir_all(&tarballs).unwrap();
        for ver in ["16.1", "16.3", "17.0"] {
            let f = tarballs.join(format!("postgresql-{ver}.tar.bz2"));
            std::fs::write(&f, ver).unwrap();
            let sum = sha256_file(&f).unwrap();
            std::fs::write(format!("{}.sha256", f.display()), sum).unwrap();
        }
        let t = resolve_now(&request(dir.path(), "16", None)).unwrap();
        assert_eq!(t.version, v("16.3"));
        let t = resolve_now(&request(dir.path(), "16.1", None)).unwrap();
        assert_eq!(t.version, v("16.1"));
    }

    /// A source site on 127.0.0.1 that lists 16.3 (the root and `v16.3/`) and serves nothing
    /// else (404): its URL.
    fn site_listing_16_3() -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
                let body = match path.as_str() {
                    "/src/" => r#"<a href="v16.1/">v16.1/</a> <a href="v16.3/">v16.3/</a>"#,
                    "/src/v16.3/" => r#"<a href="postgresql-16.3.tar.bz2">x</a>"#,
                    _ => "",
                };
                let status = if body.is_empty() {
                    "404 Not Found"
                } else {
                    "200 OK"
                };
                let head = first.starts_with("HEAD");
                let mut out = &stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    body.len(),
                    if head { "" } else { body }
                );
            }
        });
        format!("http://{addr}/src")
    }

    /// A cache holding 16.1, vouched for by its `.sha256`.
    fn cache_with_16_1(dir: &Path) {
        let tarballs = dir.join("tarballs");
        std::fs::create_dir_all(&tarballs).unwrap();
        let f = tarballs.join("postgresql-16.1.tar.bz2");
        std::fs::write(&f, "16.1").unwrap();
        std::fs::write(format!("{}.sha256", f.display()), sha256_file(&f).unwrap()).unwrap();
    }

    #[test]
    fn a_newer_release_the_site_lists_but_does_not_serve_is_kept_as_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        cache_with_16_1(dir.path());
        let mut req = request(dir.path(), "16", None);
        req.refresh = true;
        req.source_site = site_listing_16_3();
        let t = resolve_now(&req).unwrap();
        assert_eq!(t.version, v("16.1"));
        assert_eq!(t.passed_over.len(), 1, "{:?}", t.passed_over);
        let note = passed_over_note(&t.version, &t.passed_over).unwrap();
        assert!(
            note.starts_with(&format!(
                "16.3 is listed by the source site {}",
                req.source_site
            )),
            "{note}"
        );
        assert!(note.contains("(HTTP 404): building 16.1"), "{note}");

        // `lab doctor`'s look: the listing, then a HEAD request for the tarball.
        let found = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(locate(&req, |_| {}))
            .unwrap();
        let Availability::Local(t) = found else {
            panic!("the cached release: {found:?}")
        };
        assert_eq!(t.version, v("16.1"));
        assert_eq!(t.passed_over[0].version, v("16.3"));
        assert_eq!(t.passed_over[0].why, "HTTP 404");
    }

    #[test]
    fn nothing_found_says_what_was_tried_and_where_to_put_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve_now(&request(dir.path(), "9.3.25", None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot get the PostgreSQL 9.3.25 source tarball"),
            "{e}"
        );
        assert!(e.contains("postgresql-9.3.25.tar.bz2"), "{e}");
        assert!(
            e.contains(&dir.path().join("tarballs").display().to_string()),
            "{e}"
        );
        assert!(e.contains("127.0.0.1:9"), "{e}");
        assert!(e.contains("--pg-tarball"), "{e}");
    }
}
