/**
 * report.html: the live page (page.ts) with the finished run's model
 * embedded — one self-contained file (uPlot and the page's code inlined, no
 * external reference) that opens from disk offline; the tables are plain HTML
 * and read without JavaScript. Every text is escaped.
 */
import type { RunRecord } from '../results/run-record.js';
import { maskSecrets } from '../targets/url.js';
import { pageHtml } from './page.js';
import { runPageModel } from './run-page.js';

import { escapeHtml } from './html-parts.js';

export { escapeHtml, REPORT_CSS, pageHead, htmlTable } from './html-parts.js';

/**
 * The whole report.html for a run. Never throws: the report is written with
 * the run's data, and a rendering bug must not cost the data, so a failure
 * yields a short page naming the error instead.
 */
export function reportHtml(record: RunRecord): string {
  try {
    return renderHtml(record);
  } catch (err) {
    const msg = maskSecrets(err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err));
    return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>rtbench report failed</title></head><body>` +
      `<h1>rtbench: the report could not be rendered</h1><p>The run's data is in summary.json, the .hgrm files, intervals.hlog and timeseries.csv.</p>` +
      `<pre>${escapeHtml(msg)}</pre></body></html>\n`;
  }
}

function renderHtml(record: RunRecord): string {
  return pageHtml(runPageModel(record));
}
