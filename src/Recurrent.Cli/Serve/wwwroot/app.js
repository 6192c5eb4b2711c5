// recurrent serve: the page. Plain DOM, canvas and SVG; everything it loads comes from this server.
'use strict';

const $ = (id) => document.getElementById(id);
const S = {
  model: null,          // the model card (GET /api/model)
  inspect: null,        // the last /api/inspect answer
  inspectKey: '',       // what it was asked for
  target: '',           // the token whose log-probability the gradients are of ('' = the most likely)
  unit: 0,
  tab: 'hidden',
  span: null,           // {start, end}: the selected tokens for "find units"
  nextAbort: null, inspectAbort: null, genAbort: null,
  generated: '',
};

const GATE_TITLES = {
  i: 'input gate i', f: 'forget gate f', g: 'candidate g', o: 'output gate o',
  r: 'reset gate r', z: 'update gate z', n: 'candidate n', a: 'pre-activation a',
};

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function api(path, body, signal) {
  const init = body === undefined ? { signal } : {
    method: 'POST', signal, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) throw new ApiError((data && data.error) || response.statusText, response.status);
  return data;
}

function debounce(fn, ms) {
  let timer = 0;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- colours -------------------------------------------------------------------------------

function mix(a, b, t) { return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)); }
const BLUE = [59, 76, 192], WHITE = [247, 247, 247], RED = [180, 4, 38];
const PAPER = [255, 255, 255], NAVY = [8, 48, 107], ORANGE = [217, 72, 1];
/** −1 … 0 … +1 → blue, white, red. */
function diverging(v) {
  const x = Math.max(-1, Math.min(1, v));
  return x < 0 ? mix(WHITE, BLUE, -x) : mix(WHITE, RED, x);
}
/** 0 … 1 → white … navy (gates). */
function sequential(v) { return mix(PAPER, NAVY, Math.max(0, Math.min(1, v))); }
/** 0 … 1 → white … orange (surprisal, saliency, firing). */
function heat(v) { return mix(PAPER, ORANGE, Math.max(0, Math.min(1, v))); }
const css = (rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
const dark = (rgb) => 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 120;

// ---- tokens --------------------------------------------------------------------------------

const isWord = () => S.model && S.model.vocabulary_level === 'word';
/** A token as a label: spaces and line breaks made visible. */
function label(token) {
  if (token === '\n') return '⏎';
  if (token === ' ') return '␣';
  if (token === '\t') return '⇥';
  return token;
}

/** Tokens as coloured spans; colour(i) gives [r,g,b] or null, title(i) a tooltip. */
function colouredText(container, tokens, colour, title, classOf, oneLine = false) {
  container.replaceChildren();
  tokens.forEach((token, i) => {
    const rgb = colour(i);
    const span = el('span');
    span.dataset.index = i;
    if (token === '\n') { span.textContent = oneLine ? '⏎' : '⏎\n'; span.classList.add('nl'); }
    else span.textContent = isWord() ? token + ' ' : token;
    if (rgb) {
      span.style.background = css(rgb);
      if (dark(rgb)) span.style.color = '#fff';
    }
    if (title) span.title = title(i);
    if (classOf) { const c = classOf(i); if (c) span.classList.add(c); }
    container.append(span);
  });
}

// ---- type and predict ----------------------------------------------------------------------

function showTextError(message) {
  const box = $('text-error');
  box.textContent = message || '';
  box.hidden = !message;
}

async function updateNext() {
  const text = $('text').value;
  $('text-count').textContent = `${text.length} / ${S.model ? S.model.limits.max_text_chars : '…'} characters`;
  if (S.nextAbort) S.nextAbort.abort();
  const abort = S.nextAbort = new AbortController();
  try {
    const answer = await api('/api/next', { text, k: 10 }, abort.signal);
    showTextError('');
    const list = $('topk');
    list.replaceChildren();
    for (const { token, probability } of answer.tokens) {
      const item = el('li', { title: `p = ${probability.toFixed(4)}`, onclick: () => insertText(token) },
        el('span', { class: 'tok', text: label(token) }),
        el('span', { class: 'bar' }),
        el('span', { class: 'p', text: (probability * 100).toFixed(1) + '%' }));
      item.querySelector('.bar').style.width = Math.max(0.5, probability * 100) + '%';
      list.append(item);
    }
    list.dataset.context = text;
  } catch (e) {
    if (e.name === 'AbortError') return;
    showTextError(e.message);
    $('topk').replaceChildren();
  }
}

function insertText(piece) {
  const box = $('text');
  box.value += isWord() && box.value && !/\s$/.test(box.value) ? ' ' + piece : piece;
  textChanged();
}

const scheduleInspect = debounce(() => refreshInspect(), 350);
function textChanged() {
  updateNext();
  S.span = null;
  S.target = '';
  scheduleInspect();
}

// ---- generate ------------------------------------------------------------------------------

function number(id, fallback) {
  const v = Number($(id).value);
  return Number.isFinite(v) ? v : fallback;
}

async function generate() {
  if (S.genAbort) S.genAbort.abort();
  const abort = S.genAbort = new AbortController();
  const output = $('output');
  const text = $('text').value;
  output.replaceChildren(el('span', { class: 'prime', text }));
  const generated = document.createTextNode('');
  output.append(generated);
  S.generated = '';
  output.dataset.state = 'streaming';
  $('generate').disabled = true; $('stop').disabled = false; $('append').disabled = true;
  const status = $('gen-status');
  status.textContent = 'generating…';
  let count = 0;
  const started = performance.now();
  const body = {
    text, length: number('gen-length', 300), temperature: number('gen-temperature', 0.8),
    top_k: number('gen-topk', 0), top_p: number('gen-topp', 1), seed: number('gen-seed', 1),
  };
  try {
    const response = await fetch('/api/generate', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: abort.signal,
    });
    if (!response.ok) {
      let message = response.statusText;
      try { message = (await response.json()).error; } catch { /* not JSON */ }
      throw new ApiError(message, response.status);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block);
        const data = /^data: (.*)$/m.exec(block);
        if (!event || !data) continue;
        const payload = JSON.parse(data[1]);
        if (event[1] === 'token') {
          S.generated += payload.text;
          generated.appendData(payload.text);
          count++;
          if (count % 8 === 0) { status.textContent = `${count} tokens…`; output.scrollTop = output.scrollHeight; }
        } else if (event[1] === 'done') {
          const seconds = (performance.now() - started) / 1000;
          status.textContent = `${payload.tokens} tokens in ${seconds.toFixed(1)} s (${(payload.tokens / seconds).toFixed(0)} tokens/s)`;
          output.dataset.state = 'done';
        }
      }
    }
    if (output.dataset.state === 'streaming') { output.dataset.state = 'stopped'; status.textContent = `stopped by the server after ${count} tokens`; }
  } catch (e) {
    if (e.name === 'AbortError') { output.dataset.state = 'stopped'; status.textContent = `stopped after ${count} tokens`; }
    else { output.dataset.state = 'error'; status.textContent = e.message; }
  } finally {
    if (S.genAbort === abort) S.genAbort = null;
    output.scrollTop = output.scrollHeight;
    $('generate').disabled = false; $('stop').disabled = true; $('append').disabled = S.generated.length === 0;
  }
}

// ---- look inside ---------------------------------------------------------------------------

const INSPECT_TABS = new Set(['hidden', 'gates', 'units', 'gradients']);

function inspectRequest() {
  const body = { text: $('text').value, layer: Number($('layer').value), direction: Number($('direction').value) };
  if (S.target) body.target = S.target;
  return body;
}

async function refreshInspect() {
  if (!S.model || !INSPECT_TABS.has(S.tab)) return;
  const body = inspectRequest();
  const key = JSON.stringify(body);
  if (key === S.inspectKey && S.inspect) { renderTab(); return; }
  if (S.inspectAbort) S.inspectAbort.abort();
  const abort = S.inspectAbort = new AbortController();
  document.body.dataset.rendered = '';
  const status = $('inspect-status');
  status.textContent = 'reading…';
  const started = performance.now();
  try {
    S.inspect = await api('/api/inspect', body, abort.signal);
    S.inspectKey = key;
    status.textContent = `${S.inspect.steps} tokens, ${Math.round(performance.now() - started)} ms`;
    renderTab();
  } catch (e) {
    if (e.name === 'AbortError') return;
    S.inspect = null; S.inspectKey = '';
    status.textContent = e.message;
  }
}

function renderTab() {
  if (!S.inspect) return;
  const units = S.inspect.units;
  S.unit = Math.max(0, Math.min(units - 1, S.unit));
  $('unit').max = units - 1;
  $('unit').value = S.unit;
  if (S.tab === 'hidden') renderHidden();
  else if (S.tab === 'gates') renderGates();
  else if (S.tab === 'units') renderSpanText();
  else if (S.tab === 'gradients') renderGradients();
  document.body.dataset.rendered = S.tab;
}

/** Values [T, H] of unit j. */
function column(values, T, H, j) {
  const out = new Float32Array(T);
  for (let t = 0; t < T; t++) out[t] = values[t * H + j];
  return out;
}

/** Unit order for the heatmap: by index, or by variance over the text (most active first). */
function unitOrder(values, T, H) {
  const order = [...Array(H).keys()];
  if (!$('sort-units').checked) return order;
  const variance = order.map((j) => {
    let s = 0, s2 = 0;
    for (let t = 0; t < T; t++) { const v = values[t * H + j]; s += v; s2 += v * v; }
    return s2 / T - (s / T) ** 2;
  });
  return order.sort((a, b) => variance[b] - variance[a] || a - b);
}

/**
 * Draws values [T, H] as a heatmap on canvas: units as rows (in `order`), steps as columns, an
 * optional strip on top, token labels below when the columns are wide enough. Returns the geometry.
 */
function drawHeatmap(canvas, values, T, H, colour, options = {}) {
  const order = options.order || [...Array(H).keys()];
  const width = Math.max(200, (canvas.parentElement.clientWidth || 600) - 2);
  const cw = Math.max(3, Math.min(28, Math.floor(width / T)));
  const ch = options.rowHeight || Math.max(1, Math.min(10, Math.floor((options.height || 420) / H)));
  const stripH = options.strip ? 12 : 0, gap = options.strip ? 3 : 0;
  const labelH = options.labels && cw >= 7 ? 16 : 0;
  canvas.width = T * cw;
  canvas.height = stripH + gap + H * ch + labelH;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (options.strip) {
    for (let t = 0; t < T; t++) {
      const v = options.strip[t];
      ctx.fillStyle = v === null || v === undefined ? '#eee' : css(heat(v));
      ctx.fillRect(t * cw, 0, cw, stripH);
    }
  }
  const image = ctx.createImageData(T, H);
  for (let r = 0; r < H; r++) {
    const j = order[r];
    for (let t = 0; t < T; t++) {
      const rgb = colour(values[t * H + j]);
      const p = (r * T + t) * 4;
      image.data[p] = rgb[0]; image.data[p + 1] = rgb[1]; image.data[p + 2] = rgb[2]; image.data[p + 3] = 255;
    }
  }
  const small = document.createElement('canvas');
  small.width = T; small.height = H;
  small.getContext('2d').putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  const top = stripH + gap;
  ctx.drawImage(small, 0, 0, T, H, 0, top, T * cw, H * ch);
  if (options.selected !== undefined) {
    const r = order.indexOf(options.selected);
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 1;
    ctx.strokeRect(0.5, top + r * ch - 1.5, T * cw - 1, ch + 2);
  }
  if (labelH) {
    ctx.fillStyle = '#333';
    ctx.font = `${Math.min(13, cw + 1)}px "DejaVu Sans Mono", monospace`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    options.labels.forEach((token, t) => ctx.fillText(label(token).slice(0, 2), t * cw + cw / 2, top + H * ch + 2));
  }
  return { cw, ch, top, order, T, H };
}

function renderHidden() {
  const r = S.inspect;
  const T = r.steps, H = r.units;
  const order = unitOrder(r.hidden, T, H);
  const maxSurprisal = Math.max(1, ...r.surprisal.filter((s) => s !== null));
  const canvas = $('heatmap');
  const geometry = drawHeatmap(canvas, r.hidden, T, H, diverging, {
    order, selected: S.unit, labels: r.tokens, strip: r.surprisal.map((s) => (s === null ? null : s / maxSurprisal)),
  });
  canvas.onmousemove = (e) => {
    const t = Math.floor(e.offsetX / geometry.cw), row = Math.floor((e.offsetY - geometry.top) / geometry.ch);
    if (t < 0 || t >= T) return;
    if (row < 0 || row >= H) {
      const s = r.surprisal[t];
      $('heat-tip').textContent = `token ${t} “${label(r.tokens[t])}”: surprisal ${s === null ? '—' : s.toFixed(2) + ' nats'}`;
      return;
    }
    const j = geometry.order[row];
    $('heat-tip').textContent = `unit ${j}, token ${t} “${label(r.tokens[t])}”: h = ${r.hidden[t * H + j].toFixed(3)}`;
  };
  canvas.onclick = (e) => {
    const row = Math.floor((e.offsetY - geometry.top) / geometry.ch);
    if (row >= 0 && row < H) selectUnit(geometry.order[row]);
  };
  $('unit-name').textContent = S.unit;
  const values = column(r.hidden, T, H, S.unit);
  colouredText($('unit-text'), r.tokens, (t) => diverging(values[t]), (t) => `h = ${values[t].toFixed(3)}`);
}

function selectUnit(j) {
  S.unit = j;
  renderTab();
}

function renderGates() {
  const r = S.inspect;
  const T = r.steps, H = r.units;
  const names = Object.keys(r.gates);
  const hint = $('gates-hint');
  const strips = $('gate-strips');
  const maps = $('gate-maps');
  strips.replaceChildren();
  maps.replaceChildren();
  if (r.cell_type === 'lstm') hint.textContent = `LSTM, unit ${S.unit}: input, forget and output gates (0 … 1, white … navy), the cell state c (blue −, red +, scaled to its largest |c|) and h = o ⊙ tanh(c), per token. Below, each gate for every unit; the share of values under 0.1 or over 0.9 says how saturated it is.`;
  else if (r.cell_type === 'gru') hint.textContent = `GRU, unit ${S.unit}: reset gate r and update gate z (0 … 1), the candidate n and h = (1 − z) ⊙ n + z ⊙ h₋₁. z near 1 keeps the old state: that is how a GRU remembers. Below, each gate for every unit.`;
  else hint.textContent = `A vanilla RNN has no gates: h = g(a) with a = W_ih x + b_ih + W_hh h₋₁ + b_hh. Its pre-activation a is shown instead, scaled to its largest |a|.`;

  const strip = (title, values, colour, format) => {
    const box = el('div', { class: 'strip' }, el('div', { class: 'label', text: title }), el('div', { class: 'coloured' }));
    colouredText(box.lastChild, r.tokens, (t) => colour(values[t]), (t) => `${format(values[t])}`);
    box.dataset.gate = title;
    strips.append(box);
  };
  const maxAbs = (values) => Math.max(1e-6, ...values.map(Math.abs));
  const shown = r.cell_type === 'lstm' ? ['i', 'f', 'o'] : r.cell_type === 'gru' ? ['r', 'z'] : [];
  for (const name of shown) {
    const values = column(r.gates[name], T, H, S.unit);
    strip(GATE_TITLES[name], values, sequential, (v) => `${name} = ${v.toFixed(3)}`);
  }
  if (r.cell) {
    const c = [...column(r.cell, T, H, S.unit)];
    const scale = maxAbs(c);
    strip(`cell state c (|c| ≤ ${scale.toFixed(2)})`, c, (v) => diverging(v / scale), (v) => `c = ${v.toFixed(3)}`);
  }
  if (r.cell_type === 'gru') {
    const n = column(r.gates.n, T, H, S.unit);
    strip(GATE_TITLES.n, n, diverging, (v) => `n = ${v.toFixed(3)}`);
  }
  if (r.cell_type !== 'lstm' && r.cell_type !== 'gru') {
    const a = [...column(r.gates.a, T, H, S.unit)];
    const scale = maxAbs(a);
    strip(`pre-activation a (|a| ≤ ${scale.toFixed(2)})`, a, (v) => diverging(v / scale), (v) => `a = ${v.toFixed(3)}`);
  }
  const h = column(r.hidden, T, H, S.unit);
  strip('hidden state h', h, diverging, (v) => `h = ${v.toFixed(3)}`);

  for (const name of names) {
    const values = r.gates[name];
    const isGate = !(name === 'g' || name === 'n' || name === 'a');
    let low = 0, high = 0;
    for (const v of values) { if (v < 0.1) low++; if (v > 0.9) high++; }
    const scale = isGate ? 1 : Math.max(1e-6, ...Array.from(values, Math.abs));
    const saturation = isGate ? ` — ${(100 * low / values.length).toFixed(0)}% under 0.1, ${(100 * high / values.length).toFixed(0)}% over 0.9` : '';
    const canvas = el('canvas');
    const wrap = el('div', { class: 'strip' }, el('div', { class: 'label', text: `${GATE_TITLES[name] || name}, every unit${saturation}` }), el('div', { class: 'scroll' }, canvas));
    wrap.dataset.gateMap = name;
    maps.append(wrap);
    drawHeatmap(canvas, values, T, H, isGate ? sequential : (v) => diverging(v / scale), { height: 160, selected: S.unit });
  }
}

// ---- find units like this ------------------------------------------------------------------

function renderSpanText() {
  const r = S.inspect;
  colouredText($('span-text'), r.tokens, () => null, (t) => `token ${t}`);
  markSpan();
}

/** Marks the selected tokens (classes only: the spans stay, so a drag over them is not disturbed). */
function markSpan() {
  const r = S.inspect;
  for (const span of $('span-text').children) {
    const t = Number(span.dataset.index);
    span.classList.toggle('sel', !!S.span && t >= S.span.start && t < S.span.end);
  }
  $('span-label').textContent = S.span && r ? `span: tokens ${S.span.start}–${S.span.end - 1} “${r.tokens.slice(S.span.start, S.span.end).join(isWord() ? ' ' : '').replace(/\n/g, '⏎')}”` : 'no span selected';
}

function setupSpanDrag() {
  const box = $('span-text');
  let anchor = null;
  const indexOf = (e) => {
    const span = e.target.closest('span[data-index]');
    return span ? Number(span.dataset.index) : null;
  };
  box.addEventListener('mousedown', (e) => {
    const i = indexOf(e);
    if (i === null) return;
    anchor = i;
    S.span = { start: i, end: i + 1 };
    markSpan();
  });
  box.addEventListener('mouseover', (e) => {
    if (anchor === null || !(e.buttons & 1)) return;
    const i = indexOf(e);
    if (i === null) return;
    S.span = { start: Math.min(anchor, i), end: Math.max(anchor, i) + 1 };
    markSpan();
  });
  window.addEventListener('mouseup', () => { anchor = null; });
}

/** Token span covering the text box's selection (UTF-16 offsets → tokens). */
function selectionSpan() {
  const box = $('text');
  const from = box.selectionStart, to = box.selectionEnd;
  if (!S.inspect || from === to) return null;
  const offsets = S.inspect.offsets;
  let start = -1, end = -1;
  offsets.forEach((o, t) => {
    const next = t + 1 < offsets.length ? offsets[t + 1] : box.value.length;
    if (o >= 0 && next > from && o < to) { if (start < 0) start = t; end = t + 1; }
  });
  return start < 0 ? null : { start, end };
}

async function findUnits() {
  const result = $('units-result');
  if (!S.inspect) await refreshInspect();
  if (!S.span) { result.replaceChildren(el('p', { class: 'error', text: 'Select a span first: drag across the tokens above.' })); return; }
  result.replaceChildren(el('p', { class: 'muted', text: 'ranking units…' }));
  const body = {
    text: $('text').value, start: S.span.start, end: S.span.end, layer: Number($('layer').value), direction: Number($('direction').value),
    state: $('units-state').value, units: number('units-count', 5), min_fraction: Number($('units-fraction').value),
  };
  try {
    const answer = await api('/api/units', body);
    renderUnits(answer);
  } catch (e) {
    result.replaceChildren(el('p', { class: 'error', text: e.message }));
  }
}

function renderUnits(answer) {
  const r = S.inspect;
  const result = $('units-result');
  result.replaceChildren();
  const table = el('table', { id: 'units-table' },
    el('tr', {}, el('th', { text: 'unit' }), el('th', { text: 'on the span' }), el('th', { class: 'num', text: 'selectivity' }),
      el('th', { class: 'num', text: 'mean on span' }), el('th', { class: 'num', text: `mean in ${answer.baseline}` })));
  for (const u of answer.units) {
    const row = el('tr', { title: 'show this unit in the heatmap', onclick: () => { S.unit = u.unit; switchTab('hidden'); } },
      el('td', { text: `${answer.state === 'cell' ? 'c' : 'h'}[${u.unit}]` }), el('td', { text: u.sign > 0 ? 'higher' : 'lower' }),
      el('td', { class: 'num', text: u.score.toFixed(2) }), el('td', { class: 'num', text: u.span_mean.toFixed(3) }),
      el('td', { class: 'num', text: u.baseline_mean.toFixed(3) }));
    row.dataset.unit = u.unit;
    table.append(row);
  }
  result.append(el('h3', { text: `Units of layer ${answer.layer} that single out the span, against ${answer.baseline}` }), table);

  const fires = el('div', { class: 'coloured', id: 'text-firing' });
  colouredText(fires, r.tokens, (t) => (answer.text_firing[t] > 0 ? heat(answer.text_firing[t]) : null),
    (t) => `${Math.round(answer.text_firing[t] * 100)}% of the units fire`, (t) => (t >= answer.start && t < answer.end ? 'sel' : ''));
  result.append(el('h3', { text: 'Where they fire in this text (share of the units firing)' }), fires);

  if (!answer.reference) {
    result.append(el('p', { class: 'muted', text: 'No reference text: start the server with --reference FILE (or on a checkpoint whose training data is still in place) to find the same pattern elsewhere.' }));
    return;
  }
  const ref = answer.reference;
  result.append(el('h3', { text: `Where ${ref.min_fraction === 1 ? 'all' : Math.round(ref.min_fraction * 100) + '% of'} these units fire together in ${ref.source} (${ref.tokens.toLocaleString()} tokens): ${ref.matches.length} match${ref.matches.length === 1 ? '' : 'es'}` }));
  const list = el('ol', { class: 'matches', id: 'matches' });
  for (const m of ref.matches) {
    const line = el('li');
    line.append(el('span', { class: 'score', text: `#${m.start} · ${m.end - m.start} token${m.end - m.start === 1 ? '' : 's'} · score ${m.score.toFixed(2)}` }));
    const text = el('span');
    colouredText(text, m.tokens, (i) => (m.firing[i] > 0 ? heat(m.firing[i]) : null), (i) => `${Math.round(m.firing[i] * 100)}% fire`,
      (i) => (m.context_start + i >= m.start && m.context_start + i < m.end ? 'hit' : ''), true);
    line.append(text);
    list.append(line);
  }
  if (ref.matches.length === 0) list.append(el('li', { class: 'muted', text: 'no place where they all fire together: try fewer units or a lower share' }));
  result.append(list);
}

// ---- gradients -----------------------------------------------------------------------------

/** A line plot: series [{name, colour, values}] over steps, optional log10 y, token labels. */
function linePlot(series, labels, options = {}) {
  const W = 860, H = options.height || 220, left = 52, right = 12, top = 10, bottom = 34;
  const T = labels.length;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  const f = (v) => (options.log ? Math.log10(v) : v);
  const finite = series.flatMap((s) => s.values.filter((v) => v !== null && (!options.log || v > 0)).map(f));
  if (finite.length === 0) { root.append(svg('text', { x: left, y: H / 2 }, 'no data')); return root; }
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (options.zero) lo = Math.min(0, lo);
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const x = (t) => left + (T === 1 ? 0.5 : t / (T - 1)) * (W - left - right);
  const y = (v) => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom);
  root.append(svg('line', { x1: left, y1: top, x2: left, y2: H - bottom, stroke: '#999' }));
  root.append(svg('line', { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, stroke: '#999' }));
  // Log scale: a line at every power of ten (every few when the range is wide); linear: five lines.
  let ticks = [];
  if (options.log) {
    const step = Math.max(1, Math.ceil((Math.ceil(hi) - Math.floor(lo)) / 6));
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e += step) ticks.push(e);
    if (ticks.length < 2) ticks = [lo, hi];
  } else for (let k = 0; k <= 4; k++) ticks.push(lo + (hi - lo) * k / 4);
  for (const v of ticks) {
    root.append(svg('line', { x1: left, y1: y(v), x2: W - right, y2: y(v), stroke: '#eee' }));
    const text = options.log ? (Number.isInteger(v) ? `1e${v}` : (10 ** v).toPrecision(2)) : v.toPrecision(2);
    root.append(svg('text', { x: left - 6, y: y(v) + 3, 'text-anchor': 'end' }, text));
  }
  const every = Math.max(1, Math.ceil(T / 60));
  labels.forEach((token, t) => {
    if (t % every === 0) root.append(svg('text', { x: x(t), y: H - bottom + 13, 'text-anchor': 'middle' }, label(token).slice(0, 3)));
  });
  root.append(svg('text', { x: W - right, y: H - 4, 'text-anchor': 'end' }, 'token (the prediction is made after the last one) →'));
  for (const s of series) {
    if (options.bars) {
      const bw = Math.max(1, (W - left - right) / T - 1);
      s.values.forEach((v, t) => {
        if (v === null) return;
        root.append(svg('rect', { x: x(t) - bw / 2, y: y(f(v)), width: bw, height: Math.max(0, y(lo) - y(f(v))), fill: s.colour }));
      });
      continue;
    }
    let d = '';
    s.values.forEach((v, t) => {
      if (v === null || (options.log && v <= 0)) return;
      d += `${d ? 'L' : 'M'}${x(t).toFixed(1)},${y(f(v)).toFixed(1)}`;
    });
    root.append(svg('path', { d, fill: 'none', stroke: s.colour, 'stroke-width': 2 }));
  }
  return root;
}

const LAYER_COLOURS = ['#2f6fb3', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#5c940d'];

function renderGradients() {
  const r = S.inspect;
  const select = $('target');
  select.replaceChildren(...r.next.map((n) => el('option', { value: n.token, text: `“${label(n.token)}” ${(n.probability * 100).toFixed(1)}%` })));
  if (!r.next.some((n) => n.token === r.target.token)) select.append(el('option', { value: r.target.token, text: `“${label(r.target.token)}”` }));
  select.value = r.target.token;
  $('target-prob').textContent = `p = ${(r.target.probability * 100).toFixed(2)}%`;

  const series = r.gradients.hidden.map((g, k) => ({
    name: `layer ${g.layer}${r.directions > 1 ? (g.direction ? ' backward' : ' forward') : ''}`, colour: LAYER_COLOURS[k % LAYER_COLOURS.length], values: g.norms,
  }));
  const plot = $('grad-plot');
  plot.replaceChildren(el('div', { class: 'legend' }, ...series.map((s) => {
    const swatch = el('i'); swatch.style.background = s.colour;
    return el('span', {}, swatch, s.name);
  })), linePlot(series, r.tokens, { log: true }));
  const saliency = r.gradients.saliency;
  $('saliency-plot').replaceChildren(linePlot([{ name: 'saliency', colour: '#d9480f', values: saliency }], r.tokens, { bars: true, zero: true, height: 160 }));
  const top = Math.max(1e-12, ...saliency.filter((v) => v !== null));
  colouredText($('saliency-text'), r.tokens, (t) => heat((saliency[t] || 0) / top), (t) => `‖∂ log p/∂x‖ = ${(saliency[t] || 0).toExponential(2)}`);
}

// ---- model card ----------------------------------------------------------------------------

function renderCard() {
  const m = S.model;
  const card = $('card');
  card.replaceChildren();
  const row = (name, value) => el('tr', {}, el('th', { text: name }), el('td', { text: String(value) }));
  const table = el('table');
  const progress = m.progress || {};
  table.append(
    row('model', `${m.name}${m.checkpoint ? ' (' + m.checkpoint + ')' : ''}`),
    row('cell', `${m.cell.toUpperCase()}, ${m.layers} layer${m.layers > 1 ? 's' : ''} × ${m.hidden_size} units${m.directions > 1 ? ', bidirectional' : ''}`),
    row('embedding', `${m.embedding_size}${m.tied ? ' (tied to the decoder)' : ''}; dropout ${m.dropout}`),
    row('parameters', m.parameters.toLocaleString()),
    row('vocabulary', `${m.vocabulary_size.toLocaleString()} ${m.vocabulary_level === 'char' ? 'characters' : 'words'}`),
  );
  if (m.valid_loss !== null && m.valid_loss !== undefined) {
    const unit = m.vocabulary_level === 'char' ? 'char' : 'word';
    table.append(row('validation loss', `${m.valid_loss.toFixed(4)} nats/${unit} · perplexity ${Math.exp(m.valid_loss).toFixed(2)} · ${(m.valid_loss / Math.LN2).toFixed(3)} bits/${unit}`));
  }
  if (m.progress) {
    table.append(row('trained', `${progress.step.toLocaleString()} steps, ${progress.tokens.toLocaleString()} tokens, epoch ${progress.epoch}, ${(progress.elapsed_seconds / 60).toFixed(1)} min`));
  }
  if (m.training) {
    const t = m.training;
    table.append(row('optimizer', `${t.optimizer} lr ${Number(t.learning_rate.toPrecision(6))}, batch ${t.batch}, BPTT ${t.bptt}, clip ${t.clip_norm}, schedule ${String(t.schedule).toLowerCase()}, seed ${t.seed}`));
  }
  table.append(row('reference text', m.reference ? `${m.reference}, ${m.reference_tokens.toLocaleString()} tokens` : 'none (give one with --reference FILE)'));
  const l = m.limits;
  table.append(row('limits', `${l.max_text_chars} characters of text, ${l.max_inspect_tokens} tokens to look inside, ${l.max_generate_tokens} tokens per generation, ${l.max_request_bytes / 1024} KiB per request`));
  card.append(el('h3', { text: 'Model card' }), table);

  if (m.curve.length > 0) {
    card.append(el('h3', { text: 'Training curve (metrics.jsonl): loss in nats per token against the training step' }));
    const steps = m.curve.map((p) => p.step);
    const plot = el('div', { class: 'plot', id: 'curve' });
    const legend = el('div', { class: 'legend' });
    for (const [name, colour] of [['train', '#2f6fb3'], ['validation', '#d9480f']]) {
      const swatch = el('i'); swatch.style.background = colour;
      legend.append(el('span', {}, swatch, name));
    }
    plot.append(legend, curvePlot(steps, [
      { colour: '#2f6fb3', values: m.curve.map((p) => p.train_loss) },
      { colour: '#d9480f', values: m.curve.map((p) => p.valid_loss) },
    ]));
    card.append(plot);
  }
  if (m.command) {
    card.append(el('h3', { text: m.command_recorded ? 'The command that trained it' : 'A command with the same options (this checkpoint did not record its command line)' }),
      el('pre', { class: 'command', text: m.command }));
  }
  const chips = el('div', { class: 'chips' }, ...m.vocabulary_tokens.map((t) => el('span', { text: label(t) })));
  card.append(el('h3', { text: `Vocabulary${m.vocabulary_tokens.length < m.vocabulary_size ? ` (first ${m.vocabulary_tokens.length})` : ''}` }), chips);
}

/** Loss against step, x numeric. */
function curvePlot(steps, series) {
  const W = 860, H = 240, left = 52, right = 12, top = 10, bottom = 30;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  const values = series.flatMap((s) => s.values.filter((v) => v !== null));
  const lo = Math.min(...values), hi = Math.max(...values);
  const s0 = Math.min(...steps), s1 = Math.max(s0 + 1, ...steps);
  const x = (s) => left + (s - s0) / (s1 - s0) * (W - left - right);
  const y = (v) => top + (1 - (v - lo) / Math.max(1e-9, hi - lo)) * (H - top - bottom);
  for (let k = 0; k <= 4; k++) {
    const v = lo + (hi - lo) * k / 4;
    root.append(svg('line', { x1: left, y1: y(v), x2: W - right, y2: y(v), stroke: '#eee' }));
    root.append(svg('text', { x: left - 6, y: y(v) + 3, 'text-anchor': 'end' }, v.toFixed(2)));
  }
  for (let k = 0; k <= 5; k++) {
    const s = s0 + (s1 - s0) * k / 5;
    root.append(svg('text', { x: x(s), y: H - bottom + 14, 'text-anchor': 'middle' }, Math.round(s).toLocaleString()));
  }
  root.append(svg('text', { x: W - right, y: H - 3, 'text-anchor': 'end' }, 'step →'));
  root.append(svg('line', { x1: left, y1: top, x2: left, y2: H - bottom, stroke: '#999' }));
  root.append(svg('line', { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, stroke: '#999' }));
  for (const s of series) {
    let d = '';
    s.values.forEach((v, i) => { if (v !== null) d += `${d ? 'L' : 'M'}${x(steps[i]).toFixed(1)},${y(v).toFixed(1)}`; });
    root.append(svg('path', { d, fill: 'none', stroke: s.colour, 'stroke-width': 2 }));
    s.values.forEach((v, i) => { if (v !== null && s.values.length <= 60) root.append(svg('circle', { cx: x(steps[i]), cy: y(v), r: 2.5, fill: s.colour })); });
  }
  return root;
}

// ---- tabs and start ------------------------------------------------------------------------

function switchTab(name) {
  S.tab = name;
  for (const button of document.querySelectorAll('#tabs button')) button.setAttribute('aria-selected', String(button.dataset.tab === name));
  for (const panel of document.querySelectorAll('.tab')) panel.hidden = panel.id !== 'tab-' + name;
  $('inspect-controls').hidden = !INSPECT_TABS.has(name);
  if (name === 'card') { document.body.dataset.rendered = 'card'; return; }
  refreshInspect();
}

async function start() {
  try {
    S.model = await api('/api/model');
  } catch (e) {
    $('summary').textContent = 'cannot load the model: ' + e.message;
    return;
  }
  const m = S.model;
  document.title = `${m.name} · recurrent serve`;
  $('summary').textContent = `${m.name} · ${m.cell.toUpperCase()} ${m.layers}×${m.hidden_size} · ${m.parameters.toLocaleString()} parameters · ${m.vocabulary_size} ${m.vocabulary_level}s`
    + (m.valid_loss ? ` · validation ${m.valid_loss.toFixed(3)} nats/${m.vocabulary_level}` : '');
  $('layer').replaceChildren(...Array.from({ length: m.layers }, (_, l) => el('option', { value: l, text: String(l) })));
  $('layer').value = m.layers - 1;
  $('direction-label').hidden = m.directions < 2;
  $('unit').max = m.hidden_size - 1;
  $('text').maxLength = m.limits.max_text_chars;
  $('gen-length').max = m.limits.max_generate_tokens;
  if (m.cell !== 'lstm') $('units-state').replaceChildren(el('option', { value: 'hidden', text: 'hidden h' }));
  // The default text only when the model knows its characters.
  const known = new Set(m.vocabulary_tokens);
  if (m.vocabulary_level === 'char' && [...$('text').value].some((c) => !known.has(c))) $('text').value = '';
  renderCard();

  $('text').addEventListener('input', textChanged);
  $('generate').addEventListener('click', generate);
  $('stop').addEventListener('click', () => { if (S.genAbort) S.genAbort.abort(); });
  $('append').addEventListener('click', () => { $('text').value += S.generated; S.generated = ''; $('append').disabled = true; textChanged(); });
  for (const button of document.querySelectorAll('#tabs button')) button.addEventListener('click', () => switchTab(button.dataset.tab));
  $('layer').addEventListener('change', () => refreshInspect());
  $('direction').addEventListener('change', () => refreshInspect());
  $('unit').addEventListener('change', () => selectUnit(Number($('unit').value) || 0));
  $('sort-units').addEventListener('change', () => renderTab());
  $('target').addEventListener('change', () => { S.target = $('target').value; refreshInspect(); });
  $('find-units').addEventListener('click', findUnits);
  $('use-selection').addEventListener('click', () => {
    const span = selectionSpan();
    if (span) { S.span = span; markSpan(); findUnits(); }
    else $('units-result').replaceChildren(el('p', { class: 'error', text: 'Select some text in the text box first.' }));
  });
  setupSpanDrag();
  window.addEventListener('resize', debounce(() => renderTab(), 200));
  document.body.dataset.ready = 'true';
  updateNext();
  refreshInspect();
}

start();
