//! The `lab` binary: parses the command line, runs it, maps errors to exit codes.

use clap::Parser;

fn main() {
    let cli = lab::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(lab::cli::run(cli)) {
        eprintln!("{}", e.printed());
        std::process::exit(e.exit_code());
    }
}
