//! The options of the app and its viewer (`watch`): given before any
//! subcommand, or after `watch`, where they go over the first ([`Merge`]).

use std::path::PathBuf;

use atelier::{
    plan::AlertSettings,
    remote::alerting::Alerting,
    session::notify::{Delivery, Ledger, Osc},
    store::AlertRules,
    tui::effects::Screenshots,
};
use merge::Merge;

/// How the app and its viewer (`watch`) draw, judge and save screens. The
/// app takes them before any subcommand, `watch` after its name (or before,
/// as earlier versions did); no other command shows them.
#[derive(Clone, Debug, Default, clap::Args, Merge)]
#[merge(strategy = merge::option::overwrite_none)]
pub struct ViewerOptions {
    /// Draw the app's charts and gauges without braille or block glyphs.
    #[arg(long, help_heading = crate::cli::heading::VIEWER)]
    #[merge(strategy = merge::bool::overwrite_false)]
    ascii: bool,
    /// Where the `s` key saves screenshots, created if need be [default: atelier in your pictures folder, else screenshots in atelier's data folder].
    #[arg(long, env = "ATELIER_SCREENSHOTS", value_name = "DIR", help_heading = crate::cli::heading::VIEWER)]
    screenshots_dir: Option<PathBuf>,
    /// Colours of the saved screenshots' default text and background [default: dark].
    #[arg(long, value_enum, value_name = "THEME", help_heading = crate::cli::heading::VIEWER)]
    screenshot_theme: Option<atelier::draw::Theme>,
    /// A run of another process that writes nothing for this long shows as stalled [default: 5m].
    #[arg(long, value_name = "DURATION", help_heading = crate::cli::heading::VIEWER)]
    stall_after: Option<humantime::Duration>,
    /// Alerts ring the terminal's bell.
    #[arg(long, help_heading = "Alerts")]
    #[merge(strategy = merge::bool::overwrite_false)]
    bell: bool,
    /// Alerts ask the terminal for a desktop notification: OSC 9 (iTerm2, `WezTerm`, kitty, Windows Terminal) or 777 (foot, Ghostty, VTE); both pass through ssh.
    #[arg(long, value_enum, value_name = "9|777", help_heading = "Alerts")]
    osc: Option<OscArg>,
    /// Run this shell command for each alert, with the alert as JSON on its standard input.
    #[arg(long, value_name = "CMD", help_heading = "Alerts")]
    notify_cmd: Option<String>,
    /// A run is diverging once its training loss stays above this many times its best [default: 3].
    #[arg(long, value_name = "FACTOR", help_heading = "Alerts")]
    diverge_factor: Option<f64>,
    /// … for this many steps in a row [default: 200].
    #[arg(long, value_name = "N", help_heading = "Alerts")]
    diverge_steps: Option<u64>,
    /// A run has plateaued after this many epochs without a better validation accuracy [default: 5].
    #[arg(long, value_name = "N", help_heading = "Alerts")]
    plateau_epochs: Option<u32>,
    /// The atelier that remote hosts run, where it is not on their PATH [default: atelier].
    #[arg(long, value_name = "PATH", help_heading = crate::cli::heading::STORAGE)]
    remote_atelier: Option<String>,
    /// Where alerts already told are remembered, so a restarted watcher does not repeat them [default: alerts.jsonl in atelier's state folder].
    #[arg(long, value_name = "FILE", help_heading = "Alerts")]
    alert_ledger: Option<PathBuf>,
}

/// `--osc`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OscArg {
    #[value(name = "9")]
    Nine,
    #[value(name = "777")]
    SevenSevenSeven,
}

impl ViewerOptions {
    pub fn ascii(&self) -> bool {
        self.ascii
    }

    /// The flag (or `ATELIER_SCREENSHOTS`), else the user's folder for
    /// them; without a home folder, `atelier-screenshots` here.
    pub fn screenshots_dir(&self) -> PathBuf {
        self.screenshots_dir
            .clone()
            .filter(|dir| !dir.as_os_str().is_empty())
            .or_else(Screenshots::user_default_dir)
            .unwrap_or_else(|| PathBuf::from("atelier-screenshots"))
    }

    pub fn screenshot_theme(&self) -> atelier::draw::Theme {
        self.screenshot_theme.unwrap_or(atelier::draw::Theme::Dark)
    }

    pub fn stall_after(&self) -> std::time::Duration {
        self.stall_after
            .map_or(std::time::Duration::from_secs(5 * 60), Into::into)
    }

    pub fn remote_atelier(&self) -> String {
        self.remote_atelier
            .clone()
            .unwrap_or_else(|| "atelier".to_string())
    }

    /// The alert rules: the flags, over the plan's `[alerts]`, over the defaults.
    pub fn alert_rules(&self, plan: &AlertSettings) -> anyhow::Result<AlertRules> {
        let defaults = AlertRules::default();
        let factor = self
            .diverge_factor
            .or(plan.diverge_factor)
            .unwrap_or(defaults.diverge_factor);
        if !(factor.is_finite() && factor > 1.0) {
            anyhow::bail!("--diverge-factor: expected a number above 1, found {factor}");
        }
        let steps = self.diverge_steps.or(plan.diverge_steps);
        let epochs = self.plateau_epochs.or(plan.plateau_epochs);
        if steps == Some(0) || epochs == Some(0) {
            anyhow::bail!("--diverge-steps and --plateau-epochs: expected 1 or more, found 0");
        }
        Ok(AlertRules {
            stall_after: self
                .stall_after
                .map(Into::into)
                .or(plan.stall_after)
                .unwrap_or(defaults.stall_after),
            diverge_factor: factor,
            diverge_steps: steps.unwrap_or(defaults.diverge_steps),
            plateau_epochs: epochs.unwrap_or(defaults.plateau_epochs),
        })
    }

    /// The alerts' rules, delivery and ledger, as the flags (and the plan) ask.
    pub fn alerting(&self, plan: &AlertSettings) -> anyhow::Result<Alerting> {
        let delivery = Delivery {
            bell: self.bell,
            osc: self.osc.map(|osc| match osc {
                OscArg::Nine => Osc::Osc9,
                OscArg::SevenSevenSeven => Osc::Osc777,
            }),
            command: self.notify_cmd.clone(),
        };
        let ledger = match self.alert_ledger.clone().or_else(Ledger::default_path) {
            Some(path) => Ledger::open(&path)?,
            None => Ledger::in_memory(),
        };
        Ok(Alerting::new(self.alert_rules(plan)?, delivery, ledger))
    }
}
