//! The two places where HTTP meets sockets: serving a router on a listener, and opening an
//! HTTP/1 exchange to an address. Everything above them (axum routers, hyper requests and
//! bodies) is the same in both builds.
//!
//! A normal build uses `axum::serve` and hyper-util's pooled client, both on tokio's sockets.
//! Those are tied to the real tokio runtime, so a `--cfg madsim` build serves each accepted
//! simulated connection with hyper's own HTTP/1 connection driver and opens one simulated
//! connection per request: the same HTTP/1 bytes, over madsim's network.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` resolves; open exchanges then finish.
#[cfg(not(madsim))]
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// Serves `router` on a simulated `listener` until `shutdown` resolves: one task per
/// connection, each driven by hyper's HTTP/1 server (connections end when their peer closes
/// them or their node stops).
#[cfg(madsim)]
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => accepted?,
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%remote, error = %e, "HTTP connection failed");
            }
        });
    }
}

/// Sends one request over a new simulated connection to `addr` and returns the answer's head
/// and streaming body. `Err(Ok(_))` is a connection that could not be made, `Err(Err(_))` a
/// failure of the HTTP exchange.
#[cfg(madsim)]
pub(crate) async fn send<B>(
    addr: std::net::SocketAddr,
    request: hyper::Request<B>,
) -> Result<hyper::Response<hyper::body::Incoming>, Result<std::io::Error, hyper::Error>>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use hyper_util::rt::TokioIo;
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(Ok)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(Err)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(%addr, error = %e, "HTTP connection failed");
        }
    });
    sender.send_request(request).await.map_err(Err)
}
