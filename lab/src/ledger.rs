//! The ledger: measuring what a failover loses (RPO).
//!
//! Beside pgbench, a [`Writer`] commits numbered rows into [`TABLE`], one row per autocommit
//! transaction, with ids 1, 2, 3… in order, and records every attempt as an [`Op`]: when it was
//! sent, when (and whether) the client heard back, and what it heard. After a failover the rows
//! present on the promoted node are read back ([`present_ids`]) and compared with the recorded
//! [`History`] by [`account`], a pure function:
//!
//! - an **acknowledged** row that is absent is **lost**: the data a client was told was safe and
//!   that the failover threw away. `rpo_rows` counts them; `rpo_seconds` is the time window they
//!   span (defined on [`Accounting::rpo_seconds`]).
//! - a row that is present but whose attempt was never acknowledged (an error, or the connection
//!   broke before the answer) is **unacked present**: the commit happened, the client never knew.
//!   Not a loss, but an application that retried would have written it twice.
//! - an id present more than once is **duplicated** (the table has no primary key on purpose).
//! - an id present that the history never attempted is **unknown** (a stray writer, or a ledger
//!   that was not reset); reported apart from the unacked rows, because no client ever sent it.
//!
//! What the client saw is classified conservatively ([`OpOutcome`]): a server `ERROR` aborts the
//! implicit transaction, so the row was definitely not committed ([`OpOutcome::Failed`]);
//! anything else (the connection closed or broke, a `FATAL` or `PANIC`, or the writer gave up
//! waiting) leaves the commit **indeterminate**: PostgreSQL writes the commit record before it
//! answers (and, in synchronous mode, before it waits for the standby), so the row may exist.
//!
//! The writer runs as one tokio task. It never retries an id: every attempt consumes a new one,
//! so the history maps ids to attempts one to one. On any failure it drops the connection, and
//! reconnects every [`RETRY`] to its target, which [`Writer::retarget`] moves (after a failover,
//! to the promoted node); a commit still waiting when the target moves or the writer stops is
//! abandoned as indeterminate. Connection attempts that fail are recorded apart
//! ([`History::connect_failures`]): no id was sent, so they are not ops. Its first successful
//! connection creates the table and empties it, so a ledger always starts at id 1 with no rows.
//!
//! The bookkeeping of the loop (ids, pacing, counters, classification) is pure and tested here;
//! the network part needs a live server and is exercised by the drills.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::error::Severity;

use crate::node::NodeId;
use crate::sql;

/// The ledger table.
pub const TABLE: &str = "lab_ledger";

/// How long the writer waits between two connection attempts, and after a failed write.
pub const RETRY: Duration = Duration::from_millis(500);

/// How long one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Creates the ledger table if missing. No primary key, so duplicated ids can be seen; plain
/// types only, so it works from PostgreSQL 9.3 on.
pub fn create_table_sql() -> &'static str {
    "CREATE TABLE IF NOT EXISTS lab_ledger (id bigint NOT NULL, written_at timestamptz NOT NULL DEFAULT now())"
}

/// Empties the ledger table (run once, on the writer's first connection).
pub fn reset_sql() -> &'static str {
    "TRUNCATE lab_ledger"
}

/// The ids present in the ledger table, one row each (duplicates included).
pub fn present_ids_sql() -> &'static str {
    "SELECT id FROM lab_ledger ORDER BY id"
}

/// The statement that writes row `id`.
pub fn insert_sql(id: i64) -> String {
    format!("INSERT INTO lab_ledger(id) VALUES ({id})")
}

/// The ids present, as one comma-separated value (for a lab that answers one value per query).
pub fn present_ids_list_sql() -> &'static str {
    "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM lab_ledger"
}

/// A row of the ledger table that is not what the writer writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A row without an id.
    #[error("lab_ledger: a row without an id")]
    Missing,
    /// An id that is not a number.
    #[error("lab_ledger: id `{0}`: not a number")]
    NotANumber(String),
}

/// The ids of the rows of [`present_ids_sql`].
pub fn parse_ids(rows: &[sql::Row]) -> Result<Vec<i64>, IdError> {
    rows.iter()
        .map(|row| {
            let value = sql::get(row, "id").ok_or(IdError::Missing)?;
            value
                .parse()
                .map_err(|_| IdError::NotANumber(value.to_string()))
        })
        .collect()
}

/// The ids of [`present_ids_list_sql`]'s value (empty for none).
pub fn parse_id_list(list: &str) -> Result<Vec<i64>, IdError> {
    list.split(',')
        .filter(|i| !i.is_empty())
        .map(|i| i.parse().map_err(|_| IdError::NotANumber(i.to_string())))
        .collect()
}

/// A statement (or connection) that did not succeed, as the ledger classifies it ([`classify`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StatementError {
    /// The server's non-localized severity (`ERROR`, `FATAL`, `PANIC`) when it answered with
    /// an error; `None` when no answer came (the connection failed or broke).
    pub severity: Option<String>,
    /// What happened.
    pub message: String,
}

impl StatementError {
    /// No answer from the server: the connection could not be made, or broke.
    pub fn no_answer(message: impl Into<String>) -> Self {
        StatementError {
            severity: None,
            message: message.into(),
        }
    }

    /// A tokio-postgres error. PostgreSQL before 9.6 sends only the localized severity, taken
    /// at face value (the lab's servers speak English).
    pub fn of_postgres(e: &tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => {
                let severity = match db.parsed_severity() {
                    Some(Severity::Error) => "ERROR",
                    Some(Severity::Fatal) => "FATAL",
                    Some(Severity::Panic) => "PANIC",
                    Some(_) => "",
                    None => db.severity(),
                };
                StatementError {
                    severity: Some(severity.to_string()),
                    message: format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
                }
            }
            None => StatementError::no_answer(e.to_string()),
        }
    }
}

/// Where the writer's statements go: a target (a lab's node), sessions on it, and
/// statements in a session. The runner passes its lab interface, so a scripted fake lab can
/// answer the writer as it answers every other step.
pub trait Connector: Send + Sync + 'static {
    /// An open session (a connection).
    type Session: Send + Sync + 'static;

    /// Opens a session on `target`'s database `db`, giving up after `timeout`.
    fn connect(
        &self,
        target: NodeId,
        db: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<Self::Session, StatementError>> + Send;

    /// Runs one statement (autocommit) in `session`.
    fn execute(
        &self,
        session: &Self::Session,
        sql: &str,
    ) -> impl Future<Output = Result<(), StatementError>> + Send;
}

/// What the client heard back from one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpOutcome {
    /// The commit was acknowledged: the row must survive.
    Acked,
    /// The server answered with an `ERROR`: the implicit transaction aborted, nothing committed.
    Failed {
        /// The error.
        error: String,
    },
    /// No definite answer (the connection broke, a `FATAL`/`PANIC`, or the writer stopped
    /// waiting): the row may or may not have been committed.
    Indeterminate {
        /// What happened.
        error: String,
    },
}

impl OpOutcome {
    /// Whether the commit was acknowledged.
    pub fn acked(&self) -> bool {
        matches!(self, OpOutcome::Acked)
    }
}

/// One attempt, as the client saw it. Times are seconds since the ledger started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Op {
    /// The row's id (unique within a history).
    pub id: i64,
    /// When the INSERT was sent.
    pub invoked: f64,
    /// When the answer (acknowledgement or error) arrived; `None` when the writer gave up
    /// waiting (it was stopped, or its target moved).
    pub completed: Option<f64>,
    /// What the client heard.
    #[serde(flatten)]
    pub outcome: OpOutcome,
}

/// A connection attempt (connect, create and reset the table) that failed; no id was sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectFailure {
    /// Seconds since the ledger started.
    pub at: f64,
    /// The node tried.
    pub addr: NodeId,
    /// The error.
    pub error: String,
}

/// Everything a writer did, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct History {
    /// The attempts, in id order (which is also time order: one attempt at a time).
    pub ops: Vec<Op>,
    /// Failed connection attempts.
    pub connect_failures: Vec<ConnectFailure>,
    /// When the ledger started, in seconds since the Unix epoch.
    pub started_at_unix: f64,
    /// When the writer stopped, in seconds since the ledger started.
    pub ended: f64,
}

/// The verdict: a history compared with the ids present on a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accounting {
    /// Attempts made (distinct ids).
    pub attempted: usize,
    /// Attempts acknowledged.
    pub acked: usize,
    /// Distinct ids present on the node.
    pub present: usize,
    /// Acknowledged ids absent from the node, ascending: the data lost.
    pub lost: Vec<i64>,
    /// Ids present whose attempt was not acknowledged (failed or indeterminate), ascending.
    pub unacked_present: Vec<i64>,
    /// Ids present that no attempt of the history wrote, ascending.
    pub unknown: Vec<i64>,
    /// Ids present more than once, ascending, each listed once.
    pub duplicated: Vec<i64>,
    /// Acknowledged rows lost (`lost.len()`).
    pub rpo_rows: usize,
    /// The window of acknowledged writes lost, in seconds: for each lost row, the time of its
    /// acknowledgement minus the time of the newest acknowledgement before it whose row survived
    /// (or minus the ledger's start, 0, when none did); the largest such window; 0 when nothing
    /// is lost. When the losses are a tail (what a failover does), this is the time of the last
    /// acknowledged row minus the time of the newest acknowledged row that survived.
    pub rpo_seconds: f64,
    /// When the last acknowledgement arrived, whether or not its row survived.
    pub last_ack_at: Option<f64>,
    /// When writes resumed after the [`longest_gap`]: its end, if an acknowledgement ended it
    /// (`None` when there was no gap, or the writer stopped before writes resumed).
    pub first_write_after_gap: Option<f64>,
}

impl Accounting {
    /// Whether every acknowledged row survived exactly once and nothing unexplained appeared.
    pub fn lossless(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.unknown.is_empty()
    }
}

/// Compares a history with the ids present on a node (in any order, duplicates included).
///
/// An id attempted more than once (never the case for a [`Writer`]'s history) counts as
/// acknowledged if any of its attempts was.
pub fn account(history: &History, present_ids: &[i64]) -> Accounting {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for &id in present_ids {
        *counts.entry(id).or_default() += 1;
    }
    let mut attempts: HashMap<i64, bool> = HashMap::new();
    for op in &history.ops {
        *attempts.entry(op.id).or_default() |= op.outcome.acked();
    }

    let mut lost: Vec<i64> = attempts
        .iter()
        .filter(|&(id, &acked)| acked && !counts.contains_key(id))
        .map(|(&id, _)| id)
        .collect();
    lost.sort_unstable();
    let mut unacked_present = Vec::new();
    let mut unknown = Vec::new();
    let mut duplicated = Vec::new();
    for (&id, &n) in &counts {
        match attempts.get(&id) {
            Some(true) => {}
            Some(false) => unacked_present.push(id),
            None => unknown.push(id),
        }
        if n > 1 {
            duplicated.push(id);
        }
    }

    let acks = ack_times(history);
    let mut rpo_seconds: f64 = 0.0;
    let mut survived_at = 0.0;
    for &(at, id) in &acks {
        if counts.contains_key(&id) {
            survived_at = at;
        } else {
            rpo_seconds = rpo_seconds.max(at - survived_at);
        }
    }

    Accounting {
        attempted: attempts.len(),
        acked: attempts.values().filter(|&&acked| acked).count(),
        present: counts.len(),
        rpo_rows: lost.len(),
        lost,
        unacked_present,
        unknown,
        duplicated,
        rpo_seconds,
        last_ack_at: acks.last().map(|&(at, _)| at),
        first_write_after_gap: first_write_after_outage(history),
    }
}

/// The acknowledged ops as (time of the acknowledgement, id), in time order.
fn ack_times(history: &History) -> Vec<(f64, i64)> {
    let mut acks: Vec<(f64, i64)> = history
        .ops
        .iter()
        .filter(|op| op.outcome.acked())
        .map(|op| (op.completed.unwrap_or(op.invoked), op.id))
        .collect();
    acks.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    acks
}

/// The write gap: the longest interval without an acknowledgement, as (start, end) in seconds
/// since the ledger started — the stall while a synchronous standby is away, or the outage
/// during a failover.
///
/// Intervals run between consecutive acknowledgements, and from the last one to the end of the
/// history (a stall the writer never got out of). The first longest wins. `None` without any
/// acknowledgement.
pub fn longest_gap(history: &History) -> Option<(f64, f64)> {
    widest_gap(history).map(|(start, end, _)| (start, end))
}

/// The first acknowledged write after the outage (the [`longest_gap`]): the gap's end when an
/// acknowledgement ended it; `None` when writes never resumed (the longest gap runs to the end
/// of the history) or nothing was acknowledged.
pub fn first_write_after_outage(history: &History) -> Option<f64> {
    widest_gap(history).and_then(|(_, end, resumed)| resumed.then_some(end))
}

/// [`longest_gap`], and whether an acknowledgement ended it.
fn widest_gap(history: &History) -> Option<(f64, f64, bool)> {
    let acks = ack_times(history);
    let mut best: Option<(f64, f64, bool)> = None;
    let mut consider = |start: f64, end: f64, resumed: bool| {
        if best.is_none_or(|(s, e, _)| end - start > e - s) {
            best = Some((start, end, resumed));
        }
    };
    for pair in acks.windows(2) {
        consider(pair[0].0, pair[1].0, true);
    }
    let &(last, _) = acks.last()?;
    consider(last, history.ended.max(last), false);
    best
}

/// What an error on an INSERT means for its row; `severity` is the server's non-localized
/// severity when it sent an error (`None` when the connection failed, or the severity is
/// unknown).
pub fn classify(severity: Option<&str>, error: String) -> OpOutcome {
    match severity {
        Some("ERROR") => OpOutcome::Failed { error },
        _ => OpOutcome::Indeterminate { error },
    }
}

/// [`classify`] for a statement's error.
fn outcome_of(e: StatementError) -> OpOutcome {
    classify(e.severity.as_deref(), e.message)
}

/// When the next attempt is due, at `rate` attempts per second: one interval after the previous
/// one, but never in the past (after a stall the writer does not burst to catch up).
pub fn next_due(previous: Option<f64>, now: f64, rate: f64) -> f64 {
    match previous {
        Some(p) if rate > 0.0 => (p + 1.0 / rate).max(now),
        _ => now,
    }
}

/// The writer's progress so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Rows acknowledged.
    pub acked: u64,
    /// Attempts that failed or whose outcome is unknown.
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    acked: AtomicU64,
    failed: AtomicU64,
}

/// An attempt under way.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pending {
    id: i64,
    invoked: f64,
}

/// The loop's bookkeeping: ids, the history, the counters.
struct Book {
    history: History,
    next_id: i64,
    counters: Arc<Counters>,
}

impl Book {
    fn new(started_at_unix: f64, counters: Arc<Counters>) -> Book {
        Book {
            history: History {
                started_at_unix,
                ..History::default()
            },
            next_id: 1,
            counters,
        }
    }

    /// Whether no attempt was made yet.
    fn fresh(&self) -> bool {
        self.next_id == 1
    }

    /// Starts the next attempt.
    fn begin(&mut self, at: f64) -> Pending {
        let id = self.next_id;
        self.next_id += 1;
        Pending { id, invoked: at }
    }

    /// Records how an attempt ended.
    fn finish(&mut self, pending: Pending, completed: Option<f64>, outcome: OpOutcome) {
        let counter = match outcome {
            OpOutcome::Acked => &self.counters.acked,
            _ => &self.counters.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.history.ops.push(Op {
            id: pending.id,
            invoked: pending.invoked,
            completed,
            outcome,
        });
    }

    fn connect_failed(&mut self, at: f64, addr: NodeId, error: String) {
        self.history
            .connect_failures
            .push(ConnectFailure { at, addr, error });
    }

    fn close(mut self, ended: f64) -> History {
        self.history.ended = ended;
        self.history
    }
}

/// What the writer's owner tells the loop.
#[derive(Debug, Clone, PartialEq)]
struct Control {
    target: NodeId,
    stop: bool,
}

/// Reads a running writer's progress; see [`Writer::progress_handle`].
#[derive(Clone)]
pub struct ProgressHandle(Arc<Counters>);

impl ProgressHandle {
    /// Acknowledged and failed writes so far.
    pub fn progress(&self) -> Progress {
        Progress {
            acked: self.0.acked.load(Ordering::Relaxed),
            failed: self.0.failed.load(Ordering::Relaxed),
        }
    }
}

/// The ledger writer: a background task committing numbered rows (see the module docs).
pub struct Writer {
    control: watch::Sender<Control>,
    counters: Arc<Counters>,
    task: JoinHandle<History>,
}

impl Writer {
    /// Starts writing to `target` (database `db`) through `connector`, as fast as possible or
    /// at `rate` rows per second.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start<C: Connector>(
        connector: Arc<C>,
        target: NodeId,
        db: String,
        rate: Option<f64>,
    ) -> Writer {
        let (control, rx) = watch::channel(Control {
            target,
            stop: false,
        });
        let counters = Arc::new(Counters::default());
        let book = Book::new(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            counters.clone(),
        );
        let task = tokio::spawn(run(connector, rx, book, db, rate));
        Writer {
            control,
            counters,
            task,
        }
    }

    /// Points the writer at another node. A commit waiting on the old one is abandoned
    /// (indeterminate) and the writer reconnects at once. Retargeting to the current target
    /// does nothing.
    pub fn retarget(&self, target: NodeId) {
        self.control.send_if_modified(|c| {
            let moved = c.target != target;
            if moved {
                c.target = target;
            }
            moved
        });
    }

    /// Rows acknowledged and attempts failed so far.
    /// A handle that reads the progress while the writer runs (for sampling from another task).
    pub fn progress_handle(&self) -> ProgressHandle {
        ProgressHandle(self.counters.clone())
    }

    /// Acknowledged and failed writes so far.
    pub fn progress(&self) -> Progress {
        Progress {
            acked: self.counters.acked.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    /// Stops the writer and returns its history. A commit still waiting is recorded as
    /// indeterminate.
    pub async fn stop(self) -> History {
        self.control.send_modify(|c| c.stop = true);
        match self.task.await {
            Ok(history) => history,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => History::default(),
        }
    }
}

/// Whether the owner asked the loop to stop (or went away).
fn stopping(rx: &watch::Receiver<Control>) -> bool {
    rx.borrow().stop || rx.has_changed().is_err()
}

/// Connects to `target` and prepares the table (emptying it on the first connection).
async fn setup<C: Connector>(
    connector: &C,
    target: NodeId,
    db: &str,
    reset: bool,
) -> Result<C::Session, StatementError> {
    let session = connector.connect(target, db, CONNECT_TIMEOUT).await?;
    connector.execute(&session, create_table_sql()).await?;
    if reset {
        connector.execute(&session, reset_sql()).await?;
    }
    Ok(session)
}

/// The writer's loop. One loop of a state machine (connect, pace, write), kept whole so each
/// `select!` sees every way the owner can interrupt it.
async fn run<C: Connector>(
    connector: Arc<C>,
    mut rx: watch::Receiver<Control>,
    mut book: Book,
    db: String,
    rate: Option<f64>,
) -> History {
    let started = Instant::now();
    let now = || started.elapsed().as_secs_f64();
    let mut client: Option<C::Session> = None;
    let mut reset = true;
    let mut backoff = false;
    let mut due: Option<f64> = None;
    loop {
        if stopping(&rx) {
            break;
        }
        let Some(conn) = client.as_ref() else {
            if backoff {
                tokio::select! {
                    _ = rx.changed() => {}
                    _ = tokio::time::sleep(RETRY) => {}
                }
                backoff = false;
                continue;
            }
            let addr = rx.borrow_and_update().target;
            tokio::select! {
                _ = rx.changed() => {}
                r = setup(&*connector, addr, &db, reset && book.fresh()) => match r {
                    Ok(c) => {
                        client = Some(c);
                        reset = false;
                    }
                    Err(e) => {
                        book.connect_failed(now(), addr, e.message);
                        backoff = true;
                    }
                },
            }
            continue;
        };
        if let Some(rate) = rate {
            let at = next_due(due, now(), rate);
            due = Some(at);
            let wait = Duration::from_secs_f64((at - now()).max(0.0));
            tokio::select! {
                _ = rx.changed() => {
                    // Stopped, or moved: either way, start over before sending anything.
                    client = None;
                    continue;
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let pending = book.begin(now());
        let statement = insert_sql(pending.id);
        tokio::select! {
            _ = rx.changed() => {
                let why = if stopping(&rx) {
                    "the writer stopped while waiting for the acknowledgement".to_string()
                } else {
                    format!("abandoned: the target moved to {}", rx.borrow().target)
                };
                book.finish(pending, None, OpOutcome::Indeterminate { error: why });
                client = None;
            }
            r = connector.execute(conn, &statement) => {
                let outcome = match r {
                    Ok(()) => OpOutcome::Acked,
                    Err(e) => outcome_of(e),
                };
                if !outcome.acked() {
                    client = None;
                    backoff = true;
                }
                book.finish(pending, Some(now()), outcome);
            }
        }
    }
    book.close(now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked(id: i64, invoked: f64, completed: f64) -> Op {
        Op {
            id,
            invoked,
            completed: Some(completed),
            outcome: OpOutcome::Acked,
        }
    }

    fn failed(id: i64, at: f64) -> Op {
        Op {
            id,
            invoked: at,
            completed: Some(at + 0.01),
            outcome: OpOutcome::Failed {
                error: "ERROR: cannot execute INSERT in a read-only transaction".into(),
            },
        }
    }

    fn indeterminate(id: i64, at: f64) -> Op {
        Op {
            id,
            invoked: at,
            completed: None,
            outcome: OpOutcome::Indeterminate {
                error: "connection closed".into(),
            },
        }
    }

    fn history(ops: Vec<Op>, ended: f64) -> History {
        History {
            ops,
            connect_failures: Vec::new(),
            started_at_unix: 1_700_000_000.0,
            ended,
        }
    }

    /// Ids 1..=n acknowledged at 1.0, 2.0, … n.
    fn steady(n: i64) -> Vec<Op> {
        (1..=n)
            .map(|i| acked(i, i as f64 - 0.5, i as f64))
            .collect()
    }

    #[test]
    fn nothing_lost() {
        let h = history(steady(5), 5.5);
        let a = account(&h, &[1, 2, 3, 4, 5]);
        assert_eq!(
            a,
            Accounting {
                attempted: 5,
                acked: 5,
                present: 5,
                lost: vec![],
                unacked_present: vec![],
                unknown: vec![],
                duplicated: vec![],
                rpo_rows: 0,
                rpo_seconds: 0.0,
                last_ack_at: Some(5.0),
                first_write_after_gap: Some(2.0),
            }
        );
        assert!(a.lossless());
    }

    #[test]
    fn a_lost_tail_gives_exact_rpo() {
        // Acked at 1.0 … 5.0, then at 5.25 and 6.75; everything after 3 is gone.
        let mut ops = steady(5);
        ops.push(acked(6, 5.1, 5.25));
        ops.push(acked(7, 6.5, 6.75));
        let h = history(ops, 7.0);
        let a = account(&h, &[3, 1, 2]);
        assert_eq!(a.lost, vec![4, 5, 6, 7]);
        assert_eq!(a.rpo_rows, 4);
        assert_eq!(a.rpo_seconds, 6.75 - 3.0);
        assert_eq!(a.last_ack_at, Some(6.75));
        assert_eq!(a.present, 3);
        assert!(!a.lossless());
    }

    #[test]
    fn rpo_counts_from_the_start_when_nothing_survived() {
        let h = history(steady(3), 3.0);
        let a = account(&h, &[]);
        assert_eq!(a.lost, vec![1, 2, 3]);
        assert_eq!(a.rpo_seconds, 3.0);
    }

    #[test]
    fn a_hole_is_a_loss_too() {
        // 2 is missing although 3 survived: the window is from 1's ack to 2's.
        let h = history(steady(3), 3.0);
        let a = account(&h, &[1, 3]);
        assert_eq!(a.lost, vec![2]);
        assert_eq!(a.rpo_rows, 1);
        assert_eq!(a.rpo_seconds, 1.0);
    }

    #[test]
    fn unacknowledged_rows_present_are_reported_absent_ones_are_fine() {
        let ops = vec![
            acked(1, 0.0, 0.1),
            failed(2, 0.2),
            indeterminate(3, 0.4),
            indeterminate(4, 0.6),
            failed(5, 0.8),
            acked(6, 3.0, 3.1),
        ];
        let h = history(ops, 4.0);
        // 3 committed but its answer was lost; 5 failed yet is there; 2 and 4 never committed.
        let a = account(&h, &[1, 3, 5, 6]);
        assert_eq!(a.attempted, 6);
        assert_eq!(a.acked, 2);
        assert_eq!(a.unacked_present, vec![3, 5]);
        assert!(a.lost.is_empty());
        assert_eq!(a.rpo_seconds, 0.0);
        assert!(a.lossless());
        assert_eq!(a.first_write_after_gap, Some(3.1));
    }

    #[test]
    fn duplicates_and_unknown_ids() {
        let h = history(steady(3), 3.0);
        let a = account(&h, &[1, 2, 2, 3, 3, 3, 42]);
        assert_eq!(a.duplicated, vec![2, 3]);
        assert_eq!(a.unknown, vec![42]);
        assert_eq!(a.present, 4);
        assert!(a.lost.is_empty());
        assert!(!a.lossless());
    }

    #[test]
    fn empty_history() {
        let h = history(vec![], 0.0);
        let a = account(&h, &[]);
        assert_eq!(a.attempted, 0);
        assert_eq!(a.acked, 0);
        assert_eq!(a.rpo_seconds, 0.0);
        assert_eq!(a.last_ack_at, None);
        assert_eq!(a.first_write_after_gap, None);
        assert!(a.lossless());
        assert_eq!(longest_gap(&h), None);
        // Rows from elsewhere are unknown, not unacked.
        assert_eq!(account(&h, &[7]).unknown, vec![7]);
    }

    #[test]
    fn repeated_attempts_of_an_id_count_as_acked_if_one_was() {
        let h = history(vec![failed(1, 0.0), acked(1, 0.5, 0.6)], 1.0);
        let a = account(&h, &[]);
        assert_eq!(a.attempted, 1);
        assert_eq!(a.acked, 1);
        assert_eq!(a.lost, vec![1]);
    }

    #[test]
    fn the_longest_gap_is_the_outage() {
        let ops = vec![
            acked(1, 0.0, 0.5),
            acked(2, 0.5, 1.0),
            indeterminate(3, 1.0),
            acked(4, 4.0, 4.5),
            acked(5, 4.5, 5.0),
        ];
        let h = history(ops, 5.5);
        assert_eq!(longest_gap(&h), Some((1.0, 4.5)));
        assert_eq!(account(&h, &[1, 2, 4, 5]).first_write_after_gap, Some(4.5));
    }

    #[test]
    fn a_stall_until_the_end_is_a_gap_without_resumption() {
        let h = history(steady(2), 10.0);
        assert_eq!(longest_gap(&h), Some((2.0, 10.0)));
        assert_eq!(account(&h, &[1, 2]).first_write_after_gap, None);
        // A single acknowledgement at the very end: a zero gap, writes never resumed.
        let h = history(vec![acked(1, 0.0, 1.0)], 1.0);
        assert_eq!(longest_gap(&h), Some((1.0, 1.0)));
    }

    #[test]
    fn errors_are_failed_only_when_the_server_said_error() {
        assert_eq!(
            classify(Some("ERROR"), "read-only".into()),
            OpOutcome::Failed {
                error: "read-only".into()
            }
        );
        for severity in [Some("FATAL"), Some("PANIC"), Some("FEHLER"), None] {
            assert!(matches!(
                classify(severity, "x".into()),
                OpOutcome::Indeterminate { .. }
            ));
        }
    }

    #[test]
    fn pacing_never_bursts() {
        assert_eq!(next_due(None, 3.0, 10.0), 3.0);
        assert_eq!(next_due(Some(3.0), 3.0, 4.0), 3.25);
        // Behind schedule after a stall: go now, do not catch up.
        assert_eq!(next_due(Some(3.0), 9.0, 4.0), 9.0);
        assert_eq!(next_due(Some(3.0), 3.1, 0.0), 3.1);
    }

    #[test]
    fn the_book_numbers_attempts_and_counts_outcomes() {
        let counters = Arc::new(Counters::default());
        let mut book = Book::new(1_700_000_000.0, counters.clone());
        assert!(book.fresh());
        let p = book.begin(0.1);
        assert!(!book.fresh());
        book.finish(p, Some(0.2), OpOutcome::Acked);
        book.connect_failed(0.3, NodeId::NODE2, "no answer".into());
        let p = book.begin(0.4);
        book.finish(
            p,
            None,
            OpOutcome::Indeterminate {
                error: "stopped".into(),
            },
        );
        assert_eq!(counters.acked.load(Ordering::Relaxed), 1);
        assert_eq!(counters.failed.load(Ordering::Relaxed), 1);
        let h = book.close(0.5);
        assert_eq!(h.ops.iter().map(|o| o.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(h.ops[1].invoked, 0.4);
        assert_eq!(h.connect_failures.len(), 1);
        assert_eq!(h.ended, 0.5);
        assert_eq!(h.started_at_unix, 1_700_000_000.0);
    }

    #[test]
    fn ids_are_parsed_from_rows() {
        let row = |v: &str| vec![("id".to_string(), Some(v.to_string()))];
        assert_eq!(
            parse_ids(&[row("1"), row("2"), row("2")]),
            Ok(vec![1, 2, 2])
        );
        assert_eq!(parse_id_list("1,2,2"), Ok(vec![1, 2, 2]));
        assert_eq!(parse_id_list(""), Ok(vec![]));
        assert_eq!(
            parse_id_list("1,x"),
            Err(IdError::NotANumber("x".to_string()))
        );
        assert!(parse_ids(&[row("x")]).is_err());
        assert!(parse_ids(&[vec![("id".to_string(), None)]]).is_err());
        assert_eq!(insert_sql(7), "INSERT INTO lab_ledger(id) VALUES (7)");
        assert!(create_table_sql().contains(TABLE));
        assert!(present_ids_sql().contains(TABLE));
    }

    #[test]
    fn ops_serialize_flat() {
        let json = serde_json::to_value(failed(2, 1.0)).unwrap();
        assert_eq!(json["outcome"], "failed");
        assert_eq!(json["id"], 2);
        assert!(json["error"].as_str().unwrap().contains("read-only"));
        let json = serde_json::to_value(acked(1, 0.0, 0.5)).unwrap();
        assert_eq!(json["outcome"], "acked");
        assert!(json.get("error").is_none());
    }
}
