//! `atelier report` and `atelier screenshot` on stored runs: files that
//! decode, at the sizes promised, saying what the runs hold.

use crate::common;

use std::{path::Path, process::Command};

use atelier::{
    model::ModelSpec,
    plan::{Reference, RunSpec},
    report,
    store::{Predictions, RunStore},
};

fn atelier(runs: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
    command
        .arg("--runs-dir")
        .arg(runs)
        .env_remove("ATELIER_RUNS");
    command
}

#[test]
fn report_writes_the_figures_and_a_table_of_the_stored_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("runs")).unwrap();
    let first = common::stored_run(&store, "alpha", 3);
    let second = common::stored_run(&store, "beta", 2);
    // A run that never finished has nothing to report.
    let unfinished = common::request(&store, "gamma", 2);
    drop(store.create(&unfinished).unwrap());

    let (runs, skipped) = report::collect(&store, &[]).unwrap();
    assert_eq!(skipped, std::slice::from_ref(&unfinished.id));
    let out = dir.path().join("report");
    let written = report::write(&runs, &out, &atelier::edge::output::Policy::default()).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "confusion-alpha.png",
            "history-alpha.png",
            "confusion-beta.png",
            "history-beta.png",
            "test-accuracy.png",
            "test-loss.png",
            "validation-groups.png",
            "results.md",
            "results.csv",
            "groups.csv",
            "verdicts.csv",
        ]
    );
    assert_eq!(
        common::png_size(&out.join("confusion-alpha.png")),
        atelier::draw::figures::CONFUSION_SIZE
    );
    assert_eq!(
        common::png_size(&out.join("history-beta.png")),
        atelier::draw::figures::HISTORY_SIZE
    );
    assert_eq!(
        common::png_size(&out.join("test-accuracy.png")),
        report::BARS_SIZE
    );
    assert_eq!(
        common::png_size(&out.join("test-loss.png")),
        report::BARS_SIZE
    );

    // The CSV says what the stored records say.
    let mut csv = csv::Reader::from_path(out.join("results.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    for (row, id) in rows.iter().zip([&first, &second]) {
        let record = store.load(id).unwrap();
        assert_eq!(&row[column("id")], id.as_str());
        assert_eq!(
            row[column("test accuracy")].parse::<f64>().unwrap(),
            (record.test_accuracy.unwrap() * 1e4).round() / 1e4
        );
        assert_eq!(
            row[column("test loss")].parse::<f64>().unwrap(),
            (record.test_loss.unwrap() * 1e4).round() / 1e4
        );
        assert_eq!(&row[column("epochs")], record.epochs_done.to_string());
        assert_eq!(
            row[column("parameters")],
            record.params.unwrap().to_string()
        );
        assert_eq!(&row[column("device")], "cpu");
    }
    let markdown = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        markdown.contains("| alpha | MLP | MLP hidden [8] | 6370 | 3 | 0.9000 | 0.4100 |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("![Confusion matrix of beta](confusion-beta.png)"),
        "{markdown}"
    );
}

/// RGB pixels of a PNG file, with its width.
fn png_pixels(path: &Path) -> (Vec<u8>, u32, u32) {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (pixels, info.width, info.height)
}

#[test]
fn report_draws_group_means_with_error_bars_where_the_numbers_put_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("runs")).unwrap();
    let a = RunSpec {
        epochs: 3,
        reference: Some(Reference {
            test_accuracy: 0.88,
            test_loss: 0.3,
        }),
        ..RunSpec::new("A", ModelSpec::tiny_mlp())
    };
    let b = RunSpec {
        epochs: 2,
        ..RunSpec::new("B", ModelSpec::tiny_mlp())
    };
    for (seed, accuracy) in [(1, 0.90), (2, 0.91), (3, 0.92)] {
        common::run_with_accuracy(&store, &a, seed, accuracy);
    }
    for (seed, accuracy) in [(1, 0.75), (2, 0.77)] {
        common::run_with_accuracy(&store, &b, seed, accuracy);
    }
    let (runs, _) = report::collect(&store, &[]).unwrap();
    let out = dir.path().join("report");
    report::write(&runs, &out, &atelier::edge::output::Policy::default()).unwrap();
    if let Some(keep) = std::env::var_os("ATELIER_KEEP_REPORT") {
        for name in ["test-accuracy.png", "validation-groups.png", "results.md"] {
            std::fs::copy(out.join(name), Path::new(&keep).join(name)).unwrap();
        }
    }
    let (pixels, width, height) = png_pixels(&out.join("test-accuracy.png"));
    let at = |x: u32, y: u32| {
        let i = ((y * width + x) * 3) as usize;
        (pixels[i], pixels[i + 1], pixels[i + 2])
    };
    let ours = (31, 119, 180);
    let original = (150, 150, 150);
    let black = (0, 0, 0);
    // Bars rise from the bottom of the plot: find them on a row just above it.
    let row = height - 70;
    let spans = |colour| {
        let mut spans: Vec<(u32, u32)> = Vec::new();
        for x in 0..width {
            if at(x, row) == colour {
                match spans.last_mut() {
                    Some((_, end)) if *end + 1 == x => *end = x,
                    _ => spans.push((x, x)),
                }
            }
        }
        spans
    };
    let bars = spans(ours);
    assert_eq!(bars.len(), 2, "one bar per group: {bars:?}");
    let grey = spans(original);
    assert_eq!(grey.len(), 1, "the original's value for A only: {grey:?}");
    // The top of a bar, in a column clear of its error bar and caps.
    let top = |(start, end): (u32, u32), colour| {
        let x = start + (end - start) / 10;
        f64::from((0..height).find(|&y| at(x, y) == colour).unwrap())
    };
    // Means 0.91 and 0.76 fix the axis: y = offset + scale · value.
    let (ya, yb) = (top(bars[0], ours), top(bars[1], ours));
    let scale = (ya - yb) / (0.91 - 0.76);
    let offset = ya - scale * 0.91;
    let y_of = |value: f64| offset + scale * value;
    assert!(
        (top(grey[0], original) - y_of(0.88)).abs() <= 2.0,
        "the original bar's top"
    );
    // The caps of each error bar, in a column inside the caps but clear of the label.
    let caps = |(start, end): (u32, u32)| {
        let x = u32::midpoint(start, end) + (end - start) * 2 / 10;
        // Black lines down the column: the upper cap, the lower cap, then the axis.
        let mut lines: Vec<(u32, u32)> = Vec::new();
        for y in (0..height).filter(|&y| at(x, y) == black) {
            match lines.last_mut() {
                Some((_, end)) if *end + 1 == y => *end = y,
                _ => lines.push((y, y)),
            }
        }
        assert!(lines.len() >= 3, "caps and axis in column {x}: {lines:?}");
        let middle = |(start, end): (u32, u32)| f64::from(start + end) / 2.0;
        (middle(lines[0]), middle(lines[1]))
    };
    // 95% intervals from Student's t: A 0.91 ± 4.303·0.01/√3, B 0.76 ± 12.706·0.01414/√2.
    let half_a = 4.302_652_73 * 0.01 / 3f64.sqrt();
    let half_b = 12.706_204_74 * 0.014_142_136 / 2f64.sqrt();
    for (bar, mean, half) in [(bars[0], 0.91, half_a), (bars[1], 0.76, half_b)] {
        let (high, low) = caps(bar);
        assert!(
            (high - y_of(mean + half)).abs() <= 2.5,
            "upper cap at {high}, expected {}",
            y_of(mean + half)
        );
        assert!(
            (low - y_of(mean - half)).abs() <= 2.5,
            "lower cap at {low}, expected {}",
            y_of(mean - half)
        );
    }
    // The tables say the same.
    let groups = std::fs::read_to_string(out.join("groups.csv")).unwrap();
    assert!(groups.contains("A,"), "{groups}");
    let markdown = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        markdown.contains("| A | 3 | 0.9100 ± 0.0100 | 0.8852 … 0.9348 |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| B | 2 | 0.7600 ± 0.0141 |"),
        "{markdown}"
    );
}

#[test]
fn report_on_an_empty_store_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let output = atelier(dir.path())
        .args(["report", "-o"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("no finished runs to report in"), "{stderr}");
}

#[test]
fn screenshot_draws_each_view_of_stored_runs_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("runs")).unwrap();
    common::stored_run(&store, "alpha", 3);
    for (view, file) in [
        ("runs", "runs.txt"),
        ("live", "live.png"),
        ("confusion", "confusion.svg"),
        ("compare", "compare.html"),
    ] {
        let path = dir.path().join(file);
        let output = atelier(store.dir())
            .args([
                "screenshot",
                "--view",
                view,
                "--size",
                "100x30",
                "--run",
                "alpha",
                "-o",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{view}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(path.exists(), "{view}");
    }
    // A 100 × 30 screen of 10 × 19 pixel cells.
    assert_eq!(common::png_size(&dir.path().join("live.png")), (1000, 570));
    let runs = std::fs::read_to_string(dir.path().join("runs.txt")).unwrap();
    assert!(
        runs.contains("Runs (1)") && runs.contains("✓ done"),
        "{runs}"
    );
    assert_eq!(runs.lines().count(), 30);
    let confusion = std::fs::read_to_string(dir.path().join("confusion.svg")).unwrap();
    assert!(confusion.starts_with("<svg") && confusion.contains("Ankle boot"));
    let compare = std::fs::read_to_string(dir.path().join("compare.html")).unwrap();
    assert!(compare.contains("<pre>") && compare.contains("alpha"));
}

#[test]
fn screenshot_names_what_is_wrong_with_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("runs")).unwrap();
    common::stored_run(&store, "alpha", 1);
    for (args, expected) in [
        (
            &["-o", "shot.jpg"][..],
            "expected an extension among .txt, .ansi, .html, .svg or .png",
        ),
        (
            &["--size", "50x10", "-o", "shot.png"][..],
            "the app lays out from 80x24",
        ),
        (
            &["--size", "wide", "-o", "shot.png"][..],
            "expected COLSxROWS",
        ),
        (
            &["--run", "nope", "-o", "shot.png"][..],
            "no run matches \"nope\"",
        ),
    ] {
        let output = atelier(store.dir())
            .current_dir(dir.path())
            .arg("screenshot")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// Predictions for the 200 test images of `common::write_idx_dataset`
/// (image i of class i % 10): every tenth shirt, and `extra`, taken for a T-shirt.
fn write_predictions(store: &RunStore, id: &str, extra: &[usize]) {
    let labels: Vec<u8> = (0..200).map(|i| (i % 10) as u8).collect();
    let mut predicted = labels.clone();
    for index in [6, 106].iter().chain(extra) {
        predicted[*index] = 0;
    }
    let probabilities: Vec<u8> = predicted
        .iter()
        .flat_map(|&class| {
            let mut row = [0u8; 10];
            row[usize::from(class)] = 230;
            row[(usize::from(class) + 6) % 10] = 25;
            row
        })
        .collect();
    Predictions::new(labels, predicted, probabilities)
        .unwrap()
        .save(&store.run_dir(id))
        .unwrap();
}

#[test]
fn screenshot_draws_a_cells_gallery_and_the_diff_of_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    common::write_idx_dataset(&data, 20, 200);
    let store = RunStore::open(dir.path().join("runs")).unwrap();
    let cnn = common::stored_run(&store, "cnn", 2);
    let mlp = common::stored_run(&store, "mlp", 2);
    write_predictions(&store, &cnn, &[]);
    write_predictions(&store, &mlp, &[16, 26]);
    let shot = |args: &[&str], file: &str| {
        let path = dir.path().join(file);
        let output = atelier(store.dir())
            .arg("--data-dir")
            .arg(&data)
            .args(["screenshot", "--size", "100x30"])
            .args(args)
            .arg("-o")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (
            output.status.success(),
            std::fs::read_to_string(&path).unwrap_or(stderr),
        )
    };
    let (ok, gallery) = shot(
        &[
            "--view",
            "gallery",
            "--run",
            "mlp",
            "--cell",
            "shirt:t-shirt/top",
        ],
        "gallery.txt",
    );
    assert!(ok, "{gallery}");
    assert!(
        gallery.contains("Gallery · mlp · Shirt → T-shirt/top · 1–3 of 4"),
        "{gallery}"
    );
    assert!(
        gallery.contains("#6 Shirt") && gallery.contains("Tsht 90% Shrt 10% Trou 0%"),
        "{gallery}"
    );
    assert!(gallery.contains('▀'), "{gallery}");
    let (ok, page_two) = shot(
        &[
            "--view", "gallery", "--run", "mlp", "--cell", "6:0", "--page", "2", "--ascii",
        ],
        "page2.txt",
    );
    assert!(ok, "{page_two}");
    assert!(
        page_two.contains("4–4 of 4") && page_two.contains("#106 Shirt"),
        "{page_two}"
    );
    assert!(!page_two.contains('▀'), "ASCII shading: {page_two}");
    let (ok, diff) = shot(
        &[
            "--view", "diff", "--run", "cnn", "--base", "mlp", "--cell", "6:0",
        ],
        "diff.txt",
    );
    assert!(ok, "{diff}");
    assert!(diff.contains("Diff · B cnn minus A mlp"), "{diff}");
    assert!(
        diff.contains("B right, A wrong: 2 images (b) · A right, B wrong: 0 (a) · here: 2"),
        "{diff}"
    );
    let (ok, disagreements) = shot(
        &[
            "--view", "gallery", "--run", "cnn", "--base", "mlp", "--cell", "6:0",
        ],
        "disagree.txt",
    );
    assert!(ok, "{disagreements}");
    assert!(
        disagreements.contains("#16 Shirt") && disagreements.contains("A✗Tsht 90% B✓Shrt 90%"),
        "{disagreements}"
    );
    // What cannot be drawn is said, not drawn.
    let old = common::stored_run(&store, "old", 1);
    for (args, expected) in [
        (
            vec!["--view", "gallery", "--run", old.as_str()],
            "predictions.safetensors: no test predictions: the run predates them",
        ),
        (
            vec!["--view", "gallery", "--run", "mlp", "--page", "9"],
            "page 9 is beyond the gallery's",
        ),
        (
            vec!["--view", "gallery", "--run", "mlp", "--cell", "shirt"],
            "expected TRUE:PREDICTED",
        ),
    ] {
        let (ok, message) = shot(&args, "never.txt");
        assert!(!ok, "{args:?}");
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}
