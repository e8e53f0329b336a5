//! Which connection speaks for each peer, and which dials still owe the node an answer.
//!
//! Pure bookkeeping under the transport's lock; the caller acts on what it returns (emits
//! `Up`, retires or closes connections). See the transport's module docs for the rules.

use std::collections::BTreeMap;

use bytes::Bytes;
use spacemesh_core::types::PeerId;
use tokio::sync::{mpsc, watch};

use super::DownReason;

/// What a connection's tasks are told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ctl {
    /// Keep going.
    Open,
    /// Stop; with a reason, the node hears `Down` for it (if the connection still speaks for
    /// its peer).
    Close(Option<DownReason>),
}

impl Ctl {
    /// Closes an open connection; a close already decided stands.
    pub(crate) fn close(ctl: &watch::Sender<Ctl>, reason: Option<DownReason>) {
        ctl.send_if_modified(|c| {
            let open = *c == Ctl::Open;
            if open {
                *c = Ctl::Close(reason);
            }
            open
        });
    }
}

/// The registry's handle on an established connection.
#[derive(Debug)]
pub(crate) struct Link {
    /// Unique within the transport.
    pub(crate) conn: u64,
    /// Who dialed: this node or the peer.
    pub(crate) dialer: PeerId,
    /// Frames for the writer task (dropping it lets the writer drain and stop writing).
    pub(crate) queue: mpsc::Sender<Bytes>,
    /// Tells both tasks to stop.
    pub(crate) ctl: watch::Sender<Ctl>,
}

/// The outcome of admitting an authenticated connection.
#[derive(Debug)]
pub(crate) enum Admit {
    /// The first connection to this peer: the node hears `Up`.
    Up,
    /// The new connection replaces this one, silently: retire it.
    Replaced(Link),
    /// The existing connection stays (or the transport shut down): close this new one.
    Refused(Link),
}

/// The connection of each connected peer and the dials in flight.
#[derive(Debug)]
pub(crate) struct Registry {
    local: PeerId,
    shut: bool,
    peers: BTreeMap<PeerId, Link>,
    /// Dials in flight, with whether an `Up` already answered them.
    dials: BTreeMap<PeerId, bool>,
}

impl Registry {
    /// An empty registry for the node `local`.
    pub(crate) fn new(local: PeerId) -> Self {
        Registry { local, shut: false, peers: BTreeMap::new(), dials: BTreeMap::new() }
    }

    /// Whether `link` is the connection both ends keep: the one dialed by the smaller PeerId.
    fn preferred(&self, peer: PeerId, link: &Link) -> bool {
        link.dialer == self.local.min(peer)
    }

    /// Starts a dial unless the peer is connected or a dial to it is in flight (then the
    /// running dial, or the existing connection, already answers).
    pub(crate) fn start_dial(&mut self, peer: PeerId) -> bool {
        if self.shut || self.peers.contains_key(&peer) || self.dials.contains_key(&peer) {
            return false;
        }
        self.dials.insert(peer, false);
        true
    }

    /// Ends a dial; true when no `Up` answered it, so a failure must be reported as `Down`.
    pub(crate) fn end_dial(&mut self, peer: PeerId) -> bool {
        // After shutdown the dial is forgotten and owes nothing.
        self.dials.remove(&peer).is_some_and(|answered| !answered)
    }

    /// Admits an authenticated connection to `peer`.
    pub(crate) fn admit(&mut self, peer: PeerId, link: Link) -> Admit {
        assert!(link.dialer == peer || link.dialer == self.local, "someone else dialed");
        assert_ne!(peer, self.local, "the handshake refuses self connections");
        if self.shut {
            return Admit::Refused(link);
        }
        let Some(old) = self.peers.get(&peer) else {
            self.peers.insert(peer, link);
            if let Some(answered) = self.dials.get_mut(&peer) {
                *answered = true;
            }
            return Admit::Up;
        };
        // Both ends apply the same rule, so they keep the same socket. Between two connections
        // of equal rank (one side dialed twice, e.g. after a restart), the newer one wins.
        if self.preferred(peer, &link) || !self.preferred(peer, old) {
            let old = self.peers.insert(peer, link).expect("checked above");
            Admit::Replaced(old)
        } else {
            Admit::Refused(link)
        }
    }

    /// The connection that speaks for `peer`.
    pub(crate) fn get(&self, peer: &PeerId) -> Option<&Link> {
        self.peers.get(peer)
    }

    /// Forgets `peer` if connection `conn` still speaks for it; true if it did.
    pub(crate) fn remove(&mut self, peer: PeerId, conn: u64) -> bool {
        if self.peers.get(&peer).is_some_and(|l| l.conn == conn) {
            self.peers.remove(&peer);
            return true;
        }
        false
    }

    /// Forgets `peer` and returns its connection, to close.
    pub(crate) fn disconnect(&mut self, peer: &PeerId) -> Option<Link> {
        self.peers.remove(peer)
    }

    /// Connected peers.
    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether the transport shut down.
    pub(crate) fn is_shut(&self) -> bool {
        self.shut
    }

    /// Shuts down: refuses everything from now on and returns every connection, to close.
    pub(crate) fn shut(&mut self) -> Vec<Link> {
        self.shut = true;
        self.dials.clear();
        std::mem::take(&mut self.peers).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: PeerId = PeerId([1; 32]);
    const LARGE: PeerId = PeerId([2; 32]);

    fn link(conn: u64, dialer: PeerId) -> Link {
        let (queue, _) = mpsc::channel(1);
        let (ctl, _) = watch::channel(Ctl::Open);
        Link { conn, dialer, queue, ctl }
    }

    fn conn_of(r: &Registry, peer: PeerId) -> Option<u64> {
        r.get(&peer).map(|l| l.conn)
    }

    /// Both ends keep the connection dialed by the smaller PeerId, whatever the order in which
    /// the two connections complete.
    #[test]
    fn both_ends_keep_the_connection_dialed_by_the_smaller_id() {
        // On the smaller node: its own dial (conn 1) and the larger node's dial (conn 2).
        for order in [[1, 2], [2, 1]] {
            let mut small = Registry::new(SMALL);
            let mut large = Registry::new(LARGE);
            for (i, conn) in order.into_iter().enumerate() {
                let dialer = if conn == 1 { SMALL } else { LARGE };
                let (s, l) = (
                    small.admit(LARGE, link(conn, dialer)),
                    large.admit(SMALL, link(conn, dialer)),
                );
                if i == 0 {
                    assert!(matches!((s, l), (Admit::Up, Admit::Up)));
                } else if conn == 1 {
                    assert!(matches!((s, l), (Admit::Replaced(_), Admit::Replaced(_))));
                } else {
                    assert!(matches!((s, l), (Admit::Refused(_), Admit::Refused(_))));
                }
            }
            assert_eq!((conn_of(&small, LARGE), conn_of(&large, SMALL)), (Some(1), Some(1)));
        }
    }

    /// Of two connections dialed by the same side, the newer one wins.
    #[test]
    fn equal_rank_keeps_the_newer() {
        let mut r = Registry::new(SMALL);
        assert!(matches!(r.admit(LARGE, link(1, LARGE)), Admit::Up));
        assert!(matches!(r.admit(LARGE, link(2, LARGE)), Admit::Replaced(old) if old.conn == 1));
        assert_eq!(conn_of(&r, LARGE), Some(2));
        assert_eq!(r.len(), 1);
    }

    /// A dial answered by an inbound `Up` owes no `Down` when it fails; an unanswered one does.
    /// Dials to connected peers or already dialing peers do not start.
    #[test]
    fn dials_are_answered_once() {
        let mut r = Registry::new(SMALL);
        assert!(r.start_dial(LARGE));
        assert!(!r.start_dial(LARGE), "a second dial joins the first");
        assert!(r.end_dial(LARGE), "unanswered failure reports Down");

        assert!(r.start_dial(LARGE));
        assert!(matches!(r.admit(LARGE, link(1, LARGE)), Admit::Up));
        assert!(!r.end_dial(LARGE), "the inbound Up answered it");
        assert!(!r.start_dial(LARGE), "connected peers are not dialed");
    }

    /// Only the connection that speaks for a peer removes it; after shutdown nothing is admitted.
    #[test]
    fn remove_by_connection_and_shutdown() {
        let mut r = Registry::new(SMALL);
        assert!(matches!(r.admit(LARGE, link(1, SMALL)), Admit::Up));
        assert!(!r.remove(LARGE, 2));
        assert!(r.remove(LARGE, 1));
        assert_eq!(r.len(), 0);
        assert!(matches!(r.admit(LARGE, link(3, SMALL)), Admit::Up));
        assert_eq!(r.shut().len(), 1);
        assert!(r.is_shut());
        assert!(matches!(r.admit(LARGE, link(4, SMALL)), Admit::Refused(_)));
        assert!(!r.start_dial(LARGE));
    }

    /// A close, once decided, keeps its reason.
    #[test]
    fn first_close_wins() {
        let (ctl, rx) = watch::channel(Ctl::Open);
        Ctl::close(&ctl, Some(DownReason::TooSlow));
        Ctl::close(&ctl, None);
        assert_eq!(*rx.borrow(), Ctl::Close(Some(DownReason::TooSlow)));
    }
}
