/**
 * Image gradients by central differences: gx(x, y) = (I(x + 1, y) - I(x - 1, y)) / 2 and likewise for
 * y, in gray levels per pixel, times an optional scale. Border samples use one-sided differences
 * (I(1) - I(0), I(w - 1) - I(w - 2)); an image one pixel wide has a zero gradient along that axis.
 * This is the [-0.5, 0, 0.5] kernel OpenCV's ECC uses on its pre-blurred images.
 */
import type { GrayImage } from './gray-image.js';

/**
 * Writes the x and y gradients of `src` into `outX` and `outY` (same size), multiplied by `scale`
 * (e.g. to express them per unit of a normalised coordinate). Returns `outX`.
 */
export function gradientInto(outX: GrayImage, outY: GrayImage, src: GrayImage, scale = 1): GrayImage {
  const { width: w, height: h, data: s } = src;
  const gx = outX.data;
  const gy = outY.data;
  const half = 0.5 * scale;
  for (let y = 0; y < h; y++) {
    const r = y * w;
    if (w === 1) {
      gx[r] = 0;
    } else {
      gx[r] = ((s[r + 1] as number) - (s[r] as number)) * scale;
      for (let x = 1; x < w - 1; x++) gx[r + x] = ((s[r + x + 1] as number) - (s[r + x - 1] as number)) * half;
      gx[r + w - 1] = ((s[r + w - 1] as number) - (s[r + w - 2] as number)) * scale;
    }
  }
  if (h === 1) {
    gy.fill(0, 0, w);
    return outX;
  }
  for (let x = 0; x < w; x++) gy[x] = ((s[w + x] as number) - (s[x] as number)) * scale;
  for (let y = 1; y < h - 1; y++) {
    const r = y * w;
    for (let x = 0; x < w; x++) gy[r + x] = ((s[r + w + x] as number) - (s[r - w + x] as number)) * half;
  }
  const last = (h - 1) * w;
  for (let x = 0; x < w; x++) gy[last + x] = ((s[last + x] as number) - (s[last - w + x] as number)) * scale;
  return outX;
}
