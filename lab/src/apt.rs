//! Debian archives as the host's apt configuration names them.
//!
//! The lab never names a mirror of its own: the Debian root filesystem of the base image and the
//! upstream PostgreSQL tarballs that Debian carries both come from the mirrors this host already
//! uses (or from the mirror given with a flag). This module reads apt's one-line and deb822
//! source files, and parses the archive's signed index files. It does no network I/O itself.

use std::collections::BTreeMap;
use std::path::Path;

/// One `deb`/`deb-src` source: a mirror URI and the suites and components taken from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptSource {
    /// The mirror's base URI, without a trailing slash.
    pub uri: String,
    /// Suites (`bookworm`, `bookworm-updates`, …).
    pub suites: Vec<String>,
    /// Components (`main`, …).
    pub components: Vec<String>,
    /// The keyring named by `Signed-By`, if any.
    pub signed_by: Option<String>,
}

/// Reads the host's apt sources: `/etc/apt/sources.list`, and `*.list` and `*.sources` under
/// `/etc/apt/sources.list.d`. Unreadable or missing files are skipped.
pub fn host_sources(etc_apt: &Path) -> Vec<AptSource> {
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string(etc_apt.join("sources.list")) {
        out.extend(parse_one_line(&text));
    }
    let mut files: Vec<_> = std::fs::read_dir(etc_apt.join("sources.list.d"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match path.extension().and_then(|e| e.to_str()) {
            Some("list") => out.extend(parse_one_line(&text)),
            Some("sources") => out.extend(parse_deb822(&text)),
            _ => {}
        }
    }
    out
}

/// Parses the one-line format: `deb [options] URI suite component...`.
pub fn parse_one_line(text: &str) -> Vec<AptSource> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut rest = match line.split_once(char::is_whitespace) {
            Some(("deb" | "deb-src", rest)) => rest.trim(),
            _ => continue,
        };
        let mut signed_by = None;
        if let Some(opts) = rest.strip_prefix('[') {
            let Some((opts, after)) = opts.split_once(']') else {
                continue;
            };
            for opt in opts.split_whitespace() {
                if let Some(v) = opt.strip_prefix("signed-by=") {
                    signed_by = Some(v.to_string());
                }
            }
            rest = after.trim();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        push_merged(
            &mut out,
            AptSource {
                uri: uri.trim_end_matches('/').to_string(),
                suites: vec![suite.to_string()],
                components: words.map(str::to_string).collect(),
                signed_by,
            },
        );
    }
    out
}

/// Parses the deb822 format (`Types:`, `URIs:`, `Suites:`, `Components:`, `Enabled:`).
pub fn parse_deb822(text: &str) -> Vec<AptSource> {
    let mut out = Vec::new();
    for stanza in deb822_stanzas(text) {
        let field = |k: &str| stanza.get(k).map(String::as_str).unwrap_or("");
        if field("Enabled").eq_ignore_ascii_case("no") {
            continue;
        }
        if !field("Types")
            .split_whitespace()
            .any(|t| t == "deb" || t == "deb-src")
        {
            continue;
        }
        for uri in field("URIs").split_whitespace() {
            push_merged(
                &mut out,
                AptSource {
                    uri: uri.trim_end_matches('/').to_string(),
                    suites: field("Suites")
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                    components: field("Components")
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                    signed_by: stanza.get("Signed-By").cloned(),
                },
            );
        }
    }
    out
}

/// Merges a source into the list, so that a mirror named for `deb` and `deb-src` counts once.
fn push_merged(out: &mut Vec<AptSource>, src: AptSource) {
    if let Some(existing) = out.iter_mut().find(|s| s.uri == src.uri) {
        for suite in src.suites {
            if !existing.suites.contains(&suite) {
                existing.suites.push(suite);
            }
        }
        for comp in src.components {
            if !existing.components.contains(&comp) {
                existing.components.push(comp);
            }
        }
        if existing.signed_by.is_none() {
            existing.signed_by = src.signed_by;
        }
    } else {
        out.push(src);
    }
}

/// Splits deb822 text (apt sources, `Release`, `Sources` indices) into stanzas of fields.
/// Continuation lines (starting with a space) are kept, joined with `\n`; comments are dropped.
pub fn deb822_stanzas(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut stanzas = Vec::new();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    let mut last_key: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                stanzas.push(std::mem::take(&mut current));
            }
            last_key = None;
        } else if line.starts_with('#') {
            continue;
        } else if line.starts_with([' ', '\t']) {
            if let Some(value) = last_key.as_ref().and_then(|k| current.get_mut(k)) {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            current.insert(k.trim().to_string(), v.trim().to_string());
            last_key = Some(k.trim().to_string());
        }
    }
    if !current.is_empty() {
        stanzas.push(current);
    }
    stanzas
}

/// The SHA-256 and size that a `Release` file (or a `Sources` stanza's `Checksums-Sha256`) lists
/// for `name`.
pub fn sha256_entry(checksums: &str, name: &str) -> Option<(String, u64)> {
    checksums.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let (sum, size, file) = (words.next()?, words.next()?, words.next()?);
        (file == name).then(|| (sum.to_ascii_lowercase(), size.parse().unwrap_or(0)))
    })
}

/// Debian's release aliases, oldest first. Every mirror of the archive serves each under
/// `dists/`, so a mirror the host uses for one release also gives the older and newer ones (and
/// with them other PostgreSQL majors' orig tarballs: 13 in bullseye, 17 in trixie).
pub const RELEASE_ALIASES: &[&str] = &["oldoldstable", "oldstable", "stable", "testing"];

/// The suites to look in on a mirror, given the suites the host's apt sources take from it:
/// those, then, when one of them is a release (a codename, not `-updates` or `-security`), the
/// other releases the same mirror serves, by their aliases. Each is verified through its own
/// signed `InRelease`, as the host's are.
pub fn mirror_suites(host_suites: &[String]) -> Vec<String> {
    let mut out = host_suites.to_vec();
    if host_suites.iter().any(|s| !s.contains('-')) {
        for alias in RELEASE_ALIASES {
            if !out.iter().any(|s| s == alias) {
                out.push(alias.to_string());
            }
        }
    }
    out
}

/// The suite this host runs (`VERSION_CODENAME` of `/etc/os-release`), if it is Debian.
pub fn host_debian_suite(os_release: &str) -> Option<String> {
    let field = |k: &str| {
        os_release.lines().find_map(|l| {
            l.strip_prefix(k)
                .and_then(|r| r.strip_prefix('='))
                .map(|v| v.trim_matches('"').to_string())
        })
    };
    (field("ID").as_deref() == Some("debian"))
        .then(|| field("VERSION_CODENAME"))
        .flatten()
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_source_formats_and_merges_mirrors() {
        let one = "# comment\ndeb http://mirror.example/debian bookworm main contrib\n\
                   deb-src [signed-by=/k.gpg] http://mirror.example/debian/ bookworm-updates main\n\
                   deb cdrom:[x]/ bookworm main\n";
        let s = parse_one_line(one);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].uri, "http://mirror.example/debian");
        assert_eq!(s[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(s[0].components, ["main", "contrib"]);
        assert_eq!(s[0].signed_by.as_deref(), Some("/k.gpg"));

        let deb822 = "Types: deb\n# a comment\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\n\
                      Components: main\nSigned-By: /usr/share/keyrings/k.gpg\n\n\
                      Types: deb\nURIs: http://off.example/x\nSuites: y\nComponents: main\nEnabled: no\n";
        let s = parse_deb822(deb822);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(s[0].signed_by.as_deref(), Some("/usr/share/keyrings/k.gpg"));
    }

    #[test]
    fn finds_checksums_in_multiline_fields() {
        let release = "Origin: Debian\nSHA256:\n 0a 10 main/binary-amd64/Packages\n \
                       ABCD 9491888 main/source/Sources.xz\n";
        let st = &deb822_stanzas(release)[0];
        assert_eq!(
            sha256_entry(&st["SHA256"], "main/source/Sources.xz"),
            Some(("abcd".to_string(), 9491888))
        );
        assert_eq!(sha256_entry(&st["SHA256"], "main/source/Sources.gz"), None);
    }

    #[test]
    fn a_release_mirror_also_gives_the_other_releases() {
        let host = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            mirror_suites(&host(&["bookworm", "bookworm-updates"])),
            [
                "bookworm",
                "bookworm-updates",
                "oldoldstable",
                "oldstable",
                "stable",
                "testing"
            ]
        );
        // The security archive (or an updates-only line) serves point updates, not releases.
        assert_eq!(
            mirror_suites(&host(&["bookworm-security"])),
            ["bookworm-security"]
        );
        // An alias already named is not looked in twice.
        assert_eq!(
            mirror_suites(&host(&["stable"])),
            ["stable", "oldoldstable", "oldstable", "testing"]
        );
    }

    #[test]
    fn knows_the_host_suite_only_on_debian() {
        assert_eq!(
            host_debian_suite("ID=debian\nVERSION_CODENAME=bookworm\n").as_deref(),
            Some("bookworm")
        );
        assert_eq!(
            host_debian_suite("ID=ubuntu\nVERSION_CODENAME=noble\n"),
            None
        );
    }
}
