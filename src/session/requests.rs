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

/// The stored runs `queries` name (ids, prefixes or names), each once,
/// to continue after their last complete epoch, on `device` when given.
/// A run that is done, or whose device is not here, is refused.
pub fn continuations(
    store: &RunStore,
    queries: &[String],
    device: Option<DevicePref>,
) -> Result<Vec<Job>, SessionError> {
    let mut jobs: Vec<Job> = Vec::new();
    for query in queries {
        let id = store.find(query)?;
        // A run named twice (by id and name, say) continues once.
        if jobs.iter().any(|job| job.id == id) {
            continue;
        }
        let record = store.load(&id)?;
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
}
