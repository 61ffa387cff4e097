//! A still of the app from the stored runs, with no terminal: the state
//! `atelier screenshot` draws (a run selected, a view, a cursor, a gallery
//! page), built the way keys would build it, and drawn off screen.

use std::path::Path;

use ratatui::{backend::TestBackend, buffer::Buffer, Terminal};

use super::{
    gallery::{self, NoDiffPair, Subject},
    loader, ui, App, ColorMode, RenderMode, View,
};
use crate::{
    stats::confusion as metrics,
    store::{liveness::DEFAULT_STALL_AFTER, Follower, RunStore, StoreError},
};

/// Which screen a still shows (`atelier screenshot --view`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shot {
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
    /// The sweep of --run (else the newest): configurations ranked, each
    /// setting's effect, a heat table and the best configurations' curves.
    Sweep,
}

/// What the still shows, as `atelier screenshot`'s flags say it.
#[derive(Clone, Debug)]
pub struct Still<'a> {
    /// The run to select (id, id prefix or name); the newest started when `None`.
    pub run: Option<&'a str>,
    /// The run compared with (the diff's A, the gallery's other run).
    pub base: Option<&'a str>,
    pub shot: Shot,
    /// Columns and rows.
    pub size: (u16, u16),
    pub percent: bool,
    /// The grid cell (true, predicted); the selected run's top confusion when `None`.
    pub cell: Option<(usize, usize)>,
    /// The gallery page, from 1.
    pub page: usize,
    pub ascii: bool,
}

/// Why a still cannot be drawn.
#[derive(Debug, thiserror::Error)]
pub enum StillError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} holds no runs to draw; train some first (`atelier train --only M1`)")]
    NoRuns(std::path::PathBuf),
    #[error("run {0} could not be read; see `atelier runs`")]
    Unreadable(String),
    #[error("run {0} has no test results to draw; pick a finished run with --run")]
    NoTestResults(String),
    #[error(transparent)]
    NoPair(#[from] NoDiffPair),
    /// Predictions or test images that could not be read: the loader's words.
    #[error("{0}")]
    NotLoaded(String),
    #[error("page {page} is beyond the gallery's {count} images ({per_page} a page at this size)")]
    PageBeyond {
        page: usize,
        count: usize,
        per_page: usize,
    },
}

impl Still<'_> {
    /// The app state of this still, from every run in `store`; test images
    /// come from `data_dir` or the usual places.
    pub fn state(&self, store: &RunStore, data_dir: Option<&Path>) -> Result<App, StillError> {
        // The runs asked for first: a damaged one is named, not reported missing.
        for query in self.run.iter().chain(&self.base) {
            store.find(query)?;
        }
        let mut app = App::new(Vec::new(), Vec::new());
        for update in Follower::new(store.clone(), DEFAULT_STALL_AFTER).poll() {
            app.apply_update(&update);
        }
        if app.runs.is_empty() {
            return Err(StillError::NoRuns(store.dir().to_path_buf()));
        }
        let base = self.select(&mut app, store)?;
        self.aim_cursor(&mut app)?;
        if self.shot == Shot::Gallery {
            self.open_gallery(&mut app, base.is_some())?;
        }
        loader::load_needed(&mut app, store, data_dir);
        self.check_loaded(&app)?;
        app.render = RenderMode {
            color: ColorMode::TrueColor,
            ascii: self.ascii,
        };
        Ok(app)
    }

    /// Selects the run (or the newest), marks the base as the diff's A, sets
    /// the view and size; returns the base run's row.
    fn select(&self, app: &mut App, store: &RunStore) -> Result<Option<usize>, StillError> {
        let row = |app: &App, query: &str| -> Result<usize, StillError> {
            let id = store.find(query)?;
            app.runs
                .iter()
                .position(|view| view.id.as_deref() == Some(id.as_str()))
                .ok_or_else(|| StillError::Unreadable(id.to_string()))
        };
        let selected = match self.run {
            Some(query) => row(app, query)?,
            None => app.newest_started(),
        };
        // The run itself, not its group's header: the still is of that run.
        app.select_run(selected);
        let base = self.base.map(|query| row(app, query)).transpose()?;
        app.view = match self.shot {
            Shot::Runs => View::Runs,
            Shot::Live => View::Monitor,
            Shot::Confusion | Shot::Gallery => View::Confusion,
            Shot::Compare => View::Compare,
            Shot::Diff => View::Diff,
            Shot::Sweep => View::Sweep,
        };
        app.percent = self.percent;
        app.size = self.size;
        // The diff pairs the marked run (A) with the selected one (B).
        app.marked = base
            .and_then(|row| app.runs[row].id.clone())
            .into_iter()
            .collect();
        Ok(base)
    }

    /// The grid cursor on the cell asked for, else on the selected run's top confusion.
    fn aim_cursor(&self, app: &mut App) -> Result<(), StillError> {
        let selected = &app.runs[app.selected];
        let test = selected.logged().test.as_ref();
        if matches!(self.shot, Shot::Gallery | Shot::Diff) && test.is_none() {
            return Err(StillError::NoTestResults(
                selected
                    .id
                    .as_deref()
                    .unwrap_or(&selected.spec.name)
                    .to_string(),
            ));
        }
        app.cursor = match (self.cell, test) {
            (Some(cell), _) => cell,
            (None, Some(test)) => metrics::top_confusions(&test.confusion, 1)
                .first()
                .map_or((0, 0), |top| (top.truth, top.predicted)),
            (None, None) => (0, 0),
        };
        Ok(())
    }

    /// The gallery of the cursor's cell (of the pair's disagreements with
    /// the base), at the page asked for.
    fn open_gallery(&self, app: &mut App, with_base: bool) -> Result<(), StillError> {
        let (truth, predicted) = app.cursor;
        let subject = match app.diff_pair() {
            Ok((a, b)) if with_base => Subject::Disagreement {
                a,
                b,
                truth,
                predicted,
            },
            Err(hint) if with_base => return Err(hint.into()),
            _ => Subject::Cell {
                run: app.runs[app.selected].id.clone().unwrap_or_default(),
                truth,
                predicted,
            },
        };
        app.open_gallery(subject);
        if let Some(gallery) = app.gallery.as_mut() {
            gallery.first = self
                .page
                .saturating_sub(1)
                .saturating_mul(gallery::per_page(app.size));
        }
        Ok(())
    }

    /// Says what is missing rather than draw a screen that says it.
    fn check_loaded(&self, app: &App) -> Result<(), StillError> {
        for loaded in app.predictions.values() {
            if let Err(message) = loaded {
                return Err(StillError::NotLoaded(message.clone()));
            }
        }
        if let Some(Err(message)) = &app.test_images {
            return Err(StillError::NotLoaded(message.clone()));
        }
        if let Some(gallery) = &app.gallery {
            let count = gallery.subject.images(app).map_or(0, |images| images.len());
            if gallery.first >= count.max(1) {
                return Err(StillError::PageBeyond {
                    page: self.page,
                    count,
                    per_page: gallery::per_page(app.size),
                });
            }
        }
        Ok(())
    }
}

/// `app` drawn on an off-screen terminal of its size.
pub fn draw(app: &App) -> Buffer {
    let (columns, rows) = app.size;
    let mut terminal =
        Terminal::new(TestBackend::new(columns, rows)).unwrap_or_else(|never| match never {});
    let frame = terminal
        .draw(|frame| ui::draw(frame, app))
        .unwrap_or_else(|never| match never {});
    frame.buffer.clone()
}
