/**
 * The live page and report.html (the same page) in a real browser: headless
 * Chromium driven by playwright-core. During a short run the live page's rate
 * chart gains points as the intervals arrive; a browser that connects late
 * gets the history first; the finished report.html, opened from disk with
 * the network cut, draws every chart (a canvas each, painted) and fills the
 * tables, with nothing on the console (a CSP violation or a script error
 * would show there). Set RTBENCH_SCREENSHOTS=<dir> to keep the screenshots
 * (docs/img/live-run.png, docs/img/report-run.png are made this way).
 *
 * `rtbench ui DIR` on a run still being written (no --ui): the run streams its
 * page events into its dir (page-events.jsonl), and the page served from the
 * dir shows what --ui would have while the run goes: the panels × windows,
 * the server's waits and freshness gain points before the run ends; when it
 * ends, the page becomes its report.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { CHROMIUM, drawnCharts, launchBrowser, tableRows, untilCharts, untilFinished, untilPoints, watchErrors } from '../helpers/browser.js';
import { sleep, startCli } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { day } from '../helpers/day-model.js';
import { pageHtml } from '../../src/report/page.js';

const skip = !CHROMIUM
  ? 'headless Chromium not installed (Debian: apt-get install -y chromium)'
  : !pgAvailable() ? 'PostgreSQL server binaries not installed' : false;

let base: string;

before(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-page-'));
  // As root the cluster runs as `postgres`, which must reach its directory below.
  await fs.chmod(base, 0o755);
});
after(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

const points = async (page: Page, id: string): Promise<number> => (await drawnCharts(page)).find((c) => c.id === id)?.points ?? 0;

describe('the live page and report.html in headless Chromium', { skip }, () => {
  let cluster: LocalCluster | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  before(async () => {
    cluster = await startTestCluster();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  test('a run with --ui: the rate chart grows, a late browser gets the history, report.html draws every chart offline', { timeout: 240_000 }, async () => {
    const resultsDir = path.join(base, 'results');
    const cli = startCli(
      ['run', '--url', cluster!.url, '--duration', '8', '--warmup', '1', '--rate', '200', '--progress', '0', '--ui', '0',
        '--rollup', 'incremental', '--rollup-interval', '1s', '--preload-rows', '2000', '--viewers', '1', '--refresh', '1s', '--min-samples', '3', '--results-dir', resultsDir],
      { timeoutMs: 200_000 },
    );
    // The URL is printed once the page listens (port 0: any free port); loopback, so no token.
    let url: string | undefined;
    for (let i = 0; i < 600 && !url; i++) {
      url = /live page (http:\/\/127\.0\.0\.1:\d+\/)(?:\s|$)/.exec(cli.stderr())?.[1];
      if (!url) await sleep(100);
    }
    assert.ok(url, `live page URL printed\n${cli.stderr()}`);
    const ctx = await browser!.browser.newContext({ viewport: { width: 1280, height: 1800 } });
    const early = await ctx.newPage();
    const earlyErrors = watchErrors(early);
    await early.goto(url);
    // The rate chart gains points as intervals arrive.
    await untilPoints(early, 'rate', 2, 120_000);
    const first = await points(early, 'rate');
    await untilPoints(early, 'rate', first + 2);
    const second = await points(early, 'rate');
    assert.ok(second >= first + 2, `rate chart grew: ${first} → ${second} points`);
    assert.match(await early.textContent('#status') ?? '', /left in this run|phase/);
    // Each second: the panels × windows so far, the server's waits and CPU, freshness.
    await early.waitForSelector('#t-panels tbody tr', { timeout: 60_000 });
    await untilPoints(early, 'server-waits', 2, 60_000);
    await untilPoints(early, 'freshness-over-time', 1, 60_000);
    const panelsN = async (): Promise<string> => (await early.textContent('#t-panels tbody')) ?? '';
    const before = await panelsN();
    await early.waitForFunction((b) => (globalThis as any).document.querySelector('#t-panels tbody')?.textContent !== b, before, { timeout: 20_000, polling: 200 }); // eslint-disable-line @typescript-eslint/no-explicit-any

    // A late browser: the history so far arrives first (at once, not one point per second).
    const late = await ctx.newPage();
    const lateErrors = watchErrors(late);
    const have = await points(early, 'rate');
    const t0 = Date.now();
    await late.goto(url);
    await untilPoints(late, 'rate', have, 10_000);
    const tookMs = Date.now() - t0;
    assert.ok(have >= 4, `the early page had ${have} points when the late one opened`);
    const shots = process.env['RTBENCH_SCREENSHOTS'];
    if (shots) await late.screenshot({ path: path.join(shots, 'live-run.png'), fullPage: false });

    const res = await cli.done;
    // 3 = a run marked invalid (a slow CI machine); its report is written all the same.
    assert.ok(res.code === 0 || res.code === 3, `rtbench run exited ${res.code}\n${res.stdout}\n${res.stderr}`);
    // The live page became the report: the final model arrived.
    await untilFinished(early, 10_000);
    assert.deepEqual(earlyErrors, []);
    assert.deepEqual(lateErrors, []);
    assert.ok(tookMs < 10_000);
    await ctx.close();

    // report.html from disk, the network cut: every chart drawn, the tables filled.
    const [runId] = await fs.readdir(resultsDir);
    assert.ok(runId, 'a run directory');
    const report = path.join(resultsDir, runId, 'report.html');
    const html = await fs.readFile(report, 'utf8');
    assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i, 'nothing referenced: uPlot and the code are inlined');
    const off = await browser!.browser.newContext({ viewport: { width: 1280, height: 2400 }, offline: true });
    const requests: string[] = [];
    off.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    const page = await off.newPage();
    const errors = watchErrors(page);
    await page.goto(pathToFileURL(report).href);
    await untilCharts(page, 20_000);
    const charts = await drawnCharts(page);
    const ids = charts.map((c) => c.id);
    for (const want of ['rate', 'latency-over-time', 'problems-over-time', 'server-waits', 'server-cpu', 'freshness-over-time', 'dist-ingest', 'probe-bars-0']) assert.ok(ids.includes(want), `${want} drawn: ${ids.join(', ')}`);
    // Every time chart carries the same shading and marks (warm-up, outages, failed intervals): lined up in time.
    const extras = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const r = (globalThis as any).__rtbench;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return [...r.charts.values()].filter((e: any) => e.spec.time).map((e: any) => JSON.stringify([e.spec.bands ?? [], e.spec.marks ?? []]));
    });
    assert.ok(extras.length >= 6 && new Set(extras).size === 1, `the same bands on every time axis: ${[...new Set(extras)].join(' | ')}`);
    assert.ok(await page.$$eval('#t-panels tbody tr', (rs) => rs.length) >= 2, 'the panels table in the report');
    assert.ok(charts.length >= 8, `rate, latency, problems, server, distributions and probe bars: ${ids.join(', ')}`);
    for (const c of charts) {
      assert.ok(c.points >= 1, `${c.id}: ${c.points} points`);
      // Axes alone paint a few thousand pixels; a drawn line adds to them. The bound holds for any data.
      assert.ok(c.painted > 2000, `${c.id}: ${c.painted} painted pixels`);
    }
    assert.ok(await tableRows(page) >= 10, 'the tables are filled');
    assert.match(await page.textContent('h1') ?? '', new RegExp(`rtbench run ${runId}`));
    assert.deepEqual(errors, [], 'no console error (CSP violation, script error)');
    assert.deepEqual(requests, [], 'no request beyond the file');
    if (shots) await page.screenshot({ path: path.join(shots, 'report-run.png'), fullPage: true });
    await off.close();

    // rtbench ui DIR: the finished dir's page, served until Ctrl-C.
    const ui = startCli(['ui', path.join(resultsDir, runId), '--ui', '0'], { timeoutMs: 60_000 });
    let uiUrl: string | undefined;
    for (let i = 0; i < 300 && !uiUrl; i++) {
      uiUrl = /live page (http:\/\/127\.0\.0\.1:\d+\/)(?:\s|$)/.exec(ui.stderr())?.[1];
      if (!uiUrl) await sleep(100);
    }
    assert.ok(uiUrl, `rtbench ui printed its URL\n${ui.stderr()}`);
    const served = await browser!.browser.newPage();
    await served.goto(uiUrl);
    await untilCharts(served);
    assert.deepEqual((await drawnCharts(served)).map((c) => c.id), ids, 'the same charts as report.html');
    await served.close();
    ui.signal('SIGINT');
    const uiEnd = await ui.done;
    assert.equal(uiEnd.code, 0, uiEnd.stderr);
  });

  test('rtbench ui DIR on a running run (no --ui): the panels, the server\'s waits and freshness reach the followed page while the run goes', { timeout: 300_000 }, async () => {
    const resultsDir = path.join(base, 'results-follow');
    const run = startCli(
      ['run', '--url', cluster!.url, '--duration', '14', '--warmup', '1', '--rate', '200', '--progress', '0',
        '--rollup', 'incremental', '--rollup-interval', '1s', '--preload-rows', '2000', '--viewers', '1', '--refresh', '1s', '--min-samples', '3', '--results-dir', resultsDir],
      { timeoutMs: 240_000 },
    );
    let ended = false;
    void run.done.finally(() => (ended = true));
    // The run dir and its page events appear when the load starts.
    let dir: string | undefined;
    for (let i = 0; i < 1200 && !dir && !ended; i++) {
      const [id] = await fs.readdir(resultsDir).catch(() => [] as string[]);
      if (id && await fs.stat(path.join(resultsDir, id, 'page-events.jsonl')).then(() => true, () => false)) dir = path.join(resultsDir, id);
      else await sleep(100);
    }
    assert.ok(dir, `the run dir with page-events.jsonl\n${run.stderr()}`);
    const ui = startCli(['ui', dir, '--ui', '0'], { timeoutMs: 240_000 });
    try {
      let url: string | undefined;
      for (let i = 0; i < 300 && !url; i++) {
        url = /live page (http:\/\/127\.0\.0\.1:\d+\/)(?:\s|$)/.exec(ui.stderr())?.[1];
        if (!url) await sleep(100);
      }
      assert.ok(url, `rtbench ui printed its URL\n${ui.stderr()}`);
      const page = await browser!.browser.newPage({ viewport: { width: 1280, height: 1800 } });
      const errors = watchErrors(page);
      await page.goto(url);
      // What only --ui had before: the panels × windows, the server's seconds, freshness; then the same charts gain points.
      await page.waitForSelector('#t-panels tbody tr', { timeout: 60_000 });
      await untilPoints(page, 'server-waits', 2, 60_000);
      await untilPoints(page, 'freshness-over-time', 1, 60_000);
      const waits = await points(page, 'server-waits');
      const rate = await points(page, 'rate');
      await untilPoints(page, 'server-waits', waits + 2, 30_000);
      await untilPoints(page, 'rate', rate + 2, 30_000);
      const runJson = JSON.parse(await fs.readFile(path.join(dir, 'run.json'), 'utf8')) as { status: string };
      assert.ok(!ended && runJson.status === 'running', `the charts grew while the run went (server-waits ${waits} → ${await points(page, 'server-waits')}, rate ${rate} → ${await points(page, 'rate')})`);
      assert.match(await page.textContent('#status') ?? '', /left in this run|phase/, 'the phase and the time left');

      const res = await run.done;
      assert.ok(res.code === 0 || res.code === 3, `rtbench run exited ${res.code}\n${res.stdout}\n${res.stderr}`);
      // The dir's report.html appears: the followed page becomes the report.
      await untilFinished(page, 30_000);
      await untilPoints(page, 'dist-ingest', 1, 30_000);
      assert.deepEqual(errors, [], 'no console error');
      await page.close();
    } finally {
      ui.signal('SIGINT');
      await ui.done.catch(() => undefined);
      if (!ended) run.signal('SIGINT');
      await run.done.catch(() => undefined);
    }
  });

  test('a day-long run\'s report.html: thinned to ~1 MB, every time chart drawn offline, the 1 s outage and the failed intervals marked', { timeout: 120_000 }, async () => {
    const file = path.join(base, 'day-report.html');
    const html = pageHtml(day());
    await fs.writeFile(file, html);
    assert.ok(Buffer.byteLength(html) < 1_500_000, `${Buffer.byteLength(html)} bytes`);
    const ctx = await browser!.browser.newContext({ viewport: { width: 1280, height: 2400 }, offline: true });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await page.goto(pathToFileURL(file).href);
    await untilCharts(page, 30_000);
    const charts = await drawnCharts(page);
    for (const id of ['rate', 'latency-over-time', 'problems-over-time', 'server-waits', 'server-cpu', 'freshness-over-time']) {
      const c = charts.find((x) => x.id === id);
      assert.ok(c && c.points >= 1000 && c.points <= 2100 && c.painted > 2000, `${id}: ${JSON.stringify(c)}`);
    }
    const spec = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const e = (globalThis as any).__rtbench.charts.get('latency-over-time');
      return { title: e.spec.title as string, outages: (e.spec.bands ?? []).filter((b: { kind: string }) => b.kind === 'outage').length as number, marks: (e.spec.marks ?? []).length as number };
    });
    assert.match(spec.title, /1 point = \d+ s, the worst p99 of each/);
    assert.deepEqual([spec.outages, spec.marks], [1, 2], 'the outage band and both failed intervals');
    assert.deepEqual(errors, []);
    await ctx.close();
  });
});
