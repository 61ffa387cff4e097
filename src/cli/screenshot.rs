//! `atelier screenshot`: draws a view of the stored runs into a file, with
//! no terminal, for documentation and CI.

use std::{path::PathBuf, process::ExitCode, str::FromStr};

use anyhow::Context;
use atelier::{
    data::classes::parse_class,
    draw::Theme,
    edge::output::{self, Policy},
    outln, screen,
    store::RunStore,
    tui::{
        still::{self, Shot, Still},
        ui,
    },
};
use clap::Args;

/// A cell of the confusion grid, `TRUE:PREDICTED`.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    pub truth: usize,
    pub predicted: usize,
}

impl FromStr for Cell {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (truth, predicted) = text.split_once(':').ok_or_else(|| {
            format!("expected TRUE:PREDICTED such as Shirt:T-shirt/top or 6:0, found {text:?}")
        })?;
        Ok(Cell {
            truth: parse_class(truth).map_err(|error| error.to_string())?,
            predicted: parse_class(predicted).map_err(|error| error.to_string())?,
        })
    }
}

/// A terminal size, `COLSxROWS`.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub columns: u16,
    pub rows: u16,
}

impl FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected = || format!("expected COLSxROWS such as 120x40, found {text:?}");
        let (columns, rows) = text.split_once(['x', 'X']).ok_or_else(expected)?;
        let columns: u16 = columns.trim().parse().map_err(|_| expected())?;
        let rows: u16 = rows.trim().parse().map_err(|_| expected())?;
        let (min_columns, min_rows) = ui::MIN_SIZE;
        if columns < min_columns || rows < min_rows || columns > 1000 || rows > 500 {
            return Err(format!(
                "{text}: the app lays out from {min_columns}x{min_rows} up to 1000x500"
            ));
        }
        Ok(Size { columns, rows })
    }
}

#[derive(Debug, Args)]
pub struct ScreenshotArgs {
    /// The run to select: an id, a unique start of one, or a run name (its
    /// latest run) [default: the newest started run].
    #[arg(long, value_name = "RUN", help_heading = crate::cli::heading::SELECTION)]
    pub run: Option<String>,
    /// Which screen to draw.
    #[arg(long, value_enum, default_value = "live", value_name = "VIEW", help_heading = crate::cli::heading::SELECTION)]
    pub view: Shot,
    /// Terminal size to lay out for.
    #[arg(long, default_value = "120x40", value_name = "COLSxROWS", help_heading = crate::cli::heading::OUTPUT)]
    pub size: Size,
    /// Default text and background colours of the image.
    #[arg(long, value_enum, default_value = "dark", value_name = "THEME", help_heading = crate::cli::heading::OUTPUT)]
    pub theme: Theme,
    /// Show confusion cells as row percentages.
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub percent: bool,
    /// The grid cell for the gallery and the diff's cursor, TRUE:PREDICTED
    /// (class numbers or names) [default: the run's most frequent confusion].
    #[arg(long, value_name = "TRUE:PRED", help_heading = crate::cli::heading::SELECTION)]
    pub cell: Option<Cell>,
    /// The run --run is compared with, named as --run is (A in the diff;
    /// --run is B); `--view diff` needs it.
    #[arg(long, value_name = "RUN", help_heading = crate::cli::heading::SELECTION)]
    pub base: Option<String>,
    /// The gallery page to draw, from 1.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = page_number, help_heading = crate::cli::heading::SELECTION)]
    pub page: usize,
    /// Output file; its extension picks the format: .txt .ansi .html .svg .png
    #[arg(short, long, value_name = "FILE", help_heading = crate::cli::heading::OUTPUT)]
    pub output: PathBuf,
    /// Draw charts and gauges without braille or block glyphs, as the app's `--ascii`.
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub ascii: bool,
    /// Replace an existing file even when it is not of the kind written
    /// (never a run's own files, a link or a device).
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub force: bool,
}

/// A gallery page: 1 or more.
fn page_number(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("pages count from 1".into()),
        Ok(page) => Ok(page),
        Err(error) => Err(format!("expected a page number (1, 2, …): {error}")),
    }
}

pub fn run(
    args: &ScreenshotArgs,
    ascii: bool,
    data_dir: Option<&std::path::Path>,
    runs_dir: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    if args.view == Shot::Diff && args.base.is_none() {
        anyhow::bail!(
            "--view diff draws --run's confusion matrix minus --base's, and --base is missing: \
             give --base RUN (the run to subtract); nothing written"
        );
    }
    let store = RunStore::existing(runs_dir)?;
    // Each names one run (see `atelier::store::naming`); said with its flag.
    for (flag, query) in [("--run", &args.run), ("--base", &args.base)] {
        if let Some(query) = query {
            store.find(query).with_context(|| flag.to_string())?;
        }
    }
    // Check the format and the path before any work.
    let format = screen::Format::from_path(&args.output)?;
    let policy = Policy::new(args.force, Some(store.dir().to_path_buf()));
    output::check(&args.output, format.kind(), &policy)?;
    let still = Still {
        run: args.run.as_deref(),
        base: args.base.as_deref(),
        shot: args.view,
        size: (args.size.columns, args.size.rows),
        percent: args.percent,
        cell: args.cell.map(|cell| (cell.truth, cell.predicted)),
        page: args.page,
        ascii,
    };
    let app = still.state(&store, data_dir)?;
    screen::save(&still::draw(&app), &args.output, args.theme, &policy)?;
    outln!("{}", args.output.display())?;
    Ok(ExitCode::SUCCESS)
}
