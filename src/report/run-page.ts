/**
 * A run as the page's model (page-model.ts): the interval rows, the outages,
 * the finished run's charts and tables. report.html is the page with this
 * model embedded; the live page gets it as its `final` event. Pure.
 */
import type { IntervalRow } from '../metrics/aggregate.js';
import type { ProbeFigures, RunRecord } from '../results/run-record.js';
import { serverSeconds } from './server-report.js';
import { maskSecrets } from '../targets/url.js';
import { htmlTable } from './html-parts.js';
import { configJson } from './markdown.js';
import type { PageFreshPoint, PageInterval, PageModel, PagePanelCell } from './page-model.js';
import { runCharts } from './run-charts.js';
import { reportTables } from './tables.js';

/** One interval row as the page's (latencies µs, t at its end in s after the step's origin; outages and errors by SQLSTATE when the row has them). */
export function pageInterval(row: IntervalRow, step: number): PageInterval {
  const errs = row.errorsBySqlstate && Object.keys(row.errorsBySqlstate).length > 0 ? { errorsBySqlstate: { ...row.errorsBySqlstate } } : {};
  return {
    step, t: row.endMs / 1000, warmup: row.phase === 'warmup', targetHz: row.targetRowsHz, achievedHz: row.achievedRowsHz, ops: row.ops,
    p50Us: row.responseP50Us, p99Us: row.responseP99Us, serviceP99Us: row.serviceP99Us, lagP99Us: row.lagP99Us,
    errors: row.errors, late: row.late, dropped: row.dropped,
    ...(row.unavailableMs !== undefined ? { unavailableMs: row.unavailableMs } : {}),
    ...(row.outages && row.outages.length > 0 ? { outages: row.outages.map((o) => ({ startS: o.startMs / 1000, endS: o.endMs === null ? null : o.endMs / 1000, causes: o.causes.map(maskSecrets) })) } : {}),
    ...errs,
  };
}

/** The panels × windows of a finished step: response p50 / p95 (the figure panel SLOs are on) and n. */
export function panelCells(probes: ProbeFigures | null | undefined): PagePanelCell[] {
  if (!probes) return [];
  return Object.entries(probes.byProbe).flatMap(([probe, byWindow]) => probes.windows.flatMap((w) => {
    const f = byWindow[w];
    if (!f) return [];
    const r = f.response;
    return [{ probe, window: w, p50Us: f.count > 0 ? r?.p50Us ?? f.p50Us : null, p95Us: r?.p95Us ?? null, n: r?.count ?? f.count }];
  }));
}

/** Freshness readings of a finished step (summary.freshness.timeline: epoch ms, µs, censored), t after the origin. */
export function freshnessPoints(freshness: unknown, startEpochMs: number, step: number): PageFreshPoint[] {
  const list = (freshness as { timeline?: unknown } | null | undefined)?.timeline;
  if (!Array.isArray(list)) return [];
  return list.flatMap((p: unknown) => (Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number'
    ? [{ step, t: (p[0] - startEpochMs) / 1000, us: p[1], kind: p[2] === 1 ? 'censored' as const : 'seen' as const }]
    : []));
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

/** What a finished step adds to the page's time charts: its intervals, outages, the sampler's seconds, freshness readings. */
export type PageStepData = Pick<PageModel, 'intervals' | 'outages' | 'server' | 'freshness'> & { readonly step: PageModel['steps'][number]; readonly panels: PagePanelCell[] };

/** The same step data numbered `step` on the page. */
export function renumberStep(d: PageStepData, step: number, side = d.step.side): PageStepData {
  return {
    step: { ...d.step, index: step, side }, panels: d.panels,
    intervals: d.intervals.map((r) => ({ ...r, step })), outages: d.outages.map((o) => ({ ...o, step })),
    server: d.server.map((r) => ({ ...r, step })), freshness: d.freshness.map((p) => ({ ...p, step })),
  };
}

/** A finished step (a run, a capacity trial) as page data, numbered `step` on the page. */
export function stepData(record: RunRecord, step: number, side = '', trial?: number): PageStepData {
  const s = record.summary;
  return {
    step: {
      index: step, runId: maskSecrets(record.run.runId), side, rateHz: num(record.run.config.rateHz), warmupS: (num(record.run.config.warmupMs) ?? 0) / 1000,
      durationS: (num(record.run.config.durationMs) ?? 0) / 1000, ...(trial !== undefined ? { trial } : {}),
    },
    intervals: record.intervals.map((r) => pageInterval(r, step)),
    outages: summaryOutages(s, step),
    server: serverSeconds(record.files?.['server.csv'], step),
    freshness: freshnessPoints(s.freshness, record.startEpochMs, step),
    panels: panelCells(s.probes),
  };
}

/** The finished run's page model. */
export function runPageModel(record: RunRecord): PageModel {
  const s = record.summary;
  const runId = maskSecrets(record.run.runId);
  const tables = reportTables(record).filter((t) => t.rows.length > 0);
  const data = stepData(record, 0);
  return {
    kind: 'run',
    title: `rtbench run ${runId}`,
    lines: [`${record.run.startedAt} → ${record.run.finishedAt}, measured ${(s.durationMs / 1000).toFixed(1)} s, target ${record.run.target.kind} ${maskSecrets(record.run.target.url)}`],
    verdict: { valid: s.valid, reasons: s.invalidReasons.map(maskSecrets) },
    steps: [data.step],
    intervals: data.intervals,
    outages: data.outages,
    phase: null,
    finished: true,
    charts: runCharts(record),
    server: data.server,
    panels: s.probes ? { step: 0, cells: panelCells(s.probes) } : null,
    freshness: data.freshness,
    capacity: null,
    tablesHtml: tables.map(htmlTable).join('\n'),
    configText: configJson(record),
    notices: [],
  };
}

/** compare-targets' page: both runs end to end on the time charts, the comparison table, each run's verdict. */
export function comparePageModel(compareId: string, runs: ReadonlyArray<{ readonly side: string; readonly label: string; readonly record: RunRecord }>, tableHtml: string): PageModel {
  const m: PageModel = {
    kind: 'compare', title: `rtbench compare-targets ${maskSecrets(compareId)}`, lines: [], verdict: null, steps: [], intervals: [], outages: [], phase: null, finished: true,
    charts: [], server: [], panels: null, freshness: [], capacity: null, tablesHtml: tableHtml, configText: '', notices: [],
  };
  const reasons: string[] = [];
  runs.forEach(({ side, label, record }, i) => {
    const d = stepData(record, i, side);
    m.lines.push(`${side}: ${maskSecrets(label)} — run ${maskSecrets(record.run.runId)}, ${record.summary.valid ? 'valid' : 'INVALID'}`);
    if (!record.summary.valid) reasons.push(...record.summary.invalidReasons.map((r) => `${side}: ${maskSecrets(r)}`));
    m.steps.push(d.step);
    m.intervals.push(...d.intervals);
    m.outages.push(...d.outages);
    m.server.push(...d.server);
    m.freshness.push(...d.freshness);
  });
  m.verdict = { valid: reasons.length === 0, reasons };
  if (runs.length > 0) m.configText = configJson(runs[0]!.record);
  return m;
}
