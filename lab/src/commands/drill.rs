//! The `lab drill` commands: list, check, run, runbook (printed by [`crate::drill::runbook`]).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use crate::cluster::{self, Lab};
use crate::commands::{bring_up, BroughtUp, Shutdown, UpConfig};
use crate::drill::event::Event;
use crate::drill::render::{builtin_vars, Context};
use crate::drill::runner::{Hand, HandPrompt, Pace, Pacer, Runner, Sink};
use crate::drill::{load, report, DockerOps, LoadError, BUILTIN};
use crate::error::{Error, Result};
use crate::node::NodeId;
use crate::pg::{ArchiveCommand, Dialect, RestoreCommand};
use crate::scenario::Drill;
use crate::ui::Ui;
use crate::version::PgVersion;

/// `lab drill run`: what to run, where, and how.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// A built-in drill's name or a drill file.
    pub drill: String,
    /// The profile (`default`, `seed`, or the drill's own).
    pub profile: String,
    /// Run on the existing lab `up.name` instead of bringing up a new one.
    pub reuse: bool,
    /// Pause before each step (Enter runs it, `s` skips it, `q` stops the drill).
    pub step: bool,
    /// A hands-on rehearsal: the DBA performs the actions and state-changing commands on the
    /// servers, and the lab checks each outcome (`--by-hand`).
    pub by_hand: bool,
    /// Show passwords in reports and logs.
    pub show_secrets: bool,
    /// Where run directories go.
    pub runs_dir: PathBuf,
    /// The lab (for a fresh one: images and layout; `keep` leaves it up after the drill).
    pub up: UpConfig,
}

/// `lab drill runbook`: which drill, rendered for which server.
#[derive(Debug, Clone)]
pub struct RunbookConfig {
    /// A built-in drill's name or a drill file.
    pub drill: String,
    /// The PostgreSQL version to render for.
    pub version: PgVersion,
    /// The profile.
    pub profile: String,
    /// Leave out chapters 1 and 5 (bringing the pair up).
    pub without_setup: bool,
    /// Synchronous replication.
    pub sync: bool,
    /// The standby's restore_command.
    pub restore_command: RestoreCommand,
    /// The master's archive_command.
    pub archive_command: ArchiveCommand,
    /// Text, or a bash script.
    pub format: crate::drill::runbook::Format,
}

pub(crate) fn load_checked(name: &str, profile: &str) -> Result<Drill> {
    let drill = load(name).map_err(|e| match e {
        LoadError::NotFound(m) => Error::Invalid(m),
        LoadError::Invalid(_) => {
            Error::Located(format!("{e}\nthe drill is invalid: nothing was run"))
        }
    })?;
    if !drill.profiles.is_empty() && !drill.profiles.contains_key(profile) {
        return Err(Error::Invalid(format!(
            "drill {} has no profile `{profile}`: its profiles are {}",
            drill.name,
            drill
                .profiles
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(drill)
}

/// Refuses a drill that asks `version` for what it does not have ([`scenario::check_release`]):
/// every such step, at its line, as `lab drill check --pg-version` says it (exit 2).
fn for_release(drill: &Drill, file: &str, version: &PgVersion) -> Result<()> {
    let found = release_problems(drill, file, version);
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::Located(format!(
        "{}\nthe drill cannot run on PostgreSQL {version}: nothing was run",
        found.join("\n")
    )))
}

/// Each step of `drill` that asks `version` for what it does not have, as a diagnostic line.
fn release_problems(drill: &Drill, file: &str, version: &PgVersion) -> Vec<String> {
    let dialect = Dialect::for_major(version.major);
    crate::scenario::check_release(drill, file, &dialect)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `lab drill list`: the built-in drills, in a table as wide as the terminal (80 columns when
/// the output is not a terminal).
pub fn list() -> Result<()> {
    let mut drills = Vec::new();
    for (name, _) in BUILTIN {
        drills.push(
            load(name).map_err(|e| Error::Lab(format!("built-in drill {name} is invalid: {e}")))?,
        );
    }
    let width = comfy_table::Table::new().width().unwrap_or(80);
    print!("{}", crate::drill::explain::list(&drills, width));
    Ok(())
}

/// `lab drill explain NAME|FILE`: what the drill proves, injects and asserts, and where
/// versions differ.
pub fn explain(drill: &str) -> Result<()> {
    let drill = load_checked(drill, "default")?;
    print!("{}", crate::drill::explain::explain(&drill));
    Ok(())
}

/// `lab drill check FILE…`: validates drill files (or built-in names, or every `*.toml` file
/// of a directory), running nothing; with `version`, also that the release has what each
/// drill asks of it (a recovery target, an end action) where its steps do not say `when`.
pub fn check(files: &[String], version: Option<&PgVersion>) -> Result<()> {
    let mut bad = Vec::new();
    let files: Vec<String> = files
        .iter()
        .flat_map(|f| drill_files(f, &mut bad))
        .collect();
    for f in files {
        match load(&f) {
            Ok(d) => {
                let problems = version.map_or_else(Vec::new, |v| release_problems(&d, &f, v));
                if problems.is_empty() {
                    println!("{f}: ok ({} steps)", d.steps.len());
                }
                bad.extend(problems);
            }
            Err(e @ LoadError::NotFound(_)) => bad.push(format!("error: {e}")),
            Err(e) => bad.push(e.to_string()),
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Error::Located(bad.join("\n")))
    }
}

/// What `lab drill check` reads for `arg`: the `*.toml` files of a directory (not its
/// subdirectories, so a scenarios directory's `procedures/` is read through the drills that
/// use them), in name order, or `arg` itself. A directory with none is noted in `bad`.
fn drill_files(arg: &str, bad: &mut Vec<String>) -> Vec<String> {
    let path = std::path::Path::new(arg);
    if !path.is_dir() {
        return vec![arg.to_string()];
    }
    let mut found: Vec<String> = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    found.sort();
    if found.is_empty() {
        bad.push(format!(
            "{arg}:1:1: error: a directory with no drill file (*.toml) in it"
        ));
    }
    found
}

/// `lab drill schema`: the JSON Schema of the drill format.
pub fn schema() {
    let schema = crate::scenario::drill_schema();
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).expect("a schema serialises")
    );
}

/// `lab drill runbook`: the version-specific runbook, printed.
pub fn runbook(args: &RunbookConfig) -> Result<()> {
    let drill = load_checked(&args.drill, &args.profile)?;
    for_release(&drill, &args.drill, &args.version)?;
    let mut topo =
        crate::drill::runbook::topology(&args.profile, args.archive_command, args.restore_command);
    topo.sync = args.sync;
    let opts = crate::drill::runbook::Options {
        version: args.version,
        profile: args.profile.clone(),
        with_setup: !args.without_setup,
        topo,
    };
    match args.format {
        crate::drill::runbook::Format::Text => {
            print!("{}", crate::drill::runbook::runbook(&drill, &opts))
        }
        crate::drill::runbook::Format::Sh => {
            print!("{}", crate::drill::script::script(&drill, &opts))
        }
    }
    Ok(())
}

fn ask(number: usize, title: &str, commands: &[String]) -> Pace {
    eprintln!("\n── step {number}: {title}");
    for c in commands {
        eprintln!("   {}", c.replace('\n', "\n   "));
    }
    eprint!("Enter: run · s: skip · q: stop > ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
        return Pace::Quit;
    }
    match line.trim() {
        "s" | "S" => Pace::Skip,
        "q" | "Q" => Pace::Quit,
        _ => Pace::Run,
    }
}

/// The terminal as the runner's [`Pacer`]: `--step`'s question before each step the lab
/// performs, and in a hands-on rehearsal (`--by-hand`) each step the DBA performs: what to type
/// on which server and how to get there, then the check's verdict. Prompts go to standard error,
/// answers come from standard input (its end stops the drill).
struct Terminal {
    step: bool,
    /// The lab's name, for the `lab shell` lines.
    lab: String,
}

impl Pacer for Terminal {
    fn pace(&mut self, number: usize, title: &str, commands: &[String]) -> Pace {
        if self.step {
            ask(number, title, commands)
        } else {
            Pace::Run
        }
    }

    fn by_hand(&mut self, prompt: &HandPrompt) -> Hand {
        eprint!("{}", hand_prompt(prompt, &self.lab));
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
            return Hand::Quit;
        }
        match line.trim() {
            "l" | "L" => Hand::Lab,
            "s" | "S" => Hand::Skip,
            "q" | "Q" => Hand::Quit,
            _ => Hand::Done,
        }
    }
}

/// What the DBA is shown for a step of theirs: the first time, where and what to type and
/// what the lab will check; after a failed check, what was expected and what is there.
pub fn hand_prompt(p: &HandPrompt, lab: &str) -> String {
    let answers = "l: let the lab do it · s: skip · q: stop > ";
    if let Some(wrong) = &p.wrong {
        return format!(
            "   ✘ check {} failed: expected {}
     there is: {}
   fix it, then Enter to check again · {answers}",
            p.tries, wrong.expected, wrong.seen
        );
    }
    let name = if lab == "lab" {
        String::new()
    } else {
        format!(" --name {lab}")
    };
    let mut out = format!(
        "\n── step {} · your turn, on {} ({}): {}\n   get there: lab shell {}{name}",
        p.number, p.node, p.address, p.title, p.node
    );
    if p.root {
        out.push_str(&format!(
            "   (the # lines as root: lab shell {} --root{name})",
            p.node
        ));
    }
    out.push_str("\n   do:\n");
    for (i, c) in p.commands.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for line in c.lines() {
            out.push_str(&format!("     {line}\n"));
        }
    }
    out.push_str("   the lab then checks:\n");
    for c in &p.checks {
        out.push_str(&format!("     - {c}\n"));
    }
    out.push_str(&format!("Enter when done · {answers}"));
    out
}

/// The `up` options for a drill's fresh lab: the flags given, and what the drill's `[lab]`
/// asks for where no flag says otherwise.
fn drill_up_args(flags: &UpConfig, drill: &Drill) -> UpConfig {
    let mut args = flags.clone();
    args.wal_disk_size = args.wal_disk_size.or(drill.lab.wal_disk_size);
    args.settings = crate::pg::merged_settings(&drill.lab.settings, &flags.settings);
    args.data_checksums |= drill.lab.data_checksums;
    args
}

/// `lab drill run`: brings up a fresh lab (or finds the `reuse` one), runs the drill, writes
/// the run directory and removes a fresh lab (unless `keep`).
pub async fn run(args: &RunConfig, ui: &Ui) -> Result<()> {
    let drill = load_checked(&args.drill, &args.profile)?;
    if !args.reuse {
        for_release(&drill, &args.drill, &args.up.images.version)?;
    }
    crate::input::config::runs_dir(&args.runs_dir, std::slice::from_ref(&drill.name), &[])?;
    // Listening from here on, so that a signal between `up` and the first step is not lost.
    let mut stop = Shutdown::new();
    let lab = prepare(args, &drill, ui).await?;
    let engine = lab.engine.clone();
    let stamp = crate::drill::render::timestamp();
    let (mut runner, sink) = runner_for(args, lab, &drill, &stamp).await?;
    let pace = Terminal {
        step: args.step,
        lab: args.up.name.clone(),
    };
    let (verdict, interrupted) = tokio::select! {
        biased;
        s = stop.recv() => (None, Some(s)),
        v = runner.run(&drill, &args.profile, pace) => (Some(v), None),
    };
    let events = sink.events();
    // The lab is removed even when the reports could not be written.
    let written = write_reports(args, &drill.name, &stamp, &events, verdict.as_ref());
    let ended = match (&interrupted, &verdict) {
        (Some(signal), _) => format!("was interrupted by {signal}"),
        (None, Some(v)) if v.passed => "passed".to_string(),
        (None, Some(v)) if v.stopped_at.is_some() => "was stopped".to_string(),
        _ => "failed".to_string(),
    };
    let shown = written.as_ref().map_or(&args.runs_dir, |d| d);
    teardown(args, &engine, &drill.name, &ended, shown).await?;
    let dir = written?;
    if let Some(signal) = interrupted {
        return Err(Error::Lab(format!("drill interrupted by {signal}")));
    }
    let verdict = verdict.expect("set when not interrupted");
    verdict_result(&drill.name, &verdict, &events, &dir)
}

/// The lab a drill runs on, its topology and release.
struct Prepared {
    engine: crate::docker::Engine,
    lab: Lab,
    topo: crate::pg::Topology,
    version: String,
}

/// The lab for the drill: the live one (`--reuse`), or a fresh one brought up as the drill's
/// `[lab]` and the flags say, which must reach streaming replication (else it is removed,
/// unless `--keep`).
async fn prepare(args: &RunConfig, drill: &Drill, ui: &Ui) -> Result<Prepared> {
    let name = &args.up.name;
    if args.reuse {
        cluster::check_name(name)?;
        let engine = crate::docker::Engine::connect().await?;
        let lab = Lab::find(&engine, name).await?;
        let topo = lab.topology()?;
        let version = lab.version.clone();
        return Ok(Prepared {
            engine,
            lab,
            topo,
            version,
        });
    }
    let (
        engine,
        BroughtUp {
            images,
            topo,
            report,
            ..
        },
    ) = bring_up(&drill_up_args(&args.up, drill), ui).await?;
    if !report.checks.failures.is_empty() {
        let e = Error::CheckFailed(format!(
            "the lab did not reach streaming replication, so the drill was not run:\n  - {}",
            report.checks.failures.join("\n  - ")
        ));
        if args.up.keep {
            return Err(e);
        }
        return Err(cluster::down_after(&engine, name, e).await);
    }
    let lab = Lab::find(&engine, name).await?;
    Ok(Prepared {
        engine,
        lab,
        topo,
        version: images.version.to_string(),
    })
}

/// The runner for the drill on the prepared lab (hands-on with `--by-hand`, else with the
/// postcondition checks), and the sink its events go to.
async fn runner_for(
    args: &RunConfig,
    prepared: Prepared,
    drill: &Drill,
    stamp: &str,
) -> Result<(Runner<DockerOps>, Sink)> {
    let Prepared {
        engine,
        lab,
        topo,
        version,
    } = prepared;
    let v: PgVersion = version
        .parse()
        .map_err(|e| Error::Lab(format!("lab `{}`: {e}", args.up.name)))?;
    let dialect = Dialect::for_major(v.major);
    let primary = current_primary(&lab).await;
    let run_dir = args.runs_dir.join(&drill.name).join(stamp);
    let vars = builtin_vars(&dialect, &topo, &version, &run_dir.display().to_string());
    let ctx = Context {
        dialect,
        topo,
        primary,
        vars,
        lenient: false,
    };
    let sink = Sink::new(report::live::print);
    let nodes: Vec<NodeId> = lab.nodes.iter().map(|n| n.name).collect();
    let password = lab.sql_password.clone();
    let ops = DockerOps { engine, lab };
    let runner = Runner::new(ops, ctx, nodes, sink.clone()).with_ledger_password(password);
    let runner = if args.by_hand {
        runner.by_hand()
    } else {
        runner.with_postconditions()
    };
    Ok((runner, sink))
}

/// The run directory: the reports and the server logs the run kept.
fn write_reports(
    args: &RunConfig,
    drill: &str,
    stamp: &str,
    events: &[Event],
    verdict: Option<&crate::drill::runner::Verdict>,
) -> Result<std::path::PathBuf> {
    let logs = verdict.map(|v| v.logs.clone()).unwrap_or_default();
    let dir = report::write_run(
        &args.runs_dir,
        drill,
        stamp,
        events,
        &logs,
        args.show_secrets,
    )
    .map_err(|e| {
        Error::Lab(format!(
            "writing the reports under {}: {e}",
            args.runs_dir.display()
        ))
    })?;
    eprintln!("reports: {}", dir.display());
    Ok(dir)
}

/// The lab removed after the drill, unless it was reused or `--keep` asks to leave it; `ended`
/// says how the drill ended when the removal fails.
async fn teardown(
    args: &RunConfig,
    engine: &crate::docker::Engine,
    drill: &str,
    ended: &str,
    dir: &std::path::Path,
) -> Result<()> {
    let name = &args.up.name;
    if args.reuse {
        return Ok(());
    }
    if args.up.keep {
        eprintln!("lab `{name}` is left running (--keep): `lab down --name {name}` removes it");
        return Ok(());
    }
    match cluster::down(engine, name).await {
        Ok(_) => Ok(()),
        Err(e) => Err(cluster::not_removed(
            name,
            &format!("drill {drill} {ended} (reports: {})", dir.display()),
            &e,
        )),
    }
}

/// The node that is primary now: the one not in recovery (node1 on a fresh lab, or when none
/// answers).
async fn current_primary(lab: &Lab) -> NodeId {
    let mut primary = NodeId::NODE1;
    for node in &lab.nodes {
        if let Ok(c) = crate::sql::connect(
            &node.addr,
            "postgres",
            &lab.sql_password,
            std::time::Duration::from_secs(5),
        )
        .await
        {
            if crate::sql::scalar(&c, "SELECT pg_is_in_recovery()")
                .await
                .ok()
                .flatten()
                .as_deref()
                == Some("f")
            {
                primary = node.name;
            }
        }
    }
    primary
}

/// What a finished drill's verdict means for the command: passed or stopped on purpose, `Ok`;
/// a step the lab could not perform, a lab error; otherwise a failed check.
fn verdict_result(
    name: &str,
    verdict: &crate::drill::runner::Verdict,
    events: &[Event],
    dir: &std::path::Path,
) -> Result<()> {
    if verdict.passed {
        return Ok(());
    }
    // Stopped on purpose (`q` in --step mode): not a failure, exit 0; the reports say STOPPED.
    if let Some(at) = verdict.stopped_at {
        eprintln!(
            "drill {} stopped by the user before step {at}: see {}",
            name,
            dir.join("report.md").display()
        );
        return Ok(());
    }
    let lab_error = crate::drill::summary::RunSummary::of(events).lab_error();
    let summary = format!(
        "drill {} failed: see {}",
        name,
        dir.join("report.md").display()
    );
    if lab_error {
        Err(Error::Lab(summary))
    } else {
        Err(Error::CheckFailed(summary))
    }
}
