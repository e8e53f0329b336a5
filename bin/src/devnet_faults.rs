//! Faults a devnet injects into its own node processes: SIGKILLs at random moments (each
//! followed by a restart from the node's data directory) and offline spans (a graceful stop
//! at one layer, a restart at a later one, and how long the node took to catch up).

use std::str::FromStr;
use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

/// `--kill NODE:COUNT`: SIGKILL node NODE COUNT times at random moments, restarting it each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KillSpec {
    /// Which node.
    pub(crate) node: u32,
    /// How many kills.
    pub(crate) count: u32,
}

impl FromStr for KillSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected NODE:COUNT (like 3:20), got {s:?}");
        let (node, count) = s.split_once(':').ok_or_else(bad)?;
        Ok(KillSpec {
            node: node.parse().map_err(|_| bad())?,
            count: count.parse().map_err(|_| bad())?,
        })
    }
}

/// `--offline NODE:FROM:TO`: stop node NODE gracefully when layer FROM starts and restart it
/// when layer TO starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OfflineSpec {
    /// Which node.
    pub(crate) node: u32,
    /// Layer at whose start it stops.
    pub(crate) from: u32,
    /// Layer at whose start it restarts.
    pub(crate) to: u32,
}

impl FromStr for OfflineSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected NODE:FROM:TO layers (like 3:20:40), got {s:?}");
        let parts: Vec<&str> = s.split(':').collect();
        let [node, from, to] = parts[..] else { return Err(bad()) };
        let spec = OfflineSpec {
            node: node.parse().map_err(|_| bad())?,
            from: from.parse().map_err(|_| bad())?,
            to: to.parse().map_err(|_| bad())?,
        };
        if spec.to <= spec.from {
            return Err(format!("{s:?}: the restart layer must come after the stop layer"));
        }
        Ok(spec)
    }
}

/// One planned action, at a time after genesis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Action {
    /// SIGKILL, then start again at once.
    Kill(u32),
    /// SIGTERM; the node stays down.
    Stop(u32),
    /// Start a stopped node.
    Start(u32),
}

/// The planned actions, in time order (seconds after genesis, which may be negative for a
/// kill before genesis, while the node still builds its PoST).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Schedule {
    pub(crate) actions: Vec<(f64, Action)>,
}

impl Schedule {
    /// Kills spread at random over `[-lead, window)` seconds around genesis (at least `gap`
    /// apart per node, so a restarted process gets to open its store), and the offline spans
    /// at their layers' starts.
    pub(crate) fn plan(
        kills: &[KillSpec],
        offline: &[OfflineSpec],
        layer: Duration,
        window: f64,
        lead: f64,
        seed: u64,
    ) -> Schedule {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let gap = 1.0;
        let mut actions = Vec::new();
        for k in kills {
            let span = (window + lead - gap * f64::from(k.count)).max(0.0);
            let mut times: Vec<f64> =
                (0..k.count).map(|_| rng.random_range(0.0..=1.0) * span).collect();
            times.sort_by(f64::total_cmp);
            for (i, t) in times.into_iter().enumerate() {
                actions.push((t - lead + gap * i as f64, Action::Kill(k.node)));
            }
        }
        let secs = layer.as_secs_f64();
        for o in offline {
            actions.push((f64::from(o.from) * secs, Action::Stop(o.node)));
            actions.push((f64::from(o.to) * secs, Action::Start(o.node)));
        }
        actions.sort_by(|a, b| a.0.total_cmp(&b.0));
        Schedule { actions }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Specs parse or say what they expect; a schedule is sorted, seeded, and keeps a node's
    /// kills a second apart inside the window.
    #[test]
    fn specs_and_schedule() {
        assert_eq!("3:20".parse(), Ok(KillSpec { node: 3, count: 20 }));
        assert!("3".parse::<KillSpec>().unwrap_err().contains("NODE:COUNT"));
        assert_eq!("1:20:40".parse(), Ok(OfflineSpec { node: 1, from: 20, to: 40 }));
        assert!("1:40:20".parse::<OfflineSpec>().unwrap_err().contains("after"));
        let kills = [KillSpec { node: 3, count: 20 }];
        let offline = [OfflineSpec { node: 1, from: 4, to: 6 }];
        let layer = Duration::from_secs(5);
        let a = Schedule::plan(&kills, &offline, layer, 100.0, 10.0, 7);
        assert_eq!(a, Schedule::plan(&kills, &offline, layer, 100.0, 10.0, 7));
        assert_ne!(a, Schedule::plan(&kills, &offline, layer, 100.0, 10.0, 8));
        assert_eq!(a.actions.len(), 22);
        assert!(a.actions.windows(2).all(|w| w[0].0 <= w[1].0));
        let kill_times: Vec<f64> =
            a.actions.iter().filter(|(_, a)| *a == Action::Kill(3)).map(|(t, _)| *t).collect();
        assert!(kill_times.windows(2).all(|w| w[1] - w[0] >= 1.0 - 1e-9), "{kill_times:?}");
        assert!(kill_times.iter().all(|t| (-10.0..100.0).contains(t)), "{kill_times:?}");
        assert!(a.actions.contains(&(20.0, Action::Stop(1))));
        assert!(a.actions.contains(&(30.0, Action::Start(1))));
    }
}
