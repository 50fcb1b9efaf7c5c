#!/usr/bin/env node
// A throwaway stand-in for adclickd's HTTP API, to develop the dashboard (web/) and to self-test
// the browser harness (dashboard_test.mjs) without nats-server or adclickd.
//
//   node tests/browser/fake_api.mjs [--port 0] [--lifetime-s 300] [--live-clicks 10] [--seed 1]
//                                   [--not-ready] [--no-stream]
//
// Loopback only (127.0.0.1); it exits by itself after --lifetime-s (and on SIGTERM/SIGINT).
// On start it prints one JSON line to stdout: the address, a page URL for a fixed selection and
// the numbers that page must end up showing once the scripted live clicks are done:
//   {"base":"http://127.0.0.1:PORT","url":".../?ads=7,3&from=..&to=..&view=live",
//    "expect_total":N,"expect_top_id":7,"expect_top_count":M,"settle_ms":S}
//
// The data: ads 1..12 with eight days of deterministic per-minute history (ad 7 gets about 40
// clicks a minute, ad 3 about 22, ad 12 about 15, ... see WEIGHT), campaigns 1..3 (ads 1-4, 5-8, 9-12), advertisers 1 (ads 1-8) and 2 (ads 9-12).
// Minutes more than 10 min + 1 min behind the watermark (now - 5 s) are final; about 0.15% of them
// are amended (late clicks, version 2 or 3). Live: --live-clicks scripted clicks, one a second, to ads
// 7, 3, 12 in turn (the expectations count them), plus background clicks every second to the
// other ads (never 7, 3, 12, so the expectations hold). Every click is sent on the SSE stream as the absolute
// count of its minute; each second every stream also gets the latest count of one of its ids.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN = 60_000, HOUR = 60 * MIN, DAY = 24 * HOUR;
const LATENESS_MS = 10 * MIN, OOO_MS = 5_000, PARTITIONS = 16, ADS = 12;

function args(argv) {
  const out = { port: 0, lifetimeS: 300, liveClicks: 10, seed: 1, notReady: false, noStream: false };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i], v = () => argv[++i];
    if (a === '--port') out.port = Number(v());
    else if (a === '--lifetime-s') out.lifetimeS = Number(v());
    else if (a === '--live-clicks') out.liveClicks = Number(v());
    else if (a === '--seed') out.seed = Number(v());
    else if (a === '--not-ready') out.notReady = true;
    else if (a === '--no-stream') out.noStream = true;
    else { console.error(`fake_api: unknown argument ${a}`); process.exit(2); }
  }
  return out;
}
const opt = args(process.argv);
if (!(opt.liveClicks >= 0 && opt.liveClicks <= 500)) { console.error('fake_api: --live-clicks must be 0..500'); process.exit(2); }

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '../../web');
const STATIC = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/assets/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/assets/app.css': ['app.css', 'text/css; charset=utf-8'],
  '/assets/uPlot.iife.min.js': ['node_modules/uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  '/assets/uPlot.min.css': ['node_modules/uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
};

// ---------------------------------------------------------------- the data
function rng(seed) { // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// Clicks a minute per ad (index = ad id).
const WEIGHT = [0, 11, 6, 22, 8, 3, 5, 40, 2.5, 4, 1.5, 9, 15];
const SCRIPTED_ADS = [7, 3, 12];
const BACKGROUND_ADS = [1, 2, 4, 5, 6, 8, 9, 10, 11];
const campaignOf = (ad) => Math.ceil(ad / 4);
const advertiserOf = (ad) => (ad <= 8 ? 1 : 2);
const groupOf = { ad: (ad) => ad, campaign: campaignOf, advertiser: advertiserOf };

const startMs = Date.now();
const startMinute = Math.floor(startMs / MIN) * MIN;
// minute -> Int32Array(ADS + 1) of counts; amendments: `${ad}:${minute}` -> extra versions
const counts = new Map();
const amendments = new Map();
{
  const rand = rng(opt.seed);
  for (let m = Math.floor(startMinute / DAY) * DAY - 8 * DAY; m < startMinute; m += MIN) {
    const row = new Int32Array(ADS + 1);
    const hourOfDay = (m % DAY) / HOUR;
    const diurnal = 0.65 + 0.35 * Math.sin(((hourOfDay - 9) / 24) * 2 * Math.PI);
    for (let ad = 1; ad <= ADS; ad++) {
      const rate = WEIGHT[ad] * diurnal;
      row[ad] = Math.max(0, Math.round(rate * (0.75 + 0.5 * rand())));
      if (m < startMinute - 12 * MIN && rand() < 0.0015 && row[ad] > 0) {
        const extra = 1 + Math.floor(rand() * 2);
        amendments.set(`${ad}:${m}`, extra);
        row[ad] += extra;
      }
    }
    counts.set(m, row);
  }
}
function rowAt(m) {
  let row = counts.get(m);
  if (!row) { row = new Int32Array(ADS + 1); counts.set(m, row); }
  return row;
}
const watermark = () => Date.now() - OOO_MS;
const isFinal = (m, wm) => m + MIN + LATENESS_MS <= wm;

/** One (ad, minute) bucket as the service would show it, or null when it has no clicks. */
function adBucket(ad, m, wm) {
  const row = counts.get(m);
  if (!row || !row[ad]) return null;
  if (!isFinal(m, wm)) return { count: row[ad], state: 'open', version: 0 };
  const extra = amendments.get(`${ad}:${m}`) || 0;
  return { count: row[ad], state: extra ? 'amended' : 'final', version: 1 + extra };
}

/** Sparse series of `kind` `id` over [from, to) in buckets of `width`. */
function series(kind, id, from, to, width, billing) {
  const wm = watermark();
  const firstOpenMinute = Math.floor((wm - LATENESS_MS) / MIN) * MIN;
  const out = [];
  for (let b = from; b < to; b += width) {
    if (billing && b + width > firstOpenMinute) break;
    let count = 0, open = false, amended = false, amends = 0, any = false;
    for (let m = b; m < b + width; m += MIN) {
      for (let ad = 1; ad <= ADS; ad++) {
        if (groupOf[kind](ad) !== id) continue;
        const x = adBucket(ad, m, wm);
        if (!x) continue;
        any = true;
        count += x.count;
        if (x.state === 'open') open = true;
        if (x.state === 'amended') { amended = true; amends += x.version - 1; }
      }
    }
    if (!any) continue;
    if (billing && open) continue;
    out.push({ start_ms: b, count, state: open ? 'open' : amended ? 'amended' : 'final', version: open ? 0 : 1 + amends });
  }
  return out;
}

function top(by, from, to, k, billing) {
  const wm = watermark();
  const sums = new Map();
  for (let m = from; m < to; m += MIN) {
    if (!counts.has(m)) continue;
    for (let ad = 1; ad <= ADS; ad++) {
      const x = adBucket(ad, m, wm);
      if (!x || (billing && x.state === 'open')) continue;
      const g = groupOf[by](ad);
      sums.set(g, (sums.get(g) || 0) + x.count);
    }
  }
  return [...sums].map(([id, count]) => ({ id, count }))
    .sort((a, b) => b.count - a.count || a.id - b.id).slice(0, k);
}

// ---------------------------------------------------------------- live clicks and the stream
const streams = new Set(); // {res, ids: {ad:Set, campaign:Set, advertiser:Set}, sentThisTick}
let eventId = 0, scriptedLeft = opt.liveClicks, scriptedDone = 0, counted = 0;
for (const row of counts.values()) for (let ad = 1; ad <= ADS; ad++) counted += row[ad];

function countEvent(kind, id, m) {
  const wm = watermark();
  let count = 0, open = false, amends = 0;
  for (let ad = 1; ad <= ADS; ad++) {
    if (groupOf[kind](ad) !== id) continue;
    const x = adBucket(ad, m, wm);
    if (!x) continue;
    count += x.count;
    if (x.state === 'open') open = true; else amends += x.version - 1;
  }
  return { kind, id, bucket_start_ms: m, count, state: open ? 'open' : amends ? 'amended' : 'final', version: open ? 0 : 1 + amends };
}

function send(st, ev) {
  st.res.write(`id: ${++eventId}\nevent: count\ndata: ${JSON.stringify(ev)}\n\n`);
  st.sentThisTick = true;
}

function click(ad) {
  const m = Math.floor(Date.now() / MIN) * MIN;
  rowAt(m)[ad] += 1;
  counted++;
  for (const st of streams) {
    for (const kind of ['ad', 'campaign', 'advertiser']) {
      const g = groupOf[kind](ad);
      if (st.ids[kind].has(g)) send(st, countEvent(kind, g, m));
    }
  }
}

/** The latest nonzero minute of one of the stream's ids (the snapshot sends all of them). */
function latest(kind, id) {
  const now = Math.floor(Date.now() / MIN) * MIN;
  for (let m = now; m > now - 15 * MIN; m -= MIN) {
    const ev = countEvent(kind, id, m);
    if (ev.count) return ev;
  }
  return null;
}

let tick = 0;
const rand = rng(opt.seed + 1);
const ticker = setInterval(() => {
  tick++;
  for (const st of streams) st.sentThisTick = false;
  if (scriptedLeft > 0) {
    click(SCRIPTED_ADS[scriptedDone % SCRIPTED_ADS.length]);
    scriptedDone++;
    scriptedLeft--;
  }
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) click(BACKGROUND_ADS[Math.floor(rand() * BACKGROUND_ADS.length)]);
  for (const st of streams) {
    if (st.sentThisTick) continue;
    const all = [];
    for (const kind of ['ad', 'campaign', 'advertiser']) for (const id of st.ids[kind]) all.push([kind, id]);
    if (!all.length) continue;
    const [kind, id] = all[tick % all.length];
    const ev = latest(kind, id);
    if (ev) send(st, ev);
  }
  if (tick % 5 === 0) for (const st of streams) st.res.write(': hb\n\n');
}, 1000);

// ---------------------------------------------------------------- HTTP
function json(res, status, body, extra = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extra });
  res.end(JSON.stringify(body));
}
const fail = (res, status, code, message) => json(res, status, { error: { code, message } });

function parseTime(v) {
  if (v == null || v === '') return null;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}
function idList(v) {
  return new Set(String(v || '').split(',').filter((x) => /^\d+$/.test(x)).map(Number));
}

function notReadyReasons() {
  return opt.notReady ? [
    'partition 3: recovering its stored state',
    `partition 7: checkpoints failing since ${new Date(startMs).toISOString()}: IO error: No space left on device`,
  ] : [];
}

function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const p = url.pathname, q = url.searchParams;
  if (req.method !== 'GET') return fail(res, 405, 'method_not_allowed', 'GET only');

  if (STATIC[p]) {
    const [file, mime] = STATIC[p];
    fs.readFile(path.join(webDir, file), (err, body) => {
      if (err) return fail(res, 404, 'not_found', `${file} is missing: run scripts/vendor-web.sh`);
      res.writeHead(200, { 'Content-Type': mime, 'Cache-Control': 'no-cache' });
      res.end(body);
    });
    return;
  }
  if (p === '/livez') return json(res, 200, { status: 'live' });
  if (p === '/readyz') {
    const r = notReadyReasons();
    if (!r.length) return json(res, 200, { status: 'ready' });
    return json(res, 503, { error: { code: 'not_ready', message: r.join('; ') }, reasons: r }, { 'Retry-After': '1' });
  }
  if (p === '/v1/admin/status') {
    const wm = watermark();
    const amended = amendments.size;
    return json(res, 200, {
      partitions_count: PARTITIONS,
      partitions: Array.from({ length: PARTITIONS }, (_, i) => ({
        partition: i, recovered: true, watermark_ms: i === 5 ? wm - 2_300 : wm, checkpoint_failures: 0,
      })),
      outcomes: {
        counted, duplicate: Math.round(counted * 0.031), late_amended: amended,
        malformed: 4, bad_id: 1, wrong_partition: 2, future: 3, too_old: 0, signature: 0,
      },
      ready: !opt.notReady,
      not_ready_because: notReadyReasons(),
      windows: { max_out_of_orderness_ms: OOO_MS, allowed_lateness_ms: LATENESS_MS, max_future_skew_ms: 5 * MIN, dedup_horizon_ms: HOUR },
    });
  }
  let m = p.match(/^\/v1\/(ads|campaigns|advertisers)\/([^/]+)\/clicks$/);
  if (m) {
    const kind = { ads: 'ad', campaigns: 'campaign', advertisers: 'advertiser' }[m[1]];
    if (!/^\d+$/.test(m[2])) return fail(res, 400, 'bad_parameter', `${kind}_id must be an unsigned integer`);
    const from = parseTime(q.get('from')), to = parseTime(q.get('to'));
    if (from == null || to == null) return fail(res, 400, 'bad_parameter', 'from and to are required: RFC 3339 (2026-11-28T10:00:00Z) or epoch ms');
    if (from >= to) return fail(res, 400, 'bad_parameter', 'from must be before to');
    const gran = q.get('granularity') || 'minute';
    const width = { minute: MIN, hour: HOUR, day: DAY }[gran];
    if (!width) return fail(res, 400, 'bad_parameter', 'granularity must be minute, hour or day');
    const view = q.get('view') || 'live';
    if (view !== 'live' && view !== 'billing') return fail(res, 400, 'bad_parameter', 'view must be live or billing');
    const f = Math.floor(from / width) * width, t = Math.floor((to - 1) / width) * width + width;
    if ((t - f) / MIN > 100_000) return fail(res, 400, 'bad_parameter', 'range too wide: at most 100000 minutes');
    return json(res, 200, {
      [`${kind}_id`]: Number(m[2]), granularity: gran, view, from_ms: f, to_ms: t, watermark_ms: watermark(),
      final_before_ms: Math.floor((watermark() - LATENESS_MS) / MIN) * MIN,
      series: series(kind, Number(m[2]), f, t, width, view === 'billing'),
    });
  }
  if (p === '/v1/top') {
    const from = parseTime(q.get('from')), to = parseTime(q.get('to'));
    if (from == null || to == null) return fail(res, 400, 'bad_parameter', 'from and to are required: RFC 3339 or epoch ms');
    if (from >= to) return fail(res, 400, 'bad_parameter', 'from must be before to');
    const by = q.get('by') || 'ad';
    if (!groupOf[by]) return fail(res, 400, 'bad_parameter', 'by must be ad, campaign or advertiser');
    const k = Number(q.get('k') || 10);
    if (!(k >= 1 && k <= 1000)) return fail(res, 400, 'bad_parameter', 'k must be between 1 and 1000');
    const view = q.get('view') || 'live';
    const f = Math.floor(from / HOUR) * HOUR, t = Math.ceil(to / HOUR) * HOUR;
    return json(res, 200, { from_ms: f, to_ms: t, by, k, view, top: top(by, f, t, k, view === 'billing') });
  }
  if (p === '/v1/stream' && !opt.noStream) {
    const st = { res, ids: { ad: idList(q.get('ads')), campaign: idList(q.get('campaigns')), advertiser: idList(q.get('advertisers')) }, sentThisTick: false };
    if (!st.ids.ad.size && !st.ids.campaign.size && !st.ids.advertiser.size)
      return fail(res, 400, 'bad_parameter', 'name at least one of ads, campaigns, advertisers');
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    // The current counts first: the last few minutes of every id.
    const now = Math.floor(Date.now() / MIN) * MIN;
    for (const kind of ['ad', 'campaign', 'advertiser']) {
      for (const id of st.ids[kind]) {
        for (let mm = now - 2 * MIN; mm <= now; mm += MIN) {
          const ev = countEvent(kind, id, mm);
          if (ev.count) send(st, ev);
        }
      }
    }
    streams.add(st);
    req.on('close', () => streams.delete(st));
    return;
  }
  return fail(res, 404, 'not_found', 'no such endpoint');
}

const server = http.createServer((req, res) => {
  try { handle(req, res); } catch (e) { console.error(e); fail(res, 500, 'internal', String(e.message || e)); }
});
server.keepAliveTimeout = 2000;

function stop(code) {
  clearInterval(ticker);
  for (const st of streams) st.res.end();
  server.close();
  server.closeAllConnections?.();
  setTimeout(() => process.exit(code), 200).unref();
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
setTimeout(() => { console.error(`fake_api: lifetime of ${opt.lifetimeS} s reached, exiting`); stop(0); }, opt.lifetimeS * 1000);

server.listen(opt.port, '127.0.0.1', () => {
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;
  // The fixed selection the self-test opens: ads 7 and 3 from 50 min before the start to 10 min
  // after it (minute buckets), and what it must show once the scripted clicks are in.
  const from = startMinute - 50 * MIN, to = startMinute + 10 * MIN;
  let total = 0;
  for (let mm = from; mm < startMinute; mm += MIN) { const row = counts.get(mm); if (row) total += row[7] + row[3]; }
  const scripted = new Array(ADS + 1).fill(0);
  for (let i = 0; i < opt.liveClicks; i++) scripted[SCRIPTED_ADS[i % SCRIPTED_ADS.length]]++;
  total += scripted[7] + scripted[3];
  const hf = Math.floor(from / HOUR) * HOUR;
  let topCount = scripted[7];
  for (let mm = hf; mm < startMinute; mm += MIN) { const row = counts.get(mm); if (row) topCount += row[7]; }
  console.log(JSON.stringify({
    base,
    url: `${base}/?ads=7,3&from=${from}&to=${to}&view=live`,
    expect_total: total, expect_top_id: 7, expect_top_count: topCount,
    settle_ms: opt.liveClicks * 1000 + 1000,
  }));
  console.error(`fake_api: serving ${webDir} and a fake API on ${base} for ${opt.lifetimeS} s`);
});
