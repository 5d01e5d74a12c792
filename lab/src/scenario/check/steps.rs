//! A step: its kind, its common keys, what it does, and the `wait` table.

use strum::IntoEnumIterator;
use toml::de::DeValue;

use super::*;

impl<'a> Checker<'a> {
    /// Checks a step against the roles the steps before it leave, and applies it to them.
    fn roles_after(
        &mut self,
        n: usize,
        on: Option<&NodeRef>,
        kind: &StepKind,
        entries: &[(&Key<'_>, &Value<'_>)],
        (on_value, kind_value, at): (Option<&Value<'_>>, Option<&Value<'_>>, &Range<usize>),
    ) {
        let with_from = get(entries, "with")
            .and_then(|w| w.get_ref().as_table())
            .and_then(|t| t.get("from"))
            .map(|v| v.span());
        for (place, message) in self.roles.step(n, on, kind) {
            let span = match place {
                At::On => on_value.map(|v| v.span()),
                At::Kind => kind_value.map(|v| v.span()),
                At::From => with_from.clone(),
            };
            self.err(span.unwrap_or(at.clone()), message);
        }
    }

    /// Two steps in a row whose `when`s are each other's opposite (`when = "c"`, then `when =
    /// "not c"`) are alternatives: one of them runs, so the second is checked against the roles
    /// as they were before the first. Keeps this step's `when` and roles for the next step.
    fn alternative_to_the_last(&mut self, when: Option<&Vec<When>>) {
        let last = self.alternative.take();
        let Some(when) = when.filter(|w| !w.is_empty()) else {
            return;
        };
        let opposite = |a: &[When], b: &[When]| matches!((a, b), ([x], [y]) if x.condition == y.condition && x.holds != y.holds);
        if let Some((last_when, before)) = last {
            if opposite(&last_when, when) {
                self.roles = before;
                return;
            }
        }
        self.alternative = Some((when.clone(), self.roles.clone()));
    }

    /// Makes what step `n` defines (its capture, its mark) known to the steps after it, even
    /// when the step has errors, so that their uses are not reported again.
    fn defines(&mut self, n: usize, entries: &[(&Key<'_>, &Value<'_>)], kind: Option<&StepKind>) {
        // Define what this step defines for the steps after it, even if it has errors.
        if let Some(name) = get(entries, "capture").and_then(|v| v.get_ref().as_str()) {
            if is_variable(name) && !self.scope.defined_set.contains(name) {
                self.define(name.to_string());
            }
        }
        if let Some(StepKind::Mark(name)) = kind {
            if !self.scope.mark_set.contains_key(name) {
                self.scope.marks.push((name.clone(), n));
                self.scope.mark_set.insert(name.clone(), n);
            }
        }
    }

    pub(super) fn steps<'i>(
        &mut self,
        value: &Value<'i>,
        library: &expand::Library<'i>,
    ) -> Option<Vec<Step>> {
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type("steps", value, "an array of [[steps]] tables");
            return None;
        };
        if items.is_empty() {
            self.err(value.span(), "a drill needs at least one step");
            return None;
        }
        let (items, expanded) = self.expand(items.as_ref(), library);
        // What later steps define, for "used before it is defined" messages.
        for (i, item) in items.iter().enumerate() {
            if let Some(table) = item.value.get_ref().as_table() {
                let note = |key: &str, map: &mut BTreeMap<String, usize>| {
                    if let Some(name) = table.get(key).and_then(|v| v.get_ref().as_str()) {
                        map.entry(name.to_string()).or_insert(i + 1);
                    }
                };
                note("capture", &mut self.scope.captures);
                note("mark", &mut self.scope.all_marks);
            }
        }
        let mut steps = Vec::new();
        let mut ok = expanded;
        for (i, item) in items.iter().enumerate() {
            self.origin.clone_from(&item.origin);
            match self.step(i, &item.value) {
                Some(step) => steps.push(step),
                None => ok = false,
            }
        }
        self.origin.clear();
        ok.then_some(steps)
    }

    /// What the checker knows of a step's kind, and the kind key's value; reports a step with
    /// no kind or with two, and the keys its kind does not take.
    fn step_kind<'t, 'i>(
        &mut self,
        n: usize,
        at: &Range<usize>,
        entries: &[(&'t Key<'i>, &'t Value<'i>)],
    ) -> (Option<KindSpec>, Option<&'t Value<'i>>) {
        let kinds: Vec<&(&Key<'i>, &Value<'i>)> = entries
            .iter()
            .filter(|(k, _)| KINDS.contains(&k.get_ref().as_ref()))
            .collect();
        let spec = match kinds.as_slice() {
            [(k, _)] => k.get_ref().parse::<Kind>().ok().map(KindSpec::of),
            [] => {
                let unknown: Vec<_> = entries
                    .iter()
                    .filter(|(k, _)| !is_step_key(k.get_ref()))
                    .collect();
                for (k, _) in &unknown {
                    self.err(
                        k.span(),
                        format!(
                            "unknown key `{}` in step {n}, which has no kind: a step needs \
                             exactly one of {}",
                            k.get_ref(),
                            list(KINDS)
                        ),
                    );
                }
                if unknown.is_empty() {
                    self.err(
                        at.clone(),
                        format!("step {n} has no kind: add exactly one of {}", list(KINDS)),
                    );
                }
                None
            }
            [_, (second, _), ..] => {
                let names: Vec<&str> = kinds.iter().map(|(k, _)| k.get_ref().as_ref()).collect();
                self.err(
                    second.span(),
                    format!(
                        "step {n} has {} kind keys ({}): a step does exactly one thing, keep one",
                        names.len(),
                        list(&names)
                    ),
                );
                None
            }
        };
        // Keys this kind does not take.
        if let Some(spec) = spec {
            let keys: Vec<&str> = spec.keys().iter().map(|k| k.name).collect();
            for (k, _) in entries {
                let key: &str = k.get_ref();
                if keys.contains(&key) {
                    continue;
                }
                let step = a_step(spec.name());
                let message = if is_step_key(key) {
                    format!(
                        "`{key}` does not apply to {step}: expected one of {}",
                        list(&keys)
                    )
                } else {
                    format!(
                        "unknown key `{key}` in {step}: expected one of {}",
                        list(&keys)
                    )
                };
                self.err(k.span(), message);
            }
        }
        (spec, kinds.first().map(|(_, v)| *v))
    }

    fn step(&mut self, index: usize, value: &Value<'_>) -> Option<Step> {
        let n = index + 1;
        self.step_no = n;
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type("steps", value, "an array of [[steps]] tables");
            return None;
        };
        let at = value.span();
        let entries = entries(table);
        self.notes.mistyped.clear();
        let (spec, kind_value) = self.step_kind(n, &at, &entries);
        // The keys of its kind (only the common ones when its kind is not known).
        let keys = spec.map_or_else(|| common_keys().to_vec(), |s| s.keys());
        self.typed(&keys, &entries);
        self.missing(n, &at, spec, &keys, &entries);
        let takes = |key: &str| spec.is_none() || keys.iter().any(|k| k.name == key);

        // The common keys.
        // A title is a template too: reports and runbooks show it rendered.
        let title = match get(&entries, "title") {
            // A title is shown with its variables' values: they must be defined here.
            Some(v) => self
                .line("title", v)
                .filter(|t| self.template_of(t, v.span()).is_some()),
            None => None,
        };
        let id = self.opt(get(&entries, "id"), |cx, v| {
            let id = cx.pattern("id", v, is_id, "id", ID_RULE)?;
            if let Some(first) = cx.scope.ids.get(&id) {
                cx.err(
                    v.span(),
                    format!("duplicate id `{id}`: step {first} already uses it"),
                );
                return None;
            }
            cx.scope.ids.insert(id.clone(), n);
            Some(id)
        });
        let optional = self.opt(get(&entries, "optional"), |cx, v| cx.boolean("optional", v));
        let when = self.opt(get(&entries, "when"), |cx, v| cx.when(v));

        let timeout = self.opt(
            get(&entries, "timeout").filter(|_| takes("timeout")),
            |cx, v| cx.positive_duration("timeout", v),
        );
        let on_value = get(&entries, "on").filter(|_| takes("on"));
        let allow_all = spec.is_none_or(|s| s.on == On::OneOrAll);
        let on = self.opt(on_value, |cx, v| cx.node("on", v, allow_all));
        let capture_value = get(&entries, "capture").filter(|_| takes("capture"));
        let capture = self.opt(capture_value, |cx, v| cx.capture(v));
        if let (Some(v), Some(Some(NodeRef::All))) = (capture_value, &on) {
            self.err(v.span(), "`capture` needs one node, not `on = \"all\"`");
        }

        let kind = match (spec, kind_value) {
            (Some(spec), Some(v)) => self.kind(spec.kind, v, &entries),
            _ => None,
        };
        if let (Some(action), Some(Some(NodeRef::All)), Some(v)) =
            (kind.as_ref().and_then(StepKind::action), &on, on_value)
        {
            self.on_all(action.kind(), v);
        }

        self.alternative_to_the_last(when.as_ref().and_then(Option::as_ref));
        if let (Some(kind), Some(on)) = (&kind, &on) {
            let places = (on_value, kind_value, &at);
            self.roles_after(n, on.as_ref(), kind, &entries, places);
        }
        self.defines(n, &entries, kind.as_ref());

        // A step from a procedure is on the line of the (outermost) use.
        let at_line = self.origin.first().map_or(at.start, |o| o.used_at());
        let line = self.sources.line(at_line);
        Some(Step {
            index,
            line,
            id: id?,
            title: title?,
            on: on?,
            timeout: timeout?,
            capture: capture?,
            optional: optional?.unwrap_or(false),
            when: when?.unwrap_or_default(),
            kind: kind?,
        })
    }

    /// `capture`: a variable name of the drill's own, not captured before.
    fn capture(&mut self, value: &Value<'_>) -> Option<String> {
        let name = self.pattern(
            "capture",
            value,
            is_variable,
            "variable name",
            VARIABLE_RULE,
        )?;
        if BUILTIN_VARIABLES.contains(&name.as_str()) {
            self.err(
                value.span(),
                format!(
                    "`{name}` is a built-in variable: capture into a name of your own, such as \
                     `{name}_value`"
                ),
            );
            return None;
        }
        let from_procedure = !self.origin.is_empty();
        let again = from_procedure && self.scope.procedure_captures.contains(&name);
        if self.scope.defined_set.contains(&name) && !again {
            let first = self.scope.captures.get(&name).copied().unwrap_or(0);
            self.err(
                value.span(),
                format!("variable `{name}` is already captured by step {first}"),
            );
            return None;
        }
        if from_procedure {
            self.scope.procedure_captures.insert(name.clone());
        }
        Some(name)
    }

    /// Refuses `on = "all"` (at `on`) for an action that acts on one node ([`ActionSpec::on`]).
    fn on_all(&mut self, action: ActionKind, on: &Value<'_>) {
        if ActionSpec::of(action).on == On::OneOrAll {
            return;
        }
        let all: Vec<&str> = ActionKind::iter()
            .filter(|a| ActionSpec::of(*a).on == On::OneOrAll)
            .map(ActionKind::name)
            .collect();
        let message = format!(
            "action `{}` acts on one node: `all` is allowed only for {}",
            action.name(),
            and_list(&all)
        );
        self.err(on.span(), message);
    }

    /// Reports each of `keys` that is required and missing from `entries` (step `n`, at `at`,
    /// of kind `spec` when it is known).
    fn missing(
        &mut self,
        n: usize,
        at: &Range<usize>,
        spec: Option<KindSpec>,
        keys: &[KeySpec],
        entries: &[(&Key<'_>, &Value<'_>)],
    ) {
        for key in keys.iter().filter(|k| k.required) {
            if get(entries, key.name).is_some() {
                continue;
            }
            let message = match spec.filter(|_| !common_keys().contains(key)) {
                Some(spec) => format!(
                    "{} needs `{}`: {}",
                    a_step(spec.name()),
                    key.name,
                    key.ty.expected()
                ),
                None => format!("missing `{}` in step {n}: every step needs one", key.name),
            };
            self.err(at.clone(), message);
        }
    }

    /// A `run` step's command and keys.
    fn run_step(
        &mut self,
        value: &Value<'_>,
        entries: &[(&Key<'_>, &Value<'_>)],
    ) -> Option<StepKind> {
        let opt = |key: &str| get(entries, key);
        let command = self.template("run", value);
        self.not_hand_quoted(&command, value.span(), &['"'], "a command (one shell word)");
        let user = self.opt(opt("user"), |cx, v| {
            cx.choice("user", v, &["postgres", "root"], "user")
                .map(|i| [User::Postgres, User::Root][i])
        });
        let expect_exit = self.opt(opt("expect_exit"), |cx, v| cx.exit_code(v));
        let expect_output = self.opt(opt("expect_output"), |cx, v| cx.regex("expect_output", v));
        let background = self.opt(opt("background"), |cx, v| cx.boolean("background", v));
        // A background command's exit is never checked: `expect_exit = "any"` says so
        // and is accepted; anything that needs its end is refused.
        if background == Some(Some(true)) {
            for key in ["capture", "expect_exit", "expect_output"] {
                if key == "expect_exit" && expect_exit == Some(Some(None)) {
                    continue;
                }
                if let Some(span) = key_span(entries, key) {
                    self.err(
                        span,
                        format!(
                            "`{key}` does not apply to a background command: it runs \
                                 until the drill ends and its exit is not checked"
                        ),
                    );
                }
            }
        }
        let background = background?.unwrap_or(false);
        Some(StepKind::Run {
            command: command?,
            user: user?.unwrap_or(User::Postgres),
            expect_exit: if background {
                None
            } else {
                expect_exit?.unwrap_or(Some(0))
            },
            expect_output: expect_output?,
            background,
        })
    }

    fn kind(
        &mut self,
        kind: Kind,
        value: &Value<'_>,
        entries: &[(&Key<'_>, &Value<'_>)],
    ) -> Option<StepKind> {
        let opt = |key: &str| get(entries, key);
        match kind {
            Kind::Run => self.run_step(value, entries),
            Kind::Sql => {
                let sql = self.template("sql", value);
                self.not_hand_quoted(&sql, value.span(), &['\'', '"'], "SQL (one literal)");
                let db = self.opt(opt("db"), |cx, v| cx.line("db", v));
                let expect = self.opt(opt("expect"), |cx, v| cx.template("expect", v));
                let measure = self.opt(opt("measure"), |cx, v| {
                    let name =
                        cx.pattern("measure", v, is_variable, "measure name", VARIABLE_RULE)?;
                    if let Some(first) = cx.scope.measures.get(&name) {
                        let first = *first;
                        cx.err(
                            v.span(),
                            format!(
                                "duplicate measure `{name}`: step {first} already measures it \
                                 (reports show each measure once)"
                            ),
                        );
                        return None;
                    }
                    cx.scope.measures.insert(name.clone(), cx.step_no);
                    Some(name)
                });
                Some(StepKind::Sql {
                    sql: sql?,
                    db: db?.unwrap_or_else(|| DEFAULT_DB.to_string()),
                    expect: expect?,
                    measure: measure?,
                })
            }
            Kind::Action => self.action(value, opt("with")).map(StepKind::Action),
            Kind::Fault => {
                let name = self.choice("fault", value, FAULTS, "fault");
                let heal = self.opt(opt("heal"), |cx, v| cx.boolean("heal", v));
                if let (Some(i), Some(Some(true)), Some(v)) = (name, heal, opt("heal")) {
                    if !crate::fault::find(FAULTS[i]).is_ok_and(|f| f.healable) {
                        self.err(
                            v.span(),
                            format!(
                                "fault `{}` has no heal: recover as the document does (promote \
                                 the standby, or restore from a backup)",
                                FAULTS[i]
                            ),
                        );
                        return None;
                    }
                }
                Some(StepKind::Fault {
                    fault: <crate::fault::Fault as strum::VariantArray>::VARIANTS[name?],
                    heal: heal?.unwrap_or(false),
                })
            }
            Kind::Wait => self.wait(value).map(StepKind::Wait),
            Kind::ExpectLog => {
                let lines =
                    self.array("expect_log", value, "an array of regex strings", |cx, v| {
                        let s = cx.string("expect_log", v)?;
                        cx.regex_of("expect_log", s, v.span())
                    });
                let since = self.opt(opt("since"), |cx, v| cx.since(v));
                Some(StepKind::ExpectLog {
                    lines: lines?,
                    since: since?,
                })
            }
            Kind::ExpectMonitor => {
                let (array, code) = (MONITOR_CODES, MONITOR_CODES.item());
                let codes = self.array("expect_monitor", value, &array.expected(), |cx, v| {
                    cx.counted("expect_monitor", code, v).map(|c| c as u8)
                });
                let since = self.opt(opt("since"), |cx, v| cx.since(v));
                let of = self.opt(opt("of"), |cx, v| cx.node("of", v, false));
                Some(StepKind::ExpectMonitor {
                    codes: codes?,
                    since: since?,
                    of: of?,
                })
            }
            Kind::Mark => {
                let name = self.pattern("mark", value, is_id, "mark name", ID_RULE)?;
                // A built-in procedure's mark (`inject`'s `fault`) moves to its latest use:
                // the procedure can be used more than once.
                let builtin = !self.sources.in_drill(value.span().start);
                if let (Some(first), false) = (self.scope.mark_set.get(&name), builtin) {
                    let first = *first;
                    self.err(
                        value.span(),
                        format!("mark `{name}` is already set by step {first}"),
                    );
                    return None;
                }
                Some(StepKind::Mark(name))
            }
            Kind::Sleep => self.duration("sleep", value).map(StepKind::Sleep),
            Kind::Note => self
                .text("note", value)
                .filter(|t| self.template_of(t, value.span()).is_some())
                .map(StepKind::Note),
        }
    }

    /// `expect_exit`: an exit code, or "any" (`Some(None)`).
    fn exit_code(&mut self, value: &Value<'_>) -> Option<Option<i64>> {
        let expected = "an exit code (0 to 255) or \"any\"";
        match value.get_ref() {
            DeValue::String(s) if s == "any" => Some(None),
            DeValue::String(s) => {
                self.err(
                    value.span(),
                    format!("`expect_exit` must be {expected}, not \"{s}\""),
                );
                None
            }
            _ => self
                .integer("expect_exit", value, 0..=255, expected)
                .map(Some),
        }
    }

    fn wait(&mut self, value: &Value<'_>) -> Option<WaitFor> {
        const FORMS: &[&str] = &["pg_isready", "sql", "log"];
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type("wait", value, &Type::Wait.expected());
            return None;
        };
        let entries = entries(table);
        let keys: Vec<&str> = WAIT_KEYS.iter().map(|k| k.name).collect();
        for (k, _) in &entries {
            if !keys.contains(&k.get_ref().as_ref()) {
                self.err(
                    k.span(),
                    format!(
                        "unknown key `{}` in `wait`: expected one of {}",
                        k.get_ref(),
                        list(&keys)
                    ),
                );
            }
        }
        self.typed(WAIT_KEYS, &entries);
        let forms: Vec<_> = entries
            .iter()
            .filter(|(k, _)| FORMS.contains(&k.get_ref().as_ref()))
            .collect();
        let (form, form_value) = match forms.as_slice() {
            [(k, v)] => (k.get_ref().as_ref(), *v),
            [] => {
                self.err(
                    value.span(),
                    format!("`wait` needs exactly one of {}", or_list(FORMS)),
                );
                return None;
            }
            [(first, _), (second, _), ..] => {
                self.err(
                    second.span(),
                    format!(
                        "`wait` takes exactly one of {}, found `{}` and `{}`",
                        or_list(FORMS),
                        first.get_ref(),
                        second.get_ref()
                    ),
                );
                return None;
            }
        };
        if form != "log" {
            if let Some(span) = key_span(&entries, "since") {
                self.err(
                    span,
                    format!("`since` goes with `log` in `wait`, not with `{form}`"),
                );
            }
        }
        if form != "sql" {
            for key in ["equals", "db"] {
                if let Some(span) = key_span(&entries, key) {
                    self.err(
                        span,
                        format!("`{key}` goes with `sql` in `wait`, not with `{form}`"),
                    );
                }
            }
        }
        match form {
            "pg_isready" => {
                let code = self.counted("pg_isready", WAIT_READY, form_value)?;
                Some(WaitFor::PgIsReady(code as u8))
            }
            "sql" => {
                let sql = self.template("sql", form_value);
                self.not_hand_quoted(&sql, form_value.span(), &['\'', '"'], "SQL (one literal)");
                let equals = match get(&entries, "equals") {
                    Some(v) => self.template("equals", v),
                    None => {
                        self.err(
                            value.span(),
                            "`wait.sql` needs `equals`: the text the first value must equal",
                        );
                        None
                    }
                };
                let db = self.opt(get(&entries, "db"), |cx, v| cx.line("db", v));
                Some(WaitFor::Sql {
                    sql: sql?,
                    equals: equals?,
                    db: db?.unwrap_or_else(|| DEFAULT_DB.to_string()),
                })
            }
            _ => {
                let pattern = self.regex("log", form_value);
                let since = self.opt(get(&entries, "since"), |cx, v| cx.since(v));
                Some(WaitFor::Log {
                    pattern: pattern?,
                    since: since?,
                })
            }
        }
    }
}
