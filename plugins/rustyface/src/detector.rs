//! YuNet (OpenCV Zoo, 2023mar): letterbox into the fixed 640x640 input, decode the three
//! stride heads, keep faces over the score threshold, NMS, map back to image pixels.

use crate::geometry::letterbox_bgr_nchw;
use image::RgbImage;
use ort::session::Session;
use ort::value::Tensor;
use serde::Serialize;

pub const INPUT_SIZE: usize = 640;
const STRIDES: [usize; 3] = [8, 16, 32];

#[derive(Debug, Clone, Serialize)]
pub struct Face {
    /// [x, y, width, height] in image pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    pub score: f32,
    /// Right eye, left eye, nose tip, right and left mouth corners (as YuNet orders them), [x, y].
    pub landmarks: [[f32; 2]; 5],
}

pub struct DetectOptions {
    pub score_threshold: f32,
    pub nms_threshold: f32,
    pub max_faces: usize,
}

/// Runs YuNet on one image. Blocks (CPU work): call it from a blocking thread.
pub fn detect(session: &mut Session, img: &RgbImage, opt: &DetectOptions) -> Result<Vec<Face>, String> {
    // Smaller images are only padded (as OpenCV's FaceDetectorYN runs them at their own size:
    // this reproduces its boxes); larger ones are scaled down to fit, aspect kept.
    let scale = (INPUT_SIZE as f32 / img.width() as f32).min(INPUT_SIZE as f32 / img.height() as f32).min(1.0);
    let input = letterbox_bgr_nchw(img, INPUT_SIZE, scale);
    let tensor = Tensor::from_array(([1usize, 3, INPUT_SIZE, INPUT_SIZE], input)).map_err(|e| e.to_string())?;
    let outputs = session.run(ort::inputs!["input" => tensor]).map_err(|e| format!("YuNet failed: {e}"))?;
    let mut faces = Vec::new();
    for stride in STRIDES {
        let get = |name: String| -> Result<&[f32], String> {
            let value = outputs.get(&name).ok_or_else(|| format!("YuNet has no output {name}"))?;
            value.try_extract_tensor::<f32>().map(|(_, d)| d).map_err(|e| format!("YuNet output {name}: {e}"))
        };
        let cls = get(format!("cls_{stride}"))?;
        let obj = get(format!("obj_{stride}"))?;
        let bbox = get(format!("bbox_{stride}"))?;
        let kps = get(format!("kps_{stride}"))?;
        let cols = INPUT_SIZE / stride;
        let cells = cols * cols;
        if cls.len() < cells || obj.len() < cells || bbox.len() < cells * 4 || kps.len() < cells * 10 {
            return Err(format!("YuNet stride {stride} outputs have unexpected sizes"));
        }
        for i in 0..cells {
            let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
            if score < opt.score_threshold {
                continue;
            }
            let (col, row) = ((i % cols) as f32, (i / cols) as f32);
            let s = stride as f32;
            let b = &bbox[i * 4..i * 4 + 4];
            let (cx, cy) = ((col + b[0]) * s, (row + b[1]) * s);
            let (w, h) = (b[2].exp() * s, b[3].exp() * s);
            let k = &kps[i * 10..i * 10 + 10];
            let mut landmarks = [[0f32; 2]; 5];
            for (j, l) in landmarks.iter_mut().enumerate() {
                *l = [(col + k[2 * j]) * s / scale, (row + k[2 * j + 1]) * s / scale];
            }
            faces.push(Face {
                bbox: [(cx - w / 2.0) / scale, (cy - h / 2.0) / scale, w / scale, h / scale],
                score,
                landmarks,
            });
        }
    }
    Ok(nms(faces, opt.nms_threshold, opt.max_faces))
}

/// Greedy non-maximum suppression, best score first.
fn nms(mut faces: Vec<Face>, iou_threshold: f32, keep: usize) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::new();
    for f in faces {
        if kept.len() >= keep {
            break;
        }
        if kept.iter().all(|k| iou(&k.bbox, &f.bbox) <= iou_threshold) {
            kept.push(f);
        }
    }
    kept
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let x1 = a[0].max(b[0]);
    let y1 = a[1].max(b[1]);
    let x2 = (a[0] + a[2]).min(b[0] + b[2]);
    let y2 = (a[1] + a[3]).min(b[1] + b[3]);
    let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, score: f32) -> Face {
        Face { bbox: [x, 0.0, 10.0, 10.0], score, landmarks: [[0.0; 2]; 5] }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let kept = nms(vec![face(0.0, 0.8), face(1.0, 0.95), face(50.0, 0.9)], 0.3, 10);
        let scores: Vec<f32> = kept.iter().map(|f| f.score).collect();
        assert_eq!(scores, vec![0.95, 0.9]);
    }

    #[test]
    fn iou_of_disjoint_and_identical_boxes() {
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[5.0, 5.0, 1.0, 1.0]), 0.0);
        assert!((iou(&[0.0, 0.0, 2.0, 2.0], &[0.0, 0.0, 2.0, 2.0]) - 1.0).abs() < 1e-6);
    }
}
