//! What each `smesh wallet` subcommand does. Secrets (the mnemonic, secret keys) are printed
//! only with `--show-secret`.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use spacemesh_core::account::{Address, Template};
use spacemesh_core::tx::{SpawnArgs, Spawned, TxKey, parse};
use spacemesh_core::types::Hash32;
use spacemesh_runtime_real::account_api::{AccountInfo, TxStatusInfo};

use super::amount::format_amount;
use super::client::{NodeClient, NodeNetwork};
use super::file::Wallet;
use super::keys::{account_key, account_secret, new_mnemonic, parse_mnemonic, wallet_address};
use super::txlog::{self, SentTx};
use super::txs::{Signing, multisig_args, vault_args};

/// `create`: a new mnemonic and wallet file.
pub(crate) fn create(
    file: &Path,
    words: usize,
    accounts: u32,
    force: bool,
    show_secret: bool,
) -> Result<ExitCode> {
    let wallet = Wallet::new(new_mnemonic(words)?, accounts.max(1), file.to_owned());
    wallet.save(force)?;
    out!("created wallet {} ({words} words, mode 0600)", file.display());
    if show_secret {
        out!("mnemonic: {}", wallet.mnemonic);
    } else {
        out!(
            "write the mnemonic down: `smesh wallet show --show-secret --file {}`",
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `recover`: a wallet file from a mnemonic read from stdin.
pub(crate) fn recover(file: &Path, accounts: u32, force: bool) -> Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("reading the mnemonic from stdin")?;
    let mnemonic = parse_mnemonic(&text)?;
    let wallet = Wallet::new(mnemonic, accounts.max(1), file.to_owned());
    wallet.save(force)?;
    out!("recovered wallet {} (mode 0600)", file.display());
    Ok(ExitCode::SUCCESS)
}

/// `show`: accounts, addresses and public keys (and secrets when asked).
pub(crate) fn show(file: &Path, hrp: &str, show_secret: bool) -> Result<ExitCode> {
    let wallet = Wallet::load(file)?;
    out!("wallet {}", file.display());
    if show_secret {
        out!("mnemonic: {}", wallet.mnemonic);
    }
    for a in &wallet.accounts {
        let pk = account_key(&wallet.mnemonic, a.index).public_key();
        out!("account {} ({})", a.index, a.path);
        out!("  address     {}", wallet_address(&pk).to_bech32(hrp));
        out!("  public key  {}", hex::encode(pk));
        if show_secret {
            out!("  secret key  {}", hex::encode(account_secret(&wallet.mnemonic, a.index)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An account of a loaded wallet, with the node it talks to.
pub(crate) struct Session {
    /// The wallet file.
    pub(crate) file: PathBuf,
    /// The account's key.
    pub(crate) key: TxKey,
    /// Its wallet address.
    pub(crate) address: Address,
    /// The node.
    pub(crate) client: NodeClient,
    /// The node's network.
    pub(crate) network: NodeNetwork,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({:?})", self.address)
    }
}

impl Session {
    /// Loads account `index` of the wallet at `file` and asks `node` for its network.
    pub(crate) async fn open(file: &Path, index: u32, node: &str) -> Result<Session> {
        let wallet = Wallet::load(file)?;
        if !wallet.accounts.iter().any(|a| a.index == index) {
            bail!(
                "--account {index}: the wallet has accounts 0 to {}",
                wallet.accounts.len().saturating_sub(1)
            );
        }
        let key = account_key(&wallet.mnemonic, index);
        let address = wallet_address(&key.public_key());
        let client = NodeClient::new(node)?;
        let network = client.network().await?;
        Ok(Session { file: file.to_owned(), key, address, client, network })
    }

    /// The account as the node sees it.
    pub(crate) async fn account(&self) -> Result<AccountInfo> {
        Ok(self.client.account(&self.address, &self.network.hrp).await?)
    }

    fn signing(&self, gas_price: u64) -> Signing<'_> {
        Signing { key: &self.key, genesis: self.network.genesis, gas_price }
    }

    /// Reads an address of the node's network.
    pub(crate) fn address_of(&self, text: &str) -> Result<Address> {
        Address::from_bech32(text.trim(), &self.network.hrp).with_context(|| {
            format!("address {text:?} (the node is on the `{}` network)", self.network.hrp)
        })
    }

    /// Submits `raw`, logs it beside the wallet and prints the outcome; an error when the node
    /// refused it.
    async fn submit(
        &self,
        raw: Vec<u8>,
        kind: &str,
        nonce: u64,
        to: Option<Address>,
        amount: u64,
    ) -> Result<()> {
        let answer = self.client.submit(raw).await?;
        let hrp = &self.network.hrp;
        txlog::append(
            &self.file,
            &SentTx {
                time: unix_now(),
                id: answer.id.clone(),
                kind: kind.into(),
                principal: self.address.to_bech32(hrp),
                nonce,
                to: to.map(|a| a.to_bech32(hrp)),
                amount,
                accepted: answer.accepted,
                reason: answer.reason.clone(),
            },
        )?;
        if !answer.accepted {
            bail!(
                "the node refused {kind} {}: {}",
                answer.id,
                answer.reason.unwrap_or_else(|| "no reason given".into())
            );
        }
        out!("{kind} sent: {} (nonce {nonce})", answer.id);
        Ok(())
    }
}

/// The wallet state of a spawned wallet account (what its transactions parse against).
fn wallet_state(key: &TxKey) -> Spawned {
    Spawned { template: Template::Wallet, args: SpawnArgs::Wallet { public_key: key.public_key() } }
}

/// The most a transaction can cost in fees: its maximum gas at its price.
fn max_fee(raw: &[u8], state: Option<&Spawned>, gas_price: u64) -> Result<u64> {
    let tx = parse(raw, state).context("a transaction this wallet built does not parse")?;
    Ok(tx.max_gas.saturating_mul(gas_price))
}

/// Refuses to send what the projected balance cannot pay.
fn check_funds(account: &AccountInfo, amount: u64, fee: u64) -> Result<()> {
    let need = amount.saturating_add(fee);
    if account.state.projected_balance < need {
        bail!(
            "insufficient funds: {} has a projected balance of {}, and this needs {} (amount \
             {} + at most {} in fees); fund the account or wait for pending transactions",
            account.address,
            format_amount(account.state.projected_balance),
            format_amount(need),
            amount,
            fee
        );
    }
    Ok(())
}

/// The account must be spawned before it can spend or spawn others.
fn check_spawned(account: &AccountInfo) -> Result<()> {
    match account.state.template.as_deref() {
        Some("wallet") => Ok(()),
        Some(other) => bail!("{} is a {other} account, not a wallet", account.address),
        None => bail!(
            "{} is not spawned yet: fund it, then run `smesh wallet spawn` and wait for it to \
             execute",
            account.address
        ),
    }
}

/// `balance`.
pub(crate) async fn balance(file: &Path, index: u32, node: &str) -> Result<ExitCode> {
    let s = Session::open(file, index, node).await?;
    let a = s.account().await?;
    out!("account {} {}", index, a.address);
    out!("  balance            {}", format_amount(a.state.balance));
    out!("  projected balance  {}", format_amount(a.state.projected_balance));
    out!("  next nonce         {} (projected {})", a.state.next_nonce, a.state.projected_nonce);
    out!("  template           {}", a.state.template.as_deref().unwrap_or("not spawned"));
    out!("  as of layer        {}", a.state.layer);
    Ok(ExitCode::SUCCESS)
}

/// Options every sending command shares.
#[derive(Debug, Clone)]
pub(crate) struct SendOptions {
    /// Smidge per gas.
    pub(crate) gas_price: u64,
    /// The nonce, instead of the node's projected nonce.
    pub(crate) nonce: Option<u64>,
}

/// `send`.
pub(crate) async fn send(
    s: &Session,
    to: &str,
    amount: u64,
    opts: &SendOptions,
) -> Result<ExitCode> {
    let to = s.address_of(to)?;
    let account = s.account().await?;
    check_spawned(&account)?;
    let nonce = opts.nonce.unwrap_or(account.state.projected_nonce);
    let raw = s.signing(opts.gas_price).spend(nonce, to, amount);
    check_funds(&account, amount, max_fee(&raw, Some(&wallet_state(&s.key)), opts.gas_price)?)?;
    s.submit(raw, "spend", nonce, Some(to), amount).await?;
    Ok(ExitCode::SUCCESS)
}

/// `spawn`: the wallet account spawns itself.
pub(crate) async fn spawn(s: &Session, opts: &SendOptions) -> Result<ExitCode> {
    let account = s.account().await?;
    if account.state.template.is_some() {
        bail!("{} is already spawned", account.address);
    }
    let nonce = opts.nonce.unwrap_or(account.state.projected_nonce);
    let raw = s.signing(opts.gas_price).self_spawn(nonce);
    check_funds(&account, 0, max_fee(&raw, None, opts.gas_price)?)?;
    s.submit(raw, "spawn", nonce, None, 0).await?;
    Ok(ExitCode::SUCCESS)
}

/// Reads `--keys HEX,HEX,...`.
pub(crate) fn parse_keys(text: &str) -> Result<Vec<[u8; 32]>> {
    text.split(',')
        .map(|k| {
            let k = k.trim();
            let bytes = hex::decode(k.strip_prefix("0x").unwrap_or(k))
                .with_context(|| format!("--keys: {k:?} is not hex"))?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| anyhow::anyhow!("--keys: {k:?} is not a 32-byte ed25519 public key"))
        })
        .collect()
}

/// `spawn-multisig`: the wallet pays to spawn a k-of-n multisig account.
pub(crate) async fn spawn_multisig(
    s: &Session,
    keys: &[[u8; 32]],
    required: u8,
    opts: &SendOptions,
) -> Result<ExitCode> {
    let args = SpawnArgs::Multisig(multisig_args(keys, required)?);
    let account = s.account().await?;
    check_spawned(&account)?;
    let nonce = opts.nonce.unwrap_or(account.state.projected_nonce);
    let (raw, address) = s.signing(opts.gas_price).spawn(nonce, Template::Multisig, args);
    check_funds(&account, 0, max_fee(&raw, Some(&wallet_state(&s.key)), opts.gas_price)?)?;
    s.submit(raw, "spawn-multisig", nonce, Some(address), 0).await?;
    out!("multisig account ({required} of {}): {}", keys.len(), address.to_bech32(&s.network.hrp));
    Ok(ExitCode::SUCCESS)
}

/// The vault of `spawn-vesting`.
#[derive(Debug, Clone)]
pub(crate) struct VaultPlan {
    /// Coins the vault vests.
    pub(crate) total: u64,
    /// Coins free from the start.
    pub(crate) initial_unlock: u64,
    /// First layer of vesting.
    pub(crate) start: u32,
    /// Layer at which everything is vested.
    pub(crate) end: u32,
}

/// `spawn-vesting`: the wallet pays to spawn a vesting account (a multisig that may drain a
/// vault) and the vault it owns, as two transactions with consecutive nonces. Coins go to the
/// vault afterwards with `send`.
pub(crate) async fn spawn_vesting(
    s: &Session,
    keys: &[[u8; 32]],
    required: u8,
    vault: &VaultPlan,
    opts: &SendOptions,
) -> Result<ExitCode> {
    let vesting_args = SpawnArgs::Multisig(multisig_args(keys, required)?);
    let account = s.account().await?;
    check_spawned(&account)?;
    let nonce = opts.nonce.unwrap_or(account.state.projected_nonce);
    let signing = s.signing(opts.gas_price);
    let (raw_vesting, vesting) = signing.spawn(nonce, Template::Vesting, vesting_args);
    let vault_args = SpawnArgs::Vault(vault_args(
        vesting,
        vault.total,
        vault.initial_unlock,
        vault.start,
        vault.end,
    )?);
    let (raw_vault, vault_address) = signing.spawn(nonce + 1, Template::Vault, vault_args);
    let state = wallet_state(&s.key);
    let fees = max_fee(&raw_vesting, Some(&state), opts.gas_price)?.saturating_add(max_fee(
        &raw_vault,
        Some(&state),
        opts.gas_price,
    )?);
    check_funds(&account, 0, fees)?;
    s.submit(raw_vesting, "spawn-vesting", nonce, Some(vesting), 0).await?;
    s.submit(raw_vault, "spawn-vault", nonce + 1, Some(vault_address), 0).await?;
    let hrp = &s.network.hrp;
    out!("vesting account ({required} of {}): {}", keys.len(), vesting.to_bech32(hrp));
    out!(
        "vault: {} (fund it with `smesh wallet send --to` this address)",
        vault_address.to_bech32(hrp)
    );
    Ok(ExitCode::SUCCESS)
}

/// `list`: the logged transactions with their status at the node.
pub(crate) async fn list(file: &Path, node: &str) -> Result<ExitCode> {
    Wallet::load(file)?;
    let client = NodeClient::new(node)?;
    let sent = txlog::read(file)?;
    if sent.is_empty() {
        out!("no transactions sent from {}", file.display());
    }
    for tx in sent {
        let status = if !tx.accepted {
            format!("refused: {}", tx.reason.as_deref().unwrap_or("no reason given"))
        } else {
            match Hash32::from_hex(&tx.id) {
                None => "bad id in the log".to_owned(),
                Some(id) => match client.tx_status(&id).await {
                    Ok(a) => status_text(&a.status),
                    Err(e) if e.is_not_found() => "unknown to the node (dropped)".to_owned(),
                    Err(e) => return Err(e.into()),
                },
            }
        };
        let to = tx.to.as_deref().map(|t| format!(" to {t}")).unwrap_or_default();
        out!(
            "{} {} nonce {} {}{to} amount {}: {status}",
            tx.id,
            tx.kind,
            tx.nonce,
            tx.principal,
            tx.amount
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status_text(status: &TxStatusInfo) -> String {
    match status {
        TxStatusInfo::Pending => "pending".into(),
        TxStatusInfo::Executed { layer, fee, failure: None } => {
            format!("executed in layer {layer}, fee {fee}")
        }
        TxStatusInfo::Executed { layer, fee, failure: Some(f) } => {
            format!("failed in layer {layer} ({f}), fee {fee}")
        }
        TxStatusInfo::Ineffective { layer, reason } => {
            format!("ineffective in layer {layer}: {reason}")
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacemesh_runtime_real::account_api::AccountState;

    fn account(template: Option<&str>, projected_balance: u64) -> AccountInfo {
        AccountInfo {
            address: "stest1example".into(),
            state: AccountState {
                balance: projected_balance,
                next_nonce: 0,
                template: template.map(str::to_owned),
                projected_balance,
                projected_nonce: 0,
                layer: 0,
            },
        }
    }

    /// A send that the projected balance cannot pay (amount plus the most fee) is refused
    /// with both numbers; an unspawned or non-wallet account is told what to do.
    #[test]
    fn funds_and_spawn_checks() {
        assert!(check_funds(&account(Some("wallet"), 100), 60, 40).is_ok());
        let err = check_funds(&account(Some("wallet"), 100), 61, 40).unwrap_err().to_string();
        assert!(err.contains("insufficient funds") && err.contains("101 smidge"), "{err}");
        assert!(check_spawned(&account(None, 0)).unwrap_err().to_string().contains("wallet spawn"));
        assert!(check_spawned(&account(Some("vault"), 0)).is_err());
        assert!(check_spawned(&account(Some("wallet"), 0)).is_ok());
    }

    /// `--keys` reads comma-separated 32-byte hex keys and names the one that is wrong.
    #[test]
    fn keys_parse() {
        let a = hex::encode([1u8; 32]);
        let b = hex::encode([2u8; 32]);
        assert_eq!(parse_keys(&format!("{a}, 0x{b}")).unwrap(), vec![[1; 32], [2; 32]]);
        assert!(parse_keys(&format!("{a},zz")).unwrap_err().to_string().contains("\"zz\""));
        assert!(parse_keys("abcd").unwrap_err().to_string().contains("32-byte"));
    }

    /// The fee bound is the parsed transaction's maximum gas at its price.
    #[test]
    fn fee_bound() {
        let key = TxKey::from_seed([1; 32]);
        let s =
            Signing { key: &key, genesis: spacemesh_core::types::GenesisId([0; 20]), gas_price: 3 };
        let raw = s.spend(0, Address::from_hash_tail(&[5; 32]), 1);
        let gas = parse(&raw, Some(&wallet_state(&key))).unwrap().max_gas;
        assert_eq!(max_fee(&raw, Some(&wallet_state(&key)), 3).unwrap(), 3 * gas);
        assert!(max_fee(&raw, None, 3).is_err(), "a spend of an unspawned state does not parse");
    }
}
