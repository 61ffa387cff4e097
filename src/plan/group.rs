//! Groups: runs that differ only in their seed are one experiment repeated.
//!
//! A group's key is derived from what a run trains (model, epochs, batch
//! size, learning rate, validation split, precision, training limit), never
//! from its name, seed or device, so the same settings have the same key in
//! every plan, every store and every version that reads the run. Runs form
//! one group when key and group name agree ([`Group::id`]): two runs the
//! user named apart are not merged because they train alike.

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::RunSpec;

/// Which group a run belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Group {
    /// 12 hex digits of the MD5 of the run's settings without its seed.
    pub key: String,
    /// What people read, e.g. `M2 lr=3e-4`.
    pub name: String,
}

impl Group {
    /// What makes two runs one group: the same settings (the key) and the
    /// same name. Runs a plan named apart stay apart even when they train
    /// the same way; the key alone stays as stored, for every version.
    pub fn id(&self) -> String {
        format!("{}/{}", self.key, self.name)
    }
}

impl RunSpec {
    /// This run's group: its key from the settings, its name as the plan
    /// gave it or, for runs stored before groups, the run's name without
    /// its `seed=N` part.
    pub fn group(&self) -> Group {
        Group {
            key: self.group_key(),
            name: self
                .group
                .clone()
                .unwrap_or_else(|| without_seed(&self.name)),
        }
    }

    /// The hash of the settings that make an experiment, seed excluded.
    fn group_key(&self) -> String {
        let digest = format!("{:x}", Md5::digest(self.group_settings().as_bytes()));
        digest[..12].to_string()
    }

    /// The settings the group key hashes, in a fixed order that neither a
    /// new `RunSpec` field nor a JSON map's ordering can change; a test
    /// pins known keys.
    fn group_settings(&self) -> String {
        let json = |value: &dyn erased::Json| value.json();
        // Only a recipe that differs from the original's joins the key, so
        // the keys of runs stored before recipes stay as they were.
        let recipe = if self.recipe.is_original() {
            String::new()
        } else {
            format!(";recipe={}", json(&self.recipe))
        };
        format!(
            "model={};epochs={};batch_size={};learning_rate={};validation_split={};precision={};limit_train={}{recipe}",
            json(&self.model),
            self.epochs,
            self.batch_size,
            json(&self.learning_rate),
            json(&self.validation_split),
            self.precision,
            json(&self.limit_train),
        )
    }
}

/// JSON text of the few types a group key holds.
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// A question two groups answer when they differ in one telling way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    /// The same model with and without dropout (a has it).
    Dropout,
    /// A CNN against an MLP, trained alike (a is the CNN).
    CnnVsMlp,
}

impl Question {
    /// What people ask.
    pub fn text(self) -> &'static str {
        match self {
            Question::Dropout => "does dropout help?",
            Question::CnnVsMlp => "CNN vs MLP",
        }
    }

    /// Which question `a` and `b` answer, and in which order (`a` first as
    /// the question reads); none when they differ otherwise.
    pub fn between<'a>(
        a: &'a RunSpec,
        b: &'a RunSpec,
    ) -> Option<(Question, &'a RunSpec, &'a RunSpec)> {
        // Alike but for the model: b's settings with a's model give a's group.
        let alike = RunSpec {
            model: a.model.clone(),
            ..b.clone()
        }
        .group_key()
            == a.group_key();
        if !alike {
            return None;
        }
        let mut without = a.model.clone();
        without.set_dropout(b.model.has_dropout());
        match (a.model.family(), b.model.family()) {
            _ if a.model.has_dropout() != b.model.has_dropout() && without == b.model => {
                Some(if a.model.has_dropout() {
                    (Question::Dropout, a, b)
                } else {
                    (Question::Dropout, b, a)
                })
            }
            ("CNN", "MLP") => Some((Question::CnnVsMlp, a, b)),
            ("MLP", "CNN") => Some((Question::CnnVsMlp, b, a)),
            _ => None,
        }
    }
}

/// `M2 lr=3e-4 seed=2` → `M2 lr=3e-4`; a name that is only a seed stays.
pub fn without_seed(name: &str) -> String {
    let kept: Vec<&str> = name
        .split_whitespace()
        .filter(|word| !word.starts_with("seed="))
        .collect();
    if kept.is_empty() {
        name.to_string()
    } else {
        kept.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::{ModelSpec, Precision},
        plan::{seed_plan, DevicePref},
    };

    #[test]
    fn only_the_seed_name_and_device_leave_the_group() {
        let plan = seed_plan();
        let m1 = &plan.runs[0];
        let other = RunSpec {
            name: "M1 seed=3".into(),
            seed: 3,
            device: DevicePref::Cpu,
            label: None,
            reference: None,
            ..m1.clone()
        };
        assert_eq!(m1.group(), other.group());
        assert_eq!(other.group().name, "M1");
        let changes = [
            RunSpec {
                epochs: 14,
                ..m1.clone()
            },
            RunSpec {
                batch_size: 64,
                ..m1.clone()
            },
            RunSpec {
                learning_rate: 3e-4,
                ..m1.clone()
            },
            RunSpec {
                validation_split: 0.1,
                ..m1.clone()
            },
            RunSpec {
                precision: Precision::Bf16,
                ..m1.clone()
            },
            RunSpec {
                limit_train: Some(100),
                ..m1.clone()
            },
        ];
        for changed in &changes {
            assert_ne!(changed.group().key, m1.group().key, "{changed:?}");
        }
        // M2 is M1 with dropout: another experiment.
        assert_ne!(plan.runs[1].group().key, m1.group().key);
    }

    #[test]
    fn keys_are_pinned_across_versions() {
        // Changing these breaks every stored run's grouping: add settings
        // to the key only with a migration.
        let keys: Vec<String> = seed_plan().runs.iter().map(|r| r.group().key).collect();
        assert_eq!(
            keys,
            [
                "f5ca17951faf",
                "d9a73ef90280",
                "09e9d7f59791",
                "1c67237521e3",
                "36b465234307",
                "7a9fea44ec6d"
            ]
        );
        let tiny = RunSpec::new("t", ModelSpec::tiny_mlp());
        assert_eq!(
            tiny.group_settings(),
            "model={\"kind\":\"mlp\",\"hidden\":[8],\"dropout\":false};epochs=15;batch_size=32;\
             learning_rate=0.001;validation_split=0.2;precision=fp32;limit_train=null"
        );
        assert_eq!(tiny.group().key, "b0008bb5f860");
    }

    #[test]
    fn pairs_of_groups_answer_the_originals_questions() {
        let plan = seed_plan();
        let [m1, m2, m3, m4, _m5, mlp] = &plan.runs[..] else {
            unreachable!()
        };
        let ask =
            |a, b| Question::between(a, b).map(|(q, x, y)| (q, x.name.clone(), y.name.clone()));
        assert_eq!(
            ask(m1, m2),
            Some((Question::Dropout, "M2".into(), "M1".into()))
        );
        assert_eq!(
            ask(m4, m3),
            Some((Question::Dropout, "M4".into(), "M3".into()))
        );
        assert_eq!(
            ask(mlp, m1),
            Some((Question::CnnVsMlp, "M1".into(), "MLP".into()))
        );
        assert_eq!(ask(m1, m3), None, "other widths: no single question");
        assert_eq!(ask(m2, m4), None);
        let longer = RunSpec {
            epochs: 3,
            ..m2.clone()
        };
        assert_eq!(ask(m1, &longer), None, "trained differently");
    }

    #[test]
    fn a_given_group_name_wins_over_the_derived_one() {
        let mut spec = RunSpec::new("M2 lr=3e-4 seed=2", ModelSpec::tiny_mlp());
        assert_eq!(spec.group().name, "M2 lr=3e-4");
        spec.group = Some("lr sweep".into());
        assert_eq!(spec.group().name, "lr sweep");
        assert_eq!(without_seed("seed=4"), "seed=4");
        assert_eq!(without_seed("M1"), "M1");
    }
}
