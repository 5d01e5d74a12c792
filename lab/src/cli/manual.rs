//! Shell completions and the man pages, both generated from the clap definition of `lab`, so
//! they cannot drift from the command line; the man page's EXIT STATUS, ENVIRONMENT and FILES
//! sections are written here (with `roff`), the flags' variables read from the definition.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use roff::{bold, italic, roman, Roff};

use super::Cli;

/// Writes the completion script of `shell` for `lab`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "lab", out);
}

/// The exit codes every command shares (`error::Error::exit_code`).
const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Passed: the command did what it was asked; every expectation of a drill held (a \
         drill stopped with q in --step mode also exits 0).",
    ),
    (
        "1",
        "An expectation failed: PostgreSQL did not behave as a drill or the checks of lab up \
         expected (a lab brought up by lab up is left running for a look).",
    ),
    (
        "2",
        "Invalid input: a flag, a name or a drill file was refused before anything was done.",
    ),
    (
        "3",
        "The lab failed: the engine, an image build, a download, or a step that could not be \
         performed; lab doctor when something must be fixed.",
    ),
];

/// Variables that are not a flag's (those are read from the clap definition).
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "DOCKER_HOST",
        "The Docker Engine to use (default unix:///var/run/docker.sock).",
    ),
    (
        "LAB_ENGINE_TIMEOUT",
        "Seconds the engine may take to answer a request (default 120; image builds, imports \
         and images load wait longer).",
    ),
    (
        "XDG_CACHE_HOME, HOME",
        "Where the cache directory is when neither --cache-dir nor LAB_CACHE_DIR says.",
    ),
    (
        "COMPLETE",
        "Set to a shell (bash, zsh, fish, elvish, powershell), lab prints that shell's dynamic \
         completion (nodes, drills, faults, profiles offered at TAB): source <(COMPLETE=bash \
         lab) in ~/.bashrc.",
    ),
];

/// The files and directories the lab reads and writes.
const FILES: &[(&str, &str)] = &[
    (
        "$LAB_CACHE_DIR, else $XDG_CACHE_HOME/pglab, else ~/.cache/pglab",
        "The cache directory (--cache-dir): tarballs/ (PostgreSQL source tarballs), logs/ (each \
         image build's log, named after the image's tag), build-objects/ (object counts for \
         the build's progress), rootfs/ (debootstrap's work).",
    ),
    (
        "runs/<drill>/<timestamp>/ (--runs-dir)",
        "A drill run: report.md, report.html, report.json, junit.xml and each node's server \
         log (node1.log, node2.log); runs/<drill>/latest links the newest.",
    ),
    (
        "runs/suite/<timestamp>/",
        "A suite: index.md, index.html, junit.xml, each run's directory, and each run's output \
         in logs/<drill>@<release>.log.",
    ),
];

/// `NAME`/`VALUE` pairs as a `.SH` section of tagged paragraphs.
fn tagged_section(roff: &mut Roff, title: &str, items: &[(String, String)]) {
    roff.control("SH", [title]);
    for (tag, text) in items {
        roff.control("TP", []);
        roff.text([bold(tag.as_str())]);
        roff.text([roman(text.as_str())]);
    }
}

/// The environment variables that stand for flags, from the clap definition: `(variable,
/// --flag)`, each once, in name order.
fn flag_variables() -> Vec<(String, String)> {
    fn walk(cmd: &clap::Command, found: &mut Vec<(String, String)>) {
        for arg in cmd.get_arguments() {
            if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
                let env = env.to_string_lossy().into_owned();
                if !found.iter().any(|(e, _)| *e == env) {
                    found.push((env, format!("--{long}")));
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, found);
        }
    }
    let mut found = Vec::new();
    walk(&Cli::command(), &mut found);
    found.sort();
    found
}

/// EXIT STATUS, ENVIRONMENT and FILES.
fn shared_sections() -> Roff {
    let mut roff = Roff::new();
    let exit: Vec<(String, String)> = EXIT_STATUS
        .iter()
        .map(|(c, t)| (c.to_string(), t.to_string()))
        .collect();
    tagged_section(&mut roff, "EXIT STATUS", &exit);
    roff.control("PP", []);
    roff.text([roman(
        "lab psql, lab shell, lab exec and lab logs exit with the code of the command they ran.",
    )]);
    let mut env: Vec<(String, String)> = flag_variables()
        .into_iter()
        .map(|(var, flag)| {
            (
                var,
                format!("The default of {flag}; empty counts as not set."),
            )
        })
        .collect();
    env.extend(
        ENVIRONMENT
            .iter()
            .map(|(v, t)| (v.to_string(), t.to_string())),
    );
    tagged_section(&mut roff, "ENVIRONMENT", &env);
    let files: Vec<(String, String)> = FILES
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    tagged_section(&mut roff, "FILES", &files);
    roff
}

/// The visible subcommands of `cmd` (not clap's `help`).
fn visible(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// Writes the man page of `lab` (roff) as one page: the top-level page, one section per
/// subcommand (and per nested subcommand) with its options, then EXIT STATUS, ENVIRONMENT
/// and FILES. It names no other page.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command().disable_help_subcommand(true);
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    let mut commands = Roff::new();
    commands.control("SH", ["COMMANDS"]);
    for sub in visible(&cmd) {
        commands.control("TP", []);
        commands.text([bold(format!("lab {}", sub.get_name()))]);
        if let Some(about) = sub.get_about() {
            commands.text([roman(about.to_string())]);
        }
    }
    commands.text([roman("Each is described in its own section below.")]);
    commands.to_writer(out)?;
    for sub in visible(&cmd) {
        render_subcommand(sub, "lab", out)?;
    }
    shared_sections().to_writer(out)?;
    page.render_version_section(out)
}

/// One subcommand as a `.SH` section: its synopsis line, its about and its options.
fn render_subcommand(
    cmd: &clap::Command,
    parent: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let name = format!("{parent} {}", cmd.get_name());
    let man = clap_mangen::Man::new(cmd.clone().bin_name(name.clone()));
    writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    for sub in visible(cmd) {
        render_subcommand(sub, &name, out)?;
    }
    Ok(())
}

/// `lab man --dir DIR`: lab.1 and one page per subcommand (lab-drill-run.1, …), each naming
/// its subcommands' pages and lab(1); lab.1 has EXIT STATUS, ENVIRONMENT and FILES. Returns
/// the files written, in the order written.
pub fn man_dir(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, true, dir, &mut written)?;
    Ok(written)
}

/// The page of `cmd` (a built command: its display name is `lab-drill-run`), then its
/// subcommands' pages.
fn write_pages(
    cmd: &clap::Command,
    top: bool,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let page =
        clap_mangen::Man::new(cmd.clone()).source(format!("lab {}", env!("CARGO_PKG_VERSION")));
    let path = dir.join(page.get_filename());
    let mut text = Vec::new();
    page.render(&mut text)?;
    let mut tail = if top { shared_sections() } else { Roff::new() };
    if !top {
        tail.control("SH", ["SEE ALSO"]);
        tail.text([
            bold("lab"),
            roman("(1), for the exit status, the environment and the files; "),
            italic("lab drill explain NAME"),
            roman(" for what a drill does."),
        ]);
    }
    tail.to_writer(&mut text)?;
    std::fs::write(&path, text)?;
    written.push(path);
    for sub in visible(cmd) {
        write_pages(sub, false, dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand path of `lab`, such as `drill run`.
    fn subcommands() -> Vec<Vec<String>> {
        fn walk(cmd: &clap::Command, path: &[String], all: &mut Vec<Vec<String>>) {
            for sub in cmd.get_subcommands() {
                let mut p = path.to_vec();
                p.push(sub.get_name().to_string());
                all.push(p.clone());
                walk(sub, &p, all);
            }
        }
        let mut all = Vec::new();
        walk(&Cli::command(), &[], &mut all);
        all
    }

    #[test]
    fn the_command_tree_is_what_the_tests_walk() {
        let names: Vec<String> = subcommands().iter().map(|p| p.join(" ")).collect();
        for expected in [
            "up",
            "down",
            "drill run",
            "images build",
            "fault inject",
            "completions",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
    }

    #[test]
    fn every_shells_completions_name_every_subcommand() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            completions(shell, &mut out);
            let script = String::from_utf8(out).expect("utf-8");
            for path in subcommands() {
                let leaf = path.last().expect("a name");
                assert!(
                    script.contains(leaf.as_str()),
                    "{shell}: no {} in the script",
                    path.join(" ")
                );
            }
        }
    }

    #[test]
    fn fish_completes_a_nested_subcommand_in_its_context() {
        let mut out = Vec::new();
        completions(clap_complete::Shell::Fish, &mut out);
        let script = String::from_utf8(out).expect("utf-8");
        assert!(
            script
                .lines()
                .any(|l| l.contains("__fish_seen_subcommand_from drill")
                    && l.contains("-a \"runbook\"")),
            "no `drill runbook` completion:\n{script}"
        );
    }

    #[test]
    fn the_man_page_has_a_section_for_every_subcommand() {
        let mut out = Vec::new();
        man(&mut out).expect("rendered");
        let page = String::from_utf8(out).expect("utf-8");
        assert!(
            page.starts_with(".ie") || page.contains(".TH lab"),
            "not roff: {}",
            &page[..200]
        );
        for path in subcommands() {
            let heading = format!(".SH \"LAB {}\"", path.join(" ").to_uppercase());
            assert!(page.contains(&heading), "no {heading}");
        }
        assert!(page.contains("\\-\\-pg\\-version"), "options are rendered");
    }

    /// The `.SH` headings of a page.
    fn headings(page: &str) -> Vec<&str> {
        page.lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .map(|h| h.trim_matches('"'))
            .collect()
    }

    /// Every `lab-…(1)` a page names (roff writes `lab\-drill\-run(1)`).
    fn references(page: &str) -> Vec<String> {
        let text = page.replace("\\-", "-");
        let re = regex::Regex::new(r"\b(lab(?:-[a-z]+)+)\(1\)").expect("a regex");
        re.captures_iter(&text).map(|c| c[1].to_string()).collect()
    }

    #[test]
    fn the_man_page_has_exit_status_environment_and_files() {
        let mut out = Vec::new();
        man(&mut out).expect("rendered");
        let page = String::from_utf8(out).expect("utf-8");
        let headings = headings(&page);
        for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "COMMANDS"] {
            assert!(headings.contains(&section), "no {section} in {headings:?}");
        }
        for code in ["0", "1", "2", "3"] {
            assert!(
                page.contains(&format!(".TP\n\\fB{code}\\fR")),
                "exit {code}"
            );
        }
        for var in [
            "DOCKER_HOST",
            "LAB_CACHE_DIR",
            "LAB_DEBIAN_MIRROR",
            "LAB_DEBIAN_SUITE",
            "LAB_PG_SOURCE_SITE",
            "LAB_ENGINE_TIMEOUT",
        ] {
            assert!(page.contains(var), "no {var}");
        }
        assert!(page.contains("build\\-objects"), "the cache's files");
        assert!(
            references(&page).is_empty(),
            "the single page names no other page: {:?}",
            references(&page)
        );
    }

    #[test]
    fn every_variable_of_a_flag_is_in_the_environment_section() {
        let vars: Vec<String> = flag_variables().into_iter().map(|(v, _)| v).collect();
        assert_eq!(
            vars,
            [
                "LAB_CACHE_DIR",
                "LAB_DEBIAN_MIRROR",
                "LAB_DEBIAN_SUITE",
                "LAB_PG_SOURCE_SITE"
            ]
        );
    }

    #[test]
    fn man_dir_writes_every_page_it_references() {
        let dir = tempfile::tempdir().expect("a directory");
        let written = man_dir(dir.path()).expect("written");
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for path in subcommands() {
            let file = format!("lab-{}.1", path.join("-"));
            assert!(names.contains(&file), "no {file} in {names:?}");
        }
        assert!(!names.iter().any(|n| n == "lab-help.1"), "{names:?}");
        let mut referenced = 0;
        for path in &written {
            let page = std::fs::read_to_string(path).expect("readable");
            for r in references(&page) {
                referenced += 1;
                assert!(
                    dir.path().join(format!("{r}.1")).is_file(),
                    "{} names {r}(1), which was not written",
                    path.display()
                );
            }
        }
        assert!(referenced >= subcommands().len(), "{referenced} references");
        let top = std::fs::read_to_string(dir.path().join("lab.1")).expect("lab.1");
        for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "SUBCOMMANDS"] {
            assert!(headings(&top).contains(&section), "lab.1: no {section}");
        }
        let run = std::fs::read_to_string(dir.path().join("lab-drill-run.1")).expect("a page");
        assert!(run.contains("\\-\\-profile"), "{run}");
        assert!(headings(&run).contains(&"SEE ALSO"));
    }
}
