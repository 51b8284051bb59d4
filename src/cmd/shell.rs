//! `hallmark completions SHELL` and `hallmark man`: shell completion scripts
//! (clap_complete) and manual pages (clap_mangen), generated from the same
//! clap definition the command parses with, so they never fall behind it.

use std::path::{Path, PathBuf};

use clap::{CommandFactory, ValueEnum};

use crate::{CliError, EXIT_OK, Result};

/// A shell to complete for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Print or install a shell completion script.
///
/// Without --install or --out, the script goes to stdout. --install writes
/// it where the shell looks for a user's completions:
///
///   bash        ${BASH_COMPLETION_USER_DIR:-${XDG_DATA_HOME:-~/.local/share}/bash-completion}/completions/hallmark
///               (loaded on demand by the bash-completion package)
///   fish        ${XDG_CONFIG_HOME:-~/.config}/fish/completions/hallmark.fish
///   zsh         ${XDG_DATA_HOME:-~/.local/share}/zsh/site-functions/_hallmark
///               (that directory must be in $fpath before compinit: the
///               command says how)
///   powershell  no standard file: add
///               `hallmark completions powershell | Out-String | Invoke-Expression`
///               to $PROFILE
///
/// Examples:
///   hallmark completions bash --install
///   hallmark completions zsh > ~/.zfunc/_hallmark
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
    /// Write the script where the shell finds it (see above) and say where.
    #[arg(long, conflicts_with = "out")]
    install: bool,
    /// Write the script to FILE (replaced atomically).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Write the manual pages: hallmark(1) and one page per subcommand
/// (hallmark-mint(1), hallmark-trust-add(1), ...).
///
/// Without --out-dir or --install, hallmark(1) alone goes to stdout
/// (`hallmark man | man -l -`). --install writes every page into
/// share/man/man1 beside the directory holding this executable (for
/// ~/.cargo/bin/hallmark: ~/.cargo/share/man/man1), where man(1) looks for
/// the pages of a command on $PATH; outside a `bin` directory, into
/// ${XDG_DATA_HOME:-~/.local/share}/man/man1.
///
/// Examples:
///   hallmark man --install && man hallmark-verify
///   hallmark man --out-dir /usr/local/share/man/man1
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ManArgs {
    /// Write every page into DIR (created if missing; pages replaced atomically).
    #[arg(long, value_name = "DIR", conflicts_with = "install")]
    out_dir: Option<PathBuf>,
    /// Write every page where man(1) finds them for this executable (see above).
    #[arg(long)]
    install: bool,
}

/// The CLI's definition, named as it is installed.
fn definition() -> clap::Command {
    let mut cmd = crate::Cli::command().bin_name("hallmark");
    cmd.build();
    cmd
}

/// `hallmark completions`.
pub(crate) fn completions(args: CompletionsArgs) -> Result<u8> {
    let script = completion_script(args.shell);
    let target = match (args.install, args.out) {
        (true, _) => install_path(args.shell)?,
        (false, Some(out)) => out,
        (false, None) => {
            use std::io::Write;
            std::io::stdout().write_all(&script)?;
            return Ok(EXIT_OK);
        }
    };
    write_file(&target, &script)?;
    eprintln!(
        "hallmark: wrote {} completions to {}",
        args.shell.name(),
        target.display()
    );
    if args.shell == Shell::Zsh && args.install {
        let dir = hallmark_state::file::parent_dir(&target)
            .display()
            .to_string();
        eprintln!(
            "hallmark: zsh loads it if ~/.zshrc has, before compinit: fpath=({dir} $fpath)\n\
             (then start a new shell, or run: autoload -U compinit && compinit)"
        );
    } else {
        eprintln!("hallmark: start a new shell to use them");
    }
    Ok(EXIT_OK)
}

/// The completion script for `shell`.
fn completion_script(shell: Shell) -> Vec<u8> {
    use clap_complete::shells;
    let mut cmd = definition();
    let mut out = Vec::new();
    match shell {
        Shell::Bash => clap_complete::generate(shells::Bash, &mut cmd, "hallmark", &mut out),
        Shell::Zsh => clap_complete::generate(shells::Zsh, &mut cmd, "hallmark", &mut out),
        Shell::Fish => clap_complete::generate(shells::Fish, &mut cmd, "hallmark", &mut out),
        Shell::Powershell => {
            clap_complete::generate(shells::PowerShell, &mut cmd, "hallmark", &mut out)
        }
    }
    out
}

impl Shell {
    /// The shell's name as typed.
    fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
        }
    }
}

/// An environment variable holding an absolute path, if set that way
/// (the XDG rules ignore a relative one).
fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// `$HOME`, required where no XDG variable says otherwise.
fn home() -> Result<PathBuf> {
    env_dir("HOME").ok_or_else(|| {
        CliError::new("$HOME is not set (or not absolute): give --out FILE instead of --install")
    })
}

/// `$XDG_DATA_HOME`, else `~/.local/share`.
fn data_home() -> Result<PathBuf> {
    match env_dir("XDG_DATA_HOME") {
        Some(dir) => Ok(dir),
        None => Ok(home()?.join(".local/share")),
    }
}

/// Where `--install` writes `shell`'s script.
fn install_path(shell: Shell) -> Result<PathBuf> {
    Ok(match shell {
        Shell::Bash => match env_dir("BASH_COMPLETION_USER_DIR") {
            Some(dir) => dir,
            None => data_home()?.join("bash-completion"),
        }
        .join("completions/hallmark"),
        Shell::Fish => match env_dir("XDG_CONFIG_HOME") {
            Some(dir) => dir,
            None => home()?.join(".config"),
        }
        .join("fish/completions/hallmark.fish"),
        Shell::Zsh => data_home()?.join("zsh/site-functions/_hallmark"),
        Shell::Powershell => {
            return Err(CliError::new(
                "PowerShell has no standard completion file: add this line to $PROFILE instead:\n  \
                 hallmark completions powershell | Out-String | Invoke-Expression",
            ));
        }
    })
}

/// Writes `bytes` to `path` (mode 0644) atomically, creating its directory.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = hallmark_state::file::parent_dir(path);
    // A file where a directory must be says so (create_dir_all would say
    // "File exists" or "Not a directory" about the wrong path).
    if let Some(file) = dir.ancestors().find(|a| a.exists()).filter(|a| !a.is_dir()) {
        return Err(CliError::new(format!(
            "cannot write {}: {} is not a directory",
            path.display(),
            file.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::context(format!("creating {}", dir.display()), e))?;
    hallmark_state::file::replace(path, bytes, 0o644)?;
    Ok(())
}

/// `hallmark man`.
pub(crate) fn man(args: ManArgs) -> Result<u8> {
    let cmd = definition();
    let dir = match (args.install, args.out_dir) {
        (true, _) => man_install_dir()?,
        (false, Some(dir)) => dir,
        (false, None) => {
            use std::io::Write;
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            std::io::stdout().write_all(&page)?;
            return Ok(EXIT_OK);
        }
    };
    let pages = man_pages(&cmd)?;
    for (name, page) in &pages {
        write_file(&dir.join(name), page)?;
    }
    eprintln!(
        "hallmark: wrote {} manual pages to {} (man hallmark; man hallmark-verify, ...)",
        pages.len(),
        dir.display()
    );
    Ok(EXIT_OK)
}

/// Every page: (file name, roff), the top command first.
fn man_pages(cmd: &clap::Command) -> Result<Vec<(String, Vec<u8>)>> {
    let mut pages = Vec::new();
    let mut stack = vec![cmd.clone()];
    while let Some(cmd) = stack.pop() {
        stack.extend(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                .cloned(),
        );
        let man = clap_mangen::Man::new(cmd);
        let mut page = Vec::new();
        man.render(&mut page)?;
        pages.push((man.get_filename(), page));
    }
    Ok(pages)
}

/// `share/man/man1` beside the `bin` directory holding this executable, else
/// the user's data directory.
fn man_install_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().ok();
    let bin = exe.as_deref().and_then(Path::parent);
    if let Some(bin) = bin.filter(|b| b.file_name().is_some_and(|n| n == "bin"))
        && let Some(prefix) = bin.parent()
    {
        return Ok(prefix.join("share/man/man1"));
    }
    Ok(data_home()?.join("man/man1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in Shell::value_variants() {
            let script = String::from_utf8(completion_script(*shell)).unwrap_or_default();
            for word in ["mint", "verify", "--trust", "completions"] {
                assert!(script.contains(word), "{shell:?} lacks {word}");
            }
        }
    }

    #[test]
    fn a_page_per_subcommand() {
        let pages = man_pages(&definition()).unwrap_or_default();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        for name in ["hallmark.1", "hallmark-mint.1", "hallmark-trust-add.1"] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }
}
