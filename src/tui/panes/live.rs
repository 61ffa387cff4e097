//! The selected run, live: what it is doing, per-step sparklines and the
//! per-epoch training-history chart (the original's "training history" figure).

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Layout, Rect},
    style::{Color, Style},
    symbols::Marker,
    text::{Line, Span},
    widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Sparkline, Widget},
};

use super::theme;
use crate::tui::{series, App, RunView, UiStatus};
use crate::units::clock;

/// Smoothing factor of the sparklines' EMA when smoothing is on.
pub const SMOOTHING: f64 = 0.9;

/// Draws the live view of the selected run.
pub struct LivePane<'a> {
    pub run: Option<&'a RunView>,
    /// A viewer says how runs appear; the app says how to start one.
    pub read_only: bool,
    /// Smoothed sparklines.
    pub smoothing: bool,
}

impl<'a> LivePane<'a> {
    /// The selected run of `app`.
    pub fn of(app: &'a App) -> Self {
        Self {
            run: app.selected_run(),
            read_only: app.read_only,
            smoothing: app.smoothing,
        }
    }
}

impl Widget for LivePane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(" Live ", theme::title()));
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(run) = self.run else {
            let text = if self.read_only {
                "No runs yet: they appear here as `atelier train` or the app starts them."
            } else {
                "No runs: start one from the plan with Enter."
            };
            Paragraph::new(text).render(inner, buf);
            return;
        };
        let lines = status_lines(run);
        let [status, loss, accuracy, history] = Layout::vertical([
            Constraint::Length(u16::try_from(lines.len()).unwrap_or(u16::MAX)),
            Constraint::Length(3),
            Constraint::Length(3),
            Constraint::Min(0),
        ])
        .areas(inner);
        Paragraph::new(lines).render(status, buf);
        let smooth = |values: &std::collections::VecDeque<f64>| {
            let values: Vec<f64> = values.iter().copied().collect();
            if self.smoothing {
                series::ema(values, SMOOTHING)
            } else {
                values
            }
        };
        sparkline(
            "loss",
            &smooth(&run.recent_loss),
            Color::Red,
            self.smoothing,
        )
        .render(loss, buf);
        sparkline(
            "accuracy",
            &smooth(&run.recent_accuracy),
            Color::Green,
            self.smoothing,
        )
        .render(accuracy, buf);
        render_history(run, history, buf);
    }
}

fn status_lines(run: &RunView) -> Vec<Line<'static>> {
    let (symbol, word, color) = theme::status(run.status);
    let mut first = vec![
        Span::styled(format!("{symbol} {word} "), Style::default().fg(color)),
        Span::raw(run.spec.title()),
    ];
    if let Some(device) = &run.logged().device {
        // On the CPU, the thread count it chose is part of where it trains.
        let threads = match &run.logged().threads {
            Some((threads, _)) if device == "cpu" => {
                format!(" ({})", crate::units::count(*threads, "thread"))
            }
            _ => String::new(),
        };
        first.push(Span::raw(format!(" on {device}{threads}")));
    }
    let second = if let Some(phase) = run.phase.filter(|_| run.is_active()) {
        phase.to_string()
    } else if run.status == UiStatus::Done {
        let best = run.best_val_accuracy().map_or_else(String::new, |best| {
            format!(", best validation {:.2}%", best * 100.0)
        });
        let test = run.logged().test.as_ref().map_or_else(String::new, |test| {
            format!(
                ", test {:.2}% (loss {:.4})",
                test.accuracy * 100.0,
                test.loss
            )
        });
        let flipped = run
            .logged()
            .flip_accuracy
            .map_or_else(String::new, |accuracy| {
                format!(", with test-time flip {:.2}%", accuracy * 100.0)
            });
        format!(
            "finished: {}{best}{test}{flipped}",
            crate::units::count(run.logged().epochs.len(), "epoch")
        )
    } else if run.status == UiStatus::Failed {
        format!(
            "failed: {}",
            run.logged().error.as_deref().unwrap_or("unknown reason")
        )
    } else if run.steps > 0 {
        let mut text = format!(
            "epoch {}/{}  step {}/{}  {:.0} img/s  elapsed {}",
            run.epoch,
            run.spec.epochs,
            run.step,
            run.steps,
            run.samples_per_sec,
            clock(run.elapsed_secs)
        );
        if let Some(rate) = run.learning_rate {
            text.push_str(&format!("  lr {rate:.2e}"));
        }
        if run.is_active() {
            if let Some(eta) = run.eta_secs() {
                text.push_str(&format!("  ETA {}", clock(eta)));
            }
        }
        text
    } else if run.status == UiStatus::Planned {
        "not started: Enter queues it".to_string()
    } else if run.slurm_label.is_some() {
        "waiting for its Slurm task…".to_string()
    } else {
        "waiting for the trainer…".to_string()
    };
    let mut lines = vec![Line::from(first), Line::from(second)];
    lines.extend(slurm_line(run));
    lines
}

/// Where Slurm has the run, in full (the run list may cut it short): the
/// label squeue gave, and the task and attempt the run itself logged.
fn slurm_line(run: &RunView) -> Option<Line<'static>> {
    let label = run.slurm_label.clone()?;
    let color = theme::slurm(&label);
    let mut spans = vec![
        Span::raw("slurm: "),
        Span::styled(label, Style::default().fg(color)),
    ];
    if let Some(attempt) = &run.logged().slurm {
        spans.push(Span::raw(format!(" · task {}", attempt.job)));
        // SLURM_RESTART_COUNT counts the requeues: the first attempt is 0.
        if attempt.restart > 0 {
            spans.push(Span::raw(format!(" · attempt {}", attempt.restart + 1)));
        }
    }
    Some(Line::from(spans))
}

fn sparkline<'a>(name: &str, values: &[f64], color: Color, smoothed: bool) -> Sparkline<'a> {
    let last = values
        .last()
        .map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    let note = if smoothed {
        " · EMA (e)"
    } else {
        " (e: smooth)"
    };
    Sparkline::default()
        .block(Block::default().title(format!("{name} per step {last}{note}")))
        .data(series::sparkline_bars(values))
        .style(Style::default().fg(color))
}

/// One line of a history chart: name, colour, (epoch, value) points.
type Series = (&'static str, Color, Vec<(f64, f64)>);

/// Training and validation of one metric, per epoch: one chart's lines.
struct History {
    metric: &'static str,
    train: Series,
    val: Series,
}

/// Loss and accuracy apart, as their scales differ. Training in the
/// sparklines' colour (red loss, green accuracy), validation in another.
fn history(run: &RunView) -> [History; 2] {
    let points = |pick: fn(&crate::store::EpochRow) -> f64| -> Vec<(f64, f64)> {
        run.logged()
            .epochs
            .iter()
            .map(|row| (f64::from(row.epoch), pick(row)))
            .collect()
    };
    [
        History {
            metric: "loss",
            train: ("train", Color::Red, points(|r| r.train_loss)),
            val: ("val", Color::Magenta, points(|r| r.val_loss)),
        },
        History {
            metric: "accuracy",
            train: ("train", Color::Green, points(|r| r.train_accuracy)),
            val: ("val", Color::Cyan, points(|r| r.val_accuracy)),
        },
    ]
}

/// The two history charts side by side: loss, then accuracy.
fn render_history(run: &RunView, area: Rect, buf: &mut Buffer) {
    let [loss, accuracy] = history(run);
    let [left, right] =
        Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).areas(area);
    let top_loss = [&loss.train, &loss.val]
        .iter()
        .flat_map(|(_, _, points)| points.iter().map(|(_, y)| *y))
        .fold(0.0_f64, f64::max);
    // A loss scale that rounds up to the label shown; accuracy always 0–1.
    let top_loss = if top_loss > 0.0 {
        (top_loss * 10.0).ceil() / 10.0
    } else {
        1.0
    };
    history_chart(&loss, [0.0, top_loss], run.spec.epochs).render(left, buf);
    history_chart(&accuracy, [0.0, 1.0], run.spec.epochs).render(right, buf);
}

/// The chart's title is its legend: `loss per epoch ━ train ━ val`.
fn legend(history: &History) -> Line<'static> {
    let mut spans = vec![Span::raw(format!("{} per epoch", history.metric))];
    for (name, color, _) in [&history.train, &history.val] {
        spans.push(Span::styled(
            format!(" ━ {name}"),
            Style::default().fg(*color),
        ));
    }
    Line::from(spans)
}

fn history_chart(history: &History, bounds: [f64; 2], epochs: u32) -> Chart<'_> {
    let series = [&history.train, &history.val];
    let mut datasets: Vec<Dataset> = series
        .iter()
        .map(|(_, color, points)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(*color))
                .data(points)
        })
        .collect();
    // A line needs two points: a lone epoch is drawn as a dot, or nothing shows.
    datasets.extend(
        series
            .iter()
            .filter(|(_, _, points)| points.len() == 1)
            .map(|(_, color, points)| {
                Dataset::default()
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Scatter)
                    .style(Style::default().fg(*color))
                    .data(points)
            }),
    );
    let label = |value: f64| Line::from(format!("{value:.1}"));
    Chart::new(datasets)
        .block(Block::default().title(legend(history)))
        .x_axis(epoch_axis(epochs))
        .y_axis(
            Axis::default()
                .bounds(bounds)
                .labels(vec![Line::from("0"), label(bounds[1])]),
        )
}

/// Epochs 1 to `epochs`; a one-epoch run gets room on both sides, so its
/// point sits in the middle with its label under it, not on the edge.
fn epoch_axis(epochs: u32) -> Axis<'static> {
    if epochs <= 1 {
        return Axis::default().bounds([0.0, 2.0]).labels(vec![
            Line::from(""),
            Line::from("1"),
            Line::from(""),
        ]);
    }
    Axis::default()
        .bounds([1.0, f64::from(epochs)])
        .labels(vec![Line::from("1"), Line::from(epochs.to_string())])
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::protocol::{Event, Phase};
    use crate::tui::test_support::{buffer_text, planned_app, render_widget};

    fn screen(app: &App) -> String {
        buffer_text(render_widget(LivePane::of(app), 80, 24).backend().buffer())
    }

    #[test]
    fn without_runs_the_app_offers_enter_and_the_read_only_viewer_does_not() {
        let mut app = App::new(Vec::new(), Vec::new());
        assert!(screen(&app).contains("start one from the plan with Enter"));
        app.read_only = true;
        let text = screen(&app);
        assert!(!text.contains("Enter"), "{text}");
        assert!(text.contains("No runs yet"), "{text}");
    }

    fn app() -> App {
        let mut app = planned_app(&["M1"]);
        app.assign_id(0, "a".into());
        app
    }

    #[test]
    fn before_the_first_step_it_says_what_is_happening() {
        let mut app = app();
        app.apply(&Event::Phase {
            run: "a".into(),
            phase: Phase::LoadingData,
        });
        assert!(screen(&app).contains("loading Fashion-MNIST…"));
        app.apply(&Event::Phase {
            run: "a".into(),
            phase: Phase::WarmingUp,
        });
        assert!(screen(&app).contains("warming up (first steps)…"));
    }

    #[test]
    fn progress_shows_position_speed_eta_and_curves() {
        let mut app = app();
        app.apply(
            &crate::testing::started("a")
                .params(10)
                .samples(48_000, 12_000)
                .steps(1_500)
                .epochs(15)
                .event(),
        );
        for step in 1..=40 {
            app.apply(&Event::Progress {
                run: "a".into(),
                epoch: 2,
                step: step * 10,
                steps: 1_500,
                loss: 0.5,
                accuracy: 0.8,
                recent_loss: 1.0 / step as f64,
                recent_accuracy: 0.5 + step as f64 / 100.0,
                samples_per_sec: 3_200.0,
                elapsed_secs: 83.0,
                learning_rate: None,
            });
        }
        app.apply(&Event::EpochEnd {
            run: "a".into(),
            epoch: 1,
            epochs: 15,
            train_loss: 0.6,
            train_accuracy: 0.79,
            val_loss: 0.45,
            val_accuracy: 0.84,
            seconds: 14.0,
        });
        let text = screen(&app);
        assert!(text.contains("▶ running M1 on cpu"), "{text}");
        assert!(
            text.contains("epoch 2/15  step 400/1500  3200 img/s  elapsed 1m23s  ETA 3m26s"),
            "{text}"
        );
        assert!(text.contains("loss per step 0.0250 (e: smooth)"), "{text}");
        assert!(text.contains("accuracy per step 0.9000"), "{text}");
        assert!(text.contains("loss per epoch ━ train ━ val"), "{text}");
        assert!(text.contains("accuracy per epoch ━ train ━ val"), "{text}");
        app.smoothing = true;
        assert!(screen(&app).contains("· EMA (e)"));
    }

    #[test]
    fn a_single_epoch_is_drawn_as_dots_in_the_middle_of_the_chart() {
        let mut app = app();
        app.runs[0].spec.epochs = 1;
        app.apply(&Event::EpochEnd {
            run: "a".into(),
            epoch: 1,
            epochs: 1,
            // Far apart, so that each lands on its own row of cells.
            train_loss: 0.45,
            train_accuracy: 0.95,
            val_loss: 0.15,
            val_accuracy: 0.7,
            seconds: 14.0,
        });
        let terminal = render_widget(LivePane::of(&app), 80, 24);
        let buffer = terminal.backend().buffer();
        let dots: Vec<(u16, Color)> = buffer
            .content
            .iter()
            .enumerate()
            .filter(|(_, cell)| cell.symbol() == "•")
            .map(|(i, cell)| ((i % 80) as u16, cell.fg))
            .collect();
        // Loss on the left chart, accuracy on the right, each in the middle
        // of its chart, not on its edge.
        for (colors, middle) in [
            ([Color::Red, Color::Magenta], 15..30),
            ([Color::Green, Color::Cyan], 55..70),
        ] {
            let xs: Vec<u16> = dots
                .iter()
                .filter(|(_, c)| colors.contains(c))
                .map(|&(x, _)| x)
                .collect();
            for color in colors {
                assert!(dots.iter().any(|&(_, c)| c == color), "{color:?}: {dots:?}");
            }
            let (min, max) = (xs.iter().min().unwrap(), xs.iter().max().unwrap());
            assert!(max - min <= 1 && middle.contains(min), "{dots:?}");
        }
    }

    #[test]
    fn each_chart_names_its_lines_in_their_colours() {
        let mut app = app();
        for epoch in 1..=2 {
            app.apply(&Event::EpochEnd {
                run: "a".into(),
                epoch,
                epochs: 15,
                train_loss: 2.4 / f64::from(epoch),
                train_accuracy: 0.8,
                val_loss: 0.5,
                val_accuracy: 0.85,
                seconds: 14.0,
            });
        }
        let terminal = render_widget(LivePane::of(&app), 80, 24);
        let buffer = terminal.backend().buffer();
        let text = buffer_text(buffer);
        let colour_of = |word: &str, nth: usize| {
            let (y, line) = text
                .lines()
                .enumerate()
                .find(|(_, line)| line.contains("per epoch"))
                .unwrap_or_else(|| panic!("{text}"));
            let at = line.match_indices(word).nth(nth).unwrap().0;
            let x = line[..at].chars().count();
            buffer[(x as u16, y as u16)].fg
        };
        assert_eq!(colour_of("━ train", 0), Color::Red);
        assert_eq!(colour_of("━ val", 0), Color::Magenta);
        assert_eq!(colour_of("━ train", 1), Color::Green);
        assert_eq!(colour_of("━ val", 1), Color::Cyan);
        // The loss has its own scale (up to 2.4), accuracy 0 to 1.
        assert!(text.contains("│2.4│") || text.contains("2.4│"), "{text}");
        assert!(text.contains("1.0│"), "{text}");
    }

    #[test]
    fn a_scheduled_run_shows_its_learning_rate_and_its_flipped_test_apart() {
        let mut app = app();
        app.apply(
            &crate::testing::started("a")
                .params(10)
                .samples(48_000, 12_000)
                .steps(375)
                .epochs(15)
                .event(),
        );
        app.apply(&Event::Progress {
            run: "a".into(),
            epoch: 1,
            step: 10,
            steps: 375,
            loss: 0.5,
            accuracy: 0.8,
            recent_loss: 0.5,
            recent_accuracy: 0.8,
            samples_per_sec: 900.0,
            elapsed_secs: 2.0,
            learning_rate: Some(0.00123),
        });
        let text = screen(&app);
        assert!(text.contains("900 img/s  elapsed 2s  lr 1.23e-3"), "{text}");
        app.apply(&Event::Evaluated {
            run: "a".into(),
            test_loss: 0.3,
            test_accuracy: 0.925,
            confusion: Box::new([[0; 10]; 10]),
        });
        app.apply(&Event::FlipEvaluated {
            run: "a".into(),
            test_loss: 0.29,
            test_accuracy: 0.9301,
        });
        app.apply(&Event::Finished {
            run: "a".into(),
            seconds: 60.0,
            best_val_accuracy: 0.92,
            best_epoch: 1,
        });
        let text = screen(&app);
        assert!(
            text.contains("test 92.50% (loss 0.3000), with test-time flip 93.01%"),
            "{text}"
        );
    }

    #[test]
    fn a_run_waiting_in_slurms_queue_says_why() {
        let mut app = app();
        assert!(screen(&app).contains("waiting for the trainer…"));
        assert!(!screen(&app).contains("slurm:"));
        app.runs[0].slurm_label = Some("pending (Priority)".into());
        let text = screen(&app);
        assert!(text.contains("waiting for its Slurm task…"), "{text}");
        assert!(text.contains("slurm: pending (Priority)"), "{text}");
    }
}
