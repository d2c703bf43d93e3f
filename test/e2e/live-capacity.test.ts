/**
 * A capacity search's page in a real browser (playwright-core, system
 * Chromium): during `capacity --ui` the curve gains a point per trial and the
 * trials table grows; the finished report.html, offline, draws the curve with
 * at least 3 points in offered-rate order; the two-target page of the same
 * trials (as a and b) draws both curves on one chart with the ratio. Set
 * RTBENCH_SCREENSHOTS=<dir> to keep live-capacity.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { CapacityResult } from '../../src/capacity/result.js';
import { capacityPairHtml } from '../../src/report/capacity-report.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { CHROMIUM, drawnCharts, launchBrowser, tableRows, untilCharts, untilPoints, watchErrors } from '../helpers/browser.js';
import { sleep, startCli } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';

const skip = !CHROMIUM
  ? 'headless Chromium not installed (Debian: apt-get install -y chromium)'
  : !pgAvailable() ? 'PostgreSQL server binaries not installed' : false;
const area = useTempArea('rtbench-e2e-live-capacity-');

/** The curve's x values (offered rates) and its series names, read from the drawn uPlot. */
async function curve(page: Page): Promise<{ xs: number[]; names: string[] }> {
  return page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const e = (globalThis as any).__rtbench.charts.get('capacity');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { xs: [...e.plot.data[0]] as number[], names: e.plot.series.slice(1).map((s: any) => String(s.label)) as string[] };
  });
}

describe('a capacity search\'s page in headless Chromium', { skip }, () => {
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

  test('the curve forms trial by trial, live and in report.html; the two-target page shows both', { timeout: 300_000 }, async () => {
    const resultsDir = path.join(area.base, 'results');
    // Low rates and a loose SLO: the search climbs 20, 40, 80… (or bisects down), a new rate at nearly every trial, whatever the load.
    const cli = startCli(['capacity', '--url', cluster!.url, '--workers', '1', '--connections', '2', '--step-warmup', '1s', '--short-duration', '2s', '--trial-duration', '3s', '--progress', '0', '--late-threshold-ms', '1000',
      '--start', '20', '--max', '160', '--max-trials', '6', '--slo', 'ingest.response.p90 <= 2s', '--ui', '0', '--results-dir', resultsDir], { timeoutMs: 280_000 });
    let url: string | undefined;
    for (let i = 0; i < 1200 && !url; i++) {
      url = /live page (http:\/\/127\.0\.0\.1:\d+\/)(?:\s|$)/.exec(cli.stderr())?.[1];
      if (!url) await sleep(100);
    }
    assert.ok(url, `live page URL printed\n${cli.stderr()}`);
    const ctx = await browser!.browser.newContext({ viewport: { width: 1280, height: 1600 } });
    const live = await ctx.newPage();
    const liveErrors = watchErrors(live);
    await live.goto(url);
    await untilPoints(live, 'capacity', 1, 200_000);
    await untilPoints(live, 'capacity', 2, 200_000);
    assert.ok(await tableRows(live) >= 2, 'the trials table grows with the trials');
    // The time charts of the trial under way, beside the curve.
    await untilPoints(live, 'rate', 1, 60_000);
    const shots = process.env['RTBENCH_SCREENSHOTS'];
    if (shots) await live.screenshot({ path: path.join(shots, 'live-capacity.png') });
    const res = await cli.done;
    assert.ok([0, 3, 4, 99].includes(res.code ?? -1), `rtbench capacity exited ${res.code}\n${res.stdout}\n${res.stderr}`);
    assert.deepEqual(liveErrors, []);
    await ctx.close();

    const [id] = (await fs.readdir(resultsDir)).filter((e) => !e.startsWith('.'));
    const dir = path.join(resultsDir, id!);
    const result = JSON.parse(await fs.readFile(path.join(dir, 'capacity.json'), 'utf8')) as CapacityResult;
    assert.ok(result.trials.length >= 3, `${result.trials.length} trials: ${result.trials.map((x) => `${x.rateHz} ${x.verdict}`).join(', ')}`);
    const off = await browser!.browser.newContext({ viewport: { width: 1280, height: 1600 }, offline: true });
    const page = await off.newPage();
    const errors = watchErrors(page);
    await page.goto(pathToFileURL(path.join(dir, 'report.html')).href);
    await untilCharts(page);
    const c = await curve(page);
    const rates = [...new Set(result.trials.map((s) => s.rateHz))].sort((x, y) => x - y);
    assert.deepEqual(c.xs, rates, 'one point per offered rate, in rate order');
    assert.ok(c.xs.length >= 3, `the curve has ${c.xs.length} points: ${result.trials.map((x) => `${x.rateHz} ${x.verdict} (${x.why})`).join(', ')}`);
    const drawn = (await drawnCharts(page)).find((d) => d.id === 'capacity');
    assert.ok(drawn && drawn.painted > 2000, `the curve is painted: ${drawn?.painted}`);
    assert.ok(await tableRows(page) >= result.trials.length, 'the trials table is filled');
    // Besides the curve: the whole search on the time charts, each trial named at its start.
    const timeline = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const e = (globalThis as any).__rtbench.charts.get('rate');
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return e ? { points: e.plot.data[0].length as number, steps: (e.spec.bands as any[]).filter((b) => b.kind === 'step').map((b) => String(b.label)) } : null;
    });
    assert.ok(timeline, 'the search timeline is drawn');
    assert.equal(timeline.steps.length, result.trials.length, timeline.steps.join(', '));
    assert.ok(timeline.points >= 2 * result.trials.length, `${timeline.points} intervals over ${result.trials.length} trials`);
    assert.deepEqual(errors, []);

    // The two-target page, from the same trials as a and b.
    const pair = path.join(area.base, 'pair.html');
    await fs.writeFile(pair, capacityPairHtml({ label: 'local', result }, { label: 'local again', result }, { ratio: 1, low: 0.9, high: 1.1 }));
    const p2 = await off.newPage();
    const errors2 = watchErrors(p2);
    await p2.goto(pathToFileURL(pair).href);
    await untilCharts(p2);
    const c2 = await curve(p2);
    assert.ok(c2.names.includes('a: ingest p99') && c2.names.includes('b: ingest p99'), c2.names.join(', '));
    assert.match(await p2.textContent('#c-capacity h3') ?? '', /capacity b\/a 1\.00× \[0\.90–1\.10\]/);
    assert.deepEqual(errors2, []);
    await off.close();
  });
});
