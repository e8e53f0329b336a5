//! The faucet's single sender: one task takes payment requests from a bounded queue and
//! submits them one at a time with consecutive nonces, so that concurrent requests never
//! reuse a nonce. It learns the nonce from the node's projected nonce at the start and again
//! after any failure (a refused or lost submission may have left the node elsewhere).

use spacemesh_core::account::Address;
use spacemesh_runtime_real::account_api::SubmitAnswer;
use tokio::sync::{mpsc, oneshot};

/// The node as the sender needs it.
pub(crate) trait SenderNode: Send + Sync + 'static {
    /// The faucet account's projected nonce.
    fn projected_nonce(&self) -> impl Future<Output = Result<u64, String>> + Send;
    /// Submits a raw transaction.
    fn submit(&self, raw: Vec<u8>) -> impl Future<Output = Result<SubmitAnswer, String>> + Send;
}

/// A payment to make.
#[derive(Debug)]
pub(crate) struct Payment {
    /// The receiver.
    pub(crate) to: Address,
    /// The answer: the transaction id, or why it was not sent.
    pub(crate) reply: oneshot::Sender<Result<String, String>>,
}

/// Runs the sender until every handle to `queue` is gone. `sign(nonce, to)` builds the signed
/// transaction.
pub(crate) async fn run<N, S>(node: N, sign: S, mut queue: mpsc::Receiver<Payment>)
where
    N: SenderNode,
    S: Fn(u64, Address) -> Vec<u8> + Send + Sync + 'static,
{
    let mut next: Option<u64> = None;
    while let Some(payment) = queue.recv().await {
        let outcome = pay(&node, &sign, &mut next, payment.to).await;
        let _ = payment.reply.send(outcome);
    }
}

/// One payment: at most two attempts, the second with a freshly read nonce when the first was
/// refused with a nonce the node does not expect.
async fn pay<N: SenderNode, S: Fn(u64, Address) -> Vec<u8>>(
    node: &N,
    sign: &S,
    next: &mut Option<u64>,
    to: Address,
) -> Result<String, String> {
    let mut last_error = String::new();
    for _ in 0..2 {
        let nonce = match *next {
            Some(n) => n,
            None => node.projected_nonce().await.map_err(|e| format!("reading the nonce: {e}"))?,
        };
        match node.submit(sign(nonce, to)).await {
            Ok(a) if a.accepted => {
                *next = Some(nonce + 1);
                return Ok(a.id);
            }
            Ok(a) => {
                *next = None;
                last_error = a.reason.unwrap_or_else(|| "refused without a reason".into());
                // Retry only when a fresh read gives another nonce; otherwise the refusal was
                // about something else.
                match node.projected_nonce().await {
                    Ok(fresh) if fresh != nonce => *next = Some(fresh),
                    _ => return Err(last_error),
                }
            }
            Err(e) => {
                *next = None;
                return Err(e);
            }
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A node that accepts exactly the nonce it expects (and counts it), whose expected
    /// nonce can be moved from outside, as another sender of the same account would.
    #[derive(Clone, Default)]
    struct FakeNode {
        expected: Arc<Mutex<u64>>,
        accepted: Arc<Mutex<Vec<(u64, Address)>>>,
        reads: Arc<Mutex<u32>>,
    }

    impl SenderNode for FakeNode {
        async fn projected_nonce(&self) -> Result<u64, String> {
            *self.reads.lock().unwrap() += 1;
            Ok(*self.expected.lock().unwrap())
        }
        async fn submit(&self, raw: Vec<u8>) -> Result<SubmitAnswer, String> {
            let nonce = u64::from_le_bytes(raw[..8].try_into().unwrap());
            let to = Address(raw[8..].try_into().unwrap());
            let mut expected = self.expected.lock().unwrap();
            let id = format!("tx-{nonce}");
            if nonce != *expected {
                return Ok(SubmitAnswer { id, accepted: false, reason: Some("bad nonce".into()) });
            }
            *expected += 1;
            self.accepted.lock().unwrap().push((nonce, to));
            Ok(SubmitAnswer { id, accepted: true, reason: None })
        }
    }

    fn sign(nonce: u64, to: Address) -> Vec<u8> {
        [&nonce.to_le_bytes()[..], &to.0].concat()
    }

    async fn request(
        queue: &mpsc::Sender<Payment>,
        n: u8,
    ) -> oneshot::Receiver<Result<String, String>> {
        let (reply, answer) = oneshot::channel();
        queue.send(Payment { to: Address([n; 24]), reply }).await.unwrap();
        answer
    }

    /// Requests queued together go out in order with consecutive nonces from the node's
    /// projected nonce, read once; when another sender moves the nonce, the refused payment is
    /// retried with the fresh nonce and the sequence goes on from there.
    #[tokio::test]
    async fn consecutive_nonces_in_order() {
        let node = FakeNode::default();
        *node.expected.lock().unwrap() = 7;
        let (queue, rx) = mpsc::channel(16);
        tokio::spawn(run(node.clone(), sign, rx));
        let mut answers = Vec::new();
        for n in 0..5 {
            answers.push(request(&queue, n).await);
        }
        for (n, a) in answers.into_iter().enumerate() {
            assert_eq!(a.await.unwrap(), Ok(format!("tx-{}", 7 + n)));
        }
        let want: Vec<_> = (0..5u8).map(|n| (7 + u64::from(n), Address([n; 24]))).collect();
        assert_eq!(*node.accepted.lock().unwrap(), want);
        assert_eq!(*node.reads.lock().unwrap(), 1, "the nonce is read once while all goes well");

        *node.expected.lock().unwrap() = 20;
        assert_eq!(request(&queue, 9).await.await.unwrap(), Ok("tx-20".into()));
        assert_eq!(request(&queue, 10).await.await.unwrap(), Ok("tx-21".into()));
        assert_eq!(node.accepted.lock().unwrap().last(), Some(&(21, Address([10; 24]))));
    }

    /// A refusal the nonce does not explain is reported, and nothing is retried with the
    /// same nonce.
    #[tokio::test]
    async fn refusal_reported() {
        #[derive(Clone)]
        struct Refusing;
        impl SenderNode for Refusing {
            async fn projected_nonce(&self) -> Result<u64, String> {
                Ok(3)
            }
            async fn submit(&self, _raw: Vec<u8>) -> Result<SubmitAnswer, String> {
                Ok(SubmitAnswer { id: "x".into(), accepted: false, reason: Some("broke".into()) })
            }
        }
        let (queue, rx) = mpsc::channel(1);
        tokio::spawn(run(Refusing, sign, rx));
        assert_eq!(request(&queue, 1).await.await.unwrap(), Err("broke".into()));
    }
}
