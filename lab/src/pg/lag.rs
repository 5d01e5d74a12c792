//! Replication lag as the lab shows it, in `lab status`, `lab monitor`, a drill's monitor and
//! its reports.
//!
//! The lab's figure is the **replay lag in bytes, read on the primary**: from
//! `pg_stat_replication`, the primary's current WAL position minus the position the standby
//! has replayed (`pg_xlog_location_diff(pg_current_xlog_location(), replay_location)` before
//! 10, `pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)` from 10). It is 0 on a standby that
//! has replayed everything, however long the primary stays idle; and it counts WAL the standby
//! has not even received, which a standby's own receive-minus-replay cannot see. The standby
//! reports its replay position every `wal_receiver_status_interval` (10 s by default) when idle,
//! so the figure can trail by that much. Without a primary that lists the standby (the primary
//! is down, or the standby is not connected) there is no figure.
//!
//! Beside it the lab keeps the seconds since the standby's last replayed commit
//! (`now() - pg_last_xact_replay_timestamp()`), the document's check, which grows on an idle
//! primary and so is shown as what it is, never as "the lag".

use std::fmt;

use super::Dialect;
use crate::node::NodeId;

/// One query for any node of the lab, answering one line: on a primary `primary` and, for each
/// standby in its `pg_stat_replication`, ` ADDRESS=BYTES` (`-` for no position yet); on a
/// standby `standby SECONDS` (seconds since its last replayed commit, `-` when none was).
/// Read it with [`parse_probe`].
pub fn probe_query(dialect: &Dialect) -> String {
    let replay = dialect.replication_position_columns()[3];
    format!(
        "SELECT CASE WHEN pg_is_in_recovery() \
         THEN 'standby ' || coalesce(extract(epoch from now() - {ts})::text, '-') \
         ELSE 'primary' || coalesce((SELECT string_agg(' ' || host(client_addr) || '=' || \
         coalesce({diff}({current}, {replay})::text, '-'), '') FROM pg_stat_replication), '') END",
        ts = dialect.replay_timestamp_function(),
        diff = dialect.position_diff_function(),
        current = dialect.current_wal_position_function(),
    )
}

/// What one node answered to [`probe_query`].
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// A primary: each standby it streams to, by address, with its replay lag in bytes.
    Primary(Vec<(String, Option<u64>)>),
    /// A standby: seconds since its last replayed commit.
    Standby(Option<f64>),
}

/// Reads a node's answer to [`probe_query`]; `None` for anything else.
pub fn parse_probe(text: &str) -> Option<Probe> {
    let mut words = text.split_whitespace();
    match words.next()? {
        "primary" => Some(Probe::Primary(
            words
                .map(|w| {
                    let (addr, bytes) = w.split_once('=')?;
                    Some((addr.to_string(), parse_bytes(bytes)))
                })
                .collect::<Option<_>>()?,
        )),
        "standby" => {
            let seconds = words.next()?;
            (words.next().is_none()).then(|| Probe::Standby(seconds.parse().ok()))
        }
        _ => None,
    }
}

/// A byte count as the server prints a `numeric` difference (`1234`; a fraction or a negative
/// value is not a count).
fn parse_bytes(text: &str) -> Option<u64> {
    text.parse().ok()
}

/// A standby's replay lag: bytes behind the primary and seconds since its last replayed commit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReplayLag {
    /// The primary's current WAL position minus the standby's replay position, as the primary's
    /// `pg_stat_replication` reports it; `None` when no primary lists the standby.
    pub bytes: Option<u64>,
    /// Seconds since the standby's last replayed commit; `None` before its first.
    pub seconds: Option<f64>,
}

/// Every standby's replay lag from the nodes' answers (node, address, answer): the seconds
/// from the standby's own answer, the bytes from the first primary listing its address.
pub fn replay_lags(answers: &[(NodeId, &str, Probe)]) -> Vec<(NodeId, ReplayLag)> {
    answers
        .iter()
        .filter_map(|(node, addr, probe)| match probe {
            Probe::Standby(seconds) => Some((
                *node,
                ReplayLag {
                    bytes: bytes_behind(answers.iter().map(|(_, _, p)| p), addr),
                    seconds: *seconds,
                },
            )),
            Probe::Primary(_) => None,
        })
        .collect()
}

/// The replay lag in bytes of the standby at `addr`, from the first primary among `answers`
/// that lists it.
pub fn bytes_behind<'a>(answers: impl IntoIterator<Item = &'a Probe>, addr: &str) -> Option<u64> {
    answers.into_iter().find_map(|probe| match probe {
        Probe::Primary(standbys) => standbys
            .iter()
            .find(|(a, _)| a == addr)
            .and_then(|(_, b)| *b),
        Probe::Standby(_) => None,
    })
}

/// Bytes for people, in binary units: `0 B`, `512 B`, `1.5 KiB`, `16.0 MiB`.
pub fn bytes_text(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

/// The lag's bytes for a table cell (empty when unknown).
pub fn bytes_cell(bytes: Option<u64>) -> String {
    bytes.map(bytes_text).unwrap_or_default()
}

impl fmt::Display for ReplayLag {
    /// `replay lag 1.5 KiB behind the primary (3.2 s since last replayed commit)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bytes {
            Some(b) => write!(f, "replay lag {} behind the primary", bytes_text(b))?,
            None => {
                f.write_str("replay lag unknown (no primary lists it in pg_stat_replication)")?
            }
        }
        match self.seconds {
            Some(s) => write!(f, " ({s:.1} s since last replayed commit)"),
            None => f.write_str(" (no commit replayed yet)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(version: &str) -> Dialect {
        let v: crate::version::PgVersion = version.parse().unwrap();
        Dialect::for_major(v.major)
    }

    #[test]
    fn the_probe_reads_the_bytes_on_the_primary_in_each_releases_words() {
        assert_eq!(
            probe_query(&dialect("9.3")),
            "SELECT CASE WHEN pg_is_in_recovery() \
             THEN 'standby ' || coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp())::text, '-') \
             ELSE 'primary' || coalesce((SELECT string_agg(' ' || host(client_addr) || '=' || \
             coalesce(pg_xlog_location_diff(pg_current_xlog_location(), replay_location)::text, '-'), '') \
             FROM pg_stat_replication), '') END"
        );
        assert_eq!(
            probe_query(&dialect("15")),
            "SELECT CASE WHEN pg_is_in_recovery() \
             THEN 'standby ' || coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp())::text, '-') \
             ELSE 'primary' || coalesce((SELECT string_agg(' ' || host(client_addr) || '=' || \
             coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text, '-'), '') \
             FROM pg_stat_replication), '') END"
        );
        // 9.6 still says location, 10 lsn.
        assert!(probe_query(&dialect("9.6")).contains("replay_location"));
        assert!(probe_query(&dialect("10"))
            .contains("pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)"));
    }

    #[test]
    fn answers_parse_and_anything_else_does_not() {
        assert_eq!(
            parse_probe("primary 172.16.3.102=0 172.16.3.103=-"),
            Some(Probe::Primary(vec![
                ("172.16.3.102".into(), Some(0)),
                ("172.16.3.103".into(), None)
            ]))
        );
        assert_eq!(parse_probe("primary"), Some(Probe::Primary(vec![])));
        assert_eq!(
            parse_probe("standby 3.254130"),
            Some(Probe::Standby(Some(3.25413)))
        );
        assert_eq!(parse_probe("standby -"), Some(Probe::Standby(None)));
        assert_eq!(
            parse_probe("primary 172.16.3.102=-16"),
            Some(Probe::Primary(vec![("172.16.3.102".into(), None)]))
        );
        for bad in ["", "0.25", "standby", "standby 1 2", "primary 172.16.3.102"] {
            assert_eq!(parse_probe(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn each_standby_gets_its_seconds_and_the_bytes_its_primary_reports() {
        let (n1, n2, n3) = (NodeId::NODE1, NodeId::NODE2, "node3".parse().unwrap());
        let answers = [
            (
                n1,
                "172.16.3.101",
                Probe::Primary(vec![("172.16.3.102".into(), Some(8192))]),
            ),
            (n2, "172.16.3.102", Probe::Standby(Some(1.5))),
            (n3, "172.16.3.103", Probe::Standby(None)),
        ];
        assert_eq!(
            replay_lags(&answers),
            [
                (
                    n2,
                    ReplayLag {
                        bytes: Some(8192),
                        seconds: Some(1.5)
                    }
                ),
                (
                    n3,
                    ReplayLag {
                        bytes: None,
                        seconds: None
                    }
                )
            ]
        );
    }

    #[test]
    fn lag_reads_in_bytes_first_with_the_seconds_beside() {
        assert_eq!(bytes_text(0), "0 B");
        assert_eq!(bytes_text(1023), "1023 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(16 << 20), "16.0 MiB");
        assert_eq!(bytes_cell(None), "");
        assert_eq!(
            ReplayLag {
                bytes: Some(0),
                seconds: Some(0.04)
            }
            .to_string(),
            "replay lag 0 B behind the primary (0.0 s since last replayed commit)"
        );
        assert_eq!(
            ReplayLag {
                bytes: None,
                seconds: None
            }
            .to_string(),
            "replay lag unknown (no primary lists it in pg_stat_replication) (no commit replayed yet)"
        );
    }
}
