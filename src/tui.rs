//! The terminal app's core, kept free of the terminal: state that events
//! update ([`state`]) and keys that change it ([`input`]). Drawing will read
//! this state and never change it.

pub mod event_loop;
pub mod input;
pub mod panes;
pub mod render_mode;
pub mod run_view;
pub mod series;
pub mod state;
pub mod ui;

pub use input::Action;
pub use render_mode::{ColorMode, RenderMode};
pub use run_view::{RunView, UiStatus};
pub use state::{App, Confirm, Overlay, View};

#[cfg(test)]
mod screen_tests;

/// Helpers for the drawing tests.
#[cfg(test)]
pub(crate) mod test_support {
    use ratatui::{backend::TestBackend, buffer::Buffer, widgets::Widget, Terminal};

    /// The buffer's text, one line per row (trailing blanks kept).
    pub fn buffer_text(buffer: &Buffer) -> String {
        let area = buffer.area;
        (area.top()..area.bottom())
            .map(|y| {
                (area.left()..area.right())
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// An app whose plan has one small MLP run per name, none started.
    pub fn planned_app(names: &[&str]) -> super::App {
        let spec = |name: &str| {
            crate::plan::RunSpec::new(
                name,
                crate::model::ModelSpec::Mlp {
                    hidden: vec![8],
                    dropout: false,
                },
            )
        };
        super::App::new(Vec::new(), names.iter().map(|name| spec(name)).collect())
    }

    /// Draws one widget over a `width × height` test terminal.
    pub fn render_widget(widget: impl Widget, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| frame.render_widget(widget, frame.area()))
            .unwrap();
        terminal
    }
}
