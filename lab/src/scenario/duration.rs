//! Durations as DBAs write them in drill files: `500ms`, `10s`, `5m`, `1h`, `1m30s`.
//!
//! One or more `<digits><unit>` groups, units `h`, `m`, `s`, `ms`, each at most once and from
//! the largest down, no spaces and no fractions. The grammar is this strict so that a value
//! reads the same to everyone (`1.5m` or `90 s` are refused, not guessed at).

use std::time::Duration;

/// A duration written otherwise than the grammar says; its text is a drill file's diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad duration `{0}`: use forms like 500ms, 10s, 5m, 1h")]
pub struct BadDuration(pub String);

/// Why a WAL disk size is refused; its text is what a flag or a drill file's diagnostic shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSize {
    /// Not a number with an optional k, m or g.
    #[error("`{0}` is not a size: use forms like 256m or 1g")]
    NotASize(String),
    /// Over [`MAX_WAL_DISK_BYTES`].
    #[error("`{0}` is too large for a WAL disk: give at most {max}g (it is a tmpfs in memory)", max = MAX_WAL_DISK_BYTES >> 30)]
    TooLarge(String),
    /// Under 64 MiB.
    #[error("`{0}` is too small for a WAL disk: give at least 64m")]
    TooSmall(String),
}

/// Parses a duration.
pub fn parse_duration(text: &str) -> Result<Duration, BadDuration> {
    parse(text).ok_or_else(|| BadDuration(text.to_string()))
}

/// Parses the size of a WAL disk (`256m`, `1g`, `65536k`, bytes), at least 64 MiB.
pub fn parse_wal_disk_size(s: &str) -> Result<i64, BadSize> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.strip_suffix('g') {
        Some(n) => (n, 1 << 30),
        None => match s.strip_suffix('m') {
            Some(n) => (n, 1 << 20),
            None => (
                s.strip_suffix('k').unwrap_or(&s),
                if s.ends_with('k') { 1 << 10 } else { 1 },
            ),
        },
    };
    let n: i64 = num.parse().map_err(|_| BadSize::NotASize(s.clone()))?;
    let bytes = n
        .checked_mul(mult)
        .filter(|b| *b <= MAX_WAL_DISK_BYTES)
        .ok_or_else(|| BadSize::TooLarge(s.clone()))?;
    if bytes < 64 << 20 {
        return Err(BadSize::TooSmall(s));
    }
    Ok(bytes)
}

/// The largest WAL disk accepted: 1 TiB (a tmpfs that size is already a mistake; larger
/// numbers would overflow).
pub const MAX_WAL_DISK_BYTES: i64 = 1 << 40;

fn parse(text: &str) -> Option<Duration> {
    // Units from the largest down, with their length in milliseconds.
    const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    let mut rest = text;
    let mut total: u64 = 0;
    // Index into UNITS of the next unit allowed (each must be smaller than the previous).
    let mut next = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let at = UNITS[next..].iter().position(|(name, _)| *name == unit)? + next;
        total = total.checked_add(number.checked_mul(UNITS[at].1)?)?;
        next = at + 1;
    }
    Some(Duration::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        let ms = |text| parse_duration(text).map(|d| d.as_millis());
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("10s"), Ok(10_000));
        assert_eq!(ms("5m"), Ok(300_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
        assert_eq!(ms("1m30s"), Ok(90_000));
        assert_eq!(ms("1h2m3s4ms"), Ok(3_723_004));
        assert_eq!(ms("0s"), Ok(0));
    }

    #[test]
    fn wal_disk_sizes_never_overflow() {
        assert_eq!(parse_wal_disk_size("256m"), Ok(256 << 20));
        assert_eq!(parse_wal_disk_size("1024g"), Ok(1 << 40));
        for huge in ["8589934592g", "1025g", "9223372036854775807k"] {
            let e = parse_wal_disk_size(huge).unwrap_err().to_string();
            assert!(
                e.contains("too large for a WAL disk: give at most 1024g"),
                "{e}"
            );
        }
        assert_eq!(
            parse_wal_disk_size("99999999999999999999")
                .unwrap_err()
                .to_string(),
            "`99999999999999999999` is not a size: use forms like 256m or 1g"
        );
        assert_eq!(
            parse_wal_disk_size("-1g").unwrap_err(),
            BadSize::TooSmall("-1g".into())
        );
    }

    #[test]
    fn refuses_everything_else() {
        for text in [
            "",
            "10",
            "10 s",
            "s",
            "1.5m",
            "30s1m",
            "1s1s",
            "-1s",
            "10sec",
            "1d",
            " 1s",
            "99999999999999999999h",
        ] {
            assert_eq!(
                parse_duration(text).map_err(|e| e.to_string()),
                Err(format!(
                    "bad duration `{text}`: use forms like 500ms, 10s, 5m, 1h"
                )),
                "{text:?}"
            );
        }
    }
}
