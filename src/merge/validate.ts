/**
 * Whether a set of run directories is one complete `--instance i/N` family:
 * every problem found at once, plus warnings that do not block the merge. Pure.
 */
import type { InstanceRecord, RunInfo } from '../results/run-record.js';

/** Which load generator a run was: `--instance index/count`. */
export interface InstanceId {
  readonly index: number;
  readonly count: number;
}

/** A run as `merge` sees it; `dir` names it in messages. */
export interface InstanceRun {
  readonly dir: string;
  readonly run: RunInfo;
}

/** The `instance` of a run.json config, or null if it was not an instance run (or is malformed). */
export function instanceOf(run: RunInfo): InstanceId | null {
  const v = run.config['instance'];
  if (v === null || typeof v !== 'object') return null;
  const { index, count } = v as Record<string, unknown>;
  if (typeof index !== 'number' || typeof count !== 'number' || !Number.isInteger(index) || !Number.isInteger(count)) return null;
  if (count < 1 || index < 1 || index > count) return null;
  return { index, count };
}

/** run.json `instance` (the rendezvous record), or null if the run has none or it is malformed. */
export function rendezvousOf(run: RunInfo): InstanceRecord | null {
  const v: unknown = run.instance;
  if (v === null || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  const nums = ['index', 'count', 'startEpochMs', 'clockOffsetMs', 'clockRoundTripMs', 'registeredAtEpochMs', 'lateStartMs'];
  if (typeof r['group'] !== 'string' || !nums.every((k) => typeof r[k] === 'number' && Number.isFinite(r[k]))) return null;
  return v as InstanceRecord;
}

/**
 * Settings every instance of one launch must share: they shape the schedule
 * and the rows, so instances that differ in them did not run one benchmark.
 * (Workers and connections may differ per host; the rollup runs on instance 1 only.)
 */
export const SHARED_SETTINGS = ['rateHz', 'durationMs', 'warmupMs', 'mode', 'batch', 'statement', 'workload', 'lateThresholdMs'] as const;

export interface InstanceCheck {
  /** Blocking problems, one line each (exit 2). */
  readonly problems: string[];
  /** Worth a note in the merged summary, not blocking. */
  readonly warnings: string[];
}

/**
 * Check that `runs` are instances 1..N of one N, each once, in one result
 * format. Different seeds are a warning (each instance draws its own PRNG
 * streams either way, but the runs were probably not launched together).
 */
export function checkInstances(runs: readonly InstanceRun[]): InstanceCheck {
  const problems: string[] = [];
  const warnings: string[] = [];
  const ids: Array<{ dir: string; run: RunInfo; id: InstanceId }> = [];
  for (const r of runs) {
    const id = instanceOf(r.run);
    if (id) ids.push({ ...r, id });
    else problems.push(`${r.dir}: run ${r.run.runId} is not an instance run (its run.json has no --instance i/N)`);
  }

  const counts = new Set(ids.map((x) => x.id.count));
  if (counts.size > 1) {
    problems.push(`the runs disagree on the number of instances N: ${ids.map((x) => `${x.dir} is ${x.id.index}/${x.id.count}`).join(', ')}`);
  }
  const byIndex = new Map<number, string[]>();
  for (const x of ids) byIndex.set(x.id.index, [...(byIndex.get(x.id.index) ?? []), x.dir]);
  for (const [index, dirs] of [...byIndex].sort(([a], [b]) => a - b)) {
    if (dirs.length > 1) problems.push(`instance ${index} appears ${dirs.length} times: ${dirs.join(', ')}`);
  }
  if (counts.size === 1) {
    const n = [...counts][0]!;
    const missing: number[] = [];
    for (let i = 1; i <= n; i++) if (!byIndex.has(i)) missing.push(i);
    if (missing.length > 0) problems.push(`instance${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} missing: give the result dirs of all ${n} instances`);
  }

  // Started together? Every instance must carry the rendezvous record of one launch of one group.
  const starts = ids.map((x) => ({ ...x, rdv: rendezvousOf(x.run) }));
  const n = counts.size === 1 ? [...counts][0]! : 0;
  if (n > 1) {
    for (const x of starts.filter((s) => s.rdv === null)) {
      problems.push(`${x.dir}: instance ${x.id.index}/${x.id.count} has no common start (run without --group, or by an older rtbench), so its intervals cannot be aligned by time`);
    }
  }
  const withRdv = starts.filter((s) => s.rdv !== null);
  const groups = new Set(withRdv.map((s) => s.rdv!.group));
  if (groups.size > 1) {
    problems.push(`the runs belong to different groups: ${withRdv.map((s) => `${s.dir} is group ${s.rdv!.group}`).join(', ')}`);
  } else if (groups.size === 1) {
    const startsAt = new Set(withRdv.map((s) => s.rdv!.startEpochMs));
    if (startsAt.size > 1) {
      problems.push(`the runs of group ${[...groups][0]} come from different launches (common starts ${withRdv.map((s) => `${s.dir}: ${new Date(s.rdv!.startEpochMs).toISOString()}`).join(', ')})`);
    }
  }
  for (const key of SHARED_SETTINGS) {
    const values = new Map<string, string[]>();
    for (const x of ids) {
      const v = JSON.stringify(x.run.config[key] ?? null);
      values.set(v, [...(values.get(v) ?? []), x.dir]);
    }
    if (values.size > 1) {
      problems.push(`the instances ran with different settings: ${key} is ${[...values].map(([v, dirs]) => `${v} in ${dirs.join(', ')}`).join('; ')}`);
    }
  }

  const versions = new Set(runs.map((r) => r.run.formatVersion));
  if (versions.size > 1) {
    problems.push(`the runs have different result format versions: ${runs.map((r) => `${r.dir} v${r.run.formatVersion}`).join(', ')}`);
  }
  const seeds = new Set(ids.map((x) => x.run.seed));
  if (seeds.size > 1) {
    // With a common start they were launched together; the seeds are then only what a re-run needs.
    const together = starts.every((x) => x.rdv !== null) && groups.size === 1;
    warnings.push(`the instances ran with different seeds (${ids.map((x) => `${x.id.index}/${x.id.count}: ${x.run.seed}`).join(', ')})` +
      (together ? ': to reproduce the rows, re-run each instance with its own --seed' : '; were they launched together?'));
  }
  return { problems, warnings };
}
