/**
 * `rtbench merge`'s core: N instance runs (`--instance 1/N … N/N`) become one
 * RunRecord, the same shape a single run has, so writeRunDir writes the same
 * files. Latency histograms are added, never averaged; counts are summed; the
 * dashboard side (rollup, probes, audit) comes from instance 1, the only one
 * that runs it. Pure: the caller reads the directories and writes the result.
 */
import { KINDS, type Kind } from '../metrics/aggregate.js';
import { newHistogram, summarize, type Histogram } from '../metrics/histogram.js';
import { RESULT_FORMAT_VERSION, type ClientSummary, type IngestSummary, type RunInfo, type RunRecord, type Summary } from '../results/run-record.js';
import { mergeIntervals, sumPhase, type InstanceInterval } from './intervals.js';
import { instanceOf } from './validate.js';

/** One instance's result directory, read and parsed. */
export interface MergeInput {
  readonly dir: string;
  readonly run: RunInfo;
  readonly summary: Summary;
  /** Decoded histograms.json; null when the directory has none (written by an older rtbench). */
  readonly histograms: Record<string, Histogram> | null;
  readonly intervals: readonly InstanceInterval[];
  /** The interval log's StartTime, ms since the epoch; null if unknown. */
  readonly startEpochMs: number | null;
}

export interface MergedInstance {
  readonly index: number;
  readonly runId: string;
  readonly achievedRateHz: number;
  readonly valid: boolean;
}

/** summary.json of a merged run: a Summary plus which instances went into it. */
export type MergedSummary = Summary & { readonly merged: { readonly count: number; readonly instances: readonly MergedInstance[] } };

/** run.json of a merged run: instance 1's, plus every instance's machine. */
export type MergedRunInfo = RunInfo & {
  readonly machine: RunInfo['machine'] & {
    readonly instances: ReadonlyArray<{ readonly index: number; readonly runId: string; readonly machine: RunInfo['machine'] }>;
  };
};

export interface MergedRecord extends RunRecord {
  readonly run: MergedRunInfo;
  readonly summary: MergedSummary;
}

/** The ingest histograms every run has: name -> phase and kind in the interval data. */
const INGEST_HISTOGRAMS: Record<string, { phase: 'warmup' | 'measure'; kind: Kind }> = {
  'ingest-response': { phase: 'measure', kind: 'response' },
  'ingest-service': { phase: 'measure', kind: 'service' },
  'ingest-lag': { phase: 'measure', kind: 'lag' },
  'warmup-response': { phase: 'warmup', kind: 'response' },
};

/** The lag split by cause: in histograms.json only (not in the interval log), so merged when every instance has it. */
const LAG_PART_HISTOGRAMS = { 'ingest-timer-lag': 'timerLag', 'ingest-connection-wait': 'connectionWait' } as const;

/** Keys of Summary that belong to the dashboard side (instance 1 only). */
const DASHBOARD_KEYS = ['rollup', 'preload', 'freshness', 'probes', 'parallel', 'expiry'] as const;

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function sumRecords(rs: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function mergeClient(cs: readonly ClientSummary[], ackedMeasure: readonly number[]): ClientSummary {
  // CPU per row weighted by rows: total CPU over total rows, not a mean of ratios.
  let cpuUs = 0;
  let rows = 0;
  cs.forEach((c, i) => {
    if (c.cpuUsPerRow === null) return;
    cpuUs += c.cpuUsPerRow * (ackedMeasure[i] ?? 0);
    rows += ackedMeasure[i] ?? 0;
  });
  return {
    cpuUsPerRow: rows > 0 ? cpuUs / rows : null,
    cpuCoresMean: sum(cs.map((c) => c.cpuCoresMean)),
    maxWorkerEluMean: Math.max(0, ...cs.map((c) => c.maxWorkerEluMean)),
    loopDelayP99MaxUs: Math.max(0, ...cs.map((c) => c.loopDelayP99MaxUs)),
    rssStartBytes: sum(cs.map((c) => c.rssStartBytes)),
    rssEndBytes: sum(cs.map((c) => c.rssEndBytes)),
  };
}

/**
 * Merge validated instance runs (see checkInstances) into one record.
 * `warnings` become the first notes of the merged summary.
 */
export function mergeRuns(inputs: readonly MergeInput[], opts: { readonly runId: string; readonly warnings?: readonly string[] }): MergedRecord {
  const runs = inputs.map((input) => {
    const id = instanceOf(input.run);
    if (!id) throw new Error(`${input.dir}: not an instance run (check with checkInstances first)`);
    return { ...input, id, label: `instance ${id.index}/${id.count}` };
  }).sort((a, b) => a.id.index - b.id.index);
  const first = runs[0];
  if (!first) throw new Error('mergeRuns: no runs');
  const count = first.id.count;
  const notes: string[] = [...(opts.warnings ?? [])];

  // Histograms: histograms.json when there, else the sum of the interval log's intervals.
  const histograms: Record<string, Histogram> = {};
  for (const [name, { phase, kind }] of Object.entries(INGEST_HISTOGRAMS)) {
    const h = newHistogram();
    for (const r of runs) h.add(r.histograms?.[name] ?? sumPhase(r.intervals, phase, kind));
    histograms[name] = h;
  }
  for (const name of Object.keys(LAG_PART_HISTOGRAMS)) {
    if (!runs.every((r) => r.histograms?.[name])) continue;
    const h = newHistogram();
    for (const r of runs) h.add(r.histograms![name]!);
    histograms[name] = h;
  }
  for (const r of runs) {
    if (!r.histograms) notes.push(`${r.label}: no histograms.json (older rtbench); its latency histograms were rebuilt from intervals.hlog`);
  }
  for (const [name, h] of Object.entries(first.histograms ?? {})) {
    if (!(name in INGEST_HISTOGRAMS) && !(name in LAG_PART_HISTOGRAMS)) histograms[name] = h;
  }
  if (!first.histograms && first.summary.rollup) notes.push(`${first.label}: no histograms.json, so the dashboard histograms (.hgrm) could not be carried over`);

  const ings = runs.map((r) => r.summary.ingest);
  const acked = sum(ings.map((i) => i.acked));
  const rowsInTable = ings.some((i) => i.rowsInTable === null) ? null : sum(ings.map((i) => i.rowsInTable ?? 0));
  const ingest: IngestSummary = {
    targetRateHz: ings.some((i) => i.targetRateHz === null) ? null : sum(ings.map((i) => i.targetRateHz ?? 0)),
    achievedRateHz: sum(ings.map((i) => i.achievedRateHz)),
    acked,
    ackedMeasure: sum(ings.map((i) => i.ackedMeasure)),
    rowsInTable,
    operations: sum(ings.map((i) => i.operations)),
    late: sum(ings.map((i) => i.late)),
    dropped: sum(ings.map((i) => i.dropped)),
    unfinished: sum(ings.map((i) => i.unfinished)),
    errorsBySqlstate: sumRecords(ings.map((i) => i.errorsBySqlstate)),
    errors: sum(ings.map((i) => i.errors)),
    reconnects: sum(ings.map((i) => i.reconnects)),
    response: summarize(histograms['ingest-response']!),
    service: summarize(histograms['ingest-service']!),
    lag: summarize(histograms['ingest-lag']!),
    ...Object.fromEntries(Object.entries(LAG_PART_HISTOGRAMS).flatMap(([name, key]) => (histograms[name] ? [[key, summarize(histograms[name])]] : []))),
    ...(first.summary.ingest.pipeline === undefined ? {} : { pipeline: first.summary.ingest.pipeline }),
    warmup: {
      rows: sum(ings.map((i) => i.warmup.rows)),
      errors: sum(ings.map((i) => i.warmup.errors)),
      response: summarize(histograms['warmup-response']!),
    },
  };

  const invalidReasons = runs.flatMap((r) => r.summary.invalidReasons.map((x) => `${r.label}: ${x}`));
  for (const r of runs) notes.push(...r.summary.notes.map((x) => `${r.label}: ${x}`));

  const s1 = first.summary;
  const dashboard: Partial<Summary> = {};
  for (const k of DASHBOARD_KEYS) if (s1[k] !== undefined) Object.assign(dashboard, { [k]: s1[k] });
  const summary: MergedSummary = {
    formatVersion: RESULT_FORMAT_VERSION,
    runId: opts.runId,
    valid: runs.every((r) => r.summary.valid),
    invalidReasons,
    notes,
    durationMs: s1.durationMs,
    ingest,
    ...dashboard,
    ...(s1.audit ? { audit: { ...s1.audit, acked, rowsInTable } } : {}),
    client: mergeClient(runs.map((r) => r.summary.client), ings.map((i) => i.ackedMeasure)),
    merged: {
      count,
      instances: runs.map((r) => ({ index: r.id.index, runId: r.run.runId, achievedRateHz: r.summary.ingest.achievedRateHz, valid: r.summary.valid })),
    },
  };

  const r1 = first.run;
  const times = (key: 'startedAt' | 'finishedAt'): number[] => runs.map((r) => Date.parse(r.run[key])).filter(Number.isFinite);
  const iso = (ms: number, fallback: string): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : fallback);
  const run: MergedRunInfo = {
    formatVersion: RESULT_FORMAT_VERSION,
    runId: opts.runId,
    startedAt: iso(Math.min(...times('startedAt')), r1.startedAt),
    finishedAt: iso(Math.max(...times('finishedAt')), r1.finishedAt),
    config: {
      ...r1.config,
      instance: null,
      description: `rtbench merge of ${count} load generators (--instance 1/${count} … ${count}/${count}): ${runs.map((r) => r.run.runId).join(', ')}`,
    },
    seed: r1.seed,
    target: r1.target,
    gitRevision: r1.gitRevision,
    ...(r1.gitBranch !== undefined ? { gitBranch: r1.gitBranch } : {}),
    versions: r1.versions,
    server: r1.server,
    ...(r1.citus ? { citus: r1.citus } : {}),
    machine: { ...r1.machine, instances: runs.map((r) => ({ index: r.id.index, runId: r.run.runId, machine: r.run.machine })) },
  };

  return {
    run,
    summary,
    histograms,
    intervals: mergeIntervals(runs.map((r) => r.intervals)),
    startEpochMs: first.startEpochMs ?? Date.parse(r1.startedAt),
    kinds: KINDS,
  };
}
