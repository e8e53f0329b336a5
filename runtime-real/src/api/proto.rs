//! The generated API types: prost messages, tonic services and clients, and their canonical
//! proto3 JSON (pbjson serde), from `runtime-real/proto/`. Modules follow the proto packages
//! (generated code refers to other packages by relative path).

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic, rust_2018_idioms)]
#![allow(missing_debug_implementations)]

/// `google.*`.
pub mod google {
    /// `google.rpc` (the Status message of transaction answers).
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
        include!(concat!(env!("OUT_DIR"), "/google.rpc.serde.rs"));
    }
}

/// `spacemesh.*`.
pub mod spacemesh {
    /// `spacemesh.v1` (the private SmesherService).
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/spacemesh.v1.rs"));
    }

    /// `spacemesh.v2alpha1`.
    pub mod v2alpha1 {
        include!(concat!(env!("OUT_DIR"), "/spacemesh.v2alpha1.rs"));
        include!(concat!(env!("OUT_DIR"), "/spacemesh.v2alpha1.serde.rs"));
    }
}

/// The encoded file descriptor set of every API file, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/api_descriptor.bin"));
