//! Shell completions and the man page, both generated from the clap definition of `lab`, so
//! they cannot drift from the command line.

use std::io::Write;

use clap::CommandFactory;

use super::Cli;

/// Writes the completion script of `shell` for `lab`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "lab", out);
}

/// Writes the man page of `lab` (roff): the top-level page, followed by one section per
/// subcommand (and per nested subcommand), each with its options.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands() {
        render_subcommand(sub, "lab", out)?;
    }
    Ok(())
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
    for sub in cmd.get_subcommands() {
        render_subcommand(sub, &name, out)?;
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
}
