//! Runs a node's jobs on worker threads and hands the results back in completion order.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use spacemesh_core::crypto::Verifier;
use spacemesh_core::job::{Job, JobEnv, JobId, JobResult};
use thiserror::Error;

/// The pool has shut down (a worker panicked or the pool was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the job pool is closed")]
pub struct JobPoolClosed;

type Work = (JobId, Job);

/// A fixed set of worker threads running [`Job::run`] with the given verifier.
#[derive(Debug)]
pub struct JobPool {
    work: Option<Sender<Work>>,
    /// Results, for a pool started without a sink.
    done: Option<Receiver<(JobId, JobResult)>>,
    workers: Vec<JoinHandle<()>>,
}

impl JobPool {
    /// Starts `threads` workers (at least one); results are read with [`JobPool::recv`].
    pub fn new(threads: usize, verifier: Arc<dyn Verifier>) -> Self {
        let (done_tx, done) = mpsc::channel();
        let sink = move |id, result| done_tx.send((id, result)).is_ok();
        JobPool::start(threads, verifier, sink, Some(done))
    }

    /// Starts `threads` workers (at least one) that hand each result to `sink` as it finishes
    /// (an async runtime passes a channel sender); a worker stops when `sink` returns false.
    pub fn with_sink(
        threads: usize,
        verifier: Arc<dyn Verifier>,
        sink: impl Fn(JobId, JobResult) -> bool + Send + Sync + 'static,
    ) -> Self {
        JobPool::start(threads, verifier, sink, None)
    }

    fn start(
        threads: usize,
        verifier: Arc<dyn Verifier>,
        sink: impl Fn(JobId, JobResult) -> bool + Send + Sync + 'static,
        done: Option<Receiver<(JobId, JobResult)>>,
    ) -> Self {
        let (work_tx, work_rx) = mpsc::channel::<Work>();
        let work_rx = Arc::new(Mutex::new(work_rx));
        let sink = Arc::new(sink);
        let workers = (0..threads.max(1))
            .map(|i| {
                let work_rx = Arc::clone(&work_rx);
                let sink = Arc::clone(&sink);
                let verifier = Arc::clone(&verifier);
                std::thread::Builder::new()
                    .name(format!("smesh-job-{i}"))
                    .spawn(move || {
                        loop {
                            let next = work_rx.lock().map(|rx| rx.recv());
                            let Ok(Ok((id, job))) = next else { return };
                            if !sink(id, job.run(&JobEnv::computing(verifier.as_ref()))) {
                                return;
                            }
                        }
                    })
                    .expect("spawning a job worker")
            })
            .collect();
        JobPool { work: Some(work_tx), done, workers }
    }

    /// Queues a job.
    pub fn submit(&self, id: JobId, job: Job) -> Result<(), JobPoolClosed> {
        self.work.as_ref().ok_or(JobPoolClosed)?.send((id, job)).map_err(|_| JobPoolClosed)
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

impl Drop for JobPool {
    fn drop(&mut self) {
        self.work.take();
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
        let pool = JobPool::new(2, Arc::new(Ed25519Verifier));
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
