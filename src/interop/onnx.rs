//! A stored run's network as an ONNX model, for ONNX Runtime and every
//! tool that reads ONNX.
//!
//! The graph is built from the run's spec the way [`crate::model::Net`]
//! computes, layer by layer, with the weights of `final.safetensors` (the
//! weights the run's test results and stored predictions come from) or
//! `best.safetensors` as initializers. Dropout is left out (inference);
//! `BatchNorm` uses its running statistics. The contract:
//! - input `images`: float32 `N×1×28×28`, pixels scaled to [0, 1] (byte / 255);
//! - output `probabilities` (softmax over the 10 classes, in
//!   [`crate::data::CLASS_NAMES`] order), or `logits` with `--logits`;
//! - opset 17, IR version 8; the run's id, name and spec as metadata.

use std::{collections::HashMap, path::Path};

use prost::Message;
use tch::Tensor;

use self::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use super::InteropError;
use crate::{
    data::{IMAGE_SIDE, NUM_CLASSES},
    edge::output::{self, Kind, Policy},
    model::{
        blocks::{Block, Downsample, HeadPool},
        spec::KERNEL,
        ModelSpec,
    },
    store::RunRecord,
    train::checkpoint::{BEST_FILE, FINAL_FILE},
};

mod proto;

/// The operator set the graph is written for (ONNX Runtime ≥ 1.12 runs it).
pub const OPSET: i64 = 17;
/// The IR version that goes with opset 17.
const IR_VERSION: i64 = 8;
/// libtorch's `BatchNorm` epsilon (tch's default), which training used.
const BATCH_NORM_EPSILON: f32 = 1e-5;

/// Which of the run's weights to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// After the last epoch: what the test results and predictions are of.
    Final,
    /// The epoch with the best validation accuracy.
    Best,
}

impl Weights {
    pub fn file(self) -> &'static str {
        match self {
            Weights::Final => FINAL_FILE,
            Weights::Best => BEST_FILE,
        }
    }
}

/// What the model outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Probabilities,
    Logits,
}

impl Output {
    pub fn name(self) -> &'static str {
        match self {
            Output::Probabilities => "probabilities",
            Output::Logits => "logits",
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct Exported {
    pub nodes: usize,
    pub parameters: usize,
    pub bytes: usize,
}

/// Writes `record`'s network, with the weights in `run_dir`, to `file`.
pub fn export_model(
    record: &RunRecord,
    run_dir: &Path,
    weights: Weights,
    output: Output,
    file: &Path,
    policy: &Policy,
) -> Result<Exported, InteropError> {
    output::check(file, Kind::Onnx, policy)?;
    let source = run_dir.join(weights.file());
    if !source.is_file() {
        return Err(InteropError::Model(format!(
            "{}: no {} (the run has {}; only a finished run has final weights, \
             and best ones appear after its first epoch)",
            record.id,
            weights.file(),
            record.status
        )));
    }
    let tensors = Tensor::read_safetensors(&source)
        .map_err(|e| InteropError::Model(format!("{}: cannot read: {e}", source.display())))?;
    crate::model::check_weights(&record.spec.model, &tensors).map_err(|problem| {
        InteropError::Model(format!(
            "{}: not the weights of run {}'s model: {problem}",
            source.display(),
            record.id
        ))
    })?;
    let mut graph = Builder::new(tensors.into_iter().collect(), &source);
    let logits = graph.network(&record.spec.model)?;
    let last = match output {
        Output::Logits => graph.identity(&logits, output.name()),
        Output::Probabilities => graph.softmax(&logits, output.name()),
    };
    let nodes = graph.nodes.len();
    let bytes = graph.model(record, &last)?.encode_to_vec();
    output::write(file, Kind::Onnx, &bytes, policy)?;
    Ok(Exported {
        nodes,
        parameters: graph.parameters,
        bytes: bytes.len(),
    })
}

/// The graph as it is built: nodes in order, weights as initializers.
struct Builder<'a> {
    weights: HashMap<String, Tensor>,
    source: &'a Path,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    parameters: usize,
}

impl<'a> Builder<'a> {
    fn new(weights: HashMap<String, Tensor>, source: &'a Path) -> Self {
        Self {
            weights,
            source,
            nodes: Vec::new(),
            initializers: Vec::new(),
            parameters: 0,
        }
    }

    /// The spec's layers from `images` to the logits; returns the logits' name.
    fn network(&mut self, spec: &ModelSpec) -> Result<String, InteropError> {
        let mut x = "images".to_string();
        match spec {
            ModelSpec::Cnn { conv, .. } => {
                for index in 0..conv.len() {
                    let prefix = format!("conv{index}");
                    x = self.conv(&x, &prefix, KERNEL, 1, 0, true)?;
                    x = self.relu(&x);
                    x = self.max_pool(&x);
                }
                x = self.flatten(&x);
                x = self.dense_layers(&x, 1)?;
            }
            ModelSpec::Mlp { hidden, .. } => {
                x = self.flatten(&x);
                x = self.dense_layers(&x, hidden.len())?;
            }
            ModelSpec::ConvNet { blocks, head } => {
                let mut inputs = 1;
                for (index, block) in blocks.iter().enumerate() {
                    x = self.block(&x, block, index, inputs)?;
                    inputs = block.width;
                }
                if head.pool == HeadPool::Gap {
                    x = self.node("GlobalAveragePool", vec![x], vec![]);
                }
                x = self.flatten(&x);
                x = self.dense_layers(&x, head.dense.len())?;
            }
        }
        self.gemm(&x, "output")
    }

    /// `dense0 … dense{count-1}`, each followed by a `ReLU`.
    fn dense_layers(&mut self, input: &str, count: usize) -> Result<String, InteropError> {
        let mut x = input.to_string();
        for index in 0..count {
            x = self.gemm(&x, &format!("dense{index}"))?;
            x = self.relu(&x);
        }
        Ok(x)
    }

    /// One convnet block, as `convnet::BlockLayers::forward_t` computes it.
    fn block(
        &mut self,
        input: &str,
        block: &Block,
        index: usize,
        inputs: i64,
    ) -> Result<String, InteropError> {
        let prefix = format!("block{index}");
        let mut x = input.to_string();
        for conv in 0..block.convs {
            let shape = block.conv_shape(conv);
            let unit = format!("{prefix}.unit{conv}");
            x = self.unit(&x, &unit, block, block.kernel, shape.stride, shape.padding)?;
            if !(block.residual && conv + 1 == block.convs) {
                x = self.relu(&x);
            }
        }
        if block.residual {
            let shortcut = if block.projects(inputs) {
                let stride = block.conv_shape(0).stride;
                self.unit(input, &format!("{prefix}.shortcut"), block, 1, stride, 0)?
            } else {
                input.to_string()
            };
            x = self.node("Add", vec![x, shortcut], vec![]);
            x = self.relu(&x);
        }
        if block.pool == Downsample::Max {
            x = self.max_pool(&x);
        }
        Ok(x)
    }

    /// A convolution and, if the block has it, its `BatchNorm`.
    fn unit(
        &mut self,
        input: &str,
        prefix: &str,
        block: &Block,
        kernel: i64,
        stride: i64,
        padding: i64,
    ) -> Result<String, InteropError> {
        let conv = format!("{prefix}.conv");
        let x = self.conv(input, &conv, kernel, stride, padding, !block.batch_norm)?;
        if !block.batch_norm {
            return Ok(x);
        }
        let bn = |name: &str| format!("{prefix}.bn.{name}");
        let inputs = vec![
            x,
            self.initializer(&bn("weight"))?,
            self.initializer(&bn("bias"))?,
            self.initializer(&bn("running_mean"))?,
            self.initializer(&bn("running_var"))?,
        ];
        let epsilon = float_attribute("epsilon", BATCH_NORM_EPSILON);
        Ok(self.node("BatchNormalization", inputs, vec![epsilon]))
    }

    fn conv(
        &mut self,
        input: &str,
        prefix: &str,
        kernel: i64,
        stride: i64,
        padding: i64,
        bias: bool,
    ) -> Result<String, InteropError> {
        let mut inputs = vec![
            input.to_string(),
            self.initializer(&format!("{prefix}.weight"))?,
        ];
        if bias {
            inputs.push(self.initializer(&format!("{prefix}.bias"))?);
        }
        let attributes = vec![
            ints_attribute("kernel_shape", &[kernel, kernel]),
            ints_attribute("strides", &[stride, stride]),
            ints_attribute("pads", &[padding; 4]),
        ];
        Ok(self.node("Conv", inputs, attributes))
    }

    /// `x · Wᵀ + b`, as tch's Linear (its weight is `[out, in]`).
    fn gemm(&mut self, input: &str, prefix: &str) -> Result<String, InteropError> {
        let inputs = vec![
            input.to_string(),
            self.initializer(&format!("{prefix}.weight"))?,
            self.initializer(&format!("{prefix}.bias"))?,
        ];
        Ok(self.node("Gemm", inputs, vec![int_attribute("transB", 1)]))
    }

    fn relu(&mut self, input: &str) -> String {
        self.node("Relu", vec![input.to_string()], vec![])
    }

    /// 2×2, stride 2, rounding down: libtorch's `max_pool2d` and the fused
    /// `ReLU` + pool kernel alike.
    fn max_pool(&mut self, input: &str) -> String {
        let attributes = vec![
            ints_attribute("kernel_shape", &[2, 2]),
            ints_attribute("strides", &[2, 2]),
        ];
        self.node("MaxPool", vec![input.to_string()], attributes)
    }

    /// Everything but the batch axis, in NCHW order as tch's `flat_view`.
    fn flatten(&mut self, input: &str) -> String {
        self.node(
            "Flatten",
            vec![input.to_string()],
            vec![int_attribute("axis", 1)],
        )
    }

    fn softmax(&mut self, input: &str, name: &str) -> String {
        let attributes = vec![int_attribute("axis", 1)];
        self.named_node("Softmax", vec![input.to_string()], attributes, name)
    }

    fn identity(&mut self, input: &str, name: &str) -> String {
        self.named_node("Identity", vec![input.to_string()], vec![], name)
    }

    fn node(&mut self, op: &str, inputs: Vec<String>, attributes: Vec<AttributeProto>) -> String {
        let name = format!("{}_{}", op.to_lowercase(), self.nodes.len());
        self.named_node(op, inputs, attributes, &name)
    }

    fn named_node(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        attributes: Vec<AttributeProto>,
        output: &str,
    ) -> String {
        self.nodes.push(NodeProto {
            op_type: Some(op.into()),
            name: Some(output.into()),
            input: inputs,
            output: vec![output.into()],
            attribute: attributes,
            ..NodeProto::default()
        });
        output.into()
    }

    /// Adds the stored variable `name` as an initializer of the same name.
    fn initializer(&mut self, name: &str) -> Result<String, InteropError> {
        let tensor = self.weights.get(name).ok_or_else(|| {
            InteropError::Model(format!(
                "{}: no variable {name:?}, which the run's model needs",
                self.source.display()
            ))
        })?;
        let values: Vec<f32> = tensor
            .to_kind(tch::Kind::Float)
            .flatten(0, -1)
            .try_into()
            .map_err(|e| InteropError::Model(format!("{name}: {e}")))?;
        self.parameters += values.len();
        self.initializers.push(TensorProto {
            name: Some(name.into()),
            dims: tensor.size(),
            data_type: Some(DataType::Float.into()),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..TensorProto::default()
        });
        Ok(name.into())
    }

    fn model(&mut self, record: &RunRecord, output: &str) -> Result<ModelProto, InteropError> {
        let side = IMAGE_SIDE as i64;
        let graph = GraphProto {
            name: Some(record.spec.name.clone()),
            node: std::mem::take(&mut self.nodes),
            initializer: std::mem::take(&mut self.initializers),
            input: vec![value_info(
                "images",
                &[None, Some(1), Some(side), Some(side)],
            )],
            output: vec![value_info(output, &[None, Some(NUM_CLASSES as i64)])],
            ..GraphProto::default()
        };
        let doc = format!(
            "{}: input images N×1×28×28 float in [0, 1]; output {output} N×10",
            record.spec.title()
        );
        Ok(ModelProto {
            ir_version: Some(IR_VERSION),
            producer_name: Some("atelier".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            doc_string: Some(doc),
            opset_import: vec![OperatorSetIdProto {
                version: Some(OPSET),
                ..OperatorSetIdProto::default()
            }],
            metadata_props: metadata(record)?,
            graph: Some(graph),
            ..ModelProto::default()
        })
    }
}

/// The run's id, name and spec, and the input and classes, as the model's
/// metadata.
fn metadata(record: &RunRecord) -> Result<Vec<StringStringEntryProto>, InteropError> {
    let spec = serde_json::to_string(&record.spec.model)
        .map_err(|e| InteropError::Model(format!("cannot write the spec: {e}")))?;
    let entries = [
        ("run_id", record.id.to_string()),
        ("run_name", record.spec.name.clone()),
        ("model_spec", spec),
        ("input", "images: float32 N×1×28×28, pixel / 255".into()),
        ("classes", crate::data::CLASS_NAMES.join(", ")),
    ];
    Ok(entries
        .into_iter()
        .map(|(key, value)| StringStringEntryProto {
            key: Some(key.into()),
            value: Some(value),
        })
        .collect())
}

/// A float tensor's name, element type and shape; `None` is the batch axis `N`.
fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|dim| proto::tensor_shape_proto::Dimension {
            value: Some(match dim {
                Some(size) => dimension::Value::DimValue(*size),
                None => dimension::Value::DimParam("N".into()),
            }),
            ..Default::default()
        })
        .collect();
    let tensor = type_proto::Tensor {
        elem_type: Some(DataType::Float.into()),
        shape: Some(TensorShapeProto { dim }),
    };
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(tensor)),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    }
}

/// An attribute with its name and type, and no value yet.
fn attribute(name: &str, kind: AttributeType) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(kind.into()),
        ..AttributeProto::default()
    }
}

fn int_attribute(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        i: Some(value),
        ..attribute(name, AttributeType::Int)
    }
}

fn ints_attribute(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: values.to_vec(),
        ..attribute(name, AttributeType::Ints)
    }
}

fn float_attribute(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        f: Some(value),
        ..attribute(name, AttributeType::Float)
    }
}
