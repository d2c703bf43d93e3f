/**
 * A driven headless Chromium (playwright-core against the system browser: no
 * browser download) for the page tests, and what they read off a page: the
 * charts uPlot drew (a canvas each, and how many of its pixels are painted),
 * the table rows, the console's errors.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM } from './chromium.js';

export { CHROMIUM };

/** Launch the system Chromium with the flags that work on this machine (node.md) and an empty profile dir. */
export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM!,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
  }).catch(async () => chromium.launch({
    // Some playwright versions refuse --user-data-dir in args; the default temporary profile is empty too.
    executablePath: CHROMIUM!,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  }));
  return {
    browser,
    close: async () => {
      await browser.close();
      await fs.rm(profile, { recursive: true, force: true });
    },
  };
}

/** Each chart on the page: id, points (x values) and painted pixels of its canvas. */
export interface DrawnChart {
  readonly id: string;
  readonly points: number;
  readonly painted: number;
}

/** The charts the page drew (from `window.__rtbench` and the canvases). */
export async function drawnCharts(page: Page): Promise<DrawnChart[]> {
  return page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const r = (globalThis as any).__rtbench;
    if (!r) return [];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return [...r.charts.entries()].map(([id, e]: [string, any]) => {
      const canvas = e.fig.querySelector('canvas');
      let painted = 0;
      if (canvas && canvas.width > 0 && canvas.height > 0) {
        const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
      }
      return { id, points: e.plot.data[0].length, painted };
    });
  });
}

/** Rows of the page's tables (the trials table and the run's tables). */
export async function tableRows(page: Page): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return page.evaluate(() => (globalThis as any).document.querySelectorAll('#tables tbody tr, #trials tbody tr').length as number);
}

/** Wait until chart `id` has at least `n` points (a function, not a string: the page's CSP forbids eval). */
export async function untilPoints(page: Page, id: string, n: number, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction(([cid, min]) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const e = (globalThis as any).__rtbench?.charts.get(cid);
    return (e?.plot.data[0].length ?? 0) >= (min as number);
  }, [id, n] as const, { timeout: timeoutMs, polling: 100 });
}

/** Wait until the page's model is finished (the final event arrived, or a report). */
export async function untilFinished(page: Page, timeoutMs = 30_000): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  await page.waitForFunction(() => (globalThis as any).__rtbench?.model.finished === true, undefined, { timeout: timeoutMs, polling: 100 });
}

/** Wait until the page drew at least one chart. */
export async function untilCharts(page: Page, timeoutMs = 30_000): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  await page.waitForFunction(() => ((globalThis as any).__rtbench?.charts.size ?? 0) > 0, undefined, { timeout: timeoutMs, polling: 100 });
}

/** Errors a page logs (console.error, uncaught exceptions, CSP reports), collected as they come. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}
