//! Turning a call's `image` parameter into RGB pixels: base64 (or a data: URL) or `{ "path" }`
//! inside the configured roots; JPEG, PNG or WebP; with size limits checked before decoding.

use crate::config::Config;
use crate::errors::bad_input;
use base64::Engine as _;
use bkg_plugin::{PluginError, Value};
use image::{ImageFormat, ImageReader, RgbImage};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// Below this width or height there is no face to find; a clear error beats a silent empty list.
pub const MIN_SIDE: u32 = 16;

/// Reads the encoded bytes the parameter names (base64 string, `{base64}` or `{path}`).
pub fn image_bytes(param: &Value, field: &str, cfg: &Config) -> Result<Vec<u8>, PluginError> {
    match param {
        Value::String(s) => decode_base64(s, field, cfg),
        Value::Object(o) => {
            if let Some(Value::String(s)) = o.get("base64") {
                decode_base64(s, field, cfg)
            } else if let Some(Value::String(p)) = o.get("path") {
                read_path(p, field, cfg)
            } else {
                Err(bad_input(
                    "bad_image",
                    format!("{field} must be a base64 string, {{\"base64\": ...}} or {{\"path\": ...}}"),
                ))
            }
        }
        Value::Null => {
            Err(bad_input("bad_image", format!("{field} is required: a base64 string or {{\"path\": ...}}")))
        }
        _ => Err(bad_input(
            "bad_image",
            format!("{field} must be a base64 string, {{\"base64\": ...}} or {{\"path\": ...}}"),
        )),
    }
}

fn decode_base64(text: &str, field: &str, cfg: &Config) -> Result<Vec<u8>, PluginError> {
    let body = match text.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map(|(_, b)| b).unwrap_or(""),
        None => text,
    };
    // 4 base64 characters carry 3 bytes: refuse oversized input before allocating for it.
    if body.len() / 4 * 3 > cfg.max_image_bytes + 3 {
        return Err(too_big(field, body.len() / 4 * 3, cfg));
    }
    let cleaned: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(cleaned.as_bytes()).map_err(|e| {
        bad_input(
            "bad_image",
            format!(
                "{field} is not valid base64 ({e}); send the image file's bytes base64-encoded, or {{\"path\": ...}}"
            ),
        )
    })
}

fn read_path(path: &str, field: &str, cfg: &Config) -> Result<Vec<u8>, PluginError> {
    if cfg.image_roots.is_empty() {
        return Err(bad_input(
            "path_not_allowed",
            format!(
                "{field}.path is not allowed: this rustyface has no imageRoots configured; send the image as base64"
            ),
        ));
    }
    let wanted = PathBuf::from(path);
    let resolved = wanted
        .canonicalize()
        .map_err(|e| bad_input("path_not_readable", format!("{field}.path {path:?} cannot be read: {e}")))?;
    let roots: Vec<PathBuf> = cfg.image_roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
    if !roots.iter().any(|r| resolved.starts_with(r)) {
        let shown: Vec<String> = cfg.image_roots.iter().map(|r| r.display().to_string()).collect();
        return Err(bad_input(
            "path_not_allowed",
            format!("{field}.path {path:?} is outside the configured imageRoots ({})", shown.join(", ")),
        ));
    }
    read_limited(&resolved, field, cfg)
}

fn read_limited(path: &Path, field: &str, cfg: &Config) -> Result<Vec<u8>, PluginError> {
    let file = std::fs::File::open(path)
        .map_err(|e| bad_input("path_not_readable", format!("{field}.path {} cannot be read: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(cfg.max_image_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad_input("path_not_readable", format!("{field}.path {} cannot be read: {e}", path.display())))?;
    if bytes.len() > cfg.max_image_bytes {
        return Err(too_big(field, bytes.len(), cfg));
    }
    Ok(bytes)
}

fn too_big(field: &str, size: usize, cfg: &Config) -> PluginError {
    bad_input(
        "image_too_large",
        format!("{field} is over {} bytes (about {size}); the limit is config.maxImageBytes", cfg.max_image_bytes),
    )
}

/// Decodes JPEG, PNG or WebP into RGB, refusing images outside [MIN_SIDE, maxImageSide] or over
/// maxImagePixels from the header, before any pixel is allocated.
pub fn decode_image(bytes: &[u8], field: &str, cfg: &Config) -> Result<RgbImage, PluginError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad_input("not_an_image", format!("{field} could not be read: {e}")))?;
    let format = reader.format();
    if !matches!(format, Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) {
        let what = format.map(|f| format!("{f:?}")).unwrap_or_else(|| "not an image".into());
        return Err(bad_input("not_an_image", format!("{field} is {what}: rustyface reads JPEG, PNG and WebP")));
    }
    if format == Some(ImageFormat::Jpeg) && !ends_with_jpeg_eoi(bytes) {
        return Err(bad_input(
            "corrupt_image",
            format!("{field} is a truncated JPEG: it has no end-of-image marker (FF D9)"),
        ));
    }
    let kind = match format {
        Some(ImageFormat::Jpeg) => "JPEG",
        Some(ImageFormat::Png) => "PNG",
        _ => "WebP",
    };
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| bad_input("corrupt_image", format!("{field} is a damaged {kind} image: {e}")))?;
    check_size(w, h, field, cfg)?;
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad_input("not_an_image", e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(cfg.max_image_side);
    limits.max_image_height = Some(cfg.max_image_side);
    limits.max_alloc = Some(cfg.max_image_pixels * 4 + (64 << 20));
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| bad_input("corrupt_image", format!("{field} is a damaged or truncated {kind} image: {e}")))?;
    Ok(decoded.to_rgb8())
}

/// JPEG decoders fill a cut-off file with grey instead of failing; a complete file ends with
/// the end-of-image marker (some writers pad after it, so the last kilobyte is searched; inside
/// entropy-coded data FF is always followed by 00 or a restart marker, never D9).
fn ends_with_jpeg_eoi(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

fn check_size(w: u32, h: u32, field: &str, cfg: &Config) -> Result<(), PluginError> {
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(bad_input(
            "image_too_small",
            format!("{field} is {w}x{h} pixels; rustyface needs at least {MIN_SIDE}x{MIN_SIDE} to look for faces"),
        ));
    }
    if w > cfg.max_image_side || h > cfg.max_image_side || u64::from(w) * u64::from(h) > cfg.max_image_pixels {
        return Err(bad_input(
            "image_too_large",
            format!(
                "{field} is {w}x{h} pixels; the limit is {} pixels per side and {} pixels in all (config.maxImageSide, config.maxImagePixels): scale it down first",
                cfg.max_image_side, cfg.max_image_pixels
            ),
        ));
    }
    Ok(())
}
