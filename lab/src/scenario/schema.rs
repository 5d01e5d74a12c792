//! A JSON Schema (draft 07) of the drill format, for editors with TOML schema support (taplo,
//! Even Better TOML): they complete keys and check values as a drill is typed.
//!
//! The steps' part is written from the one table of step kinds and actions (`spec.rs`: each
//! kind's and each action's keys, their types, whether required, their descriptions), which
//! the checker reads its key checks from too; the rest from the checker's own lists
//! (`check::TOP_KEYS`, the procedures' and `use`'s keys) and the model's vocabulary. The checker
//! stays the authority (it also checks paths, regexes, variables and marks, which a schema
//! cannot); the schema never refuses a drill the checker accepts (tested on every built-in
//! drill), and accepts no key, and misses no required key, the checker refuses (tested per kind).

use serde_json::{json, Map, Value};

use strum::IntoEnumIterator;

use super::check::{builtin_procedures, TOP_KEYS};
use super::check::{PROCEDURE_KEYS, USE_KEYS};
use super::model::{ActionKind, Area, Condition, Kind, LOAD_SECONDS, NODES, ROLES};
use super::spec::{ActionSpec, KeySpec, KindSpec, On, Type, WAIT_KEYS, WHEN};
use crate::node::NodeId;

/// The `$id` of the schema (a name, not a place to fetch it from).
pub const SCHEMA_ID: &str = "urn:pglab:drill";

/// The duration grammar of `duration.rs`: `500ms`, `10s`, `1m30s`.
const DURATION: &str = "^([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$";

/// The schema of the drill format.
pub fn drill_schema() -> Value {
    let mut top = Map::new();
    for key in TOP_KEYS {
        top.insert(key.to_string(), top_key(key));
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "pglab drill",
        "description": "A drill: one of the report's procedures as steps that `lab drill run` performs and checks (`lab drill check` validates it fully).",
        "type": "object",
        "required": ["name", "title", "proves", "steps"],
        "additionalProperties": false,
        "properties": top,
    })
}

fn top_key(key: &str) -> Value {
    match key {
        "name" => {
            json!({"type": "string", "description": "The drill's short name, such as \"failover\"."})
        }
        "title" => json!({"type": "string", "description": "A one-line title for reports."}),
        "proves" => json!({"type": "string", "description": "What passing the drill proves."}),
        "source" => {
            json!({"type": "string", "description": "Where in the report the procedure comes from: its chapter and pages, such as \"report chapter 3, pp.21-44\"."})
        }
        "monitor" => object(
            &[
                (
                    "interval",
                    duration("How often pg_isready is recorded on every node."),
                ),
                (
                    "after_fault",
                    duration("How often pg_isready is recorded for 30 s after each fault step starts (to see a state that lasts about a second)."),
                ),
            ],
            &[],
        ),
        "lab" => object(
            &[
                (
                    "wal_disk_size",
                    json!({"type": "string", "pattern": "^[0-9]+[kmgKMG]?$", "description": "The WAL disks as tmpfs of this size, such as \"256m\"."}),
                ),
                ("settings", settings_schema("Server settings on both servers from chapter 1, written to postgresql.conf before the master's first start (as lab up --set).")),
                (
                    "data_checksums",
                    json!({"type": "boolean", "description": "Data page checksums (initdb -k), as lab up --data-checksums."}),
                ),
            ],
            &[],
        ),
        "profiles" => json!({
            "type": "object",
            "description": "[profiles.NAME] tables of values used as ${profile.KEY}.",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"type": ["string", "integer", "boolean"]}
            }
        }),
        "procedures" => {
            let builtins: Vec<&str> = builtin_procedures().iter().map(|p| p.name).collect();
            json!({
                "type": "object",
                "description": "[procedures.NAME] tables: named groups of steps, used by `use = \"NAME\"` steps.",
                "propertyNames": {"not": {"enum": builtins}},
                "additionalProperties": procedure(),
            })
        }
        "steps" => json!({"type": "array", "minItems": 1, "items": step()}),
        other => unreachable!("top-level key `{other}` has no type in the schema"),
    }
}

/// A step: exactly one kind key, with the keys that kind allows; or a use of a procedure.
fn step() -> Value {
    let mut kinds: Vec<Value> = KindSpec::all().map(|s| kind(&s)).collect();
    kinds.push(use_step());
    json!({"type": "object", "oneOf": kinds})
}

/// A procedure's table: what it does, its parameters, its steps.
fn procedure() -> Value {
    let mut props = Map::new();
    for key in PROCEDURE_KEYS {
        let value = match *key {
            "about" => string("What the procedure does, in a line."),
            "params" => json!({
                "type": "object",
                "description": "Each parameter and what it is; the steps use it as ${NAME}.",
                "additionalProperties": {"type": "string"},
            }),
            // Any value of a procedure's step may be a `${PARAM}`, of any type: the checker
            // checks them once expanded.
            "steps" => {
                json!({"type": "array", "minItems": 1, "items": {"type": "object", "description": "A step as in [[steps]], any value of which may be ${PARAM}."}})
            }
            other => unreachable!("procedure key `{other}` has no type in the schema"),
        };
        props.insert(key.to_string(), value);
    }
    json!({
        "type": "object",
        "required": ["steps"],
        "additionalProperties": false,
        "properties": props,
    })
}

/// `use = "NAME"`: the built-in procedures with their parameters, or a drill's own.
fn use_step() -> Value {
    let argument = json!({"type": ["string", "integer", "number", "boolean"]});
    let builtins = builtin_procedures();
    let names: Vec<&str> = builtins.iter().map(|p| p.name).collect();
    let mut forms: Vec<Value> = builtins
        .iter()
        .map(|p| {
            let fields: Vec<(&str, Value)> = p
                .params
                .iter()
                .map(|(name, about)| (name.as_str(), string(about)))
                .collect();
            let required: Vec<&str> = p.params.iter().map(|(n, _)| n.as_str()).collect();
            json!({
                "properties": {
                    "use": {"const": p.name, "description": p.about},
                    "with": object(&fields, &required),
                }
            })
        })
        .collect();
    forms.push(json!({
        "properties": {
            "use": {"not": {"enum": names}},
            "with": {"type": "object", "additionalProperties": argument},
        }
    }));
    let mut props = Map::new();
    for key in USE_KEYS {
        let value = match *key {
            "use" => json!({
                "anyOf": [{"enum": names}, {"type": "string"}],
                "description": "A procedure: a built-in one or one of the drill's [procedures]; it stands for its steps.",
            }),
            "with" => json!({"type": "object", "description": "The procedure's parameters."}),
            "when" => typed(&WHEN),
            other => unreachable!("use key `{other}` has no type in the schema"),
        };
        props.insert(key.to_string(), value);
    }
    json!({
        "title": "use",
        "required": ["use"],
        "additionalProperties": false,
        "properties": props,
        "oneOf": forms,
    })
}

/// A step of one kind: its keys, those it requires, and for an action each action's `with`.
fn kind(spec: &KindSpec) -> Value {
    let keys = spec.keys();
    let props: Map<String, Value> = keys
        .iter()
        .map(|k| (k.name.to_string(), typed(k)))
        .collect();
    let required: Vec<&str> = keys.iter().filter(|k| k.required).map(|k| k.name).collect();
    let mut schema = json!({
        "title": spec.name(),
        "required": required,
        "additionalProperties": false,
        "properties": props,
    });
    if spec.kind == Kind::Action {
        schema["oneOf"] = Value::Array(ActionKind::iter().map(action).collect());
    }
    schema
}

/// One action: the parameters its `with` takes, and `on` without `all` for one that acts on
/// one node.
fn action(kind: ActionKind) -> Value {
    let spec = ActionSpec::of(kind);
    let fields: Vec<(&str, Value)> = spec.params.iter().map(|p| (p.name, typed(p))).collect();
    let required: Vec<&str> = spec
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    let mut with = object(&fields, &required);
    if !spec.one_of.is_empty() {
        // Exactly one of them: each form requires its own, and no other is allowed beside it.
        let forms: Vec<Value> = spec
            .one_of
            .iter()
            .map(|name| json!({"required": [name]}))
            .collect();
        with["oneOf"] = Value::Array(forms);
    }
    let mut form = json!({
        "properties": {
            "action": {"const": kind.name()},
            "with": with,
        }
    });
    if spec.on == On::One {
        form["properties"]["on"] = of_type(Type::Node { all: false });
    }
    // `with` itself is required (no `use`: a procedure's step is the procedure's own call).
    if !required.is_empty() || !spec.one_of.is_empty() {
        form["required"] = json!(["with"]);
    }
    form
}

/// A table of the given keys and nothing else; `required` of them must be there.
fn object(fields: &[(&str, Value)], required: &[&str]) -> Value {
    let props: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": props})
}

fn duration(description: &str) -> Value {
    json!({"type": "string", "pattern": DURATION, "description": description})
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn names(names: &[&str], description: &str) -> Value {
    json!({"enum": names, "description": description})
}

/// A key: its type's schema, with its description.
fn typed(key: &KeySpec) -> Value {
    let mut value = of_type(key.ty);
    if let Some(about) = key.about {
        value["description"] = about.into();
    }
    value
}

/// The schema of a type (without a description).
fn of_type(ty: Type) -> Value {
    // The checker refuses an empty array wherever an array is taken.
    let array = |items: Value| json!({"type": "array", "minItems": 1, "items": items});
    match ty {
        Type::Text => json!({"type": "string"}),
        Type::Id => json!({"type": "string", "pattern": "^[a-z0-9_-]+$"}),
        Type::Variable => json!({"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"}),
        // A path's text before its first variable is on a disk (`check::path_problem`).
        Type::Directory { spare: false } => json!({"type": "string", "pattern": "^/disk[1-4]/"}),
        Type::Directory { spare: true } => json!({"type": "string", "pattern": "^/disk4/"}),
        Type::Boolean => json!({"type": "boolean"}),
        Type::Count { min, max, .. } => {
            let mut count = json!({"type": "integer", "minimum": min});
            if let Some(max) = max {
                count["maximum"] = max.into();
            }
            count
        }
        Type::ReadyCode { max } => json!({"type": "integer", "minimum": 0, "maximum": max}),
        Type::ReadyCodes { .. } | Type::Regexes => array(of_type(ty.item())),
        Type::Areas => {
            let mut areas = array(names(Area::NAMES, "An area."));
            areas["uniqueItems"] = true.into();
            areas
        }
        Type::Duration => json!({"type": "string", "pattern": DURATION}),
        Type::OneOf(names) => json!({"enum": names}),
        Type::Node { all } => {
            let nodes = NODES.map(NodeId::name);
            let mut choices: Vec<&str> = nodes
                .iter()
                .map(String::as_str)
                .chain(ROLES.iter().copied())
                .collect();
            if all {
                choices.push("all");
            }
            json!({"enum": choices})
        }
        Type::ExitCode => {
            json!({"oneOf": [{"type": "integer", "minimum": 0, "maximum": 255}, {"const": "any"}]})
        }
        Type::Seconds => json!({"oneOf": [
            {"type": "integer", "minimum": LOAD_SECONDS.start(), "maximum": LOAD_SECONDS.end()},
            {"type": "string"},
        ]}),
        Type::When => when(),
        Type::Wait => {
            let fields: Vec<(&str, Value)> = WAIT_KEYS.iter().map(|k| (k.name, typed(k))).collect();
            object(&fields, &[])
        }
        Type::Params => json!({"type": "object"}),
        Type::Settings => settings_schema("Server settings."),
    }
}

/// `when`: a condition (optionally `not …`) or an array of them.
fn when() -> Value {
    let names: Vec<String> = Condition::NAMES
        .iter()
        .flat_map(|c| [c.to_string(), format!("not {c}")])
        .collect();
    // The names, for completion; and the checker's whole grammar (it trims around the name).
    let alternatives = Condition::NAMES.join("|");
    let grammar = format!(r"^(\s*|not \s*)({alternatives})\s*$");
    let one = json!({"anyOf": [{"enum": names}, {"type": "string", "pattern": grammar}]});
    json!({"oneOf": [one, {"type": "array", "minItems": 1, "items": one}]})
}

/// The schema of a table of server settings (`[lab] settings`, the `set` action's `settings`).
pub(crate) fn settings_schema(description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$"},
        "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ACTIONS, FAULTS};

    fn validator() -> jsonschema::Validator {
        jsonschema::draft7::new(&drill_schema()).expect("the schema is a valid draft-07 schema")
    }

    fn as_json(toml_text: &str) -> Value {
        toml::from_str(toml_text).expect("TOML")
    }

    fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
        v.iter_errors(doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    #[test]
    fn every_built_in_drill_validates_against_the_schema() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let v = validator();
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("scenarios/") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("readable");
                let errs = errors(&v, &as_json(&text));
                assert!(errs.is_empty(), "{}: {errs:#?}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 10, "only {seen} drills in {}", dir.display());
    }

    const SMALL: &str = r#"
name = "small"
title = "a small drill"
proves = "that it validates"
[[steps]]
title = "stop node1"
on = "node1"
action = "stop"
with = { mode = "fast" }
[[steps]]
title = "wait"
sleep = "1m30s"
"#;

    #[test]
    fn a_small_drill_validates_and_its_mistakes_do_not() {
        let v = validator();
        assert_eq!(errors(&v, &as_json(SMALL)), Vec::<String>::new());
        // What is wrong, the text replaced, and what replaces it.
        let sleep = "sleep = \"1m30s\"";
        let bad = [
            (
                "an unknown top-level key",
                "name =",
                "colour = \"red\"\nname =",
            ),
            ("an unknown step key", sleep, "sleep = \"1s\"\nretries = 3"),
            ("a wrong type", sleep, "sleep = 90"),
            ("a bad duration", "1m30s", "1.5m"),
            ("an unknown action", "\"stop\"\n", "\"halt\"\n"),
            (
                "a parameter of another action",
                "mode = \"fast\"",
                "seconds = 3",
            ),
            ("a stop mode that does not exist", "\"fast\"", "\"quick\""),
            (
                "two kinds in one step",
                sleep,
                "sleep = \"1s\"\nnote = \"x\"",
            ),
            ("no kind", sleep, ""),
            (
                "on for a kind that takes no node",
                sleep,
                "sleep = \"1s\"\non = \"node1\"",
            ),
            ("an unknown node", "on = \"node1\"", "on = \"node3\""),
            (
                "an unknown condition",
                sleep,
                "sleep = \"1s\"\nwhen = \"async\"",
            ),
        ];
        for (what, from, to) in bad {
            let text = SMALL.replacen(from, to, 1);
            assert_ne!(text, SMALL, "{what}: nothing replaced");
            assert!(
                !errors(&v, &as_json(&text)).is_empty(),
                "{what} was accepted:\n{text}"
            );
        }
    }

    /// What the schema once took and the checker refuses: refused by both now.
    #[test]
    fn what_the_checker_refuses_the_schema_refuses() {
        let v = validator();
        let sleep = "sleep = \"1m30s\"";
        let step = |extra: &str| format!("{sleep}\n[[steps]]\ntitle = \"x\"\n{extra}");
        let cases: [(&str, String, String); 11] = [
            (
                "no proves",
                "proves = \"that it validates\"\n".into(),
                String::new(),
            ),
            (
                "a node's step without on",
                "on = \"node1\"\n".into(),
                String::new(),
            ),
            (
                "a code the monitor never records",
                sleep.into(),
                step("on = \"node1\"\nexpect_monitor = [0, 3]"),
            ),
            ("an empty when", sleep.into(), format!("{sleep}\nwhen = []")),
            (
                "an empty expect_log",
                sleep.into(),
                step("on = \"node1\"\nexpect_log = []"),
            ),
            (
                "an id of capitals",
                sleep.into(),
                format!("{sleep}\nid = \"Step-2\""),
            ),
            (
                "a mark of words",
                sleep.into(),
                step("mark = \"before it\""),
            ),
            (
                "a directory off the lab's disks",
                "with = { mode = \"fast\" }".into(),
                "action = \"local_backup\"\nwith = { to = \"/var/backup\" }".into(),
            ),
            (
                "a directory moved aside off the spare disk",
                "with = { mode = \"fast\" }".into(),
                "action = \"move_aside\"\nwith = { to = \"/disk1/old\" }".into(),
            ),
            (
                "a promotion of every node",
                "on = \"node1\"\naction = \"stop\"\nwith = { mode = \"fast\" }".into(),
                "on = \"all\"\naction = \"promote\"".into(),
            ),
            (
                "an area twice",
                "with = { mode = \"fast\" }".into(),
                "action = \"move_aside\"\nwith = { to = \"/disk4/a\", what = [\"wal\", \"wal\"] }"
                    .into(),
            ),
        ];
        for (what, from, to) in cases {
            let text = SMALL
                .replacen(&from, &to, 1)
                .replacen("action = \"stop\"\n", "", 1);
            assert_ne!(text, SMALL, "{what}: nothing replaced");
            assert!(
                crate::scenario::parse("small.toml", &text).is_err(),
                "{what}: the checker accepts it:\n{text}"
            );
            assert!(
                !errors(&v, &as_json(&text)).is_empty(),
                "{what}: the schema accepts it:\n{text}"
            );
        }
        let no_steps = "name = \"a\"\ntitle = \"t\"\nproves = \"p\"\nsteps = []\n";
        assert!(crate::scenario::parse("a.toml", no_steps).is_err());
        assert!(!errors(&v, &as_json(no_steps)).is_empty());
    }

    #[test]
    fn procedures_and_their_uses_validate() {
        let v = validator();
        let own = "[procedures.restart]\nparams = { node = \"the node\" }\n[[procedures.restart.steps]]\ntitle = \"restart\"\non = \"${node}\"\nrun = \"pg_ctl restart\"\n";
        let uses = "[[steps]]\nuse = \"restart\"\nwith = { node = \"node1\" }\n[[steps]]\nuse = \"promote-the-slave\"\nwith = { node = \"node2\" }\nwhen = \"sync\"\n";
        let text = format!("name = \"p\"\ntitle = \"t\"\nproves = \"p\"\n{own}{uses}");
        assert_eq!(errors(&v, &as_json(&text)), Vec::<String>::new());
        for (what, from, to) in [
            (
                "a missing parameter",
                "with = { node = \"node2\" }",
                "with = {}",
            ),
            (
                "an extra parameter",
                "\"node2\" }",
                "\"node2\", of = \"node1\" }",
            ),
            ("a title on a use", "when = \"sync\"", "title = \"x\""),
            (
                "a procedure without steps",
                "[[procedures.restart.steps]]",
                "[procedures.restart.x]",
            ),
            (
                "a built-in name for one's own",
                "[procedures.restart]",
                "[procedures.inject]",
            ),
        ] {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text, "{what}: nothing replaced");
            assert!(
                !errors(&v, &as_json(&bad)).is_empty(),
                "{what} was accepted:\n{bad}"
            );
        }
    }

    /// The schema as `lab drill schema` prints it is checked in (`fixtures/drill.schema.json`),
    /// where `.taplo.toml` points editors of this repository's drills.
    /// The schema and the checker agree on what each action needs: for every action, a step
    /// without `with` is refused by both exactly when the one table has a required parameter,
    /// the checker naming each of them, and a `with` holding just those passes the schema.
    #[test]
    fn the_schema_and_the_checker_require_the_same_parameters() {
        let v = validator();
        for kind in ActionKind::iter() {
            let step = format!(
                "name = \"a\"\ntitle = \"a\"\nproves = \"p\"\n[[steps]]\ntitle = \"s\"\non = \"node1\"\naction = \"{}\"\n",
                kind.name()
            );
            let spec = ActionSpec::of(kind);
            let required: Vec<&str> = spec
                .params
                .iter()
                .filter(|p| p.required)
                .map(|p| p.name)
                .collect();
            let schema_refuses = !errors(&v, &as_json(&step)).is_empty();
            let needs_with = !required.is_empty() || !spec.one_of.is_empty();
            assert_eq!(schema_refuses, needs_with, "{}", kind.name());
            let needs: Vec<String> = match crate::scenario::parse("a.toml", &step) {
                Ok(_) => Vec::new(),
                Err(diagnostics) => diagnostics
                    .iter()
                    .map(ToString::to_string)
                    .filter_map(|d| {
                        let rest = d.split(" needs `").nth(1)?;
                        Some(rest.split('`').next()?.to_string())
                    })
                    .collect(),
            };
            assert_eq!(needs, required, "{}", kind.name());
            let with: Vec<String> = spec
                .needed()
                .iter()
                .map(|k| format!("{} = \"x\"", k.name))
                .collect();
            let given = format!("{step}with = {{ {} }}\n", with.join(", "));
            let missing: Vec<String> = errors(&v, &as_json(&given))
                .into_iter()
                .filter(|e| e.contains("required"))
                .collect();
            assert!(missing.is_empty(), "{}: {missing:?}", kind.name());
        }
    }

    #[test]
    fn the_checked_in_schema_is_the_current_one() {
        let printed = serde_json::to_string_pretty(&drill_schema()).expect("serialises") + "\n";
        crate::golden::assert_golden("drill.schema.json", &printed);
    }

    #[test]
    fn the_schema_names_every_kind_action_and_fault() {
        let text = drill_schema().to_string();
        for name in super::super::model::KINDS
            .iter()
            .chain(ACTIONS)
            .chain(FAULTS)
        {
            assert!(text.contains(&format!("\"{name}\"")), "{name} missing");
        }
    }
}
