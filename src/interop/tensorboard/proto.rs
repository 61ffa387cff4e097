//! The protobuf messages of a `TensorBoard` event file, as `prost` messages.
//!
//! Only the fields atelier writes, with the field numbers of `TensorBoard`'s
//! own `.proto` files (checked against the descriptors of the `tensorboard`
//! 2.21 Python package): `tensorboard/compat/proto/event.proto`,
//! `summary.proto`, `tensor.proto`, `tensor_shape.proto`,
//! `tensorboard/plugins/hparams/plugin_data.proto` and
//! `google/protobuf/struct.proto`. Fields of a `oneof` are plain optional
//! fields here: on the wire they are the same.

use std::collections::HashMap;

/// `tensorboard.Event`: one record of the file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// `oneof what`: the first record's `brain.Event:2`.
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    /// `oneof what`: the values logged at this step.
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// `tensorboard.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<Value>,
}

/// `tensorboard.Summary.Value`: one tagged value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    #[prost(string, tag = "1")]
    pub tag: String,
    /// `oneof value`: a scalar, which the scalars dashboard reads.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    /// `oneof value`: an encoded image.
    #[prost(message, optional, tag = "4")]
    pub image: Option<Image>,
    /// `oneof value`: a tensor (the hparams plugin's values carry an empty one).
    #[prost(message, optional, tag = "8")]
    pub tensor: Option<TensorProto>,
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
}

/// `tensorboard.Summary.Image`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Image {
    #[prost(int32, tag = "1")]
    pub height: i32,
    #[prost(int32, tag = "2")]
    pub width: i32,
    /// 3 = RGB.
    #[prost(int32, tag = "3")]
    pub colorspace: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub encoded_image_string: Vec<u8>,
}

/// `tensorboard.SummaryMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

/// `tensorboard.SummaryMetadata.PluginData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

/// `tensorboard.TensorProto`, as far as an empty float tensor needs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// 1 = `DT_FLOAT`.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
}

/// `tensorboard.TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
}

/// `tensorboard.TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dim {
    #[prost(int64, tag = "1")]
    pub size: i64,
}

/// `tensorboard.hparams.HParamsPluginData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    pub version: i32,
    /// `oneof data`.
    #[prost(message, optional, tag = "3")]
    pub session_start_info: Option<SessionStartInfo>,
    /// `oneof data`.
    #[prost(message, optional, tag = "4")]
    pub session_end_info: Option<SessionEndInfo>,
}

/// `tensorboard.hparams.SessionStartInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionStartInfo {
    #[prost(map = "string, message", tag = "1")]
    pub hparams: HashMap<String, StructValue>,
    /// Sessions of one group are one configuration's seeds.
    #[prost(string, tag = "4")]
    pub group_name: String,
    #[prost(double, tag = "5")]
    pub start_time_secs: f64,
}

/// `tensorboard.hparams.SessionEndInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionEndInfo {
    /// `tensorboard.hparams.Status`: 1 success, 2 failure, 3 running.
    #[prost(int32, tag = "1")]
    pub status: i32,
    #[prost(double, tag = "2")]
    pub end_time_secs: f64,
}

/// `google.protobuf.Value`, as far as numbers and strings need.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StructValue {
    /// `oneof kind`.
    #[prost(double, optional, tag = "2")]
    pub number_value: Option<f64>,
    /// `oneof kind`.
    #[prost(string, optional, tag = "3")]
    pub string_value: Option<String>,
}
