//! Whole-screen snapshots for a fixed state, at the smallest and a large
//! terminal size, and in the `NO_COLOR` and ASCII modes.

use insta::assert_snapshot;
use ratatui::{backend::TestBackend, style::Color, Terminal};

use super::{ui, App, ColorMode, RenderMode};
use crate::{plan, protocol::Event};

/// The seed plan with M1 finished (two epochs, a test result) and the MLP training.
fn state() -> App {
    let mut app = App::new(Vec::new(), plan::seed_plan().runs);
    app.assign_id(0, "m1".into());
    app.assign_id(5, "mlp".into());
    for (run, device) in [("m1", "cpu"), ("mlp", "cpu")] {
        app.apply(
            &crate::testing::started(run)
                .device(device)
                .params(173_882)
                .samples(48_000, 12_000)
                .steps(1_500)
                .epochs(15)
                .event(),
        );
    }
    for (epoch, val) in [(1, 0.8431), (2, 0.8724)] {
        app.apply(&Event::EpochEnd {
            run: "m1".into(),
            epoch,
            epochs: 15,
            train_loss: 0.62 / f64::from(epoch),
            train_accuracy: 0.78 + 0.04 * f64::from(epoch),
            val_loss: 0.45 / f64::from(epoch),
            val_accuracy: val,
            seconds: 14.0,
        });
    }
    let mut confusion = [[0u32; 10]; 10];
    for (class, row) in confusion.iter_mut().enumerate() {
        row[class] = 900;
        row[(class + 3) % 10] = 100;
    }
    confusion[6][0] = 144;
    confusion[6][6] = 756;
    app.apply(&Event::Evaluated {
        run: "m1".into(),
        test_loss: 0.3074,
        test_accuracy: 0.9054,
        confusion: Box::new(confusion),
    });
    app.apply(&Event::Finished {
        run: "m1".into(),
        seconds: 30.0,
        best_val_accuracy: 0.8724,
        best_epoch: 2,
    });
    for step in 1..=60u32 {
        app.apply(&Event::Progress {
            run: "mlp".into(),
            epoch: 3,
            step: step as usize * 10,
            steps: 1_500,
            loss: 0.4,
            accuracy: 0.86,
            recent_loss: 0.3 + 0.2 / f64::from(step),
            recent_accuracy: 0.9 - 0.2 / f64::from(step),
            samples_per_sec: 15_000.0,
            elapsed_secs: 7.0,
            learning_rate: None,
        });
    }
    app
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::draw(frame, app)).unwrap();
    terminal
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    let mut text = crate::screen::text::plain(terminal.backend().buffer());
    // One line per row, without the file's final newline.
    text.pop();
    text
}

#[test]
fn monitor_at_80x24() {
    assert_snapshot!("monitor_80x24", text(&render(&state(), 80, 24)));
}

#[test]
fn monitor_at_160x48() {
    assert_snapshot!("monitor_160x48", text(&render(&state(), 160, 48)));
}

#[test]
fn compare_at_160x48() {
    let mut app = state();
    app.view = super::View::Compare;
    assert_snapshot!("compare_160x48", text(&render(&app, 160, 48)));
}

/// Three MLP seeds (87.6, 88.1 and 88.4%, the original 88.17%) and three
/// M1 seeds, each with five epochs of validation accuracy.
fn compare_state() -> App {
    use crate::plan::sweep::with_seed;
    let seed = plan::seed_plan().runs;
    let (m1, mlp) = (&seed[0], &seed[5]);
    let specs = vec![
        with_seed(mlp, 1),
        with_seed(mlp, 2),
        with_seed(mlp, 3),
        with_seed(m1, 1),
        with_seed(m1, 2),
        with_seed(m1, 3),
    ];
    let mut app = App::new(Vec::new(), specs);
    let results = [
        (0.876, 0.352),
        (0.881, 0.341),
        (0.884, 0.338),
        (0.9021, 0.301),
        (0.9048, 0.296),
        (0.9066, 0.289),
    ];
    for (index, (accuracy, loss)) in results.into_iter().enumerate() {
        let run = format!("r{index}");
        app.assign_id(index, run.as_str().into());
        for epoch in 1..=5u32 {
            let rise = f64::from(epoch).ln() / 5f64.ln();
            app.apply(&Event::EpochEnd {
                run: run.as_str().into(),
                epoch,
                epochs: 5,
                train_loss: 0.5,
                train_accuracy: 0.85,
                val_loss: 0.4,
                val_accuracy: accuracy - 0.04 * (1.0 - rise) + 0.002 * (index % 3) as f64,
                seconds: 10.0,
            });
        }
        app.apply(&Event::Evaluated {
            run: run.into(),
            test_loss: loss,
            test_accuracy: accuracy,
            confusion: Box::new([[100; 10]; 10]),
        });
    }
    app.view = super::View::Compare;
    app
}

#[test]
fn compare_groups_at_80x24_in_colour_without_colour_and_in_ascii() {
    let mut app = compare_state();
    let coloured = render(&app, 80, 24);
    let screen = text(&coloured);
    // The whiskers, the original and a verdict on the two groups.
    assert!(screen.contains("MLP  n=3"), "{screen}");
    assert!(screen.contains('◆') && screen.contains('┣'), "{screen}");
    assert!(
        screen.contains("selected vs best other: MLP (3 seeds) − M1 (3 seeds)"),
        "{screen}"
    );
    assert_snapshot!("compare_groups_80x24", screen);
    app.render = RenderMode {
        color: ColorMode::None,
        ascii: false,
    };
    let plain = render(&app, 80, 24);
    assert!(plain
        .backend()
        .buffer()
        .content
        .iter()
        .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
    assert_snapshot!("compare_groups_no_color_80x24", text(&plain));
    app.render = RenderMode {
        color: ColorMode::Indexed,
        ascii: true,
    };
    let ascii = text(&render(&app, 80, 24));
    assert!(
        !ascii
            .chars()
            .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c) || "┣┫━●◆".contains(c)),
        "{ascii}"
    );
    assert_snapshot!("compare_groups_ascii_80x24", ascii);
}

#[test]
fn compare_groups_at_160x48_with_two_runs_marked() {
    let mut app = compare_state();
    app.marked = vec!["r0".into(), "r3".into()];
    assert_snapshot!("compare_groups_160x48", text(&render(&app, 160, 48)));
}

#[test]
fn confusion_view_in_percent_at_80x24() {
    let mut app = state();
    app.view = super::View::Confusion;
    app.percent = true;
    assert_snapshot!("confusion_percent_80x24", text(&render(&app, 80, 24)));
}

#[test]
fn no_color_draws_the_same_text_without_any_colour() {
    let coloured = render(&state(), 160, 48);
    let mut app = state();
    app.render = RenderMode {
        color: ColorMode::None,
        ascii: false,
    };
    let plain = render(&app, 160, 48);
    assert_eq!(
        text(&coloured),
        text(&plain),
        "status must stay readable by symbol and text"
    );
    let cells = &plain.backend().buffer().content;
    assert!(cells
        .iter()
        .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
    let coloured_cells = &coloured.backend().buffer().content;
    assert!(
        coloured_cells
            .iter()
            .any(|cell| matches!(cell.bg, Color::Rgb(..))),
        "the heat map has colour"
    );
}

#[test]
fn ascii_mode_at_160x48() {
    let mut app = state();
    app.render = RenderMode {
        color: ColorMode::Indexed,
        ascii: true,
    };
    let terminal = render(&app, 160, 48);
    let screen = text(&terminal);
    assert!(
        !screen
            .chars()
            .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c) || ('▁'..='█').contains(&c)),
        "{screen}"
    );
    assert!(terminal
        .backend()
        .buffer()
        .content
        .iter()
        .all(|cell| !matches!(cell.fg, Color::Rgb(..)) && !matches!(cell.bg, Color::Rgb(..))));
    assert_snapshot!("monitor_ascii_160x48", screen);
}

#[test]
fn the_selection_stays_visible_in_a_long_list() {
    let mut app = state();
    app.selected = 5;
    let screen = text(&render(&app, 80, 24));
    assert!(screen.contains("▶ running     MLP"), "{screen}");
}

#[test]
fn run_list_view_read_only_with_a_stalled_and_a_crashed_run_at_120x30() {
    let mut app = state();
    app.view = super::View::Runs;
    app.read_only = true;
    app.runs[5].external = true;
    app.runs[5].status = super::UiStatus::Stalled;
    app.runs[1].status = super::UiStatus::Crashed;
    app.message = Some("watching /runs (read-only)".into());
    assert_snapshot!("runs_read_only_120x30", text(&render(&app, 120, 30)));
}

/// M1's shirts taken for T-shirts (6, 16, 26) as a gallery: the test images
/// are diamonds, brightest in the middle, so the shading shows a shape.
fn gallery_state() -> App {
    use std::sync::Arc;

    use crate::{data::IMAGE_SIDE, tui::test_support};
    let mut app = state();
    let mut split = test_support::test_split();
    for (index, pixel) in split.images.iter_mut().enumerate() {
        let (y, x) = ((index / IMAGE_SIDE) % IMAGE_SIDE, index % IMAGE_SIDE);
        let distance = x.abs_diff(13) + y.abs_diff(13);
        *pixel = 255u8.saturating_sub((distance * 20).min(255) as u8);
    }
    app.test_images = Some(Ok(Arc::new(split)));
    app.predictions.insert(
        "m1".into(),
        Ok(Arc::new(test_support::predictions(&[
            (6, 0),
            (16, 0),
            (26, 0),
        ]))),
    );
    app.view = super::View::Confusion;
    app.open_gallery(super::gallery::Subject::Cell {
        run: "m1".into(),
        truth: 6,
        predicted: 0,
    });
    app
}

#[test]
fn gallery_in_ascii_without_colour_at_120x40() {
    let mut app = gallery_state();
    app.size = (120, 40);
    app.render = RenderMode {
        color: ColorMode::None,
        ascii: true,
    };
    assert_snapshot!("gallery_ascii_120x40", text(&render(&app, 120, 40)));
}

#[test]
fn diff_of_two_runs_at_100x30() {
    use std::sync::Arc;

    use crate::tui::test_support;
    let mut app = gallery_state();
    app.assign_id(1, "m2".into());
    let mut confusion = [[0u32; 10]; 10];
    for (class, row) in confusion.iter_mut().enumerate() {
        row[class] = 950;
        row[(class + 3) % 10] = 50;
    }
    confusion[6][0] = 60;
    confusion[6][6] = 890;
    app.apply(&Event::Evaluated {
        run: "m2".into(),
        test_loss: 0.25,
        test_accuracy: 0.9440,
        confusion: Box::new(confusion),
    });
    app.predictions.insert(
        "m2".into(),
        Ok(Arc::new(test_support::predictions(&[(16, 0)]))),
    );
    app.marked = vec!["m1".into(), "m2".into()];
    app.view = super::View::Diff;
    app.cursor = (6, 0);
    assert_snapshot!("diff_100x30", text(&render(&app, 100, 30)));
}

/// A lone MLP and sweep M2 over two learning rates × three seeds, ordered
/// round by round: MLP, then each rate's first seed, then each one's second…
const SWEEP_PLAN: &str = r#"
[defaults]
epochs = 3
device = "cpu"

[[run]]
name = "MLP"
label = "MLP [32]"
model = { kind = "mlp", hidden = [32] }

[[sweep]]
name = "M2"
label = "CNN [64,32,16]"
model = { kind = "cnn", conv = [64], dense = 16, dropout = true }
seeds = 3
grid = { learning_rate = [1e-3, 3e-4] }
"#;

/// Events of a run started on the cpu, with `epochs` epochs of 12 s.
fn trained(app: &mut App, index: usize, epochs: u32) -> crate::protocol::RunId {
    let run = crate::protocol::RunId::from(format!("run-{index}"));
    app.assign_id(index, run.clone());
    app.apply(
        &crate::testing::started(run.clone())
            .params(52_138)
            .samples(48_000, 12_000)
            .steps(1_500)
            .event(),
    );
    for epoch in 1..=epochs {
        app.apply(&Event::EpochEnd {
            run: run.clone(),
            epoch,
            epochs: 3,
            train_loss: 0.5,
            train_accuracy: 0.85,
            val_loss: 0.4,
            val_accuracy: 0.86 + f64::from(epoch) / 100.0,
            seconds: 12.0,
        });
    }
    run
}

fn finished(app: &mut App, index: usize, accuracy: f64) {
    let run = trained(app, index, 3);
    let mut confusion = [[0u32; 10]; 10];
    for (class, row) in confusion.iter_mut().enumerate() {
        row[class] = 1_000;
    }
    app.apply(&Event::Evaluated {
        run: run.clone(),
        test_loss: 0.3,
        test_accuracy: accuracy,
        confusion: Box::new(confusion),
    });
    app.apply(&Event::Finished {
        run,
        seconds: 36.0,
        best_val_accuracy: 0.89,
        best_epoch: 3,
    });
}

/// The sweep half way: the MLP, lr=1e-3's first two seeds and lr=3e-4's
/// first finished, lr=3e-4's second in its second epoch.
fn sweep_state() -> App {
    let plan = plan::parse_plan(SWEEP_PLAN, "sweep", std::path::Path::new("sweep.toml")).unwrap();
    let mut app = App::new(Vec::new(), plan.runs);
    let index = |app: &App, name: &str| {
        app.runs
            .iter()
            .position(|view| view.spec.name == name)
            .unwrap_or_else(|| panic!("no run {name}"))
    };
    for (name, accuracy) in [
        ("MLP", 0.8712),
        ("M2 lr=1e-3 seed=1", 0.8965),
        ("M2 lr=3e-4 seed=1", 0.9012),
        ("M2 lr=1e-3 seed=2", 0.8918),
    ] {
        let at = index(&app, name);
        finished(&mut app, at, accuracy);
    }
    let at = index(&app, "M2 lr=3e-4 seed=2");
    let run = trained(&mut app, at, 1);
    app.apply(&Event::Progress {
        run,
        epoch: 2,
        step: 750,
        steps: 1_500,
        loss: 0.4,
        accuracy: 0.86,
        recent_loss: 0.35,
        recent_accuracy: 0.87,
        samples_per_sec: 4_000.0,
        elapsed_secs: 18.0,
        learning_rate: None,
    });
    app
}

#[test]
fn the_sweep_plan_interleaves_its_groups() {
    let names: Vec<String> = sweep_state()
        .runs
        .iter()
        .map(|view| view.spec.name.clone())
        .collect();
    assert_eq!(
        names,
        [
            "MLP",
            "M2 lr=1e-3 seed=1",
            "M2 lr=3e-4 seed=1",
            "M2 lr=1e-3 seed=2",
            "M2 lr=3e-4 seed=2",
            "M2 lr=1e-3 seed=3",
            "M2 lr=3e-4 seed=3"
        ]
    );
}

#[test]
fn collapsed_groups_and_the_sweeps_progress_in_the_monitor_at_80x24() {
    let mut app = sweep_state();
    // On lr=3e-4's header: the live pane follows the seed that trains.
    app.move_selection(2);
    assert_eq!(app.selected_run().unwrap().spec.name, "M2 lr=3e-4 seed=2");
    assert_snapshot!("sweep_collapsed_80x24", text(&render(&app, 80, 24)));
}

/// On a collapsed group the matrix is one seed's: the title says which.
#[test]
fn the_confusion_of_a_collapsed_group_names_its_seed_at_80x24() {
    let mut app = sweep_state();
    app.view = super::View::Confusion;
    // lr=1e-3's header: two seeds done, the matrix is the latest's.
    app.move_selection(1);
    assert!(app.cursor_group().is_some());
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("┌ Confusion · M2 lr=1e-3 seed=2, one of 3 seeds · counts (p) "),
        "{screen}"
    );
    assert!(screen.contains(" recall  prec.  │"), "{screen}");
    assert!(screen.contains("(prec.: precision)"), "{screen}");
    assert_snapshot!("confusion_collapsed_group_80x24", screen);
}

/// The sweep's two first seeds diffed, their long names and all: the
/// title keeps both names whole and drops what does not fit.
fn sweep_diff_state() -> App {
    use std::sync::Arc;

    use crate::tui::test_support;
    let mut app = sweep_state();
    let (a, b) = ("run-1", "run-2");
    app.predictions.insert(
        a.into(),
        Ok(Arc::new(test_support::predictions(&[(6, 0), (16, 0)]))),
    );
    app.predictions.insert(
        b.into(),
        Ok(Arc::new(test_support::predictions(&[(26, 0)]))),
    );
    app.test_images = Some(Ok(Arc::new(test_support::test_split())));
    app.marked = vec![a.into(), b.into()];
    app.view = super::View::Diff;
    app.cursor = (6, 0);
    app
}

#[test]
fn a_diff_of_long_names_at_80x24() {
    let screen = text(&render(&sweep_diff_state(), 80, 24));
    assert!(
        screen.contains("┌ Diff · B M2 lr=3e-4 seed=1 minus A M2 lr=1e-3 seed=1 · row % points "),
        "{screen}"
    );
    assert_snapshot!("diff_long_names_80x24", screen);
}

#[test]
fn the_gallery_of_a_diff_at_80x24() {
    let mut app = sweep_diff_state();
    app.size = (80, 24);
    app.open_gallery(super::gallery::Subject::Disagreement {
        a: "run-1".into(),
        b: "run-2".into(),
        truth: 6,
        predicted: 0,
    });
    let screen = text(&render(&app, 80, 24));
    let footer = screen.lines().rev().nth(1).unwrap();
    assert!(
        footer.starts_with("└ A M2 lr=1e-3 seed=1 · B M2 lr=3e-4 seed=1 · ")
            && footer.contains("Esc back ─"),
        "whole hints only: {footer}"
    );
    assert_snapshot!("gallery_diff_80x24", screen);
}

/// lr=1e-3 expanded with the cursor on its second seed, lr=3e-4 collapsed.
fn expanded_state() -> App {
    let mut app = sweep_state();
    app.view = super::View::Runs;
    app.move_selection(1);
    app.toggle_group();
    app.move_selection(2);
    assert_eq!(app.selected_run().unwrap().spec.name, "M2 lr=1e-3 seed=2");
    app
}

#[test]
fn an_expanded_group_in_the_run_list_at_80x24() {
    assert_snapshot!(
        "sweep_expanded_80x24",
        text(&render(&expanded_state(), 80, 24))
    );
}

#[test]
fn groups_in_ascii_without_colour_at_80x24() {
    let mut app = expanded_state();
    app.render = RenderMode {
        color: ColorMode::None,
        ascii: true,
    };
    let terminal = render(&app, 80, 24);
    assert!(terminal
        .backend()
        .buffer()
        .content
        .iter()
        .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
    let screen = text(&terminal);
    assert!(!screen.contains('▸') && !screen.contains('▾'), "{screen}");
    assert_snapshot!("sweep_expanded_ascii_no_color_80x24", screen);
}

/// The sweep's finished runs, best test accuracy first: lr=1e-3 expanded
/// lists its two finished seeds, not the planned third.
#[test]
fn a_filtered_run_list_sorted_by_accuracy_at_80x24() {
    let mut app = sweep_state();
    app.view = super::View::Runs;
    app.overlay = super::Overlay::Filter("status:done".into());
    app.apply_filter();
    app.cycle_order();
    app.move_selection(-1);
    app.toggle_group();
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.starts_with("┌ Runs: 4 of 7 match \"status:done\" · by test accuracy "),
        "{screen}"
    );
    assert_snapshot!("runs_filtered_by_accuracy_80x24", screen);
}

/// The filter prompt open on the filter in force, more typed after it.
#[test]
fn the_filter_prompt_in_the_monitor_at_80x24() {
    let mut app = sweep_state();
    app.overlay = super::Overlay::Filter("lr=3e-4".into());
    app.apply_filter();
    app.open_filter();
    for c in " status:run".chars() {
        let key = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c));
        super::input::handle_key(&mut app, key);
    }
    assert_snapshot!("monitor_filter_prompt_80x24", text(&render(&app, 80, 24)));
}

/// The seed plan as a Slurm array watched read-only: M1 done, M2 running
/// on node7 in its second attempt, M3 pending for its priority, M4
/// requeued after a checkpoint, M5 held back by the array's limit, the
/// MLP lost (its job died while it trained: stalled); the cursor on M2.
fn slurm_state() -> App {
    let mut app = state();
    app.read_only = true;
    let ids = ["m1", "m2", "m3", "m4", "m5", "mlp"];
    for (index, id) in ids.iter().enumerate().skip(1).take(4) {
        app.assign_id(index, (*id).into());
    }
    for (index, id) in ids.iter().enumerate() {
        app.runs[index].external = true;
        app.apply(&Event::Attempt {
            run: (*id).into(),
            job: format!("4242_{index}"),
            restart: u32::from(*id == "m2"),
            host: "node7".into(),
            gpus: String::new(),
        });
    }
    app.apply(
        &crate::testing::started("m2")
            .device("cuda:0")
            .params(173_882)
            .samples(48_000, 12_000)
            .steps(1_500)
            .epochs(15)
            .event(),
    );
    app.apply(&Event::Progress {
        run: "m2".into(),
        epoch: 5,
        step: 750,
        steps: 1_500,
        loss: 0.31,
        accuracy: 0.89,
        recent_loss: 0.3,
        recent_accuracy: 0.9,
        samples_per_sec: 21_000.0,
        elapsed_secs: 250.0,
        learning_rate: None,
    });
    app.runs[5].status = super::UiStatus::Stalled;
    app.apply(&Event::Requeued {
        run: "m4".into(),
        job: "4242_3".into(),
    });
    app.set_slurm_labels(
        [
            ("m1", "done"),
            ("m2", "running on node7"),
            ("m3", "pending (Priority)"),
            ("m4", "requeued"),
            ("m5", "pending (JobArrayTaskLimit)"),
            ("mlp", "lost"),
        ]
        .map(|(run, label)| (run.into(), label.to_string()))
        .to_vec(),
    );
    app.selected = 1;
    app
}

#[test]
fn slurm_states_in_the_run_list_at_80x24_in_colour_and_without() {
    let mut app = slurm_state();
    app.view = super::View::Runs;
    let coloured = render(&app, 80, 24);
    let screen = text(&coloured);
    for label in [
        "pending (Priority)",
        "running on node7",
        "requeued",
        "lost",
        "pending (JobArray…",
    ] {
        assert!(screen.contains(label), "no {label:?}:\n{screen}");
    }
    // The labels' colours say where a run is at a glance.
    let buffer = coloured.backend().buffer();
    let colour_of = |word: &str| {
        let (row, line) = screen
            .lines()
            .enumerate()
            .find(|(_, line)| line.contains(word))
            .unwrap();
        let column = line[..line.find(word).unwrap()].chars().count();
        buffer[(column as u16, row as u16)].fg
    };
    assert_eq!(colour_of("lost"), Color::LightRed);
    assert_eq!(colour_of("pending (Priority)"), Color::Blue);
    assert_eq!(colour_of("requeued"), Color::Magenta);
    assert_snapshot!("slurm_runs_80x24", screen);
    app.render = RenderMode {
        color: ColorMode::None,
        ascii: false,
    };
    let plain = render(&app, 80, 24);
    assert_eq!(text(&plain), text(&coloured), "the words carry the states");
    assert!(plain
        .backend()
        .buffer()
        .content
        .iter()
        .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
}

#[test]
fn the_selected_runs_slurm_task_in_the_monitor_in_ascii_without_colour_at_80x24() {
    let mut app = slurm_state();
    app.render = RenderMode {
        color: ColorMode::None,
        ascii: true,
    };
    let screen = text(&render(&app, 80, 24));
    assert!(
        screen.contains("slurm: running on node7 · task 4242_1 · attempt 2"),
        "{screen}"
    );
    assert_snapshot!("slurm_monitor_ascii_no_color_80x24", screen);
}

#[test]
fn slurm_states_in_the_wide_run_list_at_160x30_and_120x30() {
    let mut app = slurm_state();
    app.view = super::View::Runs;
    let wide = text(&render(&app, 160, 30));
    // Room for the gauge, the device and the whole labels.
    assert!(
        wide.contains("pending (JobArrayTaskLimit)") && wide.contains("cuda:0"),
        "{wide}"
    );
    assert!(wide.contains("░░░"), "{wide}");
    assert_snapshot!("slurm_runs_160x30", wide);
    assert_snapshot!("slurm_runs_120x30", text(&render(&app, 120, 30)));
}

/// A 3 × 2 × 2 sweep of M1 (learning rate × dropout × batch), three seeds
/// each, as the issue that asked for the sweep view tried it.
const GRID_PLAN: &str = r#"
[defaults]
epochs = 3
device = "cpu"

[[sweep]]
name = "M1"
label = "CNN [64,32,16]"
model = { kind = "cnn", conv = [64, 32], dense = 16, dropout = true }
seeds = 3
grid = { learning_rate = [3e-3, 1e-3, 3e-4], "model.dropout" = [true, false], batch_size = [32, 64] }
"#;

/// Test accuracy of a configuration's seed: the learning rate matters most,
/// dropout a little, the batch size not at all; seeds spread by ±0.15 points.
fn grid_accuracy(spec: &plan::RunSpec) -> f64 {
    let rate = match spec.learning_rate {
        lr if lr > 2e-3 => 0.0,
        lr if lr > 5e-4 => 0.008,
        _ => -0.005,
    };
    let dropout = if has_dropout(spec) { 0.003 } else { 0.0 };
    let seed = [0.0015, -0.0015, 0.0][(spec.seed as usize - 1) % 3];
    0.88 + rate + dropout + seed
}

fn has_dropout(spec: &plan::RunSpec) -> bool {
    plan::Differences::value(spec, "dropout") == "true"
}

/// Every run of the grid finished (three epochs of 12 s, curves rising to
/// its accuracy) but lr=3e-4 without dropout at batch 64, whose third seed
/// is still training and whose first failed.
fn grid_state() -> App {
    let plan = plan::parse_plan(GRID_PLAN, "grid", std::path::Path::new("grid.toml")).unwrap();
    let mut app = App::new(Vec::new(), plan.runs);
    for index in 0..app.runs.len() {
        let spec = app.runs[index].spec.clone();
        let accuracy = grid_accuracy(&spec);
        let lagging = spec.learning_rate < 5e-4 && !has_dropout(&spec) && spec.batch_size == 64;
        let run = crate::protocol::RunId::from(format!("grid-{index}"));
        app.assign_id(index, run.clone());
        app.apply(
            &crate::testing::started(run.clone())
                .samples(48_000, 12_000)
                .steps(1_500)
                .event(),
        );
        let epochs = if lagging && spec.seed == 3 { 1 } else { 3 };
        for epoch in 1..=epochs {
            app.apply(&Event::EpochEnd {
                run: run.clone(),
                epoch,
                epochs: 3,
                train_loss: 0.5,
                train_accuracy: 0.85,
                val_loss: 0.25 + 0.1 * f64::from(3 - epoch),
                val_accuracy: accuracy - 0.02 * f64::from(3 - epoch),
                seconds: 12.0 * f64::from(spec.batch_size) / 32.0,
            });
        }
        if lagging && spec.seed == 1 {
            app.apply(&Event::Failed {
                run,
                message: "loss diverged".into(),
            });
        } else if epochs == 3 {
            app.apply(&Event::Evaluated {
                run: run.clone(),
                test_loss: 0.3,
                test_accuracy: accuracy,
                confusion: Box::new([[100; 10]; 10]),
            });
            app.apply(&Event::Finished {
                run,
                seconds: 36.0,
                best_val_accuracy: accuracy,
                best_epoch: 3,
            });
        }
    }
    app.view = super::View::Sweep;
    app
}

#[test]
fn the_sweep_view_at_80x24_and_120x40() {
    let mut app = grid_state();
    // The cursor on the second configuration.
    app.sweep_move(isize::MIN);
    app.sweep_move(1);
    let small = text(&render(&app, 80, 24));
    assert_snapshot!("sweep_view_80x24", small);
    let large = text(&render(&app, 120, 40));
    assert_snapshot!("sweep_view_120x40", large);
}

#[test]
fn the_sweep_views_lower_panels_at_80x24_in_ascii_without_colour() {
    let mut app = grid_state();
    app.render = RenderMode {
        color: ColorMode::None,
        ascii: true,
    };
    app.sweep_next_panel();
    let heat = text(&render(&app, 80, 24));
    assert_snapshot!("sweep_view_heat_ascii_no_color_80x24", heat);
    app.sweep_next_panel();
    app.sweep_next_x_axis();
    let curves = text(&render(&app, 80, 24));
    assert_snapshot!("sweep_view_curves_ascii_no_color_80x24", curves);
}

#[test]
fn the_sweep_view_sorted_by_a_key_without_colour_at_120x40() {
    let mut app = grid_state();
    app.render.color = ColorMode::None;
    app.sweep_sort(1);
    app.sweep_reverse();
    app.sweep_next_heat();
    app.sweep_next_metric();
    app.sweep_next_metric();
    let screen = text(&render(&app, 120, 40));
    assert_snapshot!("sweep_view_sorted_no_color_120x40", screen);
}

/// 10:42:00 UTC on a day in 2024.
fn at_10_42() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(19_800 * 86_400 + 10 * 3600 + 42 * 60)
}

/// One source in each state: this machine's folder, a connected host, one
/// reconnecting, one connecting, one that never connected.
fn sources() -> Vec<crate::remote::SourceStatus> {
    use crate::remote::{SourceState, SourceStatus};
    let source = |label: &str, remote, state| SourceStatus {
        label: label.into(),
        remote,
        state,
    };
    vec![
        source("local", false, SourceState::Connected),
        source("gpu-box:/data/runs", true, SourceState::Connected),
        source(
            "login:/scratch",
            true,
            SourceState::Reconnecting {
                since: at_10_42(),
                reason: "ssh: Connection reset".into(),
            },
        ),
        source("new-box:/runs", true, SourceState::Connecting),
        source(
            "other:/runs",
            true,
            SourceState::Failed {
                reason: "Permission denied (publickey)".into(),
            },
        ),
    ]
}

fn alert_entry(
    at: &str,
    kind: crate::store::AlertKind,
    run: Option<&str>,
    host: Option<&str>,
    detail: &str,
) -> super::state::AlertEntry {
    super::state::AlertEntry {
        at: at.into(),
        alert: crate::store::Alert {
            kind,
            run: run.map(Into::into),
            plan: "seed".into(),
            detail: detail.into(),
            host: host.map(Into::into),
        },
    }
}

/// The seed plan merged from two hosts and this machine: M1 (finished)
/// and M2 (failed) on gpu-box, M3 on a login node whose name is too long
/// for its column, the rest local; M4 requeued, the MLP diverging while
/// it trains.
fn remote_state() -> App {
    use crate::store::AlertKind;
    let mut app = state();
    let hosts = [(0, "gpu-box"), (1, "gpu-box"), (2, "login-node-07.cluster")];
    for (index, host) in hosts {
        app.runs[index].host = Some(host.into());
    }
    app.runs[1].status = super::UiStatus::Failed;
    app.runs[3].status = super::UiStatus::Queued;
    app.runs[0].alert = Some(AlertKind::Finished);
    app.runs[1].alert = Some(AlertKind::Failed);
    app.runs[3].alert = Some(AlertKind::Requeued);
    app.runs[5].alert = Some(AlertKind::Diverging);
    app.sources = sources();
    app.alerts = vec![
        alert_entry(
            "10:31:55",
            AlertKind::Finished,
            Some("m1"),
            Some("gpu-box"),
            "test accuracy 0.9054",
        ),
        alert_entry(
            "10:40:12",
            AlertKind::Failed,
            Some("m2"),
            Some("gpu-box"),
            "loss became NaN",
        ),
        alert_entry(
            "10:42:07",
            AlertKind::Diverging,
            Some("mlp"),
            None,
            "loss 3.4× its best for 200 steps",
        ),
    ];
    app
}

/// The column of `word` in the line that has it, and that line's row.
fn place_of(screen: &str, word: &str) -> (u16, u16) {
    let (row, line) = screen
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains(word))
        .unwrap_or_else(|| panic!("no {word:?}:\n{screen}"));
    let column = line[..line.find(word).unwrap()].chars().count();
    (column as u16, row as u16)
}

#[test]
fn a_merged_run_list_names_hosts_and_badges_alerts_at_80x24_and_120x30() {
    use ratatui::style::Modifier;
    let mut app = remote_state();
    app.view = super::View::Runs;
    // The cursor on M3, so that the selection's bold does not hide the statuses'.
    app.selected = 2;
    let coloured = render(&app, 80, 24);
    let screen = text(&coloured);
    for shown in ["host", "gpu-box", "login-node…", "local", "! requeued"] {
        assert!(screen.contains(shown), "no {shown:?}:\n{screen}");
    }
    let buffer = coloured.backend().buffer();
    // Trouble is loud: the badge red and bold, in the status's place.
    let (column, row) = place_of(&screen, "! diverging");
    assert_eq!(column, 1, "{screen}");
    let diverging = &buffer[(column, row)];
    assert_eq!(diverging.fg, Color::Red);
    assert!(diverging.modifier.contains(Modifier::BOLD));
    // An alert the status says already is no badge: a failure makes the
    // status bold, a finish changes nothing.
    let line = |word: &str| screen.lines().find(|line| line.contains(word)).unwrap();
    assert!(!line("✗ failed").contains("! failed"), "{screen}");
    assert_eq!(line("✓ done").matches("done").count(), 1, "{screen}");
    let failed = &buffer[place_of(&screen, "✗ failed")];
    assert!(failed.modifier.contains(Modifier::BOLD));
    let done = &buffer[place_of(&screen, "✓ done")];
    assert!(!done.modifier.contains(Modifier::BOLD));
    assert_snapshot!("merged_runs_80x24", screen);
    let wide = text(&render(&app, 120, 30));
    assert!(
        wide.contains("login-node-0…") && wide.contains("device"),
        "{wide}"
    );
    assert_snapshot!("merged_runs_120x30", wide);
}

#[test]
fn the_sources_line_sits_above_the_status_bar_in_the_monitor_at_80x24() {
    let app = remote_state();
    let screen = text(&render(&app, 80, 24));
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[22].starts_with(" sources: local ✓ · gpu-box:/data/runs connected · login"),
        "{screen}"
    );
    assert!(lines[22].ends_with('…'), "cut to the width: {}", lines[22]);
    // The run list keeps its rows (as many as without sources); the live
    // pane gives the line.
    assert!(
        lines[5].contains("M4 ·") && lines[6].starts_with('└'),
        "{screen}"
    );
    assert_snapshot!("monitor_sources_80x24", screen);
    // Without sources (a plain app) there is no such line.
    let plain = text(&render(&state(), 80, 24));
    assert!(!plain.contains("sources:"), "{plain}");
}

#[test]
fn the_alert_log_lists_the_newest_first_and_says_when_there_are_none() {
    let mut app = remote_state();
    app.overlay = super::Overlay::Alerts;
    let screen = text(&render(&app, 80, 24));
    let (_, diverging) = place_of(&screen, "10:42:07  local");
    let (_, failed) = place_of(&screen, "10:40:12  gpu-box  m2");
    let (_, finished) = place_of(&screen, "10:31:55  gpu-box  m1");
    assert!(diverging < failed && failed < finished, "{screen}");
    assert_snapshot!("alert_log_80x24", screen);
    app.alerts.clear();
    let empty = text(&render(&app, 80, 24));
    assert!(empty.contains("│ no alerts yet"), "{empty}");
    assert_snapshot!("alert_log_empty_80x24", empty);
}

#[test]
fn text_from_remote_hosts_is_drawn_escaped() {
    use crate::remote::SourceState;
    use crate::store::AlertKind;
    let mut app = remote_state();
    app.view = super::View::Runs;
    app.runs[0].host = Some("evil\u{1b}[2J".into());
    app.sources.truncate(1);
    app.sources.push(crate::remote::SourceStatus {
        label: "x\u{1b}]0;pwned\u{7}:/runs".into(),
        remote: true,
        state: SourceState::Failed {
            reason: "denied\u{1b}[31m".into(),
        },
    });
    app.alerts.push(alert_entry(
        "10:50:00",
        AlertKind::SweepFinished,
        None,
        Some("evil\u{1b}[2J"),
        "done\u{1b}[H\u{9b}2J",
    ));
    let list = render(&app, 120, 30);
    app.overlay = super::Overlay::Alerts;
    let log = render(&app, 120, 30);
    for terminal in [&list, &log] {
        let buffer = terminal.backend().buffer();
        assert!(
            buffer
                .content
                .iter()
                .all(|cell| !cell.symbol().chars().any(char::is_control)),
            "a control character reached the terminal"
        );
    }
    let list = text(&list);
    assert!(list.contains("evil\\u{1b}[2J"), "{list}");
    assert!(
        list.contains("x\\u{1b}]0;pwned\\u{7}:/runs failed: denied\\u{1b}[31m"),
        "{list}"
    );
    let log = text(&log);
    assert!(
        log.contains("sweep seed") && log.contains("done\\u{1b}[H\\u{9b}2J"),
        "{log}"
    );
}
