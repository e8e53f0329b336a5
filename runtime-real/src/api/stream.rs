//! The v2alpha1 streams of the private listener: Layer, Reward, Activation, Malfeasance and
//! Transaction `StreamService.Stream`.
//!
//! Every stream is one loop, [`poll_stream`]: ask the node loop for a page of items after a
//! cursor, send them, move the cursor past them; ask again at once while pages come full,
//! then (with `watch`) every [`STREAM_POLL`] until the client goes away. A stream's cursor
//! only moves forward, so no item is sent twice:
//!
//! - layers, rewards and transactions: the next layer (a layer reverted and applied again is
//!   not sent again);
//! - ATXs: (time this node accepted it, id); proofs: (time this node learned it, identity).
//!   The node answers only what it took in before its current time, so nothing can later
//!   appear behind the cursor.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use spacemesh_core::types::{Hash32, NodeId, Time};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::proto::spacemesh::v2alpha1 as pb;
use super::service::{
    V2alpha1, id32, last_layer, proto_activation, proto_layer, proto_proof, proto_reward,
};
use crate::account_api::{self, ApiRequest, LayerPage, LayerTxInfo};

/// How often a watching stream asks the node for new items.
const STREAM_POLL: Duration = Duration::from_millis(500);
/// Items a stream may have sent but its client not read yet.
const STREAM_BUFFER: usize = 64;
/// Most ATXs or proofs one page asks the node for.
const PAGE_MAX: usize = 1000;

/// A server stream of `T`.
pub type ItemStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// One answer of a stream's source.
#[derive(Debug)]
pub(super) struct Page<T, C> {
    /// The items after the cursor, in cursor order.
    pub(super) items: Vec<T>,
    /// The cursor after them.
    pub(super) next: C,
    /// The page was cut at its bound: more is ready now.
    pub(super) more: bool,
    /// Nothing can follow (the cursor passed the request's end).
    pub(super) done: bool,
}

/// Streams what `fetch` answers from `cursor` on: each page's items in order, then the next
/// page from the cursor it returned. Without `watch` the stream ends once a page is not full
/// (the history is sent); with it, it asks again every [`STREAM_POLL`]. It ends when a page
/// says `done`, on the first error (sent to the client), or when the client goes away; `slot`
/// is given back then.
pub(super) fn poll_stream<T, C, F, Fut>(
    slot: tokio::sync::OwnedSemaphorePermit,
    watch: bool,
    mut cursor: C,
    mut fetch: F,
) -> ItemStream<T>
where
    T: Send + 'static,
    C: Clone + Send + 'static,
    F: FnMut(C) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T, C>, Status>> + Send,
{
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(async move {
        let _slot = slot;
        loop {
            let page = tokio::select! {
                page = fetch(cursor.clone()) => page,
                () = tx.closed() => return,
            };
            let page = match page {
                Ok(p) => p,
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            };
            for item in page.items {
                if tx.send(Ok(item)).await.is_err() {
                    return; // The client went away.
                }
            }
            cursor = page.next;
            if page.done {
                return;
            }
            if page.more {
                continue;
            }
            if !watch {
                return;
            }
            // Nothing more yet: wait, unless the client goes away meanwhile.
            tokio::select! {
                () = tokio::time::sleep(STREAM_POLL) => {}
                () = tx.closed() => return,
            }
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// The page of a layer-indexed answer asked from layer `next` up to `last`: the cursor moves
/// past the last layer the node looked at.
fn layer_page<T, U>(
    next: u32,
    last: u32,
    page: LayerPage<U>,
    map: impl FnMut(U) -> Option<T>,
) -> Page<T, u32> {
    let after = page.through.map_or(next, |t| t.saturating_add(1));
    let full =
        page.through.is_some_and(|t| t.saturating_sub(next) + 1 >= account_api::LAYERS_ANSWER_MAX);
    Page {
        items: page.items.into_iter().filter_map(map).collect(),
        next: after,
        more: full,
        done: after > last || page.through == Some(u32::MAX),
    }
}

#[tonic::async_trait]
impl pb::layer_stream_service_server::LayerStreamService for V2alpha1 {
    type StreamStream = ItemStream<pb::Layer>;

    /// The kept layers from `start_layer` (to `end_layer`, 0: no end), then with `watch` each
    /// layer as the node applies it. Layers reverted and applied again are not sent twice.
    async fn stream(
        &self,
        request: Request<pb::LayerStreamRequest>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let r = request.into_inner();
        let last = last_layer(r.start_layer, r.end_layer)?;
        let api = self.clone();
        Ok(Response::new(poll_stream(self.stream_slot()?, r.watch, r.start_layer, move |next| {
            let api = api.clone();
            async move {
                let answer = api.layers(next, last).await?;
                let page = LayerPage {
                    through: answer.layers.last().map(|l| l.layer.0),
                    items: answer.layers,
                };
                Ok(layer_page(next, last, page, |l| Some(proto_layer(&l, answer.verified))))
            }
        })))
    }
}

#[tonic::async_trait]
impl pb::reward_stream_service_server::RewardStreamService for V2alpha1 {
    type StreamStream = ItemStream<pb::Reward>;

    /// The rewards of the kept layers from `start_layer` (to `end_layer`, 0: no end), of the
    /// coinbase or smesher asked for if any, then with `watch` those of each layer as the node
    /// applies it.
    async fn stream(
        &self,
        request: Request<pb::RewardStreamRequest>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        use pb::reward_stream_request::FilterBy;
        let r = request.into_inner();
        let last = last_layer(r.start_layer, r.end_layer)?;
        let filter = match &r.filter_by {
            Some(FilterBy::Coinbase(text)) => self.reward_filter(Some(text), None)?,
            Some(FilterBy::Smesher(bytes)) => self.reward_filter(None, Some(bytes))?,
            None => self.reward_filter(None, None)?,
        };
        let api = self.clone();
        Ok(Response::new(poll_stream(self.stream_slot()?, r.watch, r.start_layer, move |first| {
            let api = api.clone();
            async move {
                let page = api.ask(|reply| ApiRequest::RewardsPage { first, last, reply }).await?;
                let hrp = api.hrp();
                Ok(layer_page(first, last, page, |w| {
                    filter.admits(&w).then(|| proto_reward(&w, hrp))
                }))
            }
        })))
    }
}

#[tonic::async_trait]
impl pb::activation_stream_service_server::ActivationStreamService for V2alpha1 {
    type StreamStream = ItemStream<pb::Activation>;

    /// The ATXs the node holds that the request admits (publish epoch from `start_epoch` to
    /// `end_epoch`, 0: no end; ids, smeshers, coinbase when given), in the order the node
    /// accepted them, then with `watch` each one it accepts.
    async fn stream(
        &self,
        request: Request<pb::ActivationStreamRequest>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let r = request.into_inner();
        let filter =
            self.atx_filter(r.start_epoch, r.end_epoch, &r.id, &r.smesher_id, &r.coinbase)?;
        let api = self.clone();
        Ok(Response::new(poll_stream(self.stream_slot()?, r.watch, None, move |after| {
            let (api, filter) = (api.clone(), filter.clone());
            async move {
                let limit = PAGE_MAX;
                let atxs =
                    api.ask(|reply| ApiRequest::AtxsSince { filter, after, limit, reply }).await?;
                let next = atxs.last().map(|(t, h)| (*t, h.id)).or(after);
                Ok(Page {
                    more: atxs.len() >= PAGE_MAX,
                    items: atxs.iter().map(|(_, h)| proto_activation(h, api.hrp())).collect(),
                    next,
                    done: false,
                })
            }
        })))
    }
}

#[tonic::async_trait]
impl pb::malfeasance_stream_service_server::MalfeasanceStreamService for V2alpha1 {
    type StreamStream = ItemStream<pb::MalfeasanceProof>;

    /// The node's proofs (against the identities asked for, or all) in the order it learned
    /// them, then with `watch` each new one.
    async fn stream(
        &self,
        request: Request<pb::MalfeasanceStreamRequest>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let r = request.into_inner();
        let wanted: Vec<NodeId> = r
            .smesher_id
            .iter()
            .map(|b| id32(b, "smesher_id").map(NodeId))
            .collect::<Result<_, _>>()?;
        let api = self.clone();
        let start: Option<(Time, NodeId)> = None;
        Ok(Response::new(poll_stream(self.stream_slot()?, r.watch, start, move |after| {
            let (api, wanted) = (api.clone(), wanted.clone());
            async move {
                let limit = PAGE_MAX;
                let proofs =
                    api.ask(|reply| ApiRequest::MalfeasanceSince { after, limit, reply }).await?;
                let next = proofs.last().map(|(t, id, _)| (*t, *id)).or(after);
                Ok(Page {
                    more: proofs.len() >= PAGE_MAX,
                    items: proofs
                        .iter()
                        .filter(|(_, id, _)| wanted.is_empty() || wanted.contains(id))
                        .map(|(_, id, kind)| proto_proof(id, *kind))
                        .collect(),
                    next,
                    done: false,
                })
            }
        })))
    }
}

#[tonic::async_trait]
impl pb::transaction_stream_service_server::TransactionStreamService for V2alpha1 {
    type StreamStream = ItemStream<pb::TransactionResponse>;

    /// The transactions of the kept applied layers from `start_layer` (to `end_layer` if set),
    /// of the ids and principal asked for if any, with their results, then with `watch` those
    /// of each layer as the node applies it.
    async fn stream(
        &self,
        request: Request<pb::TransactionStreamRequest>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let r = request.into_inner();
        let last = r.end_layer.unwrap_or(u32::MAX);
        if last < r.start_layer {
            return Err(Status::invalid_argument("end_layer is below start_layer"));
        }
        let ids: Vec<Hash32> =
            r.txid.iter().map(|b| id32(b, "txid").map(Hash32)).collect::<Result<_, _>>()?;
        let principal = r.principal.as_deref().map(|p| self.address(p)).transpose()?;
        let api = self.clone();
        Ok(Response::new(poll_stream(self.stream_slot()?, r.watch, r.start_layer, move |first| {
            let (api, ids) = (api.clone(), ids.clone());
            async move {
                let page = api.ask(|reply| ApiRequest::TxsPage { first, last, reply }).await?;
                Ok(layer_page(first, last, page, |t| {
                    let id = spacemesh_core::tx::tx_id(&t.tx.raw);
                    let wanted = (ids.is_empty() || ids.contains(&id))
                        && principal.is_none_or(|p| t.parsed.body.principal == p);
                    wanted.then(|| proto_tx_response(&t, api.hrp()))
                }))
            }
        })))
    }
}

/// A transaction of an applied layer with its state and result.
fn proto_tx_response(t: &LayerTxInfo, hrp: &str) -> pb::TransactionResponse {
    let (state, result) = super::tx::proto_tx_result(
        Some(&t.parsed),
        &t.tx.result,
        t.tx.layer,
        Some(t.tx.block),
        hrp,
    );
    pb::TransactionResponse {
        tx: Some(super::tx::proto_tx(&t.parsed, &t.tx.raw, hrp)),
        tx_result: Some(result),
        tx_state: Some(state.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt;

    /// A slot of a semaphore of one.
    fn slot() -> tokio::sync::OwnedSemaphorePermit {
        std::sync::Arc::new(tokio::sync::Semaphore::new(1)).try_acquire_owned().unwrap()
    }

    /// A stream holds its slot while open and gives it back when it ends; past
    /// `STREAMS_MAX` open streams a new one is RESOURCE_EXHAUSTED until one ends.
    #[tokio::test]
    async fn open_streams_are_bounded() {
        let api = crate::api::tests::api();
        let mut held: Vec<_> =
            (0..super::super::service::STREAMS_MAX).map(|_| api.stream_slot().unwrap()).collect();
        let e = api.stream_slot().unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.message().contains("streams are open"), "{}", e.message());
        let slot = held.pop().unwrap();
        let got: Vec<u32> =
            poll_stream(slot, false, 0, counting(3, 10)).map(|r| r.unwrap()).collect().await;
        assert_eq!(got, [0, 1, 2]);
        // The stream's task gives its slot back as it ends (just after the last item).
        let mut again = api.stream_slot();
        for _ in 0..100 {
            if again.is_ok() {
                break;
            }
            tokio::task::yield_now().await;
            again = api.stream_slot();
        }
        assert!(again.is_ok(), "the ended stream's slot is free again");
    }

    /// A source of the numbers below `end`, `per_page` at a time, that ends at `end`.
    fn counting(
        end: u32,
        per_page: u32,
    ) -> impl FnMut(u32) -> std::future::Ready<Result<Page<u32, u32>, Status>> {
        move |from| {
            let to = (from + per_page).min(end);
            std::future::ready(Ok(Page {
                items: (from..to).collect(),
                next: to,
                more: to - from == per_page,
                done: false,
            }))
        }
    }

    /// Without watch, full pages are followed at once and the stream ends after the first
    /// short one: every item exactly once, in order.
    #[tokio::test]
    async fn history_pages_follow_until_a_short_one() {
        let got: Vec<u32> =
            poll_stream(slot(), false, 0, counting(25, 10)).map(|r| r.unwrap()).collect().await;
        assert_eq!(got, (0..25).collect::<Vec<_>>());
    }

    /// An error of the source reaches the client and ends the stream.
    #[tokio::test]
    async fn an_error_ends_the_stream() {
        let mut s = poll_stream(slot(), true, 0u32, |_| async {
            Err::<Page<u32, u32>, _>(Status::unavailable("the node is stopping"))
        });
        assert_eq!(s.next().await.unwrap().unwrap_err().code(), tonic::Code::Unavailable);
        assert!(s.next().await.is_none());
    }

    /// With watch the stream waits for new items and sends each once; `done` ends it.
    #[tokio::test]
    async fn watch_sends_new_items_once_and_ends_when_done() {
        let available = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(2));
        let source = available.clone();
        let mut s = poll_stream(slot(), true, 0u32, move |from| {
            let to = source.load(std::sync::atomic::Ordering::SeqCst);
            async move { Ok(Page { items: (from..to).collect(), next: to, more: false, done: to >= 4 }) }
        });
        assert_eq!(s.next().await.unwrap().unwrap(), 0);
        assert_eq!(s.next().await.unwrap().unwrap(), 1);
        available.store(4, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(s.next().await.unwrap().unwrap(), 2);
        assert_eq!(s.next().await.unwrap().unwrap(), 3);
        assert!(s.next().await.is_none(), "done after item 3");
    }

    /// A layer page moves the cursor past the last layer looked at, even with no item in it,
    /// and is done once past the request's last layer.
    #[test]
    fn layer_page_moves_past_empty_layers() {
        let page: LayerPage<u32> = LayerPage { items: Vec::new(), through: Some(7) };
        let p = layer_page(5, 100, page, Some);
        assert_eq!((p.next, p.more, p.done), (8, false, false));
        let page: LayerPage<u32> = LayerPage { items: vec![9], through: Some(9) };
        let p = layer_page(8, 9, page, Some);
        assert_eq!((p.items, p.next, p.done), (vec![9], 10, true));
        let none: LayerPage<u32> = LayerPage { items: Vec::new(), through: None };
        let p = layer_page(8, 100, none, Some);
        assert_eq!((p.next, p.more, p.done), (8, false, false));
    }
}
