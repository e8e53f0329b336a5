//! Hare rounds, their order and timing arithmetic, and the values hare messages carry
//! (protocol.md section 7; go-spacemesh `hare3/types.go`).

use std::fmt;
use std::sync::Arc;

use crate::codec::{BoundedVec, Decode, DecodeError, Encode, Reader};
use crate::crypto::hash_parts;
use crate::types::{Hash32, ProposalId};

/// The most proposal ids a preround or propose message may carry (go-spacemesh's bound).
pub const PROPOSALS_MAX: usize = 2350;

/// A round within a hare iteration. The order is wire-significant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Round {
    /// Iteration 0 only: every committee member gossips its initial proposal set.
    Preround = 0,
    /// Output a notified result; hard-lock on a strong commit.
    Hardlock = 1,
    /// Soft-lock on a weaker commit.
    Softlock = 2,
    /// Leaders gradecast a proposal set.
    Propose = 3,
    /// Waiting.
    Wait1 = 4,
    /// Waiting.
    Wait2 = 5,
    /// Committee members commit to a reference.
    Commit = 6,
    /// Committee members notify a reference that crossed the threshold.
    Notify = 7,
}

impl Round {
    /// All rounds in order.
    pub const ALL: [Round; 8] = [
        Round::Preround,
        Round::Hardlock,
        Round::Softlock,
        Round::Propose,
        Round::Wait1,
        Round::Wait2,
        Round::Commit,
        Round::Notify,
    ];

    /// The round with wire value `v`.
    pub fn from_u8(v: u8) -> Option<Round> {
        Round::ALL.get(usize::from(v)).copied()
    }

    /// Whether messages are sent in this round.
    pub fn is_message_round(self) -> bool {
        matches!(self, Round::Preround | Round::Propose | Round::Commit | Round::Notify)
    }

    /// The name used in traces.
    pub fn name(self) -> &'static str {
        match self {
            Round::Preround => "preround",
            Round::Hardlock => "hardlock",
            Round::Softlock => "softlock",
            Round::Propose => "propose",
            Round::Wait1 => "wait1",
            Round::Wait2 => "wait2",
            Round::Commit => "commit",
            Round::Notify => "notify",
        }
    }
}

impl Encode for Round {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

impl Decode for Round {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.byte()?;
        Round::from_u8(tag).ok_or(DecodeError::InvalidTag { what: "hare round", tag })
    }
}

/// A message grade, 0 (worst) to 5 (best): how early a message arrived relative to its round.
pub type Grade = u8;

/// An iteration and a round in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IterRound {
    /// Iteration, from 0.
    pub iter: u8,
    /// Round.
    pub round: Round,
}
crate::impl_codec_struct!(IterRound { iter, round });

impl IterRound {
    /// The first round of a session.
    pub const START: IterRound = IterRound { iter: 0, round: Round::Preround };

    /// A round.
    pub fn new(iter: u8, round: Round) -> Self {
        IterRound { iter, round }
    }

    /// The absolute round number `iter · 7 + round` (what VRF eligibility and signatures use).
    pub fn absolute(self) -> u32 {
        u32::from(self.iter) * Round::Notify as u32 + self.round as u32
    }

    /// The round after this one: iteration 0 goes from preround straight to softlock, notify
    /// goes to the next iteration's hardlock.
    pub fn next(self) -> IterRound {
        match self.round {
            Round::Preround if self.iter == 0 => IterRound::new(0, Round::Softlock),
            Round::Notify => IterRound::new(self.iter.saturating_add(1), Round::Hardlock),
            r => IterRound::new(self.iter, Round::from_u8(r as u8 + 1).expect("not notify")),
        }
    }

    /// Network delays (rounds) from `since` to this round, 0 if this round is not later;
    /// iteration 0's skipped hardlock does not count.
    pub fn delay(self, since: IterRound) -> u32 {
        let (now, then) = (self.absolute(), since.absolute());
        if now <= then {
            return 0;
        }
        let delay = now - then;
        if since == IterRound::START { delay - 1 } else { delay }
    }

    /// The grade of a message of round `since` received during this round: `6 − delay`,
    /// at least 0 (and at most 5: a message received in its own round has delay 0 → grade 5
    /// after the saturating cap).
    pub fn grade(self, since: IterRound) -> Grade {
        6u32.saturating_sub(self.delay(since)).min(5) as Grade
    }
}

impl fmt::Display for IterRound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.iter, self.round.name())
    }
}

/// What a hare message carries: a proposal set (preround, propose) or a reference to one
/// (commit, notify).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// Sorted, distinct proposal ids (one allocation that the messages carrying the same set
    /// share, see `Protocol::on_input`).
    Proposals(Arc<[ProposalId]>),
    /// The [`proposals_hash`] of a proposal set.
    Reference(Hash32),
}

impl Value {
    /// A proposal set.
    pub fn proposals(ids: Vec<ProposalId>) -> Value {
        Value::Proposals(ids.into())
    }

    /// Whether this value has the shape `round` requires.
    pub fn fits(&self, round: Round) -> bool {
        match self {
            Value::Proposals(ids) => {
                matches!(round, Round::Preround | Round::Propose)
                    && ids.len() <= PROPOSALS_MAX
                    && ids.windows(2).all(|w| w[0] < w[1])
            }
            Value::Reference(_) => matches!(round, Round::Commit | Round::Notify),
        }
    }
}

/// Wire form: go-spacemesh's `Value{Proposals []ProposalID; Reference *Hash32}`, a compact-length
/// list followed by an optional hash, exactly one of them in use.
impl Encode for Value {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Value::Proposals(ids) => {
                crate::codec::encode_compact(ids.len() as u64, out);
                for id in ids.iter() {
                    id.encode_to(out);
                }
                out.push(0);
            }
            Value::Reference(h) => {
                out.push(0); // empty list: compact 0
                out.push(1);
                h.encode_to(out);
            }
        }
    }
}

impl Decode for Value {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ids = BoundedVec::<ProposalId, PROPOSALS_MAX>::decode(r)?.into_inner();
        let reference = Option::<Hash32>::decode(r)?;
        match reference {
            None => Ok(Value::proposals(ids)),
            Some(h) if ids.is_empty() => Ok(Value::Reference(h)),
            Some(_) => Err(DecodeError::InvalidTag { what: "hare value with both fields", tag: 1 }),
        }
    }
}

/// The hash a commit or notify message references a proposal set by: BLAKE3 over the sorted
/// ids (go-spacemesh `CalcProposalHash32Presorted`, with this project's hash).
pub fn proposals_hash(sorted: &[ProposalId]) -> Hash32 {
    let parts: Vec<&[u8]> = sorted.iter().map(|p| &p.0[..]).collect();
    hash_parts(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;

    #[test]
    fn absolute_and_next_follow_the_reference() {
        let mut ir = IterRound::START;
        let mut seen = vec![];
        for _ in 0..10 {
            seen.push((ir.iter, ir.round as u8, ir.absolute()));
            ir = ir.next();
        }
        assert_eq!(
            seen,
            vec![
                (0, 0, 0),
                (0, 2, 2),
                (0, 3, 3),
                (0, 4, 4),
                (0, 5, 5),
                (0, 6, 6),
                (0, 7, 7),
                (1, 1, 8),
                (1, 2, 9),
                (1, 3, 10)
            ]
        );
    }

    #[test]
    fn grades_count_delays_skipping_hardlock_zero() {
        let pre = IterRound::START;
        assert_eq!(pre.grade(pre), 5);
        assert_eq!(IterRound::new(0, Round::Softlock).grade(pre), 5); // delay 1 → 5
        assert_eq!(IterRound::new(0, Round::Propose).grade(pre), 4);
        assert_eq!(IterRound::new(0, Round::Commit).grade(pre), 1);
        assert_eq!(IterRound::new(0, Round::Notify).grade(pre), 0);
        let commit = IterRound::new(0, Round::Commit);
        assert_eq!(IterRound::new(1, Round::Hardlock).grade(commit), 4);
        assert_eq!(IterRound::new(1, Round::Softlock).grade(commit), 3);
    }

    #[test]
    fn values_round_trip_and_shapes_are_checked() {
        let a = Value::proposals(vec![ProposalId([1; 20]), ProposalId([2; 20])]);
        let b = Value::Reference(Hash32([7; 32]));
        for v in [&a, &b] {
            assert_eq!(&decode_exact::<Value>(&v.encode()).unwrap(), v);
        }
        assert!(a.fits(Round::Preround) && !a.fits(Round::Commit));
        assert!(b.fits(Round::Notify) && !b.fits(Round::Propose));
        assert!(
            !Value::proposals(vec![ProposalId([2; 20]), ProposalId([1; 20])]).fits(Round::Propose)
        );
        let mut both = a.encode();
        both.pop();
        both.push(1);
        both.extend_from_slice(&[0; 32]);
        assert!(decode_exact::<Value>(&both).is_err());
    }
}
