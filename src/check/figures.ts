/**
 * The default figure set: the figures of summary.json that regression
 * tracking follows when the user names none. One declaration, used by
 * `check --baseline` / `check --history` (the gate), `history add` (what a
 * record keeps), `export` (what Bencher and github-action-benchmark get) and
 * `history report` (one chart each). Pure.
 *
 * Each figure has a direction: `smaller` is better (latencies), `bigger` is
 * better (the achieved rate), or `zero`: the figure must be 0 (errors, lost
 * and duplicated events) whatever the history says.
 *
 * The set (in this order):
 * - `ingest.response.p50Us`, `ingest.response.p99Us` — smaller is better;
 * - `ingest.achievedRateHz` — bigger is better;
 * - `ingest.errors` — must be 0;
 * - of a capacity search's dir: `capacity.capacityHz` — bigger is better;
 * - where the run has them: `rollup.duration.p99Us`, `freshness.p99Us`,
 *   `server.perRow.walBytes`, `server.perRow.buffersWritten` (the server
 *   sampler's WAL bytes and buffers written per ingested row; smaller), every probe cell's `probes.byProbe.<probe>.<window>.p50Us`
 *   (smaller), `audit.lostEvents`, `audit.duplicatedEvents` (must be 0).
 *
 * Every figure is recorded, exported and charted; only `gated` ones can fail
 * `check --history`. Watched, not gated (see docs/ci-gating.md for the
 * figures): the per-row server figures — WAL per row moved by a third between
 * unchanged short runs (full-page writes after a checkpoint land in one run
 * and not the next) — and `ingest.response.p99`: in the A/A studies
 * (npm run bench:gate) it raised false alarms on unchanged runs as often as it
 * caught the regressions (4 of 20 against 3 and 4 of 20); over four studies it
 * alone caught 3 of 147 regressed runs the p50 and the rate missed, and alone
 * failed 2 of 73 unchanged ones. A user who needs a tail gated names it with
 * `--threshold`.
 *
 * A latency with no samples is absent (see figure-path.ts). A probe cell
 * marked `insufficient` (fewer samples than --min-samples) is left out and
 * named in `skipped`, so the gate never holds a figure from too few samples.
 */
import { resolveFigure, type FigureUnit } from './figure-path.js';
import { clientTail, type IngestLatencies } from '../metrics/client-tail.js';

/** Which way is worse: `smaller` is better (latency up is a regression), `bigger` is better, or the figure must be `zero`. */
export type Direction = 'smaller' | 'bigger' | 'zero';

/** One figure of a run, as regression tracking sees it. */
export interface TrackedFigure {
  /** The JSON path in summary.json, e.g. `ingest.response.p99Us`: the key in history records and exports. */
  readonly path: string;
  /** The short name people read and `check --threshold` accepts, e.g. `ingest.response.p99`. */
  readonly name: string;
  readonly value: number;
  readonly unit: FigureUnit;
  readonly direction: Direction;
  /** Samples behind a percentile (its histogram's count); null for counts and rates. */
  readonly samples: number | null;
  /** Whether `check --history` may fail on it (false: recorded and shown, never failing). */
  readonly gated: boolean;
  /**
   * Set when the client's timer lateness set more than CLIENT_SHARE_LIMIT of this response
   * percentile (metrics/client-tail.ts): `value` is then the service-time percentile, and this
   * says how much of the response one was the client's (0..1). Absent otherwise.
   */
  readonly heldOnService?: { readonly clientShare: number; readonly responseValue: number };
}

export interface DefaultFigures {
  readonly figures: TrackedFigure[];
  /** One line per figure left out because it rests on too few samples. */
  readonly skipped: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The fixed part of the set: JSON path and direction. */
const CORE: ReadonlyArray<readonly [string, Direction]> = [
  ['ingest.response.p50Us', 'smaller'],
  ['ingest.response.p99Us', 'smaller'],
  ['ingest.achievedRateHz', 'bigger'],
  ['ingest.errors', 'zero'],
  ['rollup.duration.p99Us', 'smaller'],
  ['freshness.p99Us', 'smaller'],
  // The server's work per ingested row (src/telemetry): watched, not gated (UNGATED).
  ['server.perRow.walBytes', 'smaller'],
  ['server.perRow.buffersWritten', 'smaller'],
  // A capacity dir (rtbench capacity): the sustainable rate.
  ['capacity.capacityHz', 'bigger'],
];
/** Recorded and shown but never failing the gate: not steady on short runs (see the module comment). */
export const UNGATED: ReadonlySet<string> = new Set(['ingest.response.p99Us', 'server.perRow.walBytes', 'server.perRow.buffersWritten']);

const AUDIT: ReadonlyArray<readonly [string, Direction]> = [
  ['audit.lostEvents', 'zero'],
  ['audit.duplicatedEvents', 'zero'],
];

/** `probes.byProbe.x.5m.p50Us` → `probes.x.5m.p50`; `ingest.achievedRateHz` stays (the alias needs the suffix only for the last segment's unit). */
export function shortName(jsonPath: string): string {
  const noProbe = jsonPath.replace(/^probes\.byProbe\./, 'probes.');
  return /\.p\d+(Us|Ms)$/.test(noProbe) ? noProbe.replace(/(Us|Ms)$/, '') : noProbe;
}

/** The histogram count next to a percentile (`…p99Us` → `…count`), or null. */
function samplesOf(summary: unknown, jsonPath: string): number | null {
  if (!/\.p\d+Us$/.test(jsonPath)) return null;
  let cur: unknown = summary;
  const segs = jsonPath.split('.');
  for (const s of segs.slice(0, -1)) cur = isObj(cur) ? cur[s] : undefined;
  return isObj(cur) && typeof cur['count'] === 'number' ? cur['count'] : null;
}

function tracked(summary: unknown, jsonPath: string, direction: Direction): TrackedFigure | null {
  const r = resolveFigure(summary, jsonPath);
  if (!r.ok) return null;
  return { path: r.figure.jsonPath, name: shortName(r.figure.jsonPath), value: r.figure.value, unit: r.figure.unit, direction, samples: samplesOf(summary, r.figure.jsonPath), gated: !UNGATED.has(r.figure.jsonPath) };
}

/** The ingest latencies of an open-loop run (a closed loop has no due time), or null. */
function openLoopIngest(summary: unknown): IngestLatencies | null {
  const ingest = isObj(summary) ? summary['ingest'] : undefined;
  if (!isObj(ingest) || typeof ingest['targetRateHz'] !== 'number') return null;
  const ok = (k: string): boolean => isObj(ingest[k]) && typeof (ingest[k] as Obj)['p99Us'] === 'number';
  return ok('response') && ok('service') && ok('lag') ? (ingest as unknown as IngestLatencies) : null;
}

/** A response percentile the client set is held on its service time (see client-tail.ts). */
function heldOnService(f: TrackedFigure, ingest: IngestLatencies | null): TrackedFigure {
  if (ingest === null) return f;
  const which = f.path === 'ingest.response.p50Us' ? 'p50' : f.path === 'ingest.response.p99Us' ? 'p99' : null;
  if (which === null) return f;
  const part = clientTail(ingest)[which];
  if (!part.clientSet) return f;
  return { ...f, value: part.serviceUs, heldOnService: { clientShare: part.clientShare, responseValue: part.responseUs } };
}

/**
 * The default figures a parsed summary.json holds, in the documented order.
 * Figures the run did not measure are simply absent. A response percentile
 * the client's lateness set (open loop) is held on its service time.
 */
export function defaultFigures(summary: unknown): DefaultFigures {
  const figures: TrackedFigure[] = [];
  const skipped: string[] = [];
  const ingest = openLoopIngest(summary);
  for (const [p, d] of CORE) {
    const f = tracked(summary, p, d);
    if (f) figures.push(heldOnService(f, ingest));
  }
  const probes = isObj(summary) ? summary['probes'] : undefined;
  const byProbe = isObj(probes) ? probes['byProbe'] : undefined;
  if (isObj(byProbe)) {
    for (const probe of Object.keys(byProbe).sort()) {
      const windows = byProbe[probe];
      if (!isObj(windows)) continue;
      for (const window of Object.keys(windows)) {
        const cell = windows[window];
        if (!isObj(cell)) continue;
        const path = `probes.byProbe.${probe}.${window}.p50Us`;
        if (cell['insufficient'] === true) {
          skipped.push(`${shortName(path)}: insufficient samples (n=${typeof cell['count'] === 'number' ? cell['count'] : '?'}), not tracked`);
          continue;
        }
        const f = tracked(summary, path, 'smaller');
        if (f) figures.push(f);
      }
    }
  }
  for (const [p, d] of AUDIT) {
    const f = tracked(summary, p, d);
    if (f) figures.push(f);
  }
  return { figures, skipped };
}

/** Whether a value of a figure is a regression against a limit, in the figure's direction. */
export function worseThan(value: number, limit: number, direction: Direction): boolean {
  return direction === 'bigger' ? value < limit : value > limit;
}
