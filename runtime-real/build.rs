//! Generates the gRPC API v2alpha1 (prost messages, tonic services, pbjson serde) and the
//! private v1 services (prost and tonic only: the JSON gateway does not serve them) from
//! `proto/`, and the file descriptor set that server reflection serves.
//!
//! protoc comes from the `protoc-bin-vendored` crate, so the build needs no system protoc.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/spacemesh/v2alpha1/v2alpha1.proto",
    "proto/spacemesh/v2alpha1/block.proto",
    "proto/spacemesh/v2alpha1/network.proto",
    "proto/spacemesh/v2alpha1/node.proto",
    "proto/spacemesh/v2alpha1/account.proto",
    "proto/spacemesh/v2alpha1/layer.proto",
    "proto/spacemesh/v2alpha1/tx.proto",
    "proto/spacemesh/v2alpha1/reward.proto",
    "proto/spacemesh/v2alpha1/activation.proto",
    "proto/spacemesh/v2alpha1/malfeasance.proto",
    "proto/google/rpc/status.proto",
    "proto/spacemesh/v1/types.proto",
    "proto/spacemesh/v1/smesher_types.proto",
    "proto/spacemesh/v1/smesher.proto",
    "proto/spacemesh/v1/admin_types.proto",
    "proto/spacemesh/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=proto");
    println!("cargo::rustc-check-cfg=cfg(madsim)");
    // The madsim build has no API (tonic's server needs real sockets).
    if std::env::var("CARGO_CFG_MADSIM").is_ok() {
        return Ok(());
    }
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let include = protoc_bin_vendored::include_path()?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = out.join("api_descriptor.bin");
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_well_known_types(true)
        .file_descriptor_set_path(&descriptors)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_with_config(
            config,
            &PROTOS.iter().map(PathBuf::from).collect::<Vec<_>>(),
            &[PathBuf::from("proto"), include],
        )?;
    let set = std::fs::read(&descriptors)?;
    pbjson_build::Builder::new()
        .register_descriptors(&set)?
        .extern_path(".google.protobuf", "::pbjson_types")
        .build(&[".spacemesh.v2alpha1", ".google.rpc"])?;
    Ok(())
}
