//! PoST data on disk: labels written to `postdata_<i>.bin` files by the core [`Initializer`],
//! with checkpoints that make initialization resumable after a crash or Ctrl-C.
//!
//! A checkpoint syncs the data files, then replaces `postdata_state.bin` (the identity, sizes
//! and the initializer's state, with a checksum) by a write to a temporary file, a sync and a
//! rename. On open, labels written after the last checkpoint are cut off (they may be torn),
//! and a data file shorter than its checkpoint is damage, reported, never papered over.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use spacemesh_core::Hash32;
use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::post::{
    InitProgress, InitState, Initializer, LABEL_BYTES, PostMetadata, ScryptParams,
};
use spacemesh_core::types::NodeId;
use thiserror::Error;

/// The checkpoint file.
pub const STATE_FILE: &str = "postdata_state.bin";

/// Labels per data file unless told otherwise (1 GiB files).
pub const DEFAULT_LABELS_PER_FILE: u64 = 1 << 26;

/// The name of data file `i`.
pub fn data_file(i: u64) -> String {
    format!("postdata_{i}.bin")
}

/// What went wrong with PoST data on disk.
#[derive(Debug, Error)]
pub enum PostDataError {
    /// Reading or writing a file.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The directory holds data of another identity or size.
    #[error(
        "{dir} holds PoST data for {found}, not for {wanted}: use another directory, or the same parameters to resume"
    )]
    OtherData {
        /// The directory.
        dir: PathBuf,
        /// What is there.
        found: String,
        /// What was asked for.
        wanted: String,
    },
    /// The checkpoint or a data file is damaged.
    #[error("{path} is damaged: {what}; the data in {dir} cannot be trusted (initialize again in a new directory)", dir = path.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The directory has no checkpoint: initialization never ran there.
    #[error(
        "{dir} holds no PoST data (no {STATE_FILE}): a smeshing node initializes it when it starts, or run smesh post init"
    )]
    NotInitialized {
        /// The directory.
        dir: PathBuf,
    },
    /// Initialization in the directory has not finished.
    #[error(
        "PoST initialization in {dir} is not finished: {progress}; a smeshing node finishes it, or run smesh post init with the same parameters"
    )]
    Unfinished {
        /// The directory.
        dir: PathBuf,
        /// How far it is.
        progress: InitProgress,
    },
    /// The filesystem has less free space than the labels still to write.
    #[error(
        "{dir} needs {} MiB more for its PoST data, but its filesystem has {} MiB free: free some space, or put the data on a larger disk (smeshing.post_dir, --post-dir)", need >> 20, free >> 20
    )]
    NoSpace {
        /// The directory.
        dir: PathBuf,
        /// Bytes still to write.
        need: u64,
        /// Bytes free for this user.
        free: u64,
    },
    /// Initialization was asked to stop (the node is shutting down) and checkpointed.
    #[error(
        "PoST initialization in {dir} stopped after {progress}; it resumes from there on the next start"
    )]
    Stopped {
        /// The directory.
        dir: PathBuf,
        /// How far it got.
        progress: InitProgress,
    },
}

/// A PoST data directory being initialized.
#[derive(Debug)]
pub struct PostDataInit {
    dir: PathBuf,
    metadata: PostMetadata,
    labels_per_file: u64,
    init: Initializer,
    /// The open data file and its number.
    file: Option<(u64, BufWriter<File>)>,
}

impl PostDataInit {
    /// Opens `dir` for `metadata`'s labels (created if new, resumed from its checkpoint if
    /// not), `labels_per_file` labels per data file.
    pub fn open(
        dir: &Path,
        metadata: PostMetadata,
        scrypt: ScryptParams,
        labels_per_file: u64,
    ) -> Result<PostDataInit, PostDataError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| PostDataError::Io { path, error }
        };
        assert!(labels_per_file > 0, "labels_per_file must be positive");
        fs::create_dir_all(dir).map_err(io(dir))?;
        let num_labels = metadata.num_labels().ok_or_else(|| PostDataError::OtherData {
            dir: dir.to_owned(),
            found: "nothing".into(),
            wanted: "more labels than fit in 64 bits".into(),
        })?;
        let init = match PostDataInfo::read(dir)? {
            Some(found) => {
                let wanted = describe(&metadata, labels_per_file, scrypt);
                let found_text = found.describe();
                if found_text != wanted {
                    return Err(PostDataError::OtherData {
                        dir: dir.to_owned(),
                        found: found_text,
                        wanted,
                    });
                }
                Initializer::resume(found.state)
            }
            None => Initializer::new(metadata.commitment(), num_labels, scrypt),
        };
        let mut data =
            PostDataInit { dir: dir.to_owned(), metadata, labels_per_file, init, file: None };
        data.cut_to_checkpoint()?;
        Ok(data)
    }

    /// Where initialization stands.
    pub fn progress(&self) -> InitProgress {
        self.init.progress()
    }

    /// The VRF nonce found so far.
    pub fn vrf_nonce(&self) -> Option<u64> {
        self.init.vrf_nonce()
    }

    /// Computes and writes up to `labels` more labels (not yet durable: see [`Self::checkpoint`]).
    /// Once every label is written and none qualifies as the VRF nonce, steps search past the
    /// labels for one, writing nothing (see [`spacemesh_core::post::Initializer::step`]); the
    /// checkpoint keeps where the search is.
    pub fn step(&mut self, labels: u64) -> Result<InitProgress, PostDataError> {
        let mut failed = None;
        let per_file = self.labels_per_file;
        let dir = self.dir.clone();
        let file = &mut self.file;
        let progress = self.init.step(labels, &mut |index, label| {
            if failed.is_some() {
                return;
            }
            let n = index / per_file;
            if file.as_ref().is_none_or(|(open, _)| *open != n) {
                if let Err(e) = close(file) {
                    failed = Some(e);
                    return;
                }
                let path = dir.join(data_file(n));
                match OpenOptions::new().create(true).append(true).open(&path) {
                    Ok(f) => *file = Some((n, BufWriter::with_capacity(1 << 20, f))),
                    Err(error) => {
                        failed = Some(PostDataError::Io { path, error });
                        return;
                    }
                }
            }
            if let Some((n, w)) = file.as_mut()
                && let Err(error) = w.write_all(label)
            {
                failed = Some(PostDataError::Io { path: dir.join(data_file(*n)), error });
            }
        });
        match failed {
            Some(e) => Err(e),
            None => Ok(progress),
        }
    }

    /// Makes everything computed so far durable: data files first, then the checkpoint.
    pub fn checkpoint(&mut self) -> Result<(), PostDataError> {
        if let Some((n, w)) = self.file.as_mut() {
            let path = self.dir.join(data_file(*n));
            w.flush().map_err(|error| PostDataError::Io { path: path.clone(), error })?;
            w.get_ref().sync_data().map_err(|error| PostDataError::Io { path, error })?;
        }
        let mut bytes = encode_state(&self.metadata, self.labels_per_file, self.init.state());
        let sum = blake3::hash(&bytes);
        bytes.extend_from_slice(&sum.as_bytes()[..8]);
        let path = self.dir.join(STATE_FILE);
        let tmp = path.with_extension("tmp");
        let io = |p: &Path| {
            let p = p.to_owned();
            move |error| PostDataError::Io { path: p, error }
        };
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io(&self.dir))?;
        Ok(())
    }

    /// Cuts data files back to the checkpoint: labels after it may be torn.
    fn cut_to_checkpoint(&mut self) -> Result<(), PostDataError> {
        let done = self.init.progress().done;
        let files = self.init.progress().total.div_ceil(self.labels_per_file);
        for n in 0..files {
            let path = self.dir.join(data_file(n));
            let first = n * self.labels_per_file;
            let want = done.saturating_sub(first).min(self.labels_per_file) * LABEL_BYTES as u64;
            let have = match fs::metadata(&path) {
                Ok(m) => m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
                Err(error) => return Err(PostDataError::Io { path, error }),
            };
            if have < want {
                return Err(PostDataError::Damaged {
                    path,
                    what: format!("{have} bytes, but the checkpoint counts {want}"),
                });
            }
            if have > want {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|error| PostDataError::Io { path: path.clone(), error })?;
                f.set_len(want).map_err(|error| PostDataError::Io { path, error })?;
            }
        }
        Ok(())
    }
}

/// What a data directory's checkpoint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostDataInfo {
    /// The identity and size the data is for.
    pub metadata: PostMetadata,
    /// Labels per data file.
    pub labels_per_file: u64,
    /// The initializer's state at the checkpoint (its scrypt parameters, progress and VRF
    /// nonce).
    pub state: InitState,
}

impl PostDataInfo {
    /// Reads the checkpoint of `dir`: `None` when there is none (initialization never
    /// checkpointed there), an error when it is unreadable or damaged.
    pub fn read(dir: &Path) -> Result<Option<PostDataInfo>, PostDataError> {
        let path = dir.join(STATE_FILE);
        match fs::read(&path) {
            Ok(bytes) => {
                let (metadata, labels_per_file, state) = decode_state(&path, &bytes)?;
                Ok(Some(PostDataInfo { metadata, labels_per_file, state }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(PostDataError::Io { path, error }),
        }
    }

    /// How far initialization was at the checkpoint.
    pub fn progress(&self) -> InitProgress {
        self.state.progress()
    }

    /// The identity, sizes and label parameters, in words.
    pub fn describe(&self) -> String {
        describe(&self.metadata, self.labels_per_file, self.state.scrypt)
    }
}

fn close(file: &mut Option<(u64, BufWriter<File>)>) -> Result<(), PostDataError> {
    if let Some((_, mut w)) = file.take() {
        w.flush().map_err(|error| PostDataError::Io { path: PathBuf::from("postdata"), error })?;
    }
    Ok(())
}

/// The identity, sizes and label parameters of PoST data, in words.
pub(crate) fn describe(m: &PostMetadata, labels_per_file: u64, scrypt: ScryptParams) -> String {
    format!(
        "identity {} with commitment ATX {}, {} units of {} labels, {} labels per file, scrypt {:?}",
        m.node_id, m.commitment_atx_id, m.num_units, m.labels_per_unit, labels_per_file, scrypt
    )
}

fn encode_state(m: &PostMetadata, labels_per_file: u64, state: &InitState) -> Vec<u8> {
    let mut out = Vec::new();
    m.node_id.0.encode_to(&mut out);
    m.commitment_atx_id.0.encode_to(&mut out);
    m.num_units.encode_to(&mut out);
    m.labels_per_unit.encode_to(&mut out);
    labels_per_file.encode_to(&mut out);
    state.encode_to(&mut out);
    out
}

fn decode_state(
    path: &Path,
    bytes: &[u8],
) -> Result<(PostMetadata, u64, InitState), PostDataError> {
    let damaged = |what: &str| PostDataError::Damaged { path: path.to_owned(), what: what.into() };
    if bytes.len() < 8 + 32 + 32 + 4 + 8 + 8 {
        return Err(damaged("too short"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if blake3::hash(body).as_bytes()[..8] != *sum {
        return Err(damaged("checksum mismatch"));
    }
    let take = |at: usize, n: usize| &body[at..at + n];
    let metadata = PostMetadata {
        node_id: NodeId(take(0, 32).try_into().expect("32 bytes")),
        commitment_atx_id: Hash32(take(32, 32).try_into().expect("32 bytes")),
        num_units: u32::from_le_bytes(take(64, 4).try_into().expect("4 bytes")),
        labels_per_unit: u64::from_le_bytes(take(68, 8).try_into().expect("8 bytes")),
    };
    let labels_per_file = u64::from_le_bytes(take(76, 8).try_into().expect("8 bytes"));
    let state: InitState =
        decode_exact(&body[84..]).map_err(|e| damaged(&format!("undecodable state: {e:?}")))?;
    if labels_per_file == 0 || metadata.num_labels() != Some(state.num_labels) {
        return Err(damaged("sizes disagree"));
    }
    if state.commitment != metadata.commitment() {
        return Err(damaged("commitment does not match the identity"));
    }
    Ok((metadata, labels_per_file, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(units: u32) -> PostMetadata {
        PostMetadata {
            node_id: NodeId([1; 32]),
            commitment_atx_id: Hash32([2; 32]),
            num_units: units,
            labels_per_unit: 100,
        }
    }

    fn scrypt() -> ScryptParams {
        ScryptParams::new(2, 1, 1).unwrap()
    }

    fn all_labels(dir: &Path, files: u64) -> Vec<u8> {
        (0..files).flat_map(|n| fs::read(dir.join(data_file(n))).unwrap()).collect()
    }

    /// Data written in one go equals data written with a crash (uncheckpointed labels lost,
    /// cut back on open) and a resume; the labels are core's labels.
    #[test]
    fn resumes_after_a_crash_to_the_same_data() {
        let a = tempfile::tempdir().unwrap();
        let mut one = PostDataInit::open(a.path(), metadata(3), scrypt(), 64).unwrap();
        while !one.step(50).unwrap().is_complete() {}
        one.checkpoint().unwrap();
        let nonce = one.vrf_nonce();

        let b = tempfile::tempdir().unwrap();
        let mut two = PostDataInit::open(b.path(), metadata(3), scrypt(), 64).unwrap();
        two.step(70).unwrap();
        two.checkpoint().unwrap();
        two.step(90).unwrap(); // written, never checkpointed: the crash loses it
        if let Some((_, w)) = two.file.as_mut() {
            w.flush().unwrap();
        }
        drop(two);
        let mut three = PostDataInit::open(b.path(), metadata(3), scrypt(), 64).unwrap();
        assert_eq!(three.progress().done, 70);
        assert_eq!(fs::metadata(b.path().join(data_file(1))).unwrap().len(), 6 * 16);
        while !three.step(50).unwrap().is_complete() {}
        three.checkpoint().unwrap();
        assert_eq!(three.vrf_nonce(), nonce);
        let data = all_labels(b.path(), 5);
        assert_eq!(data, all_labels(a.path(), 5));
        assert_eq!(data.len(), 300 * 16);
        let commitment = metadata(3).commitment();
        let label7 = spacemesh_core::post::label(&commitment, 7, &scrypt());
        assert_eq!(data[7 * 16..8 * 16], label7[..16]);
    }

    /// Other parameters, a damaged checkpoint and a truncated data file are errors that say so.
    #[test]
    fn refuses_other_data_and_damage() {
        let d = tempfile::tempdir().unwrap();
        let mut init = PostDataInit::open(d.path(), metadata(2), scrypt(), 64).unwrap();
        init.step(100).unwrap();
        init.checkpoint().unwrap();
        drop(init);
        let e = PostDataInit::open(d.path(), metadata(3), scrypt(), 64).unwrap_err();
        assert!(matches!(e, PostDataError::OtherData { .. }), "{e}");
        assert!(e.to_string().contains("3 units"), "{e}");
        let file = d.path().join(data_file(1));
        let f = OpenOptions::new().write(true).open(&file).unwrap();
        f.set_len(16).unwrap();
        let e = PostDataInit::open(d.path(), metadata(2), scrypt(), 64).unwrap_err();
        assert!(e.to_string().contains("but the checkpoint counts"), "{e}");
        let state = d.path().join(STATE_FILE);
        let mut bytes = fs::read(&state).unwrap();
        bytes[40] ^= 1;
        fs::write(&state, bytes).unwrap();
        let e = PostDataInit::open(d.path(), metadata(2), scrypt(), 64).unwrap_err();
        assert!(e.to_string().contains("checksum mismatch"), "{e}");
    }
}
