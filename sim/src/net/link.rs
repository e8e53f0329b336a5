//! The behaviour of one directed link.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::net::latency::Latency;
use crate::time::SimDuration;

/// How a directed link treats messages. The default is a clean link with 1-10 ms latency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkConfig {
    /// One-way latency.
    pub latency: Latency,
    /// Probability (0..=1) that a message is lost.
    pub loss: f64,
    /// Probability (0..=1) that a message is delivered twice (each copy with its own latency).
    pub duplicate: f64,
    /// Probability (0..=1) that a message gets an extra delay, uniform in
    /// `0..=reorder_delay_max`, so that later messages can overtake it.
    pub reorder: f64,
    /// Largest extra delay of a reordered message.
    pub reorder_delay_max: SimDuration,
    /// The sender's uplink bandwidth; `None` is unlimited. Messages queue behind each other on
    /// the sender's uplink, whatever their destination.
    pub bandwidth_bytes_per_sec: Option<u64>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Latency::default(),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay_max: SimDuration::ZERO,
            bandwidth_bytes_per_sec: None,
        }
    }
}

/// Why a link configuration was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum LinkError {
    /// A probability outside `0..=1` (or NaN).
    #[error("link {field} = {value} is not a probability in 0..=1")]
    Probability {
        /// The field.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// A bandwidth of zero would never deliver anything.
    #[error("link bandwidth of 0 bytes/s; use None for unlimited")]
    ZeroBandwidth,
}

impl LinkConfig {
    /// The shortest time a message spends on this link: the latency's floor (reordering and
    /// bandwidth only add to it).
    pub fn shortest_hop(&self) -> SimDuration {
        self.latency.floor()
    }

    /// Checks that probabilities are probabilities and bandwidth is positive.
    pub fn validate(&self) -> Result<(), LinkError> {
        for (field, value) in
            [("loss", self.loss), ("duplicate", self.duplicate), ("reorder", self.reorder)]
        {
            if !(0.0..=1.0).contains(&value) {
                return Err(LinkError::Probability { field, value });
            }
        }
        if self.bandwidth_bytes_per_sec == Some(0) {
            return Err(LinkError::ZeroBandwidth);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The default is valid; out-of-range probabilities, NaN and zero bandwidth are rejected.
    #[test]
    fn validation() {
        assert_eq!(LinkConfig::default().validate(), Ok(()));
        let bad = LinkConfig { loss: 1.5, ..LinkConfig::default() };
        assert!(matches!(bad.validate(), Err(LinkError::Probability { field: "loss", .. })));
        let nan = LinkConfig { reorder: f64::NAN, ..LinkConfig::default() };
        assert!(nan.validate().is_err());
        let zero = LinkConfig { bandwidth_bytes_per_sec: Some(0), ..LinkConfig::default() };
        assert_eq!(zero.validate(), Err(LinkError::ZeroBandwidth));
    }
}
