//! Sentence embeddings with a BERT model from the model store (all-MiniLM-L6-v2): tokenise with
//! the model's tokenizer.json (its fixed padding to 128 reset to the batch's longest, or every
//! vector would differ), run BertModel with the attention mask, mean-pool over the real tokens
//! only, and L2-normalise, as sentence-transformers does.

use crate::errors::{bad_input, failed, tensor_error};
use crate::store::ModelRecord;
use bkg_plugin::PluginError;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// sentence-transformers' max_seq_length for all-MiniLM-L6-v2: longer input is cut here.
pub const MAX_TOKENS: usize = 256;

pub struct Embedder {
    pub dimensions: usize,
    model: BertModel,
    tokenizer: Tokenizer,
}

pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub tokens: usize,
    /// Time spent tokenising, and in the model (forward pass, pooling, normalising), ms.
    pub tokenize_ms: f64,
    pub model_ms: f64,
}

impl Embedder {
    pub fn load(rec: &ModelRecord) -> Result<Self, PluginError> {
        let name = &rec.name;
        let config_path = rec.file("config")?;
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| failed("model-unreadable", format!("{}: {e}", config_path.display())))?;
        let raw: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| failed("wrong-architecture", format!("model \"{name}\": config.json is not JSON: {e}")))?;
        let model_type = raw["model_type"].as_str().unwrap_or("");
        if model_type != "bert" {
            return Err(bad_input("wrong-architecture", format!("model \"{name}\" is a {model_type:?} model (config.json model_type); the candle plugin embeds with BERT models only")));
        }
        let config: Config = serde_json::from_value(raw).map_err(|e| {
            failed("wrong-architecture", format!("model \"{name}\": config.json does not describe a BERT model: {e}"))
        })?;
        let weights = rec.file("weights")?;
        // Read the whole file (90 MB) instead of mmap: a corrupt or truncated file is an error here, not a crash later.
        let bytes =
            std::fs::read(&weights).map_err(|e| failed("model-unreadable", format!("{}: {e}", weights.display())))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu).map_err(|e| {
            failed(
                "corrupt-weights",
                format!("model \"{name}\": {} is not a readable safetensors file: {e}", weights.display()),
            )
        })?;
        let model = BertModel::load(vb, &config).map_err(|e| {
            failed(
                "wrong-architecture",
                format!("model \"{name}\": the weights do not fit a BERT model with its config.json: {e}"),
            )
        })?;
        let tok_path = rec.file("tokenizer")?;
        let mut tokenizer = Tokenizer::from_file(&tok_path)
            .map_err(|e| failed("corrupt-tokenizer", format!("model \"{name}\": {}: {e}", tok_path.display())))?;
        tokenizer.with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..Default::default()
            }))
            .map_err(|e| failed("corrupt-tokenizer", format!("model \"{name}\": {e}")))?;
        Ok(Self { dimensions: config.hidden_size, model, tokenizer })
    }

    /// Embeds one batch (the caller cuts large inputs into batches).
    pub fn embed(&self, texts: &[String]) -> Result<Embedded, PluginError> {
        let started = std::time::Instant::now();
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| failed("tokenizer", format!("tokenising failed: {e}")))?;
        let len = enc.first().map(|e| e.get_ids().len()).unwrap_or(0);
        let n = enc.len();
        let (mut ids, mut types, mut mask) =
            (Vec::with_capacity(n * len), Vec::with_capacity(n * len), Vec::with_capacity(n * len));
        let mut tokens = 0;
        for e in &enc {
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
            tokens += e.get_attention_mask().iter().filter(|&&m| m == 1).count();
        }
        let t = |v: Vec<u32>| Tensor::from_vec(v, (n, len), &Device::Cpu).map_err(|e| tensor_error("input tensor", e));
        let (ids, types, mask) = (t(ids)?, t(types)?, t(mask)?);
        let tokenize_ms = started.elapsed().as_secs_f64() * 1000.0;
        let vectors = self.pool(&ids, &types, &mask).map_err(|e| tensor_error("BERT forward pass", e))?;
        let model_ms = started.elapsed().as_secs_f64() * 1000.0 - tokenize_ms;
        Ok(Embedded { vectors, tokens, tokenize_ms, model_ms })
    }

    fn pool(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> candle_core::Result<Vec<Vec<f32>>> {
        let hidden = self.model.forward(ids, types, Some(mask))?; // [n, len, 384]
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [n, len, 1]
        let summed = hidden.broadcast_mul(&m)?.sum(1)?; // padding contributes nothing
        let counts = m.sum(1)?.clamp(1e-9f32, f32::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
        mean.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}
