//! Runs a node's jobs on worker threads and hands the results back in completion order.
//!
//! PoST jobs use the node's data directory ([`DiskLabels`]) when the pool is given one, and
//! compute labels in memory otherwise (tests, nodes that do not smesh). Dropping the pool stops
//! a running PoST initialization at its next step (it checkpoints first).

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use spacemesh_core::crypto::Verifier;
use spacemesh_core::job::{ComputedLabels, Job, JobEnv, JobId, JobResult, LabelSource};
use thiserror::Error;

use crate::post_labels::DiskLabels;

/// The pool has shut down (a worker panicked or the pool was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the job pool is closed")]
pub struct JobPoolClosed;

type Work = (JobId, Job);

/// A fixed set of worker threads running [`Job::run`] with the given verifier, plus one for
/// PoST jobs.
#[derive(Debug)]
pub struct JobPool {
    work: Option<Sender<Work>>,
    /// Results, for a pool started without a sink.
    done: Option<Receiver<(JobId, JobResult)>>,
    workers: Vec<JoinHandle<()>>,
    /// The PoST jobs' queue.
    post_work: Option<Sender<Work>>,
    /// The PoST data directory, if PoST jobs use one.
    post: Option<Arc<DiskLabels>>,
}

/// Where a worker hands its results.
type Sink = dyn Fn(JobId, JobResult) -> bool + Send + Sync;

/// A worker's loop: runs the jobs of `rx` until the queue closes or `sink` refuses a result.
fn work(
    rx: &Mutex<Receiver<Work>>,
    sink: &Sink,
    verifier: &dyn Verifier,
    post: Option<&DiskLabels>,
) {
    let env = JobEnv { verifier, labels: label_source(post) };
    loop {
        let next = rx.lock().map(|rx| rx.recv());
        let Ok(Ok((id, job))) = next else { return };
        let result = job.run(&env);
        log_post_failure(&result);
        if !sink(id, result) {
            return;
        }
    }
}

impl JobPool {
    /// Starts `threads` workers (at least one), PoST jobs on `post` if given; results are read
    /// with [`JobPool::recv`].
    pub fn new(threads: usize, verifier: Arc<dyn Verifier>, post: Option<DiskLabels>) -> Self {
        let (done_tx, done) = mpsc::channel();
        let sink = move |id, result| done_tx.send((id, result)).is_ok();
        JobPool::start(threads, verifier, post, sink, Some(done))
    }

    /// Starts `threads` workers (at least one), PoST jobs on `post` if given, that hand each
    /// result to `sink` as it finishes (an async runtime passes a channel sender); a worker
    /// stops when `sink` returns false.
    pub fn with_sink(
        threads: usize,
        verifier: Arc<dyn Verifier>,
        post: Option<DiskLabels>,
        sink: impl Fn(JobId, JobResult) -> bool + Send + Sync + 'static,
    ) -> Self {
        JobPool::start(threads, verifier, post, sink, None)
    }

    fn start(
        threads: usize,
        verifier: Arc<dyn Verifier>,
        post: Option<DiskLabels>,
        sink: impl Fn(JobId, JobResult) -> bool + Send + Sync + 'static,
        done: Option<Receiver<(JobId, JobResult)>>,
    ) -> Self {
        let (work_tx, work_rx) = mpsc::channel::<Work>();
        let (post_tx, post_rx) = mpsc::channel::<Work>();
        let work_rx = Arc::new(Mutex::new(work_rx));
        let sink: Arc<Sink> = Arc::new(sink);
        let post = post.map(Arc::new);
        let worker = |name: String, rx: &Arc<Mutex<Receiver<Work>>>| {
            let (rx, sink, verifier, post) =
                (Arc::clone(rx), Arc::clone(&sink), Arc::clone(&verifier), post.clone());
            std::thread::Builder::new()
                .name(name)
                .spawn(move || work(&rx, sink.as_ref(), verifier.as_ref(), post.as_deref()))
                .expect("spawning a job worker")
        };
        let mut workers: Vec<_> =
            (0..threads.max(1)).map(|i| worker(format!("smesh-job-{i}"), &work_rx)).collect();
        workers.push(worker("smesh-post".into(), &Arc::new(Mutex::new(post_rx))));
        JobPool { work: Some(work_tx), post_work: Some(post_tx), done, workers, post }
    }

    /// Queues a job. PoST jobs (hours of initialization or scanning on large data) queue for
    /// a worker of their own, so that they never hold up signature and ATX checks.
    pub fn submit(&self, id: JobId, job: Job) -> Result<(), JobPoolClosed> {
        let queue = match job {
            Job::PostInit(_) | Job::PostProve { .. } => &self.post_work,
            _ => &self.work,
        };
        queue.as_ref().ok_or(JobPoolClosed)?.send((id, job)).map_err(|_| JobPoolClosed)
    }

    /// Waits for the next finished job (closed at once for a pool with a sink).
    pub fn recv(&self) -> Result<(JobId, JobResult), JobPoolClosed> {
        self.done.as_ref().ok_or(JobPoolClosed)?.recv().map_err(|_| JobPoolClosed)
    }

    /// A finished job, if one is ready.
    pub fn try_recv(&self) -> Option<(JobId, JobResult)> {
        self.done.as_ref()?.try_recv().ok()
    }
}

/// Where a node's jobs read PoST labels: its data on disk, or computed (tests, no smeshing).
pub(crate) fn label_source(post: Option<&DiskLabels>) -> &dyn LabelSource {
    match post {
        Some(disk) => disk,
        None => &ComputedLabels,
    }
}

/// Logs a PoST job that failed: it leaves the node without an ATX, and the operator must hear
/// why.
pub(crate) fn log_post_failure(result: &JobResult) {
    match result {
        JobResult::PostInitialized(Err(e)) => {
            tracing::warn!(error = %e, "PoST initialization did not finish")
        }
        JobResult::PostProved(Err(e)) => tracing::warn!(error = %e, "PoST proving failed"),
        _ => {}
    }
}

impl Drop for JobPool {
    fn drop(&mut self) {
        self.work.take();
        self.post_work.take();
        if let Some(post) = &self.post {
            post.stop();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacemesh_core::GenesisId;
    use spacemesh_core::crypto::{Domain, Ed25519Verifier, Signature, Signer, signed_message};
    use spacemesh_core::job::SignatureCheck;

    /// Jobs run on workers and every result comes back with its id.
    #[test]
    fn runs_signature_batches() {
        let pool = JobPool::new(2, Arc::new(Ed25519Verifier), None);
        let s = Signer::from_seed([1; 32], GenesisId([0; 20]));
        let good = SignatureCheck {
            public_key: s.node_id().0,
            signed_message: signed_message(&s.genesis(), Domain::Hare, b"x"),
            signature: s.sign(Domain::Hare, b"x"),
        };
        let bad = SignatureCheck { signature: Signature([0; 64]), ..good.clone() };
        for i in 0..8 {
            pool.submit(JobId(i), Job::VerifySignatures(vec![good.clone(), bad.clone()])).unwrap();
        }
        let mut ids: Vec<u64> = (0..8)
            .map(|_| {
                let (id, JobResult::SignaturesVerified(v)) = pool.recv().unwrap() else {
                    panic!("a signature job answers with verdicts");
                };
                assert_eq!(v, vec![true, false]);
                id.0
            })
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..8).collect::<Vec<_>>());
    }
}
