/**
 * The `steady-motion` file, version 1: the motion steady found in a clip, as data. Written by
 * `steady track -o` and `steady stabilize --transforms`, read back by `--transforms-in`.
 *
 * Conventions (docs/motion-format.md): all matrices are 3x3 row-major in input pixel coordinates,
 * pixel centres at integer coordinates. `motion` maps pixel coordinates of frame k-1 to frame k
 * (identity for frame 0); `fromReference` maps the reference frame `referenceIndex` to frame k;
 * `correction` maps output pixel coordinates to input pixel coordinates (the inverse map a warp
 * uses). `path`/`smoothedPath` are [x px, y px, angle rad] of the image centre; `zoom` is a factor.
 * `roi` holds a tracked region's corners in frame k (top-left, top-right, bottom-right,
 * bottom-left) or null when it was lost.
 *
 * Two encodings with the same field names: JSON (one object; one frame per line so a long file
 * streams and diffs well) and CSV (one row per frame, matrices flattened row-major as
 * `motion_m00`..`motion_m22`, paths as `path_x`, `path_y`, `path_angle`, corners as
 * `roi_x0`, `roi_y0` .. `roi_x3`, `roi_y3`; `width`, `height`, `fps` repeated on every row so any
 * CSV reader takes the file as it is). Numbers are written with full precision (shortest text that
 * reads back to the same double), so a file read back gives the same matrices.
 *
 * This module only turns values into text and back; files are opened by the callers.
 */
import { InputError } from '../errors.js';
import type { Mat3 } from '../motion/mat3.js';

/** The `format` field of every steady motion file. */
export const MOTION_FORMAT = 'steady-motion';
/** The version this code writes and reads. */
export const MOTION_FORMAT_VERSION = 1;

/** What happened to a tracked region in one frame. */
export type RoiStatus = 'tracked' | 'lost' | 'recovered' | 'before';
/** The statuses, in the order the docs list them. */
export const ROI_STATUSES: readonly RoiStatus[] = ['tracked', 'lost', 'recovered', 'before'];

/** Four corners [x px, y px]: top-left, top-right, bottom-right, bottom-left (of the region as chosen). */
export type Corners = readonly [
  readonly [number, number],
  readonly [number, number],
  readonly [number, number],
  readonly [number, number],
];

/** A 3-vector [x px, y px, angle rad]. */
export type PathPoint = readonly [number, number, number];

/**
 * One frame of a motion file. `FrameMotion` (stabilize/frame-types.ts) is assignable to it: the
 * stabilizer hands its frames to the writer as they are.
 */
export interface MotionRecord {
  /** 0-based frame index. */
  readonly index: number;
  /** Seconds from the first frame (written as `time`). */
  readonly timeSec: number;
  /** Registration succeeded for this frame. */
  readonly ok: boolean;
  /** Correlation coefficient of the registration, -1..1 (NaN when none: written as null). */
  readonly cc: number;
  /** Frame k-1 to frame k pixel coordinates (identity for frame 0). */
  readonly motion: Mat3;
  /** Reference frame to frame k pixel coordinates. */
  readonly fromReference: Mat3;
  /** Index of the reference frame of `fromReference`. */
  readonly referenceIndex: number;
  /** Raw camera path of the image centre [x px, y px, angle rad] (stabilization only). */
  readonly path?: PathPoint;
  /** Smoothed camera path (stabilization only). */
  readonly smoothedPath?: PathPoint;
  /** Output to input pixel coordinates (stabilization only). */
  readonly correction?: Mat3;
  /** Zoom factor, 1 = none (stabilization only). */
  readonly zoom?: number;
  /** Tracked region corners in this frame, null when lost (tracking only). */
  readonly roi?: Corners | null;
  /** Tracking status of the region (tracking only). */
  readonly roiStatus?: RoiStatus;
}

/** What a motion file says about the whole clip. */
export interface MotionFileHeader {
  /** Input width, px. */
  readonly width: number;
  /** Input height, px. */
  readonly height: number;
  /** Frames per second of the input (0 when unknown). */
  readonly fps: number;
}

/** A whole motion file. */
export interface MotionFile extends MotionFileHeader {
  readonly frames: readonly MotionRecord[];
}

/** The two encodings. */
export type MotionFileFormat = 'json' | 'csv';

/** Which optional groups of fields a file carries (CSV needs to know before the first row). */
export interface MotionFileFields {
  /** `path`, `smoothedPath`, `correction`, `zoom`. @default false */
  readonly stabilization?: boolean;
  /** `roi`, `roiStatus`. @default false */
  readonly roi?: boolean;
}

/** `.csv` (any case) means CSV; everything else JSON. */
export function motionFormatFromPath(path: string): MotionFileFormat {
  return /\.csv$/i.test(path) ? 'csv' : 'json';
}

const MATRIX_SUFFIXES = ['m00', 'm01', 'm02', 'm10', 'm11', 'm12', 'm20', 'm21', 'm22'] as const;
const PATH_SUFFIXES = ['x', 'y', 'angle'] as const;

function matrixColumns(name: string): string[] {
  return MATRIX_SUFFIXES.map((s) => `${name}_${s}`);
}
function pathColumns(name: string): string[] {
  return PATH_SUFFIXES.map((s) => `${name}_${s}`);
}
const ROI_COLUMNS = ['roi_x0', 'roi_y0', 'roi_x1', 'roi_y1', 'roi_x2', 'roi_y2', 'roi_x3', 'roi_y3'];

/** CSV column names for the given field groups, in file order. */
export function motionCsvColumns(fields: MotionFileFields = {}): string[] {
  const cols = ['index', 'time', 'ok', 'cc', ...matrixColumns('motion'), ...matrixColumns('fromReference'), 'referenceIndex'];
  if (fields.stabilization) cols.push(...pathColumns('path'), ...pathColumns('smoothedPath'), ...matrixColumns('correction'), 'zoom');
  if (fields.roi) cols.push(...ROI_COLUMNS, 'roiStatus');
  cols.push('width', 'height', 'fps');
  return cols;
}

/** A finite number as its shortest exact text; NaN/Infinity (not JSON) as null. */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}
function csvNum(x: number): string {
  return Number.isFinite(x) ? String(x) : '';
}
function matrixJson(m: Mat3): string {
  return `[[${num(m[0] as number)},${num(m[1] as number)},${num(m[2] as number)}],[${num(m[3] as number)},${num(m[4] as number)},${num(m[5] as number)}],[${num(m[6] as number)},${num(m[7] as number)},${num(m[8] as number)}]]`;
}

/**
 * Writes a motion file piece by piece, so a long clip never holds all its frames as text:
 * `begin()`, then `encodeFrame()` per frame in order, then `end()`; concatenate the strings.
 */
export class MotionFileEncoder {
  readonly format: MotionFileFormat;
  readonly header: MotionFileHeader;
  readonly fields: Required<MotionFileFields>;
  private count = 0;

  constructor(header: MotionFileHeader, format: MotionFileFormat, fields: MotionFileFields = {}) {
    this.header = { width: header.width, height: header.height, fps: header.fps };
    this.format = format;
    this.fields = { stabilization: fields.stabilization ?? false, roi: fields.roi ?? false };
  }

  /** The text before the first frame. */
  begin(): string {
    const { width, height, fps } = this.header;
    if (this.format === 'csv') return `${motionCsvColumns(this.fields).join(',')}\n`;
    return `{"format":"${MOTION_FORMAT}","version":${MOTION_FORMAT_VERSION},"width":${width},"height":${height},"fps":${num(fps)},"frames":[\n`;
  }

  /** The text of one frame. JSON writes whichever optional fields the record has; CSV the declared groups. */
  encodeFrame(r: MotionRecord): string {
    const first = this.count === 0;
    this.count++;
    return this.format === 'csv' ? this.csvRow(r) : `${first ? '' : ',\n'}${this.jsonFrame(r)}`;
  }

  /** The text after the last frame. */
  end(): string {
    return this.format === 'csv' ? '' : `${this.count > 0 ? '\n' : ''}]}\n`;
  }

  private jsonFrame(r: MotionRecord): string {
    let s = `{"index":${r.index},"time":${num(r.timeSec)},"ok":${r.ok},"cc":${num(r.cc)},"motion":${matrixJson(r.motion)},"fromReference":${matrixJson(r.fromReference)},"referenceIndex":${r.referenceIndex}`;
    if (r.path) s += `,"path":[${r.path.map(num).join(',')}]`;
    if (r.smoothedPath) s += `,"smoothedPath":[${r.smoothedPath.map(num).join(',')}]`;
    if (r.correction) s += `,"correction":${matrixJson(r.correction)}`;
    if (r.zoom !== undefined) s += `,"zoom":${num(r.zoom)}`;
    if (r.roi !== undefined) s += `,"roi":${r.roi === null ? 'null' : `[${r.roi.map((p) => `[${num(p[0])},${num(p[1])}]`).join(',')}]`}`;
    if (r.roiStatus !== undefined) s += `,"roiStatus":"${r.roiStatus}"`;
    return `${s}}`;
  }

  private csvRow(r: MotionRecord): string {
    const cells: string[] = [String(r.index), csvNum(r.timeSec), String(r.ok), csvNum(r.cc)];
    for (let i = 0; i < 9; i++) cells.push(csvNum(r.motion[i] as number));
    for (let i = 0; i < 9; i++) cells.push(csvNum(r.fromReference[i] as number));
    cells.push(String(r.referenceIndex));
    if (this.fields.stabilization) {
      for (let i = 0; i < 3; i++) cells.push(r.path ? csvNum(r.path[i] as number) : '');
      for (let i = 0; i < 3; i++) cells.push(r.smoothedPath ? csvNum(r.smoothedPath[i] as number) : '');
      for (let i = 0; i < 9; i++) cells.push(r.correction ? csvNum(r.correction[i] as number) : '');
      cells.push(r.zoom !== undefined ? csvNum(r.zoom) : '');
    }
    if (this.fields.roi) {
      for (let c = 0; c < 4; c++) {
        const p = r.roi ? r.roi[c] : undefined;
        cells.push(p ? csvNum(p[0]) : '', p ? csvNum(p[1]) : '');
      }
      cells.push(r.roiStatus ?? '');
    }
    cells.push(String(this.header.width), String(this.header.height), csvNum(this.header.fps));
    return `${cells.join(',')}\n`;
  }
}

/** Which optional field groups the frames carry. */
export function motionFieldsOf(frames: readonly MotionRecord[]): Required<MotionFileFields> {
  return {
    stabilization: frames.some((f) => f.path !== undefined || f.correction !== undefined || f.zoom !== undefined || f.smoothedPath !== undefined),
    roi: frames.some((f) => f.roi !== undefined || f.roiStatus !== undefined),
  };
}

/** The whole file as text. */
export function formatMotionFile(file: MotionFile, format: MotionFileFormat): string {
  const enc = new MotionFileEncoder(file, format, motionFieldsOf(file.frames));
  const parts = [enc.begin()];
  for (const f of file.frames) parts.push(enc.encodeFrame(f));
  parts.push(enc.end());
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Reading (validated: a file from elsewhere is input, and `--transforms-in` trusts what it gets).

function bad(source: string, where: string, message: string): never {
  throw new InputError('E_BAD_MOTION_FILE', `${source}: ${where}${where ? ': ' : ''}${message}`);
}

function show(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function readMatrix(source: string, where: string, name: string, v: unknown): Mat3 {
  const ok = Array.isArray(v) && v.length === 3 && v.every((row) => Array.isArray(row) && row.length === 3 && row.every((x) => typeof x === 'number' && Number.isFinite(x)));
  if (!ok) bad(source, where, `expected "${name}" as a 3x3 matrix of finite numbers ([[a,b,c],[d,e,f],[g,h,i]]) but received ${show(v)}`);
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) out[r * 3 + c] = (v as number[][])[r]?.[c] as number;
  return out;
}

function readPath(source: string, where: string, name: string, v: unknown): PathPoint {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    bad(source, where, `expected "${name}" as [x, y, angleRad] (3 finite numbers) but received ${show(v)}`);
  }
  return [v[0] as number, v[1] as number, v[2] as number];
}

function readCorners(source: string, where: string, v: unknown): Corners | null {
  if (v === null) return null;
  const ok = Array.isArray(v) && v.length === 4 && v.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number' && Number.isFinite(x)));
  if (!ok) bad(source, where, `expected "roi" as null or 4 corners [[x,y],[x,y],[x,y],[x,y]] but received ${show(v)}`);
  const p = v as number[][];
  return [
    [p[0]?.[0] as number, p[0]?.[1] as number],
    [p[1]?.[0] as number, p[1]?.[1] as number],
    [p[2]?.[0] as number, p[2]?.[1] as number],
    [p[3]?.[0] as number, p[3]?.[1] as number],
  ];
}

function readHeader(source: string, width: unknown, height: unknown, fps: unknown): MotionFileHeader {
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1) bad(source, '', `expected "width" as a positive integer but received ${show(width)}`);
  if (typeof height !== 'number' || !Number.isInteger(height) || height < 1) bad(source, '', `expected "height" as a positive integer but received ${show(height)}`);
  if (typeof fps !== 'number' || !Number.isFinite(fps) || fps < 0) bad(source, '', `expected "fps" as a number >= 0 but received ${show(fps)}`);
  return { width, height, fps };
}

/** Checks one frame object (JSON shape) and converts it to a record. */
function readFrame(source: string, k: number, v: unknown, expectIndex: number): MotionRecord {
  const where = `frame ${k}`;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(source, where, `expected an object but received ${show(v)}`);
  const o = v as Record<string, unknown>;
  const index = o.index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index !== expectIndex) {
    bad(source, where, `expected "index" ${expectIndex} (frames in order, one per index) but received ${show(index)}`);
  }
  const time = o.time;
  if (typeof time !== 'number' || !Number.isFinite(time)) bad(source, where, `expected "time" as a number of seconds but received ${show(time)}`);
  if (typeof o.ok !== 'boolean') bad(source, where, `expected "ok" as true or false but received ${show(o.ok)}`);
  const cc = o.cc === null ? Number.NaN : o.cc;
  if (typeof cc !== 'number' || (Number.isFinite(cc) && (cc < -1.000001 || cc > 1.000001))) {
    bad(source, where, `expected "cc" as a number -1..1 or null but received ${show(o.cc)}`);
  }
  const motion = readMatrix(source, where, 'motion', o.motion);
  const fromReference = readMatrix(source, where, 'fromReference', o.fromReference);
  const ref = o.referenceIndex;
  if (typeof ref !== 'number' || !Number.isInteger(ref) || ref < 0 || ref > index) {
    bad(source, where, `expected "referenceIndex" as an integer 0..${index} (a frame at or before this one) but received ${show(ref)}`);
  }
  const rec: {
    -readonly [K in keyof MotionRecord]: MotionRecord[K];
  } = { index, timeSec: time, ok: o.ok, cc, motion, fromReference, referenceIndex: ref };
  if (o.path !== undefined) rec.path = readPath(source, where, 'path', o.path);
  if (o.smoothedPath !== undefined) rec.smoothedPath = readPath(source, where, 'smoothedPath', o.smoothedPath);
  if (o.correction !== undefined) rec.correction = readMatrix(source, where, 'correction', o.correction);
  if (o.zoom !== undefined) {
    if (typeof o.zoom !== 'number' || !Number.isFinite(o.zoom) || o.zoom <= 0) bad(source, where, `expected "zoom" as a positive factor (1 = none) but received ${show(o.zoom)}`);
    rec.zoom = o.zoom;
  }
  if (o.roi !== undefined) rec.roi = readCorners(source, where, o.roi);
  if (o.roiStatus !== undefined) {
    if (typeof o.roiStatus !== 'string' || !(ROI_STATUSES as readonly string[]).includes(o.roiStatus)) {
      bad(source, where, `expected "roiStatus" as one of ${ROI_STATUSES.join('|')} but received ${show(o.roiStatus)}`);
    }
    rec.roiStatus = o.roiStatus as RoiStatus;
  }
  return rec;
}

function parseJson(text: string, source: string): MotionFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    bad(source, '', `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) bad(source, '', 'expected a JSON object with "format":"steady-motion"');
  const o = doc as Record<string, unknown>;
  if (o.format !== MOTION_FORMAT) bad(source, '', `expected "format":"${MOTION_FORMAT}" but received ${show(o.format)}`);
  if (o.version !== MOTION_FORMAT_VERSION) {
    bad(source, '', `expected "version":${MOTION_FORMAT_VERSION} but received ${show(o.version)}${typeof o.version === 'number' && o.version > MOTION_FORMAT_VERSION ? ' (written by a newer steady; update steady to read it)' : ''}`);
  }
  const header = readHeader(source, o.width, o.height, o.fps);
  if (!Array.isArray(o.frames)) bad(source, '', `expected "frames" as an array but received ${show(o.frames)}`);
  const frames: MotionRecord[] = [];
  const first = (o.frames[0] as { index?: unknown } | undefined)?.index;
  const start = typeof first === 'number' && Number.isInteger(first) && first >= 0 ? first : 0;
  for (let k = 0; k < o.frames.length; k++) frames.push(readFrame(source, k, o.frames[k], start + k));
  return { ...header, frames };
}

/** Splits one CSV line (no quoting is ever written; quoted cells are still read). */
function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function parseCsv(text: string, source: string): MotionFile {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const headerLine = lines[0];
  if (headerLine === undefined) bad(source, '', 'empty file');
  const names = splitCsvLine(headerLine).map((s) => s.trim());
  const col = new Map(names.map((n, i) => [n, i]));
  const required = ['index', 'time', 'ok', 'cc', ...matrixColumns('motion'), ...matrixColumns('fromReference'), 'referenceIndex', 'width', 'height', 'fps'];
  const missing = required.filter((n) => !col.has(n));
  if (missing.length > 0) bad(source, '', `not a steady-motion CSV: missing column${missing.length > 1 ? 's' : ''} ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''}`);
  const has = (n: string) => col.has(n);
  const hasStab = has('path_x');
  const hasRoi = has('roiStatus');
  let header: MotionFileHeader | null = null;
  const frames: MotionRecord[] = [];
  for (let k = 1; k < lines.length; k++) {
    const cells = splitCsvLine(lines[k] as string);
    const line = `line ${k + 1}`;
    if (cells.length !== names.length) bad(source, line, `expected ${names.length} cells but received ${cells.length}`);
    const cell = (n: string) => (cells[col.get(n) as number] as string).trim();
    const number = (n: string, allowEmpty = false): number => {
      const s = cell(n);
      if (s === '' && allowEmpty) return Number.NaN;
      const x = Number(s);
      if (s === '' || !Number.isFinite(x)) bad(source, line, `expected a number in column ${n} but received ${show(s)}`);
      return x;
    };
    const optional = (n: string): number | undefined => {
      const s = cell(n);
      return s === '' ? undefined : number(n);
    };
    const h = readHeader(source, number('width'), number('height'), number('fps'));
    if (header === null) header = h;
    else if (h.width !== header.width || h.height !== header.height || h.fps !== header.fps) {
      bad(source, line, `width/height/fps differ from the first row (${h.width}x${h.height} at ${h.fps} fps vs ${header.width}x${header.height} at ${header.fps} fps)`);
    }
    const okText = cell('ok');
    if (okText !== 'true' && okText !== 'false') bad(source, line, `expected true or false in column ok but received ${show(okText)}`);
    const rows = (name: string) => {
      const m: number[][] = [[], [], []];
      MATRIX_SUFFIXES.forEach((s, i) => {
        (m[Math.floor(i / 3)] as number[]).push(number(`${name}_${s}`));
      });
      return m;
    };
    const o: Record<string, unknown> = {
      index: number('index'),
      time: number('time'),
      ok: okText === 'true',
      cc: Number.isNaN(number('cc', true)) ? null : number('cc'),
      motion: rows('motion'),
      fromReference: rows('fromReference'),
      referenceIndex: number('referenceIndex'),
    };
    if (hasStab) {
      const px = optional('path_x');
      if (px !== undefined) o.path = PATH_SUFFIXES.map((s) => number(`path_${s}`));
      if (has('smoothedPath_x') && optional('smoothedPath_x') !== undefined) o.smoothedPath = PATH_SUFFIXES.map((s) => number(`smoothedPath_${s}`));
      if (has('correction_m00') && optional('correction_m00') !== undefined) o.correction = rows('correction');
      if (has('zoom')) {
        const z = optional('zoom');
        if (z !== undefined) o.zoom = z;
      }
    }
    if (hasRoi) {
      const status = cell('roiStatus');
      if (status !== '') o.roiStatus = status;
      if (has('roi_x0')) {
        const x0 = optional('roi_x0');
        o.roi = x0 === undefined ? null : [0, 1, 2, 3].map((c) => [number(`roi_x${c}`), number(`roi_y${c}`)]);
      }
    }
    const first = frames.length === 0 ? (o.index as number) : (frames[0] as MotionRecord).index;
    frames.push(readFrame(source, k - 1, o, first + frames.length));
  }
  if (header === null) bad(source, '', 'no frames (only a header row)');
  return { ...header, frames };
}

/**
 * Reads a motion file (JSON or CSV, recognised by its first character), checking every field.
 * Throws InputError `E_BAD_MOTION_FILE` naming `source`, the frame and the problem.
 */
export function parseMotionFile(text: string, source = 'motion file'): MotionFile {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (t === '') bad(source, '', 'empty file');
  return t.startsWith('{') ? parseJson(t, source) : parseCsv(t, source);
}
