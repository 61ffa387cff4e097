//! Colours and symbols shared by the panes.

use ratatui::style::{Color, Modifier, Style};

use crate::tui::UiStatus;

/// Symbol, word and colour of a run status; the symbol keeps meaning without colour.
pub fn status(status: UiStatus) -> (&'static str, &'static str, Color) {
    match status {
        UiStatus::Planned => ("·", "planned", Color::DarkGray),
        UiStatus::Queued => ("…", "queued", Color::Blue),
        UiStatus::Running => ("▶", "running", Color::Yellow),
        UiStatus::Paused => ("‖", "paused", Color::Magenta),
        UiStatus::Done => ("✓", "done", Color::Green),
        UiStatus::Failed => ("✗", "failed", Color::Red),
        UiStatus::Interrupted => ("■", "interrupted", Color::LightRed),
        UiStatus::Stalled => ("!", "stalled", Color::LightYellow),
        UiStatus::Crashed => ("✗", "crashed", Color::LightRed),
    }
}

/// Colour of a Slurm label (see [`crate::slurm::summary`]), by its first
/// words: waiting in the queue's colour, running in the runs', trouble in red.
pub fn slurm(label: &str) -> Color {
    let first = label.split([' ', ',']).next().unwrap_or_default();
    match first {
        "pending" | "not" => Color::Blue,
        "running" | "completing" => Color::Yellow,
        "requeued" | "suspended" => Color::Magenta,
        "done" | "completed" => Color::Green,
        _ => Color::LightRed,
    }
}

/// Heat colour for a row-normalised rate in [0, 1]: dark to bright. The
/// diagonal uses green, confusions red, so the eye finds mistakes at once.
pub fn heat(rate: f64, diagonal: bool) -> Color {
    let level = (rate.clamp(0.0, 1.0).sqrt() * 200.0) as u8 + 30;
    if diagonal {
        Color::Rgb(10, level, 40)
    } else {
        Color::Rgb(level, 20, 20)
    }
}

/// Background of the selected row. A colour, not REVERSED: reversing a
/// row turns its block glyphs inside out, so a training run's progress gauge
/// read backwards (filled part dark, empty part bright). Without colour,
/// [`crate::tui::render_mode`] turns this background into REVERSED.
pub const SELECTED_BG: Color = Color::Rgb(45, 70, 120);

/// Style of a selected row: white on [`SELECTED_BG`], legible on dark and
/// light terminals alike.
pub fn selected() -> Style {
    Style::default()
        .fg(Color::White)
        .bg(SELECTED_BG)
        .add_modifier(Modifier::BOLD)
}

/// Style of a pane title.
pub fn title() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}
