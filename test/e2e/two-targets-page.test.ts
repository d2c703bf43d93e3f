/**
 * The pages of the two-target commands in a real browser (playwright-core,
 * system Chromium), against two local servers: `capacity --a --b --ui` shows
 * both targets' curves on one chart with the ratio b/a and its bracket, and its
 * time charts hold every trial of both searches end to end; `compare-targets
 * --ui` shows both runs end to end while they go and ends with the comparison
 * table, the same page as its report.html (opened offline). Set
 * RTBENCH_SCREENSHOTS=<dir> to keep capacity-pair.png and compare-targets.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { CHROMIUM, drawnCharts, launchBrowser, tableRows, untilCharts, untilFinished, untilPoints, watchErrors } from '../helpers/browser.js';
import { sleep, startCli, type StartedCli } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';

const skip = !CHROMIUM
  ? 'headless Chromium not installed (Debian: apt-get install -y chromium)'
  : !pgAvailable() ? 'PostgreSQL server binaries not installed' : false;
const area = useTempArea('rtbench-e2e-two-targets-');

async function pageUrl(cli: StartedCli): Promise<string> {
  for (let i = 0; i < 1200; i++) {
    const url = /live page (http:\/\/127\.0\.0\.1:\d+\/)(?:\s|$)/.exec(cli.stderr())?.[1];
    if (url) return url;
    await sleep(100);
  }
  assert.fail(`live page URL printed\n${cli.stderr()}`);
}

/** A browser context and page, with its errors collected; `offline`: the network cut. */
async function openPage(b: Browser, url: string, offline = false): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const ctx = await b.newContext({ viewport: { width: 1280, height: 1800 }, offline });
  const page = await ctx.newPage();
  const errors = watchErrors(page);
  await page.goto(url);
  return { page, errors, close: () => ctx.close() };
}

/** A chart's spec and drawn data as the page holds them. */
async function chartOf(page: Page, id: string): Promise<{ title: string; names: string[]; xs: number[]; bands: Array<{ kind: string; label: string }> } | null> {
  return page.evaluate((cid) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const e = (globalThis as any).__rtbench?.charts.get(cid);
    if (!e) return null;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { title: e.spec.title, names: e.plot.series.slice(1).map((s: any) => String(s.label)), xs: [...e.plot.data[0]], bands: (e.spec.bands ?? []).map((b: any) => ({ kind: b.kind, label: b.label })) };
  }, id);
}

describe('the two-target pages in headless Chromium', { skip }, () => {
  let a: LocalCluster | undefined;
  let b: LocalCluster | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  before(async () => {
    a = await startTestCluster();
    b = await startTestCluster();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await a?.stop();
    await b?.stop();
  });

  test('capacity --a --b --ui: both curves on one chart, the ratio and its bracket, every trial on the time axis', { timeout: 400_000 }, async () => {
    const resultsDir = path.join(area.base, 'capacity');
    // Low rates and a loose SLO, 3 short trials per side: the page, not the search, is under test.
    const cli = startCli(['capacity', '--a', a!.url, '--b', b!.url, '--workers', '1', '--connections', '2', '--step-warmup', '1s', '--short-duration', '2s', '--trial-duration', '3s',
      '--progress', '0', '--late-threshold-ms', '1000', '--start', '20', '--max', '160', '--max-trials', '3', '--slo', 'ingest.response.p90 <= 2s', '--ui', '0', '--results-dir', resultsDir], { timeoutMs: 380_000 });
    const { page: live, errors, close } = await openPage(browser!.browser, await pageUrl(cli));
    await untilPoints(live, 'capacity', 1, 300_000);
    const res = await cli.done;
    assert.ok([0, 3, 4, 99].includes(res.code ?? -1), `rtbench capacity exited ${res.code}\n${res.stdout}\n${res.stderr}`);
    await untilFinished(live, 20_000);
    const curve = await chartOf(live, 'capacity');
    assert.ok(curve, 'the curve is drawn');
    assert.ok(curve.names.includes('a: ingest p99') && curve.names.includes('b: ingest p99'), curve.names.join(', '));
    const ratioLine = /^capacity b\/a: [^(\n]*/m.exec(res.stdout)?.[0]?.trim();
    assert.ok(ratioLine, res.stdout);
    // The ratio in the chart's title and on the page, as the command printed it (a value with its bracket, or a bound).
    const lines = (await live.textContent('#lines')) ?? '';
    assert.ok(lines.includes(ratioLine), `${lines}\n${ratioLine}`);
    if (/\[/.test(ratioLine)) assert.match(curve.title, /capacity b\/a \d+\.\d\d× \[/);
    const [id] = (await fs.readdir(resultsDir)).filter((e) => !e.startsWith('.'));
    const trials = await Promise.all(['a', 'b'].map(async (side) => (JSON.parse(await fs.readFile(path.join(resultsDir, id!, side, 'capacity.json'), 'utf8')) as { trials: unknown[] }).trials.length));
    // Each side's trials, one per offered rate, on one axis; the bracket of each side shaded when it has one.
    const rate = await chartOf(live, 'rate');
    assert.ok(rate, 'the search timeline is drawn');
    const steps = rate.bands.filter((x) => x.kind === 'step').map((x) => x.label);
    assert.equal(steps.length, trials[0]! + trials[1]!, steps.join(', '));
    assert.ok(steps.some((l) => /\(a\)/.test(l)) && steps.some((l) => /\(b\)/.test(l)), steps.join(', '));
    assert.ok(await tableRows(live) >= trials[0]! + trials[1]!, 'the trials table has both targets\' trials');
    const shots = process.env['RTBENCH_SCREENSHOTS'];
    if (shots) await live.screenshot({ path: path.join(shots, 'capacity-pair.png') });
    assert.deepEqual(errors, []);
    await close();

    // report.html of the pair, offline: the same page.
    const { page, errors: offErrors, close: closeOff } = await openPage(browser!.browser, pathToFileURL(path.join(resultsDir, id!, 'report.html')).href, true);
    await untilCharts(page);
    const drawn = await drawnCharts(page);
    for (const want of ['capacity', 'rate', 'latency-over-time']) {
      const c = drawn.find((d) => d.id === want);
      assert.ok(c && c.points >= 1 && c.painted > 2000, `${want}: ${JSON.stringify(c)}`);
    }
    assert.deepEqual((await chartOf(page, 'capacity'))!.names, curve.names);
    assert.deepEqual(offErrors, []);
    await closeOff();
  });

  test('compare-targets --ui: both runs on the time axis as they go, then the comparison table; report.html the same page offline', { timeout: 300_000 }, async () => {
    const resultsDir = path.join(area.base, 'compare');
    const cli = startCli(['compare-targets', '--a', a!.url, '--b', b!.url, '--duration', '4', '--warmup', '1', '--rate', '100', '--progress', '0', '--ui', '0',
      '--rollup', 'incremental', '--rollup-interval', '1s', '--preload-rows', '2000', '--viewers', '1', '--refresh', '1s', '--min-samples', '3', '--results-dir', resultsDir], { timeoutMs: 280_000 });
    const { page: live, errors, close } = await openPage(browser!.browser, await pageUrl(cli));
    await untilPoints(live, 'rate', 2, 200_000);
    const res = await cli.done;
    assert.ok([0, 3].includes(res.code ?? -1), `rtbench compare-targets exited ${res.code}\n${res.stdout}\n${res.stderr}`);
    await untilFinished(live, 20_000);
    const rate = await chartOf(live, 'rate');
    assert.deepEqual(rate!.bands.filter((x) => x.kind === 'step').map((x) => x.label), ['a', 'b'], 'both runs, end to end');
    const table = (await live.textContent('#t-comparison')) ?? '';
    assert.match(table, /b\/a/);
    assert.ok(await live.$$eval('#t-comparison tbody tr', (rs) => rs.length) >= 5, 'the comparison rows');
    const lines = (await live.textContent('#lines')) ?? '';
    assert.match(lines, /a: .*run a-/);
    assert.match(lines, /b: .*run b-/);
    const shots = process.env['RTBENCH_SCREENSHOTS'];
    if (shots) await live.screenshot({ path: path.join(shots, 'compare-targets.png') });
    assert.deepEqual(errors, []);
    await close();

    const [id] = (await fs.readdir(resultsDir)).filter((e) => !e.startsWith('.'));
    const { page, errors: offErrors, close: closeOff } = await openPage(browser!.browser, pathToFileURL(path.join(resultsDir, id!, 'report.html')).href, true);
    await untilCharts(page);
    const drawn = await drawnCharts(page);
    for (const c of drawn) assert.ok(c.points >= 1 && c.painted > 2000, `${c.id}: ${JSON.stringify(c)}`);
    assert.ok(drawn.some((c) => c.id === 'server-waits'), drawn.map((c) => c.id).join(', '));
    assert.deepEqual((await chartOf(page, 'rate'))!.bands.filter((x) => x.kind === 'step').map((x) => x.label), ['a', 'b']);
    assert.ok(await page.$$eval('#t-comparison tbody tr', (rs) => rs.length) >= 5);
    assert.deepEqual(offErrors, []);
    await closeOff();
  });
});
