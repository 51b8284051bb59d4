//! Installing hallmark (README "Install"): the package is `hallmark`, the
//! release binary is stripped, and `hallmark completions SHELL` and
//! `hallmark man` write what a shell and man(1) need.

use std::path::Path;
use std::sync::atomic::AtomicU64;

use crate::common::*;

/// Counts a skip and writes its line to stderr; under CI a missing tool fails.
fn skip(test: &str, cause: &str) {
    static SKIPPED: AtomicU64 = AtomicU64::new(0);
    skip_tool(&SKIPPED, "install", "install", test, cause);
}

/// Whether `program` runs (`--version`).
fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn cargo_install_names_the_package_hallmark_and_strips_the_binary() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap())
            .unwrap();
    assert_eq!(manifest["package"]["name"].as_str(), Some("hallmark"));
    assert_eq!(manifest["bin"][0]["name"].as_str(), Some("hallmark"));
    assert_eq!(
        manifest["profile"]["release"]["strip"].as_bool(),
        Some(true),
        "the release binary is stripped (symbols too)"
    );
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = hallmark(&["completions", shell]).ok();
        let script = stdout(&out);
        for word in ["mint", "verify", "serve", "--trust", "--claim-codes"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let out = hallmark(&["completions", "tcsh"]).run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("bash"), "{}", stderr(&out));
}

#[test]
fn completions_install_where_each_shell_looks() {
    let home = tempdir();
    let h = p(home.path());
    let installed = |shell: &str| {
        hallmark(&["completions", shell, "--install"])
            .env("HOME", h)
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("BASH_COMPLETION_USER_DIR")
            .run()
    };
    for (shell, path) in [
        ("bash", ".local/share/bash-completion/completions/hallmark"),
        ("zsh", ".local/share/zsh/site-functions/_hallmark"),
        ("fish", ".config/fish/completions/hallmark.fish"),
    ] {
        let out = installed(shell);
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let file = home.path().join(path);
        assert!(stderr(&out).contains(p(&file)), "{}", stderr(&out));
        let script = std::fs::read_to_string(&file).unwrap();
        assert_eq!(script, stdout(&hallmark(&["completions", shell]).ok()));
    }
    // zsh needs its directory in $fpath: the command says so.
    assert!(stderr(&installed("zsh")).contains("fpath="));
    // PowerShell has no such file: refused, with what to do instead.
    let out = installed("powershell");
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("$PROFILE"), "{}", stderr(&out));

    // XDG_DATA_HOME moves bash's and zsh's files.
    let data = home.path().join("data");
    let out = hallmark(&["completions", "bash", "--install"])
        .env("HOME", h)
        .env("XDG_DATA_HOME", p(&data))
        .env_remove("BASH_COMPLETION_USER_DIR")
        .ok();
    assert!(stderr(&out).contains("data/bash-completion/completions/hallmark"));
    assert!(data.join("bash-completion/completions/hallmark").is_file());

    // --out FILE, and stdout unchanged by any of it.
    let file = home.path().join("sub/dir/hallmark.bash");
    hallmark(&["completions", "bash", "--out", p(&file)]).ok();
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("_hallmark")
    );
}

#[test]
fn bash_completes_subcommands_and_flags() {
    if !have("bash") {
        return skip("bash_completes_subcommands_and_flags", "bash not found");
    }
    let dir = tempdir();
    let file = dir.path().join("hallmark.bash");
    hallmark(&["completions", "bash", "--out", p(&file)]).ok();
    let complete = |words: &str, cword: usize| {
        let script = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; \
             _hallmark hallmark \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            p(&file)
        );
        let out = run_program("bash", &["--norc", "-c", &script]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(complete("hallmark mi", 1).trim(), "mint");
    assert!(
        complete("hallmark verify --tr", 2)
            .lines()
            .any(|l| l == "--trust")
    );
}

#[test]
fn man_pages_for_the_command_and_every_subcommand() {
    let dir = tempdir();
    let man1 = dir.path().join("share/man/man1");
    let out = hallmark(&["man", "--out-dir", p(&man1)]).ok();
    assert!(stderr(&out).contains("manual pages"), "{}", stderr(&out));
    for page in [
        "hallmark.1",
        "hallmark-mint.1",
        "hallmark-verify.1",
        "hallmark-serve.1",
        "hallmark-trust-add.1",
        "hallmark-completions.1",
    ] {
        let text = std::fs::read_to_string(man1.join(page)).unwrap_or_default();
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: not roff"
        );
    }
    assert!(!man1.join("hallmark-help.1").exists());
    let verify = std::fs::read_to_string(man1.join("hallmark-verify.1")).unwrap();
    assert!(verify.contains("trust"), "the page has the options");

    // Without --out-dir: hallmark(1) on stdout.
    let out = hallmark(&["man"]).ok();
    assert!(stdout(&out).contains(".TH hallmark 1"), "{}", stdout(&out));

    // --install: beside the `bin` directory holding the executable.
    let prefix = dir.path().join("prefix");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    let exe = prefix.join("bin/hallmark");
    std::fs::copy(env!("CARGO_BIN_EXE_hallmark"), &exe).unwrap();
    let out = run_program(p(&exe), &["man", "--install"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(prefix.join("share/man/man1/hallmark-verify.1").is_file());

    if !have("man") {
        return skip(
            "man_pages_for_the_command_and_every_subcommand",
            "man not found (the pages were written, not rendered)",
        );
    }
    let rendered = run_program("man", &["-l", p(&man1.join("hallmark-verify.1"))]);
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(text.contains("NAME") && text.contains("--trust"), "{text}");
    // man(1) finds the installed pages from $PATH alone (no $MANPATH).
    let path = format!(
        "{}:{}",
        p(&prefix.join("bin")),
        std::env::var("PATH").unwrap_or_default()
    );
    let found = std::process::Command::new("man")
        .args(["-w", "hallmark-verify"])
        .env("PATH", path)
        .env_remove("MANPATH")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&found.stdout).trim(),
        p(&prefix.join("share/man/man1/hallmark-verify.1")),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
}

#[test]
fn where_nothing_can_be_written_the_error_says_where_and_why() {
    let dir = tempdir();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let inside = file.join("man1");
    for args in [
        vec!["man", "--out-dir", p(&inside)],
        vec!["completions", "bash", "--out", p(&inside)],
    ] {
        let out = hallmark(&args).run();
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(
            stderr(&out).contains(&format!("{} is not a directory", p(&file))),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // --install needs a home (or the XDG variable) to know where.
    let out = hallmark(&["completions", "bash", "--install"])
        .env_remove("HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("BASH_COMPLETION_USER_DIR")
        .run();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("$HOME is not set"),
        "{}",
        stderr(&out)
    );
}
