//! Code generated from `proto/` by `build.rs`.
#![allow(clippy::all, clippy::pedantic)]

pub mod cinema {
    pub mod v1 {
        tonic::include_proto!("cinema.v1");
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("cinema.events.v1");
        }
    }
}

pub use cinema::{events::v1 as events, v1};

/// Every message and service of `proto/` with its imports, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/cinema_descriptor.bin"));
