/**
 * `rtbench merge`'s core: N instance runs (`--instance 1/N … N/N`) become one
 * RunRecord, the same shape a single run has, so writeRunDir writes the same
 * files. Latency histograms are added, never averaged; counts are summed; the
 * dashboard side (rollup, probes, audit) comes from instance 1, the only one
 * that runs it. Pure: the caller reads the directories and writes the result.
 */
import { KINDS, type Kind } from '../metrics/aggregate.js';
import { newHistogram, summarize, type Histogram } from '../metrics/histogram.js';
import { RESULT_FORMAT_VERSION, type ClientSummary, type IngestSummary, type InstanceRecord, type RunInfo, type RunRecord, type ServerSummary, type Summary } from '../results/run-record.js';
import { perRow } from '../telemetry/counters.js';
import { mergeIntervals, sumPhase, type InstanceInterval } from './intervals.js';
import { startSpread, type StartSpread } from '../schedule/rendezvous.js';
import { instanceOf, rendezvousOf } from './validate.js';

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

/** How the instances of a merged run started: their group, common start and actual spread. */
export interface MergedStart extends StartSpread {
  readonly group: string;
  /** The common start, database clock, ms since the epoch. */
  readonly startEpochMs: number;
}

/** summary.json of a merged run: a Summary plus which instances went into it. */
export type MergedSummary = Summary & {
  readonly merged: { readonly count: number; readonly instances: readonly MergedInstance[]; readonly start: MergedStart | null };
};

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

/**
 * Histograms a run without histograms.json (an older rtbench) can have rebuilt
 * from its interval log: ingest-<kind> (measure phase) for every kind it
 * logged, and warmup-response.
 */
function rebuildable(intervals: readonly InstanceInterval[]): Record<string, { phase: 'warmup' | 'measure'; kind: Kind }> {
  const kinds = new Set<string>();
  for (const r of intervals) for (const k of Object.keys(r.encoded)) kinds.add(k);
  const out: Record<string, { phase: 'warmup' | 'measure'; kind: Kind }> = {};
  for (const k of kinds) out[`ingest-${k}`] = { phase: 'measure', kind: k as Kind };
  if (kinds.has('response')) out['warmup-response'] = { phase: 'warmup', kind: 'response' };
  return out;
}

/** The lag split by cause: in histograms.json only (not in the interval log); name -> key in the ingest summary. */
const LAG_PART_HISTOGRAMS = { 'ingest-timer-lag': 'timerLag', 'ingest-connection-wait': 'connectionWait' } as const;

/** Histograms of the load (every instance records its own), as opposed to the dashboard's (instance 1 only). */
const isLoadHistogram = (name: string): boolean => name.startsWith('ingest-') || name.startsWith('warmup-');

/** Keys of Summary that belong to the dashboard side (instance 1 only). */
const DASHBOARD_KEYS = ['rollup', 'preload', 'freshness', 'probes', 'parallel', 'expiry'] as const;

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * The server's figures of a group (the instances shared one server, so one sampler's view is
 * the server's): the first instance's that has them, per-row figures over the rows every
 * instance wrote in the measure window (each sampler's count; the acknowledged measure rows of
 * an instance without one). The line says where they come from, once.
 */
function mergedServer(runs: ReadonlyArray<{ readonly label: string; readonly summary: Summary }>): { server: ServerSummary; note: string } | null {
  const from = runs.find((r) => r.summary.server);
  const s = from?.summary.server;
  if (!from || !s) return null;
  const rowsAll = sum(runs.map((r) => r.summary.server?.counters?.rowsIngested ?? r.summary.ingest.ackedMeasure));
  const counters = s.counters ? { ...s.counters, rowsIngested: rowsAll } : null;
  // The instance's note that per-row figures were left to merge no longer applies.
  const unavailable = s.unavailable.filter((l) => !l.startsWith('per-row figures not given'));
  return {
    server: { ...s, counters, perRow: counters ? perRow(counters) : s.perRow, unavailable },
    note: `server: the figures of ${from.label}'s sampler (the instances shared one server, over its measure window); per-row figures over the ${rowsAll.toLocaleString('en-US')} rows all ${runs.length} instances wrote in the measure window`,
  };
}

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

/** The kinds of the merged interval log: this rtbench's, then any other the instances logged. */
function mergedKinds(lists: ReadonlyArray<readonly InstanceInterval[]>): Kind[] {
  const out: string[] = [...KINDS];
  for (const l of lists) for (const r of l) for (const k of Object.keys(r.encoded)) if (!out.includes(k)) out.push(k);
  return out as Kind[];
}

/** "group g: 2 instances registered 5.0 s apart, started their schedules 0.0 ms apart (± 0.1 ms)". */
export function startNote(s: MergedStart, count: number): string {
  const at = `at ${new Date(s.startEpochMs).toISOString()} (database clock)`;
  if (count === 1) return `group ${s.group}: 1 instance, started ${at}`;
  return `group ${s.group}: ${count} instances registered ${(s.registeredSpreadMs / 1000).toFixed(1)} s apart and started ` +
    `their schedules ${s.startSpreadMs.toFixed(2)} ms apart (± ${s.uncertaintyMs.toFixed(2)} ms clock uncertainty) ${at}`;
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

  // Histograms: from histograms.json when there, else the ingest ones rebuilt from the interval log. One
  // every instance has is added up (ingest-*, and any a newer rtbench adds, such as the lag split by cause);
  // one only instance 1 has is the dashboard's (only instance 1 runs it) and is carried over; any other is
  // left out, with a note, rather than merged from part of the load.
  const own = runs.map((r) => r.histograms ?? Object.fromEntries(
    Object.entries(rebuildable(r.intervals)).map(([name, { phase, kind }]) => [name, sumPhase(r.intervals, phase, kind)]),
  ));
  for (const r of runs) {
    if (!r.histograms) notes.push(`${r.label}: no histograms.json (older rtbench); its latency histograms were rebuilt from intervals.hlog`);
  }
  const histograms: Record<string, Histogram> = {};
  for (const name of [...new Set(own.flatMap((h) => Object.keys(h)))]) {
    const having = runs.filter((_, i) => own[i]![name] !== undefined);
    if (having.length === runs.length || (!isLoadHistogram(name) && having.length === 1 && having[0] === first)) {
      const h = newHistogram();
      for (const hs of own) if (hs[name]) h.add(hs[name]);
      histograms[name] = h;
    } else {
      notes.push(`histogram ${name} is in ${having.map((r) => r.label).join(', ')} only; left out of the merged run`);
    }
  }
  for (const name of ['ingest-response', 'ingest-service', 'ingest-lag', 'warmup-response']) histograms[name] ??= newHistogram();
  if (!first.histograms && first.summary.rollup) notes.push(`${first.label}: no histograms.json, so the dashboard histograms (.hgrm) could not be carried over`);

  // Placed by time: each instance's intervals count from the group's common start (database clock).
  const rdvs = runs.map((r) => rendezvousOf(r.run));
  const origin = (i: number): number => rdvs[i]?.startEpochMs ?? runs[i]!.startEpochMs ?? Date.parse(runs[i]!.run.startedAt);
  let start: MergedStart | null = null;
  if (rdvs.every((x) => x !== null)) {
    const rs = rdvs as InstanceRecord[];
    start = { group: rs[0]!.group, startEpochMs: Math.min(...rs.map((x) => x.startEpochMs)), ...startSpread(rs) };
    notes.unshift(startNote(start, count));
  }

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
    ...(ings.some((i) => i.droppedAtEnd !== undefined) ? { droppedAtEnd: sum(ings.map((i) => i.droppedAtEnd ?? 0)) } : {}),
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
  // An instance rebuilt by `rtbench recover` covered only part of its load: the merged run says how much.
  for (const r of runs) {
    const rec = r.run.recovered;
    if (!rec) continue;
    const share = rec.plannedMeasureS > 0 ? ` (${((rec.measureS / rec.plannedMeasureS) * 100).toFixed(0)}%)` : '';
    invalidReasons.unshift(`${r.label} was recovered after its load generator stopped: it covered ${rec.measureS.toFixed(0)} s of its ${rec.plannedMeasureS.toFixed(0)} s measure phase${share}, ` +
      `${r.summary.ingest.ackedMeasure} rows; the merged load is short by the rest`);
  }
  for (const r of runs) notes.push(...r.summary.notes.map((x) => `${r.label}: ${x}`));

  const s1 = first.summary;
  const dashboard: Partial<Summary> = {};
  for (const k of DASHBOARD_KEYS) if (s1[k] !== undefined) Object.assign(dashboard, { [k]: s1[k] });
  const server = mergedServer(runs);
  if (server) notes.push(server.note);
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
    ...(server ? { server: server.server } : {}),
    client: mergeClient(runs.map((r) => r.summary.client), ings.map((i) => i.ackedMeasure)),
    merged: {
      count,
      instances: runs.map((r) => ({ index: r.id.index, runId: r.run.runId, achievedRateHz: r.summary.ingest.achievedRateHz, valid: r.summary.valid })),
      start,
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
    intervals: mergeIntervals(runs.map((r, i) => ({ originEpochMs: origin(i), intervals: r.intervals }))),
    startEpochMs: Math.min(...runs.map((_, i) => origin(i))),
    kinds: mergedKinds(runs.map((r) => r.intervals)),
  };
}
