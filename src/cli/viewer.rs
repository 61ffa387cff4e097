//! The options of the app and its viewer (`watch`): given before any
//! subcommand, or after `watch`, where they go over the first ([`Merge`]).

use std::path::PathBuf;

use merge::Merge;

/// How the app and its viewer (`watch`) draw, judge and save screens. The
/// app takes them before any subcommand, `watch` after its name (or before,
/// as earlier versions did); no other command shows them.
#[derive(Clone, Debug, Default, clap::Args, Merge)]
#[merge(strategy = merge::option::overwrite_none)]
pub struct ViewerOptions {
    /// Draw the app's charts and gauges without braille or block glyphs.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    ascii: bool,
    /// Where the `s` key saves screenshots [default: assets/screenshots].
    #[arg(long, env = "ATELIER_SCREENSHOTS", value_name = "DIR")]
    screenshots_dir: Option<PathBuf>,
    /// Colours of the saved screenshots' default text and background [default: dark].
    #[arg(long, value_enum, value_name = "THEME")]
    screenshot_theme: Option<atelier::draw::Theme>,
    /// A run of another process that writes nothing for this long shows as stalled [default: 5m].
    #[arg(long, value_name = "DURATION")]
    stall_after: Option<humantime::Duration>,
}

impl ViewerOptions {
    pub fn ascii(&self) -> bool {
        self.ascii
    }

    pub fn screenshots_dir(&self) -> PathBuf {
        self.screenshots_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("assets/screenshots"))
    }

    pub fn screenshot_theme(&self) -> atelier::draw::Theme {
        self.screenshot_theme.unwrap_or(atelier::draw::Theme::Dark)
    }

    pub fn stall_after(&self) -> std::time::Duration {
        self.stall_after
            .map_or(std::time::Duration::from_secs(5 * 60), Into::into)
    }
}
