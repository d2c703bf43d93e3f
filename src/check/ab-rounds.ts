/**
 * The rounds of `check --ab --a-runs DIR --b-runs DIR`: runs already made in
 * alternating rounds (say by two builds of a tool, or two servers set up by
 * the job), one result dir per run under each DIR, paired by the order they
 * started. Pure: the caller reads the dirs.
 */
import type { AbRound } from './ab.js';

export interface MadeRun {
  readonly dir: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly summary: unknown;
  readonly valid: boolean;
  readonly invalidReasons: readonly string[];
}

/**
 * Pairs the i-th run of a with the i-th of b (each side in start order) and
 * checks that they were made in alternating rounds: sorted by start time, the
 * runs of round i come before those of round i + 1, one of each side per
 * round, and no two runs overlap in time (a duet shares the machine by turns,
 * never at once). Every broken rule is one problem line.
 */
export function pairMadeRuns(a: readonly MadeRun[], b: readonly MadeRun[]): { rounds: AbRound[]; invalid: string[]; problems: string[] } {
  const problems: string[] = [];
  if (a.length !== b.length) problems.push(`--a-runs holds ${a.length} runs and --b-runs ${b.length}: a round is one run of each`);
  const byStart = (x: MadeRun, y: MadeRun): number => x.startMs - y.startMs;
  const as = [...a].sort(byStart);
  const bs = [...b].sort(byStart);
  const n = Math.min(as.length, bs.length);
  const rounds: AbRound[] = [];
  const invalid: string[] = [];
  for (let i = 0; i < n; i++) {
    const ra = as[i]!;
    const rb = bs[i]!;
    const [first, second] = ra.startMs <= rb.startMs ? [ra, rb] : [rb, ra];
    if (second.startMs < first.endMs) problems.push(`round ${i + 1}: ${ra.dir} and ${rb.dir} ran at the same time; a duet runs them by turns`);
    const prevEnd = i > 0 ? Math.max(as[i - 1]!.endMs, bs[i - 1]!.endMs) : -Infinity;
    if (first.startMs < prevEnd) problems.push(`round ${i + 1}: ${first.dir} started before round ${i} ended; the runs were not made in alternating rounds`);
    rounds.push({ a: ra.summary, b: rb.summary, first: first === ra ? 'a' : 'b' });
    for (const [side, r] of [['a', ra], ['b', rb]] as const) if (!r.valid) invalid.push(`round ${i + 1} ${side}: ${r.invalidReasons.join('; ')}`);
  }
  return { rounds, invalid, problems };
}
