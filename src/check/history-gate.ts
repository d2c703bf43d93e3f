/**
 * `check --history`: every default figure of a run held against the history
 * store with the statistical gate (gate.ts), and the markdown summary. Pure.
 */
import type { HistoryRecord, Selection } from '../history/record.js';
import { windowValues } from '../history/record.js';
import type { TrackedFigure } from './figures.js';
import { centre, gateFigure, MAD_TO_SD, MIN_HISTORY, type GateOptions, type GateResult } from './gate.js';
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
    const result = gateFigure(figure.value, w.values, figure.direction, o, { path: figure.path, samples: figure.samples });
    return { figure, result, windowRunIds: w.records.map((r) => r.runId) };
  });
}

/** A row that fails the run: a regression on a gated figure. */
export const failsRun = (r: HistoryRow): boolean => r.figure.gated && r.result.verdict === 'regression';

/** invalid > fail > pass; insufficient history and watched (ungated) figures never fail. */
export function historyStatus(rows: readonly HistoryRow[], runValid: boolean): CheckStatus {
  if (!runValid) return 'invalid';
  return rows.some(failsRun) ? 'fail' : 'pass';
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

export const TEST_NAMES: Record<GateOptions['test'], string> = { robust: 'robust (median, MAD)', t: "Student's t", z: 'z-score', percent: 'percent' };

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

/** The verdict cell of one row; a watched figure never reads FAIL. */
export function verdictText(r: GateResult, gated = true): string {
  switch (r.verdict) {
    case 'pass': return gated ? 'PASS' : 'pass (watched, not gated)';
    case 'regression': return gated ? '**FAIL**' : 'worse (watched, not gated)';
    case 'insufficient': return r.reason ?? `insufficient history (n=${r.history.n} < ${MIN_HISTORY})`;
  }
}

/** The history cell: median ± σ̂ (MAD-based) for `robust`, mean ± sd otherwise. */
function spreadText(r: GateResult, f: TrackedFigure, o: GateOptions): string {
  const h = r.history;
  if (h.n === 0) return '—';
  const spread = o.test === 'robust' ? MAD_TO_SD * h.mad : h.sd;
  return `${formatFigure(centre(h, o), f.unit)} ± ${formatFigure(spread, f.unit)}`;
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
  const head = options.test === 'robust' ? 'history median ± 1.4826·MAD' : 'history mean ± sd';
  out.push(`| figure | better | history n | ${head} | run | change | limit | verdict |`, '|---|---|---:|---:|---:|---:|---:|---|');
  for (const { figure: f, result: r } of rows) {
    const h = r.history;
    const spread = spreadText(r, f, options);
    const limit = r.limit === null ? '—' : f.direction === 'zero' ? '== 0' : `${f.direction === 'bigger' ? '>=' : '<='} ${formatFigure(r.limit, f.unit)}`;
    const run = formatFigure(f.value, f.unit) + (f.samples !== null ? ` (n=${f.samples})` : '') +
      (f.heldOnService ? ` service time: the client set ${(f.heldOnService.clientShare * 100).toFixed(0)}% of the response ${formatFigure(f.heldOnService.responseValue, f.unit)}` : '');
    out.push(`| ${code(f.name)} | ${BETTER[f.direction]} | ${h.n} | ${cell(spread)} | ${cell(run)} | ${formatChange(r.change)} | ${cell(limit)} | ${cell(verdictText(r, f.gated))} |`);
  }
  out.push('');
  for (const s of input.skipped) out.push(`- skipped ${cell(s)}`);
  if (input.skipped.length > 0) out.push('');
  const gated = rows.filter((r) => r.figure.gated);
  const failed = gated.filter(failsRun).length;
  const insufficient = gated.filter((r) => r.result.verdict === 'insufficient').length;
  const parts = [failed === 0 ? `${gated.length - insufficient} of ${gated.length} gated figures passed` : `${failed} of ${gated.length} gated figures regressed`];
  if (insufficient > 0) parts.push(`${insufficient} had insufficient history or samples and cannot fail`);
  const watched = rows.length - gated.length;
  if (watched > 0) parts.push(`${watched} watched (shown, never failing: not steady on short runs)`);
  out.push(parts.join('; ') + '.');
  return out.join('\n') + '\n';
}
