/**
 * npm run bench:report — the size of the page (report.html and the live
 * page): the fixed part (uPlot, its CSS, the page's code) and what a run adds
 * per interval, for runs of 1 minute, 1 hour and 1 day of 1 s intervals (the
 * time series thinned to about 2,000 points each: report/thin.ts), the time
 * to build each, and the history a late browser of the live page gets; then
 * what page-events.jsonl costs a run per second (bytes, CPU). With result dirs
 * as arguments, also the size of their report.html. Prints figures; asserts nothing.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { emptyModel, type PageInterval, type PageServerSecond } from '../../src/report/page-model.js';
import { pageHtml } from '../../src/report/page.js';
import { uplotAsset } from '../../src/report/uplot-asset.js';
import { PageEventFile } from '../../src/results/page-events.js';
import { PageHub } from '../../src/ui/page-hub.js';

const kB = (n: number): string => `${(n / 1024).toFixed(1)} kB`;

function interval(i: number): PageInterval {
  // Values of a typical run (the shape, not the values, sets the size: numbers of similar lengths).
  return { step: 0, t: i, warmup: i <= 5, targetHz: 2000, achievedHz: 1999.5, ops: 1999, p50Us: 812, p99Us: 4123, serviceP99Us: 3987, lagP99Us: 141, errors: 0, late: 3, dropped: 0 };
}

const { js, css } = uplotAsset();
const empty = pageHtml(emptyModel('run', 'rtbench run bench'));
console.log(`uPlot ${kB(Buffer.byteLength(js))} + CSS ${kB(Buffer.byteLength(css))}; an empty page (uPlot, CSS, the page's code): ${kB(Buffer.byteLength(empty))}`);
function second(i: number): PageServerSecond {
  // A run with the sampler on: waits of three roles, CPU, WAL (server.csv's row).
  return { step: 0, t: i, waits: { 'ingest CPU': 0.412, 'ingest LWLock': 0.087, 'rollup CPU': 0.031 }, walMBps: 0.8123, serverCores: 0.634, clientCores: 0.412, clientMainCores: 0.051, cpuPressure: 0.234 };
}

for (const withServer of [false, true]) {
  console.log(withServer
    ? 'with the sampler\'s seconds (waits of 3 roles, CPU, WAL) and a freshness marker every 2 s (a run\'s default):'
    : 'intervals only (--sample-interval 0, no rollup):');
  console.log('intervals  page size   per interval  build ms  late browser\'s history');
  for (const n of [60, 3600, 86_400]) {
    const m = emptyModel('run', 'rtbench run bench');
    m.finished = true;
    for (let i = 1; i <= n; i++) {
      m.intervals.push(interval(i));
      if (!withServer) continue;
      m.server.push(second(i));
      if (i % 2 === 0) m.freshness.push({ step: 0, t: i + 0.25, us: 1_234_567, kind: 'seen' });
    }
    const t0 = performance.now();
    const html = pageHtml(m);
    const ms = performance.now() - t0;
    const bytes = Buffer.byteLength(html);
    // The live page's hub fed the same events: what a browser that connects at the end gets.
    const hub = new PageHub(emptyModel('run', 'rtbench run bench (live)'));
    for (const r of m.intervals) hub.publish({ type: 'interval', row: r });
    for (const r of m.server) hub.publish({ type: 'server', row: r });
    if (m.freshness.length > 0) hub.publish({ type: 'freshness', points: m.freshness });
    let history = '';
    const h0 = performance.now();
    hub.attach({ write: (c: string) => (history += c), end: () => undefined });
    const hMs = performance.now() - h0;
    console.log(`${String(n).padStart(9)}  ${kB(bytes).padStart(10)}  ${`${((bytes - Buffer.byteLength(empty)) / n).toFixed(0)} B`.padStart(12)}  ${ms.toFixed(1).padStart(8)}  ${kB(Buffer.byteLength(history))} in ${hMs.toFixed(1)} ms`);
  }
}

// page-events.jsonl: a second of a default run's events (an interval, the sampler's second, a freshness marker
// every 2 s, the oldest unseen, 24 panel cells), written as a run writes them, fsynced each (injected) second.
{
  const seconds = 600;
  const dir = await mkdtemp(path.join(tmpdir(), 'rtbench-bench-events-'));
  let now = 0;
  const file = new PageEventFile({ dir: () => dir, now: () => now });
  const cells = Array.from({ length: 24 }, (_, i) => ({ probe: `probe-${i % 8}-rollup`, window: ['5m', '1h', '1d'][i % 3]!, p50Us: 81_234, p95Us: 412_345, n: 1234 }));
  await file.stepStart();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 1; i <= seconds; i++) {
    now = i * 1000;
    file.publish({ type: 'interval', row: interval(i) });
    file.publish({ type: 'server', row: second(i) });
    file.publish({ type: 'freshness', points: [...(i % 2 === 0 ? [{ step: 0, t: i - 0.75, us: 1_234_567, kind: 'seen' as const }] : []), { step: 0, t: i, us: 812_345, kind: 'pending' as const }] });
    file.publish({ type: 'panels', step: 0, cells });
    // Let the write of this second go, as the run's event loop would between intervals.
    await new Promise((r) => setImmediate(r));
  }
  await file.close();
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  const bytes = (await stat(path.join(dir, 'page-events.jsonl'))).size;
  console.log(`page-events.jsonl, ${seconds} s of a default run's events (24 panel cells every 5 s): ${(bytes / seconds).toFixed(0)} B per second (${kB(bytes * 3600 / seconds)} an hour), ` +
    `CPU ${((cpu.user + cpu.system) / seconds).toFixed(0)} µs per second, ${(wallMs / seconds).toFixed(2)} ms wall per second with its fsync`);
  await rm(dir, { recursive: true, force: true });
}
for (const dir of process.argv.slice(2)) {
  const file = path.join(dir, 'report.html');
  const size = (await stat(file)).size;
  const model = /<script type="application\/json" id="rtbench-model">([^<]*)<\/script>/.exec(await readFile(file, 'utf8'))?.[1] ?? '';
  console.log(`${file}: ${kB(size)} (model ${kB(Buffer.byteLength(model))})`);
}
