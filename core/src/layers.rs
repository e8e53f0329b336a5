//! Consensus time: which layer and epoch a moment belongs to, and the PoET round schedule a node
//! plans its NIPoST around (protocol.md section 1, proofs.md section 2.1).
//!
//! Every node derives layers from its own clock; nothing here reads one. Layer `i` occupies
//! `[genesis + i·D, genesis + (i+1)·D)`; epoch `e` holds layers `[e·LPE, (e+1)·LPE)`. Epochs 0
//! and 1 are genesis epochs: the first ATXs are published in epoch 1 and make their identities
//! active in epoch 2, the first with ballots.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::types::{EpochId, LayerId, Time};

/// Layer timing and the PoET round timing of one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerClock {
    /// Start of layer 0.
    pub genesis: Time,
    /// Length of a layer.
    pub layer_duration: Duration,
    /// Layers per epoch.
    pub layers_per_epoch: u32,
    /// PoET rounds start this long after their epoch starts.
    pub poet_phase_shift: Duration,
    /// Gap between a round's end and the next round's start: the window for PoST proving and
    /// publishing the ATX.
    pub poet_cycle_gap: Duration,
    /// How long before a round starts the node registers its challenge.
    pub poet_grace_period: Duration,
}

impl LayerClock {
    /// Simulation timing (protocol.md section 16): 10 s layers, 8 per epoch, PoET rounds start
    /// 40 s into an epoch and leave a 20 s gap.
    pub fn sim(genesis: Time) -> Self {
        LayerClock {
            genesis,
            layer_duration: Duration::from_secs(10),
            layers_per_epoch: 8,
            poet_phase_shift: Duration::from_secs(40),
            poet_cycle_gap: Duration::from_secs(20),
            poet_grace_period: Duration::from_secs(5),
        }
    }

    /// Checks the timing is usable: positive durations, and a PoET round that fits in an epoch
    /// with room for registration.
    pub fn validate(&self) -> Result<(), String> {
        if self.layer_duration.is_zero() || self.layers_per_epoch == 0 {
            return Err("layer_duration and layers_per_epoch must be positive".into());
        }
        let epoch = self.epoch_duration();
        if self.poet_phase_shift >= epoch {
            return Err(format!(
                "poet_phase_shift {:?} must be shorter than an epoch ({epoch:?})",
                self.poet_phase_shift
            ));
        }
        if self.poet_cycle_gap.is_zero() || self.poet_cycle_gap >= epoch {
            return Err(format!(
                "poet_cycle_gap {:?} must be positive and shorter than an epoch ({epoch:?})",
                self.poet_cycle_gap
            ));
        }
        if self.poet_grace_period >= epoch - self.poet_cycle_gap {
            return Err("poet_grace_period must be shorter than a PoET round".into());
        }
        Ok(())
    }

    /// Length of an epoch.
    pub fn epoch_duration(&self) -> Duration {
        self.layer_duration * self.layers_per_epoch
    }

    /// The layer `now` falls in (layer 0 before genesis).
    pub fn layer_at(&self, now: Time) -> LayerId {
        let since = now.saturating_since(self.genesis).as_micros();
        let d = self.layer_duration.as_micros().max(1);
        LayerId(u32::try_from(since / d).unwrap_or(u32::MAX))
    }

    /// The epoch `now` falls in.
    pub fn epoch_at(&self, now: Time) -> EpochId {
        self.layer_at(now).epoch(self.layers_per_epoch)
    }

    /// When `layer` starts.
    pub fn layer_start(&self, layer: LayerId) -> Time {
        self.genesis + self.layer_duration * layer.0
    }

    /// When `epoch` starts.
    pub fn epoch_start(&self, epoch: EpochId) -> Time {
        self.layer_start(epoch.first_layer(self.layers_per_epoch))
    }

    /// The epoch of `layer`.
    pub fn epoch_of(&self, layer: LayerId) -> EpochId {
        layer.epoch(self.layers_per_epoch)
    }

    /// The last layer of the genesis epochs, treated as decided: `2·LPE − 1`.
    pub fn effective_genesis(&self) -> LayerId {
        LayerId(2 * self.layers_per_epoch - 1)
    }

    /// When the PoET round whose proof serves ATXs published in `publish` starts: the phase
    /// shift into the epoch before.
    pub fn poet_round_start(&self, publish: EpochId) -> Time {
        assert!(publish.0 >= 1, "ATXs are published from epoch 1 on");
        self.epoch_start(EpochId(publish.0 - 1)) + self.poet_phase_shift
    }

    /// When that round ends: a cycle gap before the next round starts.
    pub fn poet_round_end(&self, publish: EpochId) -> Time {
        self.epoch_start(publish) + self.poet_phase_shift - self.poet_cycle_gap
    }

    /// The publish epoch a node that starts building at `now` can still make: the first whose
    /// round has not started yet (registration closes at round start).
    pub fn next_publish_epoch(&self, now: Time) -> EpochId {
        let mut e = EpochId(self.epoch_at(now).0.max(1));
        while self.poet_round_start(e) <= now {
            e = EpochId(e.0 + 1);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> LayerClock {
        LayerClock::sim(Time::from_secs(1000))
    }

    /// Layers and epochs map to their start times and back.
    #[test]
    fn layers_and_epochs() {
        let c = clock();
        assert_eq!(c.layer_at(Time::from_secs(999)), LayerId(0));
        assert_eq!(c.layer_at(Time::from_secs(1000)), LayerId(0));
        assert_eq!(c.layer_at(Time::from_secs(1019)), LayerId(1));
        assert_eq!(c.layer_at(Time::from_secs(1080)), LayerId(8));
        assert_eq!(c.epoch_at(Time::from_secs(1080)), EpochId(1));
        assert_eq!(c.epoch_start(EpochId(2)), Time::from_secs(1160));
        assert_eq!(c.effective_genesis(), LayerId(15));
        for l in 0..100 {
            assert_eq!(c.layer_at(c.layer_start(LayerId(l))), LayerId(l));
        }
    }

    /// The PoET round for publish epoch P runs from the phase shift into P−1 to a cycle gap
    /// before the phase shift into P, and the node targets the first round not yet started.
    #[test]
    fn poet_rounds() {
        let c = clock();
        assert_eq!(c.poet_round_start(EpochId(1)), Time::from_secs(1040));
        assert_eq!(c.poet_round_end(EpochId(1)), Time::from_secs(1100));
        assert_eq!(c.poet_round_start(EpochId(2)), Time::from_secs(1120));
        assert_eq!(c.next_publish_epoch(Time::from_secs(1000)), EpochId(1));
        assert_eq!(c.next_publish_epoch(Time::from_secs(1040)), EpochId(2));
        assert_eq!(c.next_publish_epoch(Time::from_secs(1119)), EpochId(2));
        assert_eq!(c.next_publish_epoch(Time::from_secs(1120)), EpochId(3));
        assert!(c.validate().is_ok());
        let mut bad = c;
        bad.poet_phase_shift = Duration::from_secs(80);
        assert!(bad.validate().unwrap_err().contains("phase_shift"));
    }
}
