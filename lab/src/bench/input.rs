//! `lab bench --check-input`: `lab drill check` on the worst drill files of up to 1 MiB, each
//! in its own process, for its time, peak memory and the size of what it prints. No engine.

use std::process::{Command, Stdio};
use std::time::Instant;

use super::{figure, wait_with_peak, Figure};
use crate::error::{Error, Result};
use crate::scenario::generated::{
    a_procedure_of, a_value_that_grows, one_procedure_used_often, procedures_using_procedures, HEAD,
};
use crate::scenario::MAX_FILE_BYTES;

/// `HEAD` and then `step(i)` for i = 0, 1, … while the file stays under 1 MiB.
fn fill(start: &str, step: impl Fn(usize) -> String) -> String {
    let mut text = format!("{HEAD}{start}");
    for i in 0.. {
        let next = step(i);
        if text.len() + next.len() > MAX_FILE_BYTES {
            break;
        }
        text.push_str(&next);
    }
    text
}

/// `text` padded with comment lines to almost 1 MiB: the expansion budget grows with the
/// file, so a padded file gets the most.
fn padded(text: String) -> String {
    let mut text = text;
    let line = format!("# {}\n", "p".repeat(1000));
    while text.len() + line.len() <= MAX_FILE_BYTES - 512 {
        text.push_str(&line);
    }
    text
}

/// A step on node1 capturing `v{i}`, doing `body`.
fn capture(i: usize, body: &str) -> String {
    format!("[[steps]]\ntitle = \"s\"\non = \"node1\"\ncapture = \"v{i}\"\n{body}\n")
}

/// The worst files for the checker: each makes it do the most work or say the most per byte.
/// Each is named, and said to be valid or not.
pub fn worst_files() -> Vec<(&'static str, String, bool)> {
    let mut files = valid_files();
    files.extend(refused_files());
    files
}

/// The valid ones: the most steps, names and keys a check (and a runbook) goes through.
fn valid_files() -> Vec<(&'static str, String, bool)> {
    vec![
        (
            "valid: captures, marks and distinct patterns",
            fill("", |i| {
                let prev = match i {
                    0 => "start".to_string(),
                    _ => format!("${{v{}}}", i - 1),
                };
                format!(
                    "[[steps]]\ntitle = \"s\"\non = \"node1\"\nrun = \"echo {prev}\"\ncapture = \"v{i}\"\n\
                     [[steps]]\ntitle = \"m\"\nmark = \"m{i}\"\n\
                     [[steps]]\ntitle = \"l\"\non = \"node1\"\nexpect_log = ['^LOG: +{i} [a-z_]+$']\nsince = \"m{i}\"\n"
                )
            }),
            true,
        ),
        (
            "valid: marks only",
            fill("", |i| {
                format!("[[steps]]\ntitle = \"m\"\nmark = \"m{i}\"\n")
            }),
            true,
        ),
        (
            "valid: captures, each used by the next step",
            fill("", |i| {
                let prev = if i == 0 {
                    "x".to_string()
                } else {
                    format!("${{v{}}}", i - 1)
                };
                capture(i, &format!("run = \"echo {prev}\""))
            }),
            true,
        ),
        (
            "valid: two profiles of many keys",
            {
                let half = |profile: &str| {
                    let mut t = format!("[profiles.{profile}]\n");
                    let mut i = 0;
                    while t.len() < MAX_FILE_BYTES / 2 - 256 {
                        t.push_str(&format!("k{i} = 1\n"));
                        i += 1;
                    }
                    t
                };
                format!(
                    "{HEAD}{}{}[[steps]]\ntitle = \"n\"\nnote = \"x\"\n",
                    half("default"),
                    half("seed")
                )
            },
            true,
        ),
        (
            "valid: 9,900 make_standby steps from a procedure (the runbook's longest)",
            padded(a_procedure_of(
                "on = \"node2\"\naction = \"make_standby\"\nwith = { of = \"node1\" }\n",
                100,
                99,
            )),
            true,
        ),
    ]
}

/// The refused ones: each makes the checker do the most work or say the most per byte.
fn refused_files() -> Vec<(&'static str, String, bool)> {
    let step = |body: &str| format!("[[steps]]\ntitle = \"s\"\non = \"node1\"\n{body}\n");
    let long_name = "n".repeat(1000);
    vec![
        (
            "two profiles of many keys, none shared",
            {
                let mut text = format!("{HEAD}[[steps]]\ntitle = \"n\"\nnote = \"x\"\n");
                for (profile, prefix) in [("default", "a"), ("seed", "b")] {
                    text.push_str(&format!("[profiles.{profile}]\n"));
                    let mut i = 0;
                    while text.len() < MAX_FILE_BYTES / 2 * if prefix == "a" { 1 } else { 2 } - 256 {
                        text.push_str(&format!("{prefix}{i} = 1\n"));
                        i += 1;
                    }
                }
                text
            },
            false,
        ),
        (
            "an undefined variable in every step",
            fill("", |i| capture(i, "run = \"echo ${nope}\"")),
            false,
        ),
        (
            "an unknown mark in every step",
            fill("[[steps]]\ntitle = \"m\"\nmark = \"m\"\n", |i| {
                capture(i, "expect_log = [\"x\"]\nsince = \"nope\"")
            }),
            false,
        ),
        (
            "distinct Unicode-class patterns",
            fill("", |i| step(&format!("expect_log = ['\\w{{5}}{i}']"))),
            false,
        ),
        (
            "distinct Unicode-class patterns each over the size limit",
            fill("", |i| step(&format!("expect_log = ['\\w{{40}}{i}']"))),
            false,
        ),
        (
            "one pattern of almost 1 MiB",
            format!(
                "{HEAD}{}",
                step(&format!("expect_log = ['{}']", "(a)".repeat((MAX_FILE_BYTES - 200) / 3)))
            ),
            false,
        ),
        (
            "dotted keys, each three tables deep",
            fill("", |i| format!("k{i}.a.b.c = 1\n")),
            false,
        ),
        (
            "tables of one key each",
            fill("", |i| format!("[x{i}]\ny = 1\n")),
            false,
        ),
        (
            "one array of half a million numbers",
            format!("{HEAD}x = [{}]\n", "1,".repeat((MAX_FILE_BYTES - HEAD.len() - 8) / 2)),
            false,
        ),
        (
            "arrays nested as deep as the file allows",
            format!("{HEAD}x = {}", "[".repeat(MAX_FILE_BYTES - HEAD.len() - 4)),
            false,
        ),
        (
            "one value of almost 1 MiB",
            format!(
                "{HEAD}[[steps]]\ntitle = \"s\"\non = \"{}\"\nrun = \"true\"\n",
                "n".repeat(MAX_FILE_BYTES - HEAD.len() - 64)
            ),
            false,
        ),
        (
            "procedures each using the next ten times",
            padded(procedures_using_procedures(10)),
            false,
        ),
        (
            "a `with` value that grows tenfold at each level",
            padded(a_value_that_grows(10, 1000)),
            false,
        ),
        (
            "one 100-step procedure used as often as the file allows",
            fill(&one_procedure_used_often(100, 0)[HEAD.len()..], |_| {
                "[[steps]]\nuse = \"r\"\n".to_string()
            }),
            false,
        ),
        (
            "a long procedure name in every message's trail",
            fill(
                &format!(
                    "[procedures.{long_name}]\n[[procedures.{long_name}.steps]]\ntitle = \"s\"\non = \"node1\"\nrun = \"${{nope}}\"\n"
                ),
                |_| format!("[[steps]]\nuse = \"{long_name}\"\n"),
            ),
            false,
        ),
    ]
}

/// What each of [`worst_files`] is measured with: `lab drill check`, and `lab drill runbook`
/// for the valid ones.
fn commands(valid: bool) -> &'static [&'static str] {
    if valid {
        &["check", "runbook"]
    } else {
        &["check"]
    }
}

/// Measures `lab drill check` on each of [`worst_files`].
pub fn measure() -> Result<Vec<Figure>> {
    let lab = std::env::current_exe().map_err(|e| Error::Lab(format!("the lab binary: {e}")))?;
    let dir = tempfile::tempdir().map_err(|e| Error::Lab(format!("a temporary directory: {e}")))?;
    let mut figs = Vec::new();
    for (i, (what, text, valid)) in worst_files().into_iter().enumerate() {
        let path = dir.path().join(format!("worst{i}.toml"));
        std::fs::write(&path, &text)
            .map_err(|e| Error::Lab(format!("writing {}: {e}", path.display())))?;
        for command in commands(valid) {
            let out = dir.path().join(format!("worst{i}-{command}.out"));
            let sink = std::fs::File::create(&out)
                .map_err(|e| Error::Lab(format!("creating {}: {e}", out.display())))?;
            let started = Instant::now();
            let child = Command::new(&lab)
                .args(["drill", command])
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(sink.try_clone().map_err(|e| Error::Lab(e.to_string()))?)
                .stderr(sink)
                .spawn()
                .map_err(|e| Error::Lab(format!("running lab drill {command}: {e}")))?;
            let (code, peak) = wait_with_peak(child)
                .map_err(|e| Error::Lab(format!("waiting for lab drill {command}: {e}")))?;
            let took = started.elapsed().as_secs_f64();
            let printed = std::fs::metadata(&out).map_or(0, |m| m.len());
            let code = code.map_or("a signal".to_string(), |c| format!("exit {c}"));
            figs.push(figure(
                format!(
                    "drill {command}, {what} ({} KiB, {code}, {} KiB printed)",
                    text.len() >> 10,
                    printed >> 10
                ),
                took,
                "s",
                Some(("<=", 2.0)),
            ));
            figs.push(figure("  peak memory", peak, "MiB", Some(("<=", 100.0))));
        }
    }
    Ok(figs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_files_are_near_1_mib_and_valid_as_said() {
        for (what, text, valid) in worst_files() {
            assert!(text.len() <= MAX_FILE_BYTES, "{what}");
            assert!(text.len() > MAX_FILE_BYTES - 2048, "{what}: {}", text.len());
            let checked = crate::scenario::parse("w.toml", &text);
            let shown = checked.as_ref().err().map(|d| d[0].to_string());
            assert_eq!(checked.is_ok(), valid, "{what}: {shown:?}");
        }
    }
}
