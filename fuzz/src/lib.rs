//! What each fuzz target does with one input, shared by the libFuzzer targets
//! (`fuzz/fuzz_targets/`) and the stable replay test (`tests/fuzz_corpus.rs`),
//! so both check the same things. A panic anywhere is a finding; so is a
//! reader that accepts input but hands back something inconsistent, or one
//! allocation larger than [`allocation_bound`]. Each binary installs
//! [`Counting`] as its global allocator so that bound can be checked.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    path::Path,
};

use atelier::{
    data::{csv, idx, IMAGE_PIXELS, NUM_CLASSES},
    model::ModelSpec,
    plan::file::parse_plan,
    store::{follow::parse_appended, log::MAX_SKIPPED_NAMED, parse_events, History},
};

/// Counts, per thread, the largest block asked for since the last reset.
pub struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: an allocation during thread teardown must not panic.
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

// SAFETY: every call goes straight to `System`; only a size is recorded.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Fixed headroom for small buffers: csv's and flate2's internal buffers,
/// error messages, the parsed structures of a tiny input.
const SLACK: usize = 1 << 20;

/// The most one allocation may take for `input`: a small multiple of the
/// input, never of what the input claims. A header announcing 2³² images in
/// 16 bytes is allowed 1 MiB, not the 3 TB it asks for. A fixed cap (say
/// 64 MiB) would hide a reader that reserves 60 MiB for a 16-byte header;
/// this bound does not. Gzip is the one exception, and not a claim: its
/// output is real data, up to 1032× the input (deflate's limit), stopped at
/// 256 MiB by the reader, and a growing Vec may hold twice what it has read.
pub fn allocation_bound(target: &str, input: &[u8]) -> usize {
    let per_byte: usize = match target {
        "idx" if input.starts_with(&[0x1f, 0x8b]) => 2 * 1032,
        // The input, its copy handed to the reader, and a clone for the
        // second parser.
        "idx" => 2,
        // Pixels are at least two input bytes each ("0,").
        "csv" => 2,
        // TOML and JSON trees are made of nodes far larger than the
        // one or two characters that make them (`[1,1,1…]`).
        "plan" | "events" => 64,
        other => unreachable!("no fuzz target {other}"),
    };
    per_byte.saturating_mul(input.len()).saturating_add(SLACK)
}

/// [`drive`], then the allocation bound; returns the largest allocation.
/// Needs [`Counting`] as the global allocator (else nothing is counted).
pub fn check(target: &str, data: &[u8]) -> usize {
    LARGEST.with(|largest| largest.set(0));
    drive(target, data);
    let largest = LARGEST.with(Cell::get);
    let bound = allocation_bound(target, data);
    assert!(
        largest <= bound,
        "{target}: one allocation of {largest} bytes for a {}-byte input, bound {bound}",
        data.len()
    );
    largest
}

/// Runs `data` through the named target.
pub fn drive(target: &str, data: &[u8]) {
    match target {
        "idx" => idx(data),
        "csv" => csv(data),
        "plan" => plan(data),
        "events" => events(data),
        other => unreachable!("no fuzz target {other}"),
    }
}

/// Every error must name the file it is about.
fn check_error(path: &Path, error: &dyn std::error::Error) {
    let text = error.to_string();
    assert!(
        text.contains(&*path.to_string_lossy()),
        "error does not name {}: {text}",
        path.display()
    );
}

/// IDX: decompression (when gzip), then both header parsers on the result.
pub fn idx(data: &[u8]) {
    let path = Path::new("fuzz/train-images-idx3-ubyte.gz");
    let bytes = match idx::decode_maybe_gz(path, data.to_vec()) {
        Ok(bytes) => bytes,
        Err(error) => return check_error(path, &error),
    };
    match idx::parse_images(path, bytes.clone()) {
        Ok((count, pixels)) => assert_eq!(pixels.len(), count * IMAGE_PIXELS),
        Err(error) => check_error(path, &error),
    }
    match idx::parse_labels(path, bytes) {
        Ok(labels) => assert!(labels.iter().all(|&l| usize::from(l) < NUM_CLASSES)),
        Err(error) => check_error(path, &error),
    }
}

/// Kaggle CSV: a split comes back whole (784 pixels per label) or not at all.
pub fn csv(data: &[u8]) {
    let path = Path::new("fuzz/fashion-mnist_train.csv");
    match csv::parse_split(path, data) {
        Ok(split) => {
            assert!(!split.labels.is_empty());
            assert_eq!(split.images.len(), split.labels.len() * IMAGE_PIXELS);
            assert!(split.labels.iter().all(|&l| usize::from(l) < NUM_CLASSES));
        }
        Err(error) => check_error(path, &error),
    }
}

/// Plan TOML: a plan that parses is used the way `atelier` uses one (titles,
/// parameter counts, the JSON stored in each run record).
pub fn plan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz/plans/mine.toml");
    match parse_plan(text, "mine", path) {
        Ok(plan) => {
            assert!(!plan.runs.is_empty());
            for run in &plan.runs {
                let _ = run.title();
                let params = run
                    .model
                    .param_count()
                    .expect("a parsed plan's models are valid");
                // Counted again without overflow, so a wrapped count fails in
                // release builds too (they have no overflow checks).
                assert_eq!(u128::from(params), wide_param_count(&run.model));
                let _ = run.model.flat_features().expect("valid model");
                let _ = run.model.to_string();
                let _ = serde_json::to_string(run).expect("a spec serialises");
            }
        }
        Err(error) => check_error(path, &error),
    }
}

/// Keras' parameter count in u128, which no i64 widths can overflow by
/// multiplying; sums saturate (far beyond any count that fits a u64).
fn wide_param_count(model: &ModelSpec) -> u128 {
    let wide = |width: i64| u128::try_from(width).expect("validated widths are positive");
    let linear =
        |inputs: u128, outputs: u128| inputs.saturating_mul(outputs).saturating_add(outputs);
    let classes = NUM_CLASSES as u128;
    match model {
        ModelSpec::Cnn { conv, dense, .. } => {
            let (mut channels, mut side, mut total) = (1_u128, 28_u128, 0_u128);
            for &width in conv {
                total = total.saturating_add(linear(channels * 9, wide(width)));
                channels = wide(width);
                side = (side - 2) / 2;
            }
            let flat = channels.saturating_mul(side * side);
            total
                .saturating_add(linear(flat, wide(*dense)))
                .saturating_add(linear(wide(*dense), classes))
        }
        ModelSpec::Mlp { hidden, .. } => {
            let (mut inputs, mut total) = (IMAGE_PIXELS as u128, 0_u128);
            for &width in hidden {
                total = total.saturating_add(linear(inputs, wide(width)));
                inputs = wide(width);
            }
            total.saturating_add(linear(inputs, classes))
        }
        ModelSpec::ConvNet { blocks, head } => {
            use atelier::model::blocks::{Downsample, HeadPool, Padding};
            let (mut channels, mut side, mut total) = (1_u128, 28_i128, 0_u128);
            for block in blocks {
                let width = wide(block.width);
                let kernel = wide(block.kernel);
                let extra = if block.batch_norm { 2 * width } else { width };
                let pad = if block.padding == Padding::Same {
                    block.kernel / 2
                } else {
                    0
                };
                let mut inputs = channels;
                for conv in 0..block.convs {
                    let weights = kernel
                        .saturating_mul(kernel)
                        .saturating_mul(inputs)
                        .saturating_mul(width);
                    total = total.saturating_add(weights.saturating_add(extra));
                    let stride = if conv == 0 && block.pool == Downsample::Stride {
                        2
                    } else {
                        1
                    };
                    side = (side + 2 * i128::from(pad) - i128::from(block.kernel))
                        .div_euclid(stride)
                        + 1;
                    inputs = width;
                }
                if block.residual && (channels != width || block.pool == Downsample::Stride) {
                    total =
                        total.saturating_add(channels.saturating_mul(width).saturating_add(extra));
                }
                if block.pool == Downsample::Max {
                    side /= 2;
                }
                channels = width;
            }
            let side = u128::try_from(side).expect("a validated map keeps a side");
            let mut features = match head.pool {
                HeadPool::Gap => channels,
                HeadPool::Flatten => channels.saturating_mul(side * side),
            };
            for &width in head.dense.iter().chain(&[NUM_CLASSES as i64]) {
                total = total.saturating_add(linear(features, wide(width)));
                features = wide(width);
            }
            total
        }
    }
}

/// events.jsonl: the whole-file reader and the follower's appended-bytes parser.
pub fn events(data: &[u8]) {
    let path = Path::new("fuzz/run/events.jsonl");
    let log = parse_events(path, data);
    assert!(log.skipped.len() <= MAX_SKIPPED_NAMED);
    for error in &log.skipped {
        check_error(path, error);
    }
    for event in &log.events {
        let _ = event.run();
        let _ = event.is_terminal();
        let _ = serde_json::to_string(event).expect("an event serialises");
    }
    let _ = History::from_events(&log.events);
    let (consumed, appended) = parse_appended(data);
    assert!(consumed <= data.len());
    assert!(consumed == 0 || data[consumed - 1] == b'\n');
    // The follower reads the same complete lines as the whole-file reader.
    assert!(appended.len() <= log.events.len());
}
