//! The terminal app: state that events and keys update ([`state`],
//! [`run_view`], [`list`], [`input`], [`slurm_view`]), drawing that reads
//! it and never changes it ([`ui`], [`panes`], [`progress`],
//! [`render_mode`]), and the loop between them ([`event_loop`]), which alone
//! touches the terminal.

pub mod comparison;
pub mod effects;
pub mod event_loop;
pub mod gallery;
pub mod input;
pub mod keymap;
pub mod list;
pub mod loader;
pub mod panes;
pub mod progress;
pub mod render_mode;
pub mod run_view;
pub mod series;
pub mod slurm_view;
pub mod state;
pub mod still;
pub mod sweep;
pub mod ui;
pub mod view;

pub use input::Action;
pub use list::{Cursor, ListRow};
pub use render_mode::{ColorMode, RenderMode};
pub use run_view::{RunView, UiStatus};
pub use state::{App, Confirm, Overlay};
pub use view::View;

#[cfg(test)]
mod screen_tests;

/// Helpers for the drawing tests.
#[cfg(test)]
pub(crate) mod test_support {
    use ratatui::{backend::TestBackend, buffer::Buffer, widgets::Widget, Terminal};

    /// The buffer's text, one line per row (trailing blanks kept).
    pub fn buffer_text(buffer: &Buffer) -> String {
        crate::screen::text::rows(buffer).join("\n")
    }

    /// A small MLP run. Its learning rate comes from its name, so runs
    /// named apart are different experiments, not one group of seeds.
    pub fn spec(name: &str) -> crate::plan::RunSpec {
        let salt: u32 = name.bytes().map(u32::from).sum();
        crate::plan::RunSpec {
            learning_rate: 1e-3 + f64::from(salt) * 1e-7,
            ..crate::plan::RunSpec::new(name, crate::model::ModelSpec::tiny_mlp())
        }
    }

    /// The plan row of [`spec`]`(name)` shown with `status`, and a test
    /// accuracy when given.
    pub fn run_view(name: &str, status: super::UiStatus, accuracy: Option<f64>) -> super::RunView {
        let mut view = super::RunView::planned(spec(name));
        if let Some(accuracy) = accuracy {
            view.apply(&crate::protocol::Event::Evaluated {
                run: "r".into(),
                test_loss: 0.3,
                test_accuracy: accuracy,
                confusion: Box::new([[1; 10]; 10]),
            });
        }
        view.status = status;
        view
    }

    /// An app whose plan has one small MLP run per name, none started.
    pub fn planned_app(names: &[&str]) -> super::App {
        super::App::new(Vec::new(), names.iter().map(|name| spec(name)).collect())
    }

    /// Predictions of 30 test images, three per class (image i is of class
    /// i % 10), each right and sure of it but for the `wrong` (index, predicted) ones.
    pub fn predictions(wrong: &[(usize, u8)]) -> crate::store::Predictions {
        use crate::data::NUM_CLASSES;
        let labels: Vec<u8> = (0..30).map(|i| (i % 10) as u8).collect();
        let mut predicted = labels.clone();
        for &(index, class) in wrong {
            predicted[index] = class;
        }
        let mut probabilities = vec![0u8; 30 * NUM_CLASSES];
        for (index, &class) in predicted.iter().enumerate() {
            // 80% on the prediction, 20% on the next class.
            probabilities[index * NUM_CLASSES + usize::from(class)] = 204;
            probabilities[index * NUM_CLASSES + (usize::from(class) + 1) % NUM_CLASSES] = 51;
        }
        crate::store::Predictions::new(labels, predicted, probabilities).unwrap()
    }

    /// The 30 test images of [`predictions`]: image i has its top-left
    /// pixel at i and every other pixel at 200.
    pub fn test_split() -> crate::data::Split {
        use crate::data::IMAGE_PIXELS;
        let mut images = vec![200u8; 30 * IMAGE_PIXELS];
        for index in 0..30 {
            images[index * IMAGE_PIXELS] = index as u8;
        }
        crate::data::Split {
            images,
            labels: (0..30).map(|i| (i % 10) as u8).collect(),
        }
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
