/**
 * npm run bench:report — the size of the page (report.html and the live
 * page): the fixed part (uPlot, its CSS, the page's code) and what a run adds
 * per interval, for runs of 1 minute, 1 hour and 1 day of 1 s intervals, and
 * the time to render each. With result dirs as arguments, also the size of
 * their report.html. Prints figures; asserts nothing.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { emptyModel, type PageInterval, type PageServerSecond } from '../../src/report/page-model.js';
import { pageHtml } from '../../src/report/page.js';
import { uplotAsset } from '../../src/report/uplot-asset.js';

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
  console.log('intervals  page size   per interval  render ms');
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
    console.log(`${String(n).padStart(9)}  ${kB(bytes).padStart(10)}  ${`${((bytes - Buffer.byteLength(empty)) / n).toFixed(0)} B`.padStart(12)}  ${ms.toFixed(1).padStart(9)}`);
  }
}
for (const dir of process.argv.slice(2)) {
  const file = path.join(dir, 'report.html');
  const size = (await stat(file)).size;
  const model = /<script type="application\/json" id="rtbench-model">([^<]*)<\/script>/.exec(await readFile(file, 'utf8'))?.[1] ?? '';
  console.log(`${file}: ${kB(size)} (model ${kB(Buffer.byteLength(model))})`);
}
