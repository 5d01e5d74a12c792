//! The checker and the checked-in schema (`fixtures/drill.schema.json`, which
//! `the_checked_in_schema_is_the_current_one` keeps equal to [`super::drill_schema`]) agree,
//! kind by kind and key by key, with the one table (`spec.rs`): the keys each kind takes, those
//! it requires, and each key's type.

use std::collections::BTreeSet;

use serde_json::Value;
use strum::IntoEnumIterator;

use super::model::ActionKind;
use super::spec::{ActionSpec, KeySpec, KindSpec, On, Type};

/// The checked-in schema, as editors read it.
fn fixture() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/drill.schema.json");
    let text = std::fs::read_to_string(&path).expect("the checked-in schema");
    serde_json::from_str(&text).expect("JSON")
}

/// The fixture's schema of a step of `kind`.
fn fixture_kind<'s>(schema: &'s Value, kind: &str) -> &'s Value {
    schema["properties"]["steps"]["items"]["oneOf"]
        .as_array()
        .expect("the step forms")
        .iter()
        .find(|form| form["title"] == kind)
        .unwrap_or_else(|| panic!("no `{kind}` step in the schema"))
}

/// The names of a schema's `properties` and those of its `required`.
fn properties_and_required(schema: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let properties = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    let required = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|r| r.as_str().expect("a key").to_string())
        .collect();
    (properties, required)
}

/// A validator of the checked-in schema.
fn validator() -> jsonschema::Validator {
    jsonschema::draft7::new(&fixture()).expect("a draft-07 schema")
}

/// `key = EXAMPLE`: a line the checker and the schema both take.
fn line(key: &KeySpec) -> String {
    format!("{} = {}", key.name, example(key))
}

/// A value of `key` that the checker and the schema both take, as TOML.
fn example(key: &KeySpec) -> String {
    match key.ty {
        // `since` names the mark the drill's first step sets.
        Type::Text if key.name == "since" => "\"m\"".into(),
        Type::Text => "\"x\"".into(),
        Type::Id => "\"s1\"".into(),
        Type::Variable => "\"v\"".into(),
        Type::Directory { .. } => "\"/disk4/x\"".into(),
        Type::Boolean => "false".into(),
        Type::Count { min, .. } => min.to_string(),
        Type::ReadyCode { .. } | Type::ExitCode => "0".into(),
        Type::ReadyCodes { .. } => "[0]".into(),
        Type::Duration => "\"1s\"".into(),
        Type::OneOf(names) => format!("\"{}\"", names[0]),
        Type::Node { .. } => "\"node1\"".into(),
        Type::Regexes => "[\"x\"]".into(),
        Type::Areas => "[\"data\"]".into(),
        Type::Seconds => "1".into(),
        Type::When => "\"sync\"".into(),
        Type::Wait => "{ pg_isready = 0 }".into(),
        // The first action (`start`) takes no parameters.
        Type::Params => "{}".into(),
        Type::Settings => "{ work_mem = \"8MB\" }".into(),
    }
}

/// A value of another type than `key`'s, as TOML, and how the checker names its type.
fn wrong(key: &KeySpec) -> (&'static str, &'static str) {
    if key.ty.shapes().contains(&super::spec::Shape::Boolean) {
        ("\"x\"", "a string")
    } else {
        ("true", "a boolean")
    }
}

/// A drill whose last step has these keys (`key = value` lines); the step before it sets the
/// mark `m`.
fn drill(lines: &[String]) -> String {
    format!(
        "name = \"d\"\ntitle = \"t\"\nproves = \"p\"\n[[steps]]\ntitle = \"mark\"\nmark = \"m\"\n[[steps]]\n{}\n",
        lines.join("\n")
    )
}

/// The checker's diagnostics for `text` (none: it is valid).
fn diagnostics(text: &str) -> Vec<String> {
    match super::parse("d.toml", text) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

/// Whether the schema refuses `text`.
fn schema_refuses(v: &jsonschema::Validator, text: &str) -> bool {
    let doc: Value = toml::from_str(text).expect("TOML");
    !v.is_valid(&doc)
}

/// Every key some kind takes, each with the first kind's declaration of it.
fn every_step_key() -> Vec<KeySpec> {
    let mut all: Vec<KeySpec> = Vec::new();
    for spec in KindSpec::all() {
        for k in spec.keys() {
            if !all.iter().any(|a| a.name == k.name) {
                all.push(k);
            }
        }
    }
    all
}

/// For every kind: the keys the checker takes and those it requires are the table's, and the
/// checked-in schema's `properties` and `required` for that kind are the same sets. The
/// checker is asked, not read: a step with every key of its kind passes both; a key of another
/// kind added is refused by both, by name; each key taken away is refused exactly when the
/// table requires it.
#[test]
fn the_schema_and_the_checker_take_and_require_the_same_keys_per_kind() {
    let schema = fixture();
    let v = jsonschema::draft7::new(&schema).expect("a draft-07 schema");
    let every = every_step_key();
    for spec in KindSpec::all() {
        let kind = spec.name();
        let keys = spec.keys();
        let full: Vec<String> = keys.iter().map(line).collect();
        assert_eq!(diagnostics(&drill(&full)), Vec::<String>::new(), "{kind}");
        assert!(!schema_refuses(&v, &drill(&full)), "{kind}: {full:?}");

        let mut taken: BTreeSet<String> = BTreeSet::new();
        for other in &every {
            if keys.iter().any(|k| k.name == other.name) {
                taken.insert(other.name.to_string());
                continue;
            }
            let text = drill(&[full.clone(), vec![line(other)]].concat());
            // Another kind's key makes two kinds, which is refused too.
            let refused_by_name = diagnostics(&text).iter().any(|d| {
                d.contains(&format!("`{}` does not apply", other.name))
                    || d.contains(&format!("unknown key `{}`", other.name))
                    || (d.contains("kind keys") && d.contains(other.name))
            });
            if !refused_by_name {
                taken.insert(other.name.to_string());
            }
            assert!(schema_refuses(&v, &text), "{kind} with {}", other.name);
        }

        let mut required = BTreeSet::new();
        for (i, k) in keys.iter().enumerate() {
            let without: Vec<String> = [&full[..i], &full[i + 1..]].concat();
            let refused = !diagnostics(&drill(&without)).is_empty();
            assert_eq!(
                refused,
                schema_refuses(&v, &drill(&without)),
                "{kind} without {}",
                k.name
            );
            if refused {
                required.insert(k.name.to_string());
            }
        }

        let names = |f: fn(&KeySpec) -> bool| -> BTreeSet<String> {
            keys.iter()
                .filter(|k| f(k))
                .map(|k| k.name.to_string())
                .collect()
        };
        let (properties, schema_required) = properties_and_required(fixture_kind(&schema, kind));
        assert_eq!(taken, names(|_| true), "{kind}: the keys the checker takes");
        assert_eq!(properties, taken, "{kind}: the schema's properties");
        assert_eq!(
            required,
            names(|k| k.required),
            "{kind}: the keys the checker requires"
        );
        assert_eq!(
            schema_required, required,
            "{kind}: the schema's required keys"
        );
    }
}

/// Each of `keys` in turn of another type, the others of theirs, in the drill `make` makes of
/// their lines: the checker says so once, in the table's words, and the schema refuses it.
fn each_mistyped_is_refused(
    v: &jsonschema::Validator,
    whose: &str,
    keys: &[KeySpec],
    make: impl Fn(&[String]) -> String,
) {
    for (i, k) in keys.iter().enumerate() {
        let (value, found) = wrong(k);
        let mut lines: Vec<String> = keys.iter().map(line).collect();
        lines[i] = format!("{} = {value}", k.name);
        let text = make(&lines);
        let said = format!("`{}` must be {}, not {found}", k.name, k.ty.expected());
        let diags = diagnostics(&text);
        let about: Vec<&String> = diags
            .iter()
            .filter(|d| d.contains(&format!("`{}` must be", k.name)))
            .collect();
        assert_eq!(about.len(), 1, "{whose}.{}: {diags:#?}", k.name);
        assert!(
            about[0].contains(&said),
            "{whose}: {} (not {said})",
            about[0]
        );
        assert!(schema_refuses(v, &text), "{whose}.{}", k.name);
    }
}

/// For every kind and key: a value of another type is refused by the schema and by the
/// checker, once, in the table's words ("`key` must be …").
#[test]
fn a_key_of_the_wrong_type_is_refused_by_both_in_the_tables_words() {
    let v = validator();
    for spec in KindSpec::all() {
        each_mistyped_is_refused(&v, spec.name(), &spec.keys(), drill);
    }
}

/// The same for every action's parameters; and all of them with right values pass the schema.
#[test]
fn an_action_parameter_of_the_wrong_type_is_refused_by_both() {
    let v = validator();
    for action in ActionKind::iter() {
        let params = &ActionSpec::of(action).together();
        let step = |with: &[String]| {
            drill(&[
                "title = \"a\"".to_string(),
                "on = \"node2\"".to_string(),
                format!("action = \"{}\"", action.name()),
                format!("with = {{ {} }}", with.join(", ")),
            ])
        };
        let right: Vec<String> = params.iter().map(line).collect();
        let name = action.name();
        assert!(!schema_refuses(&v, &step(&right)), "{name}: {right:?}");
        each_mistyped_is_refused(&v, name, params, step);
    }
}

/// `on = "all"` is taken by the checker and by the schema for the same actions: those the
/// table says act on every node at once.
#[test]
fn the_schema_and_the_checker_take_all_nodes_for_the_same_actions() {
    let v = validator();
    for action in ActionKind::iter() {
        let spec = ActionSpec::of(action);
        let with: Vec<String> = spec.needed().iter().map(line).collect();
        let step = |on: &str| {
            drill(&[
                "title = \"a\"".to_string(),
                format!("on = \"{on}\""),
                format!("action = \"{}\"", action.name()),
                format!("with = {{ {} }}", with.join(", ")),
            ])
        };
        let one_only = spec.on == On::One;
        assert!(!schema_refuses(&v, &step("node2")), "{}", action.name());
        let all = step("all");
        let checker_refuses = diagnostics(&all)
            .iter()
            .any(|d| d.contains("acts on one node"));
        assert_eq!(checker_refuses, one_only, "{}", action.name());
        assert_eq!(schema_refuses(&v, &all), one_only, "{}", action.name());
    }
}
