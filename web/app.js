/*
 * adclick dashboard: plain ES2020, no framework, no build step. adclickd serves this file
 * embedded at /assets/app.js; uPlot is embedded beside it (/assets/uPlot.iife.min.js).
 *
 * Endpoints used (JSON, times epoch ms UTC; errors {error:{code,message}} with 400/404/503):
 *   GET /v1/{ads|campaigns|advertisers}/{id}/clicks?from=&to=&granularity=&view=   the series
 *       (uses watermark_ms, and final_before_ms when present: where billing stops)
 *   GET /v1/top?from=&to=&k=10&by=ad|campaign|advertiser&view=                     every 2 s
 *   GET /v1/stream?ads=1,2 | ?campaigns=3 | ?advertisers=4     SSE, event "count", live updates
 *   GET /readyz, GET /v1/admin/status                                            every 2 s
 * The series is refetched every 10 s as a safety net under the live updates.
 *
 * URL state (open a selection directly; the page keeps the URL up to date):
 *   ?ads=1,2 | ?campaigns=3 | ?advertisers=4     what to chart (singular names are accepted too)
 *   &range=15m|1h|6h|24h|7d  or  &from=&to=       epoch ms or RFC 3339 (`to` exclusive); default 1h
 *   &granularity=minute|hour|day                  absent: chosen from the range
 *   &view=live|billing   &tz=utc|local
 *
 * Test hooks (stable; read them instead of pixels):
 *   #series-total   data-total   = sum of the counts currently charted (every series, the whole range)
 *                   data-buckets = number of non-empty buckets currently charted
 *                   (both absent until a series has loaded, and after an error)
 *                   data-state   = idle | loading | ok | empty | error
 *   #chart          data-amended = number of amended buckets charted; data-series = ids charted
 *   #top            <table>; data-state = loading | ok | empty | error | stale;
 *                   tbody rows <tr data-id data-count data-rank> in rank order
 *   #readiness      data-ready = true | false | unknown (adclickd unreachable: false);
 *                   title = the reasons, one per line; #reasons li = one per reason
 *   #wm-lag         data-lag-ms = now − min(partitions[].watermark_ms > 0)  (absent when unknown)
 *   #tot-counted, #tot-duplicate, #tot-late, #tot-rejected   data-count (totals of /v1/admin/status)
 *   #last-event     data-count = the count carried by the last SSE event (absolute count of its
 *                   bucket), data-kind, data-id, data-bucket-ms, data-events = events received
 *   #live-state     data-state = off | connecting | open | reconnecting | unavailable
 *   #control-error, #chart-empty, #top-error     visible messages (hidden when there is none)
 */
'use strict';

(() => {
  const MIN = 60e3, HOUR = 60 * MIN, DAY = 24 * HOUR;
  const RANGES = { '15m': 15 * MIN, '1h': HOUR, '6h': 6 * HOUR, '24h': DAY, '7d': 7 * DAY };
  const RANGE_NAMES = { '15m': 'last 15 min', '1h': 'last hour', '6h': 'last 6 hours', '24h': 'last 24 hours', '7d': 'last 7 days' };
  const WIDTH = { minute: MIN, hour: HOUR, day: DAY };
  const KINDS = {
    ad: { param: 'ads', path: 'ads', by: 'ad', one: 'ad', Many: 'Ads', idField: 'ad_id' },
    campaign: { param: 'campaigns', path: 'campaigns', by: 'campaign', one: 'campaign', Many: 'Campaigns', idField: 'campaign_id' },
    advertiser: { param: 'advertisers', path: 'advertisers', by: 'advertiser', one: 'advertiser', Many: 'Advertisers', idField: 'advertiser_id' },
  };
  // Series colours: distinct, and none close to the amber of amended markers.
  const PALETTE = ['#2457d6', '#d6336c', '#0f9d76', '#7048e8', '#0c8599', '#495057', '#5c7cfa', '#a61e4d',
    '#9c36b5', '#2b8a3e', '#74b816', '#1864ab'];
  const AMENDED_FILL = '#f59e0b', AMENDED_STROKE = '#92400e';
  const MAX_IDS = 12;
  const STATUS_EVERY_MS = 2000, TOP_EVERY_MS = 2000, SERIES_EVERY_MS = 10000, TICK_EVERY_MS = 5000;
  const DEFAULT_LATENESS_MS = 10 * MIN;

  const $ = (sel) => document.querySelector(sel);
  const nf = new Intl.NumberFormat('en-US');
  const fmt = (n) => nf.format(n);

  // ------------------------------------------------------------------ state and the URL
  const state = {
    kind: 'ad', ids: [], range: '1h', from: null, to: null, granularity: null, view: 'live', tz: 'utc',
  };
  let allowedLatenessMs = DEFAULT_LATENESS_MS;

  function parseTime(v) {
    if (v == null || v === '') return null;
    if (/^\d+$/.test(v)) return Number(v);
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }

  /** "1, 2 3" -> {ids:[1,2,3]} or {error}. Ids are unsigned integers, kept as strings. */
  function parseIds(text, kind) {
    const parts = String(text || '').split(/[\s,;]+/).filter(Boolean);
    const ids = [];
    for (const p of parts) {
      if (!/^\d+$/.test(p) || p.length > 20) return { error: `“${p}” is not a valid ${KINDS[kind].one} id: ids are unsigned integers` };
      const id = p.replace(/^0+(?=\d)/, '');
      if (!ids.includes(id)) ids.push(id);
    }
    if (ids.length > MAX_IDS) return { error: `At most ${MAX_IDS} ids at once (got ${ids.length})` };
    if (kind !== 'ad' && ids.length > 4) return { error: `At most 4 ${KINDS[kind].param} at once` };
    return { ids };
  }

  function readUrl() {
    const q = new URLSearchParams(location.search);
    for (const kind of Object.keys(KINDS)) {
      const name = [KINDS[kind].param, kind].find((n) => q.has(n));
      if (name) {
        state.kind = kind;
        const r = parseIds(q.get(name), kind);
        state.ids = r.ids || [];
        if (r.error) showControlError(r.error);
        break;
      }
    }
    const range = q.get('range');
    if (range && RANGES[range]) state.range = range;
    const from = parseTime(q.get('from')), to = parseTime(q.get('to'));
    if (from != null && to != null) {
      if (from < to) { state.from = from; state.to = to; state.range = null; }
      else showControlError('from must be before to: showing the last hour');
    }
    const g = q.get('granularity') || q.get('gran');
    if (g && WIDTH[g]) state.granularity = g;
    if (q.get('view') === 'billing') state.view = 'billing';
    if (q.get('tz') === 'local') state.tz = 'local';
  }

  function writeUrl() {
    const q = new URLSearchParams();
    if (state.ids.length) q.set(KINDS[state.kind].param, state.ids.join(','));
    if (state.from != null) { q.set('from', String(state.from)); q.set('to', String(state.to)); }
    else q.set('range', state.range);
    if (state.granularity) q.set('granularity', state.granularity);
    q.set('view', state.view);
    if (state.tz !== 'utc') q.set('tz', state.tz);
    const url = `${location.pathname}?${q.toString().replace(/%2C/g, ',')}`;
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
  }

  function autoGranularity(spanMs) {
    if (spanMs <= 6 * HOUR) return 'minute';
    if (spanMs <= 8 * DAY) return 'hour';
    return 'day';
  }

  /** The range being shown, widened to whole buckets. Relative ranges slide with the clock and
   *  always include the bucket that holds "now". */
  function currentWindow(now = Date.now()) {
    const relative = state.from == null;
    const from0 = relative ? now - RANGES[state.range] : state.from;
    const to0 = relative ? now : state.to;
    const gran = state.granularity || autoGranularity(to0 - from0);
    const w = WIDTH[gran];
    const from = Math.floor(from0 / w) * w;
    const to = relative ? Math.floor(now / w) * w + w : Math.ceil(to0 / w) * w;
    return { from, to, gran, width: w, relative };
  }

  // ------------------------------------------------------------------ formatting
  const pad = (n) => String(n).padStart(2, '0');
  function parts(ms) {
    const d = new Date(ms);
    return state.tz === 'utc'
      ? { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() }
      : { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
  }
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function fmtDay(ms) {
    const p = parts(ms);
    return p.y === parts(Date.now()).y ? `${MONTHS[p.mo - 1]} ${p.d}` : `${MONTHS[p.mo - 1]} ${p.d} ${p.y}`;
  }
  function fmtHm(ms) { const p = parts(ms); return `${pad(p.h)}:${pad(p.mi)}`; }
  function fmtHms(ms) { const p = parts(ms); return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`; }
  function fmtWhen(ms) { return `${fmtDay(ms)} ${fmtHm(ms)}`; }
  function tzName() { return state.tz === 'utc' ? 'UTC' : 'local time'; }
  function fmtSpan(from, to) {
    const sameDay = fmtDay(from) === fmtDay(to - 1);
    return sameDay ? `${fmtDay(from)}, ${fmtHm(from)}–${fmtHm(to)} ${state.tz === 'utc' ? 'UTC' : ''}`.trim()
      : `${fmtWhen(from)} – ${fmtWhen(to)} ${state.tz === 'utc' ? 'UTC' : ''}`.trim();
  }
  function fmtBucket(ms, gran) {
    if (gran === 'day') return fmtDay(ms);
    return `${fmtDay(ms)} ${fmtHm(ms)}`;
  }
  function fmtLag(ms) {
    if (ms < 0) ms = 0;
    if (ms < 10e3) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 120e3) return `${Math.round(ms / 1000)} s`;
    if (ms < 2 * HOUR) return `${Math.floor(ms / MIN)} min ${Math.round((ms % MIN) / 1000)} s`;
    if (ms < 2 * DAY) return `${Math.floor(ms / HOUR)} h ${Math.round((ms % HOUR) / MIN)} min`;
    return `${Math.floor(ms / DAY)} d ${Math.round((ms % DAY) / HOUR)} h`;
  }
  function fmtDuration(ms) {
    if (ms % HOUR === 0 && ms >= HOUR) return `${ms / HOUR} h`;
    if (ms % MIN === 0) return `${ms / MIN} min`;
    return `${Math.round(ms / 1000)} s`;
  }
  function toInputValue(ms) { const p = parts(ms); return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}`; }
  /** "2026-11-28 10:00" (in the chosen time zone), RFC 3339, or epoch ms. */
  function fromInputValue(v) {
    v = String(v || '').trim();
    if (!v) return null;
    if (/^\d{10,}$/.test(v)) return Number(v);
    const m = v.match(/^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/);
    if (m) {
      const f = [+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)];
      const t = state.tz === 'utc' ? Date.UTC(...f) : new Date(...f).getTime();
      return Number.isFinite(t) ? t : null;
    }
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  function label(kind, id) { return `${KINDS[kind].one} ${id}`; }
  function colorOf(i) { return PALETTE[i % PALETTE.length]; }

  // ------------------------------------------------------------------ the API
  class ApiError extends Error {
    constructor(status, code, message, body) { super(message); this.status = status; this.code = code; this.body = body; }
  }

  async function api(path, signal) {
    let res;
    try {
      res = await fetch(path, { signal, cache: 'no-store', headers: { Accept: 'application/json' } });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'unreachable', 'adclickd does not answer');
    }
    const text = await res.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
    if (!res.ok) {
      const err = body && body.error;
      const msg = err && err.message ? err.message : `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      throw new ApiError(res.status, (err && err.code) || `http_${res.status}`, msg, body);
    }
    if (body === null || typeof body !== 'object') throw new ApiError(res.status, 'bad_answer', `${path.split('?')[0]} did not answer JSON`);
    return body;
  }

  function describeError(e) {
    if (e.status === 0) return 'adclickd does not answer: is it running?';
    if (e.status === 503) return `Not ready: ${e.message}`;
    if (e.status === 404 && e.code === 'not_found' && /endpoint/.test(e.message)) return `This adclickd has no such endpoint yet (${e.message})`;
    return e.message;
  }

  // ------------------------------------------------------------------ the series model
  // model.series[i] = {id, color, buckets: Map(start_ms -> {count, state, version}), watermark}
  let model = null;
  let seriesSeq = 0, seriesAbort = null;
  // Live updates received recently, kept to merge with a refetch that may predate them.
  const overlay = new Map(); // `${kind}:${id}:${bucket}` -> {count, state, version, at}

  function selectionKey() {
    const w = currentWindow();
    return [state.kind, state.ids.join(','), state.view, w.gran, state.range, state.from, state.to].join('|');
  }

  async function loadSeries() {
    const seq = ++seriesSeq;
    if (seriesAbort) seriesAbort.abort();
    seriesAbort = null;
    if (!state.ids.length) { model = null; renderChart(); return; }
    const key = selectionKey();
    const win = currentWindow();
    if (!model || model.key !== key) {
      model = { key, kind: state.kind, view: state.view, gran: win.gran, loaded: false, error: null,
        series: state.ids.map((id, i) => ({ id, color: colorOf(i), buckets: new Map(), watermark: null, finalBefore: null })) };
      setTotal('loading');
      renderChart();
    }
    const abort = new AbortController();
    seriesAbort = abort;
    const sentAt = Date.now();
    const k = KINDS[state.kind];
    try {
      const answers = await Promise.all(state.ids.map((id) => api(
        `/v1/${k.path}/${encodeURIComponent(id)}/clicks?from=${win.from}&to=${win.to}&granularity=${win.gran}&view=${state.view}`,
        abort.signal)));
      if (seq !== seriesSeq || !model || model.key !== key) return;
      answers.forEach((a, i) => {
        const s = model.series[i];
        const buckets = new Map();
        for (const p of a.series || []) buckets.set(p.start_ms, { count: p.count, state: p.state, version: p.version });
        s.buckets = buckets;
        s.watermark = typeof a.watermark_ms === 'number' ? a.watermark_ms : null;
        s.finalBefore = typeof a.final_before_ms === 'number' ? a.final_before_ms : null;
      });
      mergeOverlay(sentAt);
      model.loaded = true;
      model.error = null;
      clearControlErrorFrom('series');
      renderChart();
    } catch (e) {
      if (e.name === 'AbortError' || seq !== seriesSeq || !model || model.key !== key) return;
      model.error = e;
      if (e.status === 400 || e.status === 404) showControlError(describeError(e), 'series');
      renderChart();
    }
  }

  /** Keeps a live update newer than the refetch: in one bucket, counts and versions only grow. */
  function mergeOverlay(sentAt) {
    for (const [key, v] of overlay) {
      if (v.at < sentAt - 60e3) overlay.delete(key);
    }
    if (model.gran !== 'minute') return;
    for (const s of model.series) {
      for (const [key, v] of overlay) {
        const [kind, id, bucket] = key.split(':');
        if (kind !== model.kind || id !== s.id || v.at < sentAt - 2000) continue;
        applyToSeries(s, Number(bucket), v);
      }
    }
  }

  function applyToSeries(s, bucket, v) {
    if (model.view === 'billing' && v.state === 'open') return false;
    const cur = s.buckets.get(bucket);
    if (cur && (cur.version > v.version || (cur.version === v.version && cur.count >= v.count))) return false;
    s.buckets.set(bucket, { count: v.count, state: v.state, version: v.version });
    return true;
  }

  // ------------------------------------------------------------------ the chart
  let plot = null, plotKey = '';
  let zoomed = false; // the user dragged a range: live updates keep it
  let xRange = null;  // [from, to] of the range shown, in seconds: the x axis spans it whole
  let frame = null;
  let rows = null; // rows[seriesIndex][pointIndex] = bucket meta or null, for the legend and markers

  function scheduleRender() {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = null; renderChart(); });
  }

  /** First bucket that may not be billable yet: its minutes are not all final. The answer's
   *  final_before_ms when it has one, else the watermark minus the allowed lateness. */
  function billableBefore(s, win) {
    let firstOpenMinute;
    if (s.finalBefore != null && s.finalBefore > 0) firstOpenMinute = s.finalBefore;
    else if (s.watermark != null && s.watermark > 0) firstOpenMinute = Math.floor((s.watermark - allowedLatenessMs) / MIN) * MIN;
    else return win.from;
    return Math.floor(firstOpenMinute / win.width) * win.width;
  }

  function buildData(win) {
    const n = Math.max(0, Math.round((win.to - win.from) / win.width));
    const xs = new Array(n);
    // Each bucket is drawn at its middle, on an axis that spans the whole range.
    for (let i = 0; i < n; i++) xs[i] = (win.from + i * win.width + win.width / 2) / 1000;
    const now = Date.now();
    const data = [xs];
    rows = [];
    let total = 0, buckets = 0, amended = 0;
    let edge = null; // live: the oldest watermark; billing: the first bucket not billable yet
    for (const s of model.series) {
      const ys = new Array(n), meta = new Array(n);
      let sum = 0;
      const fillUntil = model.view === 'billing' ? billableBefore(s, win) : now;
      if (model.view === 'billing') edge = edge == null ? fillUntil : Math.min(edge, fillUntil);
      else if (s.watermark) edge = edge == null ? s.watermark : Math.min(edge, s.watermark);
      for (let i = 0; i < n; i++) {
        const start = win.from + i * win.width;
        const b = s.buckets.get(start);
        if (b) {
          ys[i] = b.count; meta[i] = b;
          total += b.count;
          sum += b.count;
          if (b.count > 0) buckets++;
          if (b.state === 'amended') amended++;
        } else {
          // Sparse series: a bucket with no clicks is a zero, but only where it can no longer
          // change (billing) or has begun (live); otherwise a gap.
          ys[i] = start < fillUntil ? 0 : null;
          meta[i] = null;
        }
      }
      s.total = sum;
      data.push(ys);
      rows.push(meta);
    }
    return { data, total, buckets, amended, edge };
  }

  function niceMax(mx) {
    if (!(mx > 0)) return 5;
    const m = mx * 1.12;
    const p = Math.pow(10, Math.floor(Math.log10(m)));
    for (const f of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (f * p >= m) return Math.max(5, f * p);
    return m;
  }

  function axisDates(u, splits) {
    // Ticks: a time under each, and the date where the day changes (and on the first tick).
    const gran = model ? model.gran : 'minute';
    let lastDay = '';
    return splits.map((v) => {
      const ms = v * 1000, day = fmtDay(ms);
      const showDay = day !== lastDay;
      lastDay = day;
      if (gran === 'day') return day;
      const p = parts(ms);
      const time = `${pad(p.h)}:${pad(p.mi)}`;
      return showDay ? `${time}\n${day}` : time;
    });
  }

  function drawMarks(u) {
    if (!model || !rows) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const edge = u._adclickEdge;
    if (edge != null) {
      const x = u.valToPos(edge / 1000, 'x', true);
      if (x > left && x < left + width) {
        ctx.font = `${11 * dpr}px system-ui, "DejaVu Sans", sans-serif`;
        if (model.view === 'billing') {
          // Buckets here are not billable yet: hatch them.
          ctx.save();
          ctx.beginPath();
          ctx.rect(x, top, left + width - x, height);
          ctx.clip();
          ctx.fillStyle = 'rgba(238, 241, 246, .8)';
          ctx.fillRect(x, top, left + width - x, height);
          ctx.strokeStyle = 'rgba(148, 160, 180, .4)';
          ctx.lineWidth = 1 * dpr;
          for (let k = x - height; k < left + width; k += 8 * dpr) {
            ctx.beginPath(); ctx.moveTo(k, top + height); ctx.lineTo(k + height, top); ctx.stroke();
          }
          ctx.restore();
          ctx.fillStyle = '#687385';
          ctx.textAlign = x + 120 * dpr < left + width ? 'left' : 'right';
          ctx.fillText('not final yet', ctx.textAlign === 'left' ? x + 6 * dpr : x - 6 * dpr, top + 14 * dpr);
        } else {
          ctx.strokeStyle = '#64748b';
          ctx.setLineDash([4 * dpr, 4 * dpr]);
          ctx.lineWidth = 1.5 * dpr;
          ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = '#64748b';
          ctx.textAlign = 'right';
          ctx.fillText('watermark', x - 5 * dpr, top + 14 * dpr);
        }
      }
    }
    // Amended buckets: amber diamonds over the line, in both views.
    const r = 6 * dpr;
    for (let si = 0; si < rows.length; si++) {
      if (!u.series[si + 1].show) continue;
      const meta = rows[si], ys = u.data[si + 1];
      for (let i = 0; i < meta.length; i++) {
        if (!meta[i] || meta[i].state !== 'amended') continue;
        const cx = u.valToPos(u.data[0][i], 'x', true), cy = u.valToPos(ys[i], 'y', true);
        ctx.beginPath();
        ctx.moveTo(cx, cy - r); ctx.lineTo(cx + r, cy); ctx.lineTo(cx, cy + r); ctx.lineTo(cx - r, cy); ctx.closePath();
        ctx.fillStyle = AMENDED_FILL; ctx.fill();
        ctx.lineWidth = 1.6 * dpr; ctx.strokeStyle = AMENDED_STROKE; ctx.stroke();
      }
    }
    ctx.restore();
  }

  function makePlot(win, built) {
    const el = $('#chart');
    if (plot) { plot.destroy(); plot = null; }
    el.textContent = '';
    const single = model.series.length === 1;
    const pointsFew = (win.to - win.from) / win.width <= 120;
    const opts = {
      width: Math.max(300, el.clientWidth || 900),
      height: 380,
      tzDate: (ts) => (state.tz === 'utc' ? uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') : new Date(ts * 1e3)),
      cursor: { drag: { x: true, y: false }, points: { size: 8 } },
      legend: { live: true },
      scales: {
        x: { time: true, range: (u, mn, mx) => (zoomed || !xRange ? [mn, mx] : xRange) },
        y: { range: (u, mn, mx) => [0, niceMax(mx)] },
      },
      axes: [
        { stroke: '#687385', font: '12px system-ui, "DejaVu Sans", sans-serif', size: 48,
          grid: { stroke: '#eef1f5', width: 1 }, ticks: { stroke: '#d7dde7', width: 1, size: 5 },
          values: axisDates, space: 70 },
        { stroke: '#687385', font: '12px system-ui, "DejaVu Sans", sans-serif', size: 56,
          grid: { stroke: '#eef1f5', width: 1 }, ticks: { show: false },
          incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2500, 5e3, 1e4, 2e4, 25e3, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9],
          values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? (v >= 1e6 ? `${v / 1e6}M` : v >= 1e4 ? `${v / 1e3}k` : fmt(v)) : '')) },
      ],
      series: [
        { label: tzName() === 'UTC' ? 'Time (UTC)' : 'Time (local)',
          value: (u, v) => (v == null ? 'whole range' : fmtBucket(v * 1000 - WIDTH[model.gran] / 2, model.gran)) },
        ...model.series.map((s, si) => ({
          label: label(model.kind, s.id),
          stroke: s.color,
          width: 2,
          fill: single ? `${s.color}1a` : undefined,
          spanGaps: false,
          points: { show: pointsFew, size: 5, width: 1.5, fill: '#fff', stroke: s.color },
          value: (u, v, _si, idx) => {
            if (idx == null) return model.series[si] ? fmt(model.series[si].total || 0) : '—';
            if (v == null) return '—';
            const m = rows && rows[si] ? rows[si][idx] : null;
            if (!m) return `${fmt(v)}`;
            return m.state === 'amended' ? `${fmt(v)} · amended v${m.version}` : `${fmt(v)} · ${m.state}`;
          },
        })),
      ],
      hooks: {
        draw: [drawMarks],
        setSelect: [(u) => { if (u.select.width > 2) zoomed = true; }],
      },
    };
    zoomed = false;
    plot = new uPlot(opts, built.data, el);
    // Before uPlot's own double-click (it resets the zoom), in the capture phase.
    plot.root.addEventListener('dblclick', () => { zoomed = false; }, true);
    plotKey = model.key + '|' + state.tz;
  }

  function setTotal(status, total, buckets) {
    const el = $('#series-total');
    el.dataset.state = status;
    if (status === 'ok' || status === 'empty') {
      el.dataset.total = String(total);
      el.dataset.buckets = String(buckets);
      el.querySelector('.big').textContent = fmt(total);
      el.querySelector('.small').textContent = `clicks · ${fmt(buckets)} ${buckets === 1 ? 'bucket' : 'buckets'}`;
    } else {
      delete el.dataset.total;
      delete el.dataset.buckets;
      el.querySelector('.big').textContent = '—';
      el.querySelector('.small').textContent = status === 'loading' ? 'loading…' : status === 'error' ? 'no data' : '';
    }
  }

  function setChartMessage(title, text, isError) {
    const box = $('#chart-empty');
    if (!title) { box.hidden = true; return; }
    box.hidden = false;
    box.classList.toggle('is-error', !!isError);
    const msg = box.querySelector('.msg');
    msg.textContent = '';
    const b = document.createElement('b');
    b.textContent = title;
    msg.append(b, document.createTextNode(text || ''));
  }

  function renderHeadings(win) {
    const k = KINDS[state.kind];
    const granName = { minute: 'minute', hour: 'hour', day: 'day' }[win.gran];
    $('#chart-title').textContent = `Clicks per ${granName}`;
    const what = state.ids.length ? `${state.ids.length > 1 ? k.Many : k.Many.replace(/s$/, '')} ${state.ids.join(', ')}` : 'Nothing selected';
    const span = win.relative ? RANGE_NAMES[state.range] : fmtSpan(win.from, win.to);
    const auto = state.granularity ? '' : ' (auto)';
    $('#chart-sub').textContent = `${what} · ${span} · ${granName}${auto} · ${state.view} view · ${tzName()}`;
    $('#top-title').textContent = `Top ${k.Many.toLowerCase()}`;
    $('#top-col').textContent = k.Many.replace(/s$/, '');
    $('#ids-label').textContent = state.kind === 'ad' ? 'Ad ids' : `${k.Many.replace(/s$/, '')} id`;
    $('#tz-hint').textContent = `(${tzName()})`;
  }

  function renderLegendNote(built) {
    const note = $('#legend-note');
    note.textContent = '';
    const key = (cls, text, title) => {
      const s = document.createElement('span');
      s.className = 'key';
      if (title) s.title = title;
      const m = document.createElement('span');
      m.className = `mk ${cls}`;
      s.append(m, document.createTextNode(text));
      note.append(s);
    };
    if (state.view === 'billing') {
      key('mk-final', 'final', 'Final: the watermark passed the bucket’s end plus the allowed lateness (version 1)');
      key('mk-amended', `amended: late clicks after final${built && built.amended ? ` (${built.amended})` : ''}`,
        'A click arrived after the bucket was final: the count was amended and its version raised');
      key('mk-open', 'not final yet (not billable)', 'Billing never shows open buckets');
    } else {
      key('mk-wm', `watermark: a minute is final once it passes the minute’s end + ${fmtDuration(allowedLatenessMs)}`,
        'The event time the partition has reached, minus the max out-of-orderness');
      key('mk-amended', `amended${built && built.amended ? ` (${built.amended})` : ''}`, 'A late click changed a final bucket');
    }
  }

  function errorTitle(e) {
    return e.status === 503 ? 'adclickd is not ready' : e.status === 0 ? 'adclickd does not answer' : 'Could not load the series';
  }
  function errorText(e) {
    return `${describeError(e)}${e.status === 503 || e.status === 0 || e.status >= 500 ? ' Retrying every 10 s.' : ''}`;
  }

  function renderChart() {
    const win = currentWindow();
    renderHeadings(win);
    renderLegendNote(null);
    const chartEl = $('#chart');
    if (!state.ids.length) {
      if (plot) { plot.destroy(); plot = null; plotKey = ''; }
      chartEl.textContent = '';
      chartEl.dataset.series = '';
      chartEl.dataset.amended = '0';
      setTotal('idle');
      setChartMessage(`Choose what to chart`,
        `Type ad ids above (e.g. 1, 2, 3) or pick a campaign or an advertiser, or click a row of the top table.`);
      return;
    }
    if (!model) return;
    if (model.gran !== win.gran) return; // a new selection is loading
    if (model.error && !model.loaded) {
      // Nothing to draw: say why instead of a flat line of zeros.
      if (plot) { plot.destroy(); plot = null; plotKey = ''; }
      chartEl.textContent = '';
      chartEl.dataset.amended = '0';
      setTotal('error');
      setChartMessage(errorTitle(model.error), errorText(model.error), true);
      return;
    }
    const built = buildData(win);
    xRange = [win.from / 1000, win.to / 1000];
    const key = model.key + '|' + state.tz;
    if (!plot || plotKey !== key) makePlot(win, built);
    plot._adclickEdge = built.edge;
    plot.setData(built.data, !zoomed);
    chartEl.dataset.series = model.series.map((s) => s.id).join(',');
    chartEl.dataset.amended = String(built.amended);
    renderLegendNote(built);
    highlightTopRows();

    const names = state.ids.length === 1 ? label(state.kind, state.ids[0]) : `${KINDS[state.kind].param} ${state.ids.join(', ')}`;
    const span = win.relative ? RANGE_NAMES[state.range] : fmtSpan(win.from, win.to);
    if (model.error) {
      // A refresh failed: the last counts stay drawn, under the reason.
      setTotal('error');
      setChartMessage(errorTitle(model.error), `${errorText(model.error)} Showing the counts loaded before.`, true);
    } else if (!model.loaded) {
      setTotal('loading');
      setChartMessage('');
    } else if (built.total === 0) {
      setTotal('empty', 0, 0);
      if (state.view === 'billing') {
        setChartMessage('No billable clicks in this range yet',
          `Billing shows only final buckets: a minute becomes final once the watermark passes its end plus the allowed lateness (${fmtDuration(allowedLatenessMs)}). Try the live view for ${names}.`);
      } else {
        setChartMessage(`No clicks for ${names}`, ` in the ${span}. Try a longer range, or check the ids in the top table.`);
      }
    } else {
      setTotal('ok', built.total, built.buckets);
      setChartMessage('');
    }
  }

  // ------------------------------------------------------------------ live updates (SSE)
  let es = null, esKey = '', esRetry = null, esBackoff = 2000, events = 0, refetchSoon = null;

  function setLive(st, text, title) {
    const el = $('#live-state');
    el.dataset.state = st;
    el.querySelector('.text').textContent = text;
    el.title = title || 'Live updates: Server-Sent Events from GET /v1/stream';
  }

  function subscribe() {
    const key = state.ids.length ? `${KINDS[state.kind].param}=${state.ids.join(',')}` : '';
    if (key === esKey && (es || esRetry)) return;
    if (es) { es.close(); es = null; }
    if (esRetry) { clearTimeout(esRetry); esRetry = null; }
    esKey = key;
    if (!key) { setLive('off', 'Live off'); return; }
    if (typeof EventSource === 'undefined') { setLive('unavailable', 'No live updates in this browser'); return; }
    const src = new EventSource(`/v1/stream?${key}`);
    es = src;
    setLive('connecting', 'Connecting…');
    src.onopen = () => { if (es === src) { esBackoff = 2000; setLive('open', 'Live'); } };
    src.addEventListener('count', (e) => { if (es === src) onCount(e); });
    src.onerror = () => {
      if (es !== src) return;
      if (src.readyState === EventSource.CLOSED) {
        // An HTTP error (404 from an adclickd without SSE, 503): EventSource gives up; we do not.
        src.close();
        es = null;
        setLive('unavailable', 'No live updates', `GET /v1/stream failed; retrying in ${Math.round(esBackoff / 1000)} s. The series is still refetched every 10 s.`);
        esRetry = setTimeout(() => { esRetry = null; esKey = ''; subscribe(); }, esBackoff);
        esBackoff = Math.min(esBackoff * 2, 30000);
      } else {
        setLive('reconnecting', 'Reconnecting…');
      }
    };
  }

  function onCount(e) {
    let ev;
    try { ev = JSON.parse(e.data); } catch (_) { return; }
    if (!ev || ev.id == null || typeof ev.bucket_start_ms !== 'number') return;
    events++;
    const id = String(ev.id);
    const kind = ev.kind || 'ad';
    const v = { count: Number(ev.count) || 0, state: ev.state || 'open', version: Number(ev.version) || 0, at: Date.now() };
    overlay.set(`${kind}:${id}:${ev.bucket_start_ms}`, v);

    const last = $('#last-event');
    last.dataset.count = String(v.count);
    last.dataset.kind = kind;
    last.dataset.id = id;
    last.dataset.bucketMs = String(ev.bucket_start_ms);
    last.dataset.events = String(events);
    last.textContent = '';
    const b = document.createElement('b');
    b.textContent = `${label(kind, id)}: ${fmt(v.count)}`;
    last.append(document.createTextNode(`Last update ${fmtHms(Date.now())} · `), b,
      document.createTextNode(` in the ${fmtHm(ev.bucket_start_ms)} minute (${v.state}) · ${fmt(events)} updates`));
    last.classList.remove('flash'); void last.offsetWidth; last.classList.add('flash');

    if (!model || kind !== model.kind) return;
    const s = model.series.find((x) => x.id === id);
    if (!s) return;
    if (model.gran === 'minute') {
      const win = currentWindow();
      if (ev.bucket_start_ms < win.from || ev.bucket_start_ms >= win.to) return;
      if (applyToSeries(s, ev.bucket_start_ms, v)) scheduleRender();
    } else if (!(model.view === 'billing' && v.state === 'open')) {
      // An hour or a day is the sum of its minutes: fetch it again rather than guess.
      if (!refetchSoon) refetchSoon = setTimeout(() => { refetchSoon = null; loadSeries(); }, 1500);
    }
  }

  // ------------------------------------------------------------------ top-K
  let topSeq = 0, lastTop = null;

  async function loadTop() {
    const seq = ++topSeq;
    const win = currentWindow();
    const k = KINDS[state.kind];
    const table = $('#top');
    try {
      const a = await api(`/v1/top?from=${win.from}&to=${win.to}&k=10&by=${k.by}&view=${state.view}`);
      if (seq !== topSeq) return;
      lastTop = a;
      $('#top-error').hidden = true;
      renderTop(a);
    } catch (e) {
      if (seq !== topSeq) return;
      const err = $('#top-error');
      err.hidden = false;
      err.textContent = `Top ${k.Many.toLowerCase()} unavailable: ${describeError(e)}`;
      table.dataset.state = lastTop ? 'stale' : 'error';
      if (!lastTop) { table.querySelector('tbody').textContent = ''; $('#top-empty').hidden = true; }
    }
  }

  function renderTop(a) {
    const table = $('#top');
    const tbody = table.querySelector('tbody');
    const list = Array.isArray(a.top) ? a.top : [];
    const max = list.reduce((m, r) => Math.max(m, r.count), 0);
    const kind = a.by || KINDS[state.kind].by;
    tbody.textContent = '';
    list.forEach((r, i) => {
      const tr = document.createElement('tr');
      tr.dataset.id = String(r.id);
      tr.dataset.count = String(r.count);
      tr.dataset.rank = String(i + 1);
      tr.title = `Chart ${label(kind, r.id)} (Ctrl/⌘-click adds it)`;
      const rank = document.createElement('td'); rank.className = 'rank'; rank.textContent = String(i + 1);
      const id = document.createElement('td'); id.className = 'id';
      const sw = document.createElement('span'); sw.className = 'sw';
      id.append(sw, document.createTextNode(String(r.id)));
      const count = document.createElement('td'); count.className = 'num'; count.textContent = fmt(r.count);
      const share = document.createElement('td');
      const bar = document.createElement('div'); bar.className = 'bar';
      const fill = document.createElement('span'); fill.style.width = `${max ? Math.max(2, (100 * r.count) / max) : 0}%`;
      bar.append(fill); share.append(bar);
      tr.append(rank, id, count, share);
      tbody.append(tr);
    });
    table.dataset.state = list.length ? 'ok' : 'empty';
    const empty = $('#top-empty');
    empty.hidden = list.length > 0;
    if (!list.length) {
      empty.textContent = state.view === 'billing'
        ? 'No final buckets in these hours yet.'
        : 'No clicks in these hours.';
    }
    if (typeof a.from_ms === 'number' && typeof a.to_ms === 'number') {
      $('#top-sub').textContent = `${fmtSpan(a.from_ms, a.to_ms)} · whole hours · ${a.view || state.view}`;
    }
    highlightTopRows();
  }

  function highlightTopRows() {
    const charted = model && lastTop && model.kind === state.kind ? model.series : [];
    for (const tr of document.querySelectorAll('#top tbody tr')) {
      const s = charted.find((x) => x.id === tr.dataset.id);
      tr.classList.toggle('selected', !!s);
      const sw = tr.querySelector('.sw');
      if (sw) sw.style.background = s ? s.color : 'transparent';
    }
  }

  // ------------------------------------------------------------------ status strip
  async function loadStatus() {
    const [ready, status] = await Promise.allSettled([api('/readyz'), api('/v1/admin/status')]);
    const pill = $('#readiness');
    const list = $('#reasons ul');
    let reasons = [];
    if (ready.status === 'fulfilled') {
      pill.dataset.ready = 'true';
      pill.querySelector('.text').textContent = 'Ready';
      pill.title = 'Every partition is recovered, bound to its consumer and checkpointing';
    } else {
      const e = ready.reason;
      pill.dataset.ready = 'false';
      if (e.status === 0) reasons = ['adclickd does not answer'];
      else reasons = (e.body && Array.isArray(e.body.reasons) && e.body.reasons.length) ? e.body.reasons.map(String) : [e.message];
      pill.querySelector('.text').textContent = e.status === 0 ? 'Unreachable' : `Not ready${reasons.length > 1 ? ` (${reasons.length})` : ''}`;
      pill.title = reasons.join('\n');
    }
    list.textContent = '';
    for (const r of reasons) { const li = document.createElement('li'); li.textContent = r; list.append(li); }
    if (!reasons.length) { $('#reasons').hidden = true; pill.setAttribute('aria-expanded', 'false'); }

    const lag = $('#wm-lag');
    if (status.status === 'fulfilled') {
      const st = status.value;
      if (st.windows && typeof st.windows.allowed_lateness_ms === 'number') allowedLatenessMs = st.windows.allowed_lateness_ms;
      const wms = (st.partitions || []).map((p) => p.watermark_ms).filter((w) => typeof w === 'number' && w > 0);
      const without = (st.partitions || []).length - wms.length;
      if (wms.length) {
        const ms = Date.now() - Math.min(...wms);
        lag.dataset.lagMs = String(ms);
        lag.textContent = fmtLag(ms);
        lag.className = `value${ms > 10 * MIN ? ' bad' : ms > MIN ? ' warn' : ''}`;
        lag.parentElement.title = `now − the oldest partition watermark${without ? ` (${without} partitions have no watermark yet)` : ''}`;
      } else {
        delete lag.dataset.lagMs;
        lag.textContent = '—';
        lag.className = 'value';
        lag.parentElement.title = 'No partition has a watermark yet (no clicks read)';
      }
      const o = st.outcomes || {};
      const known = new Set(['counted', 'duplicate', 'late_amended']);
      let rejected = 0;
      const byReason = [];
      for (const [name, n] of Object.entries(o)) {
        if (known.has(name) || typeof n !== 'number') continue;
        rejected += n;
        if (n) byReason.push(`${name.replace(/^rejected_/, '')}: ${fmt(n)}`);
      }
      setCount('#tot-counted', o.counted);
      setCount('#tot-duplicate', o.duplicate);
      setCount('#tot-late', o.late_amended);
      setCount('#tot-rejected', rejected);
      $('#rejected-stat').title = byReason.length ? `Rejected input: ${byReason.join(', ')}` : 'Rejected input: none';
    } else {
      delete lag.dataset.lagMs;
      lag.textContent = '—';
      for (const id of ['#tot-counted', '#tot-duplicate', '#tot-late', '#tot-rejected']) setCount(id, undefined);
    }
  }

  function setCount(sel, n) {
    const el = $(sel);
    if (typeof n === 'number') { el.dataset.count = String(n); el.textContent = fmt(n); }
    else { delete el.dataset.count; el.textContent = '—'; }
  }

  // ------------------------------------------------------------------ controls
  let controlErrorFrom = null;
  function showControlError(text, from = 'controls') {
    const el = $('#control-error');
    el.textContent = text;
    el.hidden = false;
    controlErrorFrom = from;
    if (from === 'controls') $('#ids').setAttribute('aria-invalid', 'true');
  }
  function clearControlError() {
    $('#control-error').hidden = true;
    $('#ids').removeAttribute('aria-invalid');
    controlErrorFrom = null;
  }
  function clearControlErrorFrom(from) { if (controlErrorFrom === from) clearControlError(); }

  function syncControls() {
    $('#kind').value = state.kind;
    if (document.activeElement !== $('#ids')) $('#ids').value = state.ids.join(', ');
    const press = (group, value) => {
      for (const b of document.querySelectorAll(`#${group} button`)) b.setAttribute('aria-pressed', String(b.dataset.value === value));
    };
    press('range', state.from == null ? state.range : '');
    press('granularity', state.granularity || 'auto');
    press('view', state.view);
    press('tz', state.tz);
    const win = currentWindow();
    if (state.from != null) {
      $('#from').value = toInputValue(state.from);
      $('#to').value = toInputValue(state.to);
    } else if (document.activeElement !== $('#from') && document.activeElement !== $('#to')) {
      $('#from').value = '';
      $('#to').value = '';
      $('#from').placeholder = toInputValue(win.from);
      $('#to').placeholder = toInputValue(win.to);
    }
    const granButtons = document.querySelectorAll('#granularity button');
    for (const b of granButtons) {
      if (b.dataset.value === 'auto') b.title = `Chosen from the range: ${autoGranularity(win.to - win.from)}`;
    }
  }

  function changed({ series = true, top = true, stream = true } = {}) {
    writeUrl();
    syncControls();
    if (stream) subscribe();
    if (series) loadSeries();
    else renderChart();
    if (top) { lastTop = null; $('#top').dataset.state = 'loading'; loadTop(); }
  }

  function bindControls() {
    $('#controls').addEventListener('submit', (e) => {
      e.preventDefault();
      const kind = $('#kind').value;
      const r = parseIds($('#ids').value, kind);
      if (r.error) { showControlError(r.error); return; }
      clearControlError();
      const kindChanged = kind !== state.kind;
      state.kind = kind;
      state.ids = r.ids;
      overlay.clear();
      changed({ top: kindChanged });
    });
    $('#kind').addEventListener('change', () => {
      const kind = $('#kind').value;
      $('#ids').placeholder = kind === 'ad' ? 'comma-separated, e.g. 1, 2, 3' : `a ${kind} id, e.g. 3`;
      const r = parseIds($('#ids').value, kind);
      state.kind = kind;
      state.ids = r.ids || [];
      if (r.error) showControlError(r.error); else clearControlError();
      overlay.clear();
      changed();
    });
    const seg = (group, fn) => {
      $(`#${group}`).addEventListener('click', (e) => {
        const b = e.target.closest('button');
        if (b && b.dataset.value) fn(b.dataset.value);
      });
    };
    seg('range', (v) => { state.range = v; state.from = state.to = null; clearControlError(); changed({ stream: false }); });
    seg('granularity', (v) => { state.granularity = v === 'auto' ? null : v; changed({ stream: false, top: false }); });
    seg('view', (v) => { state.view = v; changed({ stream: false }); });
    seg('tz', (v) => { state.tz = v; changed({ series: false, top: false, stream: false }); if (lastTop) renderTop(lastTop); });
    $('#apply-range').addEventListener('click', () => {
      const from = fromInputValue($('#from').value), to = fromInputValue($('#to').value);
      if (from == null || to == null) {
        showControlError('Type a start and an end like 2026-11-28 10:00 (or RFC 3339, or epoch ms), or pick one of the ranges');
        return;
      }
      if (from >= to) { showControlError('The start must be before the end'); return; }
      clearControlError();
      state.from = from; state.to = to;
      changed({ stream: false });
    });
    $('#top').addEventListener('click', (e) => {
      const tr = e.target.closest('tbody tr');
      if (!tr) return;
      const id = tr.dataset.id;
      if (e.ctrlKey || e.metaKey || e.shiftKey) {
        const ids = state.ids.includes(id) ? state.ids.filter((x) => x !== id) : [...state.ids, id];
        if (ids.length > (state.kind === 'ad' ? MAX_IDS : 4)) { showControlError('That is as many as one chart shows'); return; }
        state.ids = ids;
      } else {
        state.ids = [id];
      }
      clearControlError();
      changed({ top: false });
    });
    $('#readiness').addEventListener('click', () => {
      const box = $('#reasons');
      if (!box.querySelector('li')) return;
      box.hidden = !box.hidden;
      $('#readiness').setAttribute('aria-expanded', String(!box.hidden));
    });
    document.addEventListener('click', (e) => {
      if (!e.target.closest('#reasons') && !e.target.closest('#readiness')) $('#reasons').hidden = true;
    });
    new ResizeObserver(() => {
      if (plot) plot.setSize({ width: Math.max(300, $('#chart').clientWidth), height: 380 });
    }).observe($('#chart'));
  }

  /** Runs fn every `ms`, never two at once. */
  function every(ms, fn) {
    const run = async () => {
      try { await fn(); } catch (e) { console.error(e); }
      setTimeout(run, ms);
    };
    setTimeout(run, ms);
  }

  function start() {
    if (typeof uPlot === 'undefined') {
      setChartMessage('The chart library did not load', '/assets/uPlot.iife.min.js is missing from this adclickd build.', true);
      return;
    }
    readUrl();
    bindControls();
    writeUrl();
    syncControls();
    subscribe();
    loadSeries();
    loadTop();
    loadStatus();
    every(STATUS_EVERY_MS, loadStatus);
    every(TOP_EVERY_MS, loadTop);
    every(SERIES_EVERY_MS, loadSeries);
    // Relative ranges slide with the clock even when nothing arrives.
    every(TICK_EVERY_MS, async () => { if (model && model.loaded && state.from == null) renderChart(); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
