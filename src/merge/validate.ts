/**
 * Whether a set of run directories is one complete `--instance i/N` family:
 * every problem found at once, plus warnings that do not block the merge. Pure.
 */
import type { RunInfo } from '../results/run-record.js';

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

  const versions = new Set(runs.map((r) => r.run.formatVersion));
  if (versions.size > 1) {
    problems.push(`the runs have different result format versions: ${runs.map((r) => `${r.dir} v${r.run.formatVersion}`).join(', ')}`);
  }
  const seeds = new Set(ids.map((x) => x.run.seed));
  if (seeds.size > 1) {
    warnings.push(`the instances ran with different seeds (${ids.map((x) => `${x.id.index}/${x.id.count}: ${x.run.seed}`).join(', ')}); were they launched together?`);
  }
  return { problems, warnings };
}
