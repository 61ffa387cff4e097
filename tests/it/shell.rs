//! The command line as the shell sees it: `--version` names libtorch and
//! CUDA, each subcommand shows only its own options, completion scripts load
//! in a real bash, and the man pages render with a real `man`.

use std::process::{Command, Output};

fn atelier(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(args)
        .output()
        .expect("the atelier binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn version_names_the_libtorch_and_whether_cuda_is_built_in() {
    let output = atelier(&["--version"]);
    assert!(output.status.success());
    let text = stdout(&output);
    let expected = format!("atelier {} (libtorch ", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&expected), "{text}");
    assert!(text.contains("CUDA: "), "{text}");
    assert!(!text.contains("libtorch unknown"), "{text}");
}

const VIEWER_OPTIONS: [&str; 4] = [
    "--ascii",
    "--screenshots-dir",
    "--screenshot-theme",
    "--stall-after",
];

#[test]
fn only_the_app_and_watch_show_the_viewer_options() {
    for command in [
        &["data", "fetch", "--help"][..],
        &["data", "--help"],
        &["runs", "--help"],
        &["bench", "--help"],
        &["train", "--help"],
        &["compare", "--help"],
        &["report", "--help"],
    ] {
        let help = stdout(&atelier(command));
        for option in VIEWER_OPTIONS {
            assert!(
                !help.contains(option),
                "{command:?} shows {option}:\n{help}"
            );
        }
    }
    for command in [&["--help"][..], &["watch", "--help"]] {
        let help = stdout(&atelier(command));
        for option in VIEWER_OPTIONS {
            assert!(help.contains(option), "{command:?} lacks {option}:\n{help}");
        }
    }
}

#[test]
fn viewer_options_parse_after_watch_and_before_it_as_they_used_to() {
    for args in [
        &["watch", "--stall-after", "1m", "--ascii"][..],
        &["--stall-after", "1m", "--ascii", "watch"],
    ] {
        let output = atelier(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Parsed, then refused only for want of a terminal.
        assert!(!output.status.success());
        assert!(stderr.contains("terminal"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("unexpected argument"),
            "{args:?}: {stderr}"
        );
    }
    let output = atelier(&["data", "where", "--ascii"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unexpected argument '--ascii'"), "{stderr}");
}

#[test]
fn the_bash_completion_loads_and_completes_subcommands_and_options() {
    let script = stdout(&atelier(&["completions", "bash"]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atelier.bash");
    std::fs::write(&path, &script).unwrap();
    // Ask the loaded completion what follows `atelier tr` and `atelier train --pl`.
    let probe = format!(
        r#"source {}
complete -p atelier
COMP_WORDS=(atelier tr); COMP_CWORD=1; _atelier atelier tr atelier; echo "words: ${{COMPREPLY[*]}}"
COMP_WORDS=(atelier train --pl); COMP_CWORD=2; _atelier atelier --pl train; echo "options: ${{COMPREPLY[*]}}""#,
        path.display()
    );
    let output = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let said = stdout(&output);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("-F _atelier atelier"), "{said}");
    assert!(said.contains("words: train"), "{said}");
    assert!(said.contains("options: --plan"), "{said}");
}

#[test]
fn zsh_and_fish_completions_name_every_subcommand() {
    for shell in ["zsh", "fish"] {
        let output = atelier(&["completions", shell]);
        assert!(output.status.success());
        let script = stdout(&output);
        for subcommand in [
            "train",
            "resume",
            "watch",
            "compare",
            "slurm",
            "completions",
        ] {
            assert!(script.contains(subcommand), "{shell} lacks {subcommand}");
        }
    }
    let output = atelier(&["completions", "tcsh"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("invalid value 'tcsh'"), "{stderr}");
}

#[test]
fn man_pages_are_written_per_subcommand_and_render() {
    let dir = tempfile::tempdir().unwrap();
    let output = atelier(&["manpage", "--dir", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    for page in ["atelier.1", "atelier-train.1", "atelier-data-fetch.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH atelier"), "{page}");
    }
    let train = std::fs::read_to_string(dir.path().join("atelier-train.1")).unwrap();
    assert!(train.contains("plan"), "{train}");
    // A real man, where there is one, formats the page.
    let Ok(rendered) = Command::new("man")
        .arg("-l")
        .arg(dir.path().join("atelier.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
    else {
        eprintln!("skipped rendering: man is not installed");
        return;
    };
    let text = stdout(&rendered);
    assert!(rendered.status.success(), "{rendered:?}");
    assert!(
        text.contains("NAME") && text.contains("SUBCOMMANDS"),
        "{text}"
    );
}
