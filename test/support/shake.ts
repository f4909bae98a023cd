/**
 * Seeded known-shake camera paths for the stabilize tests: exact frame-to-frame motions (no registration
 * noise) and the intended smooth path behind them, by the recipe of ../shared/anchors/make_shaky.py.
 *
 * Recipe (in "base" pixels of a 1280x720 view; a WxH frame sees the same view scaled by s = W / 1280):
 *   intended path, u = k / frames:  x = 500 (3u^2 - 2u^3) - 250   (ease-in/out pan of 500 base px),
 *                                   y = 20 sin(2 pi u),           angle = 0.5 sin(2 pi u + 1) degrees;
 *   jitter: AR(1) Gaussian noise, x[0] = 0, x[k] = 0.7 x[k-1] + e_k, rescaled to RMS 6 base px in x and y
 *           and 0.7 degrees in angle (angle clipped to +-2 degrees): at 640x360, 3 px RMS.
 * Random numbers: mulberry32 and Box-Muller, so the draws differ from numpy's, not their statistics.
 *
 * Camera: frame pixel u of frame k shows the scene point G_k(u) = c + s p_k + R(theta_k) (u - c),
 * c = ((W - 1) / 2, (H - 1) / 2), p_k = intended + jitter in base px. Truth in steady's conventions:
 *   motion[k] = G_k^-1 G_{k-1} (frame k-1 pixel -> frame k pixel; identity for k = 0).
 */
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { centerMotion } from './jitter.js';
import { mulberry32 } from './rng.js';

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32, test/support/rng.ts). */
export const shakeUniform: (seed: number) => () => number = mulberry32;

/** Standard normal numbers (Box-Muller) from a uniform source. */
export function shakeNormal(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** make_shaky.py's ar1: x[0] = 0, x[k] = a x[k-1] + e_k, rescaled to the given RMS. */
export function ar1(normal: () => number, n: number, rms: number, a = 0.7): Float64Array {
  const x = new Float64Array(n);
  normal(); // e_0 is drawn and unused, as in the recipe
  for (let k = 1; k < n; k++) x[k] = a * (x[k - 1] as number) + normal();
  let ss = 0;
  for (let k = 0; k < n; k++) ss += (x[k] as number) * (x[k] as number);
  const f = ss > 0 ? rms / Math.sqrt(ss / n) : 0;
  for (let k = 0; k < n; k++) x[k] = (x[k] as number) * f;
  return x;
}

/** What to generate. */
export interface ShakeSpec {
  readonly seed: number;
  /** @default 640 */
  readonly width?: number;
  /** @default 360 */
  readonly height?: number;
  /** @default 300 */
  readonly frames?: number;
  /** Frames per second (the recipe's time axis only). @default 30 */
  readonly fps?: number;
  /** RMS translation jitter in x and y, base px. @default 6 */
  readonly jitterBasePx?: number;
  /** RMS rotation jitter, degrees. @default 0.7 */
  readonly jitterDeg?: number;
  /** Pan of the intended path, base px (0: a static intended camera). @default 500 */
  readonly panBasePx?: number;
  /** Amplitude of the intended vertical sine, base px. @default 20 */
  readonly driftBasePx?: number;
  /** Amplitude of the intended roll sine, degrees. @default 0.5 */
  readonly rollDeg?: number;
}

/** A generated shake. Paths are [x px, y px, angle rad] per frame in frame pixels (s p, theta). */
export interface Shake {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly fps: number;
  /** The intended smooth camera. */
  readonly intended: readonly [number, number, number][];
  /** The shaken camera (intended + jitter). */
  readonly shaky: readonly [number, number, number][];
  /** Camera matrices G_k (frame pixel -> scene point) of the shaken camera. */
  readonly cameras: readonly Mat3[];
  /** Camera matrices of the intended camera. */
  readonly intendedCameras: readonly Mat3[];
  /** motion[k] = G_k^-1 G_{k-1}: frame k-1 -> frame k (identity for k = 0). */
  readonly motions: readonly Mat3[];
}

/** G(u) = c + (x, y) + R(angle) (u - c). */
export function cameraMatrix(x: number, y: number, angle: number, width: number, height: number): Mat3 {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return Float64Array.of(c, -s, cx + x - (c * cx - s * cy), s, c, cy + y - (s * cx + c * cy), 0, 0, 1);
}

/** Generates a known shake (see the file comment). */
export function makeShake(spec: ShakeSpec): Shake {
  const width = spec.width ?? 640;
  const height = spec.height ?? 360;
  const n = spec.frames ?? 300;
  const fps = spec.fps ?? 30;
  const s = width / 1280;
  const normal = shakeNormal(shakeUniform(spec.seed));
  const jx = ar1(normal, n, spec.jitterBasePx ?? 6);
  const jy = ar1(normal, n, spec.jitterBasePx ?? 6);
  const ja = ar1(normal, n, spec.jitterDeg ?? 0.7);
  const pan = spec.panBasePx ?? 500;
  const drift = spec.driftBasePx ?? 20;
  const roll = spec.rollDeg ?? 0.5;
  const intended: [number, number, number][] = [];
  const shaky: [number, number, number][] = [];
  const cameras: Mat3[] = [];
  const intendedCameras: Mat3[] = [];
  const motions: Mat3[] = [];
  const inv = new Float64Array(9);
  for (let k = 0; k < n; k++) {
    const u = k / fps / (n / fps);
    const ix = pan * (3 * u * u - 2 * u * u * u) - pan / 2;
    const iy = drift * Math.sin(2 * Math.PI * u);
    const ia = roll * Math.sin(2 * Math.PI * u + 1);
    const jaDeg = Math.max(-2, Math.min(2, ja[k] as number));
    const it: [number, number, number] = [s * ix, s * iy, (ia * Math.PI) / 180];
    const sh: [number, number, number] = [s * (ix + (jx[k] as number)), s * (iy + (jy[k] as number)), ((ia + jaDeg) * Math.PI) / 180];
    intended.push(it);
    shaky.push(sh);
    const G = cameraMatrix(sh[0], sh[1], sh[2], width, height);
    cameras.push(G);
    intendedCameras.push(cameraMatrix(it[0], it[1], it[2], width, height));
    if (k === 0) motions.push(Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1));
    else {
      invertInto(inv, G);
      motions.push(multiplyInto(new Float64Array(9), inv, cameras[k - 1] as Mat3));
    }
  }
  return { width, height, frames: n, fps, intended, shaky, cameras, intendedCameras, motions };
}

/**
 * The frame-to-frame motions of the stabilized output: output frame k shows input frame k through
 * correction[k] (output pixel -> input pixel), so W_out[k] = C_k^-1 motion[k] C_{k-1}. Returned as the
 * anchors' [dx px, dy px, dtheta deg] of the image centre (frame 0: zeros).
 */
export function outputCenterMotions(motions: readonly Mat3[], corrections: readonly Mat3[], width: number, height: number): [number, number, number][] {
  const out: [number, number, number][] = [[0, 0, 0]];
  const inv = new Float64Array(9);
  const t = new Float64Array(9);
  for (let k = 1; k < motions.length; k++) {
    invertInto(inv, corrections[k] as Mat3);
    multiplyInto(t, motions[k] as Mat3, corrections[k - 1] as Mat3);
    multiplyInto(t, inv, t);
    out.push(centerMotion(t, width, height));
  }
  return out;
}

/** The input's own [dx, dy, dtheta deg] per frame (frame 0: zeros). */
export function inputCenterMotions(motions: readonly Mat3[], width: number, height: number): [number, number, number][] {
  return motions.map((m, k) => (k === 0 ? [0, 0, 0] : centerMotion(m, width, height)));
}

/**
 * The anchors' second measure (bench_common.hf_velocity): RMS per frame of the part of the per-frame
 * motion at or above fcHz, by a plain DFT (slow, obviously correct): xy px/frame and deg/frame.
 */
export function hfVelocity(motions: readonly (readonly [number, number, number])[], fps: number, fcHz = 1): { xyPx: number; thetaDeg: number } {
  const v = motions.slice(1);
  const n = v.length;
  const rms = [0, 0, 0].map((_, c) => {
    let mean = 0;
    for (const m of v) mean += m[c] as number;
    mean /= n;
    const x = v.map((m) => (m[c] as number) - mean);
    // Keep the rfft bins with frequency >= fc; reconstruct and take the RMS (Parseval on the kept bins).
    let ss = 0;
    for (let f = 0; f <= Math.floor(n / 2); f++) {
      if ((f * fps) / n < fcHz) continue;
      let re = 0;
      let im = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * f * t) / n;
        re += (x[t] as number) * Math.cos(a);
        im += (x[t] as number) * Math.sin(a);
      }
      const p = re * re + im * im;
      // Bins other than 0 and n/2 stand for two conjugate bins.
      ss += f === 0 || (n % 2 === 0 && f === n / 2) ? p : 2 * p;
    }
    return Math.sqrt(ss / (n * n));
  });
  return { xyPx: Math.hypot(rms[0] as number, rms[1] as number), thetaDeg: rms[2] as number };
}

/** Slow check: the largest distance any output corner maps outside the input frame, pixels. */
export function cornerExcursion(c: Mat3, w: number, h: number): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (const [x, y] of [
    [0, 0],
    [w - 1, 0],
    [w - 1, h - 1],
    [0, h - 1],
  ] as const) {
    const d = (c[6] as number) * x + (c[7] as number) * y + (c[8] as number);
    const qx = ((c[0] as number) * x + (c[1] as number) * y + (c[2] as number)) / d;
    const qy = ((c[3] as number) * x + (c[4] as number) * y + (c[5] as number)) / d;
    worst = Math.max(worst, -qx, qx - (w - 1), -qy, qy - (h - 1));
  }
  return worst;
}
