//! What users of ripgrep, fd or kubectl expect of a command line: shell
//! completions, a man page from the same clap definitions, a version that
//! names the protocols spoken, and a closed pipe that is no error.

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, exit};

/// `--version`: the program's version and the wire protocols it speaks
/// (protocol.md); a test ties these to the connectors' base paths.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nprotocols: PAC OEM interface v1 (/oem/v1), Astrow Web API v1 (/api/v1)"
);

/// The shells `completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    fn generator(self) -> clap_complete::Shell {
        match self {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
            Shell::Powershell => clap_complete::Shell::PowerShell,
            Shell::Elvish => clap_complete::Shell::Elvish,
        }
    }
}

pub const COMPLETIONS_ABOUT: &str = "Print a completion script for a shell to stdout.

  bash:       astrow-pac completions bash > ~/.local/share/bash-completion/completions/astrow-pac
  zsh:        astrow-pac completions zsh > \"${fpath[1]}/_astrow-pac\"
  fish:       astrow-pac completions fish > ~/.config/fish/completions/astrow-pac.fish
  PowerShell: astrow-pac completions powershell | Out-String | Invoke-Expression";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub const MAN_ABOUT: &str = "Print the man page (roff), made from the same definitions as \
--help, to stdout.

  astrow-pac man > /usr/local/share/man/man1/astrow-pac.1
  astrow-pac man | man -l -";

#[derive(Debug, Args)]
pub struct ManArgs {}

/// The completion script for `shell`.
pub fn completions_script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(
        shell.generator(),
        &mut Cli::command(),
        "astrow-pac",
        &mut out,
    );
    out
}

/// The man page, with a section per subcommand.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    // The title line holds the version: the bare one (the protocols are in
    // the description of `--version` below).
    let cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        writeln!(out, ".SH \"ASTROW-PAC {}\"", name.to_uppercase())?;
        for para in about.split("\n\n") {
            writeln!(out, ".PP")?;
            writeln!(out, "{}", roff_text(para))?;
        }
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
        {
            let flag = match (arg.get_long(), arg.get_short()) {
                (Some(l), _) => format!("--{l}"),
                (None, Some(s)) => format!("-{s}"),
                (None, None) => format!("<{}>", arg.get_id().as_str().to_uppercase()),
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            writeln!(
                out,
                ".TP\n\\fB{}\\fR\n{}",
                roff_text(&flag),
                roff_text(&help)
            )?;
        }
    }
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// Text made safe for roff: backslashes doubled, and a line that starts with
/// `.` or `'` (a roff request) escaped.
fn roff_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n.br\n")
}

pub fn run_completions(args: &CompletionsArgs) -> u8 {
    write_stdout("completions", &completions_script(args.shell))
}

pub fn run_man(_: &ManArgs) -> u8 {
    match man_page() {
        Ok(page) => write_stdout("man", &page),
        Err(e) => {
            eprintln!("astrow-pac man: {e}");
            exit::PROBLEMS
        }
    }
}

/// Write `bytes` to stdout; a reader that went away (`| head`) is no error.
pub fn write_stdout(command: &str, bytes: &[u8]) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("astrow-pac {command}: cannot write to stdout: {e}");
            exit::PROBLEMS
        }
    }
}

/// Whether a panic's message is `print!`'s on a closed stdout.
pub fn is_closed_pipe_panic(message: &str) -> bool {
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
        || message.contains("os error 32") && message.contains("stdout")
}

/// A closed pipe ends the process quietly, as ripgrep does: every
/// `println!` in every command (and on every thread) stops with exit 0
/// when the reader has gone, instead of a panic with a backtrace. Any other
/// panic reaches the default hook unchanged.
pub fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if is_closed_pipe_panic(message) {
            std::process::exit(i32::from(exit::OK));
        }
        default(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn subcommands() -> Vec<String> {
        Cli::command()
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect()
    }

    #[test]
    fn every_completion_script_names_every_subcommand() {
        for shell in Shell::value_variants() {
            let script = String::from_utf8(completions_script(*shell)).unwrap();
            assert!(script.len() > 500, "{shell:?}: {} bytes", script.len());
            for sub in subcommands() {
                assert!(script.contains(&sub), "{shell:?} lacks {sub}");
            }
        }
    }

    #[test]
    fn man_page_has_a_section_per_subcommand() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(
            page.starts_with(".ie") || page.starts_with(".TH"),
            "{}",
            &page[..40]
        );
        let title = page.lines().find(|l| l.starts_with(".TH")).unwrap();
        assert!(
            title.ends_with(&format!("\"astrow-pac {}\" ", env!("CARGO_PKG_VERSION"))),
            "{title}"
        );
        for sub in subcommands() {
            let heading = format!(".SH \"ASTROW-PAC {}\"", sub.to_uppercase());
            assert!(page.contains(&heading), "no {heading}");
        }
        // No line of outside text reads as a roff request.
        assert!(!page.lines().any(|l| l.starts_with(".  ")));
    }

    #[test]
    fn roff_escapes_requests_and_backslashes() {
        assert_eq!(roff_text(".rm x\na\\b"), "\\&.rm x\n.br\na\\\\b");
    }

    #[test]
    fn version_names_the_protocols_the_connectors_speak() {
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert!(crate::pac::wire::base_path(1).starts_with("/oem/v1/"));
        assert!(VERSION.contains("/oem/v1"));
        assert!(VERSION.contains("/api/v1"));
        let err = Cli::try_parse_from(["astrow-pac", "--version"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
        assert!(err.to_string().contains("Astrow Web API v1"));
    }

    #[test]
    fn closed_pipe_panics_are_recognised_and_others_not() {
        assert!(is_closed_pipe_panic(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_pipe_panic("index out of bounds"));
        assert!(!is_closed_pipe_panic("failed printing to stdout: other"));
    }
}
