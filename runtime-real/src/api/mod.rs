//! The node's gRPC API, wire-compatible with Spacemesh's public API v2alpha1 (package
//! `spacemesh.v2alpha1`, same service, method, message and field names and numbers), and its
//! JSON gateway. Three listeners, as in go-spacemesh:
//!
//! - **public** gRPC: the unary services (Network.Info, Node.Status, Account.List, Layer.List,
//!   Transaction.{List, ParseTransaction, SubmitTransaction, EstimateGas}, Reward.List,
//!   Activation.{List, ActivationsCount, Highest}, Malfeasance.List) and server reflection
//!   listing only them;
//! - **private** gRPC, loopback only: the v2alpha1 streams (Layer, Reward, Activation,
//!   Malfeasance and Transaction `StreamService.Stream`, see [`stream`]), smeshing status and
//!   control and the PoST setup status (`spacemesh.v1.SmesherService`, see [`smesher`]), the
//!   connected peers (`spacemesh.v1.AdminService.PeerInfoStream`, see [`admin`]), and
//!   reflection listing them;
//! - **JSON**: the public unary methods as `POST /spacemesh.v2alpha1.<Service>/<Method>`
//!   ([`gateway`]), the public services over grpc-web ([`grpc_web`]), and the dashboard and
//!   wallet pages ([`crate::web`]).
//!
//! The public and JSON listeners share a per-client rate limit ([`rate_limit`]).
//!
//! Every answer comes from the node: see [`service`]. Not built under `--cfg madsim` (tonic's
//! HTTP/2 server runs on real tokio sockets only).

pub mod admin;
pub mod gateway;
pub mod grpc_web;
pub mod proto;
pub mod rate_limit;
pub mod service;
pub mod smesher;
pub mod stream;
mod tx;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use crate::config::ApiListeners;
use proto::spacemesh::v2alpha1 as pb;
pub use service::{NetworkConstants, V2alpha1};
pub use smesher::{Smesher, SmesherSettings};

/// The public gRPC services, by full name (reflection on the public listener lists these).
pub const PUBLIC_SERVICES: &[&str] = &[
    "spacemesh.v2alpha1.NetworkService",
    "spacemesh.v2alpha1.NodeService",
    "spacemesh.v2alpha1.AccountService",
    "spacemesh.v2alpha1.LayerService",
    "spacemesh.v2alpha1.TransactionService",
    "spacemesh.v2alpha1.RewardService",
    "spacemesh.v2alpha1.ActivationService",
    "spacemesh.v2alpha1.MalfeasanceService",
];

/// The private gRPC services, by full name (the smesher service only where the node serves
/// one: see [`serve_with`]).
pub const PRIVATE_SERVICES: &[&str] = &[
    "spacemesh.v2alpha1.LayerStreamService",
    "spacemesh.v2alpha1.RewardStreamService",
    "spacemesh.v2alpha1.ActivationStreamService",
    "spacemesh.v2alpha1.MalfeasanceStreamService",
    "spacemesh.v2alpha1.TransactionStreamService",
    "spacemesh.v1.AdminService",
    SMESHER_SERVICE,
];

/// The smesher service's full name.
const SMESHER_SERVICE: &str = "spacemesh.v1.SmesherService";

/// Binds the listeners of `at` that are on and serves `api` on them until `stop` holds true (or
/// its sender is gone). Returns the bound addresses (a port 0 becomes the one the system chose).
/// No smesher service: see [`serve_with`].
pub async fn serve(
    at: ApiListeners,
    api: V2alpha1,
    stop: watch::Receiver<bool>,
) -> std::io::Result<ApiListeners> {
    serve_with(at, api, None, stop).await
}

/// [`serve`], with `smesher` (if any) on the private listener too.
pub async fn serve_with(
    at: ApiListeners,
    api: V2alpha1,
    smesher: Option<Smesher>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<ApiListeners> {
    let shutdown = move || {
        let mut stop = stop.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    };
    let mut bound = ApiListeners { rate_limit: at.rate_limit, ..ApiListeners::default() };
    let limiter = at.rate_limit.map(rate_limit::RateLimiter::new);
    if let Some(addr) = at.public {
        let listener = bind(addr, "public gRPC").await?;
        bound.public = Some(listener.local_addr()?);
        let mut routes = tonic::service::Routes::builder();
        add_public(&mut routes, &api)
            .add_service(reflection_v1(PUBLIC_SERVICES)?)
            .add_service(reflection_v1alpha(PUBLIC_SERVICES)?);
        let router = rate_limit::limit_grpc(routes.routes(), limiter.clone());
        spawn_grpc(listener, router, shutdown(), "public");
    }
    if let Some(addr) = at.private {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::other(format!(
                "the private API listener {addr} must be a loopback address"
            )));
        }
        let listener = bind(addr, "private gRPC").await?;
        bound.private = Some(listener.local_addr()?);
        let services: Vec<&str> = PRIVATE_SERVICES
            .iter()
            .copied()
            .filter(|s| *s != SMESHER_SERVICE || smesher.is_some())
            .collect();
        let mut routes = tonic::service::Routes::builder();
        add_streams(&mut routes, &api)
            .add_service(reflection_v1(&services)?)
            .add_service(reflection_v1alpha(&services)?)
            .add_service(proto::spacemesh::v1::admin_service_server::AdminServiceServer::new(
                api.clone(),
            ));
        if let Some(smesher) = smesher {
            routes.add_service(
                proto::spacemesh::v1::smesher_service_server::SmesherServiceServer::new(smesher),
            );
        }
        let router = routes.routes();
        spawn_grpc(listener, router, shutdown(), "private");
    }
    if let Some(addr) = at.json {
        let listener = bind(addr, "JSON gateway").await?;
        bound.json = Some(listener.local_addr()?);
        // The dashboard and wallet pages ride on the same listener (same origin as the API).
        let router = grpc_web::json_listener(api, limiter)
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown()).await {
                tracing::warn!(error = %e, "the JSON gateway stopped");
            }
        });
    }
    Ok(bound)
}

/// Adds the public gRPC services on `api` to `routes` (the public listener adds reflection;
/// grpc-web serves these and the streams).
fn add_public<'a>(
    routes: &'a mut tonic::service::RoutesBuilder,
    api: &V2alpha1,
) -> &'a mut tonic::service::RoutesBuilder {
    routes
        .add_service(pb::network_service_server::NetworkServiceServer::new(api.clone()))
        .add_service(pb::node_service_server::NodeServiceServer::new(api.clone()))
        .add_service(pb::account_service_server::AccountServiceServer::new(api.clone()))
        .add_service(pb::layer_service_server::LayerServiceServer::new(api.clone()))
        .add_service(pb::transaction_service_server::TransactionServiceServer::new(api.clone()))
        .add_service(pb::reward_service_server::RewardServiceServer::new(api.clone()))
        .add_service(pb::activation_service_server::ActivationServiceServer::new(api.clone()))
        .add_service(pb::malfeasance_service_server::MalfeasanceServiceServer::new(api.clone()))
}

/// Adds the five read-only v2alpha1 streams on `api` to `routes` (the private listener adds
/// the smeshing and admin services; grpc-web serves them beside the public ones).
fn add_streams<'a>(
    routes: &'a mut tonic::service::RoutesBuilder,
    api: &V2alpha1,
) -> &'a mut tonic::service::RoutesBuilder {
    routes
        .add_service(pb::layer_stream_service_server::LayerStreamServiceServer::new(api.clone()))
        .add_service(pb::reward_stream_service_server::RewardStreamServiceServer::new(api.clone()))
        .add_service(pb::activation_stream_service_server::ActivationStreamServiceServer::new(
            api.clone(),
        ))
        .add_service(pb::malfeasance_stream_service_server::MalfeasanceStreamServiceServer::new(
            api.clone(),
        ))
        .add_service(pb::transaction_stream_service_server::TransactionStreamServiceServer::new(
            api.clone(),
        ))
}

async fn bind(addr: SocketAddr, what: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("{what} listener on {addr}: {e}")))
}

fn spawn_grpc<S>(listener: TcpListener, routes: tonic::service::Routes, shutdown: S, what: &str)
where
    S: Future<Output = ()> + Send + 'static,
{
    let what = what.to_owned();
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_routes(routes)
            // No Nagle: a small answer must not wait for the client's delayed ACK (that cost
            // 40 ms at the p99 of Layer.List before).
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the {what} gRPC listener stopped");
        }
    });
}

fn reflection_error(e: tonic_reflection::server::Error) -> std::io::Error {
    std::io::Error::other(format!("building server reflection: {e}"))
}

/// gRPC server reflection (v1) listing `services`.
fn reflection_v1(
    services: &[&str],
) -> std::io::Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
> {
    let mut b = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET);
    for s in services {
        b = b.with_service_name(*s);
    }
    b.build_v1().map_err(reflection_error)
}

/// gRPC server reflection (v1alpha, which older clients such as grpcio-reflection ask).
fn reflection_v1alpha(
    services: &[&str],
) -> std::io::Result<
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
> {
    let mut b = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET);
    for s in services {
        b = b.with_service_name(*s);
    }
    b.build_v1alpha().map_err(reflection_error)
}

#[cfg(test)]
mod private_tests;
#[cfg(test)]
mod tests;
