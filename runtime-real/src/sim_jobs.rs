//! A node's jobs in a `--cfg madsim` build: each job runs as a simulator task instead of on a
//! worker thread, so that when its result reaches the node depends only on the seed.
//!
//! It has the constructor and `submit` of [`JobPool`](crate::JobPool), which `node` uses in
//! its place in that build. A job takes no simulated time: the simulator's clock stands still
//! while a task runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use spacemesh_core::crypto::Verifier;
use spacemesh_core::job::{Job, JobEnv, JobId, JobResult};

use crate::JobPoolClosed;
use crate::post_labels::DiskLabels;

/// What a finished job is handed to.
type Sink = dyn Fn(JobId, JobResult) -> bool + Send + Sync;

/// Runs each submitted job as a task of the current simulated node.
pub(crate) struct TaskJobs {
    verifier: Arc<dyn Verifier>,
    /// PoST data on disk, as the worker pool uses it.
    post: Option<Arc<DiskLabels>>,
    sink: Arc<Sink>,
    /// Set once the sink refused a result (the node is gone).
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for TaskJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskJobs").field("closed", &self.closed).finish_non_exhaustive()
    }
}

impl TaskJobs {
    /// Like [`JobPool::with_sink`](crate::JobPool::with_sink); `_threads` is ignored, as every
    /// job is its own task.
    pub(crate) fn with_sink(
        _threads: usize,
        verifier: Arc<dyn Verifier>,
        post: Option<DiskLabels>,
        sink: impl Fn(JobId, JobResult) -> bool + Send + Sync + 'static,
    ) -> Self {
        TaskJobs {
            verifier,
            post: post.map(Arc::new),
            sink: Arc::new(sink),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts `job` as a task; its result goes to the sink when it is done.
    pub(crate) fn submit(&self, id: JobId, job: Job) -> Result<(), JobPoolClosed> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(JobPoolClosed);
        }
        let (verifier, sink, closed) =
            (Arc::clone(&self.verifier), Arc::clone(&self.sink), Arc::clone(&self.closed));
        let post = self.post.clone();
        tokio::task::spawn_blocking(move || {
            let labels = crate::jobs::label_source(post.as_deref());
            let result = job.run(&JobEnv { verifier: verifier.as_ref(), labels });
            crate::jobs::log_post_failure(&result);
            if !sink(id, result) {
                closed.store(true, Ordering::Relaxed);
            }
        });
        Ok(())
    }
}
