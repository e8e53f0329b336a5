//! `smesh faucet serve`: hands out coins of one wallet account over HTTP, through a node's
//! account API.
//!
//! - `cooldown`: per-address and per-IP cooldowns in a checksummed append-only file.
//! - `nonce`: the single sender that submits payments with consecutive nonces.
//! - `server`: the HTTP routes (`POST /request`, the form at `/`).
//! - `log`: the request log (JSON lines).
//!
//! The client IP is the TCP peer's address: behind a reverse proxy every request would share
//! the proxy's, so run it reachable directly (or put the per-IP limit in the proxy).

pub(crate) mod cooldown;
pub(crate) mod log;
pub(crate) mod nonce;
pub(crate) mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use spacemesh_core::account::Address;
use spacemesh_runtime_real::account_api::SubmitAnswer;
use tokio::sync::mpsc;

use crate::wallet::client::NodeClient;
use crate::wallet::file::Wallet;
use crate::wallet::keys::{account_key, wallet_address};
use crate::wallet::txs::Signing;

/// Payments that may wait for the sender.
const QUEUE_MAX: usize = 64;

/// How the faucet runs.
#[derive(Debug, Clone)]
pub(crate) struct FaucetConfig {
    /// The node's API.
    pub(crate) node: String,
    /// The wallet file paying.
    pub(crate) wallet: PathBuf,
    /// Which account of it.
    pub(crate) account: u32,
    /// Where to listen.
    pub(crate) listen: SocketAddr,
    /// Smidge per payment.
    pub(crate) amount: u64,
    /// Seconds between payments to one address or IP.
    pub(crate) cooldown_secs: u64,
    /// Smidge per gas.
    pub(crate) gas_price: u64,
    /// Cooldowns and the request log.
    pub(crate) data: PathBuf,
}

/// The node as the faucet uses it.
#[derive(Debug, Clone)]
struct FaucetNode {
    client: NodeClient,
    account: Address,
    hrp: String,
}

impl nonce::SenderNode for FaucetNode {
    async fn projected_nonce(&self) -> Result<u64, String> {
        let a = self.client.account(&self.account, &self.hrp).await.map_err(|e| e.to_string())?;
        Ok(a.state.projected_nonce)
    }

    async fn submit(&self, raw: Vec<u8>) -> Result<SubmitAnswer, String> {
        self.client.submit(raw).await.map_err(|e| e.to_string())
    }
}

impl server::SyncSource for FaucetNode {
    async fn synced(&self) -> Result<bool, String> {
        self.client.node().await.map(|n| n.synced).map_err(|e| e.to_string())
    }
}

/// Runs the faucet until Ctrl-C.
pub(crate) async fn serve(cfg: FaucetConfig) -> Result<()> {
    let wallet = Wallet::load(&cfg.wallet)?;
    if !wallet.accounts.iter().any(|a| a.index == cfg.account) {
        bail!("--account {}: the wallet has {} accounts", cfg.account, wallet.accounts.len());
    }
    let key = account_key(&wallet.mnemonic, cfg.account);
    let address = wallet_address(&key.public_key());
    let client = NodeClient::new(&cfg.node)?;
    let network = client.network().await?;
    let account = client.account(&address, &network.hrp).await?;
    if account.state.template.as_deref() != Some("wallet") {
        bail!(
            "the faucet account {} is not a spawned wallet; fund it and run `smesh wallet spawn`",
            account.address
        );
    }
    std::fs::create_dir_all(&cfg.data)
        .with_context(|| format!("creating {}", cfg.data.display()))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let cooldowns = cooldown::Cooldowns::open(&cfg.data.join("cooldowns"), cfg.cooldown_secs, now)?;
    let log = log::RequestLog::open(&cfg.data.join("requests.jsonl"))?;
    let node = FaucetNode { client, account: address, hrp: network.hrp.clone() };

    let (payments, queue) = mpsc::channel(QUEUE_MAX);
    let (genesis, gas_price, amount) = (network.genesis, cfg.gas_price, cfg.amount);
    let sign = move |nonce, to| Signing { key: &key, genesis, gas_price }.spend(nonce, to, amount);
    tokio::spawn(nonce::run(node.clone(), sign, queue));

    let faucet = Arc::new(server::Faucet {
        node,
        hrp: network.hrp.clone(),
        amount: cfg.amount,
        cooldowns: Mutex::new(cooldowns),
        log: Mutex::new(log),
        payments,
    });
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    progress!(
        "faucet of {} on http://{} ({} smidge per request, cooldown {} s, balance {})",
        address.to_bech32(&network.hrp),
        listener.local_addr()?,
        cfg.amount,
        cfg.cooldown_secs,
        account.state.projected_balance
    );
    let app = server::router(faucet).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the faucet")
}

#[cfg(test)]
mod tests;
