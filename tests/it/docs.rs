//! The README's and the book's examples, run, so they cannot drift.
//!
//! - Every ```` ```console ```` block: each `$ atelier …` line runs, in page
//!   order (the README, then the book in `SUMMARY.md`'s order), in one
//!   throwaway home folder with the real dataset, and its output (standard
//!   output and error together) is compared with the lines shown under it.
//!   Digits and the widths of blank runs are not compared: they move with
//!   the CPU and the clock. `...` stands for lines left out, `[..]` for
//!   part of a line; `? failed` under a command says it must fail.
//! - Every `atelier` line of a ```` ```sh ```` block (commands that need a
//!   terminal or a remote host) is checked against the command's own help:
//!   its subcommands and flags must exist. `make` targets must exist too.
//! - The command-line reference and the keys page are generated from their
//!   definitions and must match.
//!
//! `ATELIER_DOCS=overwrite` writes what the commands print into the pages
//! instead of failing (review the diff).

use std::{
    collections::HashMap,
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::common;

const OVERWRITE_ENV: &str = "ATELIER_DOCS";
/// The longest one example may take: the README's sweep trains 15 tiny runs.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(600);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn overwriting() -> bool {
    std::env::var(OVERWRITE_ENV).is_ok_and(|value| value == "overwrite")
}

/// The README, then every page of the book in the order `SUMMARY.md` lists them.
fn pages() -> Vec<PathBuf> {
    let book = root().join("docs/src");
    let summary = std::fs::read_to_string(book.join("SUMMARY.md")).unwrap();
    let mut pages = vec![root().join("README.md")];
    for line in summary.lines() {
        if let Some(target) = line
            .split("](")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
        {
            pages.push(book.join(target));
        }
    }
    pages
}

/// A fenced block: its language and its lines, with the 1-based number of
/// the first line inside the fence.
struct Block {
    language: String,
    first_line: usize,
    lines: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in text.lines().enumerate() {
        match (open.take(), line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    language: info.split(',').next().unwrap_or("").trim().to_owned(),
                    first_line: index + 2,
                    lines: Vec::new(),
                });
            }
            (Some(block), Some(_)) => blocks.push(block),
            (Some(mut block), None) => {
                block.lines.push(line.to_owned());
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    blocks
}

/// One `$ …` command of a console block and the output shown under it.
struct Example {
    page: PathBuf,
    /// The 1-based line of the `$`.
    line: usize,
    env: Vec<(String, String)>,
    args: Vec<String>,
    must_fail: bool,
    /// The lines shown as its output, and where they sit in the page (0-based, end exclusive).
    expected: Vec<String>,
    span: (usize, usize),
}

fn examples(page: &Path, block: &Block) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    for (offset, line) in block.lines.iter().enumerate() {
        let number = block.first_line + offset;
        if let Some(command) = line.strip_prefix("$ ") {
            let mut words = shell_words::split(command)
                .unwrap_or_else(|error| panic!("{}:{number}: {error}", page.display()));
            let mut env = Vec::new();
            while let Some((key, value)) = words.first().and_then(|w| w.split_once('=')) {
                if !key.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    break;
                }
                env.push((key.to_owned(), value.to_owned()));
                words.remove(0);
            }
            assert_eq!(
                words.first().map(String::as_str),
                Some("atelier"),
                "{}:{number}: a console block runs atelier only; show other commands in a sh block",
                page.display()
            );
            examples.push(Example {
                page: page.to_owned(),
                line: number,
                env,
                args: words[1..].to_vec(),
                must_fail: false,
                expected: Vec::new(),
                span: (number, number),
            });
        } else if let Some(example) = examples.last_mut() {
            if example.expected.is_empty() && line.trim() == "? failed" {
                example.must_fail = true;
                example.span = (number, number);
            } else {
                example.expected.push(line.clone());
                example.span.1 = number;
            }
        } else {
            panic!(
                "{}:{number}: a console block starts with `$ `",
                page.display()
            );
        }
    }
    examples
}

/// A throwaway home: the runs folder and state land in it, the
/// repository's plans are reachable as `assets/plans/…`.
struct Sandbox {
    home: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(root().join("assets"), home.path().join("assets")).unwrap();
        Sandbox { home }
    }

    /// Runs one example; its output (stdout and stderr as they interleave)
    /// with the home folder written `~` and the binary where `make install`
    /// puts it, and whether it succeeded.
    fn run(&self, example: &Example) -> (String, bool) {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
        command
            .args(&example.args)
            .current_dir(self.home.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .envs(example.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(writer.try_clone().unwrap())
            .stderr(writer);
        let mut child = command.spawn().unwrap();
        drop(command);
        let started = Instant::now();
        let reading = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).unwrap();
            bytes
        });
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > EXAMPLE_TIMEOUT {
                child.kill().unwrap();
                panic!(
                    "{}:{}: still running after {EXAMPLE_TIMEOUT:?}",
                    example.page.display(),
                    example.line
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let text = String::from_utf8_lossy(&reading.join().unwrap()).into_owned();
        let home = self.home.path().to_string_lossy().into_owned();
        // Where `make install` puts the binary, not where this build is.
        let text = text.replace(env!("CARGO_BIN_EXE_atelier"), "~/.local/bin/atelier");
        (text.replace(&home, "~"), status.success())
    }
}

/// What is compared: digits as one `0`, blank runs as one space, no
/// trailing blanks. Wildcards (`...`, `[..]`) pass through.
fn normalized(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut previous: Option<char> = None;
        for c in line.trim_end().chars() {
            let c = match c {
                '0'..='9' => '0',
                ' ' | '\t' => ' ',
                other => other,
            };
            if (c == '0' || c == ' ') && previous == Some(c) {
                continue;
            }
            out.push(c);
            previous = Some(c);
        }
        out.push('\n');
    }
    out
}

/// Compares one example's output; the diff when it differs.
fn compare(example: &Example, output: &str, succeeded: bool) -> Option<String> {
    let place = format!("{}:{}", example.page.display(), example.line);
    if succeeded == example.must_fail {
        let wanted = if example.must_fail { "fail" } else { "succeed" };
        return Some(format!(
            "{place}: `atelier {}` should {wanted}; it printed:\n{output}",
            example.args.join(" ")
        ));
    }
    let expected = normalized(&example.expected.join("\n"));
    let actual = normalized(output);
    snapbox::Assert::new()
        .try_eq(
            Some(&"what the command printed"),
            snapbox::Data::text(actual),
            snapbox::Data::text(expected),
        )
        .err()
        .map(|error| format!("{place}: `atelier {}`\n{error}", example.args.join(" ")))
}

/// Writes each example's output in place of the lines shown (bottom up, so
/// the spans above stay valid).
fn overwrite(page: &Path, mut outputs: Vec<(&Example, String)>) {
    let text = std::fs::read_to_string(page).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    outputs.sort_by_key(|(example, _)| std::cmp::Reverse(example.line));
    for (example, output) in outputs {
        let keep_status = usize::from(example.must_fail);
        let start = example.line + keep_status; // 0-based index of the first output line
        let end = if example.expected.is_empty() {
            start
        } else {
            example.span.1
        };
        let replacement: Vec<String> = output.lines().map(|l| l.trim_end().to_owned()).collect();
        lines.splice(start..end, replacement);
    }
    std::fs::write(page, lines.join("\n") + "\n").unwrap();
}

#[test]
fn the_console_examples_print_what_the_docs_show() {
    if atelier::data::discover(None).is_err() {
        common::missing("the real dataset is missing: the examples train on it");
        return;
    }
    let sandbox = Sandbox::new();
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let examples: Vec<Example> = blocks(&text)
            .iter()
            .filter(|block| block.language == "console")
            .flat_map(|block| examples(&page, block))
            .collect();
        let mut stale = Vec::new();
        for example in &examples {
            let (output, succeeded) = sandbox.run(example);
            if let Some(failure) = compare(example, &output, succeeded) {
                failures.push(failure);
                stale.push((example, output));
            }
        }
        if overwriting() && !stale.is_empty() {
            overwrite(&page, stale);
        }
    }
    assert!(
        failures.is_empty() || overwriting(),
        "{} example(s) print something else than the docs show \
         ({OVERWRITE_ENV}=overwrite writes what they print):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `atelier [PATH…] --help`, once per path.
struct Helps {
    texts: HashMap<Vec<String>, String>,
}

impl Helps {
    fn new() -> Self {
        Helps {
            texts: HashMap::new(),
        }
    }

    fn of(&mut self, path: &[String]) -> &str {
        self.texts.entry(path.to_vec()).or_insert_with(|| {
            let output = Command::new(env!("CARGO_BIN_EXE_atelier"))
                .args(path)
                .arg("--help")
                .output()
                .unwrap();
            assert!(output.status.success(), "atelier {path:?} --help failed");
            String::from_utf8(output.stdout).unwrap()
        })
    }

    /// The subcommands a help text lists (hidden ones are not listed).
    fn subcommands(&mut self, path: &[String]) -> Vec<String> {
        let help = self.of(path);
        let Some((_, after)) = help.split_once("Commands:\n") else {
            return Vec::new();
        };
        after
            .lines()
            .take_while(|line| !line.trim().is_empty())
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_owned)
            .collect()
    }
}

/// Checks `atelier …` words against the help: each subcommand must be
/// listed where it is used and each flag known by the command or a parent.
fn check_words(helps: &mut Helps, words: &[String]) -> Result<(), String> {
    let mut path: Vec<String> = Vec::new();
    for word in &words[1..] {
        if word == "--" {
            break;
        }
        if let Some(flag) = word.strip_prefix('-') {
            let flag = format!("-{}", flag.split('=').next().unwrap_or(flag));
            let known = (0..=path.len()).any(|depth| {
                let help = helps.of(&path[..depth]);
                help.contains(&format!("{flag} "))
                    || help.contains(&format!("{flag},"))
                    || help.contains(&format!("{flag}\n"))
                    || help.contains(&format!("{flag}="))
            });
            if !known {
                return Err(format!(
                    "`{flag}` is not an option of `atelier {}`",
                    path.join(" ")
                ));
            }
        } else if helps.subcommands(&path).contains(word) {
            path.push(word.clone());
        }
    }
    Ok(())
}

/// The commands a block shows: every line of a `sh` block, and the `$ `
/// lines of a recorded output (a `text` or unmarked block); lines ending in
/// `\` continue on the next.
fn commands_of(block: &Block) -> Vec<(usize, String)> {
    let shell = block.language == "sh";
    if !shell && !block.language.is_empty() && block.language != "text" {
        return Vec::new();
    }
    let mut commands: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (offset, line) in block.lines.iter().enumerate() {
        let text = if continued {
            Some(line.trim())
        } else if shell {
            Some(line.trim_start().trim_start_matches("$ "))
        } else {
            line.strip_prefix("$ ")
        };
        let Some(text) = text else { continue };
        let (text, next_continues) = match text.strip_suffix('\\') {
            Some(head) => (head.trim_end(), true),
            None => (text, false),
        };
        match (continued, commands.last_mut()) {
            (true, Some((_, command))) => {
                command.push(' ');
                command.push_str(text);
            }
            _ => commands.push((block.first_line + offset, text.to_owned())),
        }
        continued = next_continues;
    }
    commands
}

/// The `` `atelier …` `` code spans of a page's prose, with their line
/// numbers; the brackets and bars of a synopsis (`[--plan seed|FILE]`) dropped.
fn inline_commands(text: &str) -> Vec<(usize, String)> {
    let mut commands = Vec::new();
    let mut in_block = false;
    for (index, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for span in line.split('`').skip(1).step_by(2) {
            if span.starts_with("atelier ") {
                let plain: String = span
                    .chars()
                    .map(|c| if "[]|\\…".contains(c) { ' ' } else { c })
                    .collect();
                commands.push((index + 1, plain));
            }
        }
    }
    commands
}

fn make_targets() -> Vec<String> {
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    makefile
        .lines()
        .filter_map(|line| line.split_once(':').map(|(target, _)| target))
        .filter(|target| {
            !target.is_empty() && target.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .map(str::to_owned)
        .collect()
}

/// Checks one shown command: an `atelier` line against the help, a `make`
/// line against the Makefile's targets; others pass.
fn check_command(helps: &mut Helps, targets: &[String], command: &str) -> Result<(), String> {
    let command = command.split("  #").next().unwrap_or(command).trim();
    let Ok(words) = shell_words::split(command) else {
        return Ok(());
    };
    let is_assignment =
        |word: &String| word.contains('=') && word.starts_with(|c: char| c.is_ascii_uppercase());
    let words: Vec<String> = words.into_iter().skip_while(is_assignment).collect();
    match words.first().map(String::as_str) {
        Some("atelier") => check_words(helps, &words),
        Some("make") => match words[1..]
            .iter()
            .find(|w| !w.contains('=') && !targets.contains(w))
        {
            Some(target) => Err(format!("no make target `{target}`")),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

#[test]
fn the_shown_commands_name_real_subcommands_flags_and_targets() {
    let mut helps = Helps::new();
    let targets = make_targets();
    let mut failures = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let shown: Vec<(usize, String)> = blocks(&text).iter().flat_map(commands_of).collect();
        for (line, command) in shown.into_iter().chain(inline_commands(&text)) {
            if let Err(error) = check_command(&mut helps, &targets, &command) {
                failures.push(format!("{}:{line}: {error}", page.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every command's `--help`, walked from the root (hidden commands are not listed).
fn cli_reference(helps: &mut Helps) -> String {
    let mut text = String::from(
        "# Command-line reference\n\n\
         Every command's `--help`, as `atelier help COMMAND` prints it. This page is\n\
         generated from the command's definitions by `tests/it/docs.rs`, which fails\n\
         when it falls behind (`ATELIER_DOCS=overwrite` writes it again).\n",
    );
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = pending.pop() {
        let name = std::iter::once("atelier".to_owned())
            .chain(path.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let help = helps.of(&path).trim_end().to_owned();
        text.push_str(&format!("\n## `{name}`\n\n```text\n{help}\n```\n"));
        let mut children: Vec<Vec<String>> = helps
            .subcommands(&path)
            .into_iter()
            .map(|child| path.iter().cloned().chain([child]).collect())
            .collect();
        children.reverse();
        pending.extend(children);
    }
    text
}

fn keys_reference() -> String {
    format!(
        "# Keys\n\n\
         Every key of the app, as its help overlay (`?`) lists them. This table is\n\
         generated from the key table the app itself runs on (`src/tui/keymap.rs`)\n\
         by `tests/it/docs.rs`, which fails when it falls behind\n\
         (`ATELIER_DOCS=overwrite` writes it again).\n\n{}",
        atelier::tui::keymap::markdown()
    )
}

#[test]
fn the_reference_pages_match_the_definitions() {
    let mut helps = Helps::new();
    let mut stale = Vec::new();
    for (page, wanted) in [
        ("docs/src/reference/cli.md", cli_reference(&mut helps)),
        ("docs/src/reference/keys.md", keys_reference()),
    ] {
        let path = root().join(page);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(wanted.as_str()) {
            if overwriting() {
                std::fs::write(&path, &wanted).unwrap();
            }
            stale.push(page);
        }
    }
    assert!(
        stale.is_empty() || overwriting(),
        "stale: {stale:?} ({OVERWRITE_ENV}=overwrite writes them again)"
    );
}

#[test]
fn the_readme_links_to_files_that_exist() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut missing = Vec::new();
    for part in readme.split("](").skip(1) {
        let Some(target) = part.split(')').next() else {
            continue;
        };
        let file = target.split('#').next().unwrap_or(target);
        if file.is_empty() || file.contains("://") {
            continue;
        }
        if !root().join(file).exists() {
            missing.push(file.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "README.md links to missing files: {missing:?}"
    );
}

#[test]
fn normalizing_ignores_digits_and_blank_widths_but_not_words() {
    assert_eq!(normalized("M1  0.9123 \n"), normalized("M1 0.87\n"));
    assert_eq!(normalized("epoch 12/15"), "epoch 0/0\n");
    assert_ne!(normalized("1 epoch"), normalized("1 epochs"));
    assert_ne!(normalized("M1"), normalized("MLP"));
}

#[test]
fn console_blocks_parse_commands_statuses_and_outputs() {
    let text = "intro\n```console\n$ atelier runs\nA\nB\n$ NO_COLOR=1 atelier compare x y\n? failed\nerror: x\n```\n";
    let page = Path::new("page.md");
    let blocks = blocks(text);
    let found = examples(page, &blocks[0]);
    assert_eq!(found.len(), 2);
    assert_eq!(
        (found[0].line, found[0].expected.clone()),
        (3, vec!["A".to_owned(), "B".to_owned()])
    );
    assert_eq!(found[0].span, (3, 5));
    assert!(found[1].must_fail);
    assert_eq!(found[1].env, vec![("NO_COLOR".to_owned(), "1".to_owned())]);
    assert_eq!(found[1].args, ["compare", "x", "y"]);
}

#[test]
fn shell_and_recorded_blocks_give_their_commands_joined() {
    let text = "```sh\natelier train \\\n  --only M1\nmake book\n```\n```text\n$ atelier runs\nM1 done\n```\n```toml\n$ x\n```\n";
    let found: Vec<(usize, String)> = blocks(text).iter().flat_map(commands_of).collect();
    assert_eq!(
        found,
        [
            (2, "atelier train --only M1".to_owned()),
            (4, "make book".to_owned()),
            (7, "atelier runs".to_owned())
        ]
    );
}

#[test]
fn inline_commands_are_read_from_prose_only() {
    let text = "Run `atelier runs show RUN` or `atelier train [--plan seed|FILE]`.\n```sh\n`atelier nope`\n```\nthen `make`.\n";
    assert_eq!(
        inline_commands(text),
        [
            (1, "atelier runs show RUN".to_owned()),
            (1, "atelier train  --plan seed FILE ".to_owned())
        ]
    );
}
