//! The sources line: where a merged view's runs come from and how each
//! source stands (`sources: local ✓ · gpu-box:/data/runs connected ·
//! login:/scratch reconnecting since 10:42 UTC (ssh: Connection reset)`).
//! Labels and reasons come from remote hosts and ssh: they are escaped.

use std::time::{SystemTime, UNIX_EPOCH};

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Color, Style, Stylize},
    text::Span,
    widgets::Widget,
};

use super::text;
use crate::edge::escape::printable;
use crate::remote::{SourceState, SourceStatus};

/// One line naming every source and its state, cut to the width with `…`.
pub struct SourcesLine<'a>(pub &'a [SourceStatus]);

impl Widget for SourcesLine<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut spans = vec![Span::raw(" sources: ").bold()];
        for (index, source) in self.0.iter().enumerate() {
            if index > 0 {
                spans.push(Span::raw(" · "));
            }
            spans.push(Span::raw(printable(&source.label).into_owned()));
            spans.push(Span::raw(" "));
            let (state, color) = state_text(source);
            spans.push(Span::styled(state, Style::default().fg(color)));
        }
        let line = text::cut(spans, usize::from(area.width));
        buf.set_line(area.x, area.y, &line, area.width);
    }
}

/// What a source's state says, and its colour: a local folder that is read
/// is only `✓`, a remote one `connected`; trouble says since when and why.
fn state_text(source: &SourceStatus) -> (String, Color) {
    match &source.state {
        SourceState::Connected if !source.remote => ("✓".into(), Color::Green),
        SourceState::Connected => ("connected".into(), Color::Green),
        SourceState::Connecting => ("connecting…".into(), Color::Blue),
        SourceState::Reconnecting { since, reason } => (
            format!(
                "reconnecting since {} ({})",
                hours_minutes(*since),
                printable(reason)
            ),
            Color::Yellow,
        ),
        SourceState::Failed { reason } => (format!("failed: {}", printable(reason)), Color::Red),
    }
}

/// `time` as `HH:MM UTC`; `?` for a time before 1970.
fn hours_minutes(time: SystemTime) -> String {
    let Ok(since_epoch) = time.duration_since(UNIX_EPOCH) else {
        return "?".into();
    };
    let of_day = since_epoch.as_secs() % 86_400;
    format!("{:02}:{:02} UTC", of_day / 3600, of_day % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn one_source_in_each_state() {
        let source = |label: &str, remote, state| SourceStatus {
            label: label.into(),
            remote,
            state,
        };
        let since = UNIX_EPOCH + Duration::from_secs(10 * 3600 + 42 * 60);
        let sources = [
            source("local", false, SourceState::Connected),
            source("gpu-box:/data/runs", true, SourceState::Connected),
            source("new:/runs", true, SourceState::Connecting),
            source(
                "login:/scratch",
                true,
                SourceState::Reconnecting {
                    since,
                    reason: "ssh: Connection reset".into(),
                },
            ),
            source(
                "other",
                true,
                SourceState::Failed {
                    reason: "Permission denied (publickey)".into(),
                },
            ),
        ];
        let line = |width| {
            let area = Rect::new(0, 0, width, 1);
            let mut buf = Buffer::empty(area);
            SourcesLine(&sources).render(area, &mut buf);
            crate::screen::text::rows(&buf)
                .join("")
                .trim_end()
                .to_string()
        };
        assert_eq!(
            line(200),
            " sources: local ✓ · gpu-box:/data/runs connected · new:/runs connecting… · \
             login:/scratch reconnecting since 10:42 UTC (ssh: Connection reset) · \
             other failed: Permission denied (publickey)"
        );
        assert_eq!(line(40), " sources: local ✓ · gpu-box:/data/runs …");
    }

    #[test]
    fn times_are_hours_and_minutes_in_utc() {
        let at = UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + 10 * 3600 + 42 * 60 + 59);
        assert_eq!(hours_minutes(at), "10:42 UTC");
        assert_eq!(hours_minutes(UNIX_EPOCH - Duration::from_secs(1)), "?");
    }
}
