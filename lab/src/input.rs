//! Value parsers for the command line: every flag and name is checked here, by clap, before a
//! command does any work or contacts the engine (clap exits 2 with `error: invalid value …`).

pub mod config;
mod reference;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::Ipv4Net;

use crate::node::NodeId;
use crate::scenario::{MAX_MONITOR_INTERVAL, MIN_MONITOR_INTERVAL, NODES};
use crate::text::shorten;
use crate::version::PgVersion;

/// A flag's value or a name the lab refuses; the message says why and what would do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Not a version string at all.
    #[error(transparent)]
    Version(#[from] crate::version::VersionParseError),
    /// A version the lab cannot speak.
    #[error(transparent)]
    Unsupported(#[from] crate::pg::Unsupported),
    /// A lab name the engine's naming rules refuse.
    #[error("{0}")]
    LabName(String),
    /// No such node.
    #[error("unknown node `{}`: a lab has {}", shorten(.0, 40), NODES.map(NodeId::name).join(" and "))]
    Node(String),
    /// No such fault.
    #[error("unknown fault `{}`: expected one of {}", shorten(.0, 40), crate::fault::names().join(", "))]
    Fault(String),
    /// Not an IPv4 network.
    #[error("--subnet {}: expected an IPv4 network such as 172.16.3.0/24", shorten(.0, 60))]
    NotASubnet(String),
    /// A network too small or too large for the document's host numbers.
    #[error("{0}: the nodes take host numbers .101 and .102 as in the document; use a prefix from /8 to /24")]
    SubnetPrefix(Ipv4Net),
    /// A public, loopback or multicast network.
    #[error("{0} is not a private network: use one inside {ranges} (RFC 1918)", ranges = PRIVATE.join(", "))]
    NotPrivate(Ipv4Net),
    /// No room for .101 and .102.
    #[error("{0} has no room for .101 and .102")]
    NoRoom(Ipv4Net),
    /// Not a whole number in the range a flag takes.
    #[error("`{}`: give a whole number from {lo} to {hi}", shorten(.value, 40))]
    OutOfRange {
        /// As given.
        value: String,
        /// The least the flag takes.
        lo: u64,
        /// The most.
        hi: u64,
    },
    /// Not a port that leaves room for node2's.
    #[error("`{}` is not a port for node1 (node2 gets the next one): give 1 to 65534", shorten(.0, 40))]
    Port(String),
    /// Not a shard of a suite.
    #[error("--shard `{}`: expected K/N, this runner's share K of N, with 1 ≤ K ≤ N ≤ {max}", shorten(.0, 40), max = crate::drill::shard::MAX_SHARDS)]
    Shard(String),
    /// A tarball that cannot be read.
    #[error("{path}: {reason}")]
    Unreadable {
        /// As given.
        path: String,
        /// The system's reason.
        reason: String,
    },
    /// Not a regular file.
    #[error("{0} is {1}, not a regular file")]
    NotAFile(String, &'static str),
    /// Not named as a source tarball.
    #[error("{0} is not a source tarball: name it postgresql-X.Y.Z.tar.bz2 (or .tar.gz)")]
    NotATarball(String),
    /// Named for one compression, holding something else.
    #[error("{path} is named {suffix} but is not {} data", &suffix[5..])]
    WrongMagic {
        /// As given.
        path: String,
        /// The suffix it is named with.
        suffix: &'static str,
    },
    /// Not an interval the monitor takes.
    #[error(
        "`{}` is not an interval: give seconds from {} to {}",
        shorten(.0, 40),
        MIN_MONITOR_INTERVAL.as_secs_f64(),
        MAX_MONITOR_INTERVAL.as_secs_f64()
    )]
    Interval(String),
    /// A flag's value refused, alone or with the other flags given: which flag, its value and
    /// why.
    #[error("{flag} {}: {why}", quoted(.value))]
    Refused {
        /// The flag, as typed (`--base`).
        flag: &'static str,
        /// The value given.
        value: String,
        /// Why, and what would do.
        why: String,
    },
}

impl From<InputError> for crate::error::Error {
    fn from(e: InputError) -> Self {
        crate::error::Error::Invalid(e.to_string())
    }
}

/// A value in a message: quoted, control characters escaped, cut when long.
fn quoted(value: &str) -> String {
    // `shorten` has escaped the control characters already.
    format!("\"{}\"", shorten(value, 60))
}

/// The refusal of `flag`'s `value`, for `why`.
pub fn refused(flag: &'static str, value: impl Into<String>, why: impl Into<String>) -> InputError {
    InputError::Refused {
        flag,
        value: value.into(),
        why: why.into(),
    }
}

type Result<T, E = InputError> = std::result::Result<T, E>;

/// `--set NAME=VALUE`: a setting's name and a value postgresql.conf can hold, not one the lab
/// sets itself (whether the version has it is checked with the version,
/// [`config::settings`]).
pub fn setting(s: &str) -> Result<crate::pg::Setting> {
    crate::pg::parse_assignment(s).map_err(|e| refused("--set", s, e.to_string()))
}

/// A PostgreSQL version the lab can speak (see [`crate::pg::check_supported`]).
pub fn version(s: &str) -> Result<PgVersion> {
    if s.contains(',') {
        return Err(refused(
            "--pg-version",
            s,
            "one version here (a list such as 9.3.5,15 makes a suite: `lab drill run --pg-version`)",
        ));
    }
    let v: PgVersion = s.parse()?;
    crate::pg::check_supported(&v)?;
    Ok(v)
}

/// A lab name: what [`crate::cluster::check_name`] accepts.
pub fn lab_name(s: &str) -> Result<String> {
    crate::cluster::check_name(s).map_err(|e| InputError::LabName(e.to_string()))?;
    Ok(s.to_string())
}

/// A node of the lab.
pub fn node(s: &str) -> Result<NodeId> {
    match s.parse() {
        Ok(node) if NODES.contains(&node) => Ok(node),
        _ => Err(InputError::Node(s.to_string())),
    }
}

/// A fault of the catalogue (`lab fault list`).
pub fn fault(s: &str) -> Result<crate::fault::Fault> {
    s.parse().map_err(|_| InputError::Fault(s.to_string()))
}

/// The private IPv4 ranges (RFC 1918) a lab network may use.
const PRIVATE: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// `--subnet`: an IPv4 network of /8 to /24 inside a private range (RFC 1918), so that the
/// lab never shadows a public address, the loopback or multicast.
pub fn subnet(s: &str) -> Result<String> {
    let net: Ipv4Net = s
        .parse()
        .map_err(|_| InputError::NotASubnet(s.to_string()))?;
    if net != net.trunc() {
        return Err(refused(
            "--subnet",
            s,
            format!("host bits are set: the network is {}", net.trunc()),
        ));
    }
    if net.to_string() != s {
        return Err(refused(
            "--subnet",
            s,
            format!("write the network plainly, without leading zeros: {net}"),
        ));
    }
    if net.prefix_len() < 8 || net.prefix_len() > 24 {
        return Err(InputError::SubnetPrefix(net));
    }
    let private = PRIVATE
        .iter()
        .map(|p| p.parse::<Ipv4Net>().expect("a valid network"))
        .any(|p| p.contains(&net));
    if !private {
        return Err(InputError::NotPrivate(net));
    }
    if net.trunc().hosts().nth(101).is_none() {
        return Err(InputError::NoRoom(net));
    }
    Ok(s.to_string())
}

/// A parser for a flag that takes a whole number from `lo` to `hi`, whose refusal says so in
/// words (clap's own range check prints Rust's `1..=16`).
pub fn within<T>(lo: T, hi: T) -> impl Fn(&str) -> Result<T> + Clone + Send + Sync + 'static
where
    T: std::str::FromStr + PartialOrd + Copy + Into<u64> + Send + Sync + 'static,
{
    move |s: &str| match s.trim().parse::<T>() {
        Ok(n) if lo <= n && n <= hi => Ok(n),
        _ => Err(InputError::OutOfRange {
            value: s.to_string(),
            lo: lo.into(),
            hi: hi.into(),
        }),
    }
}

/// `--shard K/N`: 1 ≤ K ≤ N ≤ [`crate::drill::shard::MAX_SHARDS`].
pub fn shard(s: &str) -> Result<crate::drill::shard::Shard> {
    crate::drill::shard::Shard::parse(s).ok_or_else(|| InputError::Shard(s.to_string()))
}

/// `--publish`: node1 on PORT and node2 on PORT+1, both valid ports.
pub fn publish(s: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if (1..u16::MAX).contains(&p) => Ok(p),
        _ => Err(InputError::Port(s.to_string())),
    }
}

/// The magic bytes of the compressions a source tarball comes in.
const TARBALL_MAGIC: &[(&str, &[u8])] = &[(".tar.bz2", b"BZh"), (".tar.gz", &[0x1f, 0x8b])];

/// `--pg-tarball`: a regular file named `….tar.bz2` or `….tar.gz` whose first bytes are that
/// compression's.
pub fn tarball(s: &str) -> Result<PathBuf> {
    let path = PathBuf::from(s);
    let unreadable = |e: std::io::Error| InputError::Unreadable {
        path: s.to_string(),
        reason: e.to_string(),
    };
    let meta = std::fs::metadata(&path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(InputError::NotAFile(s.to_string(), file_kind(&meta)));
    }
    let Some((suffix, magic)) = TARBALL_MAGIC.iter().find(|(ext, _)| s.ends_with(ext)) else {
        return Err(InputError::NotATarball(s.to_string()));
    };
    let mut head = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(magic.len() as u64).read_to_end(&mut head))
        .map_err(unreadable)?;
    if head != *magic {
        return Err(InputError::WrongMagic {
            path: s.to_string(),
            suffix,
        });
    }
    Ok(path)
}

/// What kind of file `meta` describes, for messages: `a directory`, `a character device`…
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    match () {
        _ if t.is_file() => "a regular file",
        _ if t.is_dir() => "a directory",
        _ if t.is_char_device() => "a character device",
        _ if t.is_block_device() => "a block device",
        _ if t.is_fifo() => "a FIFO",
        _ if t.is_socket() => "a socket",
        _ if t.is_symlink() => "a symbolic link",
        _ => "not a regular file",
    }
}

/// `lab images load FILE`: an existing regular file (not a device, FIFO or directory, which
/// would be read forever or not at all).
pub fn archive(s: &str) -> Result<PathBuf> {
    let meta = std::fs::metadata(s).map_err(|e| InputError::Unreadable {
        path: s.to_string(),
        reason: e.to_string(),
    })?;
    if !meta.is_file() {
        return Err(InputError::NotAFile(s.to_string(), file_kind(&meta)));
    }
    Ok(PathBuf::from(s))
}

/// `--base`: `debian` (or `debootstrap`), or an image reference (`[registry/]path[:tag][@digest]`)
/// whose package manager the lab can tell from its name.
pub fn base(s: &str) -> Result<String> {
    if matches!(s, "debian" | "debootstrap") {
        return Ok(s.to_string());
    }
    crate::image::dockerfile_word(s).map_err(|e| refused("--base", s, e.to_string()))?;
    reference::check(s).map_err(|why| refused("--base", s, why))?;
    if crate::image::Family::of_image(s).is_none() {
        return Err(refused(
            "--base",
            s,
            "cannot tell how to install packages in it: use `debian` (debootstrap, no registry), \
             a RHEL-compatible image (rockylinux:9, almalinux:9) or debian/ubuntu",
        ));
    }
    Ok(s.to_string())
}

/// `--configure-arg`: one word for `./configure`, which goes into the build layer's Dockerfile
/// (through [`crate::image::dockerfile_word`]: no line break or other control character).
pub fn configure_arg(s: &str) -> Result<String> {
    crate::image::dockerfile_word(s).map_err(|e| refused("--configure-arg", s, e.to_string()))?;
    Ok(s.to_string())
}

/// `--debian-mirror`: an http, https or file URL (see [`site_url`]).
pub fn debian_mirror(s: &str) -> Result<String> {
    site_url("--debian-mirror", s)
}

/// `--pg-source-site`: an http, https or file URL (see [`site_url`]).
pub fn pg_source_site(s: &str) -> Result<String> {
    site_url("--pg-source-site", s)
}

/// A site the lab appends paths to: an absolute http, https or file URL (the `url` crate's
/// parse), with a host for http and https, no whitespace or control characters, no query or
/// fragment (they would end up in the middle of every URL made from it).
pub fn site_url(flag: &'static str, s: &str) -> Result<String> {
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(refused(
            flag,
            s,
            format!("a URL holds no whitespace or control characters ({c:?})"),
        ));
    }
    let url = url::Url::parse(s).map_err(|e| {
        refused(
            flag,
            s,
            format!("not a URL ({e}): give one such as http://site.example.invalid/path"),
        )
    })?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => {}
        "http" | "https" => return Err(refused(flag, s, "the URL names no host")),
        "file" => {}
        other => {
            return Err(refused(
                flag,
                s,
                format!("the lab fetches over http, https or file, not {other}"),
            ))
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refused(
            flag,
            s,
            "the lab appends paths to this URL: leave out the query (?…) and fragment (#…)",
        ));
    }
    Ok(s.to_string())
}

/// `--debian-suite`: a plain suite name (bookworm, stable, trixie): lowercase letters, digits
/// and dashes, as Debian names its `dists/` directories.
pub fn debian_suite(s: &str) -> Result<String> {
    let plain = !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if plain {
        Ok(s.to_string())
    } else {
        Err(refused(
            "--debian-suite",
            s,
            "a suite is a plain name such as bookworm or stable (up to 64 lowercase letters, \
             digits and dashes)",
        ))
    }
}

/// `lab monitor --interval`: seconds from [`MIN_MONITOR_INTERVAL`] to
/// [`MAX_MONITOR_INTERVAL`] (0.1 to 3600), the bounds a drill's `[monitor]` has too.
pub fn interval(s: &str) -> Result<Duration> {
    let (min, max) = (
        MIN_MONITOR_INTERVAL.as_secs_f64(),
        MAX_MONITOR_INTERVAL.as_secs_f64(),
    );
    match s.parse::<f64>() {
        Ok(secs) if (min..=max).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(InputError::Interval(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_where_one_version_is_taken_says_so() {
        let message = version("9.3.5,15").unwrap_err().to_string();
        assert!(message.contains("one version here"), "{message}");
        assert_eq!(version("9.3.5").unwrap().to_string(), "9.3.5");
    }

    #[test]
    fn counts_are_refused_in_words_not_rust_ranges() {
        let jobs = within(1u16, 16);
        assert_eq!(jobs("4").unwrap(), 4);
        for bad in ["0", "17", "-1", "x", "", "99999999999"] {
            let message = jobs(bad).unwrap_err().to_string();
            assert!(
                message.ends_with("give a whole number from 1 to 16"),
                "{bad}: {message}"
            );
            assert!(!message.contains(".."), "{message}");
        }
    }

    #[test]
    fn subnets_must_be_private_and_roomy() {
        for ok in [
            "172.16.3.0/24",
            "10.1.2.0/24",
            "192.168.0.0/16",
            "172.16.200.0/24",
        ] {
            assert_eq!(subnet(ok), Ok(ok.to_string()));
        }
        for (bad, why) in [
            ("8.8.8.0/24", "not a private network"),
            ("127.0.0.0/24", "not a private network"),
            ("224.0.0.0/24", "not a private network"),
            ("172.32.0.0/24", "not a private network"),
            ("172.16.3.0/25", "prefix from /8 to /24"),
            ("172.16.3.0", "expected an IPv4 network"),
            ("fd00::/64", "expected an IPv4 network"),
        ] {
            let e = subnet(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn ports_leave_room_for_node2() {
        assert_eq!(publish("15432"), Ok(15432));
        assert_eq!(publish("65534"), Ok(65534));
        for bad in ["0", "65535", "65536", "-1", "x"] {
            assert!(
                publish(bad).unwrap_err().to_string().contains("1 to 65534"),
                "{bad}"
            );
        }
    }

    #[test]
    fn intervals_are_bounded() {
        assert_eq!(interval("10"), Ok(Duration::from_secs(10)));
        for bad in ["1e300", "1e-300", "0", "-1", "NaN", "inf", "x"] {
            assert!(
                interval(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("0.1 to 3600"),
                "{bad}"
            );
        }
    }

    #[test]
    fn tarballs_are_checked_by_name_and_magic() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("postgresql-9.3.5.tar.bz2");
        std::fs::write(&good, b"BZh91AY&SY").unwrap();
        let good = good.to_str().unwrap();
        assert_eq!(tarball(good), Ok(PathBuf::from(good)));
        let fake = dir.path().join("postgresql-9.3.5.tar.gz");
        std::fs::write(&fake, b"root:x:0:0").unwrap();
        assert!(tarball(fake.to_str().unwrap())
            .unwrap_err()
            .to_string()
            .contains("is named .tar.gz but is not gz data"));
        assert!(tarball("/etc/passwd")
            .unwrap_err()
            .to_string()
            .contains("is not a source tarball"));
        assert!(tarball("/nonexistent")
            .unwrap_err()
            .to_string()
            .contains("/nonexistent: No such file"));
        assert!(tarball(dir.path().to_str().unwrap())
            .unwrap_err()
            .to_string()
            .contains("is a directory, not a regular file"));
    }

    #[test]
    fn nodes_and_versions() {
        assert_eq!(node("node2"), Ok(NodeId::NODE2));
        assert!(node("node3")
            .unwrap_err()
            .to_string()
            .contains("node1 and node2"));
        assert!(version("9.3.99")
            .unwrap_err()
            .to_string()
            .contains("final release is 9.3.25"));
        assert!(version("8.4")
            .unwrap_err()
            .to_string()
            .contains("9.3 to 17"));
        assert!(version("abc")
            .unwrap_err()
            .to_string()
            .contains("not a PostgreSQL version"));
    }

    #[test]
    fn subnets_are_written_as_networks() {
        for (bad, why) in [
            ("010.0.0.0/24", "without leading zeros: 10.0.0.0/24"),
            (
                "172.16.3.1/24",
                "host bits are set: the network is 172.16.3.0/24",
            ),
        ] {
            let e = subnet(bad).map_err(|e| e.to_string());
            assert!(e.as_ref().is_err_and(|e| e.contains(why)), "{bad}: {e:?}");
        }
    }

    #[test]
    fn image_flags_are_words_the_dockerfile_and_the_engine_take() {
        assert_eq!(base("debian"), Ok("debian".into()));
        assert_eq!(base("rockylinux:9"), Ok("rockylinux:9".into()));
        for (bad, why) in [
            ("rockylinux:9\nRUN id", "control character ('\\n')"),
            ("Rockylinux:9", "not an image reference"),
            ("alpine:3", "cannot tell how to install packages"),
        ] {
            let e = base(bad).unwrap_err().to_string();
            assert!(e.starts_with("--base \"") && e.contains(why), "{bad}: {e}");
        }
        assert_eq!(configure_arg("CFLAGS=-O2 -g"), Ok("CFLAGS=-O2 -g".into()));
        let e = configure_arg("--with-x\r\nRUN id").unwrap_err().to_string();
        assert!(
            e.starts_with("--configure-arg \"--with-x\\r\\nRUN id\""),
            "{e}"
        );
    }

    #[test]
    fn sites_are_http_https_or_file_urls() {
        for ok in [
            "http://mirror.example.invalid/debian",
            "https://source.example.invalid/pub/source/",
            "file:///srv/mirror/debian",
        ] {
            assert_eq!(debian_mirror(ok), Ok(ok.to_string()));
            assert_eq!(pg_source_site(ok), Ok(ok.to_string()));
        }
        for (bad, why) in [
            ("ftp://mirror.example.invalid/", "not ftp"),
            ("mirror.example.invalid", "not a URL"),
            ("http://", "not a URL"),
            ("http://a.example.invalid/x y", "no whitespace"),
            ("http://a.example.invalid/\ndists", "control characters"),
            ("http://a.example.invalid/?a=b", "query"),
            ("http://a.example.invalid/#top", "fragment"),
        ] {
            let e = debian_mirror(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("--debian-mirror ") && e.contains(why),
                "{bad}: {e}"
            );
        }
        let e = pg_source_site("gopher://x.example.invalid")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--pg-source-site "), "{e}");
    }

    #[test]
    fn suites_are_plain_names() {
        for ok in ["bookworm", "stable", "bookworm-backports"] {
            assert_eq!(debian_suite(ok), Ok(ok.to_string()));
        }
        for bad in ["../../x", "", "Bookworm", "-x", "a/b", "bookworm\n"] {
            assert!(debian_suite(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_archive_is_a_regular_file() {
        let e = archive("/dev/zero").unwrap_err().to_string();
        assert_eq!(e, "/dev/zero is a character device, not a regular file");
        assert!(archive("/tmp")
            .unwrap_err()
            .to_string()
            .contains("a directory"));
        assert!(archive("/nonexistent")
            .unwrap_err()
            .to_string()
            .contains("No such file"));
    }
}
