//! The short race: the `beyond` plan's CPU recipe (B1, which has no
//! augmentation; here without label smoothing too, which costs short runs)
//! against M1, each for 3 epochs of the first 3,000 training images at
//! batch 32, tested on all 10,000 test images. A claim about learning, so a benchmark that prints figures,
//! not a test with a margin. Needs the real dataset.
//!
//! `cargo bench --bench race [-- SEEDS]` (default 1 seed each).

use atelier::{
    plan::{self, Augment, DevicePref, Recipe, RunSpec},
    protocol::{Command, Event, RunRequest},
    store::RunStore,
    train::Trainer,
};

fn short(run: RunSpec, seed: u64) -> RunSpec {
    RunSpec {
        epochs: 3,
        batch_size: 32,
        seed,
        device: DevicePref::Cpu,
        limit_train: Some(3000),
        ..run
    }
}

fn main() {
    let seeds: u64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(1);
    let source = atelier::data::discover(None).expect("the real Fashion-MNIST (README, Data)");
    let runs = tempfile::tempdir().expect("a temporary runs folder");
    let store = RunStore::open(runs.path()).expect("the runs folder");
    let trainer = Trainer::spawn(source, store.clone()).expect("the trainer thread");
    let b1 = plan::beyond_plan().runs.remove(0);
    let unregularised = RunSpec {
        recipe: Recipe {
            augment: Augment::default(),
            label_smoothing: 0.0,
            ..b1.recipe.clone()
        },
        ..b1
    };
    let m1 = plan::seed_plan().runs.remove(0);
    println!("3 epochs of 3,000 images, batch 32, CPU: test accuracy");
    for seed in 1..=seeds {
        for (label, spec) in [
            ("B1 without augmentation and smoothing", &unregularised),
            ("M1", &m1),
        ] {
            let spec = short(spec.clone(), seed);
            let request = RunRequest {
                id: store.new_id(&spec.name),
                plan: "race".into(),
                spec,
            };
            trainer.send(Command::Queue(Box::new(request)));
            let accuracy = loop {
                match trainer.events().recv().expect("the trainer answers") {
                    Event::Evaluated { test_accuracy, .. } => break test_accuracy,
                    Event::Failed { message, .. } => panic!("{label}: {message}"),
                    _ => {}
                }
            };
            println!("seed {seed}  {label:<38} {accuracy:.4}");
        }
    }
    trainer.shutdown();
}
