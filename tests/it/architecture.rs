//! The folders import one way only: data → model → plan → protocol → store →
//! train → tui/report/export → cli. Read from the `crate::` paths in the
//! library's sources (each file belongs to its top-level module), so a
//! lower room that reaches up fails here, naming the file and the line.

use std::{fs, path::Path};

/// Each room's rank; a file may use rooms of its own rank or lower. `paths`
/// and `units` are small helpers every room may use, and `edge` (stdout, output
/// files, terminal text, bounded reads) too.
const RANKS: [(&str, u8); 16] = [
    ("edge", 0),
    ("paths", 0),
    ("units", 0),
    ("stats", 0),
    ("data", 1),
    ("model", 2),
    ("plan", 3),
    ("protocol", 4),
    ("store", 5),
    ("train", 6),
    ("analysis", 6),
    ("slurm", 6),
    ("tui", 7),
    ("report", 7),
    ("export", 7),
    ("cli", 8),
];

fn rank(room: &str) -> Option<u8> {
    RANKS
        .iter()
        .find(|(name, _)| *name == room)
        .map(|(_, rank)| *rank)
}

/// The top-level module a source file belongs to (`src/store/log.rs` → store).
fn room_of(path: &Path, src: &Path) -> Option<String> {
    let relative = path.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Every room the code names through `crate::room` or inside a
/// `crate::{room::…, other::…}` group, with the line it starts on.
fn rooms_named(code: &str) -> Vec<(usize, &str)> {
    let mut named = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let line = code[..at].matches('\n').count() + 1;
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            named.extend(group_heads(group).into_iter().map(|room| (line, room)));
        } else {
            named.push((line, identifier(rest)));
        }
    }
    named
}

/// The leading identifier of `text`.
fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first path segment of each item of a `{…}` group (after its `{`),
/// up to its matching `}`.
fn group_heads(group: &str) -> Vec<&str> {
    let mut heads = vec![identifier(group.trim_start())];
    let mut depth = 0;
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => heads.push(identifier(group[at + 1..].trim_start())),
            _ => {}
        }
    }
    heads.retain(|head| !head.is_empty());
    heads
}

/// The code outside `#[cfg(test)]` modules and comments: test code may
/// build what it tests from any room (a pane test feeding events, say).
fn production_code(text: &str) -> String {
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn rooms_import_downwards_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let Some(room) = room_of(file, &src) else {
            continue;
        };
        let Some(own) = rank(&room) else { continue };
        let code = production_code(&fs::read_to_string(file).unwrap());
        for (number, named) in rooms_named(&code) {
            if rank(named).is_some_and(|other| other > own) {
                wrong.push(format!(
                    "{}:{number}: {room} uses crate::{named}",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that go up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_room_has_a_rank() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in &files {
        let room = room_of(file, &src).unwrap();
        if ["lib", "main"].contains(&room.as_str()) {
            continue;
        }
        assert!(rank(&room).is_some(), "{room} is in no rank of this test");
    }
}

#[test]
fn an_upward_import_is_found() {
    assert_eq!(
        rooms_named("use crate::train::{Event, RunId};"),
        [(1, "train")]
    );
    assert_eq!(
        rooms_named("let x = crate::store::RunStore::open(crate::paths::runs());"),
        [(1, "store"), (1, "paths")]
    );
    assert_eq!(
        rooms_named("use crate::{\n    data::{A, B},\n    train::DevicePref,\n};"),
        [(1, "data"), (1, "train")]
    );
    let text =
        "use crate::train::Event;\n// crate::tui\n#[cfg(test)]\nmod tests { use crate::tui::App; }";
    assert_eq!(rooms_named(&production_code(text)), [(1, "train")]);
}
