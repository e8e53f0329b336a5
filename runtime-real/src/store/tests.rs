use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

/// A value no compressor shrinks and that is easy to find in a file: a marker byte pattern
/// followed by bytes derived from `seed`.
fn distinctive(seed: u8, len: usize) -> Vec<u8> {
    let mut v = b"<<VALUE-".to_vec();
    v.push(seed);
    v.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    v
}

/// Every regular file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Batches of puts, deletes and overwrites (some of one key within one batch) persist and
/// reload in order across reopening, exactly as `Batch::apply_to` applies them.
#[test]
fn batches_persist_and_reload_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let mut model = Snapshot::new();
    {
        let store = NodeStore::open(&path).unwrap();
        assert_eq!(store.load().unwrap(), Snapshot::new(), "a new store is empty");
        let mut b = Batch::default();
        b.put(b"a", b"1").put(b"b", b"2").put(b"c", b"3");
        store.persist(&b).unwrap();
        b.apply_to(&mut model);
        let mut b = Batch::default();
        b.delete(b"a").put(b"b", b"22").put(b"d", b"4").delete(b"d").put(b"e", b"").put(b"c", b"x");
        b.put(b"c", b"33");
        store.persist(&b).unwrap();
        b.apply_to(&mut model);
        assert_eq!(store.load().unwrap(), model);
    }
    let store = NodeStore::open(&path).unwrap();
    assert_eq!(store.load().unwrap(), model);
    let expected: Snapshot = [
        (b"b".to_vec(), b"22".to_vec()),
        (b"c".to_vec(), b"33".to_vec()),
        (b"e".to_vec(), Vec::new()),
    ]
    .into_iter()
    .collect();
    assert_eq!(model, expected);
    let mut b = Batch::default();
    b.put(b"a", b"again");
    store.persist(&b).unwrap();
    drop(store);
    let store = NodeStore::open(&path).unwrap();
    assert_eq!(store.load().unwrap().get(&b"a"[..]), Some(&b"again".to_vec()));
}

/// An empty batch is accepted and changes nothing.
#[test]
fn empty_batch_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let store = NodeStore::open(dir.path()).unwrap();
    store.persist(&Batch::default()).unwrap();
    let mut b = Batch::default();
    b.put(b"k", b"v");
    store.persist(&b).unwrap();
    store.persist(&Batch::default()).unwrap();
    assert_eq!(store.load().unwrap().len(), 1);
}

/// A value altered behind the store's back (written raw through fjall) is reported as corrupt,
/// naming its key; so is a value too short to hold a checksum.
#[test]
fn altered_value_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = NodeStore::open(dir.path()).unwrap();
        let mut b = Batch::default();
        b.put(b"good", b"value").put(b"victim", b"original");
        store.persist(&b).unwrap();
        let mut stored = store.records.get(b"victim").unwrap().unwrap().to_vec();
        *stored.last_mut().unwrap() ^= 0x01;
        store.records.insert(b"victim", stored).unwrap();
        store.db.persist(PersistMode::SyncAll).unwrap();
    }
    let store = NodeStore::open(dir.path()).unwrap();
    match store.load() {
        Err(StoreError::Corrupt { key_hex, what, .. }) => {
            assert_eq!(key_hex, hex(b"victim"));
            assert!(what.contains("checksum"), "{what}");
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
    let message = store.load().unwrap_err().to_string();
    assert!(message.contains(&hex(b"victim")) && message.contains("not modified"), "{message}");
    store.records.insert(b"victim", &b"short"[..]).unwrap();
    assert!(matches!(store.load(), Err(StoreError::Corrupt { .. })));
}

/// A directory with another format's marker, a newer version, or files but no marker is
/// refused and left as it was.
#[test]
fn foreign_and_newer_formats_refused() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join(MARKER_FILE);
    std::fs::write(&marker, "other-store 1\n").unwrap();
    assert!(matches!(NodeStore::open(dir.path()), Err(StoreError::ForeignFormat { .. })));
    std::fs::write(&marker, "smesh-node-store 2\n").unwrap();
    let err = NodeStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NewerFormat { found: 2, .. }), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
    std::fs::write(&marker, "smesh-node-store one\n").unwrap();
    assert!(matches!(NodeStore::open(dir.path()), Err(StoreError::ForeignFormat { .. })));
    assert!(!dir.path().join(DB_DIR).exists(), "nothing was created");

    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "mine").unwrap();
    let err = NodeStore::open(other.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err}");
    assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 1, "nothing was created");
}

/// A store whose format record vanished (a database emptied behind its back) reads as
/// damaged, not as a new store.
#[test]
fn missing_format_record_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = NodeStore::open(dir.path()).unwrap();
        let mut b = Batch::default();
        b.put(b"k", b"v");
        store.persist(&b).unwrap();
    }
    std::fs::remove_dir_all(dir.path().join(DB_DIR)).unwrap();
    let err = NodeStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("format record is missing"), "{err}");
}

/// Flipping bytes of a record inside the journal is an error at open or load, never an empty
/// or shortened snapshot.
#[test]
fn damaged_journal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Vec<u8>> = (0..4).map(|i| distinctive(i, 300)).collect();
    {
        let store = NodeStore::open(dir.path()).unwrap();
        for (i, v) in values.iter().enumerate() {
            let mut b = Batch::default();
            b.put(format!("key{i}").as_bytes(), v);
            store.persist(&b).unwrap();
        }
    }
    // Damage the second batch's value, so that complete batches follow the damage.
    let needle = &values[1][..12];
    let mut damaged = 0;
    for file in files_under(&dir.path().join(DB_DIR)) {
        let mut bytes = std::fs::read(&file).unwrap();
        if let Some(at) = find(&bytes, needle) {
            bytes[at + 100] ^= 0xff;
            std::fs::write(&file, &bytes).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0, "the value is in a journal file");
    match NodeStore::open(dir.path()).and_then(|s| s.load()) {
        Err(StoreError::Damaged { .. } | StoreError::Corrupt { .. }) => {}
        other => panic!("expected damage to be reported, got {other:?}"),
    }
}

/// A journal cut inside its last batch (a crash while writing it) loses only that batch: it
/// was never acknowledged, and every batch persisted before survives.
#[test]
fn torn_journal_tail_loses_only_the_last_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut before = Snapshot::new();
    {
        let store = NodeStore::open(dir.path()).unwrap();
        for i in 0..5u8 {
            let mut b = Batch::default();
            b.put(&[b'k', i], &distinctive(i, 200));
            store.persist(&b).unwrap();
            if i < 4 {
                b.apply_to(&mut before);
            }
        }
    }
    let last = distinctive(4, 200);
    let journal = files_under(&dir.path().join(DB_DIR))
        .into_iter()
        .find(|f| std::fs::read(f).is_ok_and(|b| find(&b, &last[..12]).is_some()))
        .expect("the last value is in a journal file");
    let bytes = std::fs::read(&journal).unwrap();
    let at = find(&bytes, &last[..12]).unwrap();
    std::fs::write(&journal, &bytes[..at + 50]).unwrap();
    let store = NodeStore::open(dir.path()).unwrap();
    assert_eq!(store.load().unwrap(), before, "everything before the torn batch survives");
}

/// Damaged table files (records flushed out of the journal) are an error at open or load.
#[test]
fn damaged_tables_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Vec<u8>> = (0..64).map(|i| distinctive(i, 500)).collect();
    {
        let store = NodeStore::open(dir.path()).unwrap();
        let mut b = Batch::default();
        for (i, v) in values.iter().enumerate() {
            b.put(format!("key{i:03}").as_bytes(), v);
        }
        store.persist(&b).unwrap();
        store.records.rotate_memtable_and_wait().unwrap();
    }
    let files = files_under(&dir.path().join(DB_DIR));
    let mut damaged = 0;
    for file in &files {
        let mut bytes = std::fs::read(file).unwrap();
        // Damage every copy of the values, in tables and in any journal still around.
        let mut changed = false;
        for v in &values {
            if let Some(at) = find(&bytes, &v[..12]) {
                bytes[at + 200] ^= 0x5a;
                changed = true;
            }
        }
        if changed {
            std::fs::write(file, &bytes).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0, "values found in {files:?}");
    match NodeStore::open(dir.path()).and_then(|s| s.load()) {
        Err(StoreError::Damaged { .. } | StoreError::Corrupt { .. }) => {}
        other => panic!("expected damage to be reported, got {other:?}"),
    }
}

fn arb_batch() -> impl Strategy<Value = Batch> {
    prop::collection::vec(
        (0u8..6, prop::option::of(prop::collection::vec(any::<u8>(), 0..40))),
        0..8,
    )
    .prop_map(|ops| {
        let mut b = Batch::default();
        for (k, v) in ops {
            match v {
                Some(v) => b.put(&[b'k', k], &v),
                None => b.delete(&[b'k', k]),
            };
        }
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any sequence of batches, with reopens in between, loads as the model snapshot.
    #[test]
    fn matches_the_model(steps in prop::collection::vec((arb_batch(), any::<bool>()), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        let mut model = Snapshot::new();
        let mut store = NodeStore::open(dir.path()).unwrap();
        for (batch, reopen) in steps {
            store.persist(&batch).unwrap();
            batch.apply_to(&mut model);
            if reopen {
                drop(store);
                store = NodeStore::open(dir.path()).unwrap();
            }
            prop_assert_eq!(store.load().unwrap(), model.clone());
        }
    }
}
