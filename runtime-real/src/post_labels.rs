//! PoST labels on disk as the job pool's [`LabelSource`]: a `PostInit` job initializes the
//! node's PoST data directory with [`PostDataInit`] (resuming from its checkpoint, reusing
//! data that is already complete, such as what `smesh post init` wrote), and proving reads the
//! data files back in bounded chunks.
//!
//! Before any label is read, the directory's checkpoint must say that initialization is
//! complete for exactly the job's identity, commitment ATX, units, labels per unit and scrypt
//! parameters, and every data file must have its full length. Anything else is an error that
//! names the directory or file, never a proof over the wrong labels.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use spacemesh_core::job::{LabelReader, LabelSource, NO_VRF_NONCE, PostData};
use spacemesh_core::post::{InitProgress, LABEL_BYTES};

use crate::post_data::{
    DEFAULT_LABELS_PER_FILE, PostDataError, PostDataInfo, PostDataInit, data_file, describe,
};
use crate::status::SharedStatus;

/// Longest time between checkpoints of a running initialization.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);
/// Most labels computed between checks of the clock and the stop flag.
const STEP_LABELS_MAX: u64 = 1 << 16;

/// The PoST data directory of a node's identity.
#[derive(Debug)]
pub struct DiskLabels {
    dir: PathBuf,
    /// Set when the pool stops: a running initialization checkpoints and returns.
    stop: AtomicBool,
    /// One initialization at a time writes the directory.
    writing: Mutex<()>,
    /// Where initialization progress is shown, if anywhere.
    status: Option<SharedStatus>,
}

impl DiskLabels {
    /// Labels kept in `dir` (created by the first initialization).
    pub fn new(dir: PathBuf) -> Self {
        DiskLabels { dir, stop: AtomicBool::new(false), writing: Mutex::new(()), status: None }
    }

    /// Also shows initialization progress in `status` (`post_init_labels_done`/`_total`, and
    /// `post_init_vrf_search_labels` while searching past the labels for a VRF nonce).
    pub fn reporting_to(mut self, status: SharedStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Asks a running initialization to checkpoint and return (it resumes on the next start).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn report(&self, progress: InitProgress) {
        if let Some(mut s) = self.status.as_ref().and_then(|s| s.lock().ok()) {
            s.post_init_labels_done = progress.done;
            s.post_init_labels_total = progress.total;
            s.post_init_vrf_search_labels = progress.searched;
        }
    }

    /// Initializes (or resumes, or reuses) the data of `data` and returns its VRF nonce
    /// (searched for past the labels when none of them qualifies).
    fn initialize_dir(&self, data: &PostData) -> Result<Option<u64>, PostDataError> {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let dir = &self.dir;
        // Resume or reuse with the layout the directory already has (`smesh post init` may have
        // chosen another file size); a directory of other data is refused by `open`.
        let per_file =
            PostDataInfo::read(dir)?.map_or(DEFAULT_LABELS_PER_FILE, |i| i.labels_per_file);
        let mut init = PostDataInit::open(dir, data.metadata(), data.config.scrypt, per_file)?;
        let start = init.progress();
        self.report(start);
        log_start(dir, start);
        if !start.is_complete() {
            check_space(dir, start)?;
        }
        let (began, mut checkpointed) = (Instant::now(), Instant::now());
        let mut progress = start;
        let mut tenths = progress.done * 10 / progress.total.max(1);
        // The search past the labels (when none qualifies) logs at every tenth of its average.
        let mut next_search_log = progress.searched.unwrap_or(0);
        // Steps of about a tenth of a second, whatever a label costs.
        let mut step = 16u64;
        while !progress.is_complete() {
            if self.stop.load(Ordering::Relaxed) {
                init.checkpoint()?;
                return Err(PostDataError::Stopped { dir: dir.clone(), progress });
            }
            let t = Instant::now();
            progress = init.step(step)?;
            let secs = t.elapsed().as_secs_f64().max(1e-6);
            step = ((step as f64 * 0.1 / secs) as u64).clamp(4, STEP_LABELS_MAX);
            self.report(progress);
            if checkpointed.elapsed() >= CHECKPOINT_EVERY {
                init.checkpoint()?;
                checkpointed = Instant::now();
            }
            if progress.done * 10 / progress.total > tenths {
                tenths = progress.done * 10 / progress.total;
                log_progress(progress, start, began.elapsed());
            }
            if let Some(searched) = progress.searched
                && searched >= next_search_log
            {
                log_search(progress);
                next_search_log = searched + (progress.total / 80).max(1);
            }
        }
        if progress != start {
            init.checkpoint()?;
        }
        Ok(init.vrf_nonce())
    }
}

/// Refuses to start when the filesystem of `dir` cannot hold the labels still to write (better
/// now than hours later, when the disk is full).
#[cfg(unix)]
fn check_space(dir: &Path, progress: InitProgress) -> Result<(), PostDataError> {
    let need = (progress.total - progress.done).saturating_mul(LABEL_BYTES as u64);
    let stat = nix::sys::statvfs::statvfs(dir).map_err(|e| PostDataError::Io {
        path: dir.to_owned(),
        error: std::io::Error::from_raw_os_error(e as i32),
    })?;
    #[allow(clippy::unnecessary_cast, reason = "the field types differ between platforms")]
    let free = (stat.blocks_available() as u64).saturating_mul(stat.fragment_size() as u64);
    if need > free {
        return Err(PostDataError::NoSpace { dir: dir.to_owned(), need, free });
    }
    Ok(())
}

/// Free space is not checked where `statvfs` is unavailable: a full disk fails the write.
#[cfg(not(unix))]
fn check_space(_dir: &Path, _progress: InitProgress) -> Result<(), PostDataError> {
    Ok(())
}

fn log_start(dir: &Path, start: InitProgress) {
    let dir = dir.display();
    if let Some(searched) = start.searched {
        return tracing::info!(
            %dir,
            labels = start.total,
            searched,
            "PoST initialization resuming its search past the labels for a VRF nonce"
        );
    }
    match start.done {
        d if d == start.total => {
            tracing::info!(%dir, labels = d, "PoST data complete: reusing it")
        }
        0 => tracing::info!(%dir, labels = start.total, "PoST initialization starting"),
        d => tracing::info!(%dir, done = d, labels = start.total, "PoST initialization resuming"),
    }
}

fn log_progress(progress: InitProgress, start: InitProgress, elapsed: Duration) {
    let rate = (progress.done - start.done) as f64 / elapsed.as_secs_f64().max(1e-6);
    let eta = (progress.total - progress.done) as f64 / rate.max(1e-9);
    tracing::info!(
        done = progress.done,
        labels = progress.total,
        labels_per_second = rate as u64,
        eta_seconds = eta as u64,
        "PoST initialization {}%",
        progress.done * 100 / progress.total
    );
}

fn log_search(progress: InitProgress) {
    tracing::info!(
        labels = progress.total,
        searched = progress.searched.unwrap_or(0),
        average = progress.total / 8,
        "none of the PoST labels is below the VRF difficulty: computing labels past them, \
         storing none, until one is"
    );
}

impl LabelSource for DiskLabels {
    fn initialize(&self, data: &PostData) -> Result<u64, String> {
        match self.initialize_dir(data) {
            Ok(Some(nonce)) => Ok(nonce),
            Ok(None) => Err(format!("{}: {NO_VRF_NONCE}", self.dir.display())),
            Err(e) => Err(e.to_string()),
        }
    }

    fn reader(&self, data: &PostData) -> Result<Box<dyn LabelReader + '_>, String> {
        Ok(Box::new(DiskReader::open(&self.dir, data).map_err(|e| e.to_string())?))
    }
}

/// Reads the complete data of one identity, file by file.
#[derive(Debug)]
struct DiskReader {
    dir: PathBuf,
    labels_per_file: u64,
    num_labels: u64,
    /// The open data file and its number.
    file: Option<(u64, File)>,
}

impl DiskReader {
    /// Checks that `dir` holds the complete data of `data`, every file at its full length.
    fn open(dir: &Path, data: &PostData) -> Result<DiskReader, PostDataError> {
        let info = PostDataInfo::read(dir)?
            .ok_or_else(|| PostDataError::NotInitialized { dir: dir.to_owned() })?;
        let (metadata, scrypt) = (data.metadata(), data.config.scrypt);
        if info.metadata != metadata || info.state.scrypt != scrypt {
            return Err(PostDataError::OtherData {
                dir: dir.to_owned(),
                found: info.describe(),
                wanted: describe(&metadata, info.labels_per_file, scrypt),
            });
        }
        let progress = info.progress();
        if !progress.is_complete() {
            return Err(PostDataError::Unfinished { dir: dir.to_owned(), progress });
        }
        let per_file = info.labels_per_file;
        for n in 0..progress.total.div_ceil(per_file) {
            let path = dir.join(data_file(n));
            let want = (progress.total - n * per_file).min(per_file) * LABEL_BYTES as u64;
            let have = std::fs::metadata(&path)
                .map_err(|error| PostDataError::Io { path: path.clone(), error })?
                .len();
            if have != want {
                return Err(PostDataError::Damaged {
                    path,
                    what: format!("{have} bytes, but complete data has {want}"),
                });
            }
        }
        Ok(DiskReader {
            dir: dir.to_owned(),
            labels_per_file: per_file,
            num_labels: progress.total,
            file: None,
        })
    }

    /// Reads `buf.len() / 16` labels from `first`, all within data file `n`.
    fn read_in_file(&mut self, n: u64, first: u64, buf: &mut [u8]) -> Result<(), PostDataError> {
        let path = self.dir.join(data_file(n));
        let io = |error| PostDataError::Io { path: path.clone(), error };
        if self.file.as_ref().is_none_or(|(open, _)| *open != n) {
            self.file = Some((n, File::open(&path).map_err(io)?));
        }
        let (_, file) = self.file.as_mut().expect("opened above");
        let offset = (first - n * self.labels_per_file) * LABEL_BYTES as u64;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.read_exact(buf).map_err(|error| match error.kind() {
            std::io::ErrorKind::UnexpectedEof => PostDataError::Damaged {
                path: path.clone(),
                what: format!("it ends before label {}", first + (buf.len() / LABEL_BYTES) as u64),
            },
            _ => io(error),
        })
    }
}

impl LabelReader for DiskReader {
    fn read(&mut self, first_index: u64, buf: &mut [u8]) -> Result<(), String> {
        if !buf.len().is_multiple_of(LABEL_BYTES) {
            return Err(format!("{} bytes is not a whole number of labels", buf.len()));
        }
        let end = first_index.saturating_add((buf.len() / LABEL_BYTES) as u64);
        if end > self.num_labels {
            return Err(format!(
                "labels up to index {end} asked for, but {} holds {}",
                self.dir.display(),
                self.num_labels
            ));
        }
        let (mut index, mut rest) = (first_index, buf);
        while !rest.is_empty() {
            let n = index / self.labels_per_file;
            let in_file = (n + 1) * self.labels_per_file - index;
            let take = in_file.min((rest.len() / LABEL_BYTES) as u64);
            let (now, later) = std::mem::take(&mut rest).split_at_mut(take as usize * LABEL_BYTES);
            self.read_in_file(n, index, now).map_err(|e| e.to_string())?;
            (index, rest) = (index + take, later);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use spacemesh_core::crypto::Ed25519Verifier;
    use spacemesh_core::job::{Job, JobId, JobResult, initialize_in_memory};
    use spacemesh_core::post::{self, Blake3Pow, PostConfig, VerifyMode};
    use spacemesh_core::types::{Hash32, NodeId};

    use super::*;
    use crate::JobPool;
    use crate::post_data::STATE_FILE;

    fn data(node: u8) -> PostData {
        PostData {
            node_id: NodeId([node; 32]),
            commitment_atx: Hash32([9; 32]),
            num_units: 3,
            config: PostConfig::sim(),
        }
    }

    /// Writes `done` labels of `d` into `dir`, `per_file` labels per file, and checkpoints.
    fn write(dir: &Path, d: &PostData, per_file: u64, done: u64) {
        let mut init = PostDataInit::open(dir, d.metadata(), d.config.scrypt, per_file).unwrap();
        init.step(done).unwrap();
        init.checkpoint().unwrap();
    }

    fn read(labels: &DiskLabels, d: &PostData, first: u64, n: usize) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; n * LABEL_BYTES];
        labels.reader(d)?.read(first, &mut buf)?;
        Ok(buf)
    }

    /// Reads across file boundaries give core's labels, and a finished directory is reused:
    /// initialization returns the nonce the in-memory pass finds.
    #[test]
    fn reads_are_cores_labels() {
        let dir = tempfile::tempdir().unwrap();
        let d = data(1);
        write(dir.path(), &d, 50, 192);
        let labels = DiskLabels::new(dir.path().to_owned());
        let (nonce, all) = initialize_in_memory(&d);
        assert_eq!(labels.initialize(&d), Ok(nonce.unwrap()));
        let mut reader = labels.reader(&d).unwrap();
        for (first, n) in [(0u64, 192usize), (45, 10), (100, 1), (149, 43), (0, 50)] {
            let mut buf = vec![0u8; n * LABEL_BYTES];
            reader.read(first, &mut buf).unwrap();
            assert_eq!(buf, all[first as usize * 16..(first as usize + n) * 16], "{first}+{n}");
        }
        let label_77 = post::label(&d.commitment(), 77, &d.config.scrypt);
        assert_eq!(read(&labels, &d, 77, 1).unwrap(), label_77[..16]);
        let e = read(&labels, &d, 190, 3).unwrap_err();
        assert!(e.contains("up to index 193"), "{e}");
    }

    /// No data, unfinished data, another identity's data, a short file and a file cut after
    /// the reader opened are errors that name the directory or file.
    #[test]
    fn refuses_missing_unfinished_other_and_short_data() {
        let dir = tempfile::tempdir().unwrap();
        let labels = DiskLabels::new(dir.path().to_owned());
        let d = data(1);
        let e = read(&labels, &d, 0, 1).unwrap_err();
        assert!(
            e.contains("holds no PoST data") && e.contains(&*dir.path().to_string_lossy()),
            "{e}"
        );
        write(dir.path(), &d, 50, 120);
        let e = read(&labels, &d, 0, 1).unwrap_err();
        assert!(e.contains("not finished: 120 of 192 labels"), "{e}");
        write(dir.path(), &d, 50, 192);
        let e = read(&labels, &data(2), 0, 1).unwrap_err();
        assert!(e.contains("holds PoST data for identity 0101"), "{e}");
        let slower = PostData { config: PostConfig::fastnet(), num_units: 2, ..d.clone() };
        assert!(read(&labels, &slower, 0, 1).is_err());

        let mut reader = labels.reader(&d).unwrap();
        let file = dir.path().join(data_file(2));
        std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(30 * 16).unwrap();
        let e = reader.read(100, &mut [0u8; 50 * 16]).unwrap_err();
        assert!(e.contains("postdata_2.bin") && e.contains("ends before label 150"), "{e}");
        let e = read(&labels, &d, 0, 1).unwrap_err();
        assert!(
            e.contains("postdata_2.bin is damaged: 480 bytes, but complete data has 800"),
            "{e}"
        );
    }

    /// Initialization resumes from a checkpoint to the labels of one go, and a stop request
    /// checkpoints and says where it stopped.
    #[test]
    fn resumes_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let d = data(1);
        write(dir.path(), &d, 64, 70);
        let stopped = DiskLabels::new(dir.path().to_owned());
        stopped.stop();
        let e = stopped.initialize(&d).unwrap_err();
        assert!(e.contains("stopped after 70 of 192 labels"), "{e}");
        let labels = DiskLabels::new(dir.path().to_owned());
        let (nonce, all) = initialize_in_memory(&d);
        assert_eq!(labels.initialize(&d), Ok(nonce.unwrap()));
        assert_eq!(read(&labels, &d, 0, 192).unwrap(), all);
        assert_eq!(PostDataInfo::read(dir.path()).unwrap().unwrap().labels_per_file, 64);
    }

    /// The data, one unit, of the first identity (by number) none of whose labels is below
    /// the VRF difficulty, nor the two labels past them: about one identity in 4,000.
    fn unlucky_data() -> PostData {
        (0u32..)
            .map(|i| {
                let mut node = [0u8; 32];
                node[..4].copy_from_slice(&i.to_le_bytes());
                PostData { node_id: NodeId(node), num_units: 1, ..data(1) }
            })
            .find(|d| {
                let (n, c) = (d.metadata().num_labels().unwrap(), d.commitment());
                (0..n + 2).all(|i| !post::verify_vrf_nonce(&c, i, n, &d.config.scrypt))
            })
            .expect("an unlucky identity")
    }

    /// With no qualifying label, initialization searches past the labels for the VRF nonce:
    /// a checkpoint keeps where the search is, a stop during it says so, and the resumed
    /// search finds the nonce of one go, writing no label past the data.
    #[test]
    fn the_search_for_a_vrf_nonce_stops_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let d = unlucky_data();
        let n = d.metadata().num_labels().unwrap();
        write(dir.path(), &d, 64, n);
        let at_end = PostDataInfo::read(dir.path()).unwrap().unwrap().progress();
        assert_eq!((at_end.done, at_end.searched), (n, Some(0)));
        let mut init = PostDataInit::open(dir.path(), d.metadata(), d.config.scrypt, 64).unwrap();
        assert_eq!(init.step(1).unwrap().searched, Some(1));
        init.checkpoint().unwrap();
        drop(init);

        let stopped = DiskLabels::new(dir.path().to_owned());
        stopped.stop();
        let e = stopped.initialize(&d).unwrap_err();
        assert!(
            e.contains("stopped after all 64 labels and 1 past them in search of a VRF nonce"),
            "{e}"
        );
        let labels = DiskLabels::new(dir.path().to_owned());
        let (nonce, all) = initialize_in_memory(&d);
        let nonce = nonce.expect("found past the end in memory");
        assert!(nonce >= n + 2, "{nonce}");
        assert_eq!(labels.initialize(&d), Ok(nonce));
        let done = PostDataInfo::read(dir.path()).unwrap().unwrap();
        assert!(done.progress().is_complete());
        assert_eq!(done.state.vrf_nonce.map(|v| v.index), Some(nonce));
        assert_eq!(read(&labels, &d, 0, n as usize).unwrap(), all);
        assert_eq!(std::fs::metadata(dir.path().join(data_file(0))).unwrap().len(), n * 16);
        assert!(!dir.path().join(data_file(1)).exists(), "no label past the data is written");
    }

    /// Data larger than the filesystem's free space is refused before any label is written.
    #[cfg(unix)]
    #[test]
    fn refuses_data_the_disk_cannot_hold() {
        let dir = tempfile::tempdir().unwrap();
        let config = PostConfig { labels_per_unit: 1 << 40, ..PostConfig::sim() };
        let huge = PostData { config, num_units: 1, ..data(1) };
        let e = DiskLabels::new(dir.path().to_owned()).initialize(&huge).unwrap_err();
        assert!(e.contains("needs 16777216 MiB more") && e.contains("MiB free"), "{e}");
        assert!(!dir.path().join(data_file(0)).exists());
    }

    fn run(pool: &JobPool, job: Job) -> JobResult {
        pool.submit(JobId(1), job).unwrap();
        pool.recv().unwrap().1
    }

    /// A PostInit job through the pool writes the data directory and proves from it a proof
    /// that verifies (the in-memory proof); a second pool reuses the files without writing.
    #[test]
    fn pool_initializes_on_disk_and_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let post_dir = dir.path().join("post");
        let d = data(1);
        let pool = |dir: &Path| {
            JobPool::new(1, Arc::new(Ed25519Verifier), Some(DiskLabels::new(dir.to_owned())))
        };
        let first = run(&pool(&post_dir), Job::PostInit(Box::new(d.clone())));
        let JobResult::PostInitialized(Ok((nonce, proof))) = first.clone() else {
            panic!("PostInit failed: {first:?}");
        };
        let (cfg, meta) = (d.config, d.metadata());
        let pow = Blake3Pow::default();
        post::verify(&proof, &[0; 32], &meta, &cfg, VerifyMode::All, &pow).unwrap();
        let memory = JobPool::new(1, Arc::new(Ed25519Verifier), None);
        assert_eq!(run(&memory, Job::PostInit(Box::new(d.clone()))), first);
        assert!(post::verify_vrf_nonce(&d.commitment(), nonce, 192, &cfg.scrypt));
        let file = post_dir.join(data_file(0));
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 192 * 16);

        let stamp = |p: &Path| {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(p).unwrap();
            (m.ino(), m.mtime(), m.mtime_nsec())
        };
        let before = (stamp(&file), stamp(&post_dir.join(STATE_FILE)));
        assert_eq!(run(&pool(&post_dir), Job::PostInit(Box::new(d.clone()))), first);
        assert_eq!((stamp(&file), stamp(&post_dir.join(STATE_FILE))), before, "nothing rewritten");
        let challenge = Hash32([5; 32]);
        let prove = Job::PostProve { data: Box::new(d), challenge };
        assert_eq!(run(&pool(&post_dir), prove.clone()), run(&memory, prove));
    }
}
