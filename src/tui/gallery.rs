//! The gallery of test images: which images it shows (a confusion cell of
//! one run, or where two runs disagree), and how it pages through them.
//!
//! Pages depend on the screen size, which the app keeps in [`App::size`], so
//! keys and drawing agree on what a page is without the drawing changing state.

pub mod grid;
pub mod subject;

use std::sync::Arc;

pub use grid::{grid, inner_area, per_page, GAP_X, GAP_Y, TILE_HEIGHT, TILE_WIDTH};
pub use subject::{disagreements, only_right, Gallery, Loaded, Subject};

use super::{App, View};
use crate::{
    data::{Split, NUM_CLASSES},
    protocol::RunId,
    store::Predictions,
};

/// Why the diff has nothing to show, with how to give it something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("mark two finished runs with m (or mark one and select another) to diff them")]
pub struct NoDiffPair;

impl Subject {
    /// The test indices shown, in order, or why there are none to show.
    pub fn images(&self, app: &App) -> Result<Vec<usize>, String> {
        match self {
            Subject::Cell {
                run,
                truth,
                predicted,
            } => Ok(app.predictions_of(run)?.cell(*truth, *predicted)),
            Subject::Disagreement {
                a,
                b,
                truth,
                predicted,
            } => {
                let (a, b) = (app.predictions_of(a)?, app.predictions_of(b)?);
                if a.labels() != b.labels() {
                    return Err("the two runs were tested on different test sets".into());
                }
                Ok(disagreements(&a, &b, *truth, *predicted))
            }
            Subject::OneRight { a, b, b_right } => {
                let (a, b) = (app.predictions_of(a)?, app.predictions_of(b)?);
                if a.labels() != b.labels() {
                    return Err("the two runs were tested on different test sets".into());
                }
                let (right, wrong) = if *b_right { (&b, &a) } else { (&a, &b) };
                Ok(only_right(right, wrong))
            }
        }
    }
}

impl App {
    /// The loaded predictions of `run`, or why they are not there.
    pub fn predictions_of(&self, run: &RunId) -> Result<Arc<Predictions>, String> {
        match self.predictions.get(run) {
            Some(loaded) => loaded.clone(),
            None => Err("reading the test predictions…".into()),
        }
    }

    /// The test images, when they are loaded and match `predictions`.
    pub fn test_images_for(&self, predictions: &Predictions) -> Result<Arc<Split>, String> {
        let images = match &self.test_images {
            Some(loaded) => loaded.clone()?,
            None => return Err("reading the test images…".into()),
        };
        if images.labels != predictions.labels() {
            return Err(format!(
                "the test set found here ({} images) is not the one this run was tested on ({} images)",
                images.len(),
                predictions.len()
            ));
        }
        Ok(images)
    }

    /// Opens the gallery on `subject`, coming from the current view. Failed
    /// reads are forgotten, so opening tries them again.
    pub fn open_gallery(&mut self, subject: Subject) {
        for run in subject.runs() {
            if self.predictions.get(run).is_some_and(Result::is_err) {
                self.predictions.remove(run);
            }
        }
        if self.test_images.as_ref().is_some_and(Result::is_err) {
            self.test_images = None;
        }
        let back = match (&self.gallery, self.view) {
            (Some(gallery), View::Gallery) => gallery.back,
            (_, view) => view,
        };
        self.gallery = Some(Gallery {
            subject,
            first: 0,
            back,
        });
        self.view = View::Gallery;
    }

    /// Leaves the gallery for the view it was opened from.
    pub fn close_gallery(&mut self) {
        let back = self
            .gallery
            .take()
            .map_or(View::Monitor, |gallery| gallery.back);
        if self.view == View::Gallery {
            self.view = back;
        }
    }

    /// Moves the gallery by `pages` pages (negative: back), staying on a page
    /// that shows at least one image.
    pub fn page_gallery(&mut self, pages: isize) {
        let per_page = per_page(self.size);
        let count = self
            .gallery
            .as_ref()
            .and_then(|gallery| gallery.subject.images(self).ok())
            .map_or(0, |images| images.len());
        let Some(gallery) = self.gallery.as_mut() else {
            return;
        };
        let last_page_start = count.saturating_sub(1) / per_page * per_page;
        let page = gallery.first / per_page;
        let target = page.saturating_add_signed(pages).saturating_mul(per_page);
        gallery.first = target.min(last_page_start);
    }

    /// Moves the grid cursor by rows and columns, clamped to the grid.
    pub fn move_cursor(&mut self, rows: isize, columns: isize) {
        let clamp = |at: usize, by: isize| at.saturating_add_signed(by).min(NUM_CLASSES - 1);
        self.cursor = (clamp(self.cursor.0, rows), clamp(self.cursor.1, columns));
    }

    /// What the current view needs from disk and has not got: predictions
    /// of these runs, and whether the test images.
    pub fn needed(&self) -> (Vec<RunId>, bool) {
        let mut runs: Vec<RunId> = Vec::new();
        let mut images = false;
        match self.view {
            View::Gallery => {
                if let Some(gallery) = &self.gallery {
                    runs.extend(gallery.subject.runs().into_iter().cloned());
                    images = self.test_images.is_none();
                }
            }
            View::Diff => {
                if let Ok((a, b)) = self.diff_pair() {
                    runs.extend([a, b]);
                }
            }
            View::Compare => runs.extend(super::comparison::verdict_runs(self)),
            _ => {}
        }
        runs.retain(|run| !self.predictions.contains_key(run));
        (runs, images)
    }

    /// The two finished runs the diff compares, `(a, b)`, b being the one
    /// whose gains show green: the first two marked finished runs, or the
    /// one marked and the selected one.
    pub fn diff_pair(&self) -> Result<(RunId, RunId), NoDiffPair> {
        let finished = |id: &RunId| {
            self.runs
                .iter()
                .any(|view| view.id.as_ref() == Some(id) && view.logged().test.is_some())
        };
        let marked: Vec<&RunId> = self.marked.iter().filter(|id| finished(id)).collect();
        let selected = self
            .selected_run()
            .filter(|view| view.logged().test.is_some())
            .and_then(|view| view.id.as_ref());
        match (marked.as_slice(), selected) {
            ([a, b, ..], _) => Ok(((*a).clone(), (*b).clone())),
            ([a], Some(b)) if *a != b => Ok(((*a).clone(), b.clone())),
            _ => Err(NoDiffPair),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        data::IMAGE_PIXELS,
        protocol::Event,
        tui::test_support::{planned_app, predictions},
    };

    fn finished(app: &mut App, index: usize, id: &str) {
        app.assign_id(index, id.into());
        app.apply(&Event::Evaluated {
            run: id.into(),
            test_loss: 0.3,
            test_accuracy: 0.9,
            confusion: Box::new([[3; NUM_CLASSES]; NUM_CLASSES]),
        });
    }

    #[test]
    fn paging_clamps_to_pages_that_show_images() {
        let mut app = planned_app(&["M1"]);
        finished(&mut app, 0, "a");
        // 80×24: two tiles across, one down.
        app.size = (80, 24);
        assert_eq!(per_page(app.size), 2);
        assert_eq!(per_page((120, 40)), 8);
        // Shirts (6) taken for T-shirts (0): test indices 6, 16 and 26.
        let mistakes = [(6, 0), (16, 0), (26, 0)];
        app.predictions
            .insert("a".into(), Ok(Arc::new(predictions(&mistakes))));
        app.view = View::Confusion;
        app.open_gallery(Subject::Cell {
            run: "a".into(),
            truth: 6,
            predicted: 0,
        });
        let images = app.gallery.as_ref().unwrap().subject.images(&app).unwrap();
        assert_eq!(images, [6, 16, 26]);
        app.page_gallery(1);
        assert_eq!(app.gallery.as_ref().unwrap().first, 2);
        app.page_gallery(1);
        assert_eq!(app.gallery.as_ref().unwrap().first, 2, "no empty page");
        app.page_gallery(-5);
        assert_eq!(app.gallery.as_ref().unwrap().first, 0);
        app.page_gallery(isize::MAX);
        assert_eq!(app.gallery.as_ref().unwrap().first, 2);
        app.close_gallery();
        assert_eq!((app.view, app.gallery.is_none()), (View::Confusion, true));
    }

    #[test]
    fn the_cursor_stays_on_the_grid() {
        let mut app = planned_app(&["M1"]);
        app.move_cursor(-1, -1);
        assert_eq!(app.cursor, (0, 0));
        app.move_cursor(6, 0);
        app.move_cursor(0, 20);
        assert_eq!(app.cursor, (6, 9));
    }

    #[test]
    fn loads_are_asked_for_once_and_failures_retried_on_opening() {
        let mut app = planned_app(&["M1"]);
        finished(&mut app, 0, "a");
        assert_eq!(
            app.needed(),
            (Vec::new(), false),
            "the monitor needs nothing"
        );
        app.open_gallery(Subject::Cell {
            run: "a".into(),
            truth: 0,
            predicted: 0,
        });
        assert_eq!(app.needed(), (vec![RunId::from("a")], true));
        app.predictions.insert("a".into(), Err("gone".into()));
        app.test_images = Some(Err("no dataset".into()));
        assert_eq!(app.needed(), (Vec::new(), false), "no retry on every key");
        assert_eq!(
            app.gallery.as_ref().unwrap().subject.images(&app),
            Err("gone".into())
        );
        app.open_gallery(Subject::Cell {
            run: "a".into(),
            truth: 1,
            predicted: 1,
        });
        assert_eq!(app.needed(), (vec![RunId::from("a")], true));
        app.close_gallery();
        assert_eq!(app.view, View::Monitor, "back where the first one opened");
    }

    #[test]
    fn test_images_must_be_the_ones_the_run_was_tested_on() {
        let mut app = planned_app(&["M1"]);
        let predictions = predictions(&[]);
        assert!(app.test_images_for(&predictions).is_err());
        let split = |count: usize| Split {
            images: vec![0; count * IMAGE_PIXELS],
            labels: (0..count).map(|i| (i % 10) as u8).collect(),
        };
        app.test_images = Some(Ok(Arc::new(split(40))));
        let message = app.test_images_for(&predictions).unwrap_err();
        assert!(
            message.contains("(40 images)") && message.contains("(30 images)"),
            "{message}"
        );
        app.test_images = Some(Ok(Arc::new(split(30))));
        assert!(app.test_images_for(&predictions).is_ok());
    }

    #[test]
    fn the_diff_pairs_marked_runs_and_lists_disagreements() {
        let mut app = planned_app(&["M1", "MLP", "X"]);
        finished(&mut app, 0, "cnn");
        finished(&mut app, 1, "mlp");
        assert!(app.diff_pair().is_err());
        app.marked = vec!["mlp".into()];
        app.selected = 0;
        assert_eq!(app.diff_pair(), Ok(("mlp".into(), "cnn".into())));
        app.selected = 2;
        assert!(app.diff_pair().is_err(), "X has no test result");
        app.marked.push("cnn".into());
        assert_eq!(app.diff_pair(), Ok(("mlp".into(), "cnn".into())));
        // The MLP takes sneakers (7) for boots (9) at 7 and 17; the CNN only at 27,
        // and takes sneaker 17 for a sandal (5).
        let mlp = predictions(&[(7, 9), (17, 9)]);
        let cnn = predictions(&[(27, 9), (17, 5)]);
        assert_eq!(disagreements(&mlp, &cnn, 7, 9), [7, 27]);
        assert_eq!(
            disagreements(&mlp, &cnn, 7, 7),
            [7, 27],
            "17 is wrong in both"
        );
        assert_eq!(disagreements(&mlp, &cnn, 7, 5), Vec::<usize>::new());
        assert!(disagreements(&mlp, &cnn, 6, 6).is_empty());
        assert_eq!(only_right(&cnn, &mlp), [7]);
        assert_eq!(only_right(&mlp, &cnn), [27]);
        app.predictions.insert("mlp".into(), Ok(Arc::new(mlp)));
        app.predictions.insert("cnn".into(), Ok(Arc::new(cnn)));
        let subject = |b_right| Subject::OneRight {
            a: "mlp".into(),
            b: "cnn".into(),
            b_right,
        };
        assert_eq!(subject(true).images(&app), Ok(vec![7]));
        assert_eq!(subject(false).images(&app), Ok(vec![27]));
    }
}
