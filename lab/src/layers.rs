//! The layers of the library, declared, and a test that reads every module's `crate::…` and
//! `super::…` paths and fails naming the file and the import that points up.
//!
//! From the top: the binary (`main.rs`, `cli/`: the only code that knows clap) → commands →
//! drills → engine → drill language → pure core. A module may use its own layer and those
//! below it, never one above. Beside it, the structural rules: no import cycle, no function over
//! 150 lines, and no reader of a run's events but the one fold ([`EVENT_READERS`]).

/// A layer, lowest first: a module may import from its own layer and every lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// No I/O: versions, plans, dialects and procedures, the terminal's spinners.
    Core,
    /// Drill files and the fault catalogue (no I/O): what a drill may say.
    Language,
    /// Talks to the Docker Engine, PostgreSQL or the network: images, labs, SQL, downloads.
    Engine,
    /// Runs drills: the runner, its ledger, renderers and reports.
    Drills,
    /// One function per command, taking a plain config; value parsers for the binary.
    Commands,
}

/// Each module's layer; a path takes the layer of its longest entry (`drill::cmd` is a
/// command although `drill` is not). Every module under `lab/src` must be here (the binary excepted).
const LAYERS: &[(&str, Layer)] = &[
    ("version", Layer::Core),
    ("plan", Layer::Core),
    // The one identity of a server of the lab.
    ("node", Layer::Core),
    ("pg", Layer::Core),
    ("ui", Layer::Core),
    ("golden", Layer::Core),
    // Text helpers used in every layer's messages; they import nothing.
    ("text", Layer::Core),
    ("scenario", Layer::Language),
    ("fault", Layer::Language),
    ("docker", Layer::Engine),
    ("cluster", Layer::Engine),
    ("image", Layer::Engine),
    ("sql", Layer::Engine),
    ("tarball", Layer::Engine),
    ("download", Layer::Engine),
    ("apt", Layer::Engine),
    // The typed errors of the engine, gathered with their exit codes.
    ("error", Layer::Engine),
    ("drill", Layer::Drills),
    ("ledger", Layer::Drills),
    ("commands", Layer::Commands),
    ("bench", Layer::Commands),
    ("doctor", Layer::Commands),
    ("input", Layer::Commands),
    ("layers", Layer::Commands),
    ("lib", Layer::Commands),
];

/// The layer of a module path such as `image::build::cache_dir` (longest entry first).
fn layer_of(path: &str) -> Option<Layer> {
    entry_of(path).map(|(_, layer)| layer)
}

/// The entry of [`LAYERS`] a module path falls under (the longest).
fn entry_of(path: &str) -> Option<(&'static str, Layer)> {
    LAYERS
        .iter()
        .filter(|(module, _)| {
            path == *module
                || path
                    .strip_prefix(module)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
        .max_by_key(|(module, _)| module.len())
        .copied()
}

/// The module path of a file under `src` (`drill/cmd.rs` → `drill::cmd`, `pg/mod.rs` → `pg`).
fn module_of(relative: &std::path::Path) -> String {
    let text = relative
        .with_extension("")
        .to_string_lossy()
        .replace('/', "::");
    text.strip_suffix("::mod").unwrap_or(&text).to_string()
}

/// Every crate path a file's code names (comments left out): `crate::a::b` as `a::b`, and
/// `super::b` in `a::c` as `a::b`.
/// (Types are left out: `crate::a::Thing` is `a`. `super` is read as the file's parent, also
/// inside an inline `mod tests`, where it means the file itself: such a path reads one layer
/// too low or unknown, never too high.)
fn imports(module: &str, source: &str) -> Vec<String> {
    let path = regex::Regex::new(r"\b(crate|super(?:::super)*)((?:::[a-z_][a-z0-9_]*)+)")
        .expect("a valid regex");
    let mut found = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        for c in path.captures_iter(code) {
            let tail = c[2].trim_start_matches("::");
            let base = if &c[1] == "crate" {
                String::new()
            } else {
                let ups = c[1].matches("super").count();
                let parts: Vec<&str> = module.split("::").collect();
                parts[..parts.len().saturating_sub(ups)].join("::")
            };
            found.push(if base.is_empty() {
                tail.to_string()
            } else {
                format!("{base}::{tail}")
            });
        }
    }
    found
}

/// Every library file: its path under `src` and its text (the binary's files left out).
fn library_files() -> Vec<(std::path::PathBuf, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable source directory") {
            let path = entry.expect("an entry").path();
            let relative = path.strip_prefix(&src).expect("under src").to_path_buf();
            if relative.starts_with("cli") || relative == std::path::Path::new("main.rs") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a readable source file");
                files.push((relative, text));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_import_points_down() {
    let mut wrong = Vec::new();
    for (file, source) in library_files() {
        let module = module_of(&file);
        let Some(own) = layer_of(&module) else {
            wrong.push(format!(
                "{}: module `{module}` has no layer in layers::LAYERS",
                file.display()
            ));
            continue;
        };
        for import in imports(&module, &source) {
            match layer_of(&import) {
                Some(theirs) if theirs > own => wrong.push(format!(
                    "{}: `{import}` ({theirs:?}) is above `{module}` ({own:?})",
                    file.display()
                )),
                _ => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up:\n{}",
        wrong.join("\n")
    );
}

/// No two modules (entries of [`LAYERS`]) use each other, directly or through others: any
/// import cycle fails, with no list of exceptions.
#[test]
fn no_two_modules_use_each_other() {
    use std::collections::{BTreeMap, BTreeSet};
    let mut uses: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (file, source) in library_files() {
        let Some((module, _)) = entry_of(&module_of(&file)) else {
            continue; // every_import_points_down names it
        };
        for import in imports(&module_of(&file), &source) {
            match entry_of(&import) {
                Some((theirs, _)) if theirs != module => {
                    uses.entry(module).or_default().insert(theirs);
                }
                _ => {}
            }
        }
    }
    // A module reached again from itself, through modules that use one another.
    let mut wrong = Vec::new();
    for start in uses.keys() {
        let mut stack = vec![vec![*start]];
        while let Some(chain) = stack.pop() {
            let last = chain.last().expect("a chain is never empty");
            for next in uses.get(last).into_iter().flatten() {
                if next == start {
                    wrong.push(format!("{} → {start}", chain.join(" → ")));
                } else if !chain.contains(next) {
                    let mut longer = chain.clone();
                    longer.push(*next);
                    stack.push(longer);
                }
            }
        }
    }
    assert!(wrong.is_empty(), "import cycles:\n{}", wrong.join("\n"));
}

#[test]
fn only_the_binary_knows_clap_and_exits() {
    let mut wrong = Vec::new();
    for (file, source) in library_files() {
        if file.ends_with("layers.rs") {
            continue;
        }
        for (n, line) in source.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for banned in ["clap::", "clap_complete", "clap_mangen", "process::exit"] {
                if code.contains(banned) {
                    wrong.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "below the binary:\n{}", wrong.join("\n"));
}

#[test]
fn the_test_reads_paths_as_rust_resolves_them() {
    let file = std::path::Path::new("commands/drill.rs");
    assert_eq!(module_of(file), "commands::drill");
    assert_eq!(module_of(std::path::Path::new("pg/mod.rs")), "pg");
    let found = imports(
        "commands::drill",
        "use super::runner::Runner;\nuse crate::cli::X; // crate::bench\nlet _ = super::super::bench::run;",
    );
    assert_eq!(found, ["commands::runner", "cli", "bench::run"]);
    assert_eq!(imports("drill", "super::ledger::x"), ["ledger::x"]);
    assert_eq!(layer_of("text::shorten"), Some(Layer::Core));
    assert_eq!(layer_of("input::subnet"), Some(Layer::Commands));
    assert_eq!(layer_of("commands::drill::run"), Some(Layer::Commands));
    assert_eq!(layer_of("drill::runner"), Some(Layer::Drills));
    assert_eq!(layer_of("cli"), None);
}

/// The longest a function may be, in lines from its `fn` to its closing brace (issue 18: "a
/// function you cannot read in one screen is two functions"; most are far shorter).
const MAX_FUNCTION_LINES: usize = 150;

/// The functions of `source` longer than `limit` lines: (name, first line, lines). A function is
/// a line starting (after its indentation) with `fn`, `pub fn`, `async fn`, … and ends at the
/// first later line that is its indentation and `}`, as rustfmt lays it out.
fn long_functions(source: &str, limit: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut long = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let code = code.strip_prefix("pub ").unwrap_or(code);
        let code = code
            .strip_prefix("pub(crate) ")
            .or_else(|| code.strip_prefix("pub(super) "))
            .unwrap_or(code);
        let code = code.strip_prefix("const ").unwrap_or(code);
        let code = code.strip_prefix("async ").unwrap_or(code);
        let Some(rest) = code.strip_prefix("fn ") else {
            continue;
        };
        if line.trim_end().ends_with(';') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{indent}}}");
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            let length = end + 2;
            if length > limit {
                long.push((name, i + 1, length));
            }
        }
    }
    long
}

#[test]
fn no_function_is_over_150_lines() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src];
    let mut wrong = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable source directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a readable source file");
                for (name, line, length) in long_functions(&text, MAX_FUNCTION_LINES) {
                    wrong.push(format!("{}:{line}: {name}, {length} lines", path.display()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (split them):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn a_long_function_is_found_and_a_short_one_is_not() {
    let body = "    let x = 1;\n".repeat(150);
    let text = format!(
        "pub fn short() {{\n}}\n\nimpl X {{\n    pub(crate) async fn long() {{\n{body}    }}\n\n    fn sig(&self);\n}}\n"
    );
    assert_eq!(long_functions(&text, 150), [("long".to_string(), 5, 152)]);
    assert!(long_functions(&text, 152).is_empty());
}

/// The files that may read an [`crate::drill::event::Event`] by its variants, and why: the
/// contract itself, the one fold every reader reads, and the terminal's live line. Anything
/// else reads a [`crate::drill::summary::RunSummary`]; constructing an event to emit it is
/// allowed anywhere, and test files (`*tests.rs`, inline `mod tests`) are left out.
const EVENT_READERS: &[(&str, &str)] = &[
    ("drill/event.rs", "the event contract itself (`Event::at`)"),
    (
        "drill/summary.rs",
        "the one fold of a run's events, `RunSummary`",
    ),
    (
        "drill/report/live.rs",
        "the terminal's line for each event as it happens: one event, nothing folded",
    ),
];

/// The lines of `source` (1-based) that read an `Event` by its variants: `Event::V { … }` as a
/// pattern (its braces end in `..`; or it is followed, past closing parentheses, by `=>`, `|`,
/// `if` or a single `=`: a match arm, an or-pattern, a guard, a `let`/`if let`; or it is the
/// pattern of a `matches!`), or the variants imported (`Event::*`, `Event::{…}`) to be named
/// bare. Comments and inline `#[cfg(test)] mod`s are left out. (A variant nested in a tuple
/// pattern that names every field is not caught; the fold and the readers don't write so.)
fn event_reads(source: &str) -> Vec<usize> {
    let code = code_outside_tests(source);
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let variant = regex::Regex::new(r"\bEvent::(\*|\{|[A-Z][A-Za-z0-9_]*\s*\{)").expect("valid");
    let mut lines = Vec::new();
    for m in variant.find_iter(&code) {
        let read = match m.as_str() {
            "Event::*" | "Event::{" => true,
            _ => {
                let open = m.end() - 1;
                let close = closing_brace(&code, open);
                let inside = code[open + 1..close].trim_end();
                let after = code[close + 1..]
                    .trim_start_matches(|c: char| c.is_whitespace() || c == ')' || c == ']');
                inside.ends_with("..")
                    || after.starts_with("=>")
                    || (after.starts_with('|') && !after.starts_with("||"))
                    || after.starts_with("if ")
                    || (after.starts_with('=') && !after.starts_with("=="))
                    || in_matches(&code[..m.start()])
            }
        };
        if read && lines.last() != Some(&line_of(m.start())) {
            lines.push(line_of(m.start()));
        }
    }
    lines
}

/// `source` without comments and with its inline `#[cfg(test)] mod … { … }` blocks blanked
/// (their lines kept, empty, so line numbers stay).
fn code_outside_tests(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut test_end: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(close) = &test_end {
            if line == close {
                test_end = None;
            }
            kept.push("");
            continue;
        }
        let code = line.trim_start();
        let after_cfg = i > 0 && lines[i - 1].trim() == "#[cfg(test)]";
        if after_cfg && code.starts_with("mod ") && code.ends_with('{') {
            test_end = Some(format!("{}}}", &line[..line.len() - code.len()]));
            kept.push("");
            continue;
        }
        kept.push(line.split("//").next().unwrap_or(""));
    }
    kept.join("\n")
}

/// The byte index of the `}` that closes the `{` at `open` (string literals skipped), or the
/// end of `code`.
fn closing_brace(code: &str, open: usize) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in code[open..].char_indices() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (true, '"') | (false, '"') => in_string = !in_string,
            (false, '{') => depth += 1,
            (false, '}') => {
                depth -= 1;
                if depth == 0 {
                    return open + i;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Whether code ending here stands as the pattern of a `matches!(value, …`: after its first
/// top-level comma, with no parenthesis of it closed.
fn in_matches(before: &str) -> bool {
    let Some(start) = before.rfind("matches!(") else {
        return false;
    };
    let (mut depth, mut comma) = (0i32, false);
    for c in before[start + "matches!(".len()..].chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => comma = true,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0 && comma
}

#[test]
fn only_the_fold_reads_events() {
    let mut wrong = Vec::new();
    let mut readers = Vec::new();
    for (file, source) in library_files() {
        let name = file.to_string_lossy().to_string();
        if name.ends_with("tests.rs") || name == "layers.rs" {
            continue;
        }
        let reads = event_reads(&source);
        if EVENT_READERS.iter().any(|(allowed, _)| *allowed == name) {
            if !reads.is_empty() {
                readers.push(name);
            }
            continue;
        }
        let lines: Vec<&str> = source.lines().collect();
        for n in reads {
            wrong.push(format!("{name}:{n}: {}", lines[n - 1].trim()));
        }
    }
    assert!(
        wrong.is_empty(),
        "events read by their variants outside the fold (read a RunSummary, or add what is \
         missing to it in drill/summary.rs):\n{}",
        wrong.join("\n")
    );
    for (allowed, why) in EVENT_READERS {
        assert!(
            readers.iter().any(|r| r == allowed),
            "{allowed} ({why}) reads no event any more: drop it from EVENT_READERS"
        );
    }
}

#[test]
fn an_event_read_is_found_and_an_emission_is_not() {
    let text = r#"fn f(sink: &Sink, e: &Event, events: &[Event]) {
    sink.emit(Event::Readiness { node, code, at });
    sink.emit(Event::Fault {
        fault,
        node: format!("{}{{", node),
        heal: false,
        at,
    });
    let v = vec![Event::Lag { node: n.clone(), seconds: 0.5, at }];
    match e {
        Event::Role { node, role, at } => {}
        Event::Lag { .. } | Event::LedgerSample { .. } => {}
        Event::Measure { name, value, at } if name == "x" => {}
        _ => {}
    }
    if let Some(Event::Fault { node, heal, fault, at }) = events.first() {}
    let Event::StepStarted { number, title, node, commands, at } = e else {
        return;
    };
    let any = events.iter().any(|e| matches!(e, Event::DrillFinished { passed, stopped_at, took }));
    let same = e == &Event::Role { node, role, at };
    // match e { Event::Role { .. } => {} }
}

#[cfg(test)]
mod tests {
    fn g(e: &Event) -> bool {
        matches!(e, Event::Role { .. })
    }
}
use crate::drill::event::Event::*;
"#;
    assert_eq!(event_reads(text), [11, 12, 13, 16, 17, 20, 31]);
    assert!(event_reads("sink.emit(Event::Role { node, role, at });").is_empty());
}

/// The lines of `source` (1-based, outside comments and tests) that hold a node's name as a
/// string literal of its own (`"node1"`; not a drill's text that names one, `on = \"node1\"`,
/// nor a variable such as `"node1.addr"`).
fn node_names_spelled(source: &str) -> Vec<usize> {
    let name = regex::Regex::new(r#"(^|[^\\])"node[0-9]+""#).expect("valid");
    let code = code_outside_tests(source);
    code.lines()
        .enumerate()
        .filter(|(_, line)| name.is_match(line))
        .map(|(i, _)| i + 1)
        .collect()
}

/// A node is a [`crate::node::NodeId`] from the checker down to the engine: its name is made
/// and read in `node.rs` only, so no module passes a node around as text.
#[test]
fn node_names_are_spelled_in_node_rs_only() {
    let mut wrong = Vec::new();
    for (file, source) in library_files() {
        let name = file.to_string_lossy().to_string();
        if name.ends_with("tests.rs") || name == "layers.rs" || name == "node.rs" {
            continue;
        }
        let lines: Vec<&str> = source.lines().collect();
        for n in node_names_spelled(&source) {
            wrong.push(format!("{name}:{n}: {}", lines[n - 1].trim()));
        }
    }
    assert!(
        wrong.is_empty(),
        "a node's name spelled as text (use NodeId):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn a_node_name_in_code_is_found_and_one_in_a_comment_or_a_test_is_not() {
    let source = "fn a() {\n    let n = \"node1\"; // \"node2\"\n    let t = \"on = \\\"node1\\\"\"; let v = \"node1.addr\";\n}\n// \"node3\"\n#[cfg(test)]\nmod tests {\n    const N: &str = \"node1\";\n}\n";
    assert_eq!(node_names_spelled(source), [2]);
}

/// Every test ARCHITECTURE.md's table of invariants names (`module::test_name`, or a whole
/// binary `name_e2e` / `lab/tests/name.rs`) exists, so the document cannot cite a test that is
/// gone.
#[test]
fn the_invariants_name_tests_that_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let tests_dir = root.join("tests");
    let mut sources: Vec<String> = library_files().into_iter().map(|(_, s)| s).collect();
    for entry in std::fs::read_dir(&tests_dir).expect("lab/tests") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            sources.push(std::fs::read_to_string(&path).expect("a test file"));
        }
    }
    let cited = regex::Regex::new(r"`([a-z_:]+(?:\*)?|lab/tests/[a-z_]+\.rs)`").expect("valid");
    let table = doc
        .split("## Invariants")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("ARCHITECTURE.md has a section of invariants");
    let mut missing = Vec::new();
    let mut count = 0;
    for row in table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Invariant"))
    {
        let tests = row.rsplit(" | ").next().unwrap_or_default();
        for name in cited.captures_iter(tests).map(|c| c[1].to_string()) {
            count += 1;
            let last = name
                .rsplit("::")
                .next()
                .unwrap_or(&name)
                .trim_end_matches('*');
            let found = if let Some(file) = name.strip_prefix("lab/tests/") {
                tests_dir.join(file).is_file()
            } else if last.is_empty() || !name.contains("::") {
                let binary = name.trim_end_matches("::*").trim_end_matches("::tests");
                tests_dir.join(format!("{binary}.rs")).is_file()
                    || library_files()
                        .iter()
                        .any(|(p, _)| p.to_string_lossy().replace('/', "::").contains(binary))
            } else {
                sources.iter().any(|s| s.contains(&format!("fn {last}(")))
            };
            if !found {
                missing.push(name);
            }
        }
    }
    assert!(
        count > 10,
        "the table names {count} tests: is it still a table?"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names tests that do not exist: {missing:?}"
    );
}
