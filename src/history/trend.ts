/**
 * Trends over a history: each record of one fingerprint, testbed and branch
 * held, figure by figure, against the records before it with the same gate
 * `check --history` uses (so the band a report draws is the limit CI would
 * have applied to that run), and the table `history list` prints. Pure.
 *
 * Like airspeed velocity's history view, x is the run order (labelled by
 * revision); a step up that the gate flags is marked as a regression.
 */
import Table from 'cli-table3';
import type { Direction } from '../check/figures.js';
import { shortName } from '../check/figures.js';
import type { FigureUnit } from '../check/figure-path.js';
import { centre, gateFigure, type GateOptions, type GateVerdict } from '../check/gate.js';
import { formatFigure } from '../check/markdown.js';
import type { HistoryRecord } from './record.js';

export interface TrendPoint {
  readonly runId: string;
  readonly revision: string | null;
  readonly startedAt: string;
  /** null: this record does not hold the figure. */
  readonly value: number | null;
  /** Centre of the window before this record (the median for the robust test, else the mean), null with no history. */
  readonly mean: number | null;
  /** The gate's limit for this record (from the records before it), null while insufficient. */
  readonly limit: number | null;
  readonly verdict: GateVerdict | null;
}

export interface FigureTrend {
  readonly path: string;
  readonly name: string;
  readonly unit: FigureUnit;
  readonly direction: Direction;
  readonly points: TrendPoint[];
}

/** Figures in the order they first appear (records oldest first), one trend each. */
export function trends(records: readonly HistoryRecord[], window: number, o: GateOptions): FigureTrend[] {
  const order: string[] = [];
  const meta = new Map<string, { unit: FigureUnit; direction: Direction }>();
  for (const r of records) {
    for (const [path, f] of Object.entries(r.figures)) {
      if (!meta.has(path)) {
        order.push(path);
        meta.set(path, { unit: f.unit, direction: f.direction });
      }
    }
  }
  return order.map((path) => {
    const { unit, direction } = meta.get(path)!;
    const seen: number[] = [];
    const points = records.map((r): TrendPoint => {
      const f = r.figures[path];
      const base = { runId: r.runId, revision: r.revision, startedAt: r.startedAt };
      if (!f) return { ...base, value: null, mean: null, limit: null, verdict: null };
      const windowValues = seen.slice(Math.max(0, seen.length - window));
      const g = gateFigure(f.value, windowValues, direction, o, { path, samples: f.samples });
      seen.push(f.value);
      return { ...base, value: f.value, mean: g.history.n > 0 ? centre(g.history, o) : null, limit: g.limit, verdict: g.verdict };
    });
    return { path, name: shortName(path), unit, direction, points };
  });
}

/** A revision for an axis label: 7 characters of a hash, else the text as given. */
export function shortRevision(rev: string | null): string {
  if (rev === null) return '?';
  return /^[0-9a-f]{40}$/.test(rev) ? rev.slice(0, 7) : rev;
}

function figureText(r: HistoryRecord, path: string): string {
  const f = r.figures[path];
  return f ? formatFigure(f.value, f.unit) : '—';
}

/** `history list`: one row per record, oldest first, with the core figures. */
export function historyTable(records: readonly HistoryRecord[]): string {
  const table = new Table({
    head: ['#', 'started', 'run id', 'revision', 'branch', 'testbed', 'fingerprint', 'scenario', 'p50', 'p99', 'rate', 'errors', 'figures'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  records.forEach((r, i) => {
    table.push([
      String(i + 1), r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), r.runId, shortRevision(r.revision), r.branch ?? '—', r.testbed, r.fingerprint, r.scenario,
      figureText(r, 'ingest.response.p50Us'), figureText(r, 'ingest.response.p99Us'), figureText(r, 'ingest.achievedRateHz'), figureText(r, 'ingest.errors'),
      String(Object.keys(r.figures).length),
    ]);
  });
  return table.toString();
}
