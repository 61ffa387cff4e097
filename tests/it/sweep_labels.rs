//! Group labels of generated sweeps: 1–3 swept keys (close learning rates
//! written in different ways, batch sizes, dropout, epochs, weight decay,
//! optimizers, augmentation on and off, model widths), 2–4 values each,
//! 1–3 seeds, parsed from plan text as a user writes it. Every group of a
//! sweep must get its own label, whole and fitted to the widths an
//! 80-column terminal leaves it: `runs groups` gives 40 columns, the app's
//! group headers about 25 once the counts after the name are drawn.
//!
//! The number of cases follows `PROPTEST_CASES` (default 256: a case is a
//! parse and a few hundred short strings).

use std::{collections::HashSet, path::Path};

use atelier::plan::{parse_plan, settings::group_labels};
use proptest::prelude::*;

/// The widths the labels must stay apart at.
const WIDTHS: std::ops::RangeInclusive<usize> = 24..=40;

/// A key a sweep may vary and values for it, as TOML writes them.
struct Key {
    name: &'static str,
    values: &'static [&'static str],
}

/// Distinct values only: the same value written twice is a plan error
/// (two runs of one name), checked apart below.
const KEYS: [Key; 9] = [
    Key {
        name: "learning_rate",
        values: &["1e-3", "1.1e-3", "1.05e-3", "9e-4", "3e-4", "1e-2"],
    },
    Key {
        name: "batch_size",
        values: &["16", "32", "64", "128", "256"],
    },
    Key {
        name: "\"model.dropout\"",
        values: &["false", "true"],
    },
    Key {
        name: "epochs",
        values: &["1", "2", "3", "10", "15"],
    },
    Key {
        name: "weight_decay",
        values: &["0.0", "1e-4", "5e-4", "1e-2", "5e-2"],
    },
    Key {
        name: "optimizer",
        values: &["\"adam\"", "\"adamw\"", "\"sgd\""],
    },
    Key {
        name: "augment",
        values: &["{}", "{ crop = 2, flip = true }"],
    },
    Key {
        name: "\"model.conv\"",
        values: &["[64]", "[32]", "[64, 32]", "[128, 64, 32]"],
    },
    Key {
        name: "\"model.dense\"",
        values: &["8", "16", "32", "64"],
    },
];

/// A number as another writer would put it: `0.001`, `1.0e-3`, `1E-3`.
fn written(value: &str, form: usize) -> String {
    let Ok(x) = value.parse::<f64>() else {
        return value.to_string();
    };
    if !value.contains(['e', '.']) {
        return value.to_string();
    }
    match form % 4 {
        0 => value.to_string(),
        1 => format!("{x:?}"),
        2 => format!("{x:.6}"),
        _ => format!("{x:E}"),
    }
}

/// One generated sweep: which keys, which of their values (and how each is
/// written), how many seeds, and its name.
#[derive(Clone, Debug)]
struct Sweep {
    name: &'static str,
    keys: Vec<(usize, Vec<(usize, usize)>)>,
    seeds: u32,
}

impl Sweep {
    fn toml(&self) -> String {
        let grid: Vec<String> = self
            .keys
            .iter()
            .map(|(key, values)| {
                let key = &KEYS[*key];
                let values: Vec<String> = values
                    .iter()
                    .map(|&(value, form)| written(key.values[value], form))
                    .collect();
                format!("{} = [{}]", key.name, values.join(", "))
            })
            .collect();
        format!(
            "[[sweep]]\nname = \"{}\"\nmodel = {{ kind = \"cnn\", conv = [64], dense = 16 }}\nepochs = 2\nseeds = {}\ngrid = {{ {} }}\n",
            self.name,
            self.seeds,
            grid.join(", ")
        )
    }

    fn configurations(&self) -> usize {
        self.keys.iter().map(|(_, values)| values.len()).product()
    }
}

/// 2–4 of a key's values (as many as it has, at most), each with a form.
fn values(key: usize) -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    let count = KEYS[key].values.len();
    (
        proptest::sample::subsequence((0..count).collect::<Vec<_>>(), 2..=count.min(4)),
        prop::collection::vec(0usize..4, 4),
    )
        .prop_map(move |(picked, forms)| (key, picked.into_iter().zip(forms).collect()))
}

fn sweep() -> impl Strategy<Value = Sweep> {
    let names = prop::sample::select(vec!["M1", "S", "lr", "a-rather-long-sweep-name"]);
    let keys = proptest::sample::subsequence((0..KEYS.len()).collect::<Vec<_>>(), 1..=3)
        .prop_flat_map(|keys| keys.into_iter().map(values).collect::<Vec<_>>());
    (names, keys, 1u32..=3).prop_map(|(name, keys, seeds)| Sweep { name, keys, seeds })
}

fn config() -> ProptestConfig {
    // `PROPTEST_CASES` in the environment overrides this default.
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        256
    };
    ProptestConfig { cases, ..default }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_group_of_a_sweep_has_its_own_label_at_every_width(sweep in sweep()) {
        let text = sweep.toml();
        let plan = parse_plan(&text, "props", Path::new("props.toml"))
            .map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
        let ids: HashSet<String> = plan.runs.iter().map(|run| run.group().id()).collect();
        prop_assert_eq!(ids.len(), sweep.configurations(), "{}", text);
        let labels = group_labels(&plan.runs);
        prop_assert_eq!(labels.len(), ids.len());
        let whole: HashSet<&str> = labels.values().map(|l| l.label.as_str()).collect();
        prop_assert_eq!(whole.len(), ids.len(), "labels repeat: {:?}\n{}", labels, text);
        for width in WIDTHS {
            let fitted: Vec<String> = labels.values().map(|l| l.fit(width)).collect();
            for label in &fitted {
                prop_assert!(label.chars().count() <= width, "{label:?} at {width}");
            }
            let distinct: HashSet<&String> = fitted.iter().collect();
            prop_assert_eq!(
                distinct.len(),
                fitted.len(),
                "labels repeat at {} columns: {:?}\n{}",
                width,
                fitted,
                text
            );
        }
    }
}

#[test]
fn one_value_written_two_ways_is_refused_by_name() {
    let plan = "[[sweep]]\nname = \"S\"\nmodel = { kind = \"mlp\", hidden = [8] }\ngrid = { learning_rate = [1e-3, 0.001] }\n";
    let message = parse_plan(plan, "twice", Path::new("twice.toml"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "twice.toml: sweep \"S\": it makes a run named \"S lr=1e-3\", which another run already has"
    );
}
