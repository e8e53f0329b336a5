use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use spacemesh_core::codec::Encode as _;
use spacemesh_core::crypto::Signer;
use spacemesh_core::layers::LayerClock;
use spacemesh_core::poet::service::Submit;
use spacemesh_core::poet::{
    MembershipTree, PoetErrorCode, PoetRequest, PoetResponse, PoetServiceConfig, RoundSchedule,
    verify,
};
use spacemesh_core::{EpochId, GenesisId, Hash32, Time};

use super::*;

const GENESIS: GenesisId = GenesisId([7; 20]);
const T: u32 = 8;
const DEPTH: u32 = 2;
const LEAVES: u64 = 300;

fn now() -> Time {
    Time(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as u64)
}

/// A server on loopback whose round 0 starts `phase_shift` from now and lasts `epoch - gap`.
fn config(dir: &Path, phase_shift: Duration, epoch: Duration, gap: Duration) -> PoetServerConfig {
    PoetServerConfig {
        dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        service: PoetServiceConfig {
            genesis_id: GENESIS,
            schedule: RoundSchedule {
                genesis: now(),
                epoch_duration: epoch,
                phase_shift,
                cycle_gap: gap,
            },
            members_max: 100,
            rounds_kept: 4,
        },
        key_seed: [9; 32],
        genesis: GENESIS,
        t: T,
        nesting_depth: DEPTH,
        work: WorkBudget { leaves_per_round: LEAVES },
    }
}

fn client() -> PoetClient {
    PoetClient::new(Duration::from_secs(5))
}

async fn submit(addr: SocketAddr, seed: u8, challenge: Hash32) -> PoetResponse {
    let signer = Signer::from_seed([seed; 32], GENESIS);
    let request = PoetRequest::Submit(Submit::sign(&signer, challenge, None));
    client().request(addr, &request).await.unwrap()
}

async fn get(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let http: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = http.get(format!("http://{addr}{path}").parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).expect("a JSON body"))
}

/// Asks for `round`'s proof until it comes (or `wait` passes), then checks it the way a node
/// does: the statement is the root of the members, the proof verifies for the node's `t` and
/// depth. Returns the members.
async fn proof_of(addr: SocketAddr, round: u64, wait: Duration) -> Vec<Hash32> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match client().request(addr, &PoetRequest::Proof { round }).await.unwrap() {
            PoetResponse::Proof { round: r, proof, members } => {
                assert_eq!(r, round);
                assert_eq!(proof.leaves, LEAVES);
                let statement = MembershipTree::new(&members).root();
                assert_eq!(verify(&proof, &statement.0, T as usize, DEPTH), Ok(()));
                return members.to_vec();
            }
            PoetResponse::Error { code: PoetErrorCode::NoProof, .. } => {}
            other => panic!("unexpected answer {other:?}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "no proof of round {round} in {wait:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two nodes register through the client, the round closes and ends, and the proof they get
/// verifies with core's verification and includes both challenges; the JSON endpoints agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_then_verified_proof() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        Duration::from_millis(1500),
        Duration::from_secs(2),
        Duration::from_millis(500),
    );
    let poet = PoetServer::start(cfg).await.unwrap();
    let addr = poet.local_addr();
    let PoetResponse::Info(info) = client().request(addr, &PoetRequest::Info).await.unwrap() else {
        panic!("info expected");
    };
    assert_eq!(info.service_id, poet.id());
    assert_eq!(info.service_id, Signer::from_seed([9; 32], GENESIS).node_id());
    assert_eq!(info.open_round, 0);

    let (a, b) = (Hash32([0xaa; 32]), Hash32([0xbb; 32]));
    let PoetResponse::Submitted { round, round_end } = submit(addr, 1, a).await else {
        panic!("submitted expected");
    };
    assert_eq!(round, 0);
    assert!(matches!(submit(addr, 2, b).await, PoetResponse::Submitted { round: 0, .. }));
    // A registration with a bad signature is refused.
    let mut forged = Submit::sign(&Signer::from_seed([3; 32], GENESIS), a, None);
    forged.challenge = b;
    let answer = client().request(addr, &PoetRequest::Submit(forged)).await.unwrap();
    assert!(matches!(answer, PoetResponse::Error { code: PoetErrorCode::InvalidSignature, .. }));

    let (status, body) = get(addr, "/v1/proofs/0").await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("round 0"), "{body}");

    let wait = Duration::from_micros(round_end.0.saturating_sub(now().0)) + Duration::from_secs(5);
    let members = proof_of(addr, 0, wait).await;
    assert!(members.contains(&a) && members.contains(&b) && members.len() == 2);

    let (status, body) = get(addr, "/v1/proofs/0").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["statement"], MembershipTree::new(&members).root().to_string());
    assert_eq!(body["leaves"], LEAVES);
    assert_eq!(body["proven_leaves"].as_array().unwrap().len(), T as usize);
    let (status, body) = get(addr, "/v1/info").await;
    assert_eq!(status, 200);
    assert_eq!(body["service_id"], poet.id().to_string());
    assert_eq!(body["rounds_proven"], serde_json::json!([0]));
    assert!(body["open_round"].as_u64().unwrap() >= 1);
    poet.shutdown().await.unwrap();
}

/// A restart before the round starts keeps the registration (the same node's other challenge
/// is then a conflict), and a restart while the round executes redoes its work: the proof still
/// comes and includes the challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_keep_registrations_and_redo_work() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        Duration::from_secs(2),
        Duration::from_secs(4),
        Duration::from_millis(500),
    );
    let round_start = cfg.service.schedule.round_start(0);
    let round_end = cfg.service.schedule.round_end(0);
    let poet = PoetServer::start(cfg.clone()).await.unwrap();
    let challenge = Hash32([0x42; 32]);
    assert!(matches!(
        submit(poet.local_addr(), 1, challenge).await,
        PoetResponse::Submitted { round: 0, .. }
    ));
    poet.shutdown().await.unwrap();

    let poet = PoetServer::start(cfg.clone()).await.unwrap();
    assert!(now() < round_start, "the test restarted before the round start");
    let answer = submit(poet.local_addr(), 1, Hash32([0x43; 32])).await;
    assert!(
        matches!(answer, PoetResponse::Error { code: PoetErrorCode::Conflicting, .. }),
        "the registration survived the restart: {answer:?}"
    );
    // Restart again once the round executes: its work is interrupted.
    let until_start = Duration::from_micros(round_start.0.saturating_sub(now().0));
    tokio::time::sleep(until_start + Duration::from_millis(300)).await;
    let (_, info) = get(poet.local_addr(), "/v1/info").await;
    assert_eq!(info["rounds_waiting"], serde_json::json!([0]), "{info}");
    poet.shutdown().await.unwrap();

    let poet = PoetServer::start(cfg).await.unwrap();
    assert!(now() < round_end, "the test restarted before the round end");
    let wait = Duration::from_micros(round_end.0.saturating_sub(now().0)) + Duration::from_secs(5);
    let members = proof_of(poet.local_addr(), 0, wait).await;
    assert_eq!(members, vec![challenge]);
    poet.shutdown().await.unwrap();
}

/// A body that does not decode is HTTP 400 with a text message, an oversized one 413; the
/// client reports both as HTTP statuses, and a closed port as unreachable.
#[tokio::test]
async fn bad_bodies_and_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        Duration::from_secs(60),
        Duration::from_secs(120),
        Duration::from_secs(10),
    );
    let poet = PoetServer::start(cfg).await.unwrap();
    let addr = poet.local_addr();
    let c = client();
    let answer = c.post(addr, REQUEST_PATH, Bytes::from_static(&[9, 9, 9])).await.unwrap();
    assert_eq!(answer.status.as_u16(), 400);
    let text = String::from_utf8_lossy(&answer.body);
    assert!(text.contains("PoetRequest"), "{text}");
    let answer =
        c.post(addr, REQUEST_PATH, Bytes::from(vec![0u8; REQUEST_BODY_MAX + 1])).await.unwrap();
    assert_eq!(answer.status.as_u16(), 413);
    // A valid request with trailing garbage does not decode either.
    let mut body = PoetRequest::Info.encode();
    body.push(0);
    let answer = c.post(addr, REQUEST_PATH, Bytes::from(body)).await.unwrap();
    assert_eq!(answer.status.as_u16(), 400);
    let (status, _) = get(addr, "/v1/proofs/5").await;
    assert_eq!(status, 404);
    poet.shutdown().await.unwrap();

    let err = c.request(addr, &PoetRequest::Info).await.unwrap_err();
    assert!(matches!(err, PoetClientError::Unreachable { .. }), "{err}");
}

/// A store made for one service identity is refused to another key, and a bad configuration
/// is refused before anything is created.
#[tokio::test]
async fn identity_and_config_checked() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        Duration::from_secs(60),
        Duration::from_secs(120),
        Duration::from_secs(10),
    );
    PoetServer::start(cfg.clone()).await.unwrap().shutdown().await.unwrap();
    let other = PoetServerConfig { key_seed: [8; 32], ..cfg.clone() };
    let err = PoetServer::start(other).await.unwrap_err();
    assert!(matches!(err, PoetServerError::OtherIdentity { .. }), "{err}");
    assert!(err.to_string().contains("service id"), "{err}");
    let mut moved = cfg.clone();
    moved.service.schedule.genesis = Time(moved.service.schedule.genesis.0 + 1);
    let err = PoetServer::start(moved).await.unwrap_err();
    assert!(err.to_string().contains("schedule"), "{err}");

    let fresh = tempfile::tempdir().unwrap();
    let store_dir = fresh.path().join("poet");
    let few = PoetServerConfig {
        work: WorkBudget { leaves_per_round: 3 },
        dir: store_dir.clone(),
        ..cfg
    };
    let err = PoetServer::start(few).await.unwrap_err();
    assert!(err.to_string().contains("leaves_per_round"), "{err}");
    assert!(!store_dir.exists());
}

/// The derived schedule's round `P - 1` starts and ends when the node's clock says the round
/// of publish epoch `P` does.
#[test]
fn service_config_matches_the_node_clock() {
    let clock = LayerClock::sim(Time::from_secs(1_700_000_000));
    let config = service_config_for(&clock, GENESIS);
    config.validate().unwrap();
    assert_eq!(config.genesis_id, GENESIS);
    for publish in 1..20u32 {
        let round = u64::from(publish - 1);
        assert_eq!(config.schedule.round_start(round), clock.poet_round_start(EpochId(publish)));
        assert_eq!(config.schedule.round_end(round), clock.poet_round_end(EpochId(publish)));
        // Registration for that round is open until it starts.
        let before = clock.poet_round_start(EpochId(publish)) - Duration::from_micros(1);
        assert_eq!(config.schedule.open_round(before), round);
    }
}
