//! `atelier screenshot`: draws a view of the stored runs into a file, with
//! no terminal, for documentation and CI.

use std::{path::PathBuf, process::ExitCode, str::FromStr};

use anyhow::{bail, Context};
use atelier::{
    export::{self, Theme},
    store::{liveness::DEFAULT_STALL_AFTER, Follower, RunStore},
    tui::{ui, App, ColorMode, RenderMode, View},
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
    /// Output file; its extension picks the format: .txt .ansi .html .svg .png
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(
    args: &ScreenshotArgs,
    ascii: bool,
    runs_dir: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    // Check the format before any work.
    export::Format::from_path(&args.output)?;
    let store = RunStore::resolve(runs_dir)?;
    let mut app = App::new(Vec::new(), Vec::new());
    for update in Follower::new(store.clone(), DEFAULT_STALL_AFTER).poll() {
        app.apply_update(&update);
    }
    if app.runs.is_empty() {
        bail!(
            "{} holds no runs to draw; train some first (`atelier train --only M1`)",
            store.dir().display()
        );
    }
    app.selected = match &args.run {
        Some(query) => {
            let id = store.find(query)?;
            app.runs
                .iter()
                .position(|view| view.id.as_deref() == Some(id.as_str()))
                .with_context(|| format!("run {id} could not be read; see `atelier runs`"))?
        }
        None => app.newest_started(),
    };
    app.view = match args.view {
        ViewName::Runs => View::Runs,
        ViewName::Live => View::Monitor,
        ViewName::Confusion => View::Confusion,
        ViewName::Compare => View::Compare,
    };
    app.percent = args.percent;
    app.render = RenderMode {
        color: ColorMode::TrueColor,
        ascii,
    };
    let mut terminal = Terminal::new(TestBackend::new(args.size.columns, args.size.rows))
        .context("cannot create the off-screen terminal")?;
    let frame = terminal
        .draw(|frame| ui::draw(frame, &app))
        .context("cannot draw the screen")?;
    export::save(frame.buffer, &args.output, args.theme)?;
    println!("{}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
