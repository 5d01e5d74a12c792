//! A generator of drill files, valid and not, for property tests: the checker never panics,
//! and what it prints stays bounded whatever the file.

use proptest::prelude::*;

use super::check::{MAX_DIAGNOSTICS, MAX_DIAGNOSTIC_BYTES};
use super::*;

/// Values a key may get: the vocabulary of the format, near misses and hostile text.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"node1\"".to_string()),
        Just("\"primary\"".to_string()),
        Just("\"all\"".to_string()),
        Just("\"promote\"".to_string()),
        Just("\"crash\"".to_string()),
        Just("\"10s\"".to_string()),
        Just("\"99999999999999999999h\"".to_string()),
        Just("\"8589934592g\"".to_string()),
        Just("['\\w{40}']".to_string()),
        Just("[\"(\"]".to_string()),
        Just("\"${nope}\"".to_string()),
        Just("\"${pg.wal_dir}/x\"".to_string()),
        Just("\"/disk3/${profile.dir}\"".to_string()),
        Just("\"/disk3/x; touch /tmp/p\"".to_string()),
        Just("{ mode = \"fast\", seconds = 0, to = \"/disk4/x\" }".to_string()),
        Just("{ pg_isready = 0 }".to_string()),
        Just("[0, 1, 7]".to_string()),
        Just("true".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just("1979-05-27".to_string()),
        Just("[[[[]]]]".to_string()),
        Just("\"${v}${v}${v}\"".to_string()),
        Just("\"${v}\"".to_string()),
        Just("\"a\\nb:1:1: error: forged\\u001b[2J\"".to_string()),
        "[a-z${}\\\\\"'(){}\\[\\]0-9 .;/-]{0,40}".prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

/// Keys: top-level, step and parameter names, and unknown ones.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "title",
            "on",
            "run",
            "sql",
            "action",
            "with",
            "fault",
            "heal",
            "wait",
            "expect_log",
            "expect_monitor",
            "since",
            "mark",
            "sleep",
            "note",
            "capture",
            "id",
            "timeout",
            "optional",
            "expect_exit",
            "expect_output",
            "background",
            "user",
            "db",
            "expect",
        ])
        .prop_map(str::to_string),
        "[a-z_.]{1,12}",
    ]
}

/// A step: a title and some keys with values, or raw bytes of text.
fn step() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec((key(), value()), 0..6).prop_map(|pairs| {
            let mut s = "[[steps]]\ntitle = \"t\"\n".to_string();
            for (k, v) in pairs {
                s.push_str(&format!("{k} = {v}\n"));
            }
            s
        }),
        1 => "[ -~\n]{0,80}",
    ]
}

/// A step using one of the drill's procedures (`p0` … `p3`) or a built-in one, with a `with`
/// and maybe a `when`.
fn use_step() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["p0", "p1", "p2", "p3", "inject", "nope"]),
        prop::option::of(value()),
        prop::option::of(prop::sample::select(vec![
            "\"sync\"",
            "[\"sync\", \"not sync\"]",
            "\"not literal-archive\"",
        ])),
    )
        .prop_map(|(name, with, when)| {
            let mut s = format!("[[steps]]\nuse = \"{name}\"\n");
            if let Some(v) = with {
                s.push_str(&format!("with = {{ v = {v} }}\n"));
            }
            if let Some(w) = when {
                s.push_str(&format!("when = {w}\n"));
            }
            s
        })
}

/// A drill's own procedures `p0`, `p1`, …, each with the parameter `v`, a few steps and, maybe,
/// uses of the one before (several times, passing `v` on grown) or of itself.
fn procedures() -> impl Strategy<Value = String> {
    let procedure = (
        prop::collection::vec(step(), 0..3),
        prop::option::of((value(), 1..12usize)),
        any::<bool>(),
    );
    prop::collection::vec(procedure, 0..4).prop_map(|procs| {
        let mut s = String::new();
        for (i, (steps, uses, itself)) in procs.into_iter().enumerate() {
            let header = format!("[[procedures.p{i}.steps]]");
            s.push_str(&format!(
                "[procedures.p{i}]\nparams = {{ v = \"a value\" }}\n"
            ));
            s.push_str(&format!(
                "{header}\ntitle = \"${{v}}\"\nnote = \"${{v}}\"\n"
            ));
            for step in steps {
                s.push_str(&step.replacen("[[steps]]", &header, 1));
            }
            if let (Some((arg, times)), true) = (uses, i > 0) {
                for _ in 0..times {
                    let callee = if itself { i } else { i - 1 };
                    s.push_str(&format!(
                        "{header}\nuse = \"p{callee}\"\nwith = {{ v = {arg} }}\n"
                    ));
                }
            }
        }
        s
    })
}

/// A drill file.
fn drill() -> impl Strategy<Value = String> {
    (
        prop::option::of(value()),
        prop::collection::vec((key(), value()), 0..3),
        prop::collection::vec(prop_oneof![3 => step(), 1 => use_step()], 0..12),
        procedures(),
    )
        .prop_map(|(lab, profile, steps, procedures)| {
            let mut s = "name = \"f\"\ntitle = \"T\"\nproves = \"P.\"\n".to_string();
            if let Some(size) = lab {
                s.push_str(&format!("[lab]\nwal_disk_size = {size}\n"));
            }
            if !profile.is_empty() {
                s.push_str("[profiles.default]\n");
                for (k, v) in profile {
                    s.push_str(&format!("{k} = {v}\n"));
                }
            }
            s.extend(steps);
            s.push_str(&procedures);
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        max_shrink_time: 10_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_checker_never_panics_and_stays_bounded(text in drill()) {
        if let Err(diags) = parse("f.toml", &text) {
            prop_assert!(!diags.is_empty());
            prop_assert!(diags.len() <= MAX_DIAGNOSTICS + 1);
            let mut total = 0;
            for d in &diags {
                let shown = d.to_string();
                prop_assert!(shown.starts_with("f.toml:"), "{}", shown);
                prop_assert!(!shown.contains(['\n', '\x1b']), "{}", shown);
                prop_assert!(shown.chars().count() < 800, "{}", shown);
                total += shown.len() + 1;
            }
            prop_assert!(total <= MAX_DIAGNOSTIC_BYTES + 4096, "{} bytes", total);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = parse("f.toml", &text);
    }
}
