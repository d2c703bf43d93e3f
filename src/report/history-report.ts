/**
 * The trend report of a history store (`rtbench history report`): one chart
 * per tracked figure across runs — x the run order labelled by revision, the
 * figure's value, the window mean and the gate's limit for each run (the band
 * between them is what the run could move without failing), regressions as
 * red dots — and the same as markdown tables. The same page as report.html
 * (uPlot inlined, no network, CSP `default-src 'none'`). Pure.
 */
import { formatChange, TEST_NAMES } from '../check/history-gate.js';
import { formatFigure } from '../check/markdown.js';
import type { GateOptions } from '../check/gate.js';
import type { HistoryRecord, Selection } from '../history/record.js';
import { shortRevision, type FigureTrend, type TrendPoint } from '../history/trend.js';
import { htmlTable } from './html-parts.js';
import { markdownTable, escapeMarkdown } from './markdown.js';
import { emptyModel, type PageChart, type PageSeries } from './page-model.js';
import { pageHtml } from './page.js';
import type { Cell, ReportTable } from './tables.js';

export interface HistoryReportInput {
  readonly store: string;
  readonly selection: Selection;
  /** The selected records, oldest first. */
  readonly records: readonly HistoryRecord[];
  readonly trends: readonly FigureTrend[];
  readonly window: number;
  readonly options: GateOptions;
  /** Records in the store in all (other selections included). */
  readonly storeRecords: number;
}

const REGRESSION = '#c62828';

/** Axis label of record i: its position and revision. */
function xLabel(r: HistoryRecord, i: number): string {
  return `${i + 1}·${shortRevision(r.revision)}`;
}

function gateText(o: GateOptions, window: number): string {
  const test = o.test === 'percent' ? 'percent test' : `one-sided ${TEST_NAMES[o.test]} test at ${o.boundary}`;
  return `window ${window}, ${test}, minimum effect ${(o.minEffect * 100).toLocaleString('en-US', { maximumFractionDigits: 2 })}%`;
}

const direction = (t: FigureTrend): string => (t.direction === 'zero' ? 'must be 0' : `${t.direction} is better`);

/** One trend as a chart of the page: x the runs (order · revision), the value, the window mean, the gate limit, the band between them, regressions. */
export function trendChart(t: FigureTrend, records: readonly HistoryRecord[], i: number): PageChart {
  const col = (pick: (p: TrendPoint) => number | null): Array<number | null> => t.points.map(pick);
  const series: PageSeries[] = [
    { name: t.name, values: col((p) => p.value) },
    { name: 'window mean', values: col((p) => p.mean), color: '#777777', dashed: true },
    ...(t.direction === 'zero' ? [] : [{ name: 'gate limit', values: col((p) => p.limit), color: '#E69F00', dashed: true }]),
    { name: 'regression', values: col((p) => (p.verdict === 'regression' ? p.value : null)), color: REGRESSION, pointsOnly: true, big: true },
  ];
  return {
    id: `trend-${i}`,
    title: `${t.name} (${direction(t)})`,
    caption: t.direction === 'zero'
      ? `${t.name}: must be 0 in every run; grey dashes are the mean of the runs before; red dots are runs where it was not 0.`
      : `${t.name}: ${direction(t)}; the shaded band runs from the mean of the window before each run (grey dashes) to the limit the gate held it against (orange dashes); red dots are regressions.`,
    x: { label: 'run (order · revision)', unit: 'cat', categories: records.map(xLabel) },
    y: { label: `${t.name} (${t.unit})`, unit: t.unit === 'us' ? 'us' : 'n' },
    xs: t.points.map((_, k) => k),
    series,
    ...(t.direction === 'zero' ? {} : { fills: [{ upper: 'gate limit', lower: 'window mean', color: 'rgba(230,159,0,0.18)' }] }),
  };
}

function verdictCell(p: TrendPoint): Cell {
  switch (p.verdict) {
    case 'regression': return { text: 'regression', tone: 'bad' };
    case 'pass': return { text: 'pass', tone: 'good' };
    case 'insufficient': return 'insufficient history';
    case null: return '—';
  }
}

/** Per figure: the newest run against its window. */
export function summaryTable(trends: readonly FigureTrend[]): ReportTable {
  const rows = trends.map((t): Cell[] => {
    const held = t.points.filter((p) => p.value !== null);
    const last = held[held.length - 1];
    const flagged = held.filter((p) => p.verdict === 'regression').length;
    if (!last || last.value === null) return [t.name, direction(t), '0', '—', '—', '—', '—', '—', String(flagged)];
    const change = last.mean === null || last.mean === 0 ? null : (last.value - last.mean) / Math.abs(last.mean);
    return [
      t.name, direction(t), String(held.length), formatFigure(last.value, t.unit),
      last.mean === null ? '—' : formatFigure(last.mean, t.unit), formatChange(change),
      last.limit === null ? '—' : formatFigure(last.limit, t.unit), verdictCell(last),
      flagged === 0 ? '0' : { text: String(flagged), tone: 'bad' },
    ];
  });
  return { id: 'figures', title: 'Figures: the newest run against the runs before it', head: ['figure', 'direction', 'runs', 'newest', 'window mean', 'change', 'limit', 'verdict', 'regressions flagged'], rows };
}

/** One row per record. */
export function runsTable(records: readonly HistoryRecord[], trends: readonly FigureTrend[]): ReportTable {
  const rows = records.map((r, i): Cell[] => {
    const flagged = trends.filter((t) => t.points[i]?.verdict === 'regression').map((t) => t.name);
    return [String(i + 1), shortRevision(r.revision), r.startedAt, r.runId, r.scenario, flagged.length === 0 ? '—' : { text: flagged.join(', '), tone: 'bad' }];
  });
  return { id: 'runs', title: 'Runs (oldest first)', head: ['#', 'revision', 'started', 'run id', 'scenario', 'regressions'], rows };
}

function heading(input: HistoryReportInput): string {
  const s = input.selection;
  return `${input.records.length} run${input.records.length === 1 ? '' : 's'} of fingerprint ${s.fingerprint} on testbed ${s.testbed}, branch ${s.branch} ` +
    `(${input.storeRecords} record${input.storeRecords === 1 ? '' : 's'} in ${input.store}); gate: ${gateText(input.options, input.window)}`;
}

/** report.md of a history. */
export function historyReportMarkdown(input: HistoryReportInput): string {
  const out = ['# rtbench history', '', escapeMarkdown(heading(input)), ''];
  out.push('Each run is held against the runs before it with the `check --history` gate; charts are in report.html.', '');
  const tables = [summaryTable(input.trends), runsTable(input.records, input.trends)];
  for (const t of tables) out.push(`## ${t.title}`, '', markdownTable(t), '');
  return out.join('\n');
}

/** report.html of a history: the page (page.ts) with one chart per figure, then the tables. */
export function historyReportHtml(input: HistoryReportInput): string {
  const m = emptyModel('history', 'rtbench history', [heading(input)]);
  m.finished = true;
  m.charts = input.trends.map((t, i) => trendChart(t, input.records, i));
  m.tablesHtml = [summaryTable(input.trends), runsTable(input.records, input.trends)].map(htmlTable).join('\n');
  return pageHtml(m);
}
