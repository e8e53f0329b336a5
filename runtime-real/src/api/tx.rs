//! Transactions as the API shows them: core's parse of the raw bytes (against the principal's
//! spawned state, which the node loop looks up) mapped onto the v2alpha1 `Transaction`, and
//! Transaction.List's request and answer.

use spacemesh_core::account::{Address, Template};
use spacemesh_core::mesh::TxResult;
use spacemesh_core::node::consensus::{ListedState, ListedTx, TxQuery, tx_addresses};
use spacemesh_core::tx::{Call, ParsedTx, SpawnArgs};
use spacemesh_core::types::{BlockId, Hash32, LayerId};
use tonic::Status;

use super::proto::spacemesh::v2alpha1 as pb;

/// Most transactions one Transaction.List answers with (go-spacemesh's bound too).
pub(crate) const TXS_MAX: u64 = 100;
/// Most ids one Transaction.List may filter by.
pub(crate) const TX_IDS_MAX: usize = 100;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The v2alpha1 form of `tx` (`raw` its bytes): bech32 addresses of network `hrp`, public keys
/// as hex (as go-spacemesh prints them).
pub(crate) fn proto_tx(tx: &ParsedTx, raw: &[u8], hrp: &str) -> pb::Transaction {
    use pb::transaction::TransactionType as T;
    use pb::transaction_contents::Contents;
    let body = &tx.body;
    let signer = tx.signer.template;
    let (method, kind, contents) = match &body.call {
        Call::Spend(s) => {
            let kind = if signer == Template::Wallet { T::SingleSigSend } else { T::MultiSigSend };
            let send =
                pb::ContentsSend { destination: s.destination.to_bech32(hrp), amount: s.amount };
            (spacemesh_core::tx::METHOD_SPEND, kind, Contents::Send(send))
        }
        Call::Drain(d) => {
            let drain = pb::ContentsDrainVault {
                vault: d.vault.to_bech32(hrp),
                destination: d.destination.to_bech32(hrp),
                amount: d.amount,
            };
            (spacemesh_core::tx::METHOD_DRAIN_VAULT, T::DrainVault, Contents::DrainVault(drain))
        }
        Call::Spawn { template, args } => {
            let multisig = |m: &spacemesh_core::tx::MultisigArgs| pb::ContentsMultiSigSpawn {
                required: u32::from(m.required),
                pubkey: m.public_keys.iter().map(|k| hex(k)).collect(),
            };
            let (kind, contents) = match (template, args) {
                (_, SpawnArgs::Wallet { public_key }) => (
                    T::SingleSigSpawn,
                    Contents::SingleSigSpawn(pb::ContentsSingleSigSpawn {
                        pubkey: hex(public_key),
                    }),
                ),
                (Template::Vesting, SpawnArgs::Multisig(m)) => {
                    (T::VestingSpawn, Contents::VestingSpawn(multisig(m)))
                }
                (_, SpawnArgs::Multisig(m)) => {
                    (T::MultiSigSpawn, Contents::MultiSigSpawn(multisig(m)))
                }
                (_, SpawnArgs::Vault(v)) => (
                    T::VaultSpawn,
                    Contents::VaultSpawn(pb::ContentsVaultSpawn {
                        owner: v.owner.to_bech32(hrp),
                        total_amount: v.total_amount,
                        initial_unlock_amount: v.initial_unlock_amount,
                        vesting_start: v.vesting_start.0,
                        vesting_end: v.vesting_end.0,
                    }),
                ),
            };
            (spacemesh_core::tx::METHOD_SPAWN, kind, contents)
        }
    };
    // The template of the principal: the one it spawns itself as, else the one it has.
    let template = match &body.call {
        Call::Spawn { template, .. } if tx.self_spawn => *template,
        _ => signer,
    };
    pb::Transaction {
        id: spacemesh_core::tx::tx_id(raw).0.to_vec(),
        principal: body.principal.to_bech32(hrp),
        template: template.address().to_bech32(hrp),
        method: u32::from(method),
        nonce: Some(pb::Nonce { counter: body.nonce }),
        max_gas: tx.max_gas,
        gas_price: body.gas_price,
        max_spend: tx.max_spend,
        raw: raw.to_vec(),
        r#type: kind.into(),
        contents: Some(pb::TransactionContents { contents: Some(contents) }),
    }
}

/// The node query of a Transaction.List request (`address` already decoded): `limit` must be
/// 1..=[`TXS_MAX`], ids 32 bytes (at most [`TX_IDS_MAX`]), `end_layer` not below
/// `start_layer`. `sort_order` orders by layer (pending transactions count as the newest).
pub(crate) fn list_query(
    r: &pb::TransactionRequest,
    address: Option<Address>,
) -> Result<TxQuery, Status> {
    if r.limit == 0 {
        return Err(Status::invalid_argument("limit must be set (1 to the maximum)"));
    }
    if r.limit > TXS_MAX {
        return Err(Status::invalid_argument(format!("limit is capped at {TXS_MAX}")));
    }
    if let (Some(start), Some(end)) = (r.start_layer, r.end_layer)
        && end < start
    {
        return Err(Status::invalid_argument("end_layer is below start_layer"));
    }
    if r.txid.len() > TX_IDS_MAX {
        return Err(Status::invalid_argument(format!(
            "txid names {} ids; at most {TX_IDS_MAX} per request",
            r.txid.len()
        )));
    }
    let ids = r
        .txid
        .iter()
        .map(|b| {
            <[u8; 32]>::try_from(b.as_slice()).map(Hash32).map_err(|_| {
                Status::invalid_argument(format!("txid must be 32 bytes, not {}", b.len()))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(TxQuery {
        start_layer: r.start_layer.map(LayerId),
        end_layer: r.end_layer.map(LayerId),
        ids,
        address,
        descending: r.sort_order == i32::from(pb::SortOrder::Desc),
        offset: usize::try_from(r.offset).unwrap_or(usize::MAX),
        limit: usize::try_from(r.limit).unwrap_or(usize::MAX),
    })
}

/// One Transaction.List entry: the transaction, and when asked its state and result.
///
/// State `MEMPOOL` while pending; applied ones as [`proto_tx_result`] tells.
pub(crate) fn proto_listed(
    t: &ListedTx,
    hrp: &str,
    include_state: bool,
    include_result: bool,
) -> pb::TransactionResponse {
    let tx = match &t.parsed {
        Some(parsed) => proto_tx(parsed, &t.raw, hrp),
        // Bytes a block carried that do not parse: only what they are.
        None => pb::Transaction {
            id: t.id.0.to_vec(),
            principal: spacemesh_core::tx::principal_of(&t.raw)
                .map(|a| a.to_bech32(hrp))
                .unwrap_or_default(),
            raw: t.raw.to_vec(),
            ..Default::default()
        },
    };
    let (state, result) = match &t.state {
        ListedState::Pending => (pb::TransactionState::Mempool, None),
        ListedState::Applied { layer, block, result } => {
            let (state, result) = proto_tx_result(t.parsed.as_ref(), result, *layer, *block, hrp);
            (state, Some(result))
        }
    };
    pb::TransactionResponse {
        tx: Some(tx),
        tx_result: if include_result { result } else { None },
        tx_state: include_state.then_some(state.into()),
    }
}

/// The state and result of a transaction that layer `layer` (in `block`, if known) applied
/// with `result`; `parsed` its parse, if it parses.
///
/// State `PROCESSED` once executed (succeeded or failed after paying), `INEFFECTUAL` when its
/// block carried it without effect. Result `SUCCESS`, `FAILURE` or `INVALID` with the reason,
/// the fee and the gas it paid for, and the accounts it touched (the principal when it paid,
/// and whom it sent to when it succeeded).
pub(crate) fn proto_tx_result(
    parsed: Option<&ParsedTx>,
    result: &TxResult,
    layer: LayerId,
    block: Option<BlockId>,
    hrp: &str,
) -> (pb::TransactionState, pb::TransactionResult) {
    use pb::transaction_result::Status as S;
    let (state, status) = match result.status {
        TxResult::SUCCEEDED => (pb::TransactionState::Processed, S::TransactionStatusSuccess),
        TxResult::FAILED => (pb::TransactionState::Processed, S::TransactionStatusFailure),
        _ => (pb::TransactionState::Ineffectual, S::TransactionStatusInvalid),
    };
    let touched: Vec<String> = match (parsed, status) {
        (Some(p), S::TransactionStatusSuccess) => {
            tx_addresses(p).iter().map(|a| a.to_bech32(hrp)).collect()
        }
        (Some(p), S::TransactionStatusFailure) => vec![p.body.principal.to_bech32(hrp)],
        _ => Vec::new(),
    };
    let gas_price = parsed.map_or(0, |p| p.body.gas_price);
    let result = pb::TransactionResult {
        status: status.into(),
        message: result.reason(),
        // The fee is the gas paid for times the gas price.
        gas_consumed: result.fee.checked_div(gas_price).unwrap_or(0),
        fee: result.fee,
        block: block.map(|b| b.0.to_vec()).unwrap_or_default(),
        layer: layer.0,
        touched_addresses: touched,
    };
    (state, result)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt as _;
    use pb::transaction_service_server::TransactionService;
    use spacemesh_core::tx::TxKey;
    use tonic::Request;
    use tower::ServiceExt as _;

    use super::*;
    use crate::api::tests::api;

    fn wallet(n: u8) -> String {
        TxKey::from_seed([n; 32]).wallet_address().to_bech32("stest")
    }

    async fn list(r: pb::TransactionRequest) -> Result<Vec<pb::TransactionResponse>, Status> {
        Ok(api().list(Request::new(r)).await?.into_inner().transactions)
    }

    #[tokio::test]
    async fn list_answers_state_and_result_when_asked() {
        // The fake node's applied spawn (layer 9) comes first, with state PROCESSED and its
        // result; the pending one is in the MEMPOOL with no result; without the include flags
        // neither is sent, and DESC puts the pending one first.
        let all = pb::TransactionRequest {
            limit: 10,
            include_state: true,
            include_result: true,
            ..Default::default()
        };
        let txs = list(all.clone()).await.unwrap();
        assert_eq!(txs.len(), 2);
        let applied = &txs[0];
        let tx = applied.tx.as_ref().unwrap();
        assert_eq!(tx.principal, wallet(2));
        assert_eq!(tx.r#type(), pb::transaction::TransactionType::SingleSigSpawn);
        assert_eq!(applied.tx_state, Some(pb::TransactionState::Processed.into()));
        let result = applied.tx_result.as_ref().unwrap();
        assert_eq!(result.status(), pb::transaction_result::Status::TransactionStatusSuccess);
        assert_eq!((result.layer, result.fee, result.gas_consumed), (9, 12, 12));
        assert_eq!(result.block, vec![9; 20]);
        assert_eq!(result.touched_addresses, [wallet(2)]);
        assert_eq!(txs[1].tx_state, Some(pb::TransactionState::Mempool.into()));
        assert!(txs[1].tx_result.is_none());

        let bare = list(pb::TransactionRequest { limit: 10, ..Default::default() }).await.unwrap();
        assert!(bare.iter().all(|t| t.tx_state.is_none() && t.tx_result.is_none()));
        let desc = pb::TransactionRequest { sort_order: pb::SortOrder::Desc.into(), ..all };
        let desc = list(desc).await.unwrap();
        assert_eq!(desc[0].tx.as_ref().unwrap().principal, wallet(1));
        let id = desc[0].tx.as_ref().unwrap().id.clone();
        let by_id = list(pb::TransactionRequest { txid: vec![id], limit: 1, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(by_id[0].tx.as_ref().unwrap().principal, wallet(1));
    }

    #[tokio::test]
    async fn list_bad_requests_say_what_to_fix() {
        // limit 0 or over 100, a short txid, an end below the start and a foreign address.
        let base = pb::TransactionRequest { limit: 10, ..Default::default() };
        let cases = [
            (pb::TransactionRequest { limit: 0, ..base.clone() }, "limit must be set"),
            (pb::TransactionRequest { limit: 101, ..base.clone() }, "capped at 100"),
            (pb::TransactionRequest { txid: vec![vec![1; 5]], ..base.clone() }, "32 bytes"),
            (
                pb::TransactionRequest { start_layer: Some(5), end_layer: Some(4), ..base.clone() },
                "below start_layer",
            ),
            (pb::TransactionRequest { address: Some("sm1nothing".into()), ..base }, "address"),
        ];
        for (request, says) in cases {
            let e = list(request).await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::InvalidArgument);
            assert!(e.message().contains(says), "{}", e.message());
        }
    }

    #[tokio::test]
    async fn list_over_the_json_gateway() {
        // Transaction.List is routed by the gateway, enums by name.
        let request = axum::http::Request::post("/spacemesh.v2alpha1.TransactionService/List")
            .body(Body::from(r#"{"limit": 5, "includeState": true, "includeResult": true}"#))
            .unwrap();
        let response = super::super::gateway::router(api()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let txs = json["transactions"].as_array().unwrap();
        assert_eq!(txs[0]["txState"], "TRANSACTION_STATE_PROCESSED");
        assert_eq!(txs[0]["txResult"]["status"], "TRANSACTION_STATUS_SUCCESS");
        assert_eq!(txs[0]["txResult"]["fee"], "12");
        assert_eq!(txs[1]["txState"], "TRANSACTION_STATE_MEMPOOL");
    }
}
