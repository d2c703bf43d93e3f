/**
 * The end-of-run summary as a terminal table. Pure: returns a string, the CLI
 * decides where it goes.
 */
import Table from 'cli-table3';
import type { LatencySummary } from '../metrics/histogram.js';
import type { Summary } from '../results/run-record.js';
import { verdictLines } from './verdict-lines.js';

/** Trim a fixed-point string's trailing zeros: "1.20" -> "1.2", "2.00" -> "2". */
function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Three significant digits, but never exponent notation. */
function sig3(x: number): string {
  return x >= 100 ? String(Math.round(x)) : trimZeros(x.toPrecision(3));
}

/**
 * A duration in microseconds, human-readable with about three significant
 * digits: `850µs`, `1.23ms`, `12.3ms`, `2.1s`.
 */
export function formatUs(us: number): string {
  if (!Number.isFinite(us)) return 'n/a';
  if (us < 0) return `-${formatUs(-us)}`;
  if (us < 999.5) return `${Math.round(us)}µs`;
  if (us < 999_500) return `${sig3(us / 1000)}ms`;
  return `${sig3(us / 1_000_000)}s`;
}

/** Marks a figure built on too few samples (never printed as a number). */
export const INSUFFICIENT = 'insufficient';

/**
 * A ratio with its 95% interval: `4.12x [3.80–4.51]`; `insufficient` when it
 * is null (too few samples behind it); `—` when it was not computed.
 */
export function formatRatio(value: number | null | undefined, ci?: readonly [number, number] | null, digits = 2): string {
  if (value === undefined) return '—';
  if (value === null) return INSUFFICIENT;
  const x = (v: number): string => v.toFixed(digits);
  return ci ? `${x(value)}x [${x(ci[0])}–${x(ci[1])}]` : `${x(value)}x`;
}

function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatRate(hz: number): string {
  return `${hz.toLocaleString('en-US', { maximumFractionDigits: 1 })} rows/s`;
}

function formatMb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', reset: '\x1b[0m' } as const;

export interface SummaryTableOptions {
  /** ANSI colours for the header and the verdicts; off by default. */
  readonly color?: boolean;
}

/**
 * The run summary as a cli-table3 table: validity, rates, correctness counts,
 * errors, a latency block (p50 / p90 / p99 / p99.9 / max / count for response,
 * service and lag) and the client's self-check.
 */
export function summaryTable(summary: Summary, opts: SummaryTableOptions = {}): string {
  const color = opts.color ?? false;
  const paint = (code: string, s: string): string => (color ? `${code}${s}${ANSI.reset}` : s);
  const ing = summary.ingest;
  const cli = summary.client;
  const span = 6;
  const table = new Table({
    style: color ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
  });
  const row = (label: string, value: string): void => {
    table.push([label, { content: value, colSpan: span }]);
  };

  row('run', summary.runId);
  // The verdict names what cost the run its service and what the percentiles leave out.
  const verdict = verdictLines(summary).map((l) => `- ${l}`);
  row(
    'validity',
    summary.valid
      ? [paint(ANSI.green, 'VALID'), ...verdict].join('\n')
      : [paint(ANSI.red, 'INVALID'), ...summary.invalidReasons.map((r) => `- ${r}`), ...verdict].join('\n'),
  );
  const target = ing.targetRateHz === null ? 'closed loop' : `target ${formatRate(ing.targetRateHz)}`;
  row('rate', `${target}, achieved ${formatRate(ing.achievedRateHz)}`);

  let ackedText = `${formatInt(ing.acked)} / `;
  if (ing.rowsInTable === null) {
    ackedText += 'not counted';
  } else {
    ackedText += formatInt(ing.rowsInTable);
    if (ing.rowsInTable !== ing.acked) {
      const diff = ing.rowsInTable - ing.acked;
      ackedText += ` ${paint(ANSI.red, 'MISMATCH')} (${diff > 0 ? '+' : ''}${formatInt(diff)})`;
    }
  }
  row('rows acked / in table', ackedText);
  row('rows acked (measure)', formatInt(ing.ackedMeasure));
  row('operations', formatInt(ing.operations));
  row('late', formatInt(ing.late));
  row('dropped', ing.dropped > 0 ? paint(ANSI.yellow, formatInt(ing.dropped)) + ((ing.droppedAtEnd ?? 0) > 0 ? ` (${formatInt(ing.droppedAtEnd!)} still queued at the end)` : '') : '0');
  if (ing.unfinished > 0) row('unfinished', formatInt(ing.unfinished));
  const errs = Object.entries(ing.errorsBySqlstate).sort(([a], [b]) => a.localeCompare(b));
  row(
    'errors',
    errs.length === 0 && ing.errors === 0
      ? '0'
      : paint(ANSI.red, `${formatInt(ing.errors)}`) + (errs.length > 0 ? ` (${errs.map(([code, n]) => `${code}: ${formatInt(n)}`).join(', ')})` : ''),
  );
  row('reconnects', formatInt(ing.reconnects));
  const av = summary.availability;
  if (av && av.outages.length > 0) {
    const sec = (x: number): string => (x / 1000).toFixed(1);
    row('unavailable', paint(ANSI.red, `${(av.unavailableMs / 1000).toFixed(2)} s`) + ` in ${av.outages.length} outage${av.outages.length === 1 ? '' : 's'}: ` +
      av.outages.map((o) => `${sec(o.startMs)}–${o.endMs === null ? 'end' : sec(o.endMs)} s (${o.causes.map((c) => c.split(' ')[0]).join(', ')})`).join('; ') +
      (av.recoveryMs === null ? '' : `; rate back at target ${sec(av.recoveryMs)} s after`) +
      (av.connections ? `; per connection ${av.connections.minMs === av.connections.maxMs ? sec(av.connections.minMs) : `${sec(av.connections.minMs)}–${sec(av.connections.maxMs)}`} s (${av.connections.down} of ${av.connections.count} down)` : ''));
  }

  table.push(['latency', 'p50', 'p90', 'p99', 'p99.9', 'max', 'count']);
  const latency = (label: string, l: LatencySummary): void => {
    table.push([label, formatUs(l.p50Us), formatUs(l.p90Us), formatUs(l.p99Us), formatUs(l.p999Us), formatUs(l.maxUs), formatInt(l.count)]);
  };
  latency('response', ing.response);
  latency('service', ing.service);
  latency('lag', ing.lag);
  if (ing.timerLag) latency('  timer lateness', ing.timerLag);
  if (ing.connectionWait) latency('  connection wait', ing.connectionWait);
  if (ing.censored && ing.censored.count > 0) {
    // Never sent (no connection up): only a lower bound of each response is known, so they sit beside the percentiles.
    const c = ing.censored;
    table.push(['  censored (never sent)', `≥ ${formatUs(c.atLeastP50Us)}`, '', '', '', `≥ ${formatUs(c.atLeastMaxUs)}`, formatInt(c.count)]);
  }

  row('client CPU', `${cli.cpuUsPerRow === null ? 'n/a' : `${cli.cpuUsPerRow.toFixed(2)} µs/row`}, ${cli.cpuCoresMean.toFixed(2)} cores`);
  row('worker ELU (busiest, mean)', cli.maxWorkerEluMean.toFixed(3));
  row('worker loop delay p99 (max)', formatUs(cli.loopDelayP99MaxUs));
  row('RSS', `${formatMb(cli.rssStartBytes)} → ${formatMb(cli.rssEndBytes)} MB`);
  // The notes go below the table, one line each: cli-table3 measures every cell's lines against every column, and a
  // cell of 61 long notes took 68 s to lay out here (30 notes: 9 s; none: 33 ms).
  const notes = summary.notes.length > 0 ? `\nnotes:\n${summary.notes.map((n) => `- ${n}`).join('\n')}` : '';
  return table.toString() + notes;
}
