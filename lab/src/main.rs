//! The `lab` binary: parses the command line (the only place that knows clap), runs it, maps
//! errors to exit codes. The only place that exits the process.

mod cli;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Parser;

/// At most this many characters of each line of a command-line error (clap quotes the value).
const MAX_LINE_CHARS: usize = 300;

/// The environment variables that stand for flags; set but empty, they mean "not set" (a CI
/// template may fill one from a variable nobody defined).
const FLAG_VARIABLES: [&str; 4] = [
    "LAB_DEBIAN_MIRROR",
    "LAB_DEBIAN_SUITE",
    "LAB_PG_SOURCE_SITE",
    "LAB_CACHE_DIR",
];

fn main() {
    // `COMPLETE=bash lab` prints the shell's registration; the shell then runs `lab` with it set
    // to ask for candidates. Nothing else runs then.
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command)
        .complete();
    for name in FLAG_VARIABLES {
        if std::env::var_os(name).is_some_and(|v| v.is_empty()) {
            // Still one thread: nothing else reads the environment yet.
            std::env::remove_var(name);
        }
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            // clap quotes the value given (and so may the reason): a long one is cut.
            let mut text = e.to_string();
            if let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) {
                // Control characters escaped, so that a newline in it cannot split the line.
                let shown = lab::text::shorten(&value.escape_debug().to_string(), 60);
                text = text.replace(value.as_str(), &shown);
            }
            for line in text.lines() {
                eprintln!("{}", lab::text::shorten(line, MAX_LINE_CHARS));
            }
            std::process::exit(e.exit_code());
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(cli::run(cli)) {
        Ok(0) => {}
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("{}", e.printed());
            std::process::exit(e.exit_code());
        }
    }
}
