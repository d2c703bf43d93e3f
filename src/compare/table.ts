/**
 * The comparison as a terminal table (cli-table3): figure, A, B, change, the
 * bootstrap interval of B − A and the verdict. Pure: returns a string.
 */
import Table from 'cli-table3';
import { formatUs } from '../report/console.js';
import type { Comparison, CompareRow, Display } from './compare.js';

/** A value for people, by display kind. */
export function formatValue(v: number, display: Display): string {
  if (!Number.isFinite(v)) return 'n/a';
  switch (display) {
    case 'us': return formatUs(v);
    case 'rate': return `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })} rows/s`;
    case 'count': return Math.round(v).toLocaleString('en-US');
    case 'ratio': return `${v.toFixed(2)}x`;
    case 'fraction': return `${(v * 100).toFixed(2)}%`;
    case 'number': return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(3)));
  }
}

/** A signed difference: `+1.2ms`, `-350µs`, `+0`. */
export function formatDiff(v: number, display: Display): string {
  if (v === 0) return '0';
  const abs = display === 'rate' ? formatValue(Math.abs(v), 'rate').replace(' rows/s', '') : formatValue(Math.abs(v), display);
  return `${v > 0 ? '+' : '-'}${abs}`;
}

function formatChange(pct: number | null): string {
  if (pct === null) return '—';
  if (pct === 0) return '0%';
  const digits = Math.abs(pct) < 10 ? 1 : 0;
  return `${pct > 0 ? '+' : ''}${pct.toFixed(digits)}%`;
}

function intervalText(r: CompareRow): string {
  if (!r.noise) return '—';
  const unit = r.display === 'rate' ? ' rows/s' : '';
  return `${formatDiff(r.noise.low, r.display)} … ${formatDiff(r.noise.high, r.display)}${unit}`;
}

function verdictText(r: CompareRow): string {
  // Probe cells say how many executions each side's verdict rests on.
  const n = r.section === 'probes' && r.n ? ` (n ${r.n.a}/${r.n.b})` : '';
  if (r.noise) return `${r.noise.verdict}${n}`;
  return `—${n}`;
}

/** Lines above the table: which run is A and B, validity, how verdicts were made. */
export function comparisonHeader(c: Comparison): string[] {
  const lines: string[] = [];
  for (const [side, h] of [['A', c.a], ['B', c.b]] as const) {
    lines.push(`${side}: ${h.label} (run ${h.runId}, ${h.intervals} measure intervals)${h.valid ? '' : ' INVALID'}`);
    for (const reason of h.invalidReasons) lines.push(`   - ${reason}`);
  }
  for (const n of c.notes) lines.push(`note: ${n}`);
  const b = c.bootstrap;
  lines.push(
    `verdicts (B vs A): bootstrap over measure intervals, ${b.resamples} resamples, seed ${b.seed}; ` +
      `${Math.round(b.confidence * 100)}% interval of B − A; "within noise" when it includes 0`,
  );
  return lines;
}

/** The comparison table, one row per figure (the figure path names its section). */
export function comparisonTable(c: Comparison): string {
  const ci = `${Math.round(c.bootstrap.confidence * 100)}% interval of B − A`;
  // No rule between rows: a comparison has ~100 of them.
  const table = new Table({
    head: ['figure', 'A', 'B', 'change', ci, 'verdict'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of c.rows) {
    table.push([r.figure, formatValue(r.a, r.display), formatValue(r.b, r.display), formatChange(r.changePct), intervalText(r), verdictText(r)]);
  }
  return table.toString();
}
