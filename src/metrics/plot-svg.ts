/**
 * An SVG picture of a clip's camera path, so a person sees at a glance how shaky it was and how
 * steady it is now: stacked panels sharing one time axis (x px, y px, angle deg, and the per-frame
 * correlation coefficient of the registrations), each with line series (raw path, smoothed path...).
 *
 * Plain SVG 1.1 text, no script, no external fonts; any browser or `convert plot.svg plot.png` shows it.
 * Long clips are drawn with a min/max envelope per pixel column, so the shake stays visible and the
 * file stays small. NaN samples leave a gap in their line.
 */

/** One line in a panel. */
export interface PlotSeries {
  /** Legend text. */
  readonly label: string;
  /** One value per frame; NaN leaves a gap. */
  readonly values: ArrayLike<number>;
  /** CSS colour. @default a colour of the built-in palette by position */
  readonly color?: string;
  /** Stroke width, px. @default 1.25 */
  readonly widthPx?: number;
  /** Dashed line. @default false */
  readonly dashed?: boolean;
}

/** One panel: a quantity over time. */
export interface PlotPanel {
  /** Panel title, e.g. `x`. */
  readonly title: string;
  /** Unit shown on the axis, e.g. `px`. */
  readonly unit: string;
  readonly series: readonly PlotSeries[];
  /** Fixed value range [min, max]; @default fitted to the data with a margin */
  readonly range?: readonly [number, number];
}

/** A whole plot. */
export interface PlotSpec {
  /** Title line at the top. */
  readonly title: string;
  /** Second line (e.g. the metrics). @default none */
  readonly subtitle?: string;
  /** Frames per second: the time axis is in seconds; 0 puts frame numbers on it. */
  readonly fps: number;
  readonly panels: readonly PlotPanel[];
  /** Picture width, px. @default 960 */
  readonly widthPx?: number;
  /** Height of one panel, px. @default 170 */
  readonly panelHeightPx?: number;
}

const PALETTE = ['#c0392b', '#1f6fb2', '#2e8b57', '#8e44ad', '#d68910', '#555555'];
const MARGIN_LEFT = 70;
const MARGIN_RIGHT = 20;
const HEADER_PX = 52;
const PANEL_GAP_PX = 34;
const FOOTER_PX = 40;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short decimal text for a tick value. */
function tickText(v: number, step: number): string {
  const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  const s = v.toFixed(digits);
  return s === '-0' || /^-0\.0*$/.test(s) ? s.slice(1) : s;
}

/** "Nice" tick positions (1, 2, 5 x 10^k steps) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): { step: number; ticks: number[] } {
  if (!(hi > lo)) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return { step, ticks };
}

function dataRange(panel: PlotPanel): [number, number] {
  if (panel.range) return [panel.range[0], panel.range[1]];
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of panel.series) {
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i] as number;
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (!Number.isFinite(lo)) return [-1, 1];
  const pad = hi > lo ? 0.06 * (hi - lo) : Math.max(1e-3, Math.abs(lo) * 0.05);
  return [lo - pad, hi + pad];
}

/**
 * The polyline points of one series as SVG path data. With more samples than 2 per pixel column, each
 * column keeps its first, minimum, maximum and last sample, so peaks survive.
 */
function seriesPath(values: ArrayLike<number>, x0: number, plotW: number, yOf: (v: number) => number, n: number): string {
  const parts: string[] = [];
  let pen = false;
  const xOf = (i: number) => x0 + (n > 1 ? (i / (n - 1)) * plotW : plotW / 2);
  const put = (i: number, v: number) => {
    parts.push(`${pen ? 'L' : 'M'}${xOf(i).toFixed(1)} ${yOf(v).toFixed(1)}`);
    pen = true;
  };
  if (n <= 2 * plotW) {
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v)) put(i, v);
      else pen = false;
    }
    return parts.join('');
  }
  const cols = Math.ceil(plotW);
  for (let c = 0; c < cols; c++) {
    const a = Math.floor((c * n) / cols);
    const b = Math.floor(((c + 1) * n) / cols);
    let iMin = -1;
    let iMax = -1;
    let iFirst = -1;
    let iLast = -1;
    for (let i = a; i < b; i++) {
      const v = values[i] as number;
      if (!Number.isFinite(v)) {
        if (iFirst >= 0) {
          // A gap inside the column: draw what came before, then lift the pen.
          for (const k of [...new Set([iFirst, iMin, iMax, iLast])].sort((p, q) => p - q)) put(k, values[k] as number);
          iMin = iMax = iFirst = iLast = -1;
        }
        pen = false;
        continue;
      }
      if (iFirst < 0) iFirst = i;
      iLast = i;
      if (iMin < 0 || v < (values[iMin] as number)) iMin = i;
      if (iMax < 0 || v > (values[iMax] as number)) iMax = i;
    }
    if (iFirst >= 0) for (const k of [...new Set([iFirst, iMin, iMax, iLast])].sort((p, q) => p - q)) put(k, values[k] as number);
  }
  return parts.join('');
}

/** Renders the plot as an SVG document. */
export function renderPlotSvg(spec: PlotSpec): string {
  const width = spec.widthPx ?? 960;
  const panelH = spec.panelHeightPx ?? 170;
  const plotW = width - MARGIN_LEFT - MARGIN_RIGHT;
  const n = Math.max(0, ...spec.panels.flatMap((p) => p.series.map((s) => s.values.length)));
  const height = HEADER_PX + spec.panels.length * (panelH + PANEL_GAP_PX) + FOOTER_PX;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN_LEFT}" y="20" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  );
  if (spec.subtitle) out.push(`<text x="${MARGIN_LEFT}" y="38" fill="#333">${esc(spec.subtitle)}</text>`);

  // Time axis, shared by every panel.
  const duration = spec.fps > 0 ? Math.max(0, n - 1) / spec.fps : Math.max(0, n - 1);
  const timeTicks = niceTicks(0, duration > 0 ? duration : 1, Math.max(4, Math.round(plotW / 90)));
  const xOfTime = (t: number) => MARGIN_LEFT + (duration > 0 ? (t / duration) * plotW : 0);

  spec.panels.forEach((panel, pi) => {
    const top = HEADER_PX + pi * (panelH + PANEL_GAP_PX) + 16;
    const bottom = top + panelH - 16;
    const [lo, hi] = dataRange(panel);
    const yOf = (v: number) => bottom - ((v - lo) / (hi - lo || 1)) * (bottom - top);
    out.push(`<g>`);
    out.push(`<text x="${MARGIN_LEFT}" y="${top - 5}" font-weight="bold">${esc(panel.title)}${panel.unit ? ` (${esc(panel.unit)})` : ''}</text>`);
    out.push(`<rect x="${MARGIN_LEFT}" y="${top}" width="${plotW}" height="${bottom - top}" fill="#fbfbfb" stroke="#999" stroke-width="0.8"/>`);
    const yt = niceTicks(lo, hi, Math.max(2, Math.round((bottom - top) / 35)));
    for (const t of yt.ticks) {
      if (t < lo || t > hi) continue;
      const y = yOf(t).toFixed(1);
      out.push(`<line x1="${MARGIN_LEFT}" x2="${MARGIN_LEFT + plotW}" y1="${y}" y2="${y}" stroke="${t === 0 ? '#888' : '#e2e2e2'}" stroke-width="${t === 0 ? 0.9 : 0.7}"/>`);
      out.push(`<text x="${MARGIN_LEFT - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#444">${tickText(t, yt.step)}</text>`);
    }
    for (const t of timeTicks.ticks) {
      if (t > duration + 1e-9) continue;
      const x = xOfTime(t).toFixed(1);
      out.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}" stroke="#ececec" stroke-width="0.7"/>`);
    }
    panel.series.forEach((s, si) => {
      const color = s.color ?? PALETTE[si % PALETTE.length];
      const d = seriesPath(s.values, MARGIN_LEFT, plotW, yOf, s.values.length);
      if (d) {
        out.push(
          `<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.widthPx ?? 1.25}" stroke-linejoin="round"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
        );
      }
      // Legend, right-aligned above the panel.
      const lx = MARGIN_LEFT + plotW - (panel.series.length - si) * 230 + 10;
      out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${top - 9}" y2="${top - 9}" stroke="${color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
      out.push(`<text x="${lx + 27}" y="${top - 5}" fill="#222">${esc(s.label)}</text>`);
    });
    out.push(`</g>`);
  });

  const axisY = HEADER_PX + spec.panels.length * (panelH + PANEL_GAP_PX);
  for (const t of timeTicks.ticks) {
    if (t > duration + 1e-9) continue;
    out.push(`<text x="${xOfTime(t).toFixed(1)}" y="${axisY}" text-anchor="middle" fill="#444">${tickText(t, timeTicks.step)}</text>`);
  }
  out.push(`<text x="${MARGIN_LEFT + plotW / 2}" y="${axisY + 20}" text-anchor="middle" fill="#222">${spec.fps > 0 ? 'time (s)' : 'frame'}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** A camera path as three arrays (x px, y px, angle rad). */
export interface PathSeries {
  readonly x: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  readonly angle: ArrayLike<number>;
}

/** What the motion plot shows. */
export interface MotionPlotInput {
  readonly title: string;
  readonly subtitle?: string;
  /** Frames per second (0: frame numbers on the time axis). */
  readonly fps: number;
  /** Camera paths to draw, each with a legend label (first: the raw path; then smoothed / stabilized). */
  readonly paths: readonly { readonly label: string; readonly path: PathSeries; readonly color?: string; readonly dashed?: boolean }[];
  /** Per-frame correlation coefficients of the registrations, each with a label. */
  readonly cc: readonly { readonly label: string; readonly values: ArrayLike<number>; readonly color?: string }[];
}

/** The standard motion plot: x, y, angle (degrees) of each path over time, then the per-frame cc. */
export function renderMotionPlotSvg(input: MotionPlotInput): string {
  const pick = (k: 'x' | 'y' | 'angle', scale = 1) =>
    input.paths.map((p) => ({
      label: p.label,
      values: scale === 1 ? p.path[k] : Float64Array.from(p.path[k], (v) => v * scale),
      ...(p.color !== undefined ? { color: p.color } : {}),
      ...(p.dashed !== undefined ? { dashed: p.dashed } : {}),
    }));
  const panels: PlotPanel[] = [
    { title: 'camera path x', unit: 'px', series: pick('x') },
    { title: 'camera path y', unit: 'px', series: pick('y') },
    { title: 'camera angle', unit: 'deg', series: pick('angle', 180 / Math.PI) },
  ];
  if (input.cc.length > 0) {
    let lo = 1;
    for (const c of input.cc) for (let i = 0; i < c.values.length; i++) if (Number.isFinite(c.values[i] as number)) lo = Math.min(lo, c.values[i] as number);
    const floor = Math.max(-1, Math.min(0.9, lo - 0.05 * (1 - lo) - 0.005));
    panels.push({
      title: 'registration correlation (cc) per frame',
      unit: '',
      range: [floor, 1],
      series: input.cc.map((c) => ({ label: c.label, values: c.values, ...(c.color !== undefined ? { color: c.color } : {}) })),
    });
  }
  return renderPlotSvg({ title: input.title, ...(input.subtitle !== undefined ? { subtitle: input.subtitle } : {}), fps: input.fps, panels });
}
