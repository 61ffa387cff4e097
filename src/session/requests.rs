//! What the trainer is asked: a request per new run (one id each, made by
//! the store), or a stored run to continue where it stopped.

use super::SessionError;
use crate::{
    plan::{DevicePref, Plan, RunSpec},
    protocol::{Command, RunId, RunRequest},
    store::{RunStatus, RunStore},
    train::ResolveDevice,
};

/// One run for a trainer: its id, what it trains, and how to ask for it.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: RunId,
    pub spec: RunSpec,
    pub command: Command,
}

/// A new run of plan `plan` training `spec`, with a fresh id in `store`.
pub fn request(store: &RunStore, plan: &str, spec: &RunSpec) -> RunRequest {
    RunRequest {
        id: store.new_id(&spec.name),
        plan: plan.to_string(),
        spec: spec.clone(),
    }
}

/// A new request for every run of `plan`, in its order.
pub fn requests(store: &RunStore, plan: &Plan) -> Vec<RunRequest> {
    plan.runs
        .iter()
        .map(|spec| request(store, &plan.name, spec))
        .collect()
}

impl Job {
    /// A new run, queued.
    pub fn queue(request: RunRequest) -> Self {
        Self {
            id: request.id.clone(),
            spec: request.spec.clone(),
            command: Command::Queue(Box::new(request)),
        }
    }
}

/// The stored runs `queries` name (see `store::naming`: ids, id starts,
/// run, group and sweep names, comma lists), each once, to continue after
/// their last complete epoch, on `device` when given. A run named by itself
/// that is done, or whose device is not here, is refused; of a group or
/// sweep, the runs that are done or still active are left out, and one
/// with none left to continue is refused.
pub fn continuations(
    store: &RunStore,
    queries: &[String],
    device: Option<DevicePref>,
) -> Result<Vec<Job>, SessionError> {
    let mut jobs: Vec<Job> = Vec::new();
    for named in store.find_each(queries)? {
        let alone = named.runs().len() == 1;
        let what = named.describe();
        let mut continued = 0;
        for record in named.into_runs() {
            let id = record.id.clone();
            // A run named twice (by id and name, say) continues once.
            if jobs.iter().any(|job| job.id == id) {
                continued += 1;
                continue;
            }
            if !alone && (record.status == RunStatus::Done || store.active(&record).is_some()) {
                continue;
            }
            if record.status == RunStatus::Done {
                return Err(SessionError::NothingToResume(id));
            }
            let mut spec = record.spec;
            spec.device = device.unwrap_or(spec.device);
            spec.device
                .resolve()
                .map_err(|error| SessionError::Device {
                    run: id.to_string(),
                    error,
                })?;
            jobs.push(Job {
                command: Command::Continue {
                    run: id.clone(),
                    device,
                },
                id,
                spec,
            });
            continued += 1;
        }
        if continued == 0 {
            return Err(SessionError::NothingToResumeIn(what));
        }
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::seed_plan;

    #[test]
    fn every_run_gets_its_own_id_and_the_plan_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let plan = seed_plan();
        let requests = requests(&store, &plan);
        assert_eq!(requests.len(), plan.runs.len());
        let mut ids: Vec<&RunId> = requests.iter().map(|r| &r.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), plan.runs.len());
        assert!(requests.iter().all(|r| r.plan == "seed"));
        let job = Job::queue(requests[0].clone());
        assert_eq!(job.id, requests[0].id);
        assert!(matches!(job.command, Command::Queue(_)));
    }

    #[test]
    fn continuing_names_each_run_once_and_refuses_unknown_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let request = request(&store, "seed", &seed_plan().runs[0]);
        store.create_queued(&request).unwrap();
        let name = request.spec.name.clone();
        let jobs = continuations(
            &store,
            &[request.id.to_string(), name],
            Some(DevicePref::Cpu),
        )
        .unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].spec.device, DevicePref::Cpu);
        assert!(continuations(&store, &["nothing-like-it".into()], None).is_err());
    }

    #[test]
    fn a_group_continues_its_unfinished_runs_and_a_run_named_alone_must_be_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let base = seed_plan().runs[0].clone();
        let mut made = Vec::new();
        for seed in [1, 2] {
            let request = request(&store, "seed", &crate::plan::sweep::with_seed(&base, seed));
            // Dropped before it ends: interrupted.
            drop(store.create(&request).unwrap());
            made.push(request.id);
        }
        let finish = |id: &RunId| {
            let mut record = store.load(id).unwrap();
            record.status = RunStatus::Done;
            record
                .save(&store.run_dir(id).join(crate::store::RECORD_FILE))
                .unwrap();
        };
        finish(&made[1]);
        let group = base.group().name;
        let jobs =
            continuations(&store, std::slice::from_ref(&group), Some(DevicePref::Cpu)).unwrap();
        let ids: Vec<&RunId> = jobs.iter().map(|job| &job.id).collect();
        assert_eq!(ids, [&made[0]]);
        assert!(matches!(
            continuations(&store, &[made[1].to_string()], None),
            Err(SessionError::NothingToResume(_))
        ));
        finish(&made[0]);
        let message = continuations(&store, &[group], None)
            .unwrap_err()
            .to_string();
        assert!(message.contains("has no run to resume"), "{message}");
    }
}
