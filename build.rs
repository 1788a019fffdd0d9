//! Compiles `proto/` into Rust with protox, so no system `protoc` is needed, and
//! writes the encoded descriptor set that the reflection service serves.

use std::{env, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "cinema/v1/session.proto",
    "cinema/v1/booking.proto",
    "cinema/v1/venue.proto",
    "cinema/v1/ticket.proto",
    "cinema/v1/movie.proto",
    "cinema/v1/audit.proto",
    "cinema/events/v1/events.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(PROTOS)?;
    fs::write(
        out_dir.join("cinema_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    // Default stubs answer UNIMPLEMENTED for RPCs a service does not implement yet.
    // Undecodable request bytes are INVALID_ARGUMENT, not INTERNAL (src/grpc/codec.rs).
    tonic_prost_build::configure()
        .generate_default_stubs(true)
        .codec_path("crate::grpc::codec::ProtoCodec")
        .compile_fds(compiler.file_descriptor_set())?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
