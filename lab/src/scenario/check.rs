//! The walk from a spanned TOML document to a [`Drill`], collecting every error on the way.
//!
//! This is stage one of reading a drill (stage two is the typed [`Drill`] itself). It walks
//! `toml::de::DeTable` by hand instead of deriving `Deserialize`: serde stops at the first
//! error, and `flatten`/`untagged` (which the step format would need) replace precise messages
//! with "data did not match any variant". Walking by hand lets every check say where it is
//! (`file:line:col` of the key or value), what was found and what would have been valid.
//!
//! How errors are kept from cascading: every check reports and returns `None`, its callers
//! evaluate all their parts before combining them (so one bad key does not hide the next), and
//! names a step defines (captures, marks) are registered even when the step has errors, so a
//! later use is not reported a second time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::time::Duration;

use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

mod actions;
mod expand;
mod steps;

pub use expand::BUILTIN_PROCEDURES;
pub(super) use expand::{builtin_procedures, PROCEDURE_KEYS, USE_KEYS};

use super::model::*;
use super::roles::{At, Roles};
use super::sources::Sources;
use super::spec::{common_keys, is_step_key, ActionSpec, KeySpec, KindSpec, On, Shape, Type};
use super::spec::{CLIENTS, MAX_LOST, MONITOR_CODES, WAIT_KEYS, WAIT_READY};
use super::{parse_duration, Diagnostic, Part, Template, MAX_FILE_BYTES};
use crate::node::NodeId;
use crate::pg::DATA_DIR;
use crate::plan::User;

type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;
/// A name and where it is written.
type Named = (String, Range<usize>);

/// The top-level keys, in the order messages list them.
pub(super) const TOP_KEYS: &[&str] = &[
    "name",
    "title",
    "proves",
    "source",
    "monitor",
    "lab",
    "profiles",
    "procedures",
    "steps",
];

/// The database `sql` and `wait.sql` use unless `db` says otherwise.
const DEFAULT_DB: &str = "postgres";

/// The keys of a drill's `[lab]` table.
pub(crate) const LAB_KEYS: &[&str] = &["wal_disk_size", "settings", "data_checksums"];

/// The lab's disks: every path a drill names must be under one of them.
const DISK_ROOTS: &[&str] = &["/disk1/", "/disk2/", "/disk3/", "/disk4/"];

/// At most this many diagnostics are shown for a file; the rest are counted.
pub(super) const MAX_DIAGNOSTICS: usize = 50;

/// At most this many characters of a message, the procedure trail included.
const MAX_MESSAGE_CHARS: usize = 600;

/// At most this many bytes of diagnostics are shown for a file (whatever their number).
pub(super) const MAX_DIAGNOSTIC_BYTES: usize = 60 << 10;

/// At most this many profiles: each path is checked again with each profile's values.
const MAX_PROFILES: usize = 64;

/// The compiled size one pattern may have (the runner's regexes allow 10 MiB; a drill's log
/// patterns need a few KiB).
const REGEX_SIZE_LIMIT: usize = 256 << 10;

/// The longest pattern text: parsing costs memory by the character, and a log line's pattern
/// is a line or two.
const MAX_PATTERN_BYTES: usize = 4 << 10;

/// The compiled size all of a file's patterns may have together: compiling is what costs time.
const REGEX_FILE_BUDGET: usize = 16 << 20;

/// Why a pattern that parses is refused: what `bad regex `…` in `key`: …` goes on to say.
#[derive(Debug, thiserror::Error)]
enum RegexProblem {
    /// Over [`REGEX_SIZE_LIMIT`] alone.
    #[error(
        "it compiles to more than {} KiB (a counted repetition of a Unicode class such as \\w{{40}} \
         is large: try [a-z0-9_]{{40}} or (?-u:\\w){{40}})",
        REGEX_SIZE_LIMIT >> 10
    )]
    TooBig,
    /// The file's patterns together over [`REGEX_FILE_BUDGET`].
    #[error(
        "the file's patterns together compile to more than {} MiB: use fewer or simpler ones",
        REGEX_FILE_BUDGET >> 20
    )]
    OverBudget,
    /// Longer than [`MAX_PATTERN_BYTES`].
    #[error("it is {0} bytes long: a pattern may have at most {MAX_PATTERN_BYTES}")]
    TooLong(usize),
    /// What the regex compiler says.
    #[error("{0}")]
    Other(String),
}

/// At most this many valid names are listed where a name is unknown, closest first.
const MAX_CANDIDATES: usize = 5;

/// At most this many characters of a value are quoted back in a message.
const MAX_QUOTED_CHARS: usize = 80;

/// `value` as quoted back in a message: cut to [`MAX_QUOTED_CHARS`].
fn quoted(value: &str) -> String {
    crate::text::shorten(value, MAX_QUOTED_CHARS)
}

/// Up to [`MAX_CANDIDATES`] of `candidates`, the closest to `name` first, and how many more
/// there are: `a, b, c (and 12 more)`.
fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    let name: String = name.chars().take(MAX_QUOTED_CHARS).collect();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&name, c), c))
        .collect();
    let total = scored.len();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let shown: Vec<&str> = scored
        .iter()
        .take(MAX_CANDIDATES)
        .map(|(_, c)| *c)
        .collect();
    match total.saturating_sub(MAX_CANDIDATES) {
        0 => list(&shown),
        more => format!("{} (and {more} more)", list(&shown)),
    }
}

/// Reads and checks a drill file.
pub(super) fn check(file: &str, text: &str) -> Result<Drill, Vec<Diagnostic>> {
    let mut cx = Checker::new(file, text);
    if text.len() > MAX_FILE_BYTES {
        cx.err(0..0, super::too_big(text.len() as u64));
        return Err(cx.notes.diags);
    }
    if let Some(at) = too_many_nodes(text) {
        cx.err(
            at..at,
            format!(
                "the file has more than {MAX_TOML_NODES} tables, arrays, keys and items by here: a \
                 drill has a few hundred"
            ),
        );
        return Err(cx.notes.diags);
    }
    // Only the first syntax error: the parser can recover and go on, but what it reports after
    // a missing `]` or `"` is mostly the same mistake seen again.
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let key = text.get(span.clone()).unwrap_or_default().trim();
            let message = if e.message().trim() == "duplicate key" && !key.is_empty() {
                format!(
                    "invalid TOML: duplicate key `{}`: a key is set once per table",
                    quoted(key)
                )
            } else {
                format!("invalid TOML: {}", e.message())
            };
            cx.err(span, message);
            return Err(cx.notes.diags);
        }
    };
    let drill = cx.drill(root.get_ref());
    match drill {
        Some(drill) if cx.notes.diags.is_empty() => Ok(drill),
        _ => {
            if cx.notes.diags.is_empty() {
                cx.err(
                    0..0,
                    "internal error: the drill was refused without a reason",
                );
            }
            Err(cx.finish())
        }
    }
}

/// At most this many `[`, `{`, `.`, `=` and `,` outside strings and comments (each a table, an
/// array, a dotted key's part, a key or an array's item): the parsed TOML tree costs up to 0.6 KiB for each, so that a
/// 1 MiB file of empty tables or dotted keys would take 150 MB. A drill of 1 MiB of steps has
/// about 130,000.
const MAX_TOML_NODES: usize = 140_000;

/// Where the text goes over [`MAX_TOML_NODES`], if it does: counted byte by byte, before it is
/// parsed, skipping strings and comments.
fn too_many_nodes(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            q @ (b'"' | b'\'') => {
                let triple = b[i..].starts_with(&[q, q, q]);
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    let end = if triple {
                        b[i..].starts_with(&[q, q, q])
                    } else {
                        b[i] == q || b[i] == b'\n'
                    };
                    if end {
                        break;
                    }
                    // An escaped character in a basic string.
                    i += if q == b'"' && b[i] == b'\\' { 2 } else { 1 };
                }
                i += if triple { 3 } else { 1 };
                continue;
            }
            b'[' | b'{' | b'.' | b'=' | b',' => {
                n += 1;
                if n > MAX_TOML_NODES {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A table's entries in file order (the parsed map is sorted by key).
fn entries<'t, 'i>(table: &'t DeTable<'i>) -> Vec<(&'t Key<'i>, &'t Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn get<'t, 'i>(entries: &[(&'t Key<'i>, &'t Value<'i>)], key: &str) -> Option<&'t Value<'i>> {
    entries
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| *v)
}

fn key_span(entries: &[(&Key<'_>, &Value<'_>)], key: &str) -> Option<Range<usize>> {
    entries
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(k, _)| k.span())
}

/// `a, b, c`.
fn list(items: &[&str]) -> String {
    items.join(", ")
}

/// `a, b or c`.
fn or_list(items: &[&str]) -> String {
    joined(items, "or")
}

/// `a, b and c`.
fn and_list(items: &[&str]) -> String {
    joined(items, "and")
}

/// `a, b WORD c`.
fn joined(items: &[&str], word: &str) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} {word} {last}", rest.join(", ")),
    }
}

/// "a `run` step", "an `action` step".
fn a_step(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e']) {
        "an"
    } else {
        "a"
    };
    format!("{article} `{kind}` step")
}

/// "a string", "an integer"…, for "must be X, not Y" messages.
fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// A value's TOML type, as [`Type::shapes`] names them (`None`: a float or a datetime, which
/// no key takes).
fn shape(value: &DeValue<'_>) -> Option<Shape> {
    match value {
        DeValue::String(_) => Some(Shape::String),
        DeValue::Integer(_) => Some(Shape::Integer),
        DeValue::Boolean(_) => Some(Shape::Boolean),
        DeValue::Array(_) => Some(Shape::Array),
        DeValue::Table(_) => Some(Shape::Table),
        DeValue::Float(_) | DeValue::Datetime(_) => None,
    }
}

/// The longest drill or procedure name: run directories and a suite's logs
/// (`<drill>@<release>.log`) are named after it, and file systems take 255 bytes a name.
const MAX_NAME: usize = 200;

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_variable(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

const NAME_RULE: &str = "use lowercase letters, digits and - (at most 200)";
const ID_RULE: &str = "use lowercase letters, digits, _ and -";
const VARIABLE_RULE: &str = "use lowercase letters, digits and _, not starting with a digit";

/// `template` with each variable replaced by `value(name)`, or by `\0` (an opaque piece)
/// where it has none.
fn substituted<'v>(template: &Template, value: impl Fn(&str) -> Option<&'v str>) -> String {
    template
        .parts
        .iter()
        .map(|p| match p {
            Part::Lit(text) => text.as_str(),
            Part::Var(name) => value(name).unwrap_or("\0"),
        })
        .collect()
}

/// The value of `${profile.KEY}` in a profile's `values`; `None` for other variables.
fn from_profile<'a>(values: &'a BTreeMap<String, String>) -> impl Fn(&str) -> Option<&'a str> {
    move |name| {
        name.strip_prefix("profile.")
            .and_then(|k| values.get(k))
            .map(String::as_str)
    }
}

/// What is wrong with `path` (variables as `\0`) as a path for `key`, shown as `shown`.
pub(super) fn path_problem(key: &str, shown: &str, path: &str, spare_only: bool) -> Option<String> {
    let roots = if spare_only {
        &DISK_ROOTS[3..]
    } else {
        DISK_ROOTS
    };
    // Paths end up in shell commands run as root: only plain path characters.
    let unsafe_char = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._-\0".contains(*c)));
    let literal_prefix = path.split('\0').next().unwrap_or_default();
    if let Some(c) = unsafe_char {
        Some(format!(
            "path `{shown}` for `{key}` contains `{c}`: paths may hold only letters, digits, \
             `.`, `_`, `-`, `/` and ${{variables}}"
        ))
    } else if path.split('/').any(|c| c == "..") {
        Some(format!(
            "path `{shown}` for `{key}` has a `..` component: paths must stay under {}",
            or_list(DISK_ROOTS)
        ))
    } else if !roots.iter().any(|r| literal_prefix.starts_with(r)) {
        Some(if spare_only {
            format!(
                "path `{shown}` for `{key}` is not on the spare disk: move_aside puts things \
                 under /disk4/"
            )
        } else {
            format!(
                "path `{shown}` for `{key}` is outside the lab's disks: use an absolute path \
                 under {}",
                or_list(DISK_ROOTS)
            )
        })
    } else {
        None
    }
}

struct Checker<'a> {
    /// The drill file and the built-in procedure files it uses, in one offset space.
    sources: Sources<'a>,
    /// The procedures the step being checked comes from (outermost first).
    origin: Vec<expand::Origin>,
    /// 1-based number of the step being checked.
    step_no: usize,
    /// Who is primary and who follows it, as the steps so far leave them.
    roles: Roles,
    /// The last step's `when` and the roles before it: a next step whose `when` is its exact
    /// opposite is its alternative (one of the two runs), checked against the same roles.
    alternative: Option<(Vec<When>, Roles)>,
    /// Each profile's values, by profile and key, for checks of what they make of a value.
    profile_values: BTreeMap<String, BTreeMap<String, String>>,
    /// What procedures have expanded to so far (see [`expand::Budget`]).
    budget: expand::Budget,
    /// The names the steps define and use: variables, captures, marks, ids, measures.
    scope: Scope,
    /// The diagnostics so far, in order, within their bounds.
    notes: Notes,
    /// The patterns compiled so far, within the file's budget.
    regexes: RegexBudget,
}

/// The names a drill defines as its steps go, for "used before it is defined" and "defined
/// twice" checks.
struct Scope {
    /// Variables defined at this point, in the order messages list them.
    defined: Vec<String>,
    /// Every capture in the file and the (first) step that makes it, for "used before its
    /// capture" messages.
    captures: BTreeMap<String, usize>,
    /// The same, for lookups.
    defined_set: HashSet<String>,
    /// The captures made by a procedure's steps: a later use of a procedure (the same one used
    /// twice) may capture them again, and the steps after it see the new value.
    procedure_captures: HashSet<String>,
    /// Marks set so far and the step setting each.
    marks: Vec<(String, usize)>,
    /// The same, for lookups: each mark and the (first) step setting it.
    mark_set: HashMap<String, usize>,
    /// Every mark in the file and the (first) step setting it.
    all_marks: BTreeMap<String, usize>,
    /// Ids seen so far and the step using each.
    ids: BTreeMap<String, usize>,
    /// Each `measure` name and the step measuring it.
    measures: HashMap<String, usize>,
}

/// The diagnostics of a file, kept within [`MAX_DIAGNOSTICS`] and [`MAX_DIAGNOSTIC_BYTES`].
#[derive(Default)]
struct Notes {
    diags: Vec<Diagnostic>,
    /// Where each diagnostic sorts: its offset, or that of the outermost use it comes from.
    order: Vec<usize>,
    /// Bytes of the diagnostics kept so far.
    shown_bytes: usize,
    /// Diagnostics past [`MAX_DIAGNOSTICS`]: how many, and where the first was.
    suppressed: usize,
    first_suppressed: usize,
    /// Where the values of the step being checked whose type was found wrong start (see
    /// [`Checker::typed`]): their readers do not say it again.
    mistyped: HashSet<usize>,
}

/// The patterns a file compiles, within [`REGEX_FILE_BUDGET`].
#[derive(Default)]
struct RegexBudget {
    /// Patterns compiled so far, and their compiled size in bytes.
    regexes_seen: HashSet<String>,
    regex_spent: usize,
}

impl<'a> Checker<'a> {
    fn new(file: &'a str, src: &'a str) -> Self {
        Checker {
            sources: Sources::new(file, src),
            origin: Vec::new(),
            step_no: 0,
            roles: Roles::default(),
            alternative: None,
            profile_values: BTreeMap::new(),
            budget: expand::Budget::for_file(src.len()),
            scope: Scope {
                defined: BUILTIN_VARIABLES.iter().map(|s| s.to_string()).collect(),
                defined_set: BUILTIN_VARIABLES.iter().map(|s| s.to_string()).collect(),
                procedure_captures: HashSet::new(),
                captures: BTreeMap::new(),
                marks: Vec::new(),
                mark_set: HashMap::new(),
                all_marks: BTreeMap::new(),
                ids: BTreeMap::new(),
                measures: HashMap::new(),
            },
            notes: Notes::default(),
            regexes: RegexBudget::default(),
        }
    }

    /// The source text of a span (empty if it is none).
    fn source_text(&self, span: Range<usize>) -> &'a str {
        self.sources.text(span).unwrap_or_default()
    }

    /// Makes `${name}` usable from here on.
    fn define(&mut self, name: String) {
        self.scope.defined_set.insert(name.clone());
        self.scope.defined.push(name);
    }

    /// Whether diagnostics are no longer shown: work spent on a message's details is wasted.
    fn flooded(&self) -> bool {
        self.notes.diags.len() >= MAX_DIAGNOSTICS || self.notes.shown_bytes >= MAX_DIAGNOSTIC_BYTES
    }

    /// Reports a problem at `span`. One inside a built-in procedure is placed at the
    /// (outermost) use of it in the drill file, which is on disk; the message says where in
    /// the procedure. The message is cut to [`MAX_MESSAGE_CHARS`] with its procedure trail.
    fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        if self.flooded() {
            if self.notes.suppressed == 0 {
                self.notes.first_suppressed = span.start;
            }
            self.notes.suppressed += 1;
            return;
        }
        let mut message = message.into();
        let mut at = span.start;
        if let (false, Some(outermost)) = (self.sources.in_drill(at), self.origin.first()) {
            message.push_str(&format!(" (at {})", self.sources.place(at)));
            at = outermost.used_at();
        }
        message.push_str(&self.origin_note());
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
            message.truncate(cut);
            message.push('…');
        }
        let (file, line, col) = self.sources.locate(at);
        self.notes
            .order
            .push(self.origin.first().map_or(at, |o| o.used_at()));
        let diagnostic = Diagnostic {
            file: file.to_string(),
            line,
            col,
            message,
        };
        self.notes.shown_bytes += diagnostic.to_string().len() + 1;
        self.notes.diags.push(diagnostic);
    }

    /// The diagnostics, top to bottom, and a last one counting those not shown.
    fn finish(mut self) -> Vec<Diagnostic> {
        let mut sorted: Vec<(usize, Diagnostic)> = self
            .notes
            .order
            .drain(..)
            .zip(self.notes.diags.drain(..))
            .collect();
        sorted.sort_by_key(|(at, _)| *at);
        // The same mistake made by a procedure's steps alike is said once.
        sorted.dedup_by(|a, b| a.1 == b.1);
        self.notes.diags = sorted.into_iter().map(|(_, d)| d).collect();
        if self.notes.suppressed > 0 {
            let (file, line, col) = self.sources.locate(self.notes.first_suppressed);
            self.notes.diags.push(Diagnostic {
                file: file.to_string(),
                line,
                col,
                message: format!(
                    "{} more errors from here on are not shown: fix the first {MAX_DIAGNOSTICS} \
                     and check again",
                    self.notes.suppressed
                ),
            });
        }
        self.notes.diags
    }

    // ---- scalar checks: each reports and returns None on error ----

    /// Checks the type of each entry's value against its key's in `keys` (the one table's:
    /// [`super::spec`]), and reports each that has another. The readers of the values run
    /// afterwards all the same (so that one bad value does not hide the next) and find the
    /// same type wrong, which is not said twice.
    fn typed(&mut self, keys: &[KeySpec], entries: &[(&Key<'_>, &Value<'_>)]) {
        for (k, v) in entries {
            let Some(key) = keys.iter().find(|key| key.name == k.get_ref().as_ref()) else {
                continue;
            };
            if !shape(v.get_ref()).is_some_and(|s| key.ty.shapes().contains(&s)) {
                self.wrong_type(key.name, v, &key.ty.expected());
                self.notes.mistyped.insert(v.span().start);
            }
        }
    }

    /// Reports that `value` is not what `key` takes (once: see [`Checker::typed`]).
    fn wrong_type(&mut self, key: &str, value: &Value<'_>, expected: &str) {
        if self.notes.mistyped.contains(&value.span().start) {
            return;
        }
        let found = type_name(value.get_ref());
        self.err(
            value.span(),
            format!("`{key}` must be {expected}, not {found}"),
        );
    }

    fn string<'v>(&mut self, key: &str, value: &'v Value<'_>) -> Option<&'v str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s),
            _ => {
                self.wrong_type(key, value, "a string");
                None
            }
        }
    }

    /// The entries of a `with` table (`expected` says what it holds), in file order.
    fn with_entries<'t, 'i>(
        &mut self,
        with: &'t Value<'i>,
        expected: &str,
    ) -> Option<Vec<(&'t Key<'i>, &'t Value<'i>)>> {
        match with.get_ref().as_table() {
            Some(table) => Some(entries(table)),
            None => {
                self.wrong_type("with", with, expected);
                None
            }
        }
    }

    /// A string that must not be blank.
    fn text(&mut self, key: &str, value: &Value<'_>) -> Option<String> {
        let s = self.string(key, value)?;
        if s.trim().is_empty() {
            self.err(value.span(), format!("`{key}` must not be empty"));
            return None;
        }
        Some(s.to_string())
    }

    /// A non-blank string on one line, without control characters (a title, a database name):
    /// a newline in it would add a line to a runbook or a report.
    fn line(&mut self, key: &str, value: &Value<'_>) -> Option<String> {
        let s = self.text(key, value)?;
        if let Some(c) = crate::plan::quoting::control_char(&s) {
            self.err(
                value.span(),
                format!("`{key}` must be one line without control characters, but it holds {c:?}"),
            );
            return None;
        }
        Some(s)
    }

    fn boolean(&mut self, key: &str, value: &Value<'_>) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(key, value, "true or false");
                None
            }
        }
    }

    /// An integer in `range`; `expected` describes the range for messages.
    fn integer(
        &mut self,
        key: &str,
        value: &Value<'_>,
        range: std::ops::RangeInclusive<i64>,
        expected: &str,
    ) -> Option<i64> {
        let DeValue::Integer(i) = value.get_ref() else {
            self.wrong_type(key, value, expected);
            return None;
        };
        match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                let raw = quoted(self.source_text(value.span()));
                self.err(
                    value.span(),
                    format!("`{key}` must be {expected}, not {raw}"),
                );
                None
            }
        }
    }

    /// An integer of a counted type (a [`Type::Count`], a [`Type::ReadyCode`]): in the
    /// table's range, and said as the table says it.
    fn counted(&mut self, key: &str, ty: Type, value: &Value<'_>) -> Option<i64> {
        let range = ty.range().unwrap_or(i64::MIN..=i64::MAX);
        self.integer(key, value, range, &ty.expected())
    }

    /// `when = "CONDITION"`, `"not CONDITION"`, or a list of them (all must hold).
    fn when(&mut self, value: &Value<'_>) -> Option<Vec<When>> {
        if value.get_ref().as_array().is_some() {
            let expected = "a condition or an array of conditions";
            let all = self.array("when", value, expected, |cx, v| cx.condition(v))?;
            let both = all.iter().find(|w| {
                all.iter()
                    .any(|o| o.condition == w.condition && o.holds != w.holds)
            });
            if let Some(w) = both {
                let name = w.condition.as_str();
                self.err(
                    value.span(),
                    format!(
                        "`when` can never hold: it asks for `{name}` and `not {name}` (a `when` \
                         on a `use` is added to its procedure's steps' own)"
                    ),
                );
                return None;
            }
            return Some(all);
        }
        self.condition(value).map(|w| vec![w])
    }

    /// One condition of `when`.
    fn condition(&mut self, value: &Value<'_>) -> Option<When> {
        let s = self.string("when", value)?;
        let parsed = When::parse(s);
        if parsed.is_none() {
            self.err(
                value.span(),
                format!(
                    "unknown condition `{s}` for `when`: expected one of {}, each optionally preceded by `not `",
                    list(Condition::NAMES)
                ),
            );
        }
        parsed
    }

    /// A string matching `ok`; `what` names it, `rule` says what is allowed.
    fn pattern(
        &mut self,
        key: &str,
        value: &Value<'_>,
        ok: fn(&str) -> bool,
        what: &str,
        rule: &str,
    ) -> Option<String> {
        let s = self.string(key, value)?;
        if !ok(s) {
            let s = quoted(s);
            self.err(value.span(), format!("bad {what} `{s}`: {rule}"));
            return None;
        }
        Some(s.to_string())
    }

    fn duration(&mut self, key: &str, value: &Value<'_>) -> Option<Duration> {
        let DeValue::String(s) = value.get_ref() else {
            self.wrong_type(key, value, "a duration string such as \"10s\"");
            return None;
        };
        match parse_duration(s) {
            Ok(d) if d > MAX_STEP_DURATION => {
                self.err(
                    value.span(),
                    format!("`{key}` must be at most 24h, not {}", quoted(s)),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.err(value.span(), e.to_string());
                None
            }
        }
    }

    /// A duration longer than zero.
    fn positive_duration(&mut self, key: &str, value: &Value<'_>) -> Option<Duration> {
        let d = self.duration(key, value)?;
        if d.is_zero() {
            self.err(value.span(), format!("`{key}` must be longer than 0s"));
            return None;
        }
        Some(d)
    }

    /// One of `options`, as an index into it; `what` names the set for messages.
    fn choice(
        &mut self,
        key: &str,
        value: &Value<'_>,
        options: &[&str],
        what: &str,
    ) -> Option<usize> {
        let s = self.string(key, value)?;
        let found = options.iter().position(|o| *o == s);
        if found.is_none() {
            let s = quoted(s);
            self.err(
                value.span(),
                format!(
                    "unknown {what} `{s}` for `{key}`: expected {}",
                    or_list(options)
                ),
            );
        }
        found
    }

    fn node(&mut self, key: &str, value: &Value<'_>, allow_all: bool) -> Option<NodeRef> {
        let s = self.string(key, value)?;
        let node = match (s, s.parse::<NodeId>()) {
            ("primary", _) => NodeRef::Primary,
            ("standby", _) => NodeRef::Standby,
            ("all", _) => NodeRef::All,
            (_, Ok(n)) if NODES.contains(&n) => NodeRef::Node(n),
            _ => {
                let s = quoted(s);
                let all = if allow_all { " or all" } else { "" };
                self.err(
                    value.span(),
                    format!(
                        "unknown node `{s}` for `{key}`: expected a node ({}), a role ({}){all}",
                        node_names(),
                        list(ROLES)
                    ),
                );
                return None;
            }
        };
        if node == NodeRef::All && !allow_all {
            self.err(
                value.span(),
                format!(
                    "`{key}` must name one node here, not `all`: expected a node ({}) or a role \
                     ({})",
                    node_names(),
                    list(ROLES)
                ),
            );
            return None;
        }
        Some(node)
    }

    // ---- templates, regexes, paths ----

    /// The byte offset in the file where the text of the string at `span` starts, if the
    /// string's source is its text (no escapes), so that positions inside it can be given.
    fn content_start(&self, span: Range<usize>, decoded: &str) -> Option<usize> {
        let raw = self.sources.text(span.clone())?;
        for quote in ["\"\"\"", "'''", "\"", "'"] {
            if raw.len() >= 2 * quote.len() && raw.starts_with(quote) && raw.ends_with(quote) {
                let mut start = quote.len();
                let mut inner = &raw[start..raw.len() - quote.len()];
                if quote.len() == 3 {
                    if let Some(rest) = inner.strip_prefix("\r\n").or(inner.strip_prefix('\n')) {
                        start += inner.len() - rest.len();
                        inner = rest;
                    }
                }
                return (inner == decoded).then_some(span.start + start);
            }
        }
        None
    }

    /// A string whose `${...}` references must be defined here. Errors point at the `${` when
    /// the string has no escapes, else at the string.
    fn template(&mut self, key: &str, value: &Value<'_>) -> Option<Template> {
        let s = self.string(key, value)?;
        self.template_of(s, value.span())
    }

    /// Refuses a profile value or a capture quoted by hand in a `run` command (`"${rows}"`) or
    /// SQL (`'${rows}'`, `"${rows}"`), where the lab quotes it itself (one shell word, one SQL
    /// literal: see `drill::render`), so that the quotes would meet and break the text or stay
    /// in the value. (In a command, `'${rows}'` is harmless: the shell joins `''`, the quoted
    /// word and `''` into the value.)
    fn not_hand_quoted(
        &mut self,
        t: &Option<Template>,
        span: Range<usize>,
        quotes: &[char],
        what: &str,
    ) {
        let Some(t) = t else { return };
        let quoted: Vec<(String, char)> = t
            .hand_quoted(quotes)
            .filter(|(name, _)| !BUILTIN_VARIABLES.contains(name))
            .map(|(name, q)| (name.to_string(), q))
            .collect();
        for (name, q) in quoted {
            self.err(
                span.clone(),
                format!(
                    "`{q}${{{name}}}{q}`: the lab quotes a profile value or a captured value itself \
                     in {what}; write `${{{name}}}` without the quotes"
                ),
            );
        }
    }

    fn template_of(&mut self, s: &str, span: Range<usize>) -> Option<Template> {
        let start = self.content_start(span.clone(), s);
        let at = |offset: usize| match start {
            Some(start) => start + offset..start + offset,
            None => span.clone(),
        };
        let (template, refs) = match Template::scan(s) {
            Ok(scanned) => scanned,
            Err(e) => {
                self.err(at(e.offset()), e.to_string());
                return None;
            }
        };
        let mut ok = true;
        for (offset, name) in refs {
            if let Some(message) = self.undefined(&name) {
                self.err(at(offset), message);
                ok = false;
            }
        }
        ok.then_some(template)
    }

    /// Why `${name}` cannot be used here, if it cannot.
    fn undefined(&self, name: &str) -> Option<String> {
        if self.scope.defined_set.contains(name) {
            return None;
        }
        let step = self.scope.captures.get(name).copied();
        let name = &quoted(name);
        let defined = if self.flooded() {
            String::new()
        } else {
            format!(
                "defined at this point: {}",
                closest(name, self.scope.defined.iter().map(String::as_str))
            )
        };
        Some(match step {
            Some(n) if n == self.step_no => format!(
                "variable `${{{name}}}` is captured by this step, so only later steps can use \
                 it; {defined}"
            ),
            Some(n) if n > self.step_no => {
                format!("variable `${{{name}}}` is used before step {n} captures it; {defined}")
            }
            _ if name.chars().any(|c| c.is_ascii_uppercase()) => format!(
                "undefined variable `${{{name}}}` (for a shell variable write `$${{{name}}}`); \
                 {defined}"
            ),
            _ => format!("undefined variable `${{{name}}}`; {defined}"),
        })
    }

    /// A template that must be a valid regex once rendered. Variables are inserted escaped
    /// ([`Template::render_regex`]), so they are checked as plain text.
    fn regex(&mut self, key: &str, value: &Value<'_>) -> Option<Template> {
        let s = self.string(key, value)?;
        self.regex_of(key, s, value.span())
    }

    fn regex_of(&mut self, key: &str, s: &str, span: Range<usize>) -> Option<Template> {
        let template = self.template_of(s, span.clone())?;
        let pattern = template
            .render_regex(&|_| Some("x".to_string()))
            .unwrap_or_default();
        if self.regexes.regexes_seen.contains(&pattern) {
            return Some(template);
        }
        let problem = self.pattern_problem(&pattern);
        match problem {
            Some(problem) => {
                let s = quoted(s);
                self.err(span, format!("bad regex `{s}` in `{key}`: {problem}"));
                None
            }
            None => Some(template),
        }
    }

    /// What is wrong with a pattern not seen before, if anything. Past the budget (or the
    /// diagnostics shown), or over [`MAX_PATTERN_BYTES`], a pattern is not even parsed.
    fn pattern_problem(&mut self, pattern: &str) -> Option<String> {
        if pattern.len() > MAX_PATTERN_BYTES {
            return Some(RegexProblem::TooLong(pattern.len()).to_string());
        }
        if self.regexes.regex_spent >= REGEX_FILE_BUDGET || self.flooded() {
            return Some(RegexProblem::OverBudget.to_string());
        }
        match regex_syntax::Parser::new().parse(pattern) {
            Err(regex_syntax::Error::Parse(e)) => Some(e.kind().to_string()),
            Err(regex_syntax::Error::Translate(e)) => Some(e.kind().to_string()),
            Err(e) => Some(e.to_string()),
            Ok(_) => self.regex_budget(pattern).err().map(|p| p.to_string()),
        }
    }

    /// Charges a pattern's compiled size to the file's budget (each distinct pattern once).
    /// The size is that of the Thompson NFA every regex engine of the runner is built from, so
    /// what passes here compiles there too.
    fn regex_budget(&mut self, pattern: &str) -> Result<(), RegexProblem> {
        let left = REGEX_FILE_BUDGET.saturating_sub(self.regexes.regex_spent);
        let limit = REGEX_SIZE_LIMIT.min(left);
        use regex_automata::nfa::thompson::{Compiler, Config};
        let nfa = Compiler::new()
            .configure(Config::new().nfa_size_limit(Some(limit)))
            .build(pattern)
            .map_err(|e| match e.size_limit() {
                Some(_) if limit < REGEX_SIZE_LIMIT => {
                    self.regexes.regex_spent = REGEX_FILE_BUDGET;
                    RegexProblem::OverBudget
                }
                Some(_) => {
                    // Compiling it cost as much as a pattern of the limit's size.
                    self.regexes.regex_spent += REGEX_SIZE_LIMIT;
                    RegexProblem::TooBig
                }
                None => RegexProblem::Other(e.to_string()),
            })?;
        self.regexes.regex_spent += nfa.memory_usage();
        self.regexes.regexes_seen.insert(pattern.to_string());
        Ok(())
    }

    /// A path on a node: absolute, under one of the lab's disks (only `/disk4/` when
    /// `spare_only`), without `..` components. The check applies to the literal text, and again
    /// to the text each profile's values make of it; captured values are the runner's concern.
    fn path(&mut self, key: &str, value: &Value<'_>, spare_only: bool) -> Option<Template> {
        let template = self.template(key, value)?;
        let shown = quoted(&template.raw);
        // The path with each variable as an opaque piece (`\0`), then as each profile makes it.
        let opaque = substituted(&template, |_| None);
        let mut problem = path_problem(key, &shown, &opaque, spare_only);
        if problem.is_none() {
            for (profile, values) in &self.profile_values {
                let made = substituted(&template, from_profile(values));
                if let Some(p) = path_problem(key, &quoted(&made), &made, spare_only) {
                    problem = Some(format!("with profile `{profile}`, {p}"));
                    break;
                }
            }
        }
        match problem {
            Some(message) => {
                self.err(value.span(), message);
                None
            }
            None => Some(template),
        }
    }

    /// A mark set by an earlier step.
    fn since(&mut self, value: &Value<'_>) -> Option<String> {
        let s = self.string("since", value)?;
        if self.scope.mark_set.contains_key(s) {
            return Some(s.to_string());
        }
        let before = if self.scope.marks.is_empty() {
            "no mark is set before this step".to_string()
        } else if self.flooded() {
            String::new()
        } else {
            format!(
                "marks set before this step: {}",
                closest(s, self.scope.marks.iter().map(|(m, _)| m.as_str()))
            )
        };
        let step = self.scope.all_marks.get(s).copied();
        let s = &quoted(s);
        let message = match step {
            Some(n) if n > self.step_no => {
                format!("mark `{s}` is set by step {n}, after this one; {before}")
            }
            _ => format!("unknown mark `{s}` for `since`; {before}"),
        };
        self.err(value.span(), message);
        None
    }

    // ---- combinators ----

    /// An optional value: `Some(None)` when absent, `None` when present but bad.
    fn opt<'v, 'i: 'v, T>(
        &mut self,
        value: Option<&'v Value<'i>>,
        check: impl FnOnce(&mut Self, &'v Value<'i>) -> Option<T>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => check(self, v).map(Some),
        }
    }

    // ---- the document ----

    fn drill<'i>(&mut self, root: &DeTable<'i>) -> Option<Drill> {
        let entries = entries(root);
        for (key, _) in &entries {
            if !TOP_KEYS.contains(&key.get_ref().as_ref()) {
                self.err(
                    key.span(),
                    format!(
                        "unknown key `{}`: expected one of {}",
                        key.get_ref(),
                        list(TOP_KEYS)
                    ),
                );
            }
        }
        let required = |cx: &mut Self, key: &str, message: &str| {
            let v = get(&entries, key);
            if v.is_none() {
                cx.err(0..0, format!("missing `{key}`: {message}"));
            }
            v
        };
        let name = required(self, "name", "the drill's short name, such as \"failover\"")
            .and_then(|v| self.pattern("name", v, is_name, "name", NAME_RULE));
        let title = required(self, "title", "a one-line title for reports")
            .and_then(|v| self.line("title", v));
        let proves = required(
            self,
            "proves",
            "say what the drill proves, in a sentence or more",
        )
        .and_then(|v| self.text("proves", v));
        let source = self.opt(get(&entries, "source"), |cx, v| cx.text("source", v));
        let monitor = self.opt(get(&entries, "monitor"), |cx, v| cx.monitor(v));
        let lab = match get(&entries, "lab") {
            None => Some(LabNeeds::default()),
            Some(v) => self.lab_needs(v),
        };
        let profiles = match get(&entries, "profiles") {
            None => Some(BTreeMap::new()),
            Some(v) => {
                let at = key_span(&entries, "profiles").unwrap_or(0..0);
                self.profiles(at, v)
            }
        };
        let own = entries
            .iter()
            .find(|(k, _)| k.get_ref() == "procedures")
            .map(|(k, v)| (*k, *v));
        let steps_value = get(&entries, "steps");
        let uses = steps_value
            .and_then(|v| v.get_ref().as_array())
            .is_some_and(|items| {
                items.iter().any(|i| {
                    i.get_ref()
                        .as_table()
                        .is_some_and(|t| t.contains_key("use"))
                })
            });
        let library = self.library(own, uses || own.is_some());
        let steps = match steps_value {
            None => {
                self.err(
                    0..0,
                    "missing `steps`: a drill needs at least one [[steps]] table",
                );
                None
            }
            Some(v) => self.steps(v, &library),
        };
        self.unused(&library);
        let steps = steps?;
        let (monitor, monitor_after_fault) = match monitor? {
            Some((interval, after_fault)) => (Some(interval), after_fault),
            None => (None, None),
        };
        let monitor = monitor.or_else(|| {
            steps
                .iter()
                .any(|s| matches!(s.kind, StepKind::ExpectMonitor { .. }))
                .then_some(DEFAULT_MONITOR_INTERVAL)
        });
        Some(Drill {
            name: name?,
            title: title?,
            proves: proves?,
            source: source?,
            monitor,
            monitor_after_fault,
            profiles: profiles?,
            steps,
            lab: lab?,
            source_bytes: self.sources.drill_len(),
        })
    }

    fn lab_needs(&mut self, value: &Value<'_>) -> Option<LabNeeds> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(
                "lab",
                value,
                "a table such as [lab] wal_disk_size = \"256m\"",
            );
            return None;
        };
        let entries = entries(table);
        let ok = self.only_keys("lab", &entries, LAB_KEYS);
        let wal_disk_size = match get(&entries, "wal_disk_size") {
            None => None,
            Some(v) => {
                let s = self.string("wal_disk_size", v)?;
                match super::parse_wal_disk_size(s) {
                    Ok(n) => Some(n),
                    Err(e) => {
                        self.err(v.span(), format!("`wal_disk_size`: {e}"));
                        return None;
                    }
                }
            }
        };
        let settings = match get(&entries, "settings") {
            None => Vec::new(),
            Some(v) => self.settings("settings", v)?,
        };
        let data_checksums = match get(&entries, "data_checksums") {
            None => false,
            Some(v) => self.boolean("data_checksums", v)?,
        };
        ok.then_some(LabNeeds {
            wal_disk_size,
            settings,
            data_checksums,
        })
    }

    /// A table of server settings (`{ max_prepared_transactions = 10, hot_standby_feedback =
    /// true }`): each name checked and each value one postgresql.conf can hold
    /// ([`crate::pg::setting`]); a number as written, a boolean `on`/`off`. Whether the version
    /// has a setting is checked when a lab of a version is brought up.
    pub(crate) fn settings(
        &mut self,
        key: &str,
        value: &Value<'_>,
    ) -> Option<Vec<crate::pg::Setting>> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(
                key,
                value,
                "a table such as { max_prepared_transactions = 10 }",
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (name, v) in entries(table) {
            let text = match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
                DeValue::Integer(_) | DeValue::Float(_) => {
                    self.source_text(v.span()).replace('_', "")
                }
                other => {
                    let what = type_name(other);
                    self.err(
                        v.span(),
                        format!("`{key}`: a setting's value is a string, a number or a boolean, not {what}"),
                    );
                    ok = false;
                    continue;
                }
            };
            match crate::pg::setting(name.get_ref(), &text) {
                Ok(setting) => out.push(setting),
                Err(e) => {
                    self.err(name.span(), format!("`{key}`: {e}"));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// Reports every key of table `what` not in `allowed`; whether there was none.
    fn only_keys(
        &mut self,
        what: &str,
        entries: &[(&Key<'_>, &Value<'_>)],
        allowed: &[&str],
    ) -> bool {
        let mut ok = true;
        for (key, _) in entries {
            if !allowed.contains(&key.get_ref().as_ref()) {
                self.err(
                    key.span(),
                    format!(
                        "unknown key `{}` in `{what}`: expected {}",
                        key.get_ref(),
                        allowed.join(" or ")
                    ),
                );
                ok = false;
            }
        }
        ok
    }

    /// `[monitor]`: its interval, and its `after_fault` interval if it has one.
    fn monitor(&mut self, value: &Value<'_>) -> Option<(Duration, Option<Duration>)> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type("monitor", value, "a table such as { interval = \"1s\" }");
            return None;
        };
        let entries = entries(table);
        self.only_keys("monitor", &entries, &["interval", "after_fault"]);
        let interval = match get(&entries, "interval") {
            None => DEFAULT_MONITOR_INTERVAL,
            Some(v) => self.monitor_interval("interval", v)?,
        };
        let after_fault = match get(&entries, "after_fault") {
            None => None,
            Some(v) => Some(self.monitor_interval("after_fault", v)?),
        };
        Some((interval, after_fault))
    }

    /// A monitor interval `key`: from [`MIN_MONITOR_INTERVAL`] to [`MAX_MONITOR_INTERVAL`].
    fn monitor_interval(&mut self, key: &str, v: &Value<'_>) -> Option<Duration> {
        let d = self.positive_duration(key, v)?;
        if !(MIN_MONITOR_INTERVAL..=MAX_MONITOR_INTERVAL).contains(&d) {
            self.err(
                v.span(),
                format!(
                    "`{key}` must be from {MIN_MONITOR_INTERVAL:?} to 1h (as `lab monitor \
                     --interval` takes it), not {d:?}"
                ),
            );
            return None;
        }
        Some(d)
    }

    /// `[profiles.NAME]` tables; defines `profile.KEY` for every key any profile has.
    /// (Long: reading the tables and comparing their keys share the spans they collect.)
    fn profiles(
        &mut self,
        at: Range<usize>,
        value: &Value<'_>,
    ) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type("profiles", value, "a table of [profiles.NAME] tables");
            return None;
        };
        let mut ok = true;
        let mut profiles = BTreeMap::new();
        // Per profile: its name, the span of its table, and its keys with their spans.
        let mut shapes: Vec<(String, Range<usize>, Vec<Named>)> = Vec::new();
        for (name, pv) in entries(table) {
            let name_str = name.get_ref().to_string();
            if !is_id(&name_str) {
                self.err(
                    name.span(),
                    format!("bad profile name `{name_str}`: {ID_RULE}"),
                );
                ok = false;
            }
            let Some(vars) = pv.get_ref().as_table() else {
                self.err(
                    pv.span(),
                    format!(
                        "profile `{name_str}` must be a table of variables ([profiles.{name_str}]), \
                         not {}",
                        type_name(pv.get_ref())
                    ),
                );
                ok = false;
                continue;
            };
            let mut values = BTreeMap::new();
            let mut keys = Vec::new();
            for (key, v) in entries(vars) {
                let key_str = key.get_ref().to_string();
                keys.push((key_str.clone(), key.span()));
                if !is_variable(&key_str) {
                    self.err(
                        key.span(),
                        format!("bad variable name `{key_str}` in profile `{name_str}`: {VARIABLE_RULE}"),
                    );
                    ok = false;
                }
                let text = match v.get_ref() {
                    DeValue::String(s) => s.to_string(),
                    DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
                        self.source_text(v.span()).replace('_', "")
                    }
                    other => {
                        self.err(
                            v.span(),
                            format!(
                                "`{key_str}` in profile `{name_str}` must be a string, a number \
                                 or a boolean, not {}",
                                type_name(other)
                            ),
                        );
                        ok = false;
                        continue;
                    }
                };
                values.insert(key_str, text);
            }
            shapes.push((name_str.clone(), pv.span(), keys));
            profiles.insert(name_str, values);
        }
        self.profile_values.clone_from(&profiles);
        // Every key any profile defines is a variable, even when profiles disagree, so that
        // uses are not reported on top of the disagreement.
        let mut all_keys: Vec<&str> = shapes
            .iter()
            .flat_map(|(_, _, keys)| keys.iter().map(|(k, _)| k.as_str()))
            .collect();
        all_keys.sort_unstable();
        all_keys.dedup();
        for key in &all_keys {
            self.define(format!("profile.{key}"));
        }
        if shapes.is_empty() {
            return ok.then_some(profiles);
        }
        ok &= self.same_keys(at, &shapes)?;
        ok.then_some(profiles)
    }

    /// Whether every profile defines the keys `default` does, no more, no fewer (each
    /// profile's name, the span of its table, its keys); `None` when there is no `default` or
    /// too many profiles.
    fn same_keys(
        &mut self,
        at: Range<usize>,
        shapes: &[(String, Range<usize>, Vec<Named>)],
    ) -> Option<bool> {
        let Some((_, _, default_keys)) = shapes.iter().find(|(n, _, _)| n == "default") else {
            let names: Vec<&str> = shapes.iter().map(|(n, _, _)| n.as_str()).collect();
            self.err(
                at,
                format!(
                    "profiles are defined but none is called `default`: found {}; add \
                     [profiles.default]",
                    list(&names)
                ),
            );
            return None;
        };
        if shapes.len() > MAX_PROFILES {
            self.err(
                at,
                format!(
                    "{} profiles: a drill has at most {MAX_PROFILES} (each path is checked with \
                     each profile's values)",
                    shapes.len()
                ),
            );
            return None;
        }
        // Sets, not lists: profiles of many keys are compared in linear time.
        let default_set: HashSet<&str> = default_keys.iter().map(|(k, _)| k.as_str()).collect();
        let default_keys: Vec<&str> = default_keys.iter().map(|(k, _)| k.as_str()).collect();
        // Each problem: where, the profile, the key, and whether the profile lacks it (else it
        // has it and `default` does not); messages are made only for those shown.
        let mut problems = Vec::new();
        for (name, span, keys) in shapes {
            if name == "default" {
                continue;
            }
            let own: HashSet<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
            for (key, key_at) in keys {
                if !default_set.contains(key.as_str()) {
                    problems.push((key_at.clone(), name.as_str(), key.as_str(), false));
                }
            }
            for key in &default_keys {
                if !own.contains(key) {
                    problems.push((span.clone(), name.as_str(), key, true));
                }
            }
        }
        let ok = problems.is_empty();
        for (span, name, key, lacks) in problems {
            let message = match (self.flooded(), lacks) {
                (true, _) => String::new(),
                (false, true) => format!(
                    "profile `{name}` lacks `{key}`, which profile `default` defines: every \
                     profile must define the same variables"
                ),
                (false, false) => format!(
                    "profile `{name}` defines `{key}`, which profile `default` does not: every \
                     profile must define the same variables"
                ),
            };
            self.err(span, message);
        }
        Some(ok)
    }

    /// A non-empty array whose items all pass `item`.
    fn array<'v, 'i: 'v, T>(
        &mut self,
        key: &str,
        value: &'v Value<'i>,
        expected: &str,
        mut item: impl FnMut(&mut Self, &'v Value<'i>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(key, value, expected);
            return None;
        };
        if items.is_empty() {
            self.err(value.span(), format!("`{key}` must not be empty"));
            return None;
        }
        let checked: Vec<Option<T>> = items.iter().map(|v| item(self, v)).collect();
        checked.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn kinds_and_actions_are_named_as_drill_files_write_them() {
        assert_eq!(
            KINDS,
            [
                "run",
                "sql",
                "action",
                "fault",
                "wait",
                "expect_log",
                "expect_monitor",
                "mark",
                "sleep",
                "note"
            ]
        );
        assert_eq!(
            ACTIONS,
            [
                "start",
                "stop",
                "promote",
                "base_backup",
                "local_backup",
                "move_aside",
                "link_wal",
                "make_standby",
                "pitr",
                "load",
                "copy_backup",
                "ledger_start",
                "ledger_retarget",
                "ledger_check",
                "set",
                "rewind"
            ]
        );
        for kind in Kind::iter() {
            assert_eq!(kind.name().parse::<Kind>(), Ok(kind));
        }
        for action in ActionKind::iter() {
            assert_eq!(action.name().parse::<ActionKind>(), Ok(action));
        }
    }

    #[test]
    fn files_of_too_many_tables_are_refused_before_parsing() {
        let strings = "a = \"[[[{{{...,,,\" # [[[,\nb = '''\n[.'''\nc = \"\\\"[\"\n";
        assert_eq!(too_many_nodes(strings), None);
        let dotted: String = (0..40_000).map(|i| format!("k{i}.a.b.c = 1\n")).collect();
        let got = check("d.toml", &dotted).unwrap_err();
        assert_eq!(got.len(), 1);
        assert!(
            got[0]
                .to_string()
                .starts_with("d.toml:35001:7: error: the file has more than 140000"),
            "{}",
            got[0]
        );
        // The densest valid steps fit.
        let mut marks = String::new();
        for i in 0.. {
            let step = format!("[[steps]]\ntitle = \"m\"\nmark = \"m{i}\"\n");
            if marks.len() + step.len() > MAX_FILE_BYTES {
                break;
            }
            marks.push_str(&step);
        }
        assert!(too_many_nodes(&marks).is_none());
    }

    #[test]
    fn an_unclosed_array_is_one_error() {
        let got = check("d.toml", "a = [1, 2\nb = 3\nc = 4\n").unwrap_err();
        assert_eq!(
            got.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["d.toml:2:1: error: invalid TOML: missing comma between array elements, expected `,`"]
        );
    }

    /// A drill whose steps each expect one log line, from `patterns`.
    fn drill_expecting(patterns: impl Iterator<Item = String>) -> String {
        let mut text = String::from("name = \"d\"\ntitle = \"T\"\nproves = \"P.\"\n");
        for p in patterns {
            text.push_str(&format!(
                "[[steps]]\ntitle = \"l\"\non = \"node1\"\nexpect_log = ['{p}']\n"
            ));
        }
        text
    }

    #[test]
    fn regexes_have_a_size_budget() {
        let diags = check(
            "d.toml",
            &drill_expecting([r"\w{40}".to_string()].into_iter()),
        )
        .unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0]
                .to_string()
                .starts_with(r"d.toml:7:15: error: bad regex `\w{40}` in `expect_log`: it compiles to more than 256 KiB"),
            "{}",
            diags[0]
        );
        // The same pattern many times costs once.
        let same = drill_expecting((0..500).map(|_| r"\w{5}".to_string()));
        assert!(check("d.toml", &same).is_ok());
        // Distinct patterns add up: past the file's budget each is refused, quickly.
        let started = std::time::Instant::now();
        let distinct = drill_expecting((0..400).map(|i| format!(r"\w{{5}}{i}")));
        let diags = check("d.toml", &distinct).unwrap_err();
        assert!(
            diags[0]
                .message
                .contains("the file's patterns together compile to more than 16 MiB"),
            "{}",
            diags[0]
        );
        assert!(diags.len() <= MAX_DIAGNOSTICS + 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
}
