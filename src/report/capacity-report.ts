/**
 * report.html of a capacity search: the page (page.ts) with the finished
 * search embedded — the latency-vs-offered-rate curve in rate order (failed
 * trials marked, achieved rate on the right axis), the SLO lines, the bracket
 * shaded, the trials table, the time charts of the whole search (trial after
 * trial); and the two-target page (both curves on one chart,
 * the ratio b/a with its bracket). Pure; one self-contained file.
 */
import type { CapacityResult } from '../capacity/result.js';
import { capacityPageModel } from './capacity-page.js';
import { pageHtml } from './page.js';
import type { PageStepData } from './run-page.js';

/** report.html of one target's search. */
export function capacityHtml(r: CapacityResult, steps: readonly PageStepData[] = []): string {
  return pageHtml(capacityPageModel([{ side: '', label: r.target.url, result: r, steps }]));
}

/** report.html of a two-target search (`capacity --a --b`): both curves and the ratio b/a. */
export function capacityPairHtml(
  a: { readonly label: string; readonly result: CapacityResult; readonly steps?: readonly PageStepData[] },
  b: { readonly label: string; readonly result: CapacityResult; readonly steps?: readonly PageStepData[] },
  ratio: { ratio: number | null; low: number | null; high: number | null },
): string {
  return pageHtml(capacityPageModel([{ side: 'a', ...a }, { side: 'b', ...b }], ratio));
}
