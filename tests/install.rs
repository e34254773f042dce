//! What `cargo install --path .` users add to their shell: completion scripts and man pages.

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use std::process::Command;

const COMMANDS: [&str; 10] =
    ["run", "chart", "explain", "bench", "validate", "sweep", "merge", "check", "completions", "man"];

fn stdout(args: &[&str]) -> String {
    let out = cargo_bin_cmd!("routesim").args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_name_every_command_and_option_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&["completions", shell]);
        for command in COMMANDS {
            assert!(script.contains(command), "{shell}: no `{command}`");
        }
        assert!(script.contains("trace-filter") && script.contains("shard"), "{shell}: options missing");
    }
}

#[test]
fn bash_completion_completes_a_command_prefix() {
    let script = stdout(&["completions", "bash"]);
    let probe = format!(
        "{script}\nCOMP_WORDS=(routesim sw); COMP_CWORD=1; _routesim routesim sw routesim; echo \"${{COMPREPLY[@]}}\""
    );
    let Ok(out) = Command::new("bash").args(["-c", &probe]).output() else {
        eprintln!("skipped: no bash");
        return;
    };
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sweep");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    cargo_bin_cmd!("routesim")
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'tcsh'").and(predicate::str::contains("bash")));
}

#[test]
fn man_prints_roff_listing_every_command() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH routesim 1"), "{page}");
    for command in COMMANDS {
        assert!(page.contains(&format!("routesim\\-{command}(1)")), "no {command}");
    }
}

#[test]
fn man_dir_writes_a_page_per_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    stdout(&["man", "--dir", dir.to_str().unwrap()]);
    for command in COMMANDS {
        let page = std::fs::read_to_string(dir.join(format!("routesim-{command}.1"))).unwrap();
        assert!(page.contains(&format!(".TH routesim-{command} 1")), "{command}");
    }
    let sweep = std::fs::read_to_string(dir.join("routesim-sweep.1")).unwrap();
    assert!(sweep.contains("\\-\\-shard"));
}
