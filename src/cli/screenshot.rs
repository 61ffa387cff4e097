//! `atelier screenshot`: draws a view of the stored runs into a file, with
//! no terminal, for documentation and CI.

use std::{path::PathBuf, process::ExitCode, str::FromStr};

use anyhow::{bail, Context};
use atelier::{
    data::classes::parse_class,
    draw::Theme,
    edge::output::{self, Policy},
    outln, screen,
    stats::confusion as metrics,
    store::{liveness::DEFAULT_STALL_AFTER, Follower, RunStore},
    tui::{
        event_loop,
        gallery::{self, Subject},
        loader, ui, App, ColorMode, RenderMode, View,
    },
};
use clap::{Args, ValueEnum};
use ratatui::{backend::TestBackend, Terminal};

/// Which screen to draw.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ViewName {
    /// The run list alone, full screen.
    Runs,
    /// Run list, live curves and (from 150 columns) the confusion matrix.
    Live,
    /// The selected run's confusion matrix.
    Confusion,
    /// Test results and validation curves of the finished runs.
    Compare,
    /// The test images of a confusion cell of --run (with --base: where
    /// the two runs disagree), from the dataset.
    Gallery,
    /// --run's confusion matrix minus --base's.
    Diff,
}

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
    /// The run to select (id, id prefix or name) [default: the newest started run].
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Which screen to draw.
    #[arg(long, value_enum, default_value = "live")]
    pub view: ViewName,
    /// Terminal size to lay out for.
    #[arg(long, default_value = "120x40", value_name = "COLSxROWS")]
    pub size: Size,
    /// Default text and background colours of the image.
    #[arg(long, value_enum, default_value = "dark")]
    pub theme: Theme,
    /// Show confusion cells as row percentages.
    #[arg(long)]
    pub percent: bool,
    /// The grid cell for the gallery and the diff's cursor, TRUE:PREDICTED
    /// (class numbers or names) [default: the run's most frequent confusion].
    #[arg(long, value_name = "TRUE:PRED")]
    pub cell: Option<Cell>,
    /// The run --run is compared with (A in the diff; --run is B).
    #[arg(long, value_name = "RUN")]
    pub base: Option<String>,
    /// The gallery page to draw, from 1.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = page_number)]
    pub page: usize,
    /// Output file; its extension picks the format: .txt .ansi .html .svg .png
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Draw charts and gauges without braille or block glyphs, as the app's `--ascii`.
    #[arg(long)]
    pub ascii: bool,
    /// Replace an existing file even when it is not of the kind written
    /// (never a run's own files, a link or a device).
    #[arg(long)]
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
    let store = RunStore::existing(runs_dir)?;
    // Check the format and the path before any work.
    let format = screen::Format::from_path(&args.output)?;
    let policy = Policy::new(args.force, Some(store.dir().to_path_buf()));
    output::check(&args.output, format.kind(), &policy)?;
    // The runs asked for first: a damaged one is named, not reported missing.
    for query in args.run.iter().chain(&args.base) {
        store.find(query)?;
    }
    let mut app = stored_app(&store)?;
    let base = select(&mut app, &store, args)?;
    aim_cursor(&mut app, args)?;
    if let ViewName::Gallery = args.view {
        open_gallery(&mut app, args, base.is_some())?;
    }
    loader::load_needed(&mut app, &store, data_dir);
    check_loaded(&app, args)?;
    app.render = RenderMode {
        color: ColorMode::TrueColor,
        ascii,
    };
    let mut terminal = Terminal::new(TestBackend::new(args.size.columns, args.size.rows))
        .context("cannot create the off-screen terminal")?;
    let frame = terminal
        .draw(|frame| ui::draw(frame, &app))
        .context("cannot draw the screen")?;
    screen::save(frame.buffer, &args.output, args.theme, &policy)?;
    outln!("{}", args.output.display())?;
    Ok(ExitCode::SUCCESS)
}

/// An app holding every stored run, or an error when there is none.
fn stored_app(store: &RunStore) -> anyhow::Result<App> {
    let mut app = App::new(Vec::new(), Vec::new());
    let mut follower = Follower::new(store.clone(), DEFAULT_STALL_AFTER);
    event_loop::catch_up(&mut app, &mut follower);
    if app.runs.is_empty() {
        bail!(
            "{} holds no runs to draw; train some first (`atelier train --only M1`)",
            store.dir().display()
        );
    }
    Ok(app)
}

/// Selects `--run` (or the newest), marks `--base` as the diff's A, sets
/// the view and size; returns the base run's row.
fn select(app: &mut App, store: &RunStore, args: &ScreenshotArgs) -> anyhow::Result<Option<usize>> {
    let row = |app: &App, query: &str| -> anyhow::Result<usize> {
        let id = store.find(query)?;
        app.runs
            .iter()
            .position(|view| view.id.as_deref() == Some(id.as_str()))
            .with_context(|| format!("run {id} could not be read; see `atelier runs`"))
    };
    let selected = match &args.run {
        Some(query) => row(app, query)?,
        None => app.newest_started(),
    };
    // The run itself, not its group's header: the screenshot is of that run.
    app.select_run(selected);
    let base = args
        .base
        .as_deref()
        .map(|query| row(app, query))
        .transpose()?;
    app.view = match args.view {
        ViewName::Runs => View::Runs,
        ViewName::Live => View::Monitor,
        ViewName::Confusion | ViewName::Gallery => View::Confusion,
        ViewName::Compare => View::Compare,
        ViewName::Diff => View::Diff,
    };
    app.percent = args.percent;
    app.size = (args.size.columns, args.size.rows);
    // The diff pairs the marked run (A) with the selected one (B).
    app.marked = base
        .and_then(|row| app.runs[row].id.clone())
        .into_iter()
        .collect();
    Ok(base)
}

/// The grid cursor on `--cell`, else on the selected run's top confusion.
fn aim_cursor(app: &mut App, args: &ScreenshotArgs) -> anyhow::Result<()> {
    let selected = &app.runs[app.selected];
    let test = selected.logged().test.as_ref();
    if matches!(args.view, ViewName::Gallery | ViewName::Diff) && test.is_none() {
        bail!(
            "run {} has no test results to draw; pick a finished run with --run",
            selected.id.as_deref().unwrap_or(&selected.spec.name)
        );
    }
    app.cursor = match (args.cell, test) {
        (Some(cell), _) => (cell.truth, cell.predicted),
        (None, Some(test)) => metrics::top_confusions(&test.confusion, 1)
            .first()
            .map_or((0, 0), |top| (top.truth, top.predicted)),
        (None, None) => (0, 0),
    };
    Ok(())
}

/// The gallery of the cursor's cell (of the pair's disagreements with
/// `--base`), at `--page`.
fn open_gallery(app: &mut App, args: &ScreenshotArgs, with_base: bool) -> anyhow::Result<()> {
    let (truth, predicted) = app.cursor;
    let subject = match app.diff_pair() {
        Ok((a, b)) if with_base => Subject::Disagreement {
            a,
            b,
            truth,
            predicted,
        },
        Err(message) if with_base => bail!(message),
        _ => Subject::Cell {
            run: app.runs[app.selected].id.clone().unwrap_or_default(),
            truth,
            predicted,
        },
    };
    app.open_gallery(subject);
    if let Some(gallery) = app.gallery.as_mut() {
        gallery.first = args
            .page
            .saturating_sub(1)
            .saturating_mul(gallery::per_page(app.size));
    }
    Ok(())
}

/// Says what is missing rather than draw a screen that says it.
fn check_loaded(app: &App, args: &ScreenshotArgs) -> anyhow::Result<()> {
    for loaded in app.predictions.values() {
        if let Err(message) = loaded {
            bail!("{message}");
        }
    }
    if let Some(Err(message)) = &app.test_images {
        bail!("{message}");
    }
    if let Some(gallery) = &app.gallery {
        let count = gallery.subject.images(app).map_or(0, |images| images.len());
        if gallery.first >= count.max(1) {
            bail!(
                "page {} is beyond the gallery's {count} images ({} a page at this size)",
                args.page,
                gallery::per_page(app.size)
            );
        }
    }
    Ok(())
}
