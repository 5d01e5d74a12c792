//! PostgreSQL version numbers as the user types them and as releases are named.
//!
//! Before 10 a major version has two parts (`9.3`) and a release three (`9.3.25`); from 10 on a
//! major has one part (`15`) and a release two (`15.18`). A version without its last part means
//! "the newest release of that major that can be had".

use std::fmt;
use std::str::FromStr;

/// A major version: `9.3` is `Major { first: 9, second: 3 }`, `15` is `Major { first: 15, second: 0 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Major {
    /// The first number.
    pub first: u32,
    /// The second number, part of the major only before 10 (always 0 from 10 on).
    pub second: u32,
}

impl Major {
    /// Whether this major names releases with three numbers (before 10).
    pub fn is_legacy(self) -> bool {
        self.first < 10
    }
}

impl fmt::Display for Major {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_legacy() {
            write!(f, "{}.{}", self.first, self.second)
        } else {
            write!(f, "{}", self.first)
        }
    }
}

/// A version as asked for: a major, and the minor release if one was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgVersion {
    /// The major version.
    pub major: Major,
    /// The minor release (`25` in `9.3.25`, `18` in `15.18`); `None` for "the newest".
    pub minor: Option<u32>,
}

impl PgVersion {
    /// The exact release `major.minor`.
    pub fn exact(major: Major, minor: u32) -> Self {
        PgVersion {
            major,
            minor: Some(minor),
        }
    }

    /// Whether a minor release is named.
    pub fn is_exact(&self) -> bool {
        self.minor.is_some()
    }

    /// Whether `release` (an exact version) satisfies this request.
    pub fn matches(&self, release: &PgVersion) -> bool {
        self.major == release.major && (self.minor.is_none() || self.minor == release.minor)
    }
}

impl fmt::Display for PgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.major)?;
        if let Some(minor) = self.minor {
            write!(f, ".{minor}")?;
        }
        Ok(())
    }
}

/// Why a version string was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a PostgreSQL version: {reason} (examples: 9.3.25, 9.3, 15.18, 15)")]
pub struct VersionParseError {
    input: String,
    reason: &'static str,
}

impl FromStr for PgVersion {
    type Err = VersionParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| VersionParseError {
            input: input.to_string(),
            reason,
        };
        let parts = input
            .trim()
            .split('.')
            .map(|p| {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 4 {
                    Err(err("each part must be a number"))
                } else {
                    Ok(p.parse::<u32>().expect("checked digits"))
                }
            })
            .collect::<Result<Vec<u32>, _>>()?;
        match parts.as_slice() {
            [first, ..] if *first < 6 => Err(err("versions before 6 are not supported")),
            [first, second] if *first < 10 => Ok(PgVersion {
                major: Major {
                    first: *first,
                    second: *second,
                },
                minor: None,
            }),
            [first, second, minor] if *first < 10 => Ok(PgVersion::exact(
                Major {
                    first: *first,
                    second: *second,
                },
                *minor,
            )),
            [first] if *first < 10 => Err(err("before 10 a major version has two parts")),
            [first] => Ok(PgVersion {
                major: Major {
                    first: *first,
                    second: 0,
                },
                minor: None,
            }),
            [first, minor] => Ok(PgVersion::exact(
                Major {
                    first: *first,
                    second: 0,
                },
                *minor,
            )),
            _ => Err(err("too many parts")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, display: &str, exact: bool) {
        let v: PgVersion = input.parse().unwrap();
        assert_eq!(v.to_string(), display);
        assert_eq!(v.is_exact(), exact);
    }

    #[test]
    fn parses_both_numbering_schemes() {
        check("9.3.25", "9.3.25", true);
        check("9.3", "9.3", false);
        check("15", "15", false);
        check("15.18", "15.18", true);
        check(" 17.2 ", "17.2", true);
    }

    #[test]
    fn rejects_nonsense_with_the_reason() {
        for (input, reason) in [
            ("9", "before 10 a major version has two parts"),
            ("15.1.2", "too many parts"),
            ("abc", "each part must be a number"),
            ("15.", "each part must be a number"),
            ("5.1", "versions before 6 are not supported"),
        ] {
            let e = input.parse::<PgVersion>().unwrap_err();
            assert!(e.to_string().contains(reason), "{input}: {e}");
            assert!(e.to_string().contains(input.trim()), "{input}: {e}");
        }
    }

    #[test]
    fn majors_order_across_the_scheme_change() {
        let v93: PgVersion = "9.3".parse().unwrap();
        let v15: PgVersion = "15".parse().unwrap();
        assert!(v93.major < v15.major);
        assert!(v93.matches(&"9.3.25".parse().unwrap()));
        assert!(!v93.matches(&"9.4.1".parse().unwrap()));
        let exact: PgVersion = "15.18".parse().unwrap();
        assert!(exact.matches(&"15.18".parse().unwrap()));
        assert!(!exact.matches(&"15.20".parse().unwrap()));
    }
}
