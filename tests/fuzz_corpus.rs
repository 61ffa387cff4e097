//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and a few thousand
//! seeded mutations of it through the four readers on stable Rust, so CI
//! keeps every fuzz finding fixed without nightly or libFuzzer. The checks
//! per input are those of the libFuzzer targets (`fuzz/src/lib.rs`),
//! including the bound on the largest single allocation.

#[path = "../fuzz/src/lib.rs"]
mod drive;

use std::{
    io::{Read, Write},
    path::Path,
};

#[global_allocator]
static ALLOCATOR: drive::Counting = drive::Counting;

/// Mutations per corpus file; with about thirty files this is some fifteen
/// thousand inputs, well under a second in release.
const MUTATIONS_PER_FILE: usize = 500;

/// Runs one input, failing with the input saved when it panics or allocates
/// more than its bound; returns the largest allocation.
fn check(target: &str, input: &[u8], origin: &str) -> usize {
    if let Ok(largest) = std::panic::catch_unwind(|| drive::check(target, input)) {
        largest
    } else {
        let saved = std::env::temp_dir().join(format!("atelier-fuzz-{target}-failure"));
        let _ = std::fs::write(&saved, input);
        panic!(
            "{target} failed on {origin} (the panic is printed above); input saved to {}",
            saved.display()
        );
    }
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// Tokens that tend to matter to text formats: separators, quotes, numbers
/// at the edges of their types, TOML and JSON structure.
const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    ",",
    "\"",
    "'",
    "=",
    "[",
    "]",
    "{",
    "}",
    "[[run]]",
    "[defaults]",
    "0",
    "-1",
    "255",
    "256",
    "4294967295",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "1e309",
    "-0.0",
    "nan",
    "inf",
    "null",
    "true",
    "\"type\":",
    "\"epoch_end\"",
    "\"evaluated\"",
    "\"confusion\":[[",
    "hidden = [",
    "conv = [",
    "\u{feff}",
    "\\u0000",
    "\u{0}",
    "é",
];

fn mutate(rng: &mut fastrand::Rng, seed: &[u8], others: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..rng.usize(1..=4) {
        let len = data.len();
        let at = rng.usize(0..=len);
        match rng.u8(0..10) {
            0 if len > 0 => {
                let at = rng.usize(0..len);
                data[at] ^= 1 << rng.u8(0..8);
            }
            1 if len > 0 => {
                let at = rng.usize(0..len);
                data[at] = [0, 1, 0x7f, 0x80, 0xff, rng.u8(..)][rng.usize(0..6)];
            }
            2 => data.truncate(at),
            3 => {
                let bytes: Vec<u8> = (0..rng.usize(1..=16)).map(|_| rng.u8(..)).collect();
                data.splice(at..at, bytes);
            }
            4 => {
                let end = rng.usize(at..=len);
                data.drain(at..end);
            }
            5 if len > 0 => {
                // A piece repeated: long lines, many rows, deep nesting.
                let start = rng.usize(0..len);
                let end = rng.usize(start..=len.min(start + 64));
                let piece = data[start..end].repeat(rng.usize(1..=64));
                data.splice(at..at, piece);
            }
            6 => {
                let token = TOKENS[rng.usize(0..TOKENS.len())].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
            7 if len >= 4 => {
                // An IDX header word (or any aligned word) set to an edge value.
                let word = rng.usize(0..(len / 4).min(4)) * 4;
                let value: u32 = [0, 1, 28, 0x803, 0x801, u32::MAX, rng.u32(..)][rng.usize(0..7)];
                data[word..word + 4].copy_from_slice(&value.to_be_bytes());
            }
            8 if !others.is_empty() => {
                // Splice in part of another seed.
                let other = &others[rng.usize(0..others.len())].1;
                let start = rng.usize(0..=other.len());
                let end = rng.usize(start..=other.len());
                data.splice(at..at, other[start..end].iter().copied());
            }
            _ => {
                // Through gzip: mutate what is inside, then compress again,
                // so the reader behind the decompressor is reached too.
                let mut inner = Vec::new();
                if flate2::read::MultiGzDecoder::new(data.as_slice())
                    .read_to_end(&mut inner)
                    .is_ok()
                {
                    let inner = mutate(rng, &inner, &[]);
                    let mut encoder =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    encoder.write_all(&inner).unwrap();
                    data = encoder.finish().unwrap();
                }
            }
        }
    }
    data
}

fn replay(target: &str, seed: u64) {
    let files = corpus(target);
    assert!(!files.is_empty(), "fuzz/corpus/{target} is empty");
    for (name, bytes) in &files {
        check(target, bytes, name);
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut runs, mut largest, mut ratio) = (files.len(), 0, 0.0_f64);
    for (name, bytes) in &files {
        for round in 0..MUTATIONS_PER_FILE {
            let input = mutate(&mut rng, bytes, &files);
            let origin = format!("mutation {round} of {name} (seed {seed})");
            let size = check(target, &input, &origin);
            runs += 1;
            largest = largest.max(size);
            ratio = ratio.max(size as f64 / drive::allocation_bound(target, &input) as f64);
        }
    }
    // `cargo test -- --nocapture` shows how far below the bounds the readers stay.
    println!(
        "{target}: {runs} inputs, largest allocation {largest} bytes, at most {:.0}% of its bound",
        ratio * 100.0
    );
}

#[test]
fn idx_corpus_and_mutations() {
    replay("idx", 1);
}

#[test]
fn csv_corpus_and_mutations() {
    replay("csv", 2);
}

#[test]
fn plan_corpus_and_mutations() {
    replay("plan", 3);
}

#[test]
fn events_corpus_and_mutations() {
    replay("events", 4);
}

/// The claim itself, without mutations: headers announcing 2³² items, raw
/// and gzipped, cost no more than their own bytes.
#[test]
fn huge_header_claims_allocate_nothing_like_them() {
    for words in [
        [0x803, u32::MAX, 28, 28],
        [0x801, u32::MAX, 0, 0],
        [0x803, 1, u32::MAX, u32::MAX],
    ] {
        let header: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        assert!(check("idx", &header, "huge header") < 4096);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&header).unwrap();
        check("idx", &encoder.finish().unwrap(), "huge header, gzipped");
    }
}

/// Found by review while writing the events target, kept by these checks:
/// the reader reserved one `Event` per line (a megabyte of newlines asked
/// for over 100 MB at once) and named every bad line (a megabyte of "x\n"
/// became half a million errors, each with its own path and message).
#[test]
fn blank_and_bad_lines_cost_no_more_than_their_bytes() {
    let blank = vec![b'\n'; 1 << 20];
    assert!(check("events", &blank, "a megabyte of newlines") < 2 * blank.len());
    let garbage = b"x\n".repeat(1 << 19);
    assert!(check("events", &garbage, "a megabyte of bad lines") < 2 * garbage.len());
    let log = atelier::store::parse_events(Path::new("events.jsonl"), &garbage);
    assert_eq!(
        (log.skipped.len(), log.skipped_unnamed),
        (atelier::store::log::MAX_SKIPPED_NAMED, (1 << 19) - 20)
    );
    assert!(log.skipped[0]
        .to_string()
        .starts_with("events.jsonl: line 1: not a valid event"));
}
