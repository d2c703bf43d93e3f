/**
 * report.html from a real run, rendered by headless Chromium: the page must
 * draw every chart (the DOM Chromium builds holds every <svg>), log nothing to
 * the console (a CSP violation — an external reference — or a script error
 * would show there) and screenshot to a non-trivial PNG.
 *
 * Console messages are read from Chromium's own log (--enable-logging=stderr):
 * the page has no script, so a DevTools client would add a WebSocket client
 * for nothing; a control page below proves the log does carry them.
 * Set RTBENCH_REPORT_SCREENSHOT=<file.png> to keep the screenshot.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { CHROMIUM, chromium as runChromium, consoleLines } from '../helpers/chromium.js';
import { runCli } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';

const skip = !CHROMIUM
  ? 'headless Chromium not installed (Debian: apt-get install -y chromium)'
  : !pgAvailable() ? 'PostgreSQL server binaries not installed' : false;

let base: string;

const chromium = (file: string, extra: readonly string[]): ReturnType<typeof runChromium> => runChromium(CHROMIUM!, file, base, extra);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

before(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-report-'));
  // As root the cluster runs as `postgres`, which must reach its directory below.
  await fs.chmod(base, 0o755);
});
after(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe('report.html in headless Chromium', { skip }, () => {
  let cluster: LocalCluster | undefined;
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('control: a CSP violation and a console.error reach the captured log', { timeout: 60_000 }, async () => {
    const page = path.join(base, 'control.html');
    await fs.writeFile(page, `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'">` +
      `<title>control</title></head><body><img src="http://example.invalid/x.png"><script>console.error('control-error')</script></body></html>`);
    const r = await chromium(page, ['--dump-dom']);
    assert.equal(r.code, 0, r.stderr);
    const logged = consoleLines(r.stderr).join('\n');
    assert.match(logged, /Content Security Policy/);
    assert.match(logged, /control-error/);
  });

  test('a real run: every chart in the DOM, nothing on the console, a non-trivial screenshot', { timeout: 180_000 }, async () => {
    const resultsDir = path.join(base, 'results');
    const run = await runCli(
      ['run', '--url', cluster!.url, '--duration', '4', '--warmup', '1', '--rate', '200', '--progress', '0',
        '--rollup', 'incremental', '--rollup-interval', '1s', '--preload-rows', '2000', '--viewers', '1', '--refresh', '1s', '--min-samples', '3', '--results-dir', resultsDir],
      { timeoutMs: 150_000 },
    );
    // 3 = a run marked invalid (a slow CI machine); its report is written all the same.
    assert.ok(run.code === 0 || run.code === 3, `rtbench run exited ${run.code}\n${run.stdout}\n${run.stderr}`);
    const [runId] = await fs.readdir(resultsDir);
    assert.ok(runId, 'a run directory');
    const report = path.join(resultsDir, runId, 'report.html');
    const html = await fs.readFile(report, 'utf8');
    assert.ok((await fs.stat(path.join(resultsDir, runId, 'report.md'))).size > 500, 'report.md written too');

    const svgs = html.match(/<svg\b/g)?.length ?? 0;
    const figures = [...html.matchAll(/<figure id="(c-[\w-]+)">/g)].map((m) => m[1]!);
    assert.ok(svgs >= 8, `rate, latency, problems, distributions and probe bars: ${svgs} charts`);
    assert.equal(figures.length, svgs);
    assert.ok(figures.includes('c-probe-bars-0'), `probe bars drawn: ${figures.join(', ')}`);

    // The DOM after parsing and layout: every chart survived, every line of every chart too.
    const dom = await chromium(report, ['--dump-dom']);
    assert.equal(dom.code, 0, dom.stderr);
    assert.equal(dom.stdout.match(/<svg\b/g)?.length ?? 0, svgs, 'every <svg> in the rendered DOM');
    assert.equal(dom.stdout.match(/<polyline\b/g)?.length ?? 0, html.match(/<polyline\b/g)?.length ?? 0, 'every polyline');
    for (const id of figures) assert.ok(dom.stdout.includes(`id="${id}"`), `figure ${id} in the DOM`);
    assert.ok(dom.stdout.includes(`rtbench run ${runId}`));
    assert.deepEqual(consoleLines(dom.stderr), [], 'no console message (CSP violation, script error) while loading');

    const png = path.join(base, 'report.png');
    const shot = await chromium(report, [`--screenshot=${png}`, '--window-size=1280,2400', '--hide-scrollbars']);
    assert.equal(shot.code, 0, shot.stderr);
    assert.deepEqual(consoleLines(shot.stderr), []);
    const bytes = await fs.readFile(png);
    assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature');
    assert.equal(bytes.readUInt32BE(16), 1280, 'IHDR width');
    assert.equal(bytes.readUInt32BE(20), 2400, 'IHDR height');
    assert.ok(bytes.length > 10_000, `screenshot is ${bytes.length} bytes: a blank page compresses to far less`);
    const keep = process.env['RTBENCH_REPORT_SCREENSHOT'];
    if (keep) await fs.copyFile(png, keep);
  });
});
