use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use spacemesh_core::account::Template;

use super::*;
use crate::status::NodeStatus;

const HRP: &str = "stest";

/// A stand-in for the node loop: a funded wallet at `known`, every submission of a body
/// starting with 0 accepted and the rest refused, one known transaction id, and applied layers
/// 1 to 10 (block in the even ones) with layers up to 8 verified.
pub(crate) fn fake_node(known: Address, known_tx: Hash32) -> mpsc::Sender<ApiRequest> {
    let (tx, mut rx) = mpsc::channel(8);
    tokio::spawn(async move {
        let mut smesher = FakeSmesher { smeshing: true, coinbase: known };
        while let Some(req) = rx.recv().await {
            match req {
                ApiRequest::Account { address, reply } => {
                    let state = (address == known).then_some(AccountView {
                        balance: 1_000,
                        next_nonce: 2,
                        template: Some(Template::Wallet),
                        projected_balance: 900,
                        projected_nonce: 3,
                        layer: spacemesh_core::LayerId(7),
                    });
                    let _ = reply.send(state);
                }
                ApiRequest::Principal { address, reply } => {
                    let _ = reply.send(Some(None).filter(|_: &Option<_>| address != known));
                }
                ApiRequest::Layers { first, last, reply } => {
                    let layers = (first.max(1)..=last.min(10)).map(fake_layer).collect();
                    let _ = reply.send(LayersAnswer { layers, verified: 8 });
                }
                ApiRequest::Submit { raw, reply } => {
                    let _ = reply.send(if raw[0] == 0 { Ok(()) } else { Err("bad nonce".into()) });
                }
                ApiRequest::Rewards { first, last, reply } => {
                    let rewards = (first.max(1)..=last.min(10))
                        .filter(|n| n.is_multiple_of(2))
                        .flat_map(|n| fake_rewards(n, known))
                        .collect();
                    let _ = reply.send(rewards);
                }
                ApiRequest::Activations { filter, offset, limit, reply } => {
                    let atxs = fake_atxs(known)
                        .into_iter()
                        .filter(|h| filter.admits(h))
                        .skip(offset)
                        .take(limit)
                        .collect();
                    let _ = reply.send(atxs);
                }
                ApiRequest::ActivationsCount { epoch, reply } => {
                    let count = fake_atxs(known)
                        .iter()
                        .filter(|h| epoch.is_none_or(|e| h.publish_epoch.0 == e))
                        .count();
                    let _ = reply.send(count as u64);
                }
                ApiRequest::HighestAtx { reply } => {
                    let _ = reply.send(fake_atxs(known).into_iter().max_by_key(|h| h.height()));
                }
                ApiRequest::Malfeasance { reply } => {
                    let ids = vec![
                        (spacemesh_core::types::NodeId([1; 32]), 1),
                        (spacemesh_core::types::NodeId([4; 32]), 3),
                    ];
                    let _ = reply.send(ids);
                }
                ApiRequest::Transactions { query, reply } => {
                    let _ = reply.send(fake_txs(&query));
                }
                ApiRequest::TxStatus { id, reply } => {
                    let status = (id == known_tx).then_some(TxStatusInfo::Executed {
                        layer: 9,
                        fee: 12,
                        failure: None,
                    });
                    let _ = reply.send(status);
                }
                req @ (ApiRequest::RewardsPage { .. }
                | ApiRequest::TxsPage { .. }
                | ApiRequest::AtxsSince { .. }
                | ApiRequest::MalfeasanceSince { .. }
                | ApiRequest::Smeshing { .. }
                | ApiRequest::Coinbase { .. }
                | ApiRequest::SetCoinbase { .. }
                | ApiRequest::Progress { .. }
                | ApiRequest::Peers { .. }
                | ApiRequest::SetSmeshing { .. }) => {
                    fake_private(req, 10, known, &mut smesher);
                }
            }
        }
    });
    tx
}

/// The transactions of [`fake_node`]: wallet 2's self-spawn ran in layer 9 (in block 9s,
/// fee 12) and wallet 1's waits in the mempool (wallet `n` is the wallet of seed `[n; 32]`,
/// transactions signed for genesis id 7s); `query`'s ids, order and page applied.
pub(crate) fn fake_txs(
    query: &spacemesh_core::node::consensus::TxQuery,
) -> Vec<spacemesh_core::node::consensus::ListedTx> {
    use spacemesh_core::mesh::TxResult;
    use spacemesh_core::node::consensus::{ListedState, ListedTx};
    let listed = |seed: u8, state| {
        let raw = Bytes::from(spacemesh_core::tx::TxKey::from_seed([seed; 32]).wallet_spawn(
            &GenesisId([7; 20]),
            0,
            1,
        ));
        let parsed = spacemesh_core::tx::parse(&raw, None).ok();
        ListedTx { id: tx_id(&raw), raw, parsed, state }
    };
    let ran = ListedState::Applied {
        layer: spacemesh_core::LayerId(9),
        block: Some(spacemesh_core::types::BlockId([9; 20])),
        result: TxResult {
            id: Hash32::default(),
            status: TxResult::SUCCEEDED,
            fee: 12,
            reason: Default::default(),
        },
    };
    let mut txs = vec![listed(2, ran), listed(1, ListedState::Pending)];
    txs.retain(|t| query.ids.is_empty() || query.ids.contains(&t.id));
    if query.descending {
        txs.reverse();
    }
    txs.into_iter().skip(query.offset).take(query.limit).collect()
}

/// The rewards of layer `n` of [`fake_node`]: `known` (identity 1s) gets 100 n, of which 90 n
/// subsidy, and another coinbase (identity 2s) 10 n, all subsidy.
pub(crate) fn fake_rewards(
    n: u32,
    known: Address,
) -> Vec<spacemesh_core::node::consensus::LayerReward> {
    use spacemesh_core::node::consensus::LayerReward;
    let layer = spacemesh_core::LayerId(n);
    let u = u64::from(n);
    vec![
        LayerReward {
            layer,
            atx: Hash32([1; 32]),
            smesher: spacemesh_core::types::NodeId([1; 32]),
            coinbase: known,
            total: 100 * u,
            layer_reward: 90 * u,
        },
        LayerReward {
            layer,
            atx: Hash32([2; 32]),
            smesher: spacemesh_core::types::NodeId([2; 32]),
            coinbase: Address([2; 24]),
            total: 10 * u,
            layer_reward: 10 * u,
        },
    ]
}

/// The ATXs of [`fake_node`], by publish epoch then id: identities 1s and 2s in epochs 1 to 3,
/// weight 10 × epoch + identity byte, height 100 × epoch; identity 1s's coinbase is `known`.
pub(crate) fn fake_atxs(known: Address) -> Vec<spacemesh_core::activation::store::AtxHeader> {
    let mut atxs = Vec::new();
    for epoch in 1..=3u8 {
        for who in 1..=2u8 {
            atxs.push(spacemesh_core::activation::store::AtxHeader {
                id: Hash32([epoch * 16 + who; 32]),
                smesher: spacemesh_core::types::NodeId([who; 32]),
                publish_epoch: spacemesh_core::types::EpochId(epoch.into()),
                sequence: epoch.into(),
                coinbase: if who == 1 { known } else { Address([2; 24]) },
                num_units: 4,
                base_height: 100 * u64::from(epoch) - 10,
                ticks: 10,
                weight: 10 * u64::from(epoch) + u64::from(who),
                vrf_nonce: 0,
                commitment_atx: Hash32([0; 32]),
                signature: spacemesh_core::crypto::Signature([0; 64]),
            });
        }
    }
    atxs
}

/// Layer `n` of [`fake_node`]: hashes filled with `n`, `n + 1` and `n + 2`.
pub(crate) fn fake_layer(n: u32) -> spacemesh_core::mesh::AppliedLayer {
    let b = u8::try_from(n).expect("small layer");
    spacemesh_core::mesh::AppliedLayer {
        layer: spacemesh_core::LayerId(n),
        block: n.is_multiple_of(2).then_some(spacemesh_core::types::BlockId([b; 20])),
        state: Hash32([b; 32]),
        aggregated: Hash32([b + 1; 32]),
        root: Hash32([b + 2; 32]),
        issued: 0,
        fees: 0,
    }
}

async fn start(requests: mpsc::Sender<ApiRequest>) -> SocketAddr {
    let status = Arc::new(Mutex::new(NodeStatus {
        synced: true,
        current_layer: 11,
        applied_layer: Some(10),
        ..NodeStatus::default()
    }));
    let api = ApiState {
        requests,
        status: Arc::clone(&status),
        network: Network { hrp: HRP.into(), genesis: GenesisId([7; 20]) },
    };
    let never = std::future::pending::<()>();
    crate::status::serve(([127, 0, 0, 1], 0).into(), status, Some(api), never).await.unwrap()
}

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut req = hyper::Request::builder().method(method).uri(format!("http://{addr}{path}"));
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let resp = client.request(req.body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

/// Every endpoint answers from the node loop's answers, and bad input is a 400 that says
/// what is wrong, an unknown id a 404, an oversized body a 413.
#[tokio::test]
async fn endpoints_answer_and_refuse() {
    let known = spacemesh_core::account::principal(Template::Wallet, &[3; 32]);
    let known_tx = tx_id(&[0, 1, 2]);
    let addr = start(fake_node(known, known_tx)).await;

    let (code, body) =
        call(addr, "GET", &format!("/v1/accounts/{}", known.to_bech32(HRP)), None, vec![]).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["balance"], 1_000);
    assert_eq!(body["projected_nonce"], 3);
    assert_eq!(body["template"], "wallet");
    assert_eq!(body["address"], known.to_bech32(HRP));
    let (code, body) =
        call(addr, "GET", &format!("/v1/accounts/{}", known.to_bech32("sm")), None, vec![]).await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("network `sm`, not `stest`"), "{body}");
    let other = Address::from_hash_tail(&[9; 32]);
    let (code, _) =
        call(addr, "GET", &format!("/v1/accounts/{}", other.to_bech32(HRP)), None, vec![]).await;
    assert_eq!(code, 503, "no account state is not a zero balance");

    let (code, body) = call(addr, "POST", "/v1/transactions", None, vec![0, 1, 2]).await;
    assert_eq!(code, 200);
    assert_eq!(body["id"], known_tx.to_string());
    assert_eq!(body["accepted"], true);
    let json = br#"{"raw": "050607"}"#.to_vec();
    let (code, body) = call(addr, "POST", "/v1/transactions", Some("application/json"), json).await;
    assert_eq!(code, 200);
    assert_eq!(
        (body["accepted"].clone(), body["reason"].clone()),
        (false.into(), "bad nonce".into())
    );
    assert_eq!(body["id"], tx_id(&[5, 6, 7]).to_string());
    let (code, body) = call(
        addr,
        "POST",
        "/v1/transactions",
        Some("application/json"),
        b"{\"raw\":\"5\"}".to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    let (code, _) = call(addr, "POST", "/v1/transactions", None, vec![0; BODY_MAX + 1]).await;
    assert_eq!(code, 413);
    let (code, _) = call(addr, "POST", "/v1/transactions", None, vec![]).await;
    assert_eq!(code, 400);

    let (code, body) =
        call(addr, "GET", &format!("/v1/transactions/{known_tx}"), None, vec![]).await;
    assert_eq!(code, 200);
    assert_eq!((body["status"].clone(), body["fee"].clone()), ("executed".into(), 12.into()));
    let (code, _) =
        call(addr, "GET", &format!("/v1/transactions/{}", Hash32([1; 32])), None, vec![]).await;
    assert_eq!(code, 404);
    let (code, _) = call(addr, "GET", "/v1/transactions/xyz", None, vec![]).await;
    assert_eq!(code, 400);

    let (code, body) = call(addr, "GET", "/v1/node", None, vec![]).await;
    assert_eq!(code, 200);
    assert_eq!(body["synced"], true);
    assert_eq!(body["hrp"], HRP);
    assert_eq!(body["genesis_id"], GenesisId([7; 20]).to_string());
}

/// A node loop that stopped answering is a 503, not a hang.
#[tokio::test]
async fn stopped_node_is_unavailable() {
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let addr = start(tx).await;
    let (code, body) = call(addr, "GET", "/v1/transactions/00", None, vec![]).await;
    assert_eq!(code, 400, "input is checked before the node is asked: {body}");
    let id = Hash32([2; 32]);
    let (code, body) = call(addr, "GET", &format!("/v1/transactions/{id}"), None, vec![]).await;
    assert_eq!(code, 503);
    assert!(body["error"].as_str().unwrap().contains("stopping"), "{body}");
}

/// The fake node's smeshing switch and coinbase.
pub(crate) struct FakeSmesher {
    smeshing: bool,
    coinbase: Address,
}

/// The private listener's questions as [`fake_node`] answers them when layers 1 to `top` are
/// applied: rewards ([`fake_rewards`]) and one transaction ([`fake_layer_tx`]) in the even
/// layers; the ATXs of [`fake_atxs`] of publish epochs up to `top / 3`, each accepted at
/// `1000 × epoch + identity byte` µs; proofs against identity 1s (type 1, learned at 1000 µs) and,
/// from `top` 8 on, 4s (type 3, at 2000 µs); one peer (3s, dialed, up 90 s, at
/// 127.0.0.1:7513); tortoise progress `top` tallied, `top - 1` processed; smeshing and
/// coinbase as `smesher` says (and sets them). Gives back any other question.
pub(crate) fn fake_private(
    req: ApiRequest,
    top: u32,
    known: Address,
    smesher: &mut FakeSmesher,
) -> Option<ApiRequest> {
    use spacemesh_core::types::{NodeId, Time};
    let layers = |first: u32, last: u32| {
        let range = first.max(1)..=last.min(top).min(first.saturating_add(LAYERS_ANSWER_MAX - 1));
        let through = (!range.is_empty()).then(|| *range.end());
        (range, through)
    };
    match req {
        ApiRequest::Layers { first, last, reply } => {
            let layers = layers(first, last).0.map(fake_layer).collect();
            let _ = reply.send(LayersAnswer { layers, verified: top.saturating_sub(2) });
        }
        ApiRequest::RewardsPage { first, last, reply } => {
            let (range, through) = layers(first, last);
            let items = range
                .filter(|n| n.is_multiple_of(2))
                .flat_map(|n| fake_rewards(n, known))
                .collect();
            let _ = reply.send(LayerPage { items, through });
        }
        ApiRequest::TxsPage { first, last, reply } => {
            let (range, through) = layers(first, last);
            let items = range.filter(|n| n.is_multiple_of(2)).map(fake_layer_tx).collect();
            let _ = reply.send(LayerPage { items, through });
        }
        ApiRequest::AtxsSince { filter, after, limit, reply } => {
            let mut atxs: Vec<_> = fake_atxs(known)
                .into_iter()
                .filter(|h| h.publish_epoch.0 * 3 <= top && filter.admits(h))
                .map(|h| (Time(1000 * u64::from(h.publish_epoch.0) + u64::from(h.smesher.0[0])), h))
                .filter(|(t, h)| after.is_none_or(|a| (*t, h.id) > a))
                .collect();
            atxs.sort_by_key(|(t, h)| (*t, h.id));
            atxs.truncate(limit);
            let _ = reply.send(atxs);
        }
        ApiRequest::MalfeasanceSince { after, limit, reply } => {
            let mut proofs = vec![(Time(1000), NodeId([1; 32]), 1)];
            if top >= 8 {
                proofs.push((Time(2000), NodeId([4; 32]), 3));
            }
            proofs.retain(|(t, id, _)| after.is_none_or(|a| (*t, *id) > a));
            proofs.truncate(limit);
            let _ = reply.send(proofs);
        }
        ApiRequest::Progress { reply } => {
            let _ = reply.send(Some((top, top.saturating_sub(1))));
        }
        ApiRequest::Coinbase { reply } => {
            let _ = reply.send(Some(smesher.coinbase));
        }
        ApiRequest::SetCoinbase { coinbase, reply } => {
            smesher.coinbase = coinbase;
            let _ = reply.send(Some(coinbase));
        }
        ApiRequest::Smeshing { reply } => {
            let _ = reply.send(smesher.smeshing);
        }
        ApiRequest::Peers { reply } => {
            let _ = reply.send(vec![PeerConnection {
                peer: spacemesh_core::PeerId([3; 32]),
                outbound: true,
                uptime: std::time::Duration::from_secs(90),
                address: Some("127.0.0.1:7513".into()),
            }]);
        }
        ApiRequest::SetSmeshing { on, reply } => {
            smesher.smeshing = on;
            let _ = reply.send(on);
        }
        other => return Some(other),
    }
    None
}

/// The transaction of even layer `n` of [`fake_node`]: a wallet's self-spawn with nonce `n`,
/// gas price 2, executed for a fee of 10 n (failed in layers divisible by 4).
pub(crate) fn fake_layer_tx(n: u32) -> LayerTxInfo {
    use spacemesh_core::mesh::TxResult;
    let key = spacemesh_core::tx::TxKey::from_seed([9; 32]);
    let raw = Bytes::from(key.wallet_spawn(&GenesisId([7; 20]), u64::from(n), 2));
    let parsed = spacemesh_core::tx::parse(&raw, None).expect("a wallet spawn parses");
    let failed = n.is_multiple_of(4);
    let reason = if failed { "out of gas" } else { "" };
    let result = TxResult {
        id: tx_id(&raw),
        status: if failed { TxResult::FAILED } else { TxResult::SUCCEEDED },
        fee: 10 * u64::from(n),
        reason: spacemesh_core::codec::BoundedBytes::new(Bytes::from(reason)).expect("short"),
    };
    let b = u8::try_from(n).expect("small layer");
    let tx = spacemesh_core::node::consensus::LayerTx {
        layer: spacemesh_core::LayerId(n),
        block: spacemesh_core::types::BlockId([b; 20]),
        raw,
        result,
    };
    LayerTxInfo { tx, parsed }
}

/// A [`fake_node`] whose applied layers grow: it answers the private listener's questions
/// ([`fake_private`]) with the top layer the returned counter holds (at first `top`), and
/// hands every other question to a [`fake_node`].
pub(crate) fn growing_node(
    known: Address,
    known_tx: Hash32,
    top: u32,
) -> (mpsc::Sender<ApiRequest>, Arc<std::sync::atomic::AtomicU32>) {
    let inner = fake_node(known, known_tx);
    let top = Arc::new(std::sync::atomic::AtomicU32::new(top));
    let (tx, mut rx) = mpsc::channel(8);
    let now = Arc::clone(&top);
    tokio::spawn(async move {
        let mut smesher = FakeSmesher { smeshing: true, coinbase: known };
        while let Some(req) = rx.recv().await {
            let at = now.load(std::sync::atomic::Ordering::SeqCst);
            if let Some(other) = fake_private(req, at, known, &mut smesher) {
                let _ = inner.send(other).await;
            }
        }
    });
    (tx, top)
}
