/**
 * Export of steady's frame-to-frame motion as vid.stab's "global motions" transforms file, the text
 * format ffmpeg's `vidstabtransform` writes as `global_motions.trf` with `debug=1` and reads back
 * through `input=` (vid.stab falls back to it when the file does not start with `VID.STAB`):
 *
 *     # comment lines start with '#'
 *     <index> <x> <y> <alpha> <zoom> <extra>        one line per frame, in frame order
 *
 * Unlike vid.stab's local-motions format (`VID.STAB 1`, `Frame N (List n [(LM vx vy ...)])`, whose
 * vectors are whole pixels and which needs several fields to carry a rotation), these are doubles:
 * sub-pixel translation, rotation and zoom survive the export.
 *
 * vid.stab's meaning of one transform, from its warp (transformPlanar): an output pixel p_d is read
 * from the source at  p_s = z R(alpha) (p_d - c) + c - (x, y)  with z = 1 - zoom/100, R(a) the
 * rotation [[cos a, -sin a], [sin a, cos a]] in pixel coordinates (y down) and c = (floor(w/2),
 * floor(h/2)). With `relative=1` the per-frame transforms are summed into that correction, so each
 * line is the camera's step: for steady's motion m (frame k-1 to frame k, written about c as
 * m(p) = s R(theta) (p - c) + c + d) the line is x = -d.x, y = -d.y, alpha = theta,
 * zoom = 100 (1 - s). Summing is vid.stab's own small-motion approximation of composing.
 */
import type { Mat3 } from '../motion/mat3.js';

/** One vid.stab transform (relative: the step from the previous frame). */
export interface VidstabTransform {
  /** Translation x, px (minus the displacement of the centre). */
  x: number;
  /** Translation y, px. */
  y: number;
  /** Rotation about the centre, rad (positive turns +x towards +y). */
  alpha: number;
  /** Zoom in percent (0 = none; the warp samples at 1 - zoom/100). */
  zoom: number;
}

/** The centre vid.stab rotates about: (floor(w/2), floor(h/2)). */
export function vidstabCentre(width: number, height: number): [number, number] {
  return [Math.floor(width / 2), Math.floor(height / 2)];
}

/**
 * Converts one frame-to-frame motion (steady's convention: maps frame k-1 pixel coordinates to frame k)
 * into vid.stab's relative transform. The linear part is read as scale times rotation (its closest
 * similarity): shear and perspective, which vid.stab cannot carry, are dropped.
 */
export function vidstabTransformInto(out: VidstabTransform, motion: Mat3, width: number, height: number): VidstabTransform {
  const [cx, cy] = vidstabCentre(width, height);
  const m0 = motion[0] as number, m1 = motion[1] as number, m2 = motion[2] as number;
  const m3 = motion[3] as number, m4 = motion[4] as number, m5 = motion[5] as number;
  const m6 = motion[6] as number, m7 = motion[7] as number, m8 = motion[8] as number;
  const w = m6 * cx + m7 * cy + m8;
  const px = (m0 * cx + m1 * cy + m2) / w;
  const py = (m3 * cx + m4 * cy + m5) / w;
  // Closest similarity to the linear part [[a, -b], [b, a]]: a = (m00 + m11) / 2, b = (m10 - m01) / 2.
  const a = (m0 + m4) / 2;
  const b = (m3 - m1) / 2;
  out.x = -(px - cx);
  out.y = -(py - cy);
  out.alpha = Math.atan2(b, a);
  out.zoom = 100 * (1 - Math.hypot(a, b));
  return out;
}

/** Options of the export. */
export interface TrfExportOptions {
  /** Input width, px. */
  readonly width: number;
  /** Input height, px. */
  readonly height: number;
  /** Write the zoom column (false writes 0: vid.stab then only shifts and rotates). @default true */
  readonly includeZoom?: boolean;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(6) : '0.000000';
}

/**
 * The whole `global_motions.trf` text for a clip, one line per frame (frame 0 is the identity).
 * Feed it to ffmpeg as `-vf vidstabtransform=input=FILE:relative=1`.
 */
export function formatGlobalMotionsTrf(frames: readonly { readonly motion: Mat3 }[], options: TrfExportOptions): string {
  const includeZoom = options.includeZoom ?? true;
  const t: VidstabTransform = { x: 0, y: 0, alpha: 0, zoom: 0 };
  const lines = [
    '# vid.stab global motions (relative transforms), written by steady',
    `# frames ${frames.length}, ${options.width}x${options.height}; columns: index x y alpha zoom extra`,
    '# use: ffmpeg -i IN -vf vidstabtransform=input=THIS_FILE:relative=1 OUT',
  ];
  for (let k = 0; k < frames.length; k++) {
    vidstabTransformInto(t, (frames[k] as { motion: Mat3 }).motion, options.width, options.height);
    lines.push(`${k} ${fmt(t.x)} ${fmt(t.y)} ${fmt(t.alpha)} ${fmt(includeZoom ? t.zoom : 0)} 0`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Reads a global-motions file (steady's or the one `vidstabtransform debug=1` writes): the data lines
 * in order. Lines that are empty or start with '#' are skipped; a line that is not 5 or 6 numbers
 * throws a RangeError naming it.
 */
export function parseGlobalMotionsTrf(text: string): VidstabTransform[] {
  const out: VidstabTransform[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/).map(Number);
    if ((parts.length !== 5 && parts.length !== 6) || parts.some((x) => !Number.isFinite(x))) {
      throw new RangeError(`line ${i + 1}: expected "index x y alpha zoom extra" but received ${JSON.stringify(line.slice(0, 60))}`);
    }
    out.push({ x: parts[1] as number, y: parts[2] as number, alpha: parts[3] as number, zoom: parts.length === 6 ? (parts[4] as number) : 0 });
  }
  return out;
}
