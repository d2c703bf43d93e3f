/**
 * One record of the history store: a run reduced to what regression tracking
 * needs (identity, revision, branch, fingerprint, testbed, the default
 * figures). Building a record from a run and checking a record read back.
 * Pure.
 */
import { defaultFigures, type Direction } from '../check/figures.js';
import type { FigureUnit } from '../check/figure-path.js';
import type { RunInfo, Summary } from '../results/run-record.js';
import { scenarioFingerprint } from './fingerprint.js';

/** The `kind` every record carries, so a foreign JSON file is never taken for one. */
export const HISTORY_RECORD_KIND = 'rtbench-history-record';
export const HISTORY_FORMAT_VERSION = 1;

export interface HistoryFigure {
  readonly value: number;
  readonly unit: FigureUnit;
  readonly direction: Direction;
  /** Samples behind a percentile; null for counts and rates. */
  readonly samples: number | null;
}

export interface HistoryRecord {
  readonly kind: typeof HISTORY_RECORD_KIND;
  readonly formatVersion: number;
  readonly runId: string;
  /** ISO time the run started; records are ordered by it. */
  readonly startedAt: string;
  /** Git revision of rtbench's checkout (or --revision). */
  readonly revision: string | null;
  readonly branch: string | null;
  readonly testbed: string;
  readonly fingerprint: string;
  /** The scenario's name, for people (not part of the fingerprint). */
  readonly scenario: string;
  /** Default figures by JSON path (see src/check/figures.ts). */
  readonly figures: Record<string, HistoryFigure>;
  /** Figures left out for too few samples. */
  readonly skipped: string[];
}

export interface RecordLabels {
  readonly revision?: string | undefined;
  readonly branch?: string | undefined;
  readonly testbed?: string | undefined;
}

/** Run ids and labels: one path component / one line of plain text. */
export const SAFE_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const LABEL = /^[^\n\r\t]{1,200}$/;

/** Problems with --revision / --branch / --testbed values (empty when fine). */
export function labelProblems(l: RecordLabels): string[] {
  const out: string[] = [];
  for (const k of ['revision', 'branch', 'testbed'] as const) {
    const v = l[k];
    if (v !== undefined && !LABEL.test(v)) out.push(`--${k}: must be 1 to 200 characters on one line, got ${JSON.stringify(v)}`);
  }
  return out;
}

/** The testbed of a run: --testbed, else the host name it ran on. */
export function testbedOf(run: RunInfo, testbed?: string): string {
  return testbed ?? run.machine?.hostname ?? 'unknown';
}

/** Build the record of a run; labels given on the command line win over run.json. */
export function buildRecord(run: RunInfo, summary: Summary, labels: RecordLabels = {}): HistoryRecord {
  const { figures, skipped } = defaultFigures(summary);
  const byPath: Record<string, HistoryFigure> = {};
  for (const f of figures) byPath[f.path] = { value: f.value, unit: f.unit, direction: f.direction, samples: f.samples };
  return {
    kind: HISTORY_RECORD_KIND,
    formatVersion: HISTORY_FORMAT_VERSION,
    runId: run.runId,
    startedAt: run.startedAt,
    revision: labels.revision ?? run.gitRevision ?? null,
    branch: labels.branch ?? run.gitBranch ?? null,
    testbed: testbedOf(run, labels.testbed),
    fingerprint: scenarioFingerprint(run.config),
    scenario: typeof run.config['name'] === 'string' ? run.config['name'] : 'unknown',
    figures: byPath,
    skipped,
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const UNITS: readonly string[] = ['us', 'ms', 'hz', 'bytes', 'number'];
const DIRECTIONS: readonly string[] = ['smaller', 'bigger', 'zero'];

/**
 * Check a parsed JSON value is a history record; returns it, or a one-line
 * reason it is not (the caller names the file).
 */
export function parseRecord(data: unknown): HistoryRecord | string {
  if (!isObj(data)) return 'not a JSON object';
  if (data['kind'] !== HISTORY_RECORD_KIND) return `not an rtbench history record (no "kind": "${HISTORY_RECORD_KIND}")`;
  const v = data['formatVersion'];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return 'no valid formatVersion';
  if (v > HISTORY_FORMAT_VERSION) return `format version ${v} is newer than this rtbench understands (${HISTORY_FORMAT_VERSION})`;
  const runId = data['runId'];
  if (typeof runId !== 'string' || !SAFE_ID.test(runId)) return 'no valid runId';
  if (typeof data['startedAt'] !== 'string' || Number.isNaN(Date.parse(data['startedAt']))) return 'no valid startedAt';
  for (const k of ['revision', 'branch'] as const) {
    if (data[k] !== null && typeof data[k] !== 'string') return `${k} is neither a string nor null`;
  }
  for (const k of ['testbed', 'fingerprint', 'scenario'] as const) {
    if (typeof data[k] !== 'string' || data[k] === '') return `no ${k}`;
  }
  const figures = data['figures'];
  if (!isObj(figures)) return 'no figures object';
  for (const [path, f] of Object.entries(figures)) {
    if (!isObj(f) || typeof f['value'] !== 'number' || !Number.isFinite(f['value'])) return `figure ${path}: no finite value`;
    if (typeof f['unit'] !== 'string' || !UNITS.includes(f['unit'])) return `figure ${path}: unknown unit`;
    if (typeof f['direction'] !== 'string' || !DIRECTIONS.includes(f['direction'])) return `figure ${path}: unknown direction`;
    if (f['samples'] !== null && typeof f['samples'] !== 'number') return `figure ${path}: samples is neither a number nor null`;
  }
  if (!Array.isArray(data['skipped']) || !data['skipped'].every((s) => typeof s === 'string')) return 'no skipped list';
  return data as unknown as HistoryRecord;
}

/** Oldest first: by start time, then run id. */
export function byStart(a: HistoryRecord, b: HistoryRecord): number {
  const d = Date.parse(a.startedAt) - Date.parse(b.startedAt);
  return d !== 0 ? d : a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0;
}

export interface Selection {
  readonly fingerprint: string;
  readonly testbed: string;
  readonly branch: string;
}

/** Records of one fingerprint, testbed and branch, oldest first, without `excludeRunId` (the run being checked). */
export function selectRecords(records: readonly HistoryRecord[], s: Selection, excludeRunId?: string): HistoryRecord[] {
  return records
    .filter((r) => r.fingerprint === s.fingerprint && r.testbed === s.testbed && r.branch === s.branch && r.runId !== excludeRunId)
    .sort(byStart);
}

/** The history values of one figure: the last `window` selected records that hold it, oldest first. */
export function windowValues(selected: readonly HistoryRecord[], path: string, window: number): { values: number[]; records: HistoryRecord[] } {
  const holding = selected.filter((r) => r.figures[path] !== undefined);
  const last = holding.slice(Math.max(0, holding.length - window));
  return { values: last.map((r) => r.figures[path]!.value), records: last };
}
