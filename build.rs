//! Compiles the protos with a pure-Rust protobuf compiler (protox), so no system `protoc`
//! is needed: the worker protocol into prost types, and the Open Inference Protocol's
//! gRPC service into prost types plus a tonic server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let worker = "proto/smart_routing/v1/worker.proto";
    let inference = "proto/inference/grpc_service.proto";
    println!("cargo:rerun-if-changed={worker}");
    println!("cargo:rerun-if-changed={inference}");
    prost_build::Config::new().compile_fds(protox::compile([worker], ["proto"])?)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_transport(false)
        .compile_fds(protox::compile([inference], ["proto"])?)?;
    Ok(())
}
