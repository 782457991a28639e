//! The plugin's methods, each a thin layer over the modules that do the work. Heavy work runs on
//! tokio's blocking pool so pings and cancellations are answered meanwhile.

use crate::embed::{Embedded, Embedder};
use crate::errors::{bad_input, failed};
use crate::registry::{check_id, Registry};
use crate::{net::Net, store, train, validate};
use bkg_plugin::{json, Context, Level, Plugin, PluginError, Value};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The model `candle.embed` uses when the call names none.
pub const DEFAULT_MODEL: &str = "all-minilm-l6-v2-candle";
/// Sentences per forward pass: padding is to the longest in a batch, so batches stay modest.
const BATCH: usize = 32;
/// Most sentences one call may embed.
const MAX_INPUTS: usize = 2048;

#[derive(Default)]
struct Stats {
    embed_calls: u64,
    sentences: u64,
    tokens: u64,
    embed_ms: f64,
    tokenize_ms: f64,
    model_ms: f64,
    trainings: u64,
    train_ms: f64,
    runs: u64,
}

struct State {
    embedders: Mutex<HashMap<String, Arc<Embedder>>>,
    registry: OnceLock<Registry>,
    stats: Mutex<Stats>,
    started: Instant,
    threads: OnceLock<usize>,
}

fn state() -> &'static State {
    static S: OnceLock<State> = OnceLock::new();
    S.get_or_init(|| State {
        embedders: Mutex::new(HashMap::new()),
        registry: OnceLock::new(),
        stats: Mutex::new(Stats::default()),
        started: Instant::now(),
        threads: OnceLock::new(),
    })
}

fn registry() -> Result<&'static Registry, PluginError> {
    state().registry.get().ok_or_else(|| failed("not-ready", "the plugin has not been initialised"))
}

/// Runs `f` on the blocking pool; a panic becomes an error value.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PluginError> + Send + 'static,
) -> Result<T, PluginError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| failed("panic", format!("worker failed: {e}")))?
}

/// The embedder for `name`, loaded once (about 0.5 s) and kept.
async fn embedder(name: &str) -> Result<Arc<Embedder>, PluginError> {
    if let Some(e) = state().embedders.lock().unwrap().get(name) {
        return Ok(e.clone());
    }
    let rec = store::read_record(name)?;
    if !rec.is_bert_embedder() {
        return Err(bad_input("wrong-format", format!("model \"{name}\" is {} with files {:?}: the candle plugin embeds with safetensors BERT models (weights, tokenizer, config)", rec.format, rec.files.keys().collect::<Vec<_>>())));
    }
    let loaded = Arc::new(blocking(move || Embedder::load(&rec)).await?);
    state().embedders.lock().unwrap().insert(name.to_string(), loaded.clone());
    Ok(loaded)
}

fn texts(params: &Value) -> Result<Vec<String>, PluginError> {
    let input = &params["input"];
    let list: Vec<String> = match input {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    bad_input("wrong-shape", format!("input[{i}] must be a string, got {}", validate::kind(v)))
                })
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(bad_input(
                "wrong-shape",
                format!("input must be a string or an array of strings, got {}", validate::kind(other)),
            ))
        }
    };
    if list.is_empty() {
        return Err(bad_input("empty-input", "input is empty: give at least one string"));
    }
    if list.len() > MAX_INPUTS {
        return Err(bad_input(
            "too-many-inputs",
            format!("input has {} strings; at most {MAX_INPUTS} per call", list.len()),
        ));
    }
    Ok(list)
}

async fn embed(params: Value, ctx: Context) -> Result<Value, PluginError> {
    let list = texts(&params)?;
    let name = params["model"].as_str().unwrap_or(DEFAULT_MODEL).to_string();
    let model = embedder(&name).await?;
    let started = Instant::now();
    let n = list.len();
    let token = ctx.cancellation_token();
    let m = model.clone();
    let out = blocking(move || {
        let mut all = Embedded { vectors: Vec::with_capacity(n), tokens: 0, tokenize_ms: 0.0, model_ms: 0.0 };
        for chunk in list.chunks(BATCH) {
            if token.is_cancelled() {
                return Err(PluginError::cancelled());
            }
            let e = m.embed(chunk)?;
            all.vectors.extend(e.vectors);
            all.tokens += e.tokens;
            all.tokenize_ms += e.tokenize_ms;
            all.model_ms += e.model_ms;
        }
        Ok(all)
    })
    .await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    {
        let mut s = state().stats.lock().unwrap();
        s.embed_calls += 1;
        s.sentences += n as u64;
        s.tokens += out.tokens as u64;
        s.embed_ms += ms;
        s.tokenize_ms += out.tokenize_ms;
        s.model_ms += out.model_ms;
    }
    let data: Vec<Value> =
        out.vectors.into_iter().enumerate().map(|(i, v)| json!({ "index": i, "embedding": v })).collect();
    Ok(
        json!({ "data": data, "model": name, "dimensions": model.dimensions, "usage": { "prompt_tokens": out.tokens, "total_tokens": out.tokens } }),
    )
}

async fn models(_: Value, _: Context) -> Result<Value, PluginError> {
    let loaded = state().embedders.lock().unwrap();
    let list: Vec<Value> = store::list_records()
        .into_iter()
        .filter(|r| r.is_bert_embedder())
        .map(|r| json!({ "name": r.name, "format": r.format, "loaded": loaded.contains_key(&r.name), "kind": "embedding", "dimensions": loaded.get(&r.name).map(|e| e.dimensions) }))
        .collect();
    Ok(json!({ "models": list }))
}

async fn train_method(params: Value, ctx: Context) -> Result<Value, PluginError> {
    let req = train::parse(&params)?;
    let id = match params["id"].as_str() {
        Some(id) => id.to_string(),
        None => format!(
            "{}-{}",
            req.shape.kind.as_str(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
        ),
    };
    check_id(&id)?;
    let reg = registry()?;
    let (epochs, lr) = (req.epochs, req.lr);
    let started = Instant::now();
    // Progress values go through a channel: training runs on a blocking thread, progress is async.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, f32)>();
    let token = ctx.cancellation_token();
    let job = tokio::task::spawn_blocking(move || {
        train::train(req, &token, |epoch, loss| {
            let _ = tx.send((epoch, loss)); // the receiver only goes away if the call did
        })
    });
    while let Some((epoch, loss)) = rx.recv().await {
        ctx.progress(json!({ "epoch": epoch, "epochs": epochs, "loss": loss })).await;
    }
    let trained = job.await.map_err(|e| failed("panic", format!("training failed: {e}")))??;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    {
        let mut s = state().stats.lock().unwrap();
        s.trainings += 1;
        s.train_ms += ms;
    }
    let parameters = trained.net.parameters();
    let final_loss = trained.loss_curve.last().copied();
    let extra = json!({ "metrics": trained.metrics, "epochs": epochs, "lr": lr });
    let mut record = reg.save_trained(&id, trained.net, extra)?;
    ctx.log(Level::Info, "trained", json!({ "id": id, "epochs": epochs, "ms": ms.round(), "finalLoss": final_loss }));
    if let Some(obj) = record.as_object_mut() {
        obj.insert("lossCurve".into(), json!(trained.loss_curve));
        obj.insert("durationMs".into(), json!(ms.round()));
        if let Some(p) = parameters {
            obj.insert("parameters".into(), p);
        }
    }
    Ok(record)
}

async fn model_load(params: Value, _: Context) -> Result<Value, PluginError> {
    let id = params["id"]
        .as_str()
        .ok_or_else(|| bad_input("bad-id", "id is required: the name to serve the model under"))?
        .to_string();
    check_id(&id)?;
    let path = params["path"]
        .as_str()
        .ok_or_else(|| bad_input("bad-path", "path is required: a .safetensors file in the models folder"))?;
    let resolved = store::inside_models_dir(path)?;
    let sha = params["sha256"].as_str().map(str::to_string);
    let reg = registry()?;
    blocking(move || reg.load_file(&id, &resolved, sha.as_deref())).await
}

async fn model_run(params: Value, _: Context) -> Result<Value, PluginError> {
    let id = params["id"].as_str().ok_or_else(|| bad_input("bad-id", "id is required"))?;
    let entry = registry()?.get(id)?;
    let width = entry.net.shape.inputs;
    let (flat, n, d) = validate::matrix(&params["inputs"], "inputs", Some(width))?;
    let net: Arc<Net> = entry.net.clone();
    let out = blocking(move || {
        let x = Tensor::from_vec(flat, (n, d), &Device::Cpu).map_err(|e| crate::errors::tensor_error("inputs", e))?;
        train::run(&net, &x)
    })
    .await?;
    state().stats.lock().unwrap().runs += 1;
    Ok(out)
}

async fn model_list(_: Value, _: Context) -> Result<Value, PluginError> {
    Ok(json!({ "models": registry()?.list() }))
}

async fn model_delete(params: Value, _: Context) -> Result<Value, PluginError> {
    let id = params["id"].as_str().ok_or_else(|| bad_input("bad-id", "id is required"))?;
    registry()?.delete(id)
}

async fn stats(_: Value, _: Context) -> Result<Value, PluginError> {
    let s = state().stats.lock().unwrap();
    let loaded: Vec<String> = state().embedders.lock().unwrap().keys().cloned().collect();
    let per = |ms: f64, n: u64| if n > 0 { ms / n as f64 } else { 0.0 };
    Ok(json!({
        "threads": state().threads.get().copied().unwrap_or(0),
        "uptimeMs": state().started.elapsed().as_millis() as u64,
        "embeddings": { "calls": s.embed_calls, "sentences": s.sentences, "tokens": s.tokens, "totalMs": s.embed_ms.round(), "tokenizeMs": s.tokenize_ms.round(), "modelMs": s.model_ms.round(), "msPerSentence": per(s.embed_ms, s.sentences), "loadedModels": loaded },
        "training": { "runs": s.trainings, "totalMs": s.train_ms.round() },
        "models": { "count": registry().map(|r| r.count()).unwrap_or(0), "runs": s.runs },
    }))
}

fn obj(props: Value, required: &[&str]) -> Option<Value> {
    Some(json!({ "type": "object", "properties": props, "required": required }))
}

pub fn plugin() -> Plugin {
    let str_t = json!({ "type": "string" });
    Plugin::new("candle", env!("CARGO_PKG_VERSION"))
        .method("embed", "384-d mean-pooled, L2-normalised sentence embeddings: {input: string | string[], model?}", obj(json!({ "input": {}, "model": str_t }), &["input"]), embed)
        .method("models", "The embedding models this plugin can serve (pulled safetensors BERT models)", None, models)
        .method(
            "train",
            "Trains a linear, logistic or mlp model: {kind, inputs: [[f32]], targets, epochs?, lr?, hidden?, task?, optimizer?, id?}; progress per epoch",
            obj(json!({ "kind": { "enum": ["linear", "logistic", "mlp"] }, "inputs": { "type": "array" }, "targets": { "type": "array" }, "epochs": { "type": "integer" }, "lr": { "type": "number" }, "hidden": { "type": "integer" }, "id": str_t }), &["kind", "inputs", "targets"]),
            train_method,
        )
        .method("model.load", "Loads a .safetensors model from the models folder: {id, path, sha256?}", obj(json!({ "id": str_t, "path": str_t, "sha256": str_t }), &["id", "path"]), model_load)
        .method("model.run", "Runs a model: {id, inputs: [[f32]]}", obj(json!({ "id": str_t, "inputs": { "type": "array" } }), &["id", "inputs"]), model_run)
        .method("model.list", "The trained and loaded models", None, model_list)
        .method("model.delete", "Forgets a model (and deletes a trained model's file): {id}", obj(json!({ "id": str_t }), &["id"]), model_delete)
        .method("stats", "Calls, sentences, tokens and time spent, models held, threads", None, stats)
        .on_activate(|ctx| async move {
            // candle's matrix products use RAYON_NUM_THREADS threads: set before the first one.
            let threads = ctx.config()["threads"].as_u64().filter(|&n| n > 0).unwrap_or(1) as usize;
            std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
            let _ = state().threads.set(threads);
            let data = ctx.data_dir().map(std::path::Path::to_path_buf).ok_or_else(|| failed("no-data-dir", "no data folder (BKG_DATA_DIR)"))?;
            let (reg, problems) = Registry::open(&data);
            for p in problems {
                ctx.log(Level::Warn, format!("a saved model was not reloaded: {p}"), Value::Null);
            }
            let _ = state().registry.set(reg);
            ctx.log(Level::Info, "candle ready", json!({ "threads": threads, "modelsDir": std::env::var("BKG_MODELS_DIR").ok() }));
            Ok(())
        })
}
