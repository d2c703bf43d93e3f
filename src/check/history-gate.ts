/**
 * `check --history`: every default figure of a run held against the history
 * store with the statistical gate (gate.ts), and the markdown summary. Pure.
 */
import type { HistoryRecord, Selection } from '../history/record.js';
import { windowValues } from '../history/record.js';
import type { TrackedFigure } from './figures.js';
import { gateFigure, MIN_HISTORY, type GateOptions, type GateResult } from './gate.js';
import { formatFigure, type CheckStatus } from './markdown.js';

export interface HistoryRow {
  readonly figure: TrackedFigure;
  readonly result: GateResult;
  /** Run ids of the history records the figure was held against, oldest first. */
  readonly windowRunIds: readonly string[];
}

/** Gate each figure against the last `window` records (of `selected`, oldest first) that hold it. */
export function gateRun(figures: readonly TrackedFigure[], selected: readonly HistoryRecord[], window: number, o: GateOptions): HistoryRow[] {
  return figures.map((figure) => {
    const w = windowValues(selected, figure.path, window);
    return { figure, result: gateFigure(figure.value, w.values, figure.direction, o), windowRunIds: w.records.map((r) => r.runId) };
  });
}

/** invalid > fail > pass; insufficient history never fails. */
export function historyStatus(rows: readonly HistoryRow[], runValid: boolean): CheckStatus {
  if (!runValid) return 'invalid';
  return rows.some((r) => r.result.verdict === 'regression') ? 'fail' : 'pass';
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
const code = (s: string): string => `\`${cell(s).replace(/`/g, "'")}\``;

/** A signed percentage, e.g. +12.3% / −4.0%. */
export function formatChange(change: number | null): string {
  if (change === null || !Number.isFinite(change)) return '—';
  const pct = change * 100;
  const text = Math.abs(pct) >= 100 ? pct.toFixed(0) : pct.toFixed(1);
  return `${pct >= 0 ? '+' : '−'}${text.replace('-', '')}%`;
}

const BETTER = { smaller: 'smaller', bigger: 'bigger', zero: '= 0' } as const;

export const TEST_NAMES: Record<GateOptions['test'], string> = { t: "Student's t", z: 'z-score', percent: 'percent' };

export interface HistoryReportInput {
  readonly rows: readonly HistoryRow[];
  readonly run: { readonly runId: string; readonly valid: boolean; readonly invalidReasons: readonly string[] };
  readonly store: string;
  readonly selection: Selection;
  /** Records of that selection in the store (before the window). */
  readonly matching: number;
  readonly window: number;
  readonly options: GateOptions;
  /** Figures of the run left out (too few samples). */
  readonly skipped: readonly string[];
}

const STATUS_TITLE: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', invalid: 'INVALID RUN' };

/** The verdict cell of one row. */
export function verdictText(r: GateResult): string {
  switch (r.verdict) {
    case 'pass': return 'PASS';
    case 'regression': return '**FAIL**';
    case 'insufficient': return `insufficient history (n=${r.history.n} < ${MIN_HISTORY})`;
  }
}

/** The markdown summary of `check --history`, ending in a newline. */
export function historyMarkdown(input: HistoryReportInput): string {
  const { rows, run, selection, options } = input;
  const status = historyStatus(rows, run.valid);
  const out: string[] = [`### rtbench check --history: ${STATUS_TITLE[status]}`, ''];
  const test = options.test === 'percent' ? 'percent test' : `one-sided ${TEST_NAMES[options.test]} test at ${options.boundary}`;
  out.push(
    `Run ${code(run.runId)}${run.valid ? '' : ' (**invalid**)'} against the last ${input.window} of ${input.matching} record${input.matching === 1 ? '' : 's'} in ${code(input.store)} ` +
      `with fingerprint ${code(selection.fingerprint)}, testbed ${code(selection.testbed)}, branch ${code(selection.branch)}; ` +
      `${test}, minimum effect ${(options.minEffect * 100).toLocaleString('en-US', { maximumFractionDigits: 2 })}%.`,
    '',
  );
  if (!run.valid) {
    out.push('The run failed its self-check, so its figures are not a measurement of the database:');
    for (const r of run.invalidReasons) out.push(`- ${cell(r)}`);
    out.push('');
  }
  out.push('| figure | better | history n | history mean ± sd | run | change | limit | verdict |', '|---|---|---:|---:|---:|---:|---:|---|');
  for (const { figure: f, result: r } of rows) {
    const h = r.history;
    const spread = h.n === 0 ? '—' : `${formatFigure(h.mean, f.unit)} ± ${formatFigure(h.sd, f.unit)}`;
    const limit = r.limit === null ? '—' : f.direction === 'zero' ? '== 0' : `${f.direction === 'bigger' ? '>=' : '<='} ${formatFigure(r.limit, f.unit)}`;
    const run = formatFigure(f.value, f.unit) + (f.samples !== null ? ` (n=${f.samples})` : '');
    out.push(`| ${code(f.name)} | ${BETTER[f.direction]} | ${h.n} | ${cell(spread)} | ${cell(run)} | ${formatChange(r.change)} | ${cell(limit)} | ${verdictText(r)} |`);
  }
  out.push('');
  for (const s of input.skipped) out.push(`- skipped ${cell(s)}`);
  if (input.skipped.length > 0) out.push('');
  const failed = rows.filter((r) => r.result.verdict === 'regression').length;
  const insufficient = rows.filter((r) => r.result.verdict === 'insufficient').length;
  const parts = [failed === 0 ? `${rows.length - insufficient} of ${rows.length} figures passed` : `${failed} of ${rows.length} figures regressed`];
  if (insufficient > 0) parts.push(`${insufficient} had insufficient history (fewer than ${MIN_HISTORY} records) and cannot fail`);
  out.push(parts.join('; ') + '.');
  return out.join('\n') + '\n';
}
