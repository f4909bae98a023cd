/**
 * steady's live viewer: connects to the server's WebSocket on load, draws the original and the
 * stabilized preview on two canvases, plots the raw and smoothed camera path, shows the server's figures
 * and sends control messages. Reconnects with exponential backoff when the connection drops.
 *
 * Frames arrive faster than they may decode: only the newest undecoded frame is kept, so a slow page
 * skips frames instead of falling behind. Messages: docs/protocol.md.
 */
import { decodeFrameMessage, PROTOCOL_VERSION } from './protocol.js';

/** Samples of the camera path kept for the plot (10 s at 30 fps). */
const PLOT_SAMPLES = 300;
/** Reconnect delays: first, growth factor, most (ms). */
const BACKOFF_FIRST_MS = 500;
const BACKOFF_FACTOR = 2;
const BACKOFF_MAX_MS = 10_000;
/** How long an error message stays on screen, ms. */
const MESSAGE_MS = 5000;

const $ = (id) => document.getElementById(id);
const el = {
  status: $('status'),
  statusText: $('status-text'),
  videos: $('videos'),
  original: $('original'),
  stabilized: $('stabilized'),
  plot: $('plot'),
  fpsIn: $('fig-fps-in'),
  fpsOut: $('fig-fps-out'),
  fpsShown: $('fig-fps-shown'),
  dropped: $('fig-dropped'),
  latency: $('fig-latency'),
  cc: $('fig-cc'),
  smoothing: $('smoothing'),
  smoothingValue: $('smoothing-value'),
  zoom: $('zoom'),
  zoomValue: $('zoom-value'),
  border: $('border'),
  view: $('view'),
  pause: $('pause'),
  reset: $('reset'),
  message: $('message'),
};
const ctxOriginal = el.original.getContext('2d');
const ctxStabilized = el.stabilized.getContext('2d');
const ctxPlot = el.plot.getContext('2d');

/** Ring of path samples: raw x, y, angle and smoothed x, y, angle per frame. */
const plot = {
  raw: [new Float64Array(PLOT_SAMPLES), new Float64Array(PLOT_SAMPLES), new Float64Array(PLOT_SAMPLES)],
  smooth: [new Float64Array(PLOT_SAMPLES), new Float64Array(PLOT_SAMPLES), new Float64Array(PLOT_SAMPLES)],
  head: 0,
  count: 0,
  dirty: false,
};

const state = {
  ws: null,
  attempt: 0,
  reconnectTimer: 0,
  connected: false,
  viewMode: 'side-by-side',
  settings: null,
  hello: null,
  /** Newest frame not yet decoded (older undecoded frames are skipped). */
  pending: null,
  decoding: false,
  prevOriginal: null,
  prevStabilized: null,
  framesReceived: 0,
  framesDrawn: 0,
  framesSkipped: 0,
  protocolErrors: 0,
  lastSequence: -1,
  sequenceGaps: 0,
  lastHeader: null,
  lastStats: null,
  shownTimes: [],
  messageTimer: 0,
  ended: false,
};

function wsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

function setStatus(kind, text) {
  el.status.className = `status ${kind}`;
  el.statusText.textContent = text;
}

function showMessage(text) {
  el.message.textContent = text;
  clearTimeout(state.messageTimer);
  state.messageTimer = setTimeout(() => {
    el.message.textContent = '';
  }, MESSAGE_MS);
}

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(message));
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Connection

function connect() {
  clearTimeout(state.reconnectTimer);
  setStatus('connecting', state.attempt === 0 ? 'connecting…' : `reconnecting (attempt ${state.attempt + 1})…`);
  const ws = new WebSocket(wsUrl());
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  ws.onopen = () => {
    state.connected = true;
    state.ended = false;
    setStatus('live', 'live');
  };
  ws.onmessage = (event) => {
    if (typeof event.data === 'string') onJson(event.data);
    else onFrame(event.data);
  };
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    state.connected = false;
    state.ws = null;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * BACKOFF_FACTOR ** state.attempt) * (0.75 + 0.5 * Math.random());
    state.attempt++;
    const why = state.ended ? 'source ended' : event.reason || (event.code === 1006 ? 'connection lost' : `closed (${event.code})`);
    setStatus('closed', `${why}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    state.reconnectTimer = setTimeout(connect, delay);
  };
}

function onJson(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    return;
  }
  switch (m.type) {
    case 'hello':
      state.hello = m;
      state.attempt = 0;
      if (m.protocolVersion !== PROTOCOL_VERSION) showMessage(`server speaks protocol ${m.protocolVersion}, this page ${PROTOCOL_VERSION}`);
      applySettings(m.settings);
      break;
    case 'settings':
      applySettings(m.settings);
      break;
    case 'stats':
      state.lastStats = m;
      showStats(m);
      break;
    case 'view':
      setViewMode(m.mode);
      break;
    case 'error':
      showMessage(`${m.code}: ${m.message}`);
      break;
    case 'end':
      state.ended = true;
      setStatus('closed', `source ended after ${m.frames} frames`);
      break;
  }
}

function applySettings(s) {
  if (!s) return;
  state.settings = s;
  if (document.activeElement !== el.smoothing) el.smoothing.value = String(s.smoothingRadius);
  el.smoothingValue.textContent = String(s.smoothingRadius);
  if (document.activeElement !== el.zoom) el.zoom.value = String(s.zoom);
  el.zoomValue.textContent = `${Number(s.zoom).toFixed(2)}×`;
  el.border.value = s.border;
  el.pause.textContent = s.paused ? 'resume' : 'pause';
  if (state.connected) setStatus(s.paused ? 'paused' : 'live', s.paused ? 'paused' : 'live');
}

function fmt(v, digits) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–';
}

function showStats(m) {
  el.fpsIn.textContent = fmt(m.fpsIn, 1);
  el.fpsOut.textContent = fmt(m.fpsOut, 1);
  el.dropped.textContent = String(m.droppedUpstream + m.droppedEncoder + m.droppedViewer + state.framesSkipped);
  el.dropped.title = `upstream ${m.droppedUpstream}, encoder ${m.droppedEncoder}, this viewer ${m.droppedViewer}, skipped by the page ${state.framesSkipped}`;
  el.latency.textContent = `${fmt(m.latencyMedianMs, 0)} / ${fmt(m.latencyP95Ms, 0)}`;
  el.latency.title = 'ms, median / 95th percentile, from leaving the decoder to being sent';
  el.cc.textContent = m.cc === null ? '–' : fmt(m.cc, 3);
}

// ---------------------------------------------------------------------------------------------------
// Frames

function onFrame(buffer) {
  let message;
  try {
    message = decodeFrameMessage(buffer);
  } catch (err) {
    state.protocolErrors++;
    showMessage(err.message);
    return;
  }
  const h = message.header;
  state.framesReceived++;
  if (state.lastSequence >= 0 && h.sequence !== state.lastSequence + 1) state.sequenceGaps++;
  state.lastSequence = h.sequence;
  pushPath(h);
  if (state.pending !== null) state.framesSkipped++;
  state.pending = message;
  if (!state.decoding) void decodeLoop();
}

async function decodeLoop() {
  state.decoding = true;
  try {
    while (state.pending !== null) {
      const m = state.pending;
      state.pending = null;
      let a;
      let b;
      try {
        [a, b] = await Promise.all([
          createImageBitmap(new Blob([m.original], { type: 'image/jpeg' })),
          createImageBitmap(new Blob([m.stabilized], { type: 'image/jpeg' })),
        ]);
      } catch (err) {
        showMessage(`could not decode a preview image: ${err.message}`);
        continue;
      }
      draw(m.header, a, b);
    }
  } finally {
    state.decoding = false;
  }
}

function fitCanvas(canvas, w, h) {
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
}

function drawOne(ctx, current, previous) {
  ctx.globalCompositeOperation = 'copy';
  if (state.viewMode === 'difference' && previous) {
    // |current - previous| per channel: dark where nothing moved, bright where it did.
    ctx.drawImage(previous, 0, 0);
    ctx.globalCompositeOperation = 'difference';
  }
  ctx.drawImage(current, 0, 0);
  ctx.globalCompositeOperation = 'source-over';
}

function draw(header, original, stabilized) {
  fitCanvas(el.original, original.width, original.height);
  fitCanvas(el.stabilized, stabilized.width, stabilized.height);
  if (state.viewMode !== 'stabilized') drawOne(ctxOriginal, original, state.prevOriginal);
  drawOne(ctxStabilized, stabilized, state.prevStabilized);
  state.prevOriginal?.close();
  state.prevStabilized?.close();
  state.prevOriginal = original;
  state.prevStabilized = stabilized;
  state.framesDrawn++;
  state.lastHeader = header;
  const now = performance.now();
  state.shownTimes.push(now);
  while (state.shownTimes.length > 0 && now - state.shownTimes[0] > 1000) state.shownTimes.shift();
  el.fpsShown.textContent = String(state.shownTimes.length);
  if (!state.lastStats) el.cc.textContent = Number.isNaN(header.cc) ? '–' : header.cc.toFixed(3);
}

// ---------------------------------------------------------------------------------------------------
// Camera path plot

function pushPath(h) {
  const i = plot.head;
  for (let c = 0; c < 3; c++) {
    plot.raw[c][i] = c === 2 ? (h.path[c] * 180) / Math.PI : h.path[c];
    plot.smooth[c][i] = c === 2 ? (h.smoothedPath[c] * 180) / Math.PI : h.smoothedPath[c];
  }
  plot.head = (i + 1) % PLOT_SAMPLES;
  plot.count = Math.min(PLOT_SAMPLES, plot.count + 1);
  if (!plot.dirty) {
    plot.dirty = true;
    requestAnimationFrame(drawPlot);
  }
}

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function drawPlot() {
  plot.dirty = false;
  const ctx = ctxPlot;
  const W = el.plot.width;
  const H = el.plot.height;
  ctx.clearRect(0, 0, W, H);
  const rows = [
    ['x', 'px'],
    ['y', 'px'],
    ['angle', '°'],
  ];
  const rowH = H / rows.length;
  const left = 64;
  const n = plot.count;
  ctx.font = '12px system-ui, sans-serif';
  for (let r = 0; r < rows.length; r++) {
    const top = r * rowH + 6;
    const h = rowH - 12;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const idx = (plot.head - n + k + PLOT_SAMPLES) % PLOT_SAMPLES;
      lo = Math.min(lo, plot.raw[r][idx], plot.smooth[r][idx]);
      hi = Math.max(hi, plot.raw[r][idx], plot.smooth[r][idx]);
    }
    if (!(hi >= lo)) {
      lo = -1;
      hi = 1;
    }
    const pad = Math.max((hi - lo) * 0.1, r === 2 ? 0.05 : 0.5);
    lo -= pad;
    hi += pad;
    ctx.strokeStyle = css('--line');
    ctx.lineWidth = 1;
    ctx.strokeRect(left + 0.5, top + 0.5, W - left - 8, h);
    ctx.fillStyle = css('--muted');
    ctx.fillText(`${rows[r][0]} (${rows[r][1]})`, 6, top + 14);
    ctx.fillText(hi.toFixed(r === 2 ? 2 : 1), 6, top + 32);
    ctx.fillText(lo.toFixed(r === 2 ? 2 : 1), 6, top + h - 2);
    const xOf = (k) => left + ((W - left - 8) * k) / (PLOT_SAMPLES - 1);
    const yOf = (v) => top + h - ((v - lo) / (hi - lo)) * h;
    for (const [series, color, width] of [
      [plot.raw[r], css('--raw'), 1.2],
      [plot.smooth[r], css('--smooth'), 2.2],
    ]) {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      for (let k = 0; k < n; k++) {
        const idx = (plot.head - n + k + PLOT_SAMPLES) % PLOT_SAMPLES;
        const x = xOf(PLOT_SAMPLES - n + k);
        const y = yOf(series[idx]);
        if (k === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Controls

function setViewMode(mode) {
  state.viewMode = mode;
  el.view.value = mode;
  el.videos.className = `videos ${mode}`;
}

el.smoothing.addEventListener('input', () => {
  el.smoothingValue.textContent = el.smoothing.value;
});
el.smoothing.addEventListener('change', () => send({ type: 'smoothing', radius: Number(el.smoothing.value) }));
el.zoom.addEventListener('input', () => {
  el.zoomValue.textContent = `${Number(el.zoom.value).toFixed(2)}×`;
});
el.zoom.addEventListener('change', () => send({ type: 'zoom', zoom: Number(el.zoom.value) }));
el.border.addEventListener('change', () => send({ type: 'border', mode: el.border.value }));
el.view.addEventListener('change', () => {
  // The view is drawn here; the server confirms it (and would refuse an unknown one).
  setViewMode(el.view.value);
  send({ type: 'view', mode: el.view.value });
});
el.pause.addEventListener('click', () => send({ type: state.settings?.paused ? 'resume' : 'pause' }));
el.reset.addEventListener('click', () => send({ type: 'reset' }));
document.getElementById('controls').addEventListener('submit', (e) => e.preventDefault());

/** Read-only state for diagnostics and automated checks. */
window.steadyViewer = {
  get framesReceived() {
    return state.framesReceived;
  },
  get framesDrawn() {
    return state.framesDrawn;
  },
  get framesSkipped() {
    return state.framesSkipped;
  },
  get sequenceGaps() {
    return state.sequenceGaps;
  },
  get protocolErrors() {
    return state.protocolErrors;
  },
  get connected() {
    return state.connected;
  },
  get viewMode() {
    return state.viewMode;
  },
  get settings() {
    return state.settings;
  },
  get lastHeader() {
    return state.lastHeader;
  },
  get lastStats() {
    return state.lastStats;
  },
  get plotSamples() {
    return plot.count;
  },
  send,
};

drawPlot();
connect();
