//! Hare parameters.

use std::time::Duration;

/// What a node does in the hare beyond the protocol (adversary knobs for simulations; a real
/// node is always [`HareBehavior::Honest`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HareBehavior {
    /// Follows the protocol.
    #[default]
    Honest,
    /// Runs the protocol but never sends (an offline or silent committee member).
    Silent,
    /// Signs and gossips a second, conflicting message in every round it is eligible in, in
    /// the sessions of layers `first..=last`.
    Equivocate {
        /// First layer.
        first: crate::types::LayerId,
        /// Last layer.
        last: crate::types::LayerId,
    },
}

impl HareBehavior {
    /// Whether the node equivocates in `layer`'s session.
    pub fn equivocates(&self, layer: crate::types::LayerId) -> bool {
        matches!(self, HareBehavior::Equivocate { first, last } if (*first..=*last).contains(&layer))
    }
}

/// Hare timing, committee and bounds (protocol.md section 7).
#[derive(Debug, Clone, PartialEq)]
pub struct HareConfig {
    /// Expected committee seats per round.
    pub committee_size: u32,
    /// Expected leaders in a propose round.
    pub leaders: u32,
    /// Iterations after which a session without output ends with none.
    pub iterations_limit: u8,
    /// From the layer start to the preround (proposals propagate meanwhile).
    pub preround_delay: Duration,
    /// The length of every later round.
    pub round_duration: Duration,
    /// Sessions kept at once (older ones are dropped).
    pub sessions_max: usize,
    /// Adversary knob.
    pub behavior: HareBehavior,
}

impl HareConfig {
    /// Simulation parameters: mainnet's committee of 50 and 5 leaders, 4 iterations, a 2 s
    /// preround delay and 1 s rounds (several gossip hops at the simulated link latencies).
    pub fn sim() -> Self {
        HareConfig {
            committee_size: 50,
            leaders: 5,
            iterations_limit: 4,
            preround_delay: Duration::from_secs(2),
            round_duration: Duration::from_secs(1),
            sessions_max: 8,
            behavior: HareBehavior::Honest,
        }
    }

    /// Summed seats a value needs: `committee / 2 + 1`.
    pub fn threshold(&self) -> u16 {
        u16::try_from(self.committee_size / 2 + 1).unwrap_or(u16::MAX)
    }

    /// The whole session length: preround delay plus every round up to the last hardlock.
    pub fn session_length(&self) -> Duration {
        let rounds = u32::from(self.iterations_limit) * 7;
        self.preround_delay + self.round_duration * rounds
    }

    /// Checks the values; the message says what to fix.
    pub fn validate(&self, layer_duration: Duration) -> Result<(), String> {
        if self.committee_size == 0 || self.committee_size > u32::from(u16::MAX) {
            return Err(format!("hare committee size {} is not in 1..=65535", self.committee_size));
        }
        if self.leaders == 0 {
            return Err("hare leaders must be at least 1".into());
        }
        if self.iterations_limit == 0 {
            return Err("hare iterations limit must be at least 1".into());
        }
        if self.round_duration.is_zero() {
            return Err("hare round duration must be positive".into());
        }
        if self.preround_delay >= layer_duration {
            return Err(format!(
                "hare preround delay {:?} must be shorter than a layer ({layer_duration:?})",
                self.preround_delay
            ));
        }
        let layers = self.session_length().as_micros().div_ceil(layer_duration.as_micros());
        if layers as usize >= self.sessions_max {
            return Err(format!(
                "a hare session spans {layers} layers but only {} sessions are kept",
                self.sessions_max
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_parameters_are_valid_and_bad_ones_are_explained() {
        let layer = Duration::from_secs(10);
        assert_eq!(HareConfig::sim().validate(layer), Ok(()));
        assert_eq!(HareConfig::sim().threshold(), 26);
        let bad = HareConfig { preround_delay: layer, ..HareConfig::sim() };
        assert!(bad.validate(layer).unwrap_err().contains("preround delay"));
        let bad = HareConfig { sessions_max: 2, ..HareConfig::sim() };
        assert!(bad.validate(layer).unwrap_err().contains("sessions"));
    }
}
