//! The small trainable models: linear (regression), logistic (softmax classification) and an
//! MLP with one ReLU hidden layer (either task). Saved as safetensors whose metadata says what
//! the file is, so a file loaded later is checked against the architecture it claims.

use crate::errors::{bad_input, failed, tensor_error};
use bkg_plugin::PluginError;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::Linear;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Linear,
    Logistic,
    Mlp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Regression,
    Classification,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Self, PluginError> {
        match s {
            "linear" => Ok(Kind::Linear),
            "logistic" => Ok(Kind::Logistic),
            "mlp" => Ok(Kind::Mlp),
            other => Err(bad_input("bad-kind", format!("kind {other:?} is not one of linear, logistic, mlp"))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Linear => "linear",
            Kind::Logistic => "logistic",
            Kind::Mlp => "mlp",
        }
    }
}

/// What a saved model is: enough to rebuild it and check its tensors.
#[derive(Debug, Clone, Serialize)]
pub struct Shape {
    pub kind: Kind,
    pub task: Task,
    pub inputs: usize,
    /// Output width: K regression targets, or the number of classes.
    pub outputs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
}

impl Shape {
    /// (name, [rows, cols]) of every weight matrix; each has a bias of `rows`.
    pub fn layers(&self) -> Vec<(String, usize, usize)> {
        match self.hidden {
            Some(h) => vec![("layer0".into(), h, self.inputs), ("layer1".into(), self.outputs, h)],
            None => vec![("layer0".into(), self.outputs, self.inputs)],
        }
    }

    fn metadata(&self) -> HashMap<String, String> {
        let mut m = HashMap::from([
            ("bkg.kind".to_string(), self.kind.as_str().to_string()),
            (
                "bkg.task".to_string(),
                if self.task == Task::Regression { "regression" } else { "classification" }.to_string(),
            ),
            ("bkg.inputs".to_string(), self.inputs.to_string()),
            ("bkg.outputs".to_string(), self.outputs.to_string()),
        ]);
        if let Some(h) = self.hidden {
            m.insert("bkg.hidden".into(), h.to_string());
        }
        m
    }

    fn from_metadata(m: &HashMap<String, String>, file: &str) -> Result<Self, PluginError> {
        let wrong = |what: &str| {
            bad_input(
                "wrong-architecture",
                format!("{file} is not a model trained by candle.train: its safetensors metadata {what}"),
            )
        };
        let num = |k: &str| m.get(k).and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0 && n <= 1 << 20);
        let kind = Kind::parse(m.get("bkg.kind").ok_or_else(|| wrong("has no bkg.kind"))?)
            .map_err(|_| wrong("names an unknown bkg.kind"))?;
        let task = match m.get("bkg.task").map(String::as_str) {
            Some("regression") => Task::Regression,
            Some("classification") => Task::Classification,
            _ => return Err(wrong("has no valid bkg.task")),
        };
        let inputs = num("bkg.inputs").ok_or_else(|| wrong("has no valid bkg.inputs"))?;
        let outputs = num("bkg.outputs").ok_or_else(|| wrong("has no valid bkg.outputs"))?;
        let hidden = num("bkg.hidden");
        if (kind == Kind::Mlp) != hidden.is_some() {
            return Err(wrong("gives bkg.hidden for a model that is not an mlp, or none for an mlp"));
        }
        Ok(Shape { kind, task, inputs, outputs, hidden })
    }
}

pub struct Net {
    pub shape: Shape,
    layers: Vec<Linear>,
}

impl Net {
    pub fn new(shape: Shape, layers: Vec<Linear>) -> Self {
        Self { shape, layers }
    }

    /// Raw outputs (regression values or class logits), [n, outputs].
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }

    pub fn save(&self, path: &Path) -> Result<(), PluginError> {
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        for ((name, _, _), l) in self.shape.layers().into_iter().zip(&self.layers) {
            tensors.push((format!("{name}.weight"), l.weight().clone()));
            if let Some(b) = l.bias() {
                tensors.push((format!("{name}.bias"), b.clone()));
            }
        }
        safetensors::serialize_to_file(tensors, Some(self.shape.metadata()), path)
            .map_err(|e| failed("save", format!("cannot write {}: {e}", path.display())))
    }

    /// Reads a saved model, checking every tensor against the architecture its metadata claims.
    pub fn load(bytes: &[u8], file: &str) -> Result<Self, PluginError> {
        let corrupt = |e: String| bad_input("corrupt-file", format!("{file} is not a valid safetensors file: {e}"));
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| corrupt(e.to_string()))?;
        let shape = Shape::from_metadata(header.metadata().as_ref().unwrap_or(&HashMap::new()), file)?;
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| corrupt(e.to_string()))?;
        let mut layers = Vec::new();
        for (name, rows, cols) in shape.layers() {
            let get = |key: String, dims: &[usize]| -> Result<Tensor, PluginError> {
                let t = tensors.get(&key).ok_or_else(|| {
                    bad_input(
                        "wrong-architecture",
                        format!(
                            "{file}: a {} model needs tensor {key} {dims:?}; the file has {:?}",
                            shape.kind.as_str(),
                            sorted_keys(&tensors)
                        ),
                    )
                })?;
                if t.dims() != dims {
                    return Err(bad_input(
                        "wrong-architecture",
                        format!(
                            "{file}: tensor {key} has shape {:?}, expected {dims:?} for a {} model",
                            t.dims(),
                            shape.kind.as_str()
                        ),
                    ));
                }
                t.to_dtype(DType::F32).map_err(|e| tensor_error("tensor", e))
            };
            layers.push(Linear::new(
                get(format!("{name}.weight"), &[rows, cols])?,
                Some(get(format!("{name}.bias"), &[rows])?),
            ));
        }
        Ok(Net { shape, layers })
    }

    /// Linear and logistic models' parameters, small enough to show: {weight: [[..]], bias: [..]}.
    pub fn parameters(&self) -> Option<serde_json::Value> {
        if self.shape.hidden.is_some() {
            return None;
        }
        let l = self.layers.first()?;
        let w = l.weight().to_vec2::<f32>().ok()?;
        let b = l.bias()?.to_vec1::<f32>().ok()?;
        Some(serde_json::json!({ "weight": w, "bias": b }))
    }
}

fn sorted_keys(m: &HashMap<String, Tensor>) -> Vec<&String> {
    let mut k: Vec<&String> = m.keys().collect();
    k.sort();
    k
}
