/**
 * The markdown summary of `rtbench check`: a heading with the overall
 * status, the run and baseline, and one table row per threshold (threshold,
 * baseline, run, limit, verdict). Pure: returns a string; GitHub renders it
 * in a job summary ($GITHUB_STEP_SUMMARY).
 */
import { formatUs } from '../report/console.js';
import type { FigureUnit } from './figure-path.js';
import type { ThresholdResult } from './threshold.js';

/** Overall outcome: an invalid run outranks a failed threshold. */
export type CheckStatus = 'pass' | 'fail' | 'invalid';

export function checkStatus(results: readonly ThresholdResult[], runValid: boolean): CheckStatus {
  if (!runValid) return 'invalid';
  return results.every((r) => r.pass) ? 'pass' : 'fail';
}

/** A figure's value for people: durations as 850µs / 1.23ms / 2.1s, rates per second, counts with separators. */
export function formatFigure(value: number, unit: FigureUnit): string {
  switch (unit) {
    case 'us': return formatUs(value);
    case 'ms': return formatUs(value * 1000);
    case 'hz': return `${value.toLocaleString('en-US', { maximumFractionDigits: 1 })}/s`;
    case 'bytes': return formatBytes(value);
    case 'number':
      return Number.isInteger(value) ? value.toLocaleString('en-US') : String(Number(value.toPrecision(4)));
  }
}

/**
 * Bytes in their own scale: B below 10 kB (a per-row figure reads `212 B`,
 * not `0 MB`), then kB, MB, GB (powers of 1,000, as the unit names say).
 */
export function formatBytes(value: number): string {
  const abs = Math.abs(value);
  const num = (v: number, d: number): string => v.toLocaleString('en-US', { maximumFractionDigits: d });
  if (abs < 10_000) return `${num(value, abs < 10 ? 2 : abs < 100 ? 1 : 0)} B`;
  if (abs < 10_000_000) return `${num(value / 1e3, 1)} kB`;
  if (abs < 10_000_000_000) return `${num(value / 1e6, 1)} MB`;
  return `${num(value / 1e9, 1)} GB`;
}

/** A table cell: backslash-escape pipes and keep it on one line. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(s: string): string {
  return `\`${cell(s).replace(/`/g, "'")}\``;
}

export interface CheckReportInput {
  readonly results: readonly ThresholdResult[];
  readonly run: { readonly runId: string; readonly valid: boolean; readonly invalidReasons: readonly string[] };
  /** Absent when no baseline was given. */
  readonly baseline?: { readonly runId: string; readonly valid: boolean };
}

const STATUS_TITLE: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', invalid: 'INVALID RUN' };

/** The markdown summary, ending in a newline. */
export function checkMarkdown(input: CheckReportInput): string {
  const { results, run, baseline } = input;
  const status = checkStatus(results, run.valid);
  const out: string[] = [];
  out.push(`### rtbench check: ${STATUS_TITLE[status]}`, '');
  let line = `Run ${code(run.runId)}${run.valid ? '' : ' (**invalid**)'}`;
  line += baseline ? ` against baseline ${code(baseline.runId)}${baseline.valid ? '' : ' (invalid: its figures may not be representative)'}` : ', no baseline';
  out.push(line + '.', '');
  if (!run.valid) {
    out.push('The run failed its self-check, so its figures are not a measurement of the database:');
    for (const r of run.invalidReasons) out.push(`- ${cell(r)}`);
    out.push('');
  }
  out.push('| threshold | baseline | run | limit | verdict |', '|---|---:|---:|---:|---|');
  for (const r of results) {
    const base = r.baseline ? formatFigure(r.baseline.value, r.baseline.unit) : '—';
    const limit = `${r.threshold.op} ${formatFigure(r.limit, r.unit)}`;
    const verdict = r.pass ? 'PASS' : '**FAIL**';
    out.push(`| ${code(r.threshold.source)} | ${cell(base)} | ${cell(formatFigure(r.run.value, r.run.unit))} | ${cell(limit)} | ${verdict} |`);
  }
  const failed = results.filter((r) => !r.pass).length;
  out.push('');
  const noun = results.length === 1 ? 'threshold' : 'thresholds';
  out.push(failed === 0 ? `${results.length} of ${results.length} ${noun} passed.` : `${failed} of ${results.length} ${noun} failed.`);
  return out.join('\n') + '\n';
}
