//! Reads what the current view needs from disk (test predictions of runs,
//! the test images) into the app. The event loop and `atelier screenshot`
//! call it between keys and draws; keys and drawing never touch the disk.

use std::{path::Path, sync::Arc};

use super::App;
use crate::{
    data::{self, FashionMnist},
    protocol::RunId,
    remote::{wire::RunFile, Located, Sources},
    store::{Predictions, RunStore},
};

/// Loads what [`App::needed`] names; returns whether anything was read.
/// Failures are kept as messages for the view to show.
pub fn load_needed(app: &mut App, store: &RunStore, data_dir: Option<&Path>) -> bool {
    let (runs, images) = app.needed();
    for run in &runs {
        let loaded = Predictions::load(&store.run_dir(run))
            .map(Arc::new)
            .map_err(|error| error.to_string());
        app.predictions.insert(run.clone(), loaded);
    }
    load_images(app, images, data_dir);
    !runs.is_empty() || images
}

/// [`load_needed`] for runs of any source: a remote run's predictions are
/// asked for, and stand as "fetching" until [`fetched`] brings them. Runs
/// no source brought (the app's own) are in `store`.
pub fn load_needed_from(
    app: &mut App,
    sources: &Sources,
    store: &RunStore,
    data_dir: Option<&Path>,
) -> bool {
    let (runs, images) = app.needed();
    for run in &runs {
        let local = |dir: &Path| {
            Predictions::load(dir)
                .map(Arc::new)
                .map_err(|error| error.to_string())
        };
        let loaded = match sources.locate(run, RunFile::Predictions) {
            Located::Local(dir) => local(&dir),
            Located::Requested { host } => Err(format!("fetching its predictions from {host}…")),
            Located::Unknown => local(&store.run_dir(run)),
        };
        app.predictions.insert(run.clone(), loaded);
    }
    load_images(app, images, data_dir);
    !runs.is_empty() || images
}

/// A remote run's predictions, as they arrived (or why not).
pub fn fetched(app: &mut App, run: RunId, bytes: Result<Vec<u8>, String>) {
    let loaded = bytes.and_then(|bytes| {
        Predictions::from_bytes(&bytes)
            .map(Arc::new)
            .map_err(|problem| format!("the predictions fetched are damaged: {problem}"))
    });
    app.predictions.insert(run, loaded);
}

/// The test images, when `wanted`, from the local data (remote runs too).
fn load_images(app: &mut App, wanted: bool, data_dir: Option<&Path>) {
    if wanted {
        app.test_images = Some(
            data::discover(data_dir)
                .and_then(|source| FashionMnist::load_test(&source))
                .map(Arc::new)
                .map_err(|error| {
                    format!("no test images to show: {error} (pass --data-dir, or run `atelier data fetch`)")
                }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        data::{idx, IMAGE_PIXELS},
        tui::{gallery::Subject, test_support::planned_app},
    };

    #[test]
    fn predictions_and_images_are_read_for_the_open_gallery() {
        let runs = tempfile::tempdir().unwrap();
        let store = RunStore::open(runs.path()).unwrap();
        let data = tempfile::tempdir().unwrap();
        // Ten test images, image i filled with the value i.
        let pixels: Vec<u8> = (0..10u8).flat_map(|i| [i; IMAGE_PIXELS]).collect();
        let labels: Vec<u8> = (0..10).collect();
        for (name, bytes) in [
            (idx::TEST_IMAGES, idx::encode_images(10, &pixels)),
            (idx::TEST_LABELS, idx::encode_labels(&labels)),
            (idx::TRAIN_IMAGES, idx::encode_images(10, &pixels)),
            (idx::TRAIN_LABELS, idx::encode_labels(&labels)),
        ] {
            std::fs::write(data.path().join(name), bytes).unwrap();
        }
        std::fs::create_dir(store.run_dir("a")).unwrap();
        let predicted = labels.clone();
        let mut probabilities = vec![0; 100];
        for class in 0..10 {
            probabilities[class * 11] = 255;
        }
        Predictions::new(labels, predicted, probabilities)
            .unwrap()
            .save(&store.run_dir("a"))
            .unwrap();
        let mut app = planned_app(&["M1"]);
        app.open_gallery(Subject::Cell {
            run: "a".into(),
            truth: 3,
            predicted: 3,
        });
        assert!(load_needed(&mut app, &store, Some(data.path())));
        let predictions = app.predictions_of(&"a".into()).unwrap();
        let images = app.test_images_for(&predictions).unwrap();
        assert_eq!(images.image(3)[0], 3);
        assert!(
            !load_needed(&mut app, &store, Some(data.path())),
            "read once"
        );
        // A run without predictions, and no dataset: both say why.
        app.open_gallery(Subject::Cell {
            run: "old".into(),
            truth: 0,
            predicted: 0,
        });
        app.test_images = None;
        load_needed(&mut app, &store, Some(&runs.path().join("nowhere")));
        let message = app.predictions_of(&"old".into()).unwrap_err();
        assert!(message.contains("predates"), "{message}");
        let message = app.test_images.clone().unwrap().unwrap_err();
        assert!(message.starts_with("no test images to show: "), "{message}");
    }
}
