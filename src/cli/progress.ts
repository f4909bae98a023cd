/**
 * Progress display for long jobs: on a terminal, one line redrawn in place with a bar, frames, fps and
 * time left; elsewhere nothing (logs stay clean), and `--quiet` silences it too.
 */
export interface ProgressLine {
  update(done: number, total: number | null, elapsedSec: number, label: string): void;
  done(): void;
}

function clock(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--:--';
  const s = Math.round(sec);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** Widest and narrowest progress bar, characters (narrower: no bar, the figures only). */
const MAX_BAR = 24;
const MIN_BAR = 8;

/** A progress line on `stream` when it is a terminal and not quiet; otherwise a no-op. */
export function createProgressLine(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, quiet: boolean): ProgressLine {
  if (quiet || !stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  let shown = false;
  return {
    update(done, total, elapsedSec, label) {
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const fps = elapsedSec > 0 ? done / elapsedSec : 0;
      // A terminal that reports no width (0, as a pseudo-terminal with no size set does): no cut at all.
      const columns = stream.columns !== undefined && stream.columns > 0 ? stream.columns - 1 : Number.POSITIVE_INFINITY;
      let head = '';
      let tail = '';
      let f = -1;
      if (total !== null && total > 0) {
        f = Math.min(1, done / total);
        tail = ` ${Math.round(f * 100)}%  left ${clock(fps > 0 ? (total - done) / fps : Number.NaN)}`;
      }
      const figures = `${done}${total !== null ? `/${total}` : ''} frames  ${fps.toFixed(1)} fps${tail}`;
      // The bar gives way to the figures on a narrow terminal (it used to cut the time left in half).
      const width = Math.min(MAX_BAR, columns - label.length - figures.length - 4);
      if (f >= 0 && width >= MIN_BAR) {
        const n = Math.round(f * width);
        head = `[${'#'.repeat(n)}${'-'.repeat(width - n)}] `;
      }
      const line = `${label} ${head}${figures}`;
      stream.write(`\r${line.slice(0, columns)}\x1b[K`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
