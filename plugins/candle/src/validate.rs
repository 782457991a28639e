//! Checks on numeric input before it reaches a tensor: the shape (naming what was expected and
//! what came), and values that are not finite. JSON has no NaN or Infinity: JavaScript sends
//! them as null, so a null is reported as the NaN or infinite value it most likely was.

use crate::errors::bad_input;
use bkg_plugin::{PluginError, Value};

/// One value as f32, or the error naming where it is and what is wrong.
fn number(v: &Value, at: &str) -> Result<f32, PluginError> {
    match v {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let x = f as f32;
            if !x.is_finite() {
                return Err(bad_input("not-finite", format!("{at} is {f:e}, outside the range of a 32-bit float")));
            }
            Ok(x)
        }
        Value::Null => Err(bad_input(
            "not-finite",
            format!("{at} is null: NaN and infinite values are not accepted (JSON sends them as null)"),
        )),
        Value::String(s)
            if matches!(s.to_ascii_lowercase().as_str(), "nan" | "inf" | "-inf" | "infinity" | "-infinity") =>
        {
            Err(bad_input("not-finite", format!("{at} is {s:?}: NaN and infinite values are not accepted")))
        }
        other => Err(bad_input("not-a-number", format!("{at} must be a number, got {}", kind(other)))),
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A non-empty N×D matrix of finite numbers (rows of equal width `expect_width` when given).
pub fn matrix(v: &Value, field: &str, expect_width: Option<usize>) -> Result<(Vec<f32>, usize, usize), PluginError> {
    let rows = v.as_array().ok_or_else(|| {
        bad_input("wrong-shape", format!("{field} must be an array of rows (number arrays), got {}", kind(v)))
    })?;
    if rows.is_empty() {
        return Err(bad_input("wrong-shape", format!("{field} is empty: expected at least one row")));
    }
    let mut width = expect_width;
    let mut flat = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let cells = row.as_array().ok_or_else(|| {
            bad_input("wrong-shape", format!("{field}[{i}] must be an array of numbers, got {}", kind(row)))
        })?;
        match width {
            None => {
                if cells.is_empty() {
                    return Err(bad_input(
                        "wrong-shape",
                        format!("{field}[0] is empty: expected at least one feature"),
                    ));
                }
                width = Some(cells.len());
            }
            Some(w) if cells.len() != w => {
                let why = if expect_width.is_some() { "the model's input width" } else { "the width of the first row" };
                return Err(bad_input(
                    "wrong-shape",
                    format!(
                        "{field}[{i}] has {} values, expected {w} ({why}): shape expected [{}, {w}], got a row of {}",
                        cells.len(),
                        rows.len(),
                        cells.len()
                    ),
                ));
            }
            _ => {}
        }
        for (j, c) in cells.iter().enumerate() {
            flat.push(number(c, &format!("{field}[{i}][{j}]"))?);
        }
    }
    Ok((flat, rows.len(), width.unwrap_or(0)))
}

/// Targets: N numbers, or N rows of K numbers. Returns (values, K).
pub fn targets(v: &Value, n: usize) -> Result<(Vec<f32>, usize), PluginError> {
    let items =
        v.as_array().ok_or_else(|| bad_input("wrong-shape", format!("targets must be an array, got {}", kind(v))))?;
    if items.len() != n {
        return Err(bad_input(
            "wrong-shape",
            format!("targets has {} entries, expected {n} (one per row of inputs)", items.len()),
        ));
    }
    if items.first().is_some_and(|x| x.is_array()) {
        let (flat, _, k) = matrix(v, "targets", None)?;
        return Ok((flat, k));
    }
    let flat =
        items.iter().enumerate().map(|(i, x)| number(x, &format!("targets[{i}]"))).collect::<Result<Vec<_>, _>>()?;
    Ok((flat, 1))
}

/// Class labels 0..K-1 (integers) from targets; K is at least 2.
pub fn class_labels(values: &[f32], width: usize) -> Result<(Vec<u32>, usize), PluginError> {
    if width != 1 {
        return Err(bad_input(
            "wrong-shape",
            format!("classification targets must be one class label per row, got rows of {width}"),
        ));
    }
    let mut labels = Vec::with_capacity(values.len());
    for (i, &y) in values.iter().enumerate() {
        if y < 0.0 || y.fract() != 0.0 || y > 1_000.0 {
            return Err(bad_input(
                "bad-label",
                format!("targets[{i}] is {y}: class labels are whole numbers 0, 1, 2..."),
            ));
        }
        labels.push(y as u32);
    }
    let classes = labels.iter().copied().max().unwrap_or(0) as usize + 1;
    Ok((labels, classes.max(2)))
}
