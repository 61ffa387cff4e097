//! A run's settings as `key=value` pairs, and what tells the runs of a
//! sweep apart: the keys whose values differ (each group is labelled by
//! those), said apart from the ones they share (said once, in a header).
//!
//! Keys are short, as sweep names write them (`lr`, `batch`, `dropout`);
//! values are compact (`3e-4`, `[64,32]`, `onecycle(warmup_share=0.3)`).

use serde_json::Value;

use super::{Augment, RunSpec};

/// One setting: its short key and its value as text.
pub type Setting = (String, String);

impl RunSpec {
    /// Every setting a sweep can vary, in a fixed order: the run's, then the
    /// model's fields, then the recipe's (each given, default or not).
    pub fn settings(&self) -> Vec<Setting> {
        let mut settings = vec![
            ("epochs".to_string(), self.epochs.to_string()),
            ("batch".to_string(), self.batch_size.to_string()),
            ("lr".to_string(), number(self.learning_rate)),
            ("val".to_string(), number(self.validation_split)),
            ("precision".to_string(), self.precision.to_string()),
            (
                "limit".to_string(),
                self.limit_train
                    .map_or_else(|| "all".into(), |n| n.to_string()),
            ),
        ];
        if let Ok(Value::Object(mut model)) = serde_json::to_value(&self.model) {
            let kind = model.remove("kind").unwrap_or(Value::Null);
            settings.push(("model".into(), compact(&kind)));
            let batch_norm = model
                .get_mut("blocks")
                .and_then(Value::as_array_mut)
                .map(|blocks| {
                    // Said once for all blocks, as a sweep's `model.batch_norm` sets it.
                    let each: Vec<Value> = blocks
                        .iter_mut()
                        .filter_map(|block| block.as_object_mut()?.remove("batch_norm"))
                        .collect();
                    match each.first() {
                        Some(first) if each.iter().all(|b| b == first) => compact(first),
                        Some(_) => "mixed".to_string(),
                        None => "false".to_string(),
                    }
                });
            settings.extend(model.into_iter().map(|(key, value)| (key, compact(&value))));
            settings.extend(batch_norm.map(|value| ("batch_norm".to_string(), value)));
        }
        let recipe = &self.recipe;
        let json = |value: Value| compact(&value);
        settings.extend([
            (
                "optimizer".into(),
                json(serde_json::json!(recipe.optimizer)),
            ),
            ("weight_decay".into(), number(recipe.weight_decay)),
            ("momentum".into(), number(recipe.momentum())),
            ("nesterov".into(), recipe.nesterov.to_string()),
            ("schedule".into(), json(serde_json::json!(recipe.schedule))),
            ("label_smoothing".into(), number(recipe.label_smoothing)),
            ("augment".into(), augment(&recipe.augment)),
            ("tta_flip".into(), recipe.tta_flip.to_string()),
        ]);
        settings
    }
}

/// `none`, or the augmentations that are on: `{crop=2,flip=true}` (the
/// ones left at their default, such as `erasing=0`, go unsaid).
fn augment(augment: &Augment) -> String {
    let (Value::Object(mut on), Value::Object(off)) = (
        serde_json::json!(augment),
        serde_json::json!(Augment::default()),
    ) else {
        return compact(&serde_json::json!(augment));
    };
    on.retain(|key, value| off.get(key) != Some(value));
    if on.is_empty() {
        "none".into()
    } else {
        compact(&Value::Object(on))
    }
}

/// The settings of some runs: which keys vary, and those all share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Differences {
    /// Keys whose values differ between the runs, in settings order.
    pub varying: Vec<String>,
    /// The settings every run shares, in settings order.
    pub shared: Vec<Setting>,
}

impl Differences {
    /// What differs between `specs` (the seed and the names aside). A
    /// key only some of them have (another model's field) varies.
    pub fn of<'a>(specs: impl IntoIterator<Item = &'a RunSpec>) -> Self {
        let all: Vec<Vec<Setting>> = specs.into_iter().map(RunSpec::settings).collect();
        let mut keys: Vec<&String> = Vec::new();
        for (key, _) in all.iter().flatten() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let mut differences = Self::default();
        for key in keys {
            let value_in = |settings: &Vec<Setting>| {
                settings
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            let first = all.first().and_then(value_in);
            match first.filter(|value| all.iter().all(|s| value_in(s).as_ref() == Some(value))) {
                Some(value) => differences.shared.push((key.clone(), value)),
                None => differences.varying.push(key.clone()),
            }
        }
        differences
    }

    /// The varying settings of `spec`, `lr=1e-3 dropout=true`; `-` for a
    /// key it does not have. Empty when nothing varies.
    pub fn label(&self, spec: &RunSpec) -> String {
        let settings = spec.settings();
        self.varying
            .iter()
            .map(|key| {
                let value = settings
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or("-", |(_, v)| v.as_str());
                format!("{key}={value}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The value of `key` for `spec`, `-` when it has none.
    pub fn value(spec: &RunSpec, key: &str) -> String {
        spec.settings()
            .into_iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| "-".into(), |(_, v)| v)
    }

    /// The shared settings, `epochs=2 batch=32 …`.
    pub fn header(&self) -> String {
        self.shared
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What names a group: inside a sweep, the sweep and the values of the
/// keys that vary there (`M1`, `lr=1e-3 dropout=true`); else its name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupLabel {
    pub sweep: Option<String>,
    pub label: String,
}

impl GroupLabel {
    /// The label in `width` columns, `M1 lr=1e-3 dropout=true`: the sweep's
    /// name, the part every configuration shares, is cut first; then the
    /// keys are shortened, then left out, before any value is cut.
    pub fn fit(&self, width: usize) -> String {
        // A sweep of one configuration labels it by its own name (`M1`,
        // `M1 seed=2`): said once, not `M1 M1`.
        let sweep = self
            .sweep
            .as_ref()
            .filter(|sweep| self.label != **sweep && !self.label.starts_with(&format!("{sweep} ")));
        let whole = match sweep {
            Some(sweep) => format!("{sweep} {}", self.label),
            None => self.label.clone(),
        };
        let count = |text: &str| text.chars().count();
        if width == 0 {
            return String::new();
        }
        if count(&whole) <= width {
            return whole;
        }
        match sweep {
            // Room for a cut sweep name and the whole label.
            Some(sweep) if count(&self.label) + 2 <= width => {
                let keep = width - count(&self.label) - 2;
                let prefix: String = sweep.chars().take(keep).collect();
                format!("{prefix}… {}", self.label)
            }
            Some(_) if count(&self.label) <= width => self.label.clone(),
            // Not even the label fits: shorter forms that still tell every
            // value, before an end is cut (a cut `optimizer=adam` and
            // `optimizer=sgd` look alike).
            Some(_) => {
                let shorter = shorter_forms(&self.label);
                let fitting = shorter.iter().find(|form| count(form) <= width);
                match (fitting, shorter.last()) {
                    (Some(form), _) => form.clone(),
                    (None, Some(values)) => cut(values, width),
                    (None, None) => cut(&self.label, width),
                }
            }
            None => cut(&whole, width),
        }
    }
}

/// `text`'s first `width − 1` characters and `…`.
fn cut(text: &str, width: usize) -> String {
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// A sweep label's shorter forms, each as telling as the whole (a sweep's
/// labels share their keys): keys cut to the letters that tell them apart
/// (`l=1e-3 d=true`), then the values alone (`1e-3 true`). Nothing for a
/// label not made of `key=value`s alone (twins named after their group).
fn shorter_forms(label: &str) -> Vec<String> {
    let Some(pairs) = label
        .split(' ')
        .map(|token| token.split_once('='))
        .collect::<Option<Vec<_>>>()
    else {
        return Vec::new();
    };
    let keys: Vec<&str> = pairs.iter().map(|(key, _)| *key).collect();
    let abbreviated: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{}={value}", abbreviation(key, &keys)))
        .collect();
    let values: Vec<&str> = pairs.iter().map(|(_, value)| *value).collect();
    vec![abbreviated.join(" "), values.join(" ")]
}

/// The shortest start of `key` that none of the other `keys` starts with.
fn abbreviation<'a>(key: &'a str, keys: &[&str]) -> &'a str {
    key.char_indices()
        .map(|(at, c)| &key[..at + c.len_utf8()])
        .find(|start| {
            keys.iter()
                .all(|other| *other == key || !other.starts_with(start))
        })
        .unwrap_or(key)
}

/// The label of the group of every spec in `specs`, by
/// [`super::Group::id`]: a sweep's groups by what varies between them
/// (and, where two share that, their names after it); others by name.
pub fn group_labels<'a>(
    specs: impl IntoIterator<Item = &'a RunSpec>,
) -> std::collections::HashMap<String, GroupLabel> {
    // One spec per group, in the order groups first appear.
    let mut firsts: Vec<(String, &RunSpec)> = Vec::new();
    for spec in specs {
        let id = spec.group().id();
        if !firsts.iter().any(|(known, _)| *known == id) {
            firsts.push((id, spec));
        }
    }
    let mut labels = std::collections::HashMap::new();
    let mut sweeps: Vec<&str> = Vec::new();
    for (id, spec) in &firsts {
        match spec.sweep.as_deref() {
            Some(sweep) if !sweeps.contains(&sweep) => sweeps.push(sweep),
            Some(_) => {}
            None => {
                let label = GroupLabel {
                    sweep: None,
                    label: spec.group().name,
                };
                labels.insert(id.clone(), label);
            }
        }
    }
    for sweep in sweeps {
        let members: Vec<&(String, &RunSpec)> = firsts
            .iter()
            .filter(|(_, spec)| spec.sweep.as_deref() == Some(sweep))
            .collect();
        let differences = Differences::of(members.iter().map(|(_, spec)| *spec));
        let own: Vec<String> = members
            .iter()
            .map(|(_, spec)| differences.label(spec))
            .collect();
        for ((id, spec), label) in members.iter().zip(&own) {
            let twins = own.iter().filter(|other| *other == label).count();
            let name = spec.group().name;
            let label = match (twins > 1, label.is_empty()) {
                (false, false) => label.clone(),
                (true, false) => format!("{label} ({name})"),
                (_, true) => name,
            };
            let label = GroupLabel {
                sweep: Some(sweep.to_string()),
                label,
            };
            labels.insert(id.clone(), label);
        }
    }
    labels
}

/// `0.0003` → `3e-4`, `0.5` stays: whichever of the two forms is shorter.
pub fn number(x: f64) -> String {
    let plain = format!("{x}");
    let scientific = format!("{x:e}");
    if scientific.len() < plain.len() {
        scientific
    } else {
        plain
    }
}

/// A JSON value as a label writes it: `3e-4`, `true`, `[64,32]`,
/// `onecycle(warmup_share=0.3)`, `{crop=2,flip=true}`.
fn compact(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), number),
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(compact).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(fields) => {
            let kind = fields.get("kind").and_then(Value::as_str);
            let rest: Vec<String> = fields
                .iter()
                .filter(|(key, _)| key.as_str() != "kind")
                .map(|(key, value)| format!("{key}={}", compact(value)))
                .collect();
            match (kind, rest.is_empty()) {
                (Some(kind), true) => kind.to_string(),
                (Some(kind), false) => format!("{kind}({})", rest.join(",")),
                (None, _) => format!("{{{}}}", rest.join(",")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSpec;

    fn cnn(dropout: bool) -> ModelSpec {
        ModelSpec::Cnn {
            conv: vec![64],
            dense: 16,
            dropout,
        }
    }

    #[test]
    fn only_the_differing_keys_label_a_run() {
        let mut a = RunSpec::new("M1 lr=1e-3 dropout=false", cnn(false));
        a.learning_rate = 1e-3;
        let mut b = RunSpec::new("M1 lr=3e-4 dropout=true", cnn(true));
        b.learning_rate = 3e-4;
        b.seed = 7;
        let differences = Differences::of([&a, &b]);
        assert_eq!(differences.varying, ["lr", "dropout"]);
        assert_eq!(differences.label(&a), "lr=1e-3 dropout=false");
        assert_eq!(differences.label(&b), "lr=3e-4 dropout=true");
        let header = differences.header();
        assert!(header.starts_with("epochs=15 batch=32 val=0.2"), "{header}");
        assert!(header.contains("model=cnn conv=[64] dense=16"), "{header}");
        assert!(!header.contains("seed"), "{header}");
    }

    #[test]
    fn recipe_keys_and_other_models_fields_vary_too() {
        let a = RunSpec::new("a", cnn(false));
        let mut b = RunSpec::new("b", ModelSpec::tiny_mlp());
        b.recipe.schedule = crate::plan::Schedule::OneCycle { warmup_share: 0.3 };
        let differences = Differences::of([&a, &b]);
        assert_eq!(
            differences.varying,
            ["model", "conv", "dense", "schedule", "hidden"],
            "the first run's keys in order, then those only the second has"
        );
        assert_eq!(
            differences.label(&b),
            "model=mlp conv=- dense=- schedule=onecycle(warmup_share=0.3) hidden=[8]"
        );
        assert_eq!(Differences::value(&a, "schedule"), "constant");
    }

    #[test]
    fn augmentation_says_only_what_is_on() {
        let mut spec = RunSpec::new("a", cnn(false));
        assert_eq!(Differences::value(&spec, "augment"), "none");
        spec.recipe.augment = Augment {
            crop: 2,
            flip: true,
            ..Augment::default()
        };
        assert_eq!(Differences::value(&spec, "augment"), "{crop=2,flip=true}");
        spec.recipe.augment.erasing = 0.5;
        assert_eq!(
            Differences::value(&spec, "augment"),
            "{crop=2,erasing=0.5,flip=true}"
        );
    }

    #[test]
    fn batch_norm_is_one_key_for_all_blocks() {
        let plan = crate::plan::beyond_plan();
        let b1 = plan.runs.iter().find(|r| r.name == "B1-aug").unwrap();
        let no_bn = plan.runs.iter().find(|r| r.name == "B1-nobn").unwrap();
        let differences = Differences::of([b1, no_bn]);
        assert_eq!(differences.varying, ["batch_norm"]);
        assert_eq!(differences.label(no_bn), "batch_norm=false");
    }

    #[test]
    fn a_label_too_long_drops_key_letters_before_it_cuts_a_value() {
        // A find of tests/it/sweep_labels.rs: cut at 24 columns, the
        // optimizers of these two vanished.
        let label = |label: &str| GroupLabel {
            sweep: Some("M1".into()),
            label: label.into(),
        };
        let (adam, sgd) = (
            label("dropout=false optimizer=adam"),
            label("dropout=false optimizer=sgd"),
        );
        assert_eq!(adam.fit(24), "d=false o=adam");
        assert_eq!(sgd.fit(24), "d=false o=sgd");
        assert_eq!(adam.fit(13), "false adam");
        assert_eq!(adam.fit(8), "false a…");
        assert_eq!(adam.fit(31), "M1 dropout=false optimizer=adam");
        let keys = ["lr", "label_smoothing", "limit"];
        assert_eq!(keys.map(|key| abbreviation(key, &keys)), ["lr", "la", "li"]);
        let twins = label("lr=1e-3 (M1 lr=0.001)");
        assert_eq!(twins.fit(12), "lr=1e-3 (M1…", "no key=value form: cut");
    }

    #[test]
    fn a_sweep_of_one_configuration_is_named_once() {
        let label = |label: &str| GroupLabel {
            sweep: Some("M1".into()),
            label: label.into(),
        };
        assert_eq!(label("M1").fit(40), "M1");
        assert_eq!(label("M1 seed=2").fit(40), "M1 seed=2");
        assert_eq!(label("M1 seed=2").fit(6), "M1 se…");
        assert_eq!(label("M10 seed=2").fit(40), "M1 M10 seed=2");
    }

    #[test]
    fn numbers_take_their_shorter_form() {
        assert_eq!(number(0.0003), "3e-4");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(0.001), "1e-3");
    }
}
