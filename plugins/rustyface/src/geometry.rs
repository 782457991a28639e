//! Pixel sampling shared by detection (letterbox resize) and recognition (alignment warp):
//! bilinear interpolation with OpenCV's pixel-centre convention, outside pixels black.

use image::RgbImage;

/// Bilinear sample of channel `c` at (x, y) in source pixel coordinates; 0 outside the image
/// (OpenCV's BORDER_CONSTANT).
#[inline]
pub fn sample(img: &RgbImage, x: f32, y: f32, out: &mut [f32; 3]) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x0 = x.floor();
    let y0 = y.floor();
    let fx = x - x0;
    let fy = y - y0;
    let (x0, y0) = (x0 as i64, y0 as i64);
    let raw = img.as_raw();
    let px = |xi: i64, yi: i64, c: usize| -> f32 {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            0.0
        } else {
            raw[((yi * w + xi) * 3) as usize + c] as f32
        }
    };
    for (c, o) in out.iter_mut().enumerate() {
        let top = px(x0, y0, c) * (1.0 - fx) + px(x0 + 1, y0, c) * fx;
        let bottom = px(x0, y0 + 1, c) * (1.0 - fx) + px(x0 + 1, y0 + 1, c) * fx;
        *o = top * (1.0 - fy) + bottom * fy;
    }
}

/// Clamped bilinear sample for resizing (edge pixels repeat, as cv::resize INTER_LINEAR).
#[inline]
fn sample_clamped(img: &RgbImage, x: f32, y: f32, out: &mut [f32; 3]) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    sample_inside(img, x.clamp(0.0, w - 1.0), y.clamp(0.0, h - 1.0), out)
}

#[inline]
fn sample_inside(img: &RgbImage, x: f32, y: f32, out: &mut [f32; 3]) {
    let w = img.width() as usize;
    let h = img.height() as usize;
    let x0 = x as usize;
    let y0 = y as usize;
    let x1 = (x0 + 1).min(w - 1);
    let y1 = (y0 + 1).min(h - 1);
    let fx = x - x0 as f32;
    let fy = y - y0 as f32;
    let raw = img.as_raw();
    for (c, o) in out.iter_mut().enumerate() {
        let p = |xi: usize, yi: usize| raw[(yi * w + xi) * 3 + c] as f32;
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        *o = top * (1.0 - fy) + bottom * fy;
    }
}

/// The image scaled by `scale` (aspect kept) into the top-left corner of a `size` x `size`
/// canvas, zero elsewhere, as a planar NCHW tensor in BGR order (YuNet's input).
pub fn letterbox_bgr_nchw(img: &RgbImage, size: usize, scale: f32) -> Vec<f32> {
    let plane = size * size;
    let mut data = vec![0f32; 3 * plane];
    let new_w = ((img.width() as f32 * scale).round() as usize).clamp(1, size);
    let new_h = ((img.height() as f32 * scale).round() as usize).clamp(1, size);
    let sx = img.width() as f32 / new_w as f32;
    let sy = img.height() as f32 / new_h as f32;
    let mut px = [0f32; 3];
    for y in 0..new_h {
        let src_y = (y as f32 + 0.5) * sy - 0.5;
        for x in 0..new_w {
            let src_x = (x as f32 + 0.5) * sx - 0.5;
            sample_clamped(img, src_x, src_y, &mut px);
            let i = y * size + x;
            data[i] = px[2];
            data[plane + i] = px[1];
            data[2 * plane + i] = px[0];
        }
    }
    data
}

/// A 2x3 affine matrix [a, b, tx; c, d, ty] mapping source to destination pixels.
pub type Affine = [[f32; 3]; 2];

/// Warps `img` by `m` (source -> destination) into a `size` x `size` planar RGB NCHW tensor
/// (SFace's input), sampling the inverse map bilinearly (cv::warpAffine INTER_LINEAR).
pub fn warp_rgb_nchw(img: &RgbImage, m: &Affine, size: usize) -> Vec<f32> {
    let inv = invert(m);
    let plane = size * size;
    let mut data = vec![0f32; 3 * plane];
    let mut px = [0f32; 3];
    for v in 0..size {
        for u in 0..size {
            let (uf, vf) = (u as f32, v as f32);
            let x = inv[0][0] * uf + inv[0][1] * vf + inv[0][2];
            let y = inv[1][0] * uf + inv[1][1] * vf + inv[1][2];
            sample(img, x, y, &mut px);
            let i = v * size + u;
            data[i] = px[0];
            data[plane + i] = px[1];
            data[2 * plane + i] = px[2];
        }
    }
    data
}

fn invert(m: &Affine) -> Affine {
    let [[a, b, tx], [c, d, ty]] = *m;
    let det = a * d - b * c;
    let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
    [[ia, ib, -(ia * tx + ib * ty)], [ic, id, -(ic * tx + id * ty)]]
}

/// The least-squares similarity transform (rotation, uniform scale, translation; no
/// reflection) taking `src` points onto `dst` points: Umeyama's estimate, as OpenCV's
/// FaceRecognizerSF::alignCrop computes it.
pub fn similarity_transform(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Affine {
    let n = src.len() as f32;
    let mean = |p: &[[f32; 2]]| {
        let (sx, sy) = p.iter().fold((0.0, 0.0), |(ax, ay), q| (ax + q[0], ay + q[1]));
        (sx / n, sy / n)
    };
    let (msx, msy) = mean(src);
    let (mdx, mdy) = mean(dst);
    let (mut dot, mut cross, mut norm) = (0f32, 0f32, 0f32);
    for (s, d) in src.iter().zip(dst) {
        let (xs, ys) = (s[0] - msx, s[1] - msy);
        let (xd, yd) = (d[0] - mdx, d[1] - mdy);
        dot += xs * xd + ys * yd;
        cross += xs * yd - ys * xd;
        norm += xs * xs + ys * ys;
    }
    let a = dot / norm;
    let b = cross / norm;
    [[a, -b, mdx - (a * msx - b * msy)], [b, a, mdy - (b * msx + a * msy)]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        let src = [[10.0, 20.0], [30.0, 25.0], [20.0, 40.0], [12.0, 50.0], [28.0, 52.0]];
        let (a, b, tx, ty) = (0.8f32, 0.3f32, 5.0f32, -7.0f32);
        let dst: Vec<[f32; 2]> = src.iter().map(|p| [a * p[0] - b * p[1] + tx, b * p[0] + a * p[1] + ty]).collect();
        let m = similarity_transform(&src, &dst);
        for (got, want) in [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2]].iter().zip([a, -b, tx, b, a, ty]) {
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
    }

    #[test]
    fn invert_round_trips() {
        let m: Affine = [[0.8, -0.3, 5.0], [0.3, 0.8, -7.0]];
        let inv = invert(&m);
        let (x, y) = (13.0f32, 4.0f32);
        let (u, v) = (m[0][0] * x + m[0][1] * y + m[0][2], m[1][0] * x + m[1][1] * y + m[1][2]);
        let (bx, by) = (inv[0][0] * u + inv[0][1] * v + inv[0][2], inv[1][0] * u + inv[1][1] * v + inv[1][2]);
        assert!((bx - x).abs() < 1e-4 && (by - y).abs() < 1e-4);
    }
}
