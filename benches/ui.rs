//! The app's drawing cost: one full-screen draw at 160×48, and a key press
//! up to its frame (state change + draw), idle and while a model trains on
//! another thread (the real app's situation: the trainer takes the cores).
//! The event loop itself adds no wait: a key wakes its `select` at once and
//! the frame follows (the 33 ms frame cap only delays a second draw).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
};

use atelier::{
    plan,
    protocol::Event,
    train::throughput,
    tui::{input, ui, App},
};
use criterion::{criterion_group, criterion_main, Criterion};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{backend::TestBackend, Terminal};

/// The seed plan with M1 finished (15 epochs, test results) and the MLP
/// mid-training with full sparklines: every pane has something to draw.
fn busy_app() -> App {
    let mut app = App::new(Vec::new(), plan::seed_plan().runs);
    app.assign_id(0, "m1".into());
    app.assign_id(5, "mlp".into());
    for run in ["m1", "mlp"] {
        app.apply(
            &atelier::testing::started(run)
                .params(173_882)
                .samples(48_000, 12_000)
                .steps(1_500)
                .epochs(15)
                .event(),
        );
    }
    for epoch in 1..=15 {
        for run in ["m1", "mlp"] {
            app.apply(&Event::EpochEnd {
                run: run.into(),
                epoch,
                epochs: 15,
                train_loss: 0.6 / f64::from(epoch),
                train_accuracy: 0.8 + 0.01 * f64::from(epoch),
                val_loss: 0.45 / f64::from(epoch),
                val_accuracy: 0.84 + 0.004 * f64::from(epoch),
                seconds: 14.0,
            });
        }
    }
    let mut confusion = [[0u32; 10]; 10];
    for (class, row) in confusion.iter_mut().enumerate() {
        row[class] = 900;
        row[(class + 3) % 10] = 100;
    }
    app.apply(&Event::Evaluated {
        run: "m1".into(),
        test_loss: 0.3074,
        test_accuracy: 0.9054,
        confusion: Box::new(confusion),
    });
    for step in 1..=600usize {
        app.apply(&Event::Progress {
            run: "mlp".into(),
            epoch: 15,
            step,
            steps: 1_500,
            loss: 0.4,
            accuracy: 0.85,
            recent_loss: 0.3 + (step % 17) as f64 / 100.0,
            recent_accuracy: 0.8 + (step % 13) as f64 / 100.0,
            samples_per_sec: 3_000.0,
            elapsed_secs: step as f64 / 100.0,
            learning_rate: None,
        });
    }
    app.selected = 0;
    app
}

fn draw(c: &mut Criterion) {
    let app = busy_app();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    c.bench_function("draw: full screen 160x48", |b| {
        b.iter(|| {
            terminal.draw(|frame| ui::draw(frame, &app)).unwrap();
        });
    });
}

fn key_to_frame(c: &mut Criterion) {
    let mut app = busy_app();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let press = |app: &mut App, terminal: &mut Terminal<TestBackend>, code| {
        let actions = input::handle_key(app, KeyEvent::new(code, KeyModifiers::NONE));
        terminal.draw(|frame| ui::draw(frame, app)).unwrap();
        actions
    };
    let mut group = c.benchmark_group("key to frame");
    group.bench_function("j then k, idle", |b| {
        b.iter(|| {
            press(&mut app, &mut terminal, KeyCode::Char('j'));
            press(&mut app, &mut terminal, KeyCode::Char('k'))
        });
    });
    // A model training on other threads, as in the app.
    let stop = Arc::new(AtomicBool::new(false));
    let trainer = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let spec = plan::seed_plan().runs.remove(0);
            while !stop.load(Ordering::Relaxed) {
                let _ = throughput::measure(&spec, 20, 1, tch::Device::Cpu);
            }
        })
    };
    group.bench_function("j then k, while M1 trains", |b| {
        b.iter(|| {
            press(&mut app, &mut terminal, KeyCode::Char('j'));
            press(&mut app, &mut terminal, KeyCode::Char('k'))
        });
    });
    stop.store(true, Ordering::Relaxed);
    let _ = trainer.join();
    group.finish();
}

criterion_group!(benches, draw, key_to_frame);
criterion_main!(benches);
