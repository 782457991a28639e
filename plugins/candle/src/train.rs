//! Training a Net on the caller's data: full-batch gradient descent (SGD by default, AdamW on
//! request), one progress value per epoch, divergence detected and reported instead of saved.

use crate::errors::{bad_input, failed, tensor_error};
use crate::net::{Kind, Net, Shape, Task};
use crate::validate;
use bkg_plugin::{json, CancellationToken, PluginError, Value};
use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap, SGD};

/// One optimiser step from a loss, whichever optimiser was chosen (SGD and AdamW are different types).
type StepFn = Box<dyn FnMut(&Tensor) -> candle_core::Result<()>>;

pub struct TrainRequest {
    pub shape: Shape,
    pub x: Tensor,
    /// Regression targets [n, k] f32, or class labels [n] u32.
    pub y: Tensor,
    pub epochs: usize,
    pub lr: f64,
    pub adamw: bool,
}

pub struct Trained {
    pub net: Net,
    pub loss_curve: Vec<f32>,
    pub metrics: Value,
}

/// Checks the params of candle.train and turns them into tensors.
pub fn parse(params: &Value) -> Result<TrainRequest, PluginError> {
    let kind = Kind::parse(
        params["kind"].as_str().ok_or_else(|| bad_input("bad-kind", "kind is required: linear, logistic or mlp"))?,
    )?;
    let (xs, n, d) = validate::matrix(&params["inputs"], "inputs", None)?;
    let (ys, k) = validate::targets(&params["targets"], n)?;
    let epochs = params["epochs"].as_u64().unwrap_or(100) as usize;
    if !(1..=100_000).contains(&epochs) {
        return Err(bad_input("bad-epochs", format!("epochs must be 1..100000, got {}", params["epochs"])));
    }
    let lr = params["lr"].as_f64().unwrap_or(0.1);
    if !(lr.is_finite() && lr > 0.0 && lr <= 100.0) {
        return Err(bad_input("bad-lr", format!("lr must be a number above 0 and at most 100, got {}", params["lr"])));
    }
    let task = match (kind, params["task"].as_str()) {
        (Kind::Linear, None | Some("regression")) => Task::Regression,
        (Kind::Logistic, None | Some("classification")) => Task::Classification,
        (Kind::Mlp, Some("regression")) => Task::Regression,
        (Kind::Mlp, None | Some("classification")) => Task::Classification,
        (_, Some(t)) => {
            return Err(bad_input(
                "bad-task",
                format!(
                    "task {t:?} does not fit kind {} (linear: regression; logistic: classification; mlp: either)",
                    kind.as_str()
                ),
            ))
        }
    };
    let hidden = match kind {
        Kind::Mlp => {
            let h = params["hidden"].as_u64().unwrap_or(16) as usize;
            if !(1..=4096).contains(&h) {
                return Err(bad_input("bad-hidden", format!("hidden must be 1..4096, got {}", params["hidden"])));
            }
            Some(h)
        }
        _ if !params["hidden"].is_null() => {
            return Err(bad_input("bad-hidden", format!("hidden is for kind mlp only (kind is {})", kind.as_str())))
        }
        _ => None,
    };
    let x = Tensor::from_vec(xs, (n, d), &Device::Cpu).map_err(|e| tensor_error("inputs", e))?;
    let (y, outputs) = match task {
        Task::Regression => (Tensor::from_vec(ys, (n, k), &Device::Cpu).map_err(|e| tensor_error("targets", e))?, k),
        Task::Classification => {
            let (labels, classes) = validate::class_labels(&ys, k)?;
            (Tensor::from_vec(labels, n, &Device::Cpu).map_err(|e| tensor_error("targets", e))?, classes)
        }
    };
    let optimizer = params["optimizer"].as_str().unwrap_or("sgd");
    if optimizer != "sgd" && optimizer != "adamw" {
        return Err(bad_input("bad-optimizer", format!("optimizer {optimizer:?} is not sgd or adamw")));
    }
    Ok(TrainRequest {
        shape: Shape { kind, task, inputs: d, outputs, hidden },
        x,
        y,
        epochs,
        lr,
        adamw: optimizer == "adamw",
    })
}

/// Trains; `progress(epoch, loss)` after each epoch. Stops with an error when the loss stops being
/// finite or grows a million-fold (diverged), or when `cancel` fires.
pub fn train(
    req: TrainRequest,
    cancel: &CancellationToken,
    mut progress: impl FnMut(usize, f32),
) -> Result<Trained, PluginError> {
    let t = |e| tensor_error("training", e);
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let mut layers = Vec::new();
    for (name, rows, cols) in req.shape.layers() {
        layers.push(candle_nn::linear(cols, rows, vb.pp(name)).map_err(t)?);
    }
    let net = Net::new(req.shape.clone(), layers);
    let vars = varmap.all_vars();
    let mut opt: StepFn = if req.adamw {
        let mut o = AdamW::new(vars, ParamsAdamW { lr: req.lr, ..Default::default() }).map_err(t)?;
        Box::new(move |l: &Tensor| o.backward_step(l))
    } else {
        let mut o = SGD::new(vars, req.lr).map_err(t)?;
        Box::new(move |l: &Tensor| o.backward_step(l))
    };
    let mut curve = Vec::with_capacity(req.epochs);
    for epoch in 1..=req.epochs {
        if cancel.is_cancelled() {
            return Err(PluginError::cancelled());
        }
        let loss = loss(&net, &req).map_err(t)?;
        let value = loss.to_scalar::<f32>().map_err(t)?;
        curve.push(value);
        let first = curve[0].max(1e-12);
        if !value.is_finite() || (value > 1e6 && value > first * 1e6) {
            let tail: Vec<f32> = curve.iter().rev().take(5).rev().copied().collect();
            return Err(failed(
                "diverged",
                format!("training diverged at epoch {epoch}: the loss went from {} to {value}; lower lr (it was {}) or scale the inputs", curve[0], req.lr),
            )
            .with_data(json!({ "reason": "diverged", "epoch": epoch, "lr": req.lr, "lastLosses": tail.iter().map(|v| if v.is_finite() { json!(v) } else { json!(v.to_string()) }).collect::<Vec<_>>() })));
        }
        progress(epoch, value);
        opt(&loss).map_err(t)?;
    }
    let metrics = evaluate(&net, &req).map_err(t)?;
    Ok(Trained { net, loss_curve: curve, metrics })
}

fn loss(net: &Net, req: &TrainRequest) -> candle_core::Result<Tensor> {
    let out = net.forward(&req.x)?;
    match req.shape.task {
        Task::Regression => candle_nn::loss::mse(&out, &req.y),
        Task::Classification => candle_nn::loss::cross_entropy(&out, &req.y),
    }
}

/// Training-set metrics after the last epoch: loss and R² for regression, loss and accuracy for classification.
fn evaluate(net: &Net, req: &TrainRequest) -> candle_core::Result<Value> {
    let out = net.forward(&req.x)?;
    let final_loss = loss(net, req)?.to_scalar::<f32>()?;
    match req.shape.task {
        Task::Regression => {
            let ss_res = (&out - &req.y)?.sqr()?.sum_all()?.to_scalar::<f32>()?;
            let mean = req.y.mean(0)?;
            let ss_tot = req.y.broadcast_sub(&mean)?.sqr()?.sum_all()?.to_scalar::<f32>()?;
            let r2 = if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { 0.0 };
            Ok(json!({ "loss": final_loss, "mse": final_loss, "r2": r2 }))
        }
        Task::Classification => {
            let pred = out.argmax(1)?;
            let correct = pred.eq(&req.y)?.to_dtype(DType::F32)?.sum_all()?.to_scalar::<f32>()?;
            Ok(json!({ "loss": final_loss, "accuracy": correct / req.x.dim(0)? as f32 }))
        }
    }
}

/// Runs a model: outputs per row, and for classifiers the predicted class and its probabilities.
pub fn run(net: &Net, x: &Tensor) -> Result<Value, PluginError> {
    let t = |e| tensor_error("run", e);
    let out = net.forward(x).map_err(t)?;
    match net.shape.task {
        Task::Regression => Ok(json!({ "outputs": out.to_vec2::<f32>().map_err(t)? })),
        Task::Classification => {
            let probs = candle_nn::ops::softmax(&out, 1).map_err(t)?;
            let classes = out.argmax(1).map_err(t)?.to_vec1::<u32>().map_err(t)?;
            Ok(
                json!({ "outputs": out.to_vec2::<f32>().map_err(t)?, "probabilities": probs.to_vec2::<f32>().map_err(t)?, "classes": classes }),
            )
        }
    }
}
