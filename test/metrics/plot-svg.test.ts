import { describe, expect, it } from 'vitest';
import { niceTicks, renderMotionPlotSvg, renderPlotSvg } from '../../src/metrics/plot-svg.js';
import { createRng, gaussian } from '../support/track-rng.js';

/** Every opened element is closed, in order (a small well-formedness check). */
function expectBalancedTags(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose) continue;
    if (close) expect(stack.pop()).toBe(name);
    else stack.push(name as string);
  }
  expect(stack).toEqual([]);
}

describe('SVG motion plot', () => {
  it('picks 1-2-5 tick steps that cover the range', () => {
    for (const [lo, hi] of [
      [0, 10],
      [-3.3, 7.1],
      [0.91, 1],
      [-0.02, 0.013],
      [5, 5],
    ] as const) {
      const { step, ticks } = niceTicks(lo, hi, 5);
      const mant = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
      expect([1, 2, 5, 10].some((m) => Math.abs(mant - m) < 1e-9)).toBe(true);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < ticks.length; i++) expect((ticks[i] as number) - (ticks[i - 1] as number)).toBeCloseTo(step, 9);
    }
  });

  it('draws x, y, angle and cc panels with legends, escaped text and balanced tags', () => {
    const n = 200;
    const rng = createRng(1);
    const raw = { x: new Float64Array(n), y: new Float64Array(n), angle: new Float64Array(n) };
    for (let i = 1; i < n; i++) {
      raw.x[i] = (raw.x[i - 1] as number) + gaussian(rng);
      raw.y[i] = (raw.y[i - 1] as number) + gaussian(rng);
      raw.angle[i] = (raw.angle[i - 1] as number) + 0.001 * gaussian(rng);
    }
    const cc = Float64Array.from({ length: n }, (_, i) => (i === 50 ? Number.NaN : 0.95 + 0.01 * Math.sin(i)));
    const svg = renderMotionPlotSvg({
      title: 'clip <a&b>',
      subtitle: 'itf 30 dB',
      fps: 30,
      paths: [
        { label: 'raw', path: raw },
        { label: 'smoothed', path: { x: raw.x.map(() => 0), y: raw.y.map(() => 0), angle: raw.angle.map(() => 0) }, dashed: true },
      ],
      cc: [{ label: 'cc', values: cc }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('clip &lt;a&amp;b&gt;');
    for (const t of ['camera path x', 'camera path y', 'camera angle (deg)', 'registration correlation', 'time (s)', '>raw<', '>smoothed<']) expect(svg).toContain(t);
    expect(svg).not.toContain('NaN');
    expectBalancedTags(svg);
    // The NaN leaves a gap: the cc line is two pieces (two "M" moves).
    const ccPath = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1] as string).at(-1) as string;
    expect(ccPath.match(/M/g)?.length).toBe(2);
  });

  it('keeps a one-frame spike visible when a long clip is drawn as a min/max envelope', () => {
    const n = 20000;
    const v = new Float64Array(n);
    v[12345] = 10;
    const panelHeight = 170;
    const svg = renderPlotSvg({ title: 't', fps: 30, panelHeightPx: panelHeight, panels: [{ title: 'x', unit: 'px', range: [0, 10], series: [{ label: 's', values: v }] }] });
    const d = (svg.match(/<path d="([^"]+)"/) as RegExpMatchArray)[1] as string;
    const ys = [...d.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]));
    // Panel top is at HEADER (52) + 16 = 68: the value 10 (the range top) sits exactly there.
    const TOP_Y = 68;
    expect(Math.min(...ys)).toBeCloseTo(TOP_Y, 1);
    expect(ys.length).toBeLessThan(4 * 900);
  });
});
