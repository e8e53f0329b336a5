//! A real node's configuration: a preset, overridden by a TOML file, overridden by the command
//! line, checked into [`NodeSettings`] with errors that say which value to fix.
//!
//! The presets differ in timing and PoST size: `local` and `fastnet` are for networks on one
//! machine (the simulator's parameters, and a faster clock), `testnet` and `mainnet` are shaped
//! after go-spacemesh's networks of those names.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use spacemesh_core::account::Address;
use spacemesh_core::layers::LayerClock;
use spacemesh_core::node::consensus::ConsensusConfig;
use spacemesh_core::post::PostConfig;
use spacemesh_core::types::{GenesisId, NodeId, PeerId, Time};
use thiserror::Error;

/// Layers of ballots a real node keeps and accepts from the past (its whole history).
const HISTORY_LAYERS: u32 = 1_000_000;

/// A named set of defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// go-spacemesh mainnet's shape: 5-minute layers, 4032 per epoch, 64 GiB units.
    Mainnet,
    /// A public test network: 1-minute layers, 16 per epoch, 1024-label units.
    Testnet,
    /// One machine, fast: 5-second layers, 8 per epoch, 128-label units.
    Fastnet,
    /// One machine, the simulator's parameters: 10-second layers, 8 per epoch, 64-label units.
    Local,
}

impl Preset {
    /// Every preset, for help texts.
    pub const ALL: [Preset; 4] = [Preset::Mainnet, Preset::Testnet, Preset::Fastnet, Preset::Local];

    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Mainnet => "mainnet",
            Preset::Testnet => "testnet",
            Preset::Fastnet => "fastnet",
            Preset::Local => "local",
        }
    }

    fn clock(self) -> ClockFile {
        let secs = |s: u64| Some(s * 1000);
        match self {
            Preset::Mainnet => ClockFile {
                layer_duration_ms: secs(300),
                layers_per_epoch: Some(4032),
                poet_phase_shift_ms: secs(240 * 3600),
                poet_cycle_gap_ms: secs(12 * 3600),
                poet_grace_period_ms: secs(3600),
            },
            Preset::Testnet => ClockFile {
                layer_duration_ms: secs(60),
                layers_per_epoch: Some(16),
                poet_phase_shift_ms: secs(8 * 60),
                poet_cycle_gap_ms: secs(4 * 60),
                poet_grace_period_ms: secs(60),
            },
            Preset::Fastnet => ClockFile {
                layer_duration_ms: secs(5),
                layers_per_epoch: Some(8),
                poet_phase_shift_ms: secs(20),
                poet_cycle_gap_ms: secs(10),
                poet_grace_period_ms: Some(2500),
            },
            Preset::Local => ClockFile {
                layer_duration_ms: secs(10),
                layers_per_epoch: Some(8),
                poet_phase_shift_ms: secs(40),
                poet_cycle_gap_ms: secs(20),
                poet_grace_period_ms: secs(5),
            },
        }
    }

    fn post(self) -> PostConfig {
        match self {
            Preset::Mainnet => PostConfig::mainnet(),
            Preset::Testnet => PostConfig::testnet(),
            Preset::Fastnet => PostConfig::fastnet(),
            Preset::Local => PostConfig::sim(),
        }
    }

    /// Hare preround delay and round length.
    fn hare_timing(self) -> (Duration, Duration) {
        match self {
            Preset::Mainnet => (Duration::from_secs(25), Duration::from_secs(12)),
            Preset::Testnet => (Duration::from_secs(10), Duration::from_secs(4)),
            Preset::Fastnet => (Duration::from_secs(1), Duration::from_millis(500)),
            Preset::Local => (Duration::from_secs(2), Duration::from_secs(1)),
        }
    }

    /// The bech32 prefix of the network's addresses: `sm` on mainnet, `stest` on the others.
    pub fn hrp(self) -> &'static str {
        match self {
            Preset::Mainnet => spacemesh_core::account::HRP_MAINNET,
            Preset::Testnet | Preset::Fastnet | Preset::Local => {
                spacemesh_core::account::HRP_TESTNET
            }
        }
    }

    /// Where a node of this preset keeps its data by default: `~/.smesh/<preset>`.
    pub fn default_data_dir(self) -> PathBuf {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| ".".into());
        home.join(".smesh").join(self.name())
    }
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Preset::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            let names: Vec<_> = Preset::ALL.iter().map(|p| p.name()).collect();
            format!("unknown preset {s:?}; the presets are {}", names.join(", "))
        })
    }
}

/// The TOML file: every value optional; what is left out comes from the preset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The preset the rest overrides.
    pub preset: Option<Preset>,
    /// Where the node keeps its keys and store.
    pub data_dir: Option<PathBuf>,
    /// Which network.
    #[serde(default)]
    pub network: NetworkFile,
    /// Peer-to-peer.
    #[serde(default)]
    pub p2p: P2pFile,
    /// PoET servers.
    #[serde(default)]
    pub poet: PoetFile,
    /// Smeshing.
    #[serde(default)]
    pub smeshing: SmeshingFile,
    /// Layer and PoET round timing.
    #[serde(default)]
    pub clock: ClockFile,
    /// The status and metrics listener.
    #[serde(default)]
    pub metrics: MetricsFile,
    /// The gRPC API and its JSON gateway.
    #[serde(default)]
    pub api: ApiFile,
}

/// `[network]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// Start of layer 0, Unix seconds. A `local` node without one takes its first start's time.
    pub genesis_time: Option<u64>,
    /// Extra genesis data: networks with the same time and different extra data do not talk.
    pub genesis_extra: Option<String>,
    /// Identities the network expects (sizes ballot eligibility; every node must agree).
    pub identities: Option<u32>,
}

/// `[p2p]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pFile {
    /// Listen address.
    pub listen: Option<SocketAddr>,
    /// Bootstrap peers as `PEER_ID_HEX@HOST:PORT`.
    pub bootstrap: Option<Vec<String>>,
    /// Most connections.
    pub connections_max: Option<usize>,
}

/// `[poet]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoetFile {
    /// PoET servers as `SERVICE_ID_HEX@HOST:PORT`.
    pub servers: Option<Vec<String>>,
}

/// `[smeshing]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmeshingFile {
    /// Whether this node builds ATXs and takes part in consensus (else it only follows).
    pub enabled: Option<bool>,
    /// Space units committed.
    pub units: Option<u32>,
    /// Where the PoST data lives (default: `post` in the data directory).
    pub post_dir: Option<PathBuf>,
    /// The account rewards go to (bech32 of the network; default: an account derived from
    /// the identity, which no wallet holds the key of).
    pub coinbase: Option<String>,
}

/// `[clock]` (milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockFile {
    /// Layer length.
    pub layer_duration_ms: Option<u64>,
    /// Layers per epoch.
    pub layers_per_epoch: Option<u32>,
    /// PoET rounds start this long into an epoch.
    pub poet_phase_shift_ms: Option<u64>,
    /// Gap between a PoET round's end and the next start.
    pub poet_cycle_gap_ms: Option<u64>,
    /// How long before a round nodes register.
    pub poet_grace_period_ms: Option<u64>,
}

/// `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    /// Where `/status` (JSON) and `/metrics` (Prometheus) are served; absent: not served.
    pub listen: Option<SocketAddr>,
}

/// `[api]`: where the gRPC API v2alpha1 and its JSON gateway listen. Absent values are not
/// served (`smesh node` fills in [`ApiListeners::defaults`] unless told `--no-api`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFile {
    /// Public gRPC (the unary services).
    pub public_listen: Option<SocketAddr>,
    /// Private gRPC (the streams); must be a loopback address.
    pub private_listen: Option<SocketAddr>,
    /// The JSON gateway (`POST /spacemesh.v2alpha1.<Service>/<Method>`).
    pub json_listen: Option<SocketAddr>,
    /// Requests per second each client IP may make of the public gRPC and JSON listeners
    /// (default [`RateLimit::DEFAULT`]'s; 0 turns the limit off).
    pub rate_per_second: Option<u32>,
    /// Requests a client may make at once before the rate applies (default twice the rate).
    pub burst: Option<u32>,
}

impl ApiFile {
    /// The rate limit these keys ask for (`None`: off).
    pub fn rate_limit(&self) -> Result<Option<RateLimit>, ConfigError> {
        let rate_per_second = self.rate_per_second.unwrap_or(RateLimit::DEFAULT.rate_per_second);
        if rate_per_second == 0 {
            return Ok(None);
        }
        let burst = self.burst.unwrap_or(rate_per_second.saturating_mul(2));
        if burst == 0 {
            return Err(bad(
                "api.burst",
                "must be at least 1 (rate_per_second = 0 turns the limit off)",
            ));
        }
        Ok(Some(RateLimit { rate_per_second, burst }))
    }
}

/// Per-client rate limit of the public API (see [`crate::api`]'s rate limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second a client IP may keep up (at least 1).
    pub rate_per_second: u32,
    /// Requests it may make at once (at least 1).
    pub burst: u32,
}

impl RateLimit {
    /// 100 requests per second, bursts of 200.
    pub const DEFAULT: RateLimit = RateLimit { rate_per_second: 100, burst: 200 };
}

/// Where the API listens; `None`: that listener is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiListeners {
    /// Public gRPC.
    pub public: Option<SocketAddr>,
    /// Private gRPC (a loopback address).
    pub private: Option<SocketAddr>,
    /// The JSON gateway.
    pub json: Option<SocketAddr>,
    /// The per-client rate limit of the public and JSON listeners (`None`: off).
    pub rate_limit: Option<RateLimit>,
}

impl ApiListeners {
    /// The defaults of a node: public gRPC 127.0.0.1:9092, private 127.0.0.1:9093, JSON
    /// 127.0.0.1:9094, [`RateLimit::DEFAULT`].
    pub fn defaults() -> Self {
        ApiListeners {
            public: Some(([127, 0, 0, 1], 9092).into()),
            private: Some(([127, 0, 0, 1], 9093).into()),
            json: Some(([127, 0, 0, 1], 9094).into()),
            rate_limit: Some(RateLimit::DEFAULT),
        }
    }
}

/// A peer to dial: its key and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapPeer {
    /// The peer's p2p key.
    pub id: PeerId,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// A PoET server: its service key and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoetAddr {
    /// The service's key.
    pub id: NodeId,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// A configuration value is wrong.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Which value (`p2p.bootstrap[1]`, `--units`).
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

fn bad(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

/// Everything a real node runs with, checked.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// The preset the values came from.
    pub preset: Preset,
    /// Keys and store live here.
    pub data_dir: PathBuf,
    /// The network.
    pub genesis: GenesisId,
    /// Layer and PoET timing (genesis included).
    pub clock: LayerClock,
    /// PoST parameters.
    pub post: PostConfig,
    /// Hare preround delay and round length.
    pub hare_timing: (Duration, Duration),
    /// Identities the network expects.
    pub identities: u32,
    /// Listen address for peers.
    pub listen: SocketAddr,
    /// Peers to dial first.
    pub bootstrap: Vec<BootstrapPeer>,
    /// Most connections.
    pub connections_max: usize,
    /// PoET servers (empty on a `local` node: it runs its own).
    pub poets: Vec<PoetAddr>,
    /// Whether this node smeshes, and with how many units.
    pub smeshing: Option<u32>,
    /// The PoST data directory (initialized by the node, or by `smesh post init` beforehand).
    pub post_dir: PathBuf,
    /// Status and metrics listener.
    pub metrics: Option<SocketAddr>,
    /// Where this node's rewards go (`None`: the identity's own account).
    pub coinbase: Option<Address>,
    /// The API listeners.
    pub api: ApiListeners,
}

impl ConfigFile {
    /// Parses a TOML file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|e| bad(origin.display().to_string(), e.to_string()))
    }

    /// Reads and parses a TOML file.
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(path.display().to_string(), format!("cannot read: {e}")))?;
        ConfigFile::parse(&text, path)
    }

    /// The file as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a config file always serializes")
    }

    /// Checks every value and fills the rest from the preset (`preset` when the file names
    /// none; `local` when neither does). `genesis_time` is used when the file has none.
    pub fn resolve(
        &self,
        preset: Option<Preset>,
        genesis_time: Option<u64>,
    ) -> Result<NodeSettings, ConfigError> {
        let preset = self.preset.or(preset).unwrap_or(Preset::Local);
        let defaults = preset.clock();
        let ms = |v: Option<u64>, d: Option<u64>, key: &str| -> Result<Duration, ConfigError> {
            match v.or(d) {
                Some(0) | None => Err(bad(format!("clock.{key}"), "must be positive")),
                Some(ms) => Ok(Duration::from_millis(ms)),
            }
        };
        let c = &self.clock;
        let genesis_secs = self.network.genesis_time.or(genesis_time).ok_or_else(|| {
            bad("network.genesis_time", "missing: the Unix time of layer 0 of the network")
        })?;
        let clock = LayerClock {
            genesis: Time::from_secs(genesis_secs),
            layer_duration: ms(
                c.layer_duration_ms,
                defaults.layer_duration_ms,
                "layer_duration_ms",
            )?,
            layers_per_epoch: c
                .layers_per_epoch
                .or(defaults.layers_per_epoch)
                .filter(|&n| n > 0)
                .ok_or_else(|| bad("clock.layers_per_epoch", "must be positive"))?,
            poet_phase_shift: ms(
                c.poet_phase_shift_ms,
                defaults.poet_phase_shift_ms,
                "poet_phase_shift_ms",
            )?,
            poet_cycle_gap: ms(
                c.poet_cycle_gap_ms,
                defaults.poet_cycle_gap_ms,
                "poet_cycle_gap_ms",
            )?,
            poet_grace_period: ms(
                c.poet_grace_period_ms,
                defaults.poet_grace_period_ms,
                "poet_grace_period_ms",
            )?,
        };
        clock.validate().map_err(|m| bad("clock", m))?;
        let post = preset.post();
        let extra = self.network.genesis_extra.clone().unwrap_or_else(|| preset.name().into());
        let genesis = genesis_id(genesis_secs, &extra);
        let identities = self.network.identities.unwrap_or(1);
        if identities == 0 {
            return Err(bad("network.identities", "must be at least 1"));
        }
        let bootstrap = self
            .p2p
            .bootstrap
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| {
                let (id, addr) =
                    parse_keyed_addr(s).map_err(|m| bad(format!("p2p.bootstrap[{i}]"), m))?;
                Ok(BootstrapPeer { id: PeerId(id), addr })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let poets = self
            .poet
            .servers
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| {
                let (id, addr) =
                    parse_keyed_addr(s).map_err(|m| bad(format!("poet.servers[{i}]"), m))?;
                Ok(PoetAddr { id: NodeId(id), addr })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let smeshing = match self.smeshing.enabled.unwrap_or(true) {
            false => None,
            true => {
                let units = self.smeshing.units.unwrap_or(post.min_units);
                if units < post.min_units || units > post.max_units {
                    return Err(bad(
                        "smeshing.units",
                        format!(
                            "{units} is outside the {} preset's {}..={} units",
                            preset.name(),
                            post.min_units,
                            post.max_units
                        ),
                    ));
                }
                Some(units)
            }
        };
        if smeshing.is_some() && poets.is_empty() && preset != Preset::Local {
            return Err(bad(
                "poet.servers",
                "a smeshing node needs at least one PoET server (SERVICE_ID_HEX@HOST:PORT); only the local preset runs its own",
            ));
        }
        let connections_max = self.p2p.connections_max.unwrap_or(16);
        if connections_max == 0 {
            return Err(bad("p2p.connections_max", "must be at least 1"));
        }
        let coinbase = match &self.smeshing.coinbase {
            None => None,
            Some(text) => Some(
                Address::from_bech32(text, preset.hrp())
                    .map_err(|e| bad("smeshing.coinbase", format!("{text:?}: {e}")))?,
            ),
        };
        if let Some(addr) = self.api.private_listen.filter(|a| !a.ip().is_loopback()) {
            return Err(bad(
                "api.private_listen",
                format!("{addr} is not a loopback address (the private services stay local)"),
            ));
        }
        let data_dir = self.data_dir.clone().unwrap_or_else(|| preset.default_data_dir());
        Ok(NodeSettings {
            preset,
            post_dir: self.smeshing.post_dir.clone().unwrap_or_else(|| data_dir.join("post")),
            data_dir,
            genesis,
            clock,
            post,
            hare_timing: preset.hare_timing(),
            identities,
            listen: self.p2p.listen.unwrap_or_else(|| ([127, 0, 0, 1], 7513).into()),
            bootstrap,
            connections_max,
            poets,
            smeshing,
            metrics: self.metrics.listen,
            coinbase,
            api: ApiListeners {
                public: self.api.public_listen,
                private: self.api.private_listen,
                json: self.api.json_listen,
                rate_limit: self.api.rate_limit()?,
            },
        })
    }
}

impl NodeSettings {
    /// The consensus configuration these settings describe, smeshing with `poets`.
    pub fn consensus(&self, poets: Vec<NodeId>) -> ConsensusConfig {
        let mut c = ConsensusConfig::sim(self.clock.genesis, self.identities, poets);
        let lpe = self.clock.layers_per_epoch;
        c.clock = self.clock;
        c.post = self.post;
        c.ballot = spacemesh_core::ballot::BallotConfig::sim(self.identities, lpe);
        c.tortoise = spacemesh_core::tortoise::TortoiseConfig::sim(
            lpe,
            self.identities.div_ceil(lpe).max(1),
        );
        (c.hare.preround_delay, c.hare.round_duration) = self.hare_timing;
        // Keep the whole history (ballots and ATX bytes) to serve peers that were away for any
        // length, and accept old ballots while catching up. The simulator keeps a window to
        // bound the memory of a thousand nodes in one process; a real node's history is small
        // on the presets a devnet runs (its memory grows with it: keeping it on disk instead
        // is still to be built).
        c.ballot.window_layers = HISTORY_LAYERS;
        c.atx_epochs_kept = u32::MAX;
        c.active_sets_kept = u32::MAX;
        c.layers_kept = u32::MAX;
        // Real PoETs answer over HTTP on a network, not in simulated milliseconds.
        if let Some(b) = c.builder.as_mut() {
            b.poet_request_timeout = Duration::from_secs(5);
            b.poet_retry_interval = Duration::from_secs(2);
        }
        match self.smeshing {
            Some(units) => {
                if let Some(b) = c.builder.as_mut() {
                    b.num_units = units;
                    b.coinbase = self.coinbase.map(|a| a.0);
                }
            }
            None => c.builder = None,
        }
        c
    }
}

/// The network id: the first 20 bytes of BLAKE3 over the genesis time and extra data.
pub fn genesis_id(genesis_secs: u64, extra: &str) -> GenesisId {
    let mut h = blake3::Hasher::new();
    h.update(b"smesh/genesis");
    h.update(&genesis_secs.to_le_bytes());
    h.update(extra.as_bytes());
    let mut id = [0u8; 20];
    id.copy_from_slice(&h.finalize().as_bytes()[..20]);
    GenesisId(id)
}

/// Parses `KEY_HEX@HOST:PORT` (a 32-byte key as 64 hex digits).
pub fn parse_keyed_addr(s: &str) -> Result<([u8; 32], SocketAddr), String> {
    let expected = "expected KEY@HOST:PORT with a 64-hex-digit key";
    let (key, addr) = s.split_once('@').ok_or_else(|| format!("{expected}, got {s:?}"))?;
    let bytes = (0..key.len() / 2)
        .map(|i| key.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>();
    let key: [u8; 32] = bytes
        .filter(|_| key.len() == 64)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{expected}, got key {key:?}"))?;
    let addr = addr.parse().map_err(|e| format!("{expected}, got address {addr:?}: {e}"))?;
    Ok((key, addr))
}

/// Formats `KEY_HEX@HOST:PORT`.
pub fn keyed_addr(key: &[u8; 32], addr: SocketAddr) -> String {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}@{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<NodeSettings, ConfigError> {
        ConfigFile::parse(text, Path::new("node.toml"))?.resolve(None, Some(1_700_000_000))
    }

    /// An empty file is the local preset, smeshing one unit with its own PoET.
    #[test]
    fn empty_file_is_the_local_preset() {
        let s = resolve("").unwrap();
        assert_eq!(s.preset, Preset::Local);
        assert_eq!(s.clock.layer_duration, Duration::from_secs(10));
        assert_eq!(s.smeshing, Some(1));
        assert_eq!(s.post_dir, s.data_dir.join("post"));
        assert!(s.poets.is_empty());
        let c = s.consensus(Vec::new());
        assert_eq!(c.clock, s.clock);
        assert_eq!(c.builder.unwrap().num_units, 1);
    }

    /// File values override the preset, and a file round-trips through TOML.
    #[test]
    fn file_values_override_the_preset() {
        let key = "ab".repeat(32);
        let text = format!(
            "preset = \"fastnet\"\n[clock]\nlayer_duration_ms = 3000\n[p2p]\nbootstrap = [\"{key}@127.0.0.1:7000\"]\n[poet]\nservers = [\"{key}@127.0.0.1:9000\"]\n[smeshing]\nunits = 3\npost_dir = \"/big/post\"\n"
        );
        let file = ConfigFile::parse(&text, Path::new("x")).unwrap();
        assert_eq!(ConfigFile::parse(&file.to_toml(), Path::new("x")).unwrap(), file);
        let s = file.resolve(None, Some(1)).unwrap();
        assert_eq!(s.preset, Preset::Fastnet);
        assert_eq!(s.clock.layer_duration, Duration::from_secs(3));
        assert_eq!(s.clock.layers_per_epoch, 8, "the rest from the preset");
        assert_eq!(s.bootstrap[0].id, PeerId([0xab; 32]));
        assert_eq!(s.smeshing, Some(3));
        assert_eq!(s.post_dir, Path::new("/big/post"));
    }

    /// Wrong values name the value and what to write instead.
    #[test]
    fn errors_name_the_value() {
        let e = resolve("[p2p]\nbootstrap = [\"nope\"]").unwrap_err();
        assert_eq!(e.key, "p2p.bootstrap[0]");
        assert!(e.message.contains("KEY@HOST:PORT"), "{e}");
        let e = resolve("[smeshing]\nunits = 9").unwrap_err();
        assert!(e.to_string().starts_with("smeshing.units: 9 is outside"), "{e}");
        let e = resolve("[clock]\nlayer_duration_ms = 0").unwrap_err();
        assert_eq!(e.key, "clock.layer_duration_ms");
        let e = resolve("[p2p]\nlisen = \"1.2.3.4:5\"").unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        let e = resolve("preset = \"moonnet\"").unwrap_err();
        assert!(e.message.contains("unknown variant"), "{e}");
        let e = resolve("preset = \"testnet\"").unwrap_err();
        assert_eq!(e.key, "poet.servers", "only local runs its own PoET");
        let e = resolve("preset = \"mainnet\"").unwrap_err();
        assert_eq!(e.key, "poet.servers", "mainnet smeshing needs PoETs, and is allowed");
        assert!(resolve("preset = \"mainnet\"\n[smeshing]\nenabled = false").is_ok());
        let poet = format!("[poet]\nservers = [\"{}@127.0.0.1:9000\"]", "ab".repeat(32));
        let s = resolve(&format!("preset = \"mainnet\"\n{poet}")).unwrap();
        assert_eq!(s.smeshing, Some(s.post.min_units), "PoST data on disk: mainnet smeshes");
        let e = ConfigFile::default().resolve(None, None).unwrap_err();
        assert_eq!(e.key, "network.genesis_time");
    }

    /// `[api]`'s rate limit: 100/s with bursts of 200 by default, the burst twice a set rate
    /// unless set, off with a rate of 0, and a burst of 0 refused.
    #[test]
    fn api_rate_limit_keys() {
        let limit = |text: &str| resolve(text).map(|s| s.api.rate_limit);
        assert_eq!(limit("").unwrap(), Some(RateLimit { rate_per_second: 100, burst: 200 }));
        let set = limit("[api]\nrate_per_second = 5").unwrap();
        assert_eq!(set, Some(RateLimit { rate_per_second: 5, burst: 10 }));
        let both = limit("[api]\nrate_per_second = 5\nburst = 1").unwrap();
        assert_eq!(both, Some(RateLimit { rate_per_second: 5, burst: 1 }));
        assert_eq!(limit("[api]\nrate_per_second = 0").unwrap(), None);
        assert_eq!(limit("[api]\nburst = 0").unwrap_err().key, "api.burst");
    }

    /// A coinbase of the preset's network reaches the ATX builder; another network's address
    /// is an error naming the key; none leaves the identity's default.
    #[test]
    fn coinbase_is_checked_and_used() {
        let a = Address::from_hash_tail(&[4; 32]);
        let s = resolve(&format!("[smeshing]\ncoinbase = \"{}\"", a.to_bech32("stest"))).unwrap();
        assert_eq!(s.coinbase, Some(a));
        assert_eq!(s.consensus(Vec::new()).builder.unwrap().coinbase, Some(a.0));
        let e = resolve(&format!("[smeshing]\ncoinbase = \"{}\"", a.to_bech32("sm"))).unwrap_err();
        assert_eq!(e.key, "smeshing.coinbase");
        assert!(e.message.contains("network `sm`, not `stest`"), "{e}");
        assert_eq!(resolve("").unwrap().consensus(Vec::new()).builder.unwrap().coinbase, None);
        assert_eq!(Preset::Mainnet.hrp(), "sm");
        assert_eq!(Preset::Fastnet.hrp(), "stest");
    }

    /// Different genesis data, different networks.
    #[test]
    fn genesis_id_depends_on_time_and_extra() {
        assert_ne!(genesis_id(1, "a"), genesis_id(2, "a"));
        assert_ne!(genesis_id(1, "a"), genesis_id(1, "b"));
        assert_eq!(genesis_id(1, "a"), genesis_id(1, "a"));
    }

    /// Keyed addresses round-trip.
    #[test]
    fn keyed_addr_round_trips() {
        let addr: SocketAddr = "127.0.0.1:7513".parse().unwrap();
        let s = keyed_addr(&[7; 32], addr);
        assert_eq!(parse_keyed_addr(&s), Ok(([7; 32], addr)));
        assert!(parse_keyed_addr(&s[1..]).is_err());
    }
}
