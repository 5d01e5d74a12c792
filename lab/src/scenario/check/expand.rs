//! Procedures: named, parameterised groups of steps, expanded into the drill's steps before
//! any step is checked.
//!
//! A procedure is a table of `about`, `params` (each parameter's name and what it is) and
//! `steps`; the built-in ones are files in `scenarios/procedures/`, a drill's own are its
//! `[procedures.NAME]` tables (which win over a built-in of the same name). A step
//! `use = "NAME"` with `with = { PARAM = VALUE, … }` becomes the procedure's steps, each string
//! in them with `${PARAM}` replaced by the value as written (a string that is only `${PARAM}`
//! takes the value itself, with its type and its place in the file, so that a mistake in it is
//! reported where it is written). A `when` on the `use` is added to every step's own. Procedures
//! may use procedures, never themselves.
//!
//! The steps that come out are checked as if written in the drill; a diagnostic in one says
//! where (the procedure's file, or the value passed in the drill) and names the procedure with
//! both its definition and its use (`; in procedure `p` (defined at …) used at d.toml:40:1`).

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::{closest, entries, get, is_name, is_variable, list, quoted, Checker, Key, Value};
use super::{NAME_RULE, VARIABLE_RULE};
use crate::scenario::model::BUILTIN_VARIABLES;
use crate::scenario::Template;

/// The procedures that ship with the lab (`scenarios/procedures/NAME.toml`): name and text.
pub const BUILTIN_PROCEDURES: &[(&str, &str)] = &[
    (
        "load-with-ledger",
        include_str!("../../../../scenarios/procedures/load-with-ledger.toml"),
    ),
    (
        "transactions",
        include_str!("../../../../scenarios/procedures/transactions.toml"),
    ),
    (
        "inject",
        include_str!("../../../../scenarios/procedures/inject.toml"),
    ),
    (
        "fence-the-master",
        include_str!("../../../../scenarios/procedures/fence-the-master.toml"),
    ),
    (
        "promote-the-slave",
        include_str!("../../../../scenarios/procedures/promote-the-slave.toml"),
    ),
    (
        "check-the-new-master",
        include_str!("../../../../scenarios/procedures/check-the-new-master.toml"),
    ),
    (
        "fail-over-with-ledger",
        include_str!("../../../../scenarios/procedures/fail-over-with-ledger.toml"),
    ),
    (
        "rebuild-as-slave",
        include_str!("../../../../scenarios/procedures/rebuild-as-slave.toml"),
    ),
    (
        "rebuild-the-old-master",
        include_str!("../../../../scenarios/procedures/rebuild-the-old-master.toml"),
    ),
    (
        "rebuild-and-check-the-ledger",
        include_str!("../../../../scenarios/procedures/rebuild-and-check-the-ledger.toml"),
    ),
    (
        "switch-over",
        include_str!("../../../../scenarios/procedures/switch-over.toml"),
    ),
];

/// A built-in procedure as the schema and the README list it.
pub(in crate::scenario) struct BuiltinProcedure {
    pub name: &'static str,
    pub about: String,
    /// Each parameter and what it is, in the file's order.
    pub params: Vec<(String, String)>,
}

/// The built-in procedures, read (they are tested to be valid).
pub(in crate::scenario) fn builtin_procedures() -> Vec<BuiltinProcedure> {
    BUILTIN_PROCEDURES
        .iter()
        .map(|(name, text)| {
            let root = DeTable::parse(text)
                .map(Spanned::into_inner)
                .unwrap_or_default();
            let text_of = |v: &Value<'_>| v.get_ref().as_str().unwrap_or_default().to_string();
            let about = root.get("about").map(text_of).unwrap_or_default();
            let params = root
                .get("params")
                .and_then(|p| p.get_ref().as_table())
                .map(|t| {
                    entries(t)
                        .into_iter()
                        .map(|(k, v)| (k.get_ref().to_string(), text_of(v)))
                        .collect()
                })
                .unwrap_or_default();
            BuiltinProcedure {
                name,
                about,
                params,
            }
        })
        .collect()
}

/// The keys of a procedure's table.
pub(in crate::scenario) const PROCEDURE_KEYS: &[&str] = &["about", "params", "steps"];

/// The keys of a step that uses a procedure.
pub(in crate::scenario) const USE_KEYS: &[&str] = &["use", "with", "when"];

/// How deep procedures may use procedures.
const MAX_DEPTH: usize = 8;

/// At most this many steps come out of procedures in one drill.
pub(in crate::scenario) const MAX_EXPANDED_STEPS: usize = 10_000;

/// What procedures may expand to, in bytes, besides [`EXPANDED_BYTES_PER_FILE_BYTE`] per byte
/// of the file.
pub(in crate::scenario) const EXPANDED_BYTES_BASE: usize = 256 << 10;

/// What procedures may expand to, in bytes per byte of the drill file.
pub(in crate::scenario) const EXPANDED_BYTES_PER_FILE_BYTE: usize = 4;

/// What each value, key or step table weighs besides its text, in bytes.
const NODE_BYTES: usize = 8;

/// Why an expansion stopped: the budget it went over.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub(super) enum OverBudget {
    /// More than [`MAX_EXPANDED_STEPS`] steps.
    #[error(
        "procedures expand to more than {MAX_EXPANDED_STEPS} steps with this use: a drill's \
         procedures may make at most {MAX_EXPANDED_STEPS} (do they use each other many times?)"
    )]
    Steps,
    /// More bytes than the file's allowance.
    #[error(
        "procedures expand to more than {0} bytes with this use ({EXPANDED_BYTES_PER_FILE_BYTE} \
         × the file + {base} KiB): does a `with` value grow at each level?",
        base = EXPANDED_BYTES_BASE >> 10
    )]
    Bytes(usize),
}

/// What procedures have expanded to so far, against what the file allows: a few kilobytes of
/// procedures using each other can otherwise make millions of steps.
pub(super) struct Budget {
    steps: usize,
    bytes: usize,
    max_bytes: usize,
    /// The budget gone over, once it is.
    over: Option<OverBudget>,
    /// Whether that was reported.
    reported: bool,
}

impl Budget {
    /// The budget of a drill file of `len` bytes.
    pub(super) fn for_file(len: usize) -> Budget {
        Budget {
            steps: 0,
            bytes: 0,
            max_bytes: EXPANDED_BYTES_PER_FILE_BYTE * len + EXPANDED_BYTES_BASE,
            over: None,
            reported: false,
        }
    }

    /// Charges `bytes`; whether they were within the budget.
    fn bytes(&mut self, bytes: usize) -> bool {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.max_bytes {
            self.over.get_or_insert(OverBudget::Bytes(self.max_bytes));
        }
        self.over.is_none()
    }

    /// Charges one step; whether it was within the budget.
    fn step(&mut self) -> bool {
        self.steps += 1;
        if self.steps > MAX_EXPANDED_STEPS {
            self.over.get_or_insert(OverBudget::Steps);
        }
        self.over.is_none()
    }
}

/// Where an expanded step comes from: a procedure, where it is defined, where it is used.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    procedure: String,
    defined_at: usize,
    used_at: usize,
}

impl Origin {
    /// Where the use is (an offset in the drill's sources).
    pub(super) fn used_at(&self) -> usize {
        self.used_at
    }
}

/// A step table to check, with the procedures it comes from (outermost first; none for a
/// step written in the drill).
/// A step of the drill's own is borrowed, not copied.
pub(super) struct Item<'t, 'i> {
    pub(super) value: Cow<'t, Value<'i>>,
    pub(super) origin: Vec<Origin>,
}

/// A procedure, read.
pub(super) struct Procedure<'i> {
    name: String,
    /// Each parameter: its name, what it is, and where it is declared.
    params: Vec<(String, String, usize)>,
    steps: Vec<Value<'i>>,
    defined_at: usize,
    /// Defined in the drill (not built in): it must be used.
    own: bool,
    used: Cell<bool>,
}

/// The procedures a drill can use: its own and the built-in ones.
#[derive(Default)]
pub(super) struct Library<'i> {
    procedures: BTreeMap<String, Procedure<'i>>,
    /// A drill's own procedures that could not be read (already reported): their uses are
    /// not reported again.
    broken: BTreeSet<String>,
}

/// A checked `use`: the procedure, its arguments and the `when` to pass on.
struct Call<'p, 'i> {
    procedure: &'p Procedure<'i>,
    args: BTreeMap<String, Value<'i>>,
    when: Option<(Key<'i>, Value<'i>)>,
}

impl<'a> Checker<'a> {
    /// The built-in procedures (when `builtins`) and the drill's own (`[procedures]`).
    pub(super) fn library<'i>(
        &mut self,
        own: Option<(&Key<'i>, &Value<'i>)>,
        builtins: bool,
    ) -> Library<'i> {
        let mut library = Library::default();
        if builtins {
            for (name, text) in BUILTIN_PROCEDURES {
                if let Some(p) = self.builtin(name, text) {
                    library.procedures.insert(p.name.clone(), p);
                }
            }
        }
        let Some((_, value)) = own else {
            return library;
        };
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type("procedures", value, "a table of [procedures.NAME] tables");
            return library;
        };
        for (name, v) in entries(table) {
            if !is_name(name.get_ref()) {
                let shown = quoted(name.get_ref());
                self.err(
                    name.span(),
                    format!("bad procedure name `{shown}`: {NAME_RULE}"),
                );
                continue;
            }
            if BUILTIN_PROCEDURES.iter().any(|(b, _)| *b == name.get_ref()) {
                self.err(
                    name.span(),
                    format!(
                        "procedure `{}` is built in: give yours another name",
                        name.get_ref()
                    ),
                );
                library.procedures.remove(name.get_ref().as_ref());
                library.broken.insert(name.get_ref().to_string());
                continue;
            }
            match self.definition(name.get_ref(), name.span().start, v, true) {
                Some(p) => {
                    library.procedures.insert(p.name.clone(), p);
                }
                None => {
                    library.broken.insert(name.get_ref().to_string());
                }
            }
        }
        library
    }

    /// A built-in procedure, read from its file (placed in the sources for messages).
    fn builtin<'i>(&mut self, name: &str, text: &'static str) -> Option<Procedure<'i>> {
        let base = self
            .sources
            .add(&format!("<built-in procedure {name}>"), text);
        match DeTable::parse(text) {
            Ok(root) => {
                let span = root.span();
                let value = shift(&Spanned::new(span, DeValue::Table(root.into_inner())), base);
                self.definition(name, base, &value, false)
            }
            Err(e) => {
                let at = e.span().unwrap_or(0..0).start + base;
                self.err(at..at, format!("invalid TOML: {}", e.message()));
                None
            }
        }
    }

    /// A procedure's table: `about`, `params`, `steps`.
    fn definition<'i>(
        &mut self,
        name: &str,
        defined_at: usize,
        value: &Value<'i>,
        own: bool,
    ) -> Option<Procedure<'i>> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(
                &format!("procedures.{name}"),
                value,
                "a table with `params` and [[procedures.NAME.steps]]",
            );
            return None;
        };
        let entries = entries(table);
        let mut ok = true;
        for (k, _) in &entries {
            if !PROCEDURE_KEYS.contains(&k.get_ref().as_ref()) {
                self.err(
                    k.span(),
                    format!(
                        "unknown key `{}` in procedure `{name}`: expected one of {}",
                        k.get_ref(),
                        list(PROCEDURE_KEYS)
                    ),
                );
                ok = false;
            }
        }
        if let Some(v) = get(&entries, "about") {
            ok &= self.text("about", v).is_some();
        }
        let params = match get(&entries, "params") {
            None => Some(Vec::new()),
            Some(v) => self.params(name, v),
        };
        let steps = match get(&entries, "steps") {
            Some(v) => match v.get_ref().as_array() {
                Some(items) if !items.is_empty() => Some(items.to_vec()),
                _ => {
                    self.err(
                        v.span(),
                        format!("procedure `{name}` needs at least one [[steps]] table"),
                    );
                    None
                }
            },
            None => {
                self.err(
                    defined_at..defined_at,
                    format!("procedure `{name}` has no `steps`: it needs at least one"),
                );
                None
            }
        };
        let (params, steps) = (params?, steps?);
        // Every parameter is used: one that is not is a mistake in the procedure.
        let mut used = BTreeSet::new();
        for step in &steps {
            references(step, &mut used);
        }
        for (param, _, at) in &params {
            if !used.contains(param.as_str()) {
                self.err(
                    *at..*at,
                    format!(
                        "parameter `{param}` of procedure `{name}` is not used by its steps: \
                         use it as ${{{param}}} or remove it"
                    ),
                );
                ok = false;
            }
        }
        ok.then(|| Procedure {
            name: name.to_string(),
            params,
            steps,
            defined_at,
            own,
            used: Cell::new(false),
        })
    }

    /// `params = { NAME = "what it is", … }`.
    fn params(
        &mut self,
        procedure: &str,
        value: &Value<'_>,
    ) -> Option<Vec<(String, String, usize)>> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(
                "params",
                value,
                "a table of parameters and what each is, such as { node = \"the slave\" }",
            );
            return None;
        };
        let mut ok = true;
        let mut params = Vec::new();
        for (k, v) in entries(table) {
            let name = k.get_ref().to_string();
            if !is_variable(&name) || BUILTIN_VARIABLES.contains(&name.as_str()) {
                let why = if is_variable(&name) {
                    "it is a built-in variable".to_string()
                } else {
                    VARIABLE_RULE.to_string()
                };
                self.err(
                    k.span(),
                    format!(
                        "bad parameter name `{}` in procedure `{procedure}`: {why}",
                        quoted(&name)
                    ),
                );
                ok = false;
                continue;
            }
            match self.text(&name, v) {
                Some(about) => params.push((name, about, k.span().start)),
                None => ok = false,
            }
        }
        ok.then_some(params)
    }

    /// Reports the drill's own procedures that no step uses.
    pub(super) fn unused(&mut self, library: &Library<'_>) {
        if self.budget.over.is_some() {
            // The expansion stopped: what it did not reach is not unused.
            return;
        }
        for p in library.procedures.values() {
            if p.own && !p.used.get() {
                let at = p.defined_at;
                self.err(
                    at..at,
                    format!(
                        "procedure `{}` is not used by any step: use it (`use = \"{}\"`) or \
                         remove it",
                        p.name, p.name
                    ),
                );
            }
        }
    }

    /// The steps of the drill with every `use` replaced by its procedure's steps, and whether
    /// every use was right (each wrong one is reported and leaves no steps).
    pub(super) fn expand<'t, 'i>(
        &mut self,
        items: &'t [Value<'i>],
        library: &Library<'i>,
    ) -> (Vec<Item<'t, 'i>>, bool) {
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            if self.budget.over.is_some() {
                break;
            }
            if !is_use(item) {
                out.push(Item {
                    value: Cow::Borrowed(item),
                    origin: Vec::new(),
                });
                continue;
            }
            let mut expanded = Vec::new();
            ok &= self.expand_into(
                std::slice::from_ref(item),
                library,
                &mut Vec::new(),
                &mut expanded,
            );
            out.extend(expanded);
        }
        self.origin.clear();
        (out, ok)
    }

    fn expand_into<'t, 'i>(
        &mut self,
        items: &[Value<'i>],
        library: &Library<'i>,
        stack: &mut Vec<Origin>,
        out: &mut Vec<Item<'t, 'i>>,
    ) -> bool {
        let mut ok = true;
        for item in items {
            let Some(table) = item.get_ref().as_table().filter(|t| t.contains_key("use")) else {
                if !self.budget.step() {
                    return false;
                }
                out.push(Item {
                    value: Cow::Owned(item.clone()),
                    origin: stack.clone(),
                });
                continue;
            };
            self.origin.clone_from(stack);
            let Some(call) = self.call(table, library, stack) else {
                ok = false;
                continue;
            };
            let use_span = table.get("use").map_or(item.span(), |v| v.span());
            let p = call.procedure;
            // Charged before the body is made: what it would weigh.
            let weight = p.steps.iter().map(|s| substituted_weight(s, &call.args));
            if !self.budget.bytes(weight.sum()) {
                self.over_budget(use_span, stack);
                return false;
            }
            stack.push(Origin {
                procedure: p.name.clone(),
                defined_at: p.defined_at,
                used_at: item.span().start,
            });
            let body: Vec<Value<'i>> = p
                .steps
                .iter()
                .map(|s| with_when(substitute(s, &call.args), call.when.as_ref()))
                .collect();
            ok &= self.expand_into(&body, library, stack, out);
            stack.pop();
            if self.budget.over.is_some() {
                self.over_budget(use_span, stack);
                return false;
            }
        }
        ok
    }

    /// Reports the budget gone over, once, at the innermost use that went over it.
    fn over_budget(&mut self, at: Range<usize>, stack: &[Origin]) {
        let Some(over) = self.budget.over.filter(|_| !self.budget.reported) else {
            return;
        };
        self.budget.reported = true;
        self.origin = stack.to_vec();
        self.err(at, over.to_string());
    }

    /// Checks a `use` step: its keys, the procedure, its arguments, its `when`.
    fn call<'p, 'i>(
        &mut self,
        table: &DeTable<'i>,
        library: &'p Library<'i>,
        stack: &[Origin],
    ) -> Option<Call<'p, 'i>> {
        let entries = entries(table);
        let mut ok = true;
        for (k, _) in &entries {
            let key: &str = k.get_ref();
            if USE_KEYS.contains(&key) {
                continue;
            }
            let message = if super::is_step_key(key) {
                format!(
                    "`{key}` does not apply to a `use` step (its procedure's steps have their \
                     own): expected one of {}",
                    list(USE_KEYS)
                )
            } else {
                format!(
                    "unknown key `{key}` in a `use` step: expected one of {}",
                    list(USE_KEYS)
                )
            };
            self.err(k.span(), message);
            ok = false;
        }
        let use_value = get(&entries, "use")?;
        let name = self.string("use", use_value)?;
        if library.broken.contains(name) {
            return None;
        }
        let Some(procedure) = library.procedures.get(name) else {
            let known = if self.flooded() {
                String::new()
            } else {
                format!(
                    ": expected one of {}",
                    closest(name, library.procedures.keys().map(String::as_str))
                )
            };
            self.err(
                use_value.span(),
                format!("unknown procedure `{}`{known}", quoted(name)),
            );
            return None;
        };
        procedure.used.set(true);
        if stack.iter().any(|o| o.procedure == procedure.name) {
            let chain: Vec<&str> = stack
                .iter()
                .map(|o| o.procedure.as_str())
                .chain([name])
                .collect();
            self.err(
                use_value.span(),
                format!(
                    "procedure `{name}` uses itself ({}): a procedure cannot use itself, \
                     directly or through another",
                    chain.join(" → ")
                ),
            );
            return None;
        }
        if stack.len() >= MAX_DEPTH {
            self.err(
                use_value.span(),
                format!("procedures use procedures more than {MAX_DEPTH} deep here"),
            );
            return None;
        }
        let with = get(&entries, "with");
        let args = self.arguments(procedure, with, with.unwrap_or(use_value).span());
        let when = match entries.iter().find(|(k, _)| k.get_ref() == "when") {
            None => Some(None),
            Some((k, v)) => self.when(v).map(|_| Some(((*k).clone(), (*v).clone()))),
        };
        let (args, when) = (args?, when?);
        ok.then_some(Call {
            procedure,
            args,
            when,
        })
    }

    /// The arguments of a use (`with`): every parameter once, nothing else.
    fn arguments<'i>(
        &mut self,
        p: &Procedure<'i>,
        with: Option<&Value<'i>>,
        missing_at: Range<usize>,
    ) -> Option<BTreeMap<String, Value<'i>>> {
        let given = match with {
            None => Vec::new(),
            Some(w) => self.with_entries(
                w,
                "a table of the procedure's parameters such as { node = \"node2\" }",
            )?,
        };
        let name = &p.name;
        let defined = self.sources.place(p.defined_at);
        let mut ok = true;
        let mut args = BTreeMap::new();
        for (k, v) in given {
            let key: &str = k.get_ref();
            if !p.params.iter().any(|(n, _, _)| n == key) {
                let names: Vec<&str> = p.params.iter().map(|(n, _, _)| n.as_str()).collect();
                let message = if names.is_empty() {
                    format!("procedure `{name}` (defined at {defined}) takes no parameters, found `{key}`")
                } else {
                    format!(
                        "unknown parameter `{key}` for procedure `{name}` (defined at \
                         {defined}): expected one of {}",
                        list(&names)
                    )
                };
                self.err(k.span(), message);
                ok = false;
                continue;
            }
            match v.get_ref() {
                DeValue::String(_)
                | DeValue::Integer(_)
                | DeValue::Float(_)
                | DeValue::Boolean(_) => {
                    args.insert(key.to_string(), v.clone());
                }
                _ => {
                    self.wrong_type(key, v, "a string, a number or a boolean");
                    ok = false;
                }
            }
        }
        for (param, about, at) in &p.params {
            if !args.contains_key(param) && ok {
                let declared = self.sources.place(*at);
                self.err(
                    missing_at.clone(),
                    format!(
                        "procedure `{name}` needs `{param}` in `with`: {about} (declared at \
                         {declared})"
                    ),
                );
                ok = false;
            }
        }
        ok.then_some(args)
    }

    /// What `err` adds to a message about an expanded step: the procedures it comes from,
    /// innermost first, each with its definition and its use.
    pub(super) fn origin_note(&self) -> String {
        let mut note = String::new();
        for o in self.origin.iter().rev() {
            note.push_str(if note.is_empty() { "; in" } else { ", in" });
            let used = self.sources.place(o.used_at);
            if self.sources.in_drill(o.defined_at) {
                let defined = self.sources.place(o.defined_at);
                let name = quoted(&o.procedure);
                note.push_str(&format!(
                    " procedure `{name}` (defined at {defined}) used at {used}"
                ));
            } else {
                note.push_str(&format!(
                    " <built-in procedure {}> used at {used}",
                    o.procedure
                ));
            }
        }
        note
    }
}

/// Whether a step table uses a procedure.
fn is_use(item: &Value<'_>) -> bool {
    item.get_ref()
        .as_table()
        .is_some_and(|t| t.contains_key("use"))
}

/// `value` with every span moved by `base` (a built-in procedure's file placed after the
/// drill's).
fn shift<'i>(value: &Value<'i>, base: usize) -> Value<'i> {
    let span = value.span();
    let span = span.start + base..span.end + base;
    let inner = match value.get_ref() {
        DeValue::Array(items) => {
            let mut array = DeArray::new();
            for item in items.iter() {
                array.push(shift(item, base));
            }
            DeValue::Array(array)
        }
        DeValue::Table(table) => DeValue::Table(
            table
                .iter()
                .map(|(k, v)| {
                    let ks = k.span();
                    let key = Spanned::new(ks.start + base..ks.end + base, k.get_ref().clone());
                    (key, shift(v, base))
                })
                .collect(),
        ),
        other => other.clone(),
    };
    Spanned::new(span, inner)
}

/// The names `${…}` refers to in every string of `value`.
fn references(value: &Value<'_>, names: &mut BTreeSet<String>) {
    match value.get_ref() {
        DeValue::String(s) => {
            if let Ok((_, refs)) = Template::scan(s) {
                names.extend(refs.into_iter().map(|(_, n)| n));
            }
        }
        DeValue::Array(items) => items.iter().for_each(|v| references(v, names)),
        DeValue::Table(t) => t.iter().for_each(|(_, v)| references(v, names)),
        _ => {}
    }
}

/// What a value weighs: its text and [`NODE_BYTES`] per value and key.
fn weight(value: &DeValue<'_>) -> usize {
    NODE_BYTES
        + match value {
            DeValue::String(s) => s.len(),
            DeValue::Array(items) => items.iter().map(|v| weight(v.get_ref())).sum(),
            DeValue::Table(t) => t
                .iter()
                .map(|(k, v)| NODE_BYTES + k.get_ref().len() + weight(v.get_ref()))
                .sum(),
            _ => 0,
        }
}

/// What [`substitute`] would make of `value` weighs, found without making it.
fn substituted_weight(value: &Value<'_>, args: &BTreeMap<String, Value<'_>>) -> usize {
    match value.get_ref() {
        DeValue::String(s) => {
            let whole = whole_arg(s, args);
            if let Some(arg) = whole {
                return weight(arg.get_ref());
            }
            let Ok((_, refs)) = Template::scan(s) else {
                return weight(value.get_ref());
            };
            let added: usize = refs
                .iter()
                .filter_map(|(_, name)| args.get(name))
                .map(|arg| as_text(arg.get_ref()).len())
                .sum();
            NODE_BYTES + s.len() + added
        }
        DeValue::Array(items) => {
            NODE_BYTES
                + items
                    .iter()
                    .map(|v| substituted_weight(v, args))
                    .sum::<usize>()
        }
        DeValue::Table(t) => {
            NODE_BYTES
                + t.iter()
                    .map(|(k, v)| NODE_BYTES + k.get_ref().len() + substituted_weight(v, args))
                    .sum::<usize>()
        }
        _ => NODE_BYTES,
    }
}

/// The argument a string that is exactly `${PARAM}` stands for (it takes the argument's type).
fn whole_arg<'a, 'i>(s: &str, args: &'a BTreeMap<String, Value<'i>>) -> Option<&'a Value<'i>> {
    s.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .and_then(|name| args.get(name))
}

/// A value as text, for `${PARAM}` inside a string.
fn as_text(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map_or_else(|_| i.as_str().to_string(), |n| n.to_string()),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

/// `value` with the arguments in place of their `${PARAM}`.
fn substitute<'i>(value: &Value<'i>, args: &BTreeMap<String, Value<'i>>) -> Value<'i> {
    match value.get_ref() {
        DeValue::String(s) => {
            let whole = whole_arg(s, args);
            if let Some(arg) = whole {
                return arg.clone();
            }
            let Ok((_, refs)) = Template::scan(s) else {
                return value.clone();
            };
            if !refs.iter().any(|(_, n)| args.contains_key(n)) {
                return value.clone();
            }
            let mut text = String::new();
            let mut from = 0;
            for (at, name) in refs {
                if let Some(arg) = args.get(&name) {
                    text.push_str(&s[from..at]);
                    text.push_str(&as_text(arg.get_ref()));
                    from = at + name.len() + 3;
                }
            }
            text.push_str(&s[from..]);
            Spanned::new(value.span(), DeValue::String(Cow::Owned(text)))
        }
        DeValue::Array(items) => {
            let mut array = DeArray::new();
            for item in items.iter() {
                array.push(substitute(item, args));
            }
            Spanned::new(value.span(), DeValue::Array(array))
        }
        DeValue::Table(table) => Spanned::new(
            value.span(),
            DeValue::Table(
                table
                    .iter()
                    .map(|(k, v)| (k.clone(), substitute(v, args)))
                    .collect(),
            ),
        ),
        _ => value.clone(),
    }
}

/// A step of a procedure with the `when` of its use added to its own.
fn with_when<'i>(step: Value<'i>, when: Option<&(Key<'i>, Value<'i>)>) -> Value<'i> {
    let (Some((key, outer)), Some(table)) = (when, step.get_ref().as_table()) else {
        return step;
    };
    let mut table = table.clone();
    let merged = match table.get("when") {
        None => outer.clone(),
        Some(own) => {
            let mut items = DeArray::new();
            for w in [own, outer] {
                match w.get_ref().as_array() {
                    Some(list) => list.iter().for_each(|i| items.push(i.clone())),
                    None => items.push(w.clone()),
                }
            }
            Spanned::new(own.span(), DeValue::Array(items))
        }
    };
    table.insert(key.clone(), merged);
    Spanned::new(step.span(), DeValue::Table(table))
}
