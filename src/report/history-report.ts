/**
 * The trend report of a history store (`rtbench history report`): one chart
 * per tracked figure across runs — x the run order labelled by revision, the
 * figure's value, the window's centre (median; the mean for the t, z and percent tests) and the gate's limit for each run (the band
 * between them is what the run could move without failing), regressions as
 * red dots — and the same as markdown tables. Self-contained like report.html
 * (inline SVG and CSS, no script, CSP `default-src 'none'`). Pure.
 */
import { formatChange, TEST_NAMES } from '../check/history-gate.js';
import { formatFigure } from '../check/markdown.js';
import type { GateOptions } from '../check/gate.js';
import type { HistoryRecord, Selection } from '../history/record.js';
import { shortRevision, type FigureTrend, type TrendPoint } from '../history/trend.js';
import { lineChartSvg } from './charts.js';
import { escapeHtml, htmlTable, pageHead } from './html.js';
import { markdownTable, escapeMarkdown } from './markdown.js';
import type { Tick } from './svg.js';
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
const MAX_X_LABELS = 20;

/** Axis label of record i: its position and revision. */
function xLabel(r: HistoryRecord, i: number): string {
  return `${i + 1}·${shortRevision(r.revision)}`;
}

function gateText(o: GateOptions, window: number): string {
  const test = o.test === 'percent' ? 'percent test' : `one-sided ${TEST_NAMES[o.test]} test at ${o.boundary}`;
  return `window ${window}, ${test}, minimum effect ${(o.minEffect * 100).toLocaleString('en-US', { maximumFractionDigits: 2 })}%`;
}

const direction = (t: FigureTrend): string => (t.direction === 'zero' ? 'must be 0' : `${t.direction} is better`);

/** One trend as an inline SVG line chart. */
export function trendChartSvg(t: FigureTrend, records: readonly HistoryRecord[]): string {
  const fmt = (v: number): string => formatFigure(v, t.unit);
  const pts = (pick: (p: TrendPoint) => number | null): Array<readonly [number, number | null]> => t.points.map((p, i) => [i, pick(p)] as const);
  const categories = records.map(xLabel);
  const every = Math.max(1, Math.ceil(categories.length / MAX_X_LABELS));
  const series = [
    { name: t.name, points: pts((p) => p.value) },
    { name: 'window median', points: pts((p) => p.mean), color: '#777777', dashed: true },
    ...(t.direction === 'zero' ? [] : [{ name: 'gate limit', points: pts((p) => p.limit), color: '#E69F00', dashed: true }]),
    { name: 'regression', points: pts((p) => (p.verdict === 'regression' ? p.value : null)), color: REGRESSION },
  ];
  return lineChartSvg({
    title: `${t.name} (${direction(t)})`,
    series,
    x: {
      label: 'run (order · revision)',
      scale: 'band',
      categories,
      ticks: (s) => s.ticks.filter((_tk: Tick, i: number) => i % every === 0 || i === categories.length - 1),
    },
    y: { label: t.name, format: fmt },
    ...(t.direction === 'zero' ? {} : { areas: [{ name: 'gate band (window median to limit)', points: t.points.map((p, i) => [i, p.mean, p.limit] as const), color: '#E69F00' }] }),
    markers: true,
  });
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
  return { id: 'figures', title: 'Figures: the newest run against the runs before it', head: ['figure', 'direction', 'runs', 'newest', 'window median', 'change', 'limit', 'verdict', 'regressions flagged'], rows };
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

/** report.html of a history: one chart per figure, then the tables. */
export function historyReportHtml(input: HistoryReportInput): string {
  const charts = input.trends.map((t, i) => `<figure id="c-trend-${i}">${trendChartSvg(t, input.records)}<figcaption>${escapeHtml(t.direction === 'zero'
    ? `${t.name}: must be 0 in every run; grey dashes are the median of the runs before; red dots are runs where it was not 0.`
    : `${t.name}: ${direction(t)}; the shaded band runs from the median of the window before each run (grey dashes) to the limit the gate held it against (orange dashes); red dots are regressions.`)}</figcaption></figure>`);
  const tables = [summaryTable(input.trends), runsTable(input.records, input.trends)];
  return `${pageHead('rtbench history')}
<header>
<h1>rtbench history</h1>
<div>${escapeHtml(heading(input))}</div>
</header>
<h2>Trends</h2>
<div class="charts">
${charts.join('\n')}
</div>
<h2>Tables</h2>
<div class="tables">
${tables.map(htmlTable).join('\n')}
</div>
</body>
</html>
`;
}
