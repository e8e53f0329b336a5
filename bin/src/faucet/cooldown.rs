//! The faucet's cooldowns: when each address and each IP was last paid, in an append-only file
//! that survives restarts. Every line carries a checksum: a damaged line is an error at start
//! (never a silent reset, which would let everyone draw again); a last line cut short by a
//! crash was never acknowledged, and is dropped.
//!
//! Layout: a header line, then `SECS KEY CHECK` per payment, where KEY is `addr:BECH32` or
//! `ip:IP` and CHECK the first 8 bytes of BLAKE3 over `SECS KEY`, in hex. Opening rewrites the
//! file without the entries whose cooldown is over, so it does not grow forever.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

const HEADER: &str = "smesh-faucet-cooldowns/1";

/// Cooldowns by key, persisted.
#[derive(Debug)]
pub(crate) struct Cooldowns {
    path: PathBuf,
    file: fs::File,
    cooldown_secs: u64,
    /// Last payment per key (unix seconds).
    last: HashMap<String, u64>,
    /// Keys with a payment under way (not yet persisted).
    reserved: BTreeSet<String>,
}

fn check(secs: u64, key: &str) -> String {
    let h = blake3::hash(format!("{secs} {key}").as_bytes());
    hex::encode(&h.as_bytes()[..8])
}

fn line(secs: u64, key: &str) -> String {
    format!("{secs} {key} {}\n", check(secs, key))
}

/// Why a key may not be paid now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Paid `wait_secs` too recently.
    Cooling {
        /// The key.
        key: String,
        /// Seconds until it may draw again.
        wait_secs: u64,
    },
    /// A payment to it is under way.
    InFlight(String),
}

impl Cooldowns {
    /// Opens (or creates) the file at `path`; an error when a complete line is damaged.
    pub(crate) fn open(path: &Path, cooldown_secs: u64, now: u64) -> Result<Cooldowns> {
        let text = match fs::read(path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} is damaged: not UTF-8", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let last = parse(path, &text)?;
        let kept: HashMap<String, u64> =
            last.into_iter().filter(|(_, t)| t.saturating_add(cooldown_secs) > now).collect();
        // Rewrite compacted, atomically: a temporary file, synced, renamed over the old one.
        let tmp = path.with_extension("tmp");
        let mut out = String::from(HEADER);
        out.push('\n');
        let mut entries: Vec<_> = kept.iter().collect();
        entries.sort();
        for (key, secs) in entries {
            out.push_str(&line(*secs, key));
        }
        let mut f = fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(out.as_bytes()).and_then(|()| f.sync_all())?;
        fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        let file = fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Cooldowns {
            path: path.to_owned(),
            file,
            cooldown_secs,
            last: kept,
            reserved: BTreeSet::new(),
        })
    }

    /// Checks every key and, when all may draw, reserves them for a payment.
    pub(crate) fn try_reserve(&mut self, keys: &[String], now: u64) -> Result<(), Refusal> {
        for key in keys {
            if self.reserved.contains(key) {
                return Err(Refusal::InFlight(key.clone()));
            }
            if let Some(t) = self.last.get(key) {
                let until = t.saturating_add(self.cooldown_secs);
                if until > now {
                    return Err(Refusal::Cooling { key: key.clone(), wait_secs: until - now });
                }
            }
        }
        self.reserved.extend(keys.iter().cloned());
        Ok(())
    }

    /// Releases reserved keys after a payment that did not happen.
    pub(crate) fn release(&mut self, keys: &[String]) {
        for k in keys {
            self.reserved.remove(k);
        }
    }

    /// Records a payment to reserved keys at `now` (synced before it returns).
    pub(crate) fn record(&mut self, keys: &[String], now: u64) -> Result<()> {
        let text: String = keys.iter().map(|k| line(now, k)).collect();
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing {}", self.path.display()))?;
        for k in keys {
            self.reserved.remove(k);
            self.last.insert(k.clone(), now);
        }
        Ok(())
    }
}

fn parse(path: &Path, text: &str) -> Result<HashMap<String, u64>> {
    let mut last = HashMap::new();
    if text.is_empty() {
        return Ok(last);
    }
    // A last line without its newline is a write cut short: never acknowledged, dropped.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let damaged = |n: usize, what: &str| {
        anyhow::anyhow!(
            "{} is damaged at line {n} ({what}); the faucet refuses to start rather than forget \
             who was paid. Restore the file, or move it away to reset every cooldown on purpose",
            path.display()
        )
    };
    if complete.is_empty() {
        // Only a torn first line: a file that was being created.
        return if HEADER.starts_with(text) { Ok(last) } else { Err(damaged(1, "no header")) };
    }
    let mut lines = complete.lines();
    if lines.next() != Some(HEADER) {
        return Err(damaged(1, "not a cooldown file header"));
    }
    for (i, l) in lines.enumerate() {
        let n = i + 2;
        let mut parts = l.split(' ');
        let (Some(secs), Some(key), Some(sum), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(damaged(n, "not three fields"));
        };
        let secs: u64 = secs.parse().map_err(|_| damaged(n, "bad time"))?;
        if check(secs, key) != sum {
            return Err(damaged(n, "checksum mismatch"));
        }
        let t = last.entry(key.to_owned()).or_insert(secs);
        *t = (*t).max(secs);
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(a: &str, ip: &str) -> Vec<String> {
        vec![format!("addr:{a}"), format!("ip:{ip}")]
    }

    /// A payment blocks its address and its IP for the cooldown, across a reopen, and frees
    /// them once the cooldown is over.
    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cooldowns");
        let mut c = Cooldowns::open(&path, 100, 1_000).unwrap();
        let k = keys("stest1a", "1.2.3.4");
        c.try_reserve(&k, 1_000).unwrap();
        assert_eq!(c.try_reserve(&k, 1_000), Err(Refusal::InFlight(k[0].clone())));
        c.record(&k, 1_000).unwrap();
        drop(c);

        let mut c = Cooldowns::open(&path, 100, 1_050).unwrap();
        assert_eq!(
            c.try_reserve(&keys("stest1b", "1.2.3.4"), 1_050),
            Err(Refusal::Cooling { key: "ip:1.2.3.4".into(), wait_secs: 50 }),
            "the same IP for another address"
        );
        assert_eq!(
            c.try_reserve(&keys("stest1a", "5.6.7.8"), 1_099),
            Err(Refusal::Cooling { key: "addr:stest1a".into(), wait_secs: 1 }),
            "the same address from another IP"
        );
        assert!(c.try_reserve(&keys("stest1a", "5.6.7.8"), 1_100).is_ok());
        // A failed payment releases its keys.
        c.release(&keys("stest1a", "5.6.7.8"));
        assert!(c.try_reserve(&keys("stest1a", "5.6.7.8"), 1_100).is_ok());
        drop(c);
        // Expired entries are compacted away on open.
        Cooldowns::open(&path, 100, 5_000).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{HEADER}\n"));
    }

    /// A damaged line (changed time, changed key, garbage) refuses to open and leaves the
    /// file alone; a torn last line is dropped.
    #[test]
    fn corruption_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cooldowns");
        let mut c = Cooldowns::open(&path, 100, 1_000).unwrap();
        c.try_reserve(&keys("stest1a", "1.2.3.4"), 1_000).unwrap();
        c.record(&keys("stest1a", "1.2.3.4"), 1_000).unwrap();
        drop(c);
        let good = fs::read_to_string(&path).unwrap();

        for bad in [
            good.replacen("1000 addr", "900 addr", 1),
            good.replacen("stest1a", "stest1b", 1),
            good.replacen(HEADER, "something else", 1),
            format!("{good}garbage\n"),
        ] {
            fs::write(&path, &bad).unwrap();
            let err = Cooldowns::open(&path, 100, 1_001).unwrap_err().to_string();
            assert!(err.contains("damaged") && err.contains("refuses to start"), "{err}");
            assert_eq!(fs::read_to_string(&path).unwrap(), bad, "the damaged file is kept");
        }

        fs::write(&path, format!("{good}1001 addr:stest1c 0a")).unwrap();
        let mut c = Cooldowns::open(&path, 100, 1_002).unwrap();
        assert!(c.try_reserve(&keys("stest1c", "9.9.9.9"), 1_002).is_ok(), "torn line dropped");
        assert!(c.try_reserve(&keys("stest1a", "9.9.9.8"), 1_002).is_err(), "the rest kept");
    }
}
