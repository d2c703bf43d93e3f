/**
 * A run as the page's model (page-model.ts): the interval rows, the outages,
 * the finished run's charts and tables. report.html is the page with this
 * model embedded; the live page gets it as its `final` event. Pure.
 */
import type { IntervalRow } from '../metrics/aggregate.js';
import type { RunRecord } from '../results/run-record.js';
import { maskSecrets } from '../targets/url.js';
import { htmlTable } from './html-parts.js';
import { configJson } from './markdown.js';
import type { PageInterval, PageModel } from './page-model.js';
import { runCharts } from './run-charts.js';
import { reportTables } from './tables.js';

/** One interval row as the page's (latencies µs, t at its end in s after the step's origin). */
export function pageInterval(row: IntervalRow, step: number): PageInterval {
  // Issue 22 adds a per-interval outage field; drawn when present.
  const outage = (row as { outage?: unknown }).outage;
  return {
    step, t: row.endMs / 1000, warmup: row.phase === 'warmup', targetHz: row.targetRowsHz, achievedHz: row.achievedRowsHz, ops: row.ops,
    p50Us: row.responseP50Us, p99Us: row.responseP99Us, serviceP99Us: row.serviceP99Us, lagP99Us: row.lagP99Us,
    errors: row.errors, late: row.late, dropped: row.dropped, ...(outage ? { outage: true } : {}),
  };
}

/** Outages of a summary (issue 22's `availability.outages`, ms after the origin), when it has them. */
export function summaryOutages(summary: unknown, step: number): PageModel['outages'] {
  const list = (summary as { availability?: { outages?: unknown } } | null)?.availability?.outages;
  if (!Array.isArray(list)) return [];
  return list.flatMap((o: { startMs?: unknown; endMs?: unknown; causes?: unknown }) =>
    typeof o?.startMs === 'number' && typeof o.endMs === 'number'
      ? [{ step, startS: o.startMs / 1000, endS: o.endMs / 1000, causes: Array.isArray(o.causes) ? o.causes.map((c) => maskSecrets(String(c))) : [] }]
      : []);
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The finished run's page model. */
export function runPageModel(record: RunRecord): PageModel {
  const s = record.summary;
  const runId = maskSecrets(record.run.runId);
  const tables = reportTables(record).filter((t) => t.rows.length > 0);
  return {
    kind: 'run',
    title: `rtbench run ${runId}`,
    lines: [`${record.run.startedAt} → ${record.run.finishedAt}, measured ${(s.durationMs / 1000).toFixed(1)} s, target ${record.run.target.kind} ${maskSecrets(record.run.target.url)}`],
    verdict: { valid: s.valid, reasons: s.invalidReasons.map(maskSecrets) },
    steps: [{ index: 0, runId, side: '', rateHz: num(record.run.config.rateHz), warmupS: (num(record.run.config.warmupMs) ?? 0) / 1000, durationS: (num(record.run.config.durationMs) ?? 0) / 1000 }],
    intervals: record.intervals.map((r) => pageInterval(r, 0)),
    outages: summaryOutages(s, 0),
    phase: null,
    finished: true,
    charts: runCharts(record),
    capacity: null,
    tablesHtml: tables.map(htmlTable).join('\n'),
    configText: configJson(record),
    notices: [],
  };
}
