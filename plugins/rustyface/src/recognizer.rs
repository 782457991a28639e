//! SFace (OpenCV Zoo, 2021dec): align a face by its five landmarks onto the 112x112 ArcFace
//! template, embed it, L2-normalise the 128-d feature.

use crate::detector::Face;
use crate::geometry::{similarity_transform, warp_rgb_nchw};
use image::RgbImage;
use ort::session::Session;
use ort::value::Tensor;

pub const ALIGNED_SIZE: usize = 112;
pub const FEATURE_DIM: usize = 128;

/// Where the five landmarks land in the 112x112 crop (InsightFace's ArcFace template, used by
/// OpenCV's FaceRecognizerSF::alignCrop).
const TEMPLATE: [[f32; 2]; 5] =
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/// The aligned 112x112 RGB crop of one face as SFace's NCHW input.
pub fn align(img: &RgbImage, face: &Face) -> Vec<f32> {
    let m = similarity_transform(&face.landmarks, &TEMPLATE);
    warp_rgb_nchw(img, &m, ALIGNED_SIZE)
}

/// Aligns and embeds one face: a unit-length 128-d vector. Blocks (CPU work).
pub fn embed(session: &mut Session, img: &RgbImage, face: &Face) -> Result<Vec<f32>, String> {
    let input = align(img, face);
    let tensor = Tensor::from_array(([1usize, 3, ALIGNED_SIZE, ALIGNED_SIZE], input)).map_err(|e| e.to_string())?;
    let outputs = session.run(ort::inputs!["data" => tensor]).map_err(|e| format!("SFace failed: {e}"))?;
    let (_, raw) = outputs[0].try_extract_tensor::<f32>().map_err(|e| format!("SFace output: {e}"))?;
    if raw.len() != FEATURE_DIM {
        return Err(format!("SFace returned {} values, expected {FEATURE_DIM}", raw.len()));
    }
    Ok(normalize(raw))
}

pub fn normalize(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / norm).collect()
}

/// Cosine similarity of two unit vectors (their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
