//! The results table, as Markdown (for the README) and CSV (for spreadsheets).

use std::fmt::Write;

use super::{ReportError, ReportRun};

/// The figure files of each run, for links in the Markdown.
#[derive(Debug, Default)]
pub struct Figures {
    /// (run id, confusion matrix file, history file)
    pub per_run: Vec<(String, String, String)>,
}

const HEADER: [&str; 11] = [
    "run",
    "model",
    "layers",
    "parameters",
    "epochs",
    "test accuracy",
    "test loss",
    "original accuracy",
    "training time (s)",
    "device",
    "id",
];

/// One row of values, in `HEADER` order.
fn row(run: &ReportRun) -> [String; 11] {
    let record = &run.record;
    let test = run.history.test.as_ref();
    [
        record.spec.name.clone(),
        record
            .spec
            .label
            .clone()
            .unwrap_or_else(|| record.spec.model.family().to_string()),
        record.spec.model.to_string(),
        record.params.map_or_else(String::new, |p| p.to_string()),
        record.epochs_done.to_string(),
        test.map_or_else(String::new, |t| format!("{:.4}", t.accuracy)),
        test.map_or_else(String::new, |t| format!("{:.4}", t.loss)),
        record
            .spec
            .reference
            .map_or_else(String::new, |r| format!("{:.4}", r.test_accuracy)),
        record
            .seconds
            .map_or_else(String::new, |s| format!("{s:.0}")),
        record.device.clone().unwrap_or_default(),
        record.id.to_string(),
    ]
}

/// `results.md`: the table, then the figures.
pub fn markdown(runs: &[ReportRun], figures: &Figures) -> String {
    let mut out = String::from("# Results\n\n");
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let align: Vec<&str> = HEADER
        .iter()
        .enumerate()
        .map(|(index, _)| {
            if (3..=8).contains(&index) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    let _ = writeln!(out, "| {} |", align.join(" | "));
    for run in runs {
        let cells = row(run);
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push_str(
        "\n![Test accuracy per run](test-accuracy.png)\n\n![Test loss per run](test-loss.png)\n",
    );
    for ((id, confusion, history), run) in figures.per_run.iter().zip(runs) {
        let title = run.record.spec.title();
        let _ = write!(
            out,
            "\n## {title}\n\nRun `{id}`.\n\n![Training history of {title}]({history})\n\n![Confusion matrix of {title}]({confusion})\n"
        );
    }
    out
}

/// `results.csv`: one header line, one line per run.
pub fn csv(runs: &[ReportRun]) -> Result<String, ReportError> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let problem = |e: ::csv::Error| ReportError::Draw {
        figure: "results.csv".into(),
        problem: e.to_string(),
    };
    writer.write_record(HEADER).map_err(problem)?;
    for run in runs {
        writer.write_record(row(run)).map_err(problem)?;
    }
    let bytes = writer.into_inner().map_err(|e| ReportError::Draw {
        figure: "results.csv".into(),
        problem: e.to_string(),
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
