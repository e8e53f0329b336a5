//! `spacemesh.v1.AdminService` on the private listener: `PeerInfoStream`, the peers the node is
//! connected to now (one message each, then the stream ends, as in go-spacemesh). Of
//! `PeerInfo`, this node fills the p2p key (hex) and one connection: its address (empty when
//! not known), uptime and direction; tags and traffic counters stay empty. The other admin
//! methods (checkpoints, recovery, events) are not served (UNIMPLEMENTED).

use tonic::{Request, Response, Status};

use super::proto::spacemesh::v1 as pb;
use super::service::V2alpha1;
use super::stream::ItemStream;
use crate::account_api::{ApiRequest, PeerConnection};

/// The v1 form of a connected peer.
fn proto_peer(p: &PeerConnection) -> pb::PeerInfo {
    use pb::connection_info::Kind;
    let uptime = pbjson_types::Duration {
        seconds: i64::try_from(p.uptime.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(p.uptime.subsec_nanos()).unwrap_or(0),
    };
    pb::PeerInfo {
        id: p.peer.to_string(),
        connections: vec![pb::ConnectionInfo {
            address: p.address.clone().unwrap_or_default(),
            uptime: Some(uptime),
            outbound: p.outbound,
            kind: if p.outbound { Kind::Outbound } else { Kind::Inbound }.into(),
        }],
        tags: Vec::new(),
        bytes_sent: 0,
        bytes_received: 0,
    }
}

#[tonic::async_trait]
impl pb::admin_service_server::AdminService for V2alpha1 {
    type PeerInfoStreamStream = ItemStream<pb::PeerInfo>;

    async fn peer_info_stream(
        &self,
        _: Request<pbjson_types::Empty>,
    ) -> Result<Response<Self::PeerInfoStreamStream>, Status> {
        let peers = self.ask(|reply| ApiRequest::Peers { reply }).await?;
        let infos: Vec<Result<pb::PeerInfo, Status>> =
            peers.iter().map(|p| Ok(proto_peer(p))).collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(infos))))
    }
}
