//! Image references as the engine reads them (the distribution project's grammar):
//! `[domain[:port]/]path[:tag][@algorithm:hex]`, the path in lowercase components.

use std::sync::LazyLock;

use regex::Regex;

/// The longest name (domain and path) the engine takes.
const MAX_NAME: usize = 255;

/// `domain-component ('.' domain-component)* (':' port)?`
const DOMAIN: &str = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?";

/// A path component: lowercase alphanumerics, joined by `.`, `_`, `__` or dashes.
const COMPONENT: &str = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";

/// A tag: a word character, then up to 127 word characters, dots and dashes.
const TAG: &str = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";

/// A digest: an algorithm and at least 32 hex digits.
const DIGEST: &str = r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}";

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?P<name>(?:{DOMAIN}/)?{COMPONENT}(?:/{COMPONENT})*)(?::{TAG})?(?:@{DIGEST})?$"
    ))
    .expect("a valid regex")
});

/// Whether `s` is an image reference; the error says what is wrong with it.
pub fn check(s: &str) -> Result<(), String> {
    let Some(found) = REFERENCE.captures(s) else {
        return Err(
            "not an image reference: give [registry/]name[:tag][@digest] with a lowercase \
             name, such as rockylinux:9 or registry.example.invalid/almalinux:9"
                .into(),
        );
    };
    let name = found.name("name").map_or(0, |m| m.len());
    if name > MAX_NAME {
        return Err(format!(
            "the image name is {name} characters long: at most {MAX_NAME}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_the_engines_grammar() {
        for ok in [
            "rockylinux:9",
            "almalinux",
            "debian:bookworm-slim",
            "registry.example.invalid/almalinux/almalinux:9",
            "localhost:5000/rocky_linux:9.4",
            "registry.example.invalid:5000/centos/centos:stream9",
            &format!("ubuntu@sha256:{}", "ab".repeat(32)),
            &format!("ubuntu:24.04@sha256:{}", "ab".repeat(32)),
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "Rockylinux:9",
            "rockylinux:9\nRUN rm -rf /",
            "rocky linux",
            "rockylinux:",
            ":9",
            "rockylinux::9",
            "-rocky:9",
            "rocky//linux",
            "rockylinux:9@sha256:abc",
            "a/../b",
            &format!("{}:9", "a".repeat(300)),
            &format!("rocky:{}", "9".repeat(200)),
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
