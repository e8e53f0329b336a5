use rand::SeedableRng;

use super::*;
use crate::codec::decode_exact;

fn fetcher() -> Fetcher {
    Fetcher::new(FetchConfig::default(), ChaCha8Rng::seed_from_u64(1))
}

fn drain(f: &mut Fetcher) -> Vec<FetchOutput> {
    std::iter::from_fn(|| f.poll_output()).collect()
}

fn peer(i: u8) -> PeerId {
    PeerId([i; 32])
}

/// Wanted hashes are batched per peer and hint, the preferred peer first; a delivery answers
/// the waiter and an unasked item is reported.
#[test]
fn batches_and_delivers() {
    let mut f = fetcher();
    f.want(Hint::Atx, Hash32([1; 32]), Some(peer(2)));
    f.want(Hint::Atx, Hash32([2; 32]), Some(peer(2)));
    f.want(Hint::PoetProof, Hash32([3; 32]), Some(peer(2)));
    f.dispatch(Time(0), &[peer(1), peer(2)]);
    let out = drain(&mut f);
    assert_eq!(out.len(), 2, "one request per hint: {out:?}");
    let FetchOutput::Send { peer: to, msg: FetchMessage::Request { id, hint: Hint::Atx, hashes } } =
        &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(*to, peer(2));
    assert_eq!(hashes.len(), 2);
    f.check_invariants();
    let item = |h: u8, data: Option<&'static [u8]>| FetchItem {
        hash: Hash32([h; 32]),
        data: data.map(|d| BoundedBytes::new(Bytes::from_static(d)).unwrap()),
    };
    f.on_response(peer(2), *id, vec![item(1, Some(b"atx")), item(2, None), item(9, Some(b"x"))]);
    let out = drain(&mut f);
    assert!(matches!(&out[0], FetchOutput::Delivered { hash, .. } if *hash == Hash32([1; 32])));
    assert!(matches!(out.last(), Some(FetchOutput::Unsolicited { peer: p }) if *p == peer(2)));
    assert_eq!(f.wanted(), 2, "the missing ATX and the PoET proof are still wanted");
    f.check_invariants();
}

/// A request that times out is retried at another peer; after `attempts_max` peers the object
/// is reported failed. Answers from a peer that was not asked are unsolicited.
#[test]
fn timeouts_rotate_peers_then_fail() {
    let mut f = fetcher();
    let peers: Vec<PeerId> = (1..=6).map(peer).collect();
    f.want(Hint::Atx, Hash32([1; 32]), None);
    let mut asked = Vec::new();
    let mut now = Time(0);
    for _ in 0..10 {
        f.dispatch(now, &peers);
        for o in drain(&mut f) {
            match o {
                FetchOutput::Send { peer, msg: FetchMessage::Request { id, .. } } => {
                    asked.push(peer);
                    f.on_response(PeerId([0xee; 32]), id, vec![]);
                }
                FetchOutput::Failed { .. } => {
                    let distinct: BTreeSet<PeerId> = asked.iter().copied().collect();
                    assert_eq!(distinct.len(), asked.len(), "each peer asked once");
                    assert_eq!(asked.len(), FetchConfig::default().attempts_max as usize);
                    assert_eq!(f.wanted(), 0);
                    return;
                }
                FetchOutput::Unsolicited { peer } => assert_eq!(peer, PeerId([0xee; 32])),
                other => panic!("{other:?}"),
            }
        }
        now = now + FetchConfig::default().timeout;
        f.on_tick(now);
        f.check_invariants();
    }
    panic!("never gave up; asked {asked:?}");
}

/// Fetch messages round-trip; a request over the batch bound does not decode.
#[test]
fn codec() {
    let req = FetchMessage::Request {
        id: 7,
        hint: Hint::PoetProof,
        hashes: BoundedVec::new(vec![Hash32([1; 32])]).unwrap(),
    };
    assert_eq!(decode_exact::<FetchMessage>(&req.encode()), Ok(req));
    let mut big = vec![0u8];
    7u64.encode_to(&mut big);
    Hint::Atx.encode_to(&mut big);
    crate::codec::encode_compact((BATCH_MAX + 1) as u64, &mut big);
    assert!(decode_exact::<FetchMessage>(&big).is_err());
}

/// Every hint has its own tag and reads back; the next tag is refused.
#[test]
fn hint_tags() {
    let all = Hint::ALL;
    for (i, hint) in all.into_iter().enumerate() {
        assert_eq!(hint.encode(), [i as u8 + 1]);
        assert_eq!(decode_exact::<Hint>(&hint.encode()), Ok(hint));
    }
    assert!(decode_exact::<Hint>(&[all.len() as u8 + 1]).is_err());
    assert!(decode_exact::<Hint>(&[0]).is_err());
}

/// A hash wanted besides some peers goes to another connected peer, and fails at once when
/// every connected peer is to be skipped.
#[test]
fn want_besides_skips_peers() {
    let mut f = fetcher();
    let list = Hash32([7; 32]);
    for _ in 0..20 {
        f.want_besides(Hint::LayerBallots, list, vec![peer(1), peer(2)]);
        f.dispatch(Time(0), &[peer(1), peer(2), peer(3)]);
        let out = drain(&mut f);
        let [FetchOutput::Send { peer: to, msg: FetchMessage::Request { id, .. } }] = &out[..]
        else {
            panic!("{out:?}")
        };
        assert_eq!(*to, peer(3));
        f.on_response(peer(3), *id, vec![]);
        f.check_invariants();
        f.on_tick(Time(0));
        // Unanswered: still wanted, and peer 3 was tried; nothing else may be asked.
        f.dispatch(Time(0), &[peer(1), peer(2), peer(3)]);
        let out = drain(&mut f);
        assert!(
            matches!(&out[..], [FetchOutput::Failed { hint: Hint::LayerBallots, hash }] if *hash == list),
            "{out:?}"
        );
    }
    f.want_besides(Hint::EpochAtxs, list, vec![peer(1)]);
    f.dispatch(Time(0), &[peer(1)]);
    assert!(matches!(&drain(&mut f)[..], [FetchOutput::Failed { hint: Hint::EpochAtxs, .. }]));
    assert_eq!(f.wanted(), 0);
}

/// An answer that comes after its request timed out is late, not unsolicited: it is dropped
/// without a penalty when it comes from the peer that was asked (an honest peer behind a slow
/// or healing link), once; the same id from another peer, or a second time, is unsolicited.
#[test]
fn a_late_answer_is_dropped_without_a_penalty() {
    let mut f = fetcher();
    f.want(Hint::Atx, Hash32([1; 32]), None);
    f.dispatch(Time(0), &[peer(1)]);
    let out = drain(&mut f);
    let [FetchOutput::Send { peer: asked, msg: FetchMessage::Request { id, .. } }] = &out[..]
    else {
        panic!("{out:?}")
    };
    let (asked, id) = (*asked, *id);
    f.on_tick(Time(0) + FetchConfig::default().timeout);
    f.check_invariants();
    f.on_response(asked, id, vec![]);
    assert!(drain(&mut f).is_empty(), "the asked peer's late answer is no offence");
    f.on_response(asked, id, vec![]);
    assert!(matches!(drain(&mut f)[..], [FetchOutput::Unsolicited { peer: p }] if p == asked));
    f.want(Hint::Atx, Hash32([2; 32]), None);
    f.dispatch(Time(0), &[peer(1)]);
    // (The first hash, with no other peer to try, is reported failed at this dispatch.)
    let id = drain(&mut f)
        .into_iter()
        .find_map(|o| match o {
            FetchOutput::Send { msg: FetchMessage::Request { id, .. }, .. } => Some(id),
            _ => None,
        })
        .expect("a request for the second hash");
    f.on_tick(Time(0) + FetchConfig::default().timeout * 2);
    f.on_response(peer(7), id, vec![]);
    assert!(matches!(drain(&mut f)[..], [FetchOutput::Unsolicited { peer: p }] if p == peer(7)));
    f.check_invariants();
}
