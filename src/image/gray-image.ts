/**
 * The one image type of steady: a gray image of 32-bit floats, tightly packed row by row,
 * index i = y * width + x, no hidden stride. Gray levels are 0..255 whatever the source bit depth.
 * `Uint8Array` appears only where ffmpeg bytes come in or go out.
 */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  /** width * height samples, row-major. */
  readonly data: Float32Array;
}

/** Makes a gray image, zero-filled, or wrapping `data` (not copied) when given. */
export function createGrayImage(width: number, height: number, data?: Float32Array): GrayImage {
  if (data !== undefined && data.length !== width * height) {
    throw new RangeError(`expected ${width * height} samples (${width}x${height}), got ${data.length}`);
  }
  return { width, height, data: data ?? new Float32Array(width * height) };
}

/** Copies 8-bit samples (e.g. a Y plane from ffmpeg) into `out`. Returns `out`. */
export function grayFromBytesInto(out: GrayImage, bytes: Uint8Array, stride: number = out.width): GrayImage {
  const { width, height, data } = out;
  if (stride === width) {
    const n = width * height;
    for (let i = 0; i < n; i++) data[i] = bytes[i] as number;
  } else {
    for (let y = 0; y < height; y++) {
      const src = y * stride;
      const dst = y * width;
      for (let x = 0; x < width; x++) data[dst + x] = bytes[src + x] as number;
    }
  }
  return out;
}

/** Writes the image as 8-bit samples (rounded, clamped to 0..255) into `out`. Returns `out`. */
export function grayToBytesInto(out: Uint8Array, image: GrayImage): Uint8Array {
  const { data } = image;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i] as number;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
  }
  return out;
}
