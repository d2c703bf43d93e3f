/**
 * The capacity search: which trial to run next, from the trials so far. Pure:
 * it sees trial outcomes (rate, planned duration, verdict), never a database
 * or a clock, and its whole state is derived from them, so a search resumes
 * from its kept trials (the MLRsearch way, RFC 9971).
 *
 * A rate's verdict comes from all its trials together, never from one: per
 * duration class T (short far from the bracket, full at its ends), with a
 * goal duration sum D = goalTrials × T (1 × T for short trials) and a goal
 * exceed ratio x, a rate **fails** once even the best case for the time
 * still missing leaves the failing share above x (F / max(D, P + F) > x),
 * and **passes** once even the worst case cannot (F + missing) / max(D, P + F)
 * ≤ x, with P and F the passing and failing trial time. With the defaults
 * (a goal of 2 full trials, x = 0.5) one full pass decides a pass and a fail
 * takes two: the noise between trials here is one-sided (a checkpoint, an
 * autovacuum or a pause of the box makes a trial slower, never faster), so
 * one disturbed trial does not break a rate, and a fail then a pass make a
 * pass whose trials disagreed (the noise band). Inconclusive trials count
 * to neither; a rate that stays undecided after its budget of trials is
 * **noise**: the capacity lies within rates the trials could not tell apart,
 * and the result says so instead of bisecting inside it.
 *
 * 1. Short trials: grow from `startHz` (× growth) until a rate fails or
 *    `maxHz` passes (shrink ÷ growth to `minHz` when the first fails); bisect
 *    between the highest pass and the lowest fail (or the noise band's edges)
 *    until each gap is within `precision` or the trials' resolution (below).
 * 2. Full trials: the two ends of the bracket are measured at full length
 *    until each is decided; an end that flips moves the bracket and the
 *    search bisects again, now with full trials.
 *
 * **Resolution.** Bisection stops where the trials can no longer tell two
 * rates apart: from the trials near the limit (the figure nearest its limit
 * between half and twice that limit), the elasticity e of that figure against
 * the rate (least squares on logs) and its scatter s around the fit (trials at
 * one rate included, so noise between trials counts) give the smallest gap
 * whose two ends differ by two scatters: exp(2·s / e) − 1. A gap narrower
 * than that, or than `precision`, is closed: bisecting inside the noise only
 * buys trials whose verdicts are coin flips. A figure that does not rise with
 * the rate (e < 0.1) resolves nothing: the gaps close at once.
 *
 * `harness` (the client could not drive the trial) is never a pass; two in a
 * row at one rate (with no other verdict between) make that rate the client's
 * ceiling: the search goes on below it and ends harness-bound (a lower bound)
 * unless a decided fail of the database lies below the ceiling. Fails above
 * the ceiling are kept and reported.
 */

/** A trial's verdict: `inconclusive` when its samples could not decide at the confidence. */
export type TrialVerdict = 'pass' | 'fail' | 'inconclusive' | 'harness';

/** One trial's outcome, as the search sees it. */
export interface TrialOutcome {
  readonly rateHz: number;
  readonly verdict: TrialVerdict;
  /** The trial's planned duration, ms. */
  readonly plannedMs: number;
  /**
   * Its class: far from the bracket or at its ends (as the search asked). Absent: by its length
   * (full at --trial-duration or longer), for trials kept before classes were recorded.
   */
  readonly phase?: 'short' | 'full';
  /**
   * How close the trial came to its limits: the largest figure / limit over
   * its upper-limit SLOs (1 is at the limit). Null or absent when none had a
   * value. The search reads the rate's resolution from it.
   */
  readonly worst?: number | null;
}

export interface SearchOptions {
  readonly startHz: number;
  /** Upper bound of the search (rows/s). */
  readonly maxHz: number;
  /** Lower bound when the first trials fail (rows/s). */
  readonly minHz: number;
  /** Geometric growth factor (> 1). */
  readonly growth: number;
  /** A gap between decided rates is closed when hi / lo − 1 ≤ precision. */
  readonly precision: number;
  /** Trial length far from the bracket, ms. */
  readonly shortMs: number;
  /** Trial length at the bracket's ends, ms. */
  readonly fullMs: number;
  /** Goal duration sum at full length, in trials (D = goalTrials × fullMs). */
  readonly goalTrials: number;
  /** Share of the goal duration that may fail and the rate still pass (MLRsearch's goal exceed ratio). */
  readonly exceedRatio: number;
  /** Hard bound on the number of trials (every trial counts: repeats, ties, harness). */
  readonly maxTrials: number;
}

export const DEFAULT_SEARCH: Omit<SearchOptions, 'startHz' | 'maxHz' | 'minHz' | 'shortMs' | 'fullMs'> = {
  growth: 2,
  precision: 0.1,
  goalTrials: 2,
  exceedRatio: 0.5,
  maxTrials: 30,
};

/** Why the search ended. */
export type SearchEnd =
  /** Both ends of the bracket decided at full length, within the precision (or the noise band). */
  | 'found'
  /** --max passed: the capacity is at least maxHz (a lower bound). */
  | 'max-passed'
  /** Nothing passed down to --min. */
  | 'no-pass'
  /** The client could not drive a rate (twice in a row): a lower bound below its ceiling. */
  | 'harness-bound'
  /** --max-trials ran out before the bracket was decided (a lower bound at best). */
  | 'trial-limit';

/** A rate's verdict from all its trials. */
export type RateStatus = 'pass' | 'fail' | 'undecided' | 'noise';

/** What the trials say of one rate. */
export interface RateState {
  readonly rateHz: number;
  readonly status: RateStatus;
  /** The duration class the status was taken at, ms. */
  readonly classMs: number;
  /** Taken at the full class (the bracket's ends). */
  readonly full: boolean;
  readonly passMs: number;
  readonly failMs: number;
  readonly trials: number;
  readonly inconclusive: number;
  readonly harness: number;
  /** Two harness verdicts in a row with nothing between: the client's ceiling. */
  readonly ceiling: boolean;
  /** Its trials disagreed (some passed, some failed). */
  readonly mixed: boolean;
}

/** The bracket as the trials decide it (one function for the search, the estimate and the result). */
export interface Bracket {
  /** Highest rate decided pass whose trials all passed, with no decided fail at or below it. */
  readonly passHz: number | null;
  /** Lowest rate above passHz decided fail whose trials all failed. */
  readonly failHz: number | null;
  /** The lowest harness ceiling, when one was found. */
  readonly ceilingHz: number | null;
  /** Rates between passHz and failHz the trials could not decide, or whose trials disagreed: [lowest, highest]. */
  readonly band: readonly [number, number] | null;
  /** Rates in the band, ascending. */
  readonly bandRates: readonly number[];
  /** Notes on verdicts that contradict the bracket (a pass above a decided fail). */
  readonly noise: readonly string[];
  /** True once any full-length trial ran (the final phase). */
  readonly finalPhase: boolean;
  readonly states: readonly RateState[];
  /** How finely the trials can tell rates apart; null with too few trials near the limit. */
  readonly resolution: Resolution | null;
}

/** How finely the trials near the limit can tell two rates apart. */
export interface Resolution {
  /** d log(figure / limit) / d log(rate), least squares over the trials near the limit. */
  readonly elasticity: number;
  /** Scatter of log(figure / limit) around the fit (residual standard deviation). */
  readonly scatter: number;
  /** Trials and distinct rates the fit used. */
  readonly trials: number;
  readonly rates: number;
  /** hi / lo − 1 below which a gap cannot be resolved: exp(2·scatter / elasticity) − 1; Infinity when the figure does not rise with the rate. */
  readonly gap: number;
}

/** A figure nearer its limit than this (either way) tells where the limit is; farther, a knee or a floor would bend the fit. */
const NEAR_LIMIT = [0.5, 2] as const;
/** Below this elasticity the figure does not rise with the rate: rates cannot be told apart by it. */
const FLAT_ELASTICITY = 0.1;

/**
 * The resolution of the trials so far: from trials whose worst figure is
 * within [0.5, 2] × its limit (not harness), at least 4 of them at 3 or more
 * rates (two degrees of freedom for the scatter).
 */
export function resolutionOf(trials: readonly TrialOutcome[]): Resolution | null {
  const pts = trials
    .filter((t) => t.verdict !== 'harness' && typeof t.worst === 'number' && t.worst >= NEAR_LIMIT[0] && t.worst <= NEAR_LIMIT[1])
    .map((t) => ({ x: Math.log(t.rateHz), y: Math.log(t.worst!) }));
  const rates = new Set(pts.map((p) => p.x)).size;
  if (pts.length < 4 || rates < 3) return null;
  const mx = pts.reduce((a, p) => a + p.x, 0) / pts.length;
  const my = pts.reduce((a, p) => a + p.y, 0) / pts.length;
  const sxx = pts.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const e = pts.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
  const rss = pts.reduce((a, p) => a + (p.y - (my + e * (p.x - mx))) ** 2, 0);
  const scatter = Math.sqrt(rss / (pts.length - 2));
  const gap = e < FLAT_ELASTICITY ? Number.POSITIVE_INFINITY : Math.exp((2 * scatter) / e) - 1;
  return { elasticity: e, scatter, trials: pts.length, rates, gap };
}

/** The gap below which bisection stops: the precision asked for, or the trials' resolution when coarser. */
export function effectivePrecision(b: Pick<Bracket, 'resolution'>, o: Pick<SearchOptions, 'precision'>): number {
  return Math.max(o.precision, b.resolution?.gap ?? 0);
}

export type SearchNext =
  | { readonly action: 'run'; readonly rateHz: number; readonly plannedMs: number; readonly phase: 'short' | 'full'; readonly why: string }
  | { readonly action: 'done'; readonly end: SearchEnd; readonly bracket: Bracket };

/** A rate a user reads: whole rows/s, three significant digits above 1,000. */
export function roundRate(hz: number): number {
  if (hz < 1000) return Math.max(1, Math.round(hz));
  const mag = 10 ** (Math.floor(Math.log10(hz)) - 2);
  return Math.round(hz / mag) * mag;
}

const fmt = (hz: number): string => Math.round(hz).toLocaleString('en-US');

/** A trial of the full class (at the bracket's ends). */
export function isFull(t: TrialOutcome, o: Pick<SearchOptions, 'fullMs'>): boolean {
  return t.phase !== undefined ? t.phase === 'full' : t.plannedMs >= o.fullMs;
}

/** Trials a rate may take in one class before it is called noise. */
function budget(full: boolean, o: SearchOptions): number {
  return full ? o.goalTrials + 1 : 1;
}

/**
 * The status of one rate's trials in a class: `full` (only full trials count), or short (every trial counts).
 * A number is a duration class: full at --trial-duration or longer.
 */
export function rateState(rateHz: number, trials: readonly TrialOutcome[], cls: boolean | number, o: SearchOptions): RateState {
  const full = typeof cls === 'number' ? cls >= o.fullMs : cls;
  const classMs = full ? o.fullMs : o.shortMs;
  const at = trials.filter((t) => t.rateHz === rateHz);
  const counted = full ? at.filter((t) => isFull(t, o)) : at;
  let passMs = 0;
  let failMs = 0;
  let inconclusive = 0;
  for (const t of counted) {
    if (t.verdict === 'pass') passMs += t.plannedMs;
    else if (t.verdict === 'fail') failMs += t.plannedMs;
    else if (t.verdict === 'inconclusive') inconclusive++;
  }
  const harness = at.filter((t) => t.verdict === 'harness').length;
  const lastTwo = at.slice(-2);
  const ceiling = lastTwo.length === 2 && lastTwo.every((t) => t.verdict === 'harness');
  const goalMs = full ? o.goalTrials * classMs : classMs;
  const denom = Math.max(goalMs, passMs + failMs);
  const optimistic = failMs / denom;
  const pessimistic = (failMs + Math.max(0, goalMs - passMs - failMs)) / denom;
  const decided = counted.filter((t) => t.verdict === 'pass' || t.verdict === 'fail').length;
  let status: RateStatus = optimistic > o.exceedRatio ? 'fail' : pessimistic <= o.exceedRatio ? 'pass' : 'undecided';
  // Out of budget, or inconclusive twice at full length (once at short): the trials cannot tell this rate apart.
  if (status === 'undecided' && (decided + inconclusive >= budget(full, o) || inconclusive >= (full ? 2 : 1))) status = 'noise';
  return { rateHz, status, classMs, full, passMs, failMs, trials: at.length, inconclusive, harness, ceiling, mixed: passMs > 0 && failMs > 0 };
}

/**
 * The bracket the trials decide. In the final phase (any full trial ran) a
 * rate with full trials is judged at full length, others at short length.
 */
export function bracketOf(trials: readonly TrialOutcome[], o: SearchOptions): Bracket {
  const finalPhase = trials.some((t) => isFull(t, o));
  const rates = [...new Set(trials.map((t) => t.rateHz))].sort((a, b) => a - b);
  const states = rates.map((r) => {
    return rateState(r, trials, trials.some((t) => t.rateHz === r && isFull(t, o)), o);
  });
  const ceilings = states.filter((s) => s.ceiling).map((s) => s.rateHz);
  const ceilingHz = ceilings.length > 0 ? Math.min(...ceilings) : null;
  const below = (s: RateState): boolean => ceilingHz === null || s.rateHz < ceilingHz;
  const fails = states.filter((s) => s.status === 'fail').map((s) => s.rateHz);
  const lowestFail = fails.length > 0 ? Math.min(...fails) : null;
  // The bracket's ends are rates whose trials all agreed; rates whose trials disagreed are the noise band between them.
  const passes = states.filter((s) => s.status === 'pass' && !s.mixed && below(s) && (lowestFail === null || s.rateHz < lowestFail)).map((s) => s.rateHz);
  const passHz = passes.length > 0 ? Math.max(...passes) : null;
  const failHz = states.filter((s) => s.status === 'fail' && !s.mixed && (passHz === null || s.rateHz > passHz))
    .reduce<number | null>((m, s) => (m === null || s.rateHz < m ? s.rateHz : m), null);
  const noise: string[] = [];
  for (const s of states) {
    if (s.status === 'pass' && lowestFail !== null && s.rateHz > lowestFail) {
      noise.push(`${fmt(s.rateHz)} rows/s passed above the decided fail at ${fmt(lowestFail)} rows/s: noise, not the capacity`);
    }
  }
  const top = failHz ?? ceilingHz ?? Number.POSITIVE_INFINITY;
  const bandRates = states
    .filter((s) => s.rateHz > (passHz ?? 0) && s.rateHz < top && (s.status === 'noise' || s.mixed || (s.status === 'pass' && lowestFail !== null && s.rateHz > lowestFail)))
    .map((s) => s.rateHz);
  const band = bandRates.length > 0 ? [bandRates[0]!, bandRates[bandRates.length - 1]!] as const : null;
  return { passHz, failHz, ceilingHz, band, bandRates, noise, finalPhase, states, resolution: resolutionOf(trials) };
}

/** The next trial, or the end. */
export function nextTrial(trials: readonly TrialOutcome[], o: SearchOptions): SearchNext {
  const b = bracketOf(trials, o);
  if (trials.length >= o.maxTrials) return { action: 'done', end: 'trial-limit', bracket: b };
  const state = (r: number): RateState | undefined => b.states.find((s) => s.rateHz === r);
  const run = (rateHz: number, why: string, full = b.finalPhase): SearchNext =>
    ({ action: 'run', rateHz, plannedMs: full ? o.fullMs : o.shortMs, phase: full ? 'full' : 'short', why });

  // A rate the client could not drive once is tried again (twice in a row makes it a ceiling).
  const last = trials.at(-1);
  if (last?.verdict === 'harness' && !state(last.rateHz)!.ceiling) {
    return run(last.rateHz, 'again: the client could not drive it (harness); twice in a row makes it the client\'s ceiling', isFull(last, o));
  }
  // Undecided rates that matter (the bracket's ends, or any rate in the final phase) get another trial of their class.
  const undecided = b.states.filter((s) => s.status === 'undecided' && !s.ceiling);
  const relevant = undecided.find((s) => s.rateHz === b.passHz || s.rateHz === b.failHz) ??
    undecided.find((s) => (b.passHz === null || s.rateHz > b.passHz) && (b.failHz === null || s.rateHz < b.failHz));
  if (relevant) {
    return run(relevant.rateHz, `again: its trials so far (${fmt(relevant.passMs / 1000)} s pass, ${fmt(relevant.failMs / 1000)} s fail) do not decide it`, relevant.full);
  }

  // The search cannot look above the client's ceiling; a decided fail above it is kept in the bracket.
  const upper = b.ceilingHz !== null && (b.failHz === null || b.ceilingHz < b.failHz) ? b.ceilingHz : b.failHz;
  if (trials.length === 0) return run(roundRate(o.startHz), 'start');
  if (b.passHz === null) {
    // Nothing passed cleanly yet: shrink below the lowest rate that did not (a fail, the ceiling, noise, a pass whose
    // trials disagreed), down to --min.
    const notClean = b.states.filter((s) => s.status !== 'pass' || s.mixed).map((s) => s.rateHz);
    const lowest = Math.min(upper ?? Number.POSITIVE_INFINITY, ...notClean);
    if (lowest <= roundRate(o.minHz)) {
      // The client's ceiling below the database's lowest fail: the client, not the database, ended the search.
      if (b.ceilingHz !== null && lowest === b.ceilingHz) return { action: 'done', end: 'harness-bound', bracket: b };
      if (b.failHz !== null) return { action: 'done', end: 'no-pass', bracket: b };
      const noisy = b.states.find((s) => s.rateHz === lowest);
      if (noisy?.status === 'noise') return { action: 'done', end: 'no-pass', bracket: b };
    }
    return run(roundRate(Math.max(o.minHz, lowest / o.growth)), `shrink: nothing passed yet (lowest tried ${fmt(lowest)} rows/s)`);
  }
  if (upper === null && b.band === null) {
    // Nothing failed yet: grow, up to --max.
    if (b.passHz >= o.maxHz) return confirmEnds(b, o, [b.passHz]) ?? { action: 'done', end: 'max-passed', bracket: b };
    return run(roundRate(Math.min(o.maxHz, b.passHz * o.growth)), `grow: ${fmt(b.passHz)} rows/s passed`);
  }
  // Gaps to close: [pass, band low] and [band high, upper] (or [pass, upper] without a band).
  const gaps: Array<[number, number]> = b.band
    ? [[b.passHz, b.band[0]], ...(upper !== null ? [[b.band[1], upper] as [number, number]] : [])]
    : [[b.passHz, upper!]];
  if (b.band && upper === null) {
    // A band with nothing decided above it: look above the band once, as growth would.
    const above = roundRate(Math.min(o.maxHz, b.band[1] * o.growth));
    if (above > b.band[1] && !b.states.some((s) => s.rateHz === above)) return run(above, `grow past the noise band [${fmt(b.band[0])}, ${fmt(b.band[1])}]`);
  }
  const precision = effectivePrecision(b, o);
  const open = gaps.filter(([lo, hi]) => hi / lo - 1 > precision + 1e-9).sort((x, y) => y[1] / y[0] - x[1] / x[0]);
  for (const [lo, hi] of open) {
    const mid = roundRate((lo + hi) / 2);
    if (mid > lo && mid < hi && !b.states.some((s) => s.rateHz === mid)) {
      return run(mid, `bisect [${fmt(lo)}, ${fmt(hi)}]`);
    }
  }
  const end: SearchEnd = upper !== null && upper === b.ceilingHz ? 'harness-bound' : b.failHz === null ? 'max-passed' : 'found';
  return confirmEnds(b, o, end === 'found' ? [b.passHz, b.failHz] : [b.passHz]) ?? { action: 'done', end, bracket: b };
}

/** The final phase: the bracket's ends decided at full length before the search ends. */
function confirmEnds(b: Bracket, o: SearchOptions, ends: ReadonlyArray<number | null>): SearchNext | null {
  for (const r of ends) {
    if (r === null) continue;
    const s = b.states.find((x) => x.rateHz === r)!;
    if (!s.full) {
      return { action: 'run', rateHz: r, plannedMs: o.fullMs, phase: 'full', why: `full-length trial at the bracket's ${r === b.passHz ? 'pass' : 'fail'} end` };
    }
  }
  return null;
}

/** A rough count of trials still to run (for the time left): bisections of the open gaps plus the final phase's confirmations. */
export function estimateTrialsLeft(trials: readonly TrialOutcome[], o: SearchOptions): number {
  const b = bracketOf(trials, o);
  const confirm = (r: number | null): number => {
    if (r === null) return 0;
    const s = b.states.find((x) => x.rateHz === r);
    return s && s.full && s.status !== 'undecided' ? 0 : 2;
  };
  const upper = b.ceilingHz !== null && (b.failHz === null || b.ceilingHz < b.failHz) ? b.ceilingHz : b.failHz;
  if (b.passHz === null || upper === null) return 3 + confirm(b.passHz) + 2;
  const lo = b.passHz;
  const hi = b.band ? b.band[0] : upper;
  const precision = effectivePrecision(b, o);
  const bisect = (l: number, h: number): number =>
    (h / l - 1 <= precision ? 0 : Math.max(0, Math.ceil(Math.log2(Math.log(h / l) / Math.log(1 + precision)))));
  const steps = bisect(lo, hi) + (b.band ? bisect(b.band[1], upper) : 0);
  return Math.min(o.maxTrials - trials.length, steps + confirm(b.passHz) + confirm(b.failHz));
}
