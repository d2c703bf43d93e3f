/**
 * Figure paths: short dotted names for the numbers in summary.json, used by
 * `rtbench check` thresholds and as the row keys of `rtbench compare`. Pure.
 *
 * A path is the JSON path of a number in summary.json, with these aliases:
 *
 * - A unit suffix may be left off the last segment: `ingest.response.p99`
 *   means `ingest.response.p99Us`, `rollup.historyRollup` means
 *   `rollup.historyRollupMs`; suffixes tried, in order: `Us`, `Ms`, `Hz`, `Bytes`.
 * - `p99.9` at the end means `p999`.
 * - `probes.<probe>.<window>.<field>` means
 *   `probes.byProbe.<probe>.<window>.<field>` (probe names are never section names).
 *
 * Examples: `ingest.achievedRateHz`, `ingest.lag.p99.9`, `rollup.duration.p99`,
 * `freshness.p99`, `audit.lostEvents`, `probes.rollup-minutes.5m.p50`,
 * `probes.rollupSpeedup.1h`, `probes.hllRelativeError.1d`, `client.cpuUsPerRow`.
 *
 * A path that leads nowhere, to a section, to null, to a non-number, or to a
 * latency of a histogram with no samples (count 0) does not resolve: the
 * problem says which, so a threshold never passes on a figure that is absent.
 */

/** Unit of a figure's value, from its key's suffix. */
export type FigureUnit = 'us' | 'ms' | 'hz' | 'bytes' | 'number';

export interface ResolvedFigure {
  /** The path as written. */
  readonly path: string;
  /** The JSON path in summary.json it resolved to (aliases expanded). */
  readonly jsonPath: string;
  readonly value: number;
  readonly unit: FigureUnit;
}

export type FigureLookup =
  | { readonly ok: true; readonly figure: ResolvedFigure }
  | { readonly ok: false; readonly problem: string };

const UNIT_SUFFIXES = ['Us', 'Ms', 'Hz', 'Bytes'] as const;
const MAX_KEYS_LISTED = 12;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** An own, defined property (an `undefined` one is as absent as in the JSON file). */
function has(o: Obj, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key) && o[key] !== undefined;
}

/** Unit of a summary.json key: `p99Us` µs, `cpuUsPerRow` µs (per row), `historyRollupMs` ms, … */
export function unitOfKey(key: string): FigureUnit {
  if (/Us(Per[A-Z]\w*)?$/.test(key)) return 'us';
  if (key.endsWith('Ms')) return 'ms';
  if (key.endsWith('Hz')) return 'hz';
  if (key.endsWith('Bytes')) return 'bytes';
  return 'number';
}

function keysOf(o: Obj): string {
  const keys = Object.keys(o);
  const shown = keys.slice(0, MAX_KEYS_LISTED).join(', ');
  return keys.length > MAX_KEYS_LISTED ? `${shown}, …` : shown;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/**
 * Resolve `path` in a parsed summary.json. Never throws; a path that does not
 * name a measured number gives `{ ok: false, problem }` with a one-line reason.
 */
export function resolveFigure(summary: unknown, path: string): FigureLookup {
  const written = path.trim();
  const fail = (problem: string): FigureLookup => ({ ok: false, problem });
  if (written === '') return fail('empty figure path');
  const normalized = written.replace(/(^|\.)p99\.9$/, '$1p999');
  const segs = normalized.split('.');
  if (segs.some((s) => s === '')) return fail(`figure "${written}": malformed path (empty segment)`);

  let cur: unknown = summary;
  let parent: Obj | null = null;
  let key = '';
  const json: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    if (!isObj(cur)) return fail(`unknown figure "${written}": ${json.join('.')} is ${describe(cur)}, not a section`);
    let obj: Obj = cur;
    const byProbe = obj['byProbe'];
    if (i === 1 && segs[0] === 'probes' && !has(obj, seg) && isObj(byProbe) && has(byProbe, seg)) {
      json.push('byProbe');
      obj = byProbe;
    }
    let found: string | undefined = has(obj, seg) ? seg : undefined;
    if (found === undefined && last) found = UNIT_SUFFIXES.map((s) => seg + s).find((k) => has(obj, k));
    if (found === undefined) {
      const keys = keysOf(obj);
      return fail(`unknown figure "${written}": ${json.length === 0 ? 'summary.json' : json.join('.')} has no "${seg}"${keys ? ` (it has: ${keys})` : ''}`);
    }
    json.push(found);
    parent = obj;
    key = found;
    cur = obj[found];
  }

  const jsonPath = json.join('.');
  if (cur === null) return fail(`figure "${written}" was not measured in this run (${jsonPath} is null)`);
  if (isObj(cur)) return fail(`figure "${written}" is a section, not a number (it has: ${keysOf(cur)})`);
  if (typeof cur !== 'number' || !Number.isFinite(cur)) return fail(`figure "${written}" is ${describe(cur)}, not a number`);
  // A histogram with no samples reports 0 for every percentile: that is no measurement, not a fast one.
  if (parent && key.endsWith('Us') && !key.startsWith('idle') && parent['count'] === 0) {
    return fail(`figure "${written}" has no samples in this run (count 0)`);
  }
  return { ok: true, figure: { path: written, jsonPath, value: cur, unit: unitOfKey(key) } };
}
