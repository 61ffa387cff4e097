//! Colours and symbols shared by the panes.

use ratatui::style::{Color, Modifier, Style};

use crate::{store::AlertKind, tui::UiStatus};

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

/// Symbol, short word and colour of an alert, and whether it asks for
/// attention (drawn bold) or only tells (a finished run). The symbol and
/// word keep meaning without colour; `!` marks what needs a look.
pub fn alert(kind: AlertKind) -> (&'static str, &'static str, Color, bool) {
    match kind {
        AlertKind::Finished => ("✓", "done", Color::Green, false),
        AlertKind::SweepFinished => ("✓", "sweep done", Color::Green, false),
        AlertKind::Failed => ("!", "failed", Color::Red, true),
        AlertKind::Crashed => ("!", "crashed", Color::Red, true),
        AlertKind::Lost => ("!", "lost", Color::Red, true),
        AlertKind::Diverging => ("!", "diverging", Color::Red, true),
        AlertKind::Interrupted => ("!", "interrupted", Color::LightRed, true),
        AlertKind::Stalled => ("!", "stalled", Color::LightYellow, true),
        AlertKind::Plateaued => ("!", "plateaued", Color::Yellow, true),
        AlertKind::Requeued => ("!", "requeued", Color::Magenta, true),
    }
}

/// Style of an alert's word: its colour, bold when it asks for attention.
pub fn alert_style(kind: AlertKind) -> Style {
    let (_, _, color, loud) = alert(kind);
    let style = Style::default().fg(color);
    if loud {
        style.add_modifier(Modifier::BOLD)
    } else {
        style
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

/// Heat colour of a diagonal cell from its row share in [0, 1] (its
/// recall): dark to bright green. Diagonals sit near 0.7–1, so the square
/// root spreads the top of the scale.
pub fn heat_diagonal(rate: f64) -> Color {
    Color::Rgb(10, level(rate.clamp(0.0, 1.0).sqrt()), 40)
}

/// Heat colour of a confusion from its row share over the largest
/// confusion's: dark to bright red. Confusions rarely pass a fifth of a row,
/// so on a scale to 100% a 16% and a 1% confusion both looked dark; on this
/// one the worst cell is the brightest and a 1% one stays near black.
pub fn heat_confusion(share_of_worst: f64) -> Color {
    Color::Rgb(level(share_of_worst.clamp(0.0, 1.0)), 20, 20)
}

fn level(unit: f64) -> u8 {
    (unit * 200.0) as u8 + 30
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
