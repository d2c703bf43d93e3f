/**
 * The capacity search: which rate to try next, from the verdicts so far.
 * Pure: it sees step outcomes (rate and verdict), never a database or a clock.
 *
 * 1. Grow the rate geometrically from `startHz` (× `growth`) until a step
 *    fails, or `maxHz` passes. When the first step fails, shrink (÷ `growth`)
 *    down to `minHz` looking for a pass.
 * 2. Bisect between the highest pass and the lowest fail above it until
 *    fail / pass − 1 ≤ `precision`.
 * 3. Confirm: the answer is the highest rate that passed twice with the next
 *    rate above it failing twice. A rate whose verdicts disagree gets a third
 *    step; its majority decides. A pass above the lowest confirmed fail is
 *    noise and is reported, never the capacity.
 * A `harness` verdict (the client could not drive the step) is repeated once;
 * twice makes that rate a ceiling: the search goes on below it (shrinking,
 * then bisecting up to it) and ends harness-bound, `≥ pass`, unless a fail of
 * the database is found below the ceiling (then the bracket is found as usual).
 */

/** One step's outcome, as the search sees it. */
export interface SearchStep {
  readonly rateHz: number;
  readonly verdict: 'pass' | 'fail' | 'harness';
}

export interface SearchOptions {
  readonly startHz: number;
  /** Upper bound of the search (rows/s). */
  readonly maxHz: number;
  /** Lower bound when the first steps fail (rows/s). */
  readonly minHz: number;
  /** Geometric growth factor (> 1). */
  readonly growth: number;
  /** Bisection stops when fail / pass − 1 ≤ precision. */
  readonly precision: number;
  /** Verdicts needed at each end of the bracket (2: confirmed). */
  readonly confirmations: number;
  /** Hard bound on the number of steps. */
  readonly maxSteps: number;
}

export const DEFAULT_SEARCH: Omit<SearchOptions, 'startHz' | 'maxHz' | 'minHz'> = {
  growth: 2,
  precision: 0.05,
  confirmations: 2,
  maxSteps: 24,
};

/** Why the search ended. */
export type SearchEnd =
  /** A confirmed bracket [passHz, failHz] within the precision. */
  | 'found'
  /** --max passed: the capacity is at least maxHz. */
  | 'max-passed'
  /** Nothing passed down to --min. */
  | 'no-pass'
  /** The client could not drive a step (twice at one rate). */
  | 'harness-bound'
  /** --max-steps ran out before the bracket closed. */
  | 'step-limit';

export type SearchNext =
  | { readonly action: 'run'; readonly rateHz: number; readonly why: string }
  | { readonly action: 'done'; readonly end: SearchEnd; readonly passHz: number | null; readonly failHz: number | null; readonly harnessHz?: number; readonly noise: readonly string[] };

interface Tally { pass: number; fail: number; harness: number }

function tallies(steps: readonly SearchStep[]): Map<number, Tally> {
  const m = new Map<number, Tally>();
  for (const s of steps) {
    const t = m.get(s.rateHz) ?? { pass: 0, fail: 0, harness: 0 };
    t[s.verdict]++;
    m.set(s.rateHz, t);
  }
  return m;
}

/** A rate a user reads: whole rows/s, three significant digits above 1,000. */
export function roundRate(hz: number): number {
  if (hz < 1000) return Math.max(1, Math.round(hz));
  const mag = 10 ** (Math.floor(Math.log10(hz)) - 2);
  return Math.round(hz / mag) * mag;
}

/** The next step, or the end of the search. */
export function nextStep(steps: readonly SearchStep[], o: SearchOptions): SearchNext {
  const t = tallies(steps);
  const rates = [...t.keys()].sort((a, b) => a - b);
  const noise: string[] = [];
  if (steps.length === 0) return { action: 'run', rateHz: roundRate(Math.min(o.startHz, o.maxHz)), why: 'start' };

  // A step the client could not drive is repeated once (a noisy moment); twice makes its rate a ceiling:
  // nothing at or above it measures the database, so the search goes on below it.
  const last = steps[steps.length - 1]!;
  if (last.verdict === 'harness' && t.get(last.rateHz)!.harness < 2) {
    return { action: 'run', rateHz: last.rateHz, why: 'repeat: the client could not drive the last step' };
  }
  const ceiling = rates.find((r) => t.get(r)!.harness >= 2) ?? null;
  const below = ceiling === null ? rates : rates.filter((r) => r < ceiling);

  // Undecided rates (as many passes as fails) get another step before anything else.
  for (const r of below) {
    const x = t.get(r)!;
    if (x.pass > 0 && x.pass === x.fail) return { action: 'run', rateHz: r, why: `tie-break: ${x.pass} pass, ${x.fail} fail` };
  }
  const leansPass = (r: number): boolean => t.get(r)!.pass > t.get(r)!.fail;
  const leansFail = (r: number): boolean => t.get(r)!.fail > t.get(r)!.pass;
  const hi = below.find(leansFail) ?? null;
  const passesBelow = below.filter((r) => leansPass(r) && (hi === null || r < hi));
  const lo = passesBelow.length > 0 ? passesBelow[passesBelow.length - 1]! : null;
  for (const r of rates) if (hi !== null && r > hi && leansPass(r)) noise.push(`${r} rows/s passed above the failing ${hi} rows/s (noise; not the capacity)`);

  const harnessEnd = (): SearchNext => ({ action: 'done', end: 'harness-bound', passHz: lo, failHz: hi, harnessHz: ceiling!, noise });
  if (steps.length >= o.maxSteps) return ceiling !== null && hi === null ? harnessEnd() : { action: 'done', end: 'step-limit', passHz: lo, failHz: hi, noise };

  const confirm = (r: number, kind: 'pass' | 'fail'): SearchNext | null =>
    t.get(r)![kind] < o.confirmations ? { action: 'run', rateHz: r, why: `confirm ${kind} at ${r} rows/s` } : null;
  const untried = (r: number): boolean => !t.has(r);

  if (hi === null) {
    if (ceiling !== null) {
      // Only the client's ceiling above: search below it, as close as the precision allows.
      if (lo === null) {
        const lowest = below[0] ?? ceiling;
        const next = roundRate(Math.max(lowest / o.growth, o.minHz));
        return next < lowest && untried(next) ? { action: 'run', rateHz: next, why: `shrink below the client's ceiling ${ceiling} rows/s` } : harnessEnd();
      }
      const mid = roundRate((lo + ceiling) / 2);
      if (ceiling / lo - 1 > o.precision && mid > lo && mid < ceiling && untried(mid)) return { action: 'run', rateHz: mid, why: `bisect ${lo}–${ceiling} (client ceiling)` };
      return confirm(lo, 'pass') ?? harnessEnd();
    }
    // Everything so far passed: grow.
    if (lo === null) return { action: 'run', rateHz: roundRate(Math.min(o.startHz, o.maxHz)), why: 'start' };
    if (lo >= o.maxHz) return confirm(lo, 'pass') ?? { action: 'done', end: 'max-passed', passHz: lo, failHz: null, noise };
    return { action: 'run', rateHz: roundRate(Math.min(lo * o.growth, o.maxHz)), why: `grow ×${o.growth}` };
  }
  if (lo === null) {
    // Everything so far failed: shrink to --min, confirming the lowest failure before giving up.
    const lowest = below[0]!;
    if (lowest <= roundRate(o.minHz)) return confirm(lowest, 'fail') ?? { action: 'done', end: 'no-pass', passHz: null, failHz: lowest, noise };
    return { action: 'run', rateHz: roundRate(Math.max(lowest / o.growth, o.minHz)), why: `shrink ÷${o.growth}` };
  }
  if (hi / lo - 1 > o.precision) {
    const mid = roundRate((lo + hi) / 2);
    if (mid > lo && mid < hi && untried(mid)) return { action: 'run', rateHz: mid, why: `bisect ${lo}–${hi}` };
  }
  return confirm(lo, 'pass') ?? confirm(hi, 'fail') ?? { action: 'done', end: 'found', passHz: lo, failHz: hi, noise };
}

/**
 * Steps left, as an estimate for the progress line: growth steps to the first
 * fail are unknown, so assume one more; then bisections and confirmations.
 */
export function estimateStepsLeft(steps: readonly SearchStep[], o: SearchOptions): number {
  const t = tallies(steps);
  const rates = [...t.keys()].sort((a, b) => a - b);
  const hi = rates.find((r) => t.get(r)!.fail > t.get(r)!.pass) ?? null;
  const pass = rates.filter((r) => t.get(r)!.pass > t.get(r)!.fail && (hi === null || r < hi));
  const lo = pass.length ? pass[pass.length - 1]! : null;
  const confirmations = (r: number | null, k: 'pass' | 'fail'): number => (r === null ? o.confirmations : Math.max(0, o.confirmations - t.get(r)![k]));
  if (hi === null || lo === null) {
    // Unknown bracket: one more step to find it, then a halving from a ×growth gap.
    const bisections = Math.max(0, Math.ceil(Math.log2(Math.max(1e-9, o.growth - 1) / o.precision)));
    return Math.min(o.maxSteps - steps.length, 1 + bisections + (o.confirmations - 1) * 2);
  }
  const gap = hi / lo - 1;
  const bisections = gap > o.precision ? Math.ceil(Math.log2(gap / o.precision)) : 0;
  return Math.min(o.maxSteps - steps.length, bisections + confirmations(lo, 'pass') + confirmations(hi, 'fail'));
}
