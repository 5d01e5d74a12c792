//! The readiness monitor: pg_isready on every node at once, each round, and the replay lag of
//! every accepting standby: bytes behind the primary (from the primary's `pg_stat_replication`
//! in the same round) and seconds since its last replayed commit (see [`crate::pg::lag`]).

use crate::node::NodeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{LabOps, Sink, PROBE_TIMEOUT};
use crate::drill::event::Event;
use crate::pg::lag::{self, Probe};
use crate::plan::User;

/// One reading: node, pg_isready code, when (drill seconds).
type Reading = (NodeId, u8, f64);

/// The monitor's history of readings, shared with its task. It talks to the lab only through
/// [`LabOps`] (`run` for pg_isready, `sql` for the lag).
#[derive(Clone, Default)]
pub(super) struct Monitor {
    history: Arc<Mutex<Vec<Reading>>>,
    /// Until when it samples at its fast interval (set by [`Monitor::hurry`]).
    fast_until: Arc<Mutex<Option<Instant>>>,
    /// Wakes a monitor sleeping its slow interval when [`Monitor::hurry`] is called.
    woken: Arc<tokio::sync::Notify>,
}

/// How often the monitor samples: every `interval`, and every `fast` (when given) for a while
/// after [`Monitor::hurry`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Pace {
    pub interval: Duration,
    pub fast: Option<Duration>,
}

impl Monitor {
    /// How many readings were taken so far (a mark's monitor position).
    pub(super) fn len(&self) -> usize {
        self.history.lock().expect("not poisoned").len()
    }

    /// Samples at the fast interval (if there is one) for `watch` from now: a fault was just
    /// injected, and the state it causes may last only about a second.
    pub(super) fn hurry(&self, watch: Duration) {
        *self.fast_until.lock().expect("not poisoned") = Some(Instant::now() + watch);
        self.woken.notify_one();
    }

    /// How long to wait before the next round.
    fn next_wait(&self, pace: Pace) -> Duration {
        let fast_until = *self.fast_until.lock().expect("not poisoned");
        match (pace.fast, fast_until) {
            (Some(fast), Some(until)) if Instant::now() < until => fast,
            _ => pace.interval,
        }
    }

    /// `node`'s codes from reading `from` on, with repeats collapsed (0 0 1 1 2 → 0 1 2).
    pub(super) fn seen(&self, from: usize, node: NodeId) -> Vec<u8> {
        let history = self.history.lock().expect("not poisoned");
        collapsed(&history[from.min(history.len())..], node)
    }

    /// Starts the monitor: every `pace.interval` (or `pace.fast` after [`Monitor::hurry`]), pg_isready from each node (name, address) to itself
    /// over TCP (code 2 when the node cannot even run it), all nodes at once. Changes become
    /// events. Every node that accepts connections is asked `lag_sql` ([`lag::probe_query`]);
    /// each standby that answers reports, as an [`Event::Lag`] on every round, the seconds
    /// since its last replayed commit and the bytes the primary that lists it in
    /// `pg_stat_replication` says it is behind.
    ///
    /// A reading is dated when the probe ends, when the monitor knows. An exec into a container
    /// killed while the probe runs can hang: such a probe gives up after [`PROBE_TIMEOUT`] and
    /// reads 2, and it does not hold up the other nodes' probes.
    pub(super) fn start<L: LabOps>(
        &self,
        lab: Arc<L>,
        sink: Sink,
        targets: Vec<(NodeId, String)>,
        lag_sql: String,
        pace: Pace,
    ) -> tokio::task::JoinHandle<()> {
        let monitor = self.clone();
        let history = self.history.clone();
        tokio::spawn(async move {
            let mut last: HashMap<NodeId, u8> = HashMap::new();
            loop {
                let probes = targets
                    .iter()
                    .map(|(node, addr)| probe(&*lab, &sink, *node, addr, &lag_sql));
                let round = futures_util::future::join_all(probes).await;
                for &((node, code, at), _) in &round {
                    history.lock().expect("not poisoned").push((node, code, at));
                    if last.get(&node) != Some(&code) {
                        last.insert(node, code);
                        sink.emit(Event::Readiness { node, code, at });
                    }
                }
                emit_lag(&sink, &targets, &round);
                let wait = monitor.next_wait(pace);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = monitor.woken.notified() => {}
                }
            }
        })
    }
}

/// One node's reading, and its answer to the lag probe (with when it came) when it accepts
/// connections.
async fn probe<L: LabOps>(
    lab: &L,
    sink: &Sink,
    node: NodeId,
    addr: &str,
    lag_sql: &str,
) -> (Reading, Option<(Probe, f64)>) {
    let cmd = crate::pg::isready_command(addr);
    let code = match lab
        .run(node, User::Postgres, &cmd, &HashMap::new(), PROBE_TIMEOUT)
        .await
    {
        Ok(out) => out.stdout.trim().parse().unwrap_or(2),
        Err(_) => 2,
    };
    let at = sink.at();
    let mut answer = None;
    if code == 0 {
        let lag = tokio::time::timeout(PROBE_TIMEOUT, lab.sql(node, "postgres", lag_sql)).await;
        if let Ok(Ok(Some(text))) = lag {
            answer = lag::parse_probe(&text).map(|p| (p, sink.at()));
        }
    }
    ((node, code, at), answer)
}

/// The round's [`Event::Lag`]s: each standby that told its seconds, with the bytes a primary
/// of the same round reported for its address, dated when the standby answered.
fn emit_lag(sink: &Sink, targets: &[(NodeId, String)], round: &[(Reading, Option<(Probe, f64)>)]) {
    let answered: Vec<(NodeId, &str, Probe, f64)> = targets
        .iter()
        .zip(round)
        .filter_map(|((node, addr), (_, answer))| {
            let (probe, at) = answer.clone()?;
            Some((*node, addr.as_str(), probe, at))
        })
        .collect();
    for (node, addr, probe, at) in &answered {
        if let Probe::Standby(Some(seconds)) = probe {
            sink.emit(Event::Lag {
                node: *node,
                seconds: *seconds,
                bytes: lag::bytes_behind(answered.iter().map(|a| &a.2), addr),
                at: *at,
            });
        }
    }
}

/// A node's readiness codes with repeats collapsed (0 0 1 1 2 → 0 1 2).
fn collapsed(history: &[Reading], node: NodeId) -> Vec<u8> {
    let mut seen: Vec<u8> = Vec::new();
    for (n, code, _) in history {
        if *n == node && seen.last() != Some(code) {
            seen.push(*code);
        }
    }
    seen
}

/// Whether `want` appears in order (not necessarily adjacent) in `seen`.
pub(super) fn is_subsequence(want: &[u8], seen: &[u8]) -> bool {
    let mut it = seen.iter();
    want.iter().all(|w| it.any(|s| s == w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_samples_fast_only_after_a_hurry_and_only_when_it_has_a_fast_pace() {
        let pace = Pace {
            interval: Duration::from_secs(1),
            fast: Some(Duration::from_millis(100)),
        };
        let slow_only = Pace { fast: None, ..pace };
        let m = Monitor::default();
        assert_eq!(m.next_wait(pace), Duration::from_secs(1));
        m.hurry(Duration::from_secs(30));
        assert_eq!(m.next_wait(pace), Duration::from_millis(100));
        assert_eq!(m.next_wait(slow_only), Duration::from_secs(1));
        m.hurry(Duration::ZERO);
        assert_eq!(m.next_wait(pace), Duration::from_secs(1));
    }
}
