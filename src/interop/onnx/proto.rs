//! ONNX's messages as prost types: build.rs generates them into `OUT_DIR`
//! from `onnx.proto` (ONNX 1.23.2, vendored beside this file).

// Generated code: the export builds a few of the messages, and the names and
// comments are the .proto's, not written to atelier's lints.
#![allow(dead_code, clippy::all, clippy::pedantic, rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
