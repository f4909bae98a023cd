/**
 * lavfi graphs for tests of live sources, each with a known property: the frame number written in the
 * pixels, a known whole-pixel shake, a known rotation. Pass them with inputFormat 'lavfi'.
 */

/** Chroma of the generated graphs (neutral). */
export const NEUTRAL_CHROMA = 128;

/** Frame n has every luma sample equal to n mod 256 and neutral chroma: a frame's content tells which it is. */
export function numberedGraph(width: number, height: number, fps: number): string {
  return `nullsrc=s=${width}x${height}:r=${fps},geq=lum='mod(N\\,256)':cb=${NEUTRAL_CHROMA}:cr=${NEUTRAL_CHROMA}`;
}

/** A static smooth texture (luma 38..218, so never video black), 160x120. */
const TEXTURE = `nullsrc=s=160x120:r=%FPS%,geq=lum='128+50*sin(X/5)*cos(Y/7)+40*sin((X+2*Y)/11)':cb=${NEUTRAL_CHROMA}:cr=${NEUTRAL_CHROMA}`;

/** Crop offsets of the shaky graph, pixels, repeating with period 8. */
export const SHAKE_X: readonly number[] = [0, 3, -2, 4, 1, -3, 2, 0];
export const SHAKE_Y: readonly number[] = [0, -2, 3, 1, -1, 2, -3, 1];

/**
 * 128x96 frames of the static texture seen through a crop window at (16 + SHAKE_X[n mod 8], 12 + SHAKE_Y[n
 * mod 8]): frame n shows texture point p + o_n at pixel p, so a point at p in frame n-1 is at
 * p - (o_n - o_{n-1}) in frame n (the motion is a translation by o_{n-1} - o_n).
 */
export function shakyGraph(fps: number): string {
  const pick = (offsets: readonly number[]) => offsets.map((o, k) => `eq(mod(n\\,${offsets.length})\\,${k})*${o}`).join('+');
  return `${TEXTURE.replace('%FPS%', String(fps))},crop=128:96:x='16+${pick(SHAKE_X)}':y='12+${pick(SHAKE_Y)}':exact=1`;
}

/** Rotation of odd frames of the rotating graph about the frame centre, radians (even frames: none). */
export const ROTATION_RAD = 0.03;

/** 128x96 frames of the static texture, odd frames rotated by ROTATION_RAD about the centre. */
export function rotatingGraph(fps: number): string {
  return `${TEXTURE.replace('%FPS%', String(fps))},crop=128:96:16:12,rotate=a='${ROTATION_RAD}*mod(n\\,2)':fillcolor=gray`;
}

/** Pan speed of the panning graph, pixels per frame (to the right, for the first 64 frames). */
export const PAN_PX_PER_FRAME = 2;

/** 128x96 frames of a 256-wide static texture, the crop window moving PAN_PX_PER_FRAME to the right per frame. */
export function panningGraph(fps: number): string {
  const texture = TEXTURE.replace('160x120', '256x120').replace('%FPS%', String(fps));
  return `${texture},crop=128:96:x='min(${PAN_PX_PER_FRAME}*n\\,128)':y=12:exact=1`;
}
