#!/usr/bin/env node
// Drives the adclick dashboard in Debian's headless Chromium and checks what it shows through the
// page's test hooks (documented at the top of web/app.js), not by reading pixels.
//
//   node tests/browser/dashboard_test.mjs --url 'http://127.0.0.1:PORT/?ads=1,2&range=1h'
//        [--out DIR] [--expect-total N] [--expect-top-id ID] [--expect-top-count N]
//        [--timeout-ms 30000] [--chromium /usr/bin/chromium] [--allow-page-errors]
//        [--expect-file F]   (expectations as JSON {total, top_id, top_count}, read while waiting)
//
// It waits (at most --timeout-ms) until #series-total[data-total] equals N and the first row of
// #top has the expected id and count (each check only when asked for; with none, until the series
// and the top table have loaded), saves DIR/dashboard.png (1400x900) and prints one JSON object with
// what it saw. Exit 0: every expectation met. Exit 1: a timeout, an uncaught error in the page,
// or a page that did not load (the screenshot is still saved when there is a page). Exit 2: bad
// arguments or no browser.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

function usage(msg) {
  if (msg) console.error(`dashboard_test: ${msg}`);
  console.error('usage: dashboard_test.mjs --url URL [--out DIR] [--expect-total N] [--expect-top-id ID] ' +
    '[--expect-top-count N] [--timeout-ms T] [--chromium PATH] [--allow-page-errors]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, out: '.', total: null, topId: null, topCount: null, timeoutMs: 30000,
    chromium: '/usr/bin/chromium', allowPageErrors: false, expectFile: null };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    const int = (name) => { const s = v(); if (!/^\d+$/.test(s)) usage(`${name} must be a non-negative integer, not "${s}"`); return s; };
    if (a === '--url') o.url = v();
    else if (a === '--out') o.out = v();
    else if (a === '--expect-total') o.total = int(a);
    else if (a === '--expect-top-id') o.topId = int(a);
    else if (a === '--expect-top-count') o.topCount = int(a);
    else if (a === '--timeout-ms') o.timeoutMs = Number(int(a));
    else if (a === '--chromium') o.chromium = v();
    else if (a === '--allow-page-errors') o.allowPageErrors = true;
    else if (a === '--expect-file') o.expectFile = v();
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!o.url) usage('--url is required');
  let u;
  try { u = new URL(o.url); } catch { usage(`--url is not a URL: ${o.url}`); }
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && !u.hostname.startsWith('127.'))
    usage(`--url must be a loopback address, not ${u.hostname}`);
  return o;
}

const opt = parseArgs(process.argv);
const started = Date.now();
// Whatever happens (a browser that hangs), this process ends.
const hardStop = setTimeout(() => {
  console.error(`dashboard_test: no result ${opt.timeoutMs + 60000} ms after start, giving up`);
  process.exit(1);
}, opt.timeoutMs + 60000);
hardStop.unref();

/** Everything the page's hooks say, in one round trip. */
function readHooks() {
  const ds = (sel) => { const el = document.querySelector(sel); return el ? { ...el.dataset } : null; };
  const visibleText = (sel) => { const el = document.querySelector(sel); return el && !el.hidden ? el.textContent.trim() : null; };
  const total = ds('#series-total') || {};
  return {
    series: {
      state: total.state ?? null,
      total: total.total !== undefined ? Number(total.total) : null,
      buckets: total.buckets !== undefined ? Number(total.buckets) : null,
      ids: document.querySelector('#chart')?.dataset.series ?? null,
      amended: Number(document.querySelector('#chart')?.dataset.amended ?? 0),
    },
    top: {
      state: document.querySelector('#top')?.dataset.state ?? null,
      rows: [...document.querySelectorAll('#top tbody tr')].map((tr) => ({ id: tr.dataset.id, count: Number(tr.dataset.count) })),
    },
    ready: document.querySelector('#readiness')?.dataset.ready ?? null,
    reasons: [...document.querySelectorAll('#reasons li')].map((li) => li.textContent),
    watermark_lag_ms: ds('#wm-lag')?.lagMs !== undefined ? Number(ds('#wm-lag').lagMs) : null,
    totals: Object.fromEntries(['counted', 'duplicate', 'late', 'rejected'].map((k) => {
      const c = ds(`#tot-${k}`)?.count;
      return [k, c !== undefined ? Number(c) : null];
    })),
    last_event: (() => { const d = ds('#last-event') || {}; return { count: d.count !== undefined ? Number(d.count) : null, kind: d.kind ?? null, id: d.id ?? null, events: Number(d.events ?? 0) }; })(),
    live: document.querySelector('#live-state')?.dataset.state ?? null,
    messages: {
      controls: visibleText('#control-error'),
      chart: visibleText('#chart-empty'),
      top: visibleText('#top-error'),
    },
    url: location.pathname + location.search,
  };
}

function unmet(seen) {
  const out = [];
  if (opt.total !== null) {
    if (seen.series.total !== Number(opt.total)) out.push(`#series-total data-total is ${seen.series.total ?? 'absent'}, expected ${opt.total}`);
  } else if (seen.series.total === null) {
    out.push(`the series has not loaded (#series-total data-state=${seen.series.state})`);
  }
  const first = seen.top.rows[0];
  if (opt.topId !== null && (!first || first.id !== opt.topId))
    out.push(`the first #top row has id ${first ? first.id : 'none'}, expected ${opt.topId}`);
  if (opt.topCount !== null && (!first || first.count !== Number(opt.topCount)))
    out.push(`the first #top row has count ${first ? first.count : 'none'}, expected ${opt.topCount}`);
  if (opt.topId === null && opt.topCount === null && !['ok', 'empty'].includes(seen.top.state))
    out.push(`the top table has not loaded (#top data-state=${seen.top.state})`);
  return out;
}

async function main() {
  if (!fs.existsSync(opt.chromium)) {
    console.error(`dashboard_test: no browser at ${opt.chromium} (apt-get install chromium, or scripts/install-deps.sh)`);
    process.exit(2);
  }
  fs.mkdirSync(opt.out, { recursive: true });
  const shot = path.join(opt.out, 'dashboard.png');
  const pageErrors = [], consoleErrors = [], failedRequests = [];
  const browser = await chromium.launch({ executablePath: opt.chromium, args: ['--no-sandbox'], timeout: 30000 });
  let result = { ok: false };
  let code = 1;
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1, timezoneId: 'UTC' });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e && e.message ? e.message : e)));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('requestfailed', (r) => {
      if (!r.url().includes('/v1/stream')) failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`);
    });
    // Nothing may come from another host: the page is self-contained.
    const origin = new URL(opt.url).origin;
    const foreign = [];
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(origin) || u.startsWith('data:')) return route.continue();
      foreign.push(u);
      return route.abort();
    });

    let seen = null, missing = ['the page did not load'];
    try {
      const res = await page.goto(opt.url, { waitUntil: 'domcontentloaded', timeout: Math.max(1000, opt.timeoutMs) });
      if (!res || !res.ok()) missing = [`GET ${opt.url} answered ${res ? res.status() : 'nothing'}`];
      else {
        const deadline = started + opt.timeoutMs;
        for (;;) {
          // --expect-file: the expectations arrive while the page runs (the clicks that make
          // them are published after it loaded); until then nothing is met.
          if (opt.expectFile) {
            try {
              const e = JSON.parse(fs.readFileSync(opt.expectFile, 'utf8'));
              opt.total = String(e.total); opt.topId = String(e.top_id); opt.topCount = String(e.top_count);
            } catch { /* not written yet */ }
          }
          seen = await page.evaluate(readHooks);
          missing = opt.expectFile && opt.total === null ? ['the expectations (--expect-file) are not written yet'] : unmet(seen);
          if (!missing.length || Date.now() >= deadline) break;
          await page.waitForTimeout(250);
        }
      }
    } catch (e) {
      missing = [`loading the page failed: ${e.message.split('\n')[0]}`];
    }
    if (!missing.length) await page.waitForTimeout(300); // let the chart finish its frame
    try {
      await page.screenshot({ path: shot, timeout: 15000 });
    } catch (e) {
      missing.push(`no screenshot: ${e.message.split('\n')[0]}`);
    }
    if (pageErrors.length && !opt.allowPageErrors) missing.push(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
    if (foreign.length) missing.push(`the page asked another host: ${foreign.join(', ')}`);
    const ok = missing.length === 0;
    result = {
      ok, elapsed_ms: Date.now() - started, url: opt.url, screenshot: shot,
      expected: { total: opt.total === null ? null : Number(opt.total), top_id: opt.topId, top_count: opt.topCount === null ? null : Number(opt.topCount) },
      unmet: missing, saw: seen, page_errors: pageErrors, console_errors: consoleErrors, failed_requests: failedRequests,
    };
    code = ok ? 0 : 1;
  } finally {
    await browser.close().catch(() => {});
  }
  console.log(JSON.stringify(result, null, 2));
  if (code !== 0) {
    const why = result.unmet && result.unmet.length ? result.unmet.join('; ') : 'unknown';
    const timedOut = Date.now() - started >= opt.timeoutMs;
    console.error(`dashboard_test: FAILED${timedOut ? ` after ${opt.timeoutMs} ms` : ''}: ${why} (screenshot: ${result.screenshot || 'none'})`);
  }
  return code;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`dashboard_test: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
