//! Real, short training on the CPU: MLP and M1 on a few thousand images.
//! Needs the real dataset (see `tests/it/real_data.rs` for the CI rule).

#[path = "it/common.rs"]
mod common;

use atelier::plan::DevicePref;
use atelier::{
    data::{self, FashionMnist},
    model::{
        blocks::{Block, Downsample, Head, HeadPool, Padding},
        ModelSpec,
    },
    plan::{Augment, OptimizerKind, Recipe, RunSpec, Schedule},
    protocol::Event,
    stats::confusion as metrics,
    store::Predictions,
    train::{
        fit::{fit, FitOutcome, Flow, Start, Supervisor},
        tensors::{DeviceData, UploadKey},
    },
};

/// libtorch's random generator is global: tests that train must not overlap,
/// or one test's dropout draws shift the other's.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[derive(Default)]
struct Recorder {
    events: Vec<Event>,
    stop_after_polls: Option<usize>,
    /// Suspend (save the place mid-epoch) instead of stopping.
    suspend: bool,
    polls: usize,
}

impl Supervisor for Recorder {
    fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    fn poll(&mut self) -> Flow {
        self.polls += 1;
        match self.stop_after_polls {
            Some(limit) if self.polls > limit && self.suspend => Flow::Suspend,
            Some(limit) if self.polls > limit => Flow::Stop,
            _ => Flow::Continue,
        }
    }
}

fn dataset() -> Option<FashionMnist> {
    match data::discover(None) {
        Ok(source) => Some(FashionMnist::load(&source).unwrap()),
        Err(error) => {
            common::missing(&format!("the real dataset is missing: {error}"));
            None
        }
    }
}

/// A synthetic dataset (1,000 training and 200 test images) for the tests
/// that compare two trainings bit for bit and need no real images.
fn synthetic() -> (tempfile::TempDir, FashionMnist) {
    let dir = tempfile::tempdir().unwrap();
    let source = common::synthetic_source(dir.path(), 1_000, 200);
    let dataset = FashionMnist::load(&source).unwrap();
    (dir, dataset)
}

fn spec(name: &str, model: ModelSpec, epochs: u32, limit: usize) -> RunSpec {
    RunSpec {
        epochs,
        device: DevicePref::Cpu,
        limit_train: Some(limit),
        ..RunSpec::new(name, model)
    }
}

fn upload(dataset: &FashionMnist, spec: &RunSpec) -> DeviceData {
    DeviceData::upload(
        dataset,
        UploadKey {
            device: tch::Device::Cpu,
            validation_split: spec.validation_split,
            limit_train: spec.limit_train,
        },
    )
}

fn train_and_check(spec: &RunSpec, dataset: &FashionMnist) -> Vec<Event> {
    let data = upload(dataset, spec);
    let checkpoints = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::default();
    let outcome = fit(
        &"test-run".into(),
        spec,
        &data,
        Some(checkpoints.path()),
        Start::Fresh,
        &mut recorder,
    )
    .unwrap();
    assert_eq!(outcome, FitOutcome::Finished);
    assert!(checkpoints.path().join("best.safetensors").is_file());
    assert!(checkpoints.path().join("final.safetensors").is_file());
    let events = recorder.events;
    let epoch_losses: Vec<f64> = events
        .iter()
        .filter_map(|event| match event {
            Event::EpochEnd { train_loss, .. } => Some(*train_loss),
            _ => None,
        })
        .collect();
    assert_eq!(epoch_losses.len(), spec.epochs as usize);
    assert!(
        epoch_losses[1] < epoch_losses[0],
        "loss must fall: {epoch_losses:?}"
    );
    let progress_losses: Vec<f64> = events
        .iter()
        .filter_map(|event| match event {
            Event::Progress {
                epoch: 1,
                recent_loss,
                ..
            } => Some(*recent_loss),
            _ => None,
        })
        .collect();
    assert!(progress_losses.len() >= 2);
    assert!(
        progress_losses.last() < progress_losses.first(),
        "{progress_losses:?}"
    );
    let Some(Event::Evaluated {
        test_accuracy,
        test_loss,
        confusion,
        ..
    }) = events
        .iter()
        .find(|event| matches!(event, Event::Evaluated { .. }))
    else {
        panic!("no evaluation in {events:?}")
    };
    assert_eq!(
        metrics::total(confusion),
        10_000,
        "the confusion matrix counts every test image"
    );
    assert!((metrics::accuracy(confusion) - test_accuracy).abs() < 1e-12);
    // The stored per-image predictions say the same as the matrix.
    let predictions = Predictions::load(checkpoints.path()).unwrap();
    let mut counted = [[0u32; 10]; 10];
    for index in 0..predictions.len() {
        counted[predictions.label(index)][predictions.predicted(index)] += 1;
    }
    assert_eq!(&counted, &**confusion);
    assert_eq!(predictions.labels(), dataset.test.labels.as_slice());
    assert!(
        *test_accuracy > 0.70,
        "{}: test accuracy {test_accuracy}",
        spec.name
    );
    assert!(test_loss.is_finite());
    assert!(matches!(events.last(), Some(Event::Finished { .. })));
    events
}

#[test]
fn mlp_and_m1_learn_on_a_few_thousand_images() {
    let _serial = TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(dataset) = dataset() else { return };
    let mlp = spec(
        "MLP",
        ModelSpec::Mlp {
            hidden: vec![512, 256, 128],
            dropout: true,
        },
        2,
        3000,
    );
    let events = train_and_check(&mlp, &dataset);
    let Some(Event::Started {
        params,
        train_samples,
        validation_samples,
        steps_per_epoch,
        ..
    }) = events
        .iter()
        .find(|event| matches!(event, Event::Started { .. }))
    else {
        panic!("no start event")
    };
    assert_eq!(
        (*params, *train_samples, *validation_samples),
        (567_434, 3000, 12_000)
    );
    assert_eq!(*steps_per_epoch, 94);
    let m1 = spec(
        "M1",
        ModelSpec::Cnn {
            conv: vec![64],
            dense: 16,
            dropout: false,
        },
        2,
        3000,
    );
    train_and_check(&m1, &dataset);
}

#[test]
fn same_seed_same_result_and_stop_is_honoured() {
    let _serial = TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(dataset) = dataset() else { return };
    let small = spec(
        "tiny",
        ModelSpec::Mlp {
            hidden: vec![32],
            dropout: true,
        },
        1,
        640,
    );
    let data = upload(&dataset, &small);
    let run = || {
        let mut recorder = Recorder::default();
        fit(
            &"a".into(),
            &small,
            &data,
            None,
            Start::Fresh,
            &mut recorder,
        )
        .unwrap();
        recorder.events.into_iter().find_map(|event| match event {
            Event::EpochEnd {
                train_loss,
                val_loss,
                ..
            } => Some((train_loss, val_loss)),
            _ => None,
        })
    };
    assert_eq!(run(), run(), "a fixed seed gives the same epoch on the CPU");

    let mut stopper = Recorder {
        stop_after_polls: Some(5),
        ..Recorder::default()
    };
    let outcome = fit(&"b".into(), &small, &data, None, Start::Fresh, &mut stopper).unwrap();
    assert_eq!(outcome, FitOutcome::Cancelled { epochs_done: 0 });
    assert!(!stopper
        .events
        .iter()
        .any(|event| matches!(event, Event::EpochEnd { .. })));
}

/// Training flushes subnormal floats on the thread that trains and on every
/// thread of its OpenMP team, whatever the thread's state before, so a run
/// computes alike in every process (train, the app, detached, resumed).
#[test]
#[cfg(target_arch = "x86_64")]
fn training_flushes_subnormals_on_every_thread_it_computes_on() {
    use atelier::train::denormals;
    let _serial = TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(dataset) = dataset() else { return };
    let spec = spec(
        "MLP",
        ModelSpec::Mlp {
            hidden: vec![8],
            dropout: true,
        },
        1,
        64,
    );
    let data = upload(&dataset, &spec);
    std::thread::spawn(move || {
        tch::set_num_threads(2);
        denormals::set(false);
        assert_eq!(denormals::flushing_threads(), Some((0, 2)));
        let mut recorder = Recorder::default();
        let outcome = fit(
            &"flush".into(),
            &spec,
            &data,
            None,
            Start::Fresh,
            &mut recorder,
        )
        .unwrap();
        assert_eq!(outcome, FitOutcome::Finished);
        assert_eq!(denormals::flushed_here(), Some(true));
        assert_eq!(denormals::flushing_threads(), Some((2, 2)));
        denormals::set(false);
    })
    .join()
    .unwrap();
}

/// The `beyond` plan's CPU model trains its whole recipe (augmentation,
/// label smoothing, `BatchNorm`, the schedule) and reports its test-time
/// flipped accuracy apart. Whether it beats M1 on a short budget is a
/// claim about learning: `cargo bench --bench race` prints it.
#[test]
fn the_beyond_cpu_model_trains_its_whole_recipe_and_reports_the_flip_apart() {
    let _serial = TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(dataset) = dataset() else { return };
    let b1 = RunSpec {
        epochs: 2,
        batch_size: 32,
        device: DevicePref::Cpu,
        limit_train: Some(3000),
        ..atelier::plan::beyond_plan().runs.remove(0)
    };
    assert_eq!(b1.name, "B1");
    let whole = train_and_check(&b1, &dataset);
    assert!(whole.iter().any(
        |event| matches!(event, Event::FlipEvaluated { test_accuracy, .. } if *test_accuracy > 0.7)
    ));
}

/// A run suspended mid-epoch (what a Slurm USR1 asks for) and continued
/// from that step ends with the same weights, epoch means and test result
/// as one that never stopped: the data position, the epoch's running sums
/// and the dropout stream all come back from the checkpoint.
#[test]
fn a_run_suspended_mid_epoch_continues_from_that_step_to_the_same_weights() {
    let _serial = TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (_dir, dataset) = synthetic();
    let spec = RunSpec {
        batch_size: 16,
        seed: 5,
        ..spec(
            "MLP",
            ModelSpec::Mlp {
                hidden: vec![64],
                dropout: true,
            },
            3,
            800,
        )
    };
    suspended_and_continued_equals_whole(&spec, &dataset);
}

/// The same for a recipe run: `BatchNorm`'s running statistics, the
/// schedule's rate, `AdamW`'s state and the augmentation of each batch all
/// continue as in a run that never stopped.
#[test]
fn a_recipe_run_suspended_mid_epoch_continues_bit_for_bit() {
    let _serial = TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (_dir, dataset) = synthetic();
    let spec = RunSpec {
        batch_size: 16,
        seed: 9,
        recipe: Recipe {
            optimizer: OptimizerKind::AdamW,
            weight_decay: 0.01,
            schedule: Schedule::OneCycle { warmup_share: 0.3 },
            label_smoothing: 0.1,
            augment: Augment {
                crop: 2,
                flip: true,
                erasing: 0.5,
            },
            tta_flip: true,
            ..Recipe::default()
        },
        ..spec("B", small_convnet(), 3, 800)
    };
    suspended_and_continued_equals_whole(&spec, &dataset);
}

/// Two `BatchNorm` blocks, one residual, dropout in a block and the head.
fn small_convnet() -> ModelSpec {
    let block = |width, residual| Block {
        width,
        convs: if residual { 2 } else { 1 },
        kernel: 3,
        padding: Padding::Same,
        batch_norm: true,
        pool: Downsample::Max,
        residual,
        dropout: 0.1,
    };
    ModelSpec::ConvNet {
        blocks: vec![block(8, false), block(16, true)],
        head: Head {
            pool: HeadPool::Gap,
            dense: vec![16],
            dropout: 0.2,
        },
    }
}

/// Trains `spec` (50 steps an epoch) once through, and once suspended at
/// step 20 of epoch 2 then continued: the final weights, the epoch means
/// and the test loss must be the same bits.
fn suspended_and_continued_equals_whole(spec: &RunSpec, dataset: &FashionMnist) {
    use atelier::train::checkpoint;
    let data = upload(dataset, spec);
    let whole_dir = tempfile::tempdir().unwrap();
    let mut whole = Recorder::default();
    let outcome = fit(
        &"whole".into(),
        spec,
        &data,
        Some(whole_dir.path()),
        Start::Fresh,
        &mut whole,
    );
    assert_eq!(outcome.unwrap(), FitOutcome::Finished);

    // 50 steps an epoch: poll 70 is step 20 of epoch 2.
    let dir = tempfile::tempdir().unwrap();
    let mut first = Recorder {
        stop_after_polls: Some(69),
        suspend: true,
        ..Recorder::default()
    };
    let outcome = fit(
        &"cut".into(),
        spec,
        &data,
        Some(dir.path()),
        Start::Fresh,
        &mut first,
    );
    assert_eq!(
        outcome.unwrap(),
        FitOutcome::Suspended {
            epochs_done: 1,
            step: 19
        }
    );
    assert!(first.events.iter().any(|event| matches!(
        event,
        Event::Checkpointed {
            epoch: 2,
            step: 19,
            steps: 50,
            ..
        }
    )));
    let mut second = Recorder::default();
    let outcome = fit(
        &"cut".into(),
        spec,
        &data,
        Some(dir.path()),
        Start::Resume,
        &mut second,
    );
    assert_eq!(outcome.unwrap(), FitOutcome::Finished);
    assert!(second.events.iter().any(|event| matches!(
        event,
        Event::Started {
            resumed_after: 1,
            resumed_at_step: 19,
            ..
        }
    )));

    let weights = |path: &std::path::Path| {
        let named = tch::Tensor::read_safetensors(path.join(checkpoint::FINAL_FILE)).unwrap();
        named
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (whole_weights, continued_weights) = (weights(whole_dir.path()), weights(dir.path()));
    assert_eq!(whole_weights.len(), continued_weights.len());
    for ((name, a), (_, b)) in whole_weights.iter().zip(&continued_weights) {
        assert!(a.equal(b), "{name} differs");
    }
    let means = |events: &[Event]| -> Vec<(u32, u64, u64)> {
        events
            .iter()
            .filter_map(|event| match event {
                Event::EpochEnd {
                    epoch,
                    train_loss,
                    train_accuracy,
                    ..
                } => Some((*epoch, train_loss.to_bits(), train_accuracy.to_bits())),
                _ => None,
            })
            .collect()
    };
    let continued: Vec<_> = means(&first.events)
        .into_iter()
        .chain(means(&second.events))
        .collect();
    assert_eq!(
        means(&whole.events),
        continued,
        "epoch 2's means span both attempts"
    );
    let test = |events: &[Event]| {
        events.iter().find_map(|event| match event {
            Event::Evaluated { test_loss, .. } | Event::FlipEvaluated { test_loss, .. } => {
                Some(test_loss.to_bits())
            }
            _ => None,
        })
    };
    assert_eq!(test(&whole.events), test(&second.events));
    let flips = |events: &[Event]| {
        events
            .iter()
            .filter(|event| matches!(event, Event::FlipEvaluated { .. }))
            .count()
    };
    assert_eq!(flips(&second.events), usize::from(spec.recipe.tta_flip));
}

/// The learning rate each progress event reports follows the schedule.
#[test]
fn progress_events_carry_the_scheduled_learning_rate() {
    let _serial = TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(dataset) = dataset() else { return };
    let schedule = Schedule::Cosine { warmup_epochs: 1.0 };
    let spec = RunSpec {
        batch_size: 50,
        learning_rate: 0.01,
        recipe: Recipe {
            schedule,
            ..Recipe::default()
        },
        ..spec("MLP", ModelSpec::tiny_mlp(), 2, 1000)
    };
    let data = upload(&dataset, &spec);
    let mut recorder = Recorder::default();
    fit(
        &"lr".into(),
        &spec,
        &data,
        None,
        Start::Fresh,
        &mut recorder,
    )
    .unwrap();
    let rates: Vec<(u32, usize, f64)> = recorder
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Progress {
                epoch,
                step,
                learning_rate,
                ..
            } => Some((
                *epoch,
                *step,
                learning_rate.expect("a scheduled run logs its rate"),
            )),
            _ => None,
        })
        .collect();
    assert!(rates.len() >= 2);
    let per_epoch = recorder
        .events
        .iter()
        .find_map(|event| match event {
            Event::Started {
                steps_per_epoch, ..
            } => Some(*steps_per_epoch),
            _ => None,
        })
        .unwrap();
    for (epoch, step, rate) in rates {
        // `step` steps of the epoch are done: the latest was step − 1.
        let run_step = (epoch as usize - 1) * per_epoch + step - 1;
        let expected = schedule.learning_rate(0.01, run_step, per_epoch, 2 * per_epoch);
        assert_eq!(
            rate.to_bits(),
            expected.to_bits(),
            "epoch {epoch} step {step}"
        );
    }
}
