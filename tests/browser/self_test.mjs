#!/usr/bin/env node
// The harness's own test: starts fake_api.mjs on a free loopback port, runs dashboard_test.mjs
// against it with the numbers the fake announces, then stops the fake (by its pid).
//
//   node tests/browser/self_test.mjs [--out DIR] [--live-clicks N] [--timeout-ms T]
//
// Exit code: the harness's. DIR/dashboard.png is the screenshot (default DIR: a temp directory).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const o = { out: null, liveClicks: 6, timeoutMs: 45000 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--out') o.out = process.argv[++i];
  else if (a === '--live-clicks') o.liveClicks = Number(process.argv[++i]);
  else if (a === '--timeout-ms') o.timeoutMs = Number(process.argv[++i]);
  else { console.error(`self_test: unknown argument ${a}`); process.exit(2); }
}
o.out ??= fs.mkdtempSync(path.join(os.tmpdir(), 'adclick-dashboard-'));

const lifetimeS = Math.ceil(o.timeoutMs / 1000) + 90;
const fake = spawn(process.execPath, [path.join(here, 'fake_api.mjs'), '--port', '0', '--lifetime-s', String(lifetimeS),
  '--live-clicks', String(o.liveClicks)], { stdio: ['ignore', 'pipe', 'inherit'] });
const stopFake = () => { if (fake.exitCode === null) fake.kill('SIGTERM'); };
process.on('exit', stopFake);
const watchdog = setTimeout(() => { console.error('self_test: the fake did not start within 20 s'); stopFake(); process.exit(1); }, 20000);

const first = await new Promise((resolve) => {
  readline.createInterface({ input: fake.stdout }).once('line', resolve);
  fake.once('exit', () => resolve(null));
});
clearTimeout(watchdog);
if (!first) { console.error('self_test: the fake exited before announcing itself'); process.exit(1); }
const info = JSON.parse(first);
console.error(`self_test: fake at ${info.base}; expecting total ${info.expect_total}, top ad ${info.expect_top_id} with ${info.expect_top_count}`);

const harness = spawn(process.execPath, [path.join(here, 'dashboard_test.mjs'), '--url', info.url, '--out', o.out,
  '--expect-total', String(info.expect_total), '--expect-top-id', String(info.expect_top_id),
  '--expect-top-count', String(info.expect_top_count), '--timeout-ms', String(Math.max(o.timeoutMs, info.settle_ms + 15000))],
{ stdio: 'inherit' });
const code = await new Promise((resolve) => harness.once('exit', (c) => resolve(c ?? 1)));
stopFake();
console.error(`self_test: ${code === 0 ? 'passed' : 'FAILED'} (screenshot ${path.join(o.out, 'dashboard.png')})`);
process.exit(code);
