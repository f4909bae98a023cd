/**
 * A slow, obviously correct area average of one 8-bit plane (the reference for the frame shrinker and for
 * the expected preview images): each output pixel integrates the source over its footprint, pixel
 * footprints [o*s, (o+1)*s) in edge coordinates with s = source size / output size, rounded half up.
 */
export function slowAreaShrink(src: Uint8Array, sw: number, sh: number, ow: number, oh: number): Uint8Array {
  const out = new Uint8Array(ow * oh);
  const sx = sw / ow;
  const sy = sh / oh;
  const overlap = (a0: number, a1: number, j: number) => Math.max(0, Math.min(a1, j + 1) - Math.max(a0, j));
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sum = 0;
      let area = 0;
      for (let j = Math.floor(y * sy); j < Math.min(sh, Math.ceil((y + 1) * sy)); j++) {
        const wy = overlap(y * sy, (y + 1) * sy, j);
        for (let i = Math.floor(x * sx); i < Math.min(sw, Math.ceil((x + 1) * sx)); i++) {
          const w = wy * overlap(x * sx, (x + 1) * sx, i);
          sum += w * (src[j * sw + i] as number);
          area += w;
        }
      }
      out[y * ow + x] = Math.floor(sum / area + 0.5);
    }
  }
  return out;
}
