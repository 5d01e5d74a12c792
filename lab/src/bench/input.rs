//! `lab bench --check-input`: `lab drill check` on the worst drill files of up to 1 MiB, each
//! in its own process, for its time, peak memory and the size of what it prints. No engine.

use std::process::{Command, Stdio};
use std::time::Instant;

use super::{figure, wait_with_peak, Figure};
use crate::error::{Error, Result};
use crate::scenario::MAX_FILE_BYTES;

const HEAD: &str = "name = \"w\"\ntitle = \"T\"\nproves = \"P.\"\n";

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

/// The worst files for the checker: each makes it do the most work or say the most per byte.
pub fn worst_files() -> Vec<(&'static str, String)> {
    let capture = |i: usize, body: &str| {
        format!("[[steps]]\ntitle = \"s\"\non = \"node1\"\ncapture = \"v{i}\"\n{body}\n")
    };
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
        ),
        (
            "an undefined variable in every step",
            fill("", |i| capture(i, "run = \"echo ${nope}\"")),
        ),
        (
            "an unknown mark in every step",
            fill("[[steps]]\ntitle = \"m\"\nmark = \"m\"\n", |i| {
                capture(i, "expect_log = [\"x\"]\nsince = \"nope\"")
            }),
        ),
        (
            "distinct Unicode-class patterns",
            fill("", |i| {
                format!("[[steps]]\ntitle = \"l\"\non = \"node1\"\nexpect_log = ['\\w{{5}}{i}']\n")
            }),
        ),
        (
            "arrays nested as deep as the file allows",
            format!("{HEAD}x = {}", "[".repeat(MAX_FILE_BYTES - HEAD.len() - 4)),
        ),
        (
            "one value of almost 1 MiB",
            format!(
                "{HEAD}[[steps]]\ntitle = \"s\"\non = \"{}\"\nrun = \"true\"\n",
                "n".repeat(MAX_FILE_BYTES - HEAD.len() - 64)
            ),
        ),
    ]
}

/// Measures `lab drill check` on each of [`worst_files`].
pub fn measure() -> Result<Vec<Figure>> {
    let lab = std::env::current_exe().map_err(|e| Error::Lab(format!("the lab binary: {e}")))?;
    let dir = tempfile::tempdir().map_err(|e| Error::Lab(format!("a temporary directory: {e}")))?;
    let mut figs = Vec::new();
    for (i, (what, text)) in worst_files().into_iter().enumerate() {
        let path = dir.path().join(format!("worst{i}.toml"));
        std::fs::write(&path, &text)
            .map_err(|e| Error::Lab(format!("writing {}: {e}", path.display())))?;
        let out = dir.path().join(format!("worst{i}.out"));
        let sink = std::fs::File::create(&out)
            .map_err(|e| Error::Lab(format!("creating {}: {e}", out.display())))?;
        let started = Instant::now();
        let child = Command::new(&lab)
            .args(["drill", "check"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(sink)
            .spawn()
            .map_err(|e| Error::Lab(format!("running lab drill check: {e}")))?;
        let (code, peak) = wait_with_peak(child)
            .map_err(|e| Error::Lab(format!("waiting for lab drill check: {e}")))?;
        let took = started.elapsed().as_secs_f64();
        let printed = std::fs::metadata(&out).map_or(0, |m| m.len());
        let code = code.map_or("a signal".to_string(), |c| format!("exit {c}"));
        figs.push(figure(
            format!(
                "drill check, {what} ({} KiB, {code}, {} KiB printed)",
                text.len() >> 10,
                printed >> 10
            ),
            took,
            "s",
            Some(("<=", 2.0)),
        ));
        figs.push(figure("  peak memory", peak, "MiB", Some(("<=", 100.0))));
    }
    Ok(figs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_files_are_near_1_mib_and_only_the_first_is_valid() {
        for (i, (what, text)) in worst_files().iter().enumerate() {
            assert!(text.len() <= MAX_FILE_BYTES, "{what}");
            assert!(text.len() > MAX_FILE_BYTES - 1024, "{what}: {}", text.len());
            let checked = crate::scenario::parse("w.toml", text);
            assert_eq!(checked.is_ok(), i == 0, "{what}: {:?}", checked.err());
        }
    }
}
