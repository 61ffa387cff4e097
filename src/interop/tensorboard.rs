//! Stored runs as `TensorBoard` event files, so `tensorboard --logdir DIR`
//! shows them beside everything else a user logs there.
//!
//! One folder per run (named by its id, so seeds and reruns never clash),
//! holding one `events.out.tfevents.<start>.atelier` file, written whole to a
//! temporary file and renamed: exporting again replaces it rather than
//! doubling every point. What goes in (tags in [`tags`]):
//! - per progress event (global step = (epoch − 1) × steps + step): the
//!   loss and accuracy of the steps since the previous event, images/s, and
//!   the learning rate where a schedule moves it;
//! - per epoch (step = epoch): training and validation loss and accuracy,
//!   seconds;
//! - the test results (step = last epoch) and the confusion matrix as a PNG;
//! - the settings as hyperparameters (the `HParams` plugin), grouped by the
//!   run's group, so a configuration's seeds sit together there.

mod proto;
pub mod record;

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use prost::Message;

use super::InteropError;
use crate::{
    draw::{encode_png, figures, Canvas},
    edge::output::{self, Kind, Policy},
    protocol::Event,
    store::{History, RunRecord, RunStatus, RunStore},
};

/// The tag of every series atelier writes.
pub mod tags {
    pub const STEP_LOSS: &str = "step/loss";
    pub const STEP_ACCURACY: &str = "step/accuracy";
    pub const STEP_IMAGES_PER_SEC: &str = "step/images_per_sec";
    pub const STEP_LEARNING_RATE: &str = "step/learning_rate";
    pub const TRAIN_LOSS: &str = "epoch/train_loss";
    pub const TRAIN_ACCURACY: &str = "epoch/train_accuracy";
    pub const VAL_LOSS: &str = "epoch/val_loss";
    pub const VAL_ACCURACY: &str = "epoch/val_accuracy";
    pub const EPOCH_SECONDS: &str = "epoch/seconds";
    pub const TEST_LOSS: &str = "test/loss";
    pub const TEST_ACCURACY: &str = "test/accuracy";
    pub const TEST_FLIP_ACCURACY: &str = "test/flip_accuracy";
    pub const CONFUSION: &str = "test/confusion_matrix";
}

/// The hparams plugin's tags and format version (its `metadata.py`).
const HPARAMS_PLUGIN: &str = "hparams";
const SESSION_START_TAG: &str = "_hparams_/session_start_info";
const SESSION_END_TAG: &str = "_hparams_/session_end_info";

/// What one run's export wrote.
#[derive(Clone, Debug)]
pub struct Exported {
    pub file: PathBuf,
    /// Scalar points written, over every tag.
    pub scalars: usize,
    /// The run had not finished: its file holds what was logged so far.
    pub partial: bool,
}

/// Writes `record`'s run into its own folder under `dir`.
pub fn export_run(
    store: &RunStore,
    record: &RunRecord,
    dir: &Path,
    policy: &Policy,
) -> Result<Exported, InteropError> {
    let log = store.events(&record.id)?;
    let history = History::from_events(&log.events);
    let start = start_secs(record);
    let mut file = EventFile::new(start);
    file.hparams_start(record, start);
    let mut scalars = progress(&mut file, &log.events, start);
    scalars += epochs(&mut file, &history, start);
    scalars += test(&mut file, record, &history)?;
    let partial = !matches!(record.status, RunStatus::Done | RunStatus::Failed);
    if !partial {
        let end = start + history.epochs.iter().map(|row| row.seconds).sum::<f64>();
        file.hparams_end(record.status == RunStatus::Done, end);
    }
    let folder = dir.join(record.id.as_str());
    let name = format!("events.out.tfevents.{}.atelier", start as u64);
    output::create_folder(&folder)?;
    let path = folder.join(name);
    output::write(&path, Kind::TfEvents, &file.bytes, policy)?;
    Ok(Exported {
        file: path,
        scalars,
        partial,
    })
}

/// When the run was created, in seconds since the epoch (0 if unreadable).
fn start_secs(record: &RunRecord) -> f64 {
    humantime::parse_rfc3339_weak(&record.created_at)
        .ok()
        .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

/// The progress events' series; a step trained twice (a resumed run) keeps
/// its last values, as the run's history does.
fn progress(file: &mut EventFile, events: &[Event], start: f64) -> usize {
    let mut by_step: BTreeMap<i64, &Event> = BTreeMap::new();
    for event in events {
        if let Event::Progress {
            epoch, step, steps, ..
        } = event
        {
            let global = (i64::from(*epoch) - 1) * *steps as i64 + *step as i64;
            by_step.insert(global, event);
        }
    }
    let mut written = 0;
    for (step, event) in by_step {
        let Event::Progress {
            recent_loss,
            recent_accuracy,
            samples_per_sec,
            elapsed_secs,
            learning_rate,
            ..
        } = event
        else {
            continue;
        };
        let mut values = vec![
            (tags::STEP_LOSS, *recent_loss),
            (tags::STEP_ACCURACY, *recent_accuracy),
            (tags::STEP_IMAGES_PER_SEC, *samples_per_sec),
        ];
        values.extend(learning_rate.map(|rate| (tags::STEP_LEARNING_RATE, rate)));
        written += values.len();
        file.scalars(start + elapsed_secs, step, &values);
    }
    written
}

fn epochs(file: &mut EventFile, history: &History, start: f64) -> usize {
    let mut elapsed = 0.0;
    for row in &history.epochs {
        elapsed += row.seconds;
        file.scalars(
            start + elapsed,
            i64::from(row.epoch),
            &[
                (tags::TRAIN_LOSS, row.train_loss),
                (tags::TRAIN_ACCURACY, row.train_accuracy),
                (tags::VAL_LOSS, row.val_loss),
                (tags::VAL_ACCURACY, row.val_accuracy),
                (tags::EPOCH_SECONDS, row.seconds),
            ],
        );
    }
    history.epochs.len() * 5
}

/// The test results and the confusion matrix, at the last epoch's step.
fn test(
    file: &mut EventFile,
    record: &RunRecord,
    history: &History,
) -> Result<usize, InteropError> {
    let Some(test) = &history.test else {
        return Ok(0);
    };
    let step = history.epochs.last().map_or(0, |row| i64::from(row.epoch));
    let wall = file.last_wall;
    let mut values = vec![
        (tags::TEST_LOSS, test.loss),
        (tags::TEST_ACCURACY, test.accuracy),
    ];
    values.extend(
        history
            .flip_accuracy
            .map(|accuracy| (tags::TEST_FLIP_ACCURACY, accuracy)),
    );
    file.scalars(wall, step, &values);
    let canvas = figures::confusion(record, history)?;
    let png = encode_png(&canvas)?;
    file.image(wall, step, tags::CONFUSION, &canvas, png);
    Ok(values.len())
}

/// An event file being built in memory: runs are small (a few thousand
/// points), and a whole file renames into place at once.
struct EventFile {
    bytes: Vec<u8>,
    last_wall: f64,
}

impl EventFile {
    fn new(start: f64) -> Self {
        let mut file = Self {
            bytes: Vec::new(),
            last_wall: start,
        };
        file.push(proto::Event {
            wall_time: start,
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        });
        file
    }

    fn push(&mut self, event: proto::Event) {
        self.last_wall = self.last_wall.max(event.wall_time);
        record::append(&mut self.bytes, &event.encode_to_vec());
    }

    fn summary(&mut self, wall_time: f64, step: i64, value: Vec<proto::Value>) {
        self.push(proto::Event {
            wall_time,
            step,
            file_version: None,
            summary: Some(proto::Summary { value }),
        });
    }

    /// `TensorBoard` keeps scalars as f32, as `simple_value` is.
    fn scalars(&mut self, wall_time: f64, step: i64, values: &[(&str, f64)]) {
        let values = values
            .iter()
            .map(|(tag, value)| proto::Value {
                tag: (*tag).to_string(),
                simple_value: Some(*value as f32),
                ..Default::default()
            })
            .collect();
        self.summary(wall_time, step, values);
    }

    fn image(&mut self, wall_time: f64, step: i64, tag: &str, canvas: &Canvas, png: Vec<u8>) {
        let image = proto::Image {
            height: canvas.height as i32,
            width: canvas.width as i32,
            colorspace: 3,
            encoded_image_string: png,
        };
        let value = proto::Value {
            tag: tag.to_string(),
            image: Some(image),
            ..Default::default()
        };
        self.summary(wall_time, step, vec![value]);
    }

    fn hparams(&mut self, wall_time: f64, tag: &str, data: proto::HParamsPluginData) {
        let value = proto::Value {
            tag: tag.to_string(),
            // The plugin's NULL_TENSOR: an empty float tensor.
            tensor: Some(proto::TensorProto {
                dtype: 1,
                tensor_shape: Some(proto::TensorShapeProto {
                    dim: vec![proto::Dim { size: 0 }],
                }),
            }),
            metadata: Some(proto::SummaryMetadata {
                plugin_data: Some(proto::PluginData {
                    plugin_name: HPARAMS_PLUGIN.into(),
                    content: data.encode_to_vec(),
                }),
            }),
            ..Default::default()
        };
        self.summary(wall_time, 0, vec![value]);
    }

    fn hparams_start(&mut self, record: &RunRecord, start: f64) {
        let info = proto::SessionStartInfo {
            hparams: settings(record),
            group_name: record.group().name,
            start_time_secs: start,
        };
        let data = proto::HParamsPluginData {
            version: 0,
            session_start_info: Some(info),
            session_end_info: None,
        };
        self.hparams(start, SESSION_START_TAG, data);
    }

    fn hparams_end(&mut self, succeeded: bool, end: f64) {
        let info = proto::SessionEndInfo {
            status: if succeeded { 1 } else { 2 },
            end_time_secs: end,
        };
        let data = proto::HParamsPluginData {
            version: 0,
            session_start_info: None,
            session_end_info: Some(info),
        };
        self.hparams(end, SESSION_END_TAG, data);
    }
}

/// The run's settings, as the `HParams` dashboard's columns.
fn settings(record: &RunRecord) -> HashMap<String, proto::StructValue> {
    let spec = &record.spec;
    let number = |value: f64| proto::StructValue {
        number_value: Some(value),
        string_value: None,
    };
    let text = |value: String| proto::StructValue {
        number_value: None,
        string_value: Some(value),
    };
    let mut settings = HashMap::from([
        ("name".to_string(), text(spec.name.clone())),
        ("model".to_string(), text(spec.model.to_string())),
        ("epochs".to_string(), number(f64::from(spec.epochs))),
        ("batch_size".to_string(), number(f64::from(spec.batch_size))),
        ("learning_rate".to_string(), number(spec.learning_rate)),
        ("seed".to_string(), number(spec.seed as f64)),
        (
            "validation_split".to_string(),
            number(spec.validation_split),
        ),
        ("recipe".to_string(), text(recipe(record))),
    ]);
    if let Some(params) = record.params {
        settings.insert("parameters".into(), number(params as f64));
    }
    if let Some(device) = &record.device {
        settings.insert("device".into(), text(device.clone()));
    }
    settings
}

fn recipe(record: &RunRecord) -> String {
    let recipe = &record.spec.recipe;
    if recipe.is_original() {
        "original (Adam, constant rate)".into()
    } else {
        recipe.describe()
    }
}
