//! The run list's filter, as plain data: terms separated by spaces, every
//! one of which a run must match.
//!
//! - plain text: a case-insensitive part of the run's name, label, sweep,
//!   group name or group label (as the list's headers name groups);
//! - `key=value`: one of the run's settings ([`RunSpec::settings`], and its
//!   seed), numbers compared by value (`lr=0.001` is `lr=1e-3`); the plan's
//!   long keys (`learning_rate`, `model.dropout`) name the same settings;
//! - `status:X`: the run's status, by word or prefix (`status:run`).

use std::{
    cell::OnceCell,
    collections::{BTreeSet, HashMap},
};

use crate::{
    edge::escape::printable,
    plan::{
        settings::{group_labels, number, GroupLabel, Setting},
        RunSpec,
    },
    tui::run_view::{RunView, UiStatus},
};

/// The most characters the prompt takes: a filter, not a document.
pub const MAX_LEN: usize = 200;

/// A parsed filter; the empty one lets every run through.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// The terms as typed (trimmed), for the title and for editing again.
    pub text: String,
    terms: Vec<Term>,
}

/// One term of a filter.
#[derive(Clone, Debug, PartialEq)]
enum Term {
    /// Lower-cased text to find in a name or label.
    Text(String),
    /// A setting's short key and its value ([`normal`]); an empty value
    /// matches any run that has the setting.
    Setting {
        typed: String,
        key: String,
        value: String,
    },
    /// The statuses a `status:` word names; none when it names none.
    Status {
        typed: String,
        statuses: Vec<UiStatus>,
    },
}

/// The words a `status:` term knows, each with the statuses it means: the
/// list's own words first (the order the problems list them in), then
/// the words people also use.
const STATUS_WORDS: [(&str, &[UiStatus]); 13] = [
    ("planned", &[UiStatus::Planned]),
    ("queued", &[UiStatus::Queued]),
    ("running", &[UiStatus::Running]),
    ("paused", &[UiStatus::Paused]),
    ("stalled", &[UiStatus::Stalled]),
    ("done", &[UiStatus::Done]),
    ("failed", &[UiStatus::Failed]),
    ("interrupted", &[UiStatus::Interrupted]),
    ("crashed", &[UiStatus::Crashed]),
    ("pending", &[UiStatus::Queued]),
    ("finished", &[UiStatus::Done]),
    (
        "active",
        &[
            UiStatus::Queued,
            UiStatus::Running,
            UiStatus::Paused,
            UiStatus::Stalled,
        ],
    ),
    (
        "stopped",
        &[UiStatus::Failed, UiStatus::Interrupted, UiStatus::Crashed],
    ),
];

impl Filter {
    /// The filter `text` says; blank text is no filter.
    pub fn parse(text: &str) -> Self {
        let terms = text.split_whitespace().map(Term::parse).collect();
        Self {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            terms,
        }
    }

    /// Whether the filter hides anything at all.
    pub fn is_on(&self) -> bool {
        !self.terms.is_empty()
    }

    /// What makes a term match no run of `runs` whatever happens to them: a
    /// setting none of them has, a status word that names no status. Each
    /// says the term and what is known instead.
    pub fn problems(&self, runs: &[RunView]) -> Vec<String> {
        let known = known_keys(runs);
        let mut problems = Vec::new();
        for term in &self.terms {
            match term {
                Term::Setting { typed, key, .. } if !known.contains(key) => {
                    let known: Vec<&str> = known.iter().map(String::as_str).collect();
                    problems.push(format!(
                        "no run has a setting `{}`; settings: {}",
                        printable(typed),
                        known.join(" ")
                    ));
                }
                Term::Status { typed, statuses } if statuses.is_empty() => {
                    let words: Vec<&str> = STATUS_WORDS.iter().map(|(word, _)| *word).collect();
                    problems.push(format!(
                        "no status `{}`; statuses: {}",
                        printable(typed),
                        words.join(" ")
                    ));
                }
                _ => {}
            }
        }
        problems
    }

    /// A matcher of this filter for the runs of `runs` (the list's group
    /// labels depend on all of them).
    pub fn matcher<'a>(&'a self, runs: &'a [RunView]) -> Matcher<'a> {
        Matcher {
            filter: self,
            runs,
            labels: OnceCell::new(),
        }
    }
}

impl Term {
    fn parse(term: &str) -> Self {
        if let Some((key, word)) = term.split_once([':', '=']) {
            if key.eq_ignore_ascii_case("status") {
                return Term::Status {
                    typed: term.to_string(),
                    statuses: statuses_named(word),
                };
            }
        }
        match term.split_once('=') {
            Some((key, value)) if !key.is_empty() => Term::Setting {
                typed: term.to_string(),
                key: short_key(key),
                value: normal(value),
            },
            _ => Term::Text(term.to_lowercase()),
        }
    }
}

/// The statuses the words starting with `word` mean (every status for an
/// empty word: `status:` alone hides nothing).
fn statuses_named(word: &str) -> Vec<UiStatus> {
    let word = word.to_lowercase();
    let mut statuses = Vec::new();
    for (_, named) in STATUS_WORDS.iter().filter(|(w, _)| w.starts_with(&word)) {
        for status in *named {
            if !statuses.contains(status) {
                statuses.push(*status);
            }
        }
    }
    statuses
}

/// The key a setting has in [`RunSpec::settings`], from the short key or
/// the plan's long one (`learning_rate`, `model.dropout`), in any case.
fn short_key(key: &str) -> String {
    crate::plan::sweep::short_key(&key.to_lowercase()).to_string()
}

/// A value as compared: a number in the form [`number`] gives it (so
/// `0.001`, `1e-3` and `1E-3` are one value), anything else lower-cased.
fn normal(value: &str) -> String {
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() => number(x),
        _ => value.to_lowercase(),
    }
}

/// A run's settings, its seed among them.
fn settings(spec: &RunSpec) -> Vec<Setting> {
    let mut settings = spec.settings();
    settings.push(("seed".into(), spec.seed.to_string()));
    settings
}

/// Every setting key some run of `runs` has, sorted.
fn known_keys(runs: &[RunView]) -> BTreeSet<String> {
    runs.iter()
        .flat_map(|run| settings(&run.spec))
        .map(|(key, _)| key)
        .collect()
}

/// A filter ready to test the runs it was made for.
pub struct Matcher<'a> {
    filter: &'a Filter,
    runs: &'a [RunView],
    /// The list's group labels, by group id: made from every run, so only
    /// when a text term is in no run's own names.
    labels: OnceCell<HashMap<String, GroupLabel>>,
}

impl Matcher<'_> {
    /// Whether `run` matches every term.
    pub fn matches(&self, run: &RunView) -> bool {
        let spec = &run.spec;
        let needs_settings = self
            .filter
            .terms
            .iter()
            .any(|term| matches!(term, Term::Setting { .. }));
        let settings = if needs_settings {
            settings(spec)
        } else {
            Vec::new()
        };
        let names = self.names(spec);
        self.filter.terms.iter().all(|term| match term {
            Term::Text(text) => {
                names.iter().any(|name| name.contains(text.as_str()))
                    || self.group_label(spec).contains(text.as_str())
            }
            Term::Setting { key, value, .. } => settings
                .iter()
                .any(|(k, v)| k == key && (value.is_empty() || normal(v) == *value)),
            Term::Status { statuses, .. } => statuses.contains(&run.status),
        })
    }

    /// The run's own names that text terms look in, lower-cased: its
    /// name, label, sweep and group name (none without text terms).
    fn names(&self, spec: &RunSpec) -> Vec<String> {
        let texts = self
            .filter
            .terms
            .iter()
            .any(|term| matches!(term, Term::Text(_)));
        if !texts {
            return Vec::new();
        }
        let mut names = vec![spec.name.clone(), spec.group().name];
        names.extend(spec.label.clone());
        names.extend(spec.sweep.clone());
        names.iter().map(|name| name.to_lowercase()).collect()
    }

    /// The label the list's header gives the run's group, lower-cased.
    fn group_label(&self, spec: &RunSpec) -> String {
        let labels = self
            .labels
            .get_or_init(|| group_labels(self.runs.iter().map(|run| &run.spec)));
        labels
            .get(&spec.group().id())
            .map(|label| label.label.to_lowercase())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_support::spec;

    fn run(name: &str, status: UiStatus) -> RunView {
        let mut view = RunView::planned(spec(name));
        view.status = status;
        view
    }

    /// Which of `runs` `text` lets through, by name.
    fn shown(text: &str, runs: &[RunView]) -> Vec<String> {
        let filter = Filter::parse(text);
        let matcher = filter.matcher(runs);
        runs.iter()
            .filter(|run| matcher.matches(run))
            .map(|run| run.spec.name.clone())
            .collect()
    }

    fn runs() -> Vec<RunView> {
        let mut labelled = run("M1", UiStatus::Done);
        labelled.spec.label = Some("CNN [64,32,16]".into());
        labelled.spec.learning_rate = 0.001;
        let mut big = run("MLP", UiStatus::Running);
        big.spec.batch_size = 64;
        big.spec.learning_rate = 3e-4;
        vec![labelled, big, run("M2", UiStatus::Queued)]
    }

    #[test]
    fn blank_text_is_no_filter_and_terms_are_kept_as_typed() {
        let filter = Filter::parse("   ");
        assert!(!filter.is_on());
        assert_eq!(filter, Filter::default());
        let filter = Filter::parse("  m1   lr=1e-3 ");
        assert!(filter.is_on());
        assert_eq!(filter.text, "m1 lr=1e-3");
    }

    #[test]
    fn text_is_a_part_of_the_name_or_label_in_any_case() {
        let runs = runs();
        assert_eq!(shown("m", &runs), ["M1", "MLP", "M2"]);
        assert_eq!(shown("cnn", &runs), ["M1"], "the label");
        assert_eq!(shown("Ml m", &runs), ["MLP"], "every term");
        assert!(shown("nothing", &runs).is_empty());
    }

    #[test]
    fn settings_match_by_value_under_their_short_or_long_key() {
        let runs = runs();
        assert_eq!(shown("lr=1e-3", &runs), ["M1"]);
        assert_eq!(shown("lr=0.001", &runs), ["M1"], "numbers by value");
        assert_eq!(shown("learning_rate=1E-3", &runs), ["M1"], "the plan's key");
        assert_eq!(shown("batch_size=64", &runs), ["MLP"]);
        assert_eq!(shown("batch=32.0", &runs), ["M1", "M2"]);
        assert_eq!(shown("MODEL=MLP", &runs), ["M1", "MLP", "M2"]);
        assert_eq!(shown("model.hidden=[8]", &runs).len(), 3);
        assert_eq!(
            shown("seed=42 batch=", &runs).len(),
            3,
            "the seed; any batch"
        );
        assert!(shown("batch=65", &runs).is_empty());
    }

    #[test]
    fn statuses_match_by_word_prefix_or_another_word_for_them() {
        let runs = runs();
        assert_eq!(shown("status:done", &runs), ["M1"]);
        assert_eq!(shown("STATUS:run", &runs), ["MLP"]);
        assert_eq!(shown("status:pending", &runs), ["M2"]);
        assert_eq!(shown("status=active", &runs), ["MLP", "M2"]);
        assert_eq!(shown("status:", &runs).len(), 3);
        assert_eq!(shown("status:d m", &runs), ["M1"]);
    }

    #[test]
    fn every_word_the_list_shows_is_a_status_word() {
        use UiStatus::*;
        for status in [
            Planned,
            Queued,
            Running,
            Paused,
            Done,
            Failed,
            Interrupted,
            Stalled,
            Crashed,
        ] {
            let (_, word, _) = crate::tui::panes::theme::status(status);
            assert_eq!(statuses_named(word), [status], "{word}");
        }
    }

    #[test]
    fn a_term_no_run_can_match_is_named_with_what_is_known() {
        let runs = runs();
        let problems = Filter::parse("m1 lr=1e-3 status:done").problems(&runs);
        assert!(problems.is_empty(), "{problems:?}");
        let problems = Filter::parse("wat=3 status:nope conv=[64]").problems(&runs);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("no run has a setting `wat=3`; settings: ")
                && problems[0].contains(" lr ")
                && problems[0].contains(" seed "),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].starts_with("no status `status:nope`; statuses: planned queued running"),
            "{}",
            problems[1]
        );
        assert!(problems[2].contains("`conv=[64]`"), "no CNN here");
        // What is typed is escaped before it reaches the status line.
        let problems = Filter::parse("\u{1b}[2J=1").problems(&runs);
        assert!(problems[0].contains("`\\u{1b}[2J=1`"), "{}", problems[0]);
    }

    #[test]
    fn a_sweeps_groups_match_by_what_their_headers_say() {
        let plan = crate::plan::parse_plan(
            r#"
            [[sweep]]
            name = "wide"
            model = { kind = "mlp", hidden = [8] }
            seeds = 2
            grid = { learning_rate = [1e-3, 3e-4] }
            "#,
            "sweep",
            std::path::Path::new("sweep.toml"),
        )
        .unwrap();
        let runs: Vec<RunView> = plan.runs.into_iter().map(RunView::planned).collect();
        assert_eq!(shown("wide", &runs).len(), 4, "the sweep's name");
        let label = shown("lr=3e-4", &runs);
        assert_eq!(label.len(), 2, "{label:?}");
        assert_eq!(shown("lr=3e-4 seed=1", &runs).len(), 1);
    }
}
