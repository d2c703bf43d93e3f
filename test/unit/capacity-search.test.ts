/**
 * The capacity search on injected trial outcomes: rate verdicts from all of a
 * rate's trials (goal duration and exceed ratio), short trials far from the
 * bracket and full ones at its ends, the noise band, lower bounds, and one
 * test per defect of the previous search, named after it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bracketOf, DEFAULT_SEARCH, estimateTrialsLeft, nextTrial, rateState, resolutionOf, roundRate, type SearchOptions, type TrialOutcome, type TrialVerdict,
} from '../../src/capacity/search.js';
import { capacityRatio, resolutionResult, resultFigures } from '../../src/capacity/result.js';

const O: SearchOptions = { startHz: 500, maxHz: 100_000, minHz: 50, growth: 2, precision: 0.1, shortMs: 5000, fullMs: 20_000, goalTrials: 3, exceedRatio: 0.5, maxTrials: 40 };
const S = O.shortMs;
const F = O.fullMs;
const t = (rateHz: number, verdict: TrialVerdict, plannedMs = S): TrialOutcome => ({ rateHz, verdict, plannedMs });
/** Parse `500P 1000F 750P:f` (":f" = a full-length trial; H harness, I inconclusive). */
const parse = (s: string): TrialOutcome[] => s.trim().split(/\s+/).map((w) => {
  const m = /^(\d+)([PFHI])(:f)?$/.exec(w)!;
  const v = ({ P: 'pass', F: 'fail', H: 'harness', I: 'inconclusive' } as const)[m[2] as 'P' | 'F' | 'H' | 'I'];
  return t(Number(m[1]), v, m[3] ? F : S);
});

/** Run the search against a deterministic database: `verdictAt(rate, trialNumberAtThatRate, plannedMs)`. */
function simulate(verdictAt: (hz: number, nth: number, plannedMs: number) => TrialVerdict, o: SearchOptions = O) {
  const trials: TrialOutcome[] = [];
  for (let i = 0; i < 200; i++) {
    const next = nextTrial(trials, o);
    if (next.action === 'done') return { trials, end: next.end, bracket: next.bracket };
    const nth = trials.filter((x) => x.rateHz === next.rateHz).length;
    trials.push({ ...t(next.rateHz, verdictAt(next.rateHz, nth, next.plannedMs), next.plannedMs), phase: next.phase });
  }
  throw new Error('the search did not end');
}

describe('a rate\'s verdict from all its trials', () => {
  test('one short trial decides far from the bracket; at full length two agreeing trials do, one disturbed trial of three neither makes nor breaks it', () => {
    assert.equal(rateState(500, parse('500P'), S, O).status, 'pass');
    assert.equal(rateState(500, parse('500F'), S, O).status, 'fail');
    assert.equal(rateState(500, parse('500P:f'), F, O).status, 'undecided');
    assert.equal(rateState(500, parse('500P:f 500P:f'), F, O).status, 'pass');
    assert.equal(rateState(500, parse('500F:f 500F:f'), F, O).status, 'fail');
    assert.equal(rateState(500, parse('500F:f 500P:f'), F, O).status, 'undecided');
    assert.equal(rateState(500, parse('500F:f 500P:f 500P:f'), F, O).status, 'pass', 'one disturbed fail among three does not break it');
    assert.equal(rateState(500, parse('500P:f 500F:f 500F:f'), F, O).status, 'fail', 'one lucky pass among three does not make it');
    // Short trials do not count toward a full-length verdict.
    assert.equal(rateState(500, parse('500P 500P 500P'), F, O).status, 'undecided');
  });

  test('inconclusive trials count to neither side; twice inconclusive at full length is noise', () => {
    assert.equal(rateState(500, parse('500I:f'), F, O).status, 'undecided');
    assert.equal(rateState(500, parse('500I:f 500I:f'), F, O).status, 'noise');
    assert.equal(rateState(500, parse('500I'), S, O).status, 'noise');
  });
});

describe('the search', () => {
  test('a clean database: grows, bisects with short trials, confirms both ends at full length', () => {
    const cap = 3000;
    const r = simulate((hz) => (hz <= cap ? 'pass' : 'fail'));
    assert.equal(r.end, 'found');
    const [p, f] = [r.bracket.passHz!, r.bracket.failHz!];
    assert.ok(p <= cap && f > cap, `[${p}, ${f}]`);
    assert.ok(f / p - 1 <= O.precision + 1e-9);
    // Short far from the bracket, full at its ends: exactly the two ends have full trials (two each).
    const full = r.trials.filter((x) => x.plannedMs === F);
    assert.deepEqual([...new Set(full.map((x) => x.rateHz))].sort((a, b) => a - b), [p, f]);
    assert.equal(full.length, 4);
  });

  test('noise near the capacity: a band instead of a false precision', () => {
    // Between 2,500 and 3,500 the database passes and fails at random (alternating here); below passes, above fails.
    const r = simulate((hz, nth) => (hz < 2500 ? 'pass' : hz > 3500 ? 'fail' : nth % 2 === 0 ? 'pass' : 'fail'));
    assert.equal(r.end, 'found');
    assert.ok(r.bracket.passHz! < 2500 + 1 && r.bracket.failHz! > 3500 - 1, `bracket [${r.bracket.passHz}, ${r.bracket.failHz}] holds the noisy range`);
    assert.ok(r.bracket.band !== null, 'a noise band is reported');
    assert.ok(r.bracket.band[0] >= 2500 && r.bracket.band[1] <= 3500, `band ${r.bracket.band}`);
  });

  test('a pass above a decided fail is noise, never the capacity', () => {
    const b = bracketOf(parse('500P 1000P 2000F 1500F 4000P'), O);
    assert.equal(b.passHz, 1000);
    assert.equal(b.failHz, 1500);
    assert.match(b.noise[0]!, /4,000 rows\/s passed above the decided fail at 1,500/);
  });

  test('nothing passes down to --min: no-pass', () => {
    const r = simulate(() => 'fail');
    assert.equal(r.end, 'no-pass');
    assert.equal(r.bracket.passHz, null);
    assert.ok(r.trials.some((x) => x.rateHz === roundRate(O.minHz)));
  });

  test('--max passes: a lower bound, exit code of its own', () => {
    const r = simulate(() => 'pass', { ...O, maxHz: 4000 });
    assert.equal(r.end, 'max-passed');
    const fig = resultFigures(r.end, r.bracket);
    assert.equal(fig.lowerBound, true);
    assert.equal(fig.bracket[1], null);
  });

  test('the estimate of trials left uses the same bracket and shrinks as the search goes', () => {
    const a = estimateTrialsLeft(parse('500P 1000P 2000F'), O);
    const b = estimateTrialsLeft(parse('500P 1000P 2000F 1500P 1750F 1630P 1690P'), O);
    assert.ok(a > b, `${a} > ${b}`);
  });
});

describe('defects of the previous search, each fixed', () => {
  test('a fail above a client ceiling is kept (not thrown away): the result is a lower bound with the fail in its bracket, not refined', () => {
    const trials = parse('500P 1000P 2000F 1500H 1500H 1250P 1380P 1440P');
    const b = bracketOf(trials, O);
    assert.equal(b.ceilingHz, 1500);
    assert.equal(b.failHz, 2000, 'the database\'s fail above the ceiling is kept');
    assert.equal(b.passHz, 1440);
    let next = nextTrial(trials, O);
    // The gap below the ceiling is closed: the pass end gets its full-length trials, then the search ends harness-bound.
    const more = [...trials];
    for (let i = 0; i < 5 && next.action === 'run'; i++) {
      assert.ok(next.rateHz < 1500, `never above the client's ceiling: ${next.rateHz}`);
      more.push(t(next.rateHz, 'pass', next.plannedMs));
      next = nextTrial(more, O);
    }
    assert.equal(next.action, 'done');
    assert.equal(next.action === 'done' && next.end, 'harness-bound');
    const fig = resultFigures('harness-bound', bracketOf(more, O));
    assert.equal(fig.lowerBound, true);
    assert.deepEqual(fig.bracket, [1440, 2000]);
  });

  test('a rate whose trials disagreed is not a clean pass: the search shrinks below it, never repeats it forever', () => {
    // Found by bench:capacity: 2,000 failed at full length, 1,000 passed but mixed (F, P, F, P): the next is below 1,000.
    const next = nextTrial(parse('2000P 2000F:f 2000F:f 1000F:f 1000P:f 1000F:f 1000P:f'), O);
    assert.equal(next.action === 'run' && next.rateHz, 500);
    const r = simulate((hz, nth) => (hz > 1500 ? 'fail' : hz > 700 ? (nth % 2 === 0 ? 'fail' : 'pass') : 'pass'), { ...O, startHz: 2000 });
    assert.ok(r.trials.length < 30, `${r.trials.length} trials`);
    assert.ok(r.bracket.passHz !== null && r.bracket.passHz <= 700, `capacity ${r.bracket.passHz} below the noisy range`);
  });

  test('a client ceiling at --min below a database fail ends harness-bound, not no-pass', () => {
    const next = nextTrial(parse('100F 50H 50H'), { ...O, minHz: 50 });
    assert.equal(next.action === 'done' && next.end, 'harness-bound');
    assert.equal(next.action === 'done' && next.bracket.failHz, 100, 'the database\'s fail is kept');
  });

  test('harness verdicts count only when consecutive: H, P, H at one rate is no ceiling', () => {
    const b = bracketOf(parse('1000P 1440H 1440P 1440H'), O);
    assert.equal(b.ceilingHz, null);
    const next = nextTrial(parse('1000P 1440H 1440P 1440H'), O);
    assert.equal(next.action === 'run' && next.rateHz, 1440, 'the last harness is tried again');
    assert.equal(bracketOf(parse('1000P 1440H 1440H'), O).ceilingHz, 1440);
  });

  test('--max-trials counts every trial (repeats, ties, harness) and a search stopped by it is a lower bound', () => {
    const o = { ...O, maxTrials: 8 };
    const r = simulate((hz, nth) => (hz <= 3000 ? (nth === 0 && hz > 2000 ? 'harness' : 'pass') : 'fail'), o);
    assert.equal(r.trials.length, 8);
    assert.equal(r.end, 'trial-limit');
    const fig = resultFigures(r.end, r.bracket);
    assert.equal(fig.lowerBound, r.bracket.passHz !== null);
  });

  test('a harness-bound bracket\'s upper end is not the client ceiling, and a ratio is never built on a lower bound', () => {
    const fig = resultFigures('harness-bound', bracketOf(parse('500P 1000P 2000H 2000H 1500P 1750P'), O));
    assert.equal(fig.bracket[1], null, 'no fail: the upper end is unknown, not the ceiling');
    const found = { end: 'found' as const, capacityHz: 1000, bracket: [1000, 1100] as const, lowerBound: false };
    const bound = { end: 'harness-bound' as const, capacityHz: fig.capacityHz, bracket: fig.bracket, lowerBound: true };
    const r = capacityRatio(found, bound);
    assert.equal(r.ratio, null);
    assert.equal(r.kind, 'at-least');
    assert.ok(r.low !== null && Math.abs(r.low - 1750 / 1100) < 1e-9);
    assert.equal(capacityRatio(found, found).kind, 'value');
  });
});

describe('the defaults: a goal of 2 full trials', () => {
  const D: SearchOptions = { ...O, ...DEFAULT_SEARCH };
  test('one full pass decides a pass, a fail takes two, and a fail then a pass is a pass whose trials disagreed', () => {
    assert.equal(D.goalTrials, 2);
    assert.equal(rateState(500, parse('500P:f'), F, D).status, 'pass');
    assert.equal(rateState(500, parse('500F:f'), F, D).status, 'undecided', 'one disturbed trial does not break a rate');
    assert.equal(rateState(500, parse('500F:f 500F:f'), F, D).status, 'fail');
    const mixed = rateState(500, parse('500F:f 500P:f'), F, D);
    assert.equal(mixed.status, 'pass');
    assert.equal(mixed.mixed, true);
    assert.equal(bracketOf(parse('500P 1000F 500P:f 1000F:f 1000P:f'), D).band?.[0], 1000, 'the rate whose trials disagreed is the noise band');
  });
});

/** Trials whose worst figure / limit is `worst`, judged pass at ≤ 1. */
const w = (rateHz: number, worst: number, plannedMs = S): TrialOutcome => ({ rateHz, verdict: worst <= 1 ? 'pass' : 'fail', plannedMs, worst });

/** The search against a database whose worst figure / limit is `worstAt(rate, nth)`. */
function simulateFigure(worstAt: (hz: number, nth: number) => number, o: SearchOptions = O) {
  const trials: TrialOutcome[] = [];
  for (let i = 0; i < 200; i++) {
    const next = nextTrial(trials, o);
    if (next.action === 'done') return { trials, end: next.end, bracket: next.bracket };
    const nth = trials.filter((x) => x.rateHz === next.rateHz).length;
    trials.push({ ...w(next.rateHz, worstAt(next.rateHz, nth), next.plannedMs), phase: next.phase });
  }
  throw new Error('the search did not end');
}

describe('resolution: bisection stops where the trials cannot tell rates apart', () => {
  test('elasticity and scatter from the trials near the limit; a knee or a floor far from it is left out', () => {
    // worst = (rate / 1000)^0.5 exactly: elasticity 0.5, no scatter.
    const exact = [500, 800, 1000, 1300, 1600].map((hz) => w(hz, (hz / 1000) ** 0.5));
    const r = resolutionOf([...exact, w(100, 0.01), w(8000, 40)])!;
    assert.ok(Math.abs(r.elasticity - 0.5) < 1e-9, `elasticity ${r.elasticity}`);
    assert.ok(r.scatter < 1e-9 && r.gap < 1e-9);
    assert.equal(r.trials, 5, 'the trials at 0.01 and 40 × the limit are not near it');
    // Too few trials near the limit: no resolution yet.
    assert.equal(resolutionOf(exact.slice(0, 3)), null);
    assert.equal(resolutionOf([w(800, 0.9), w(800, 0.95), w(1000, 1.1), w(1000, 1.05)]), null, 'two rates are not enough');
  });

  test('scatter between trials at one rate counts: gap = exp(2·scatter / elasticity) − 1', () => {
    // Elasticity 0.5; at each rate one trial 15% above and one 15% below the line.
    const trials = [700, 1000, 1400].flatMap((hz) => [w(hz, 1.15 * (hz / 1000) ** 0.5), w(hz, (hz / 1000) ** 0.5 / 1.15)]);
    const r = resolutionOf(trials)!;
    assert.ok(Math.abs(r.elasticity - 0.5) < 1e-9);
    const expected = Math.sqrt((6 * Math.log(1.15) ** 2) / 4);
    assert.ok(Math.abs(r.scatter - expected) < 1e-9, `scatter ${r.scatter} vs ${expected}`);
    assert.ok(Math.abs(r.gap - Math.expm1((2 * expected) / 0.5)) < 1e-9);
    assert.ok(r.gap > 0.5, `a 15% scatter at elasticity 0.5 cannot tell rates 50% apart (gap ${r.gap})`);
  });

  test('a figure that does not rise with the rate resolves nothing', () => {
    const r = resolutionOf([w(500, 0.95), w(1000, 1.02), w(1500, 0.97), w(2000, 1.01)])!;
    assert.equal(r.gap, Number.POSITIVE_INFINITY);
    const kept = resolutionResult(r, 0.1)!;
    assert.equal(kept.gap, null, 'capacity.json keeps null, not Infinity');
    assert.equal(kept.limitedSearch, true);
    assert.match(kept.line, /does not rise with the rate/);
  });

  test('a noisy, nearly flat figure: the search ends sooner, with a bracket as wide as its noise that still holds the crossing', () => {
    // worst = (rate / 1250)^0.4 × (1.15 or 1 / 1.15, alternating by trial at a rate): crosses its limit near 1,250 rows/s.
    const flat = (hz: number, nth: number): number => (hz / 1250) ** 0.4 * (nth % 2 === 0 ? 1.15 : 1 / 1.15);
    const withRes = simulateFigure(flat);
    const withoutRes = simulate((hz, nth) => (flat(hz, nth) <= 1 ? 'pass' : 'fail'));
    assert.equal(withRes.end, 'found');
    assert.ok(withRes.trials.length < withoutRes.trials.length, `${withRes.trials.length} trials with the resolution, ${withoutRes.trials.length} without`);
    const [p, f] = [withRes.bracket.passHz!, withRes.bracket.failHz!];
    assert.ok(withRes.bracket.resolution !== null && withRes.bracket.resolution.gap > O.precision);
    // The crossing of the noisy figure lies anywhere its ±15% allows: 1,250 × 1.15^(±1/0.4) = 880–1,775 rows/s.
    assert.ok(p <= 1775 && f >= 880 && f / p - 1 > O.precision, `bracket [${p}, ${f}] is no narrower than the noise`);
  });

  test('a sharp knee is still bisected to --precision', () => {
    // worst = (rate / 3000)^8 with 3% scatter: far from the limit it is left out; near it the slope is steep.
    const knee = (hz: number, nth: number): number => (hz / 3000) ** 8 * (nth % 2 === 0 ? 1.03 : 1 / 1.03);
    const r = simulateFigure(knee);
    assert.equal(r.end, 'found');
    const [p, f] = [r.bracket.passHz!, r.bracket.failHz!];
    assert.ok(r.bracket.resolution !== null && r.bracket.resolution.gap < O.precision, 'the knee resolves finer than --precision');
    // 3,000 itself straddles the limit (1.03 / 0.97): the noise band; each gap beside it is bisected to --precision.
    const [lo, hi] = r.bracket.band ?? [f, p];
    assert.ok(lo / p - 1 <= O.precision + 1e-9 && f / hi - 1 <= O.precision + 1e-9, `bracket [${p}, ${f}], band ${r.bracket.band}`);
    assert.ok(p <= 3000 * 1.03 ** (1 / 8) && f >= 3000 / 1.03 ** (1 / 8));
  });
});

describe('trials far from the bracket as long as those at its ends (where the panels are judged)', () => {
  test('the class is what the search asked, not the length: one trial decides far from the bracket, the ends are still confirmed', () => {
    const same: SearchOptions = { ...O, ...DEFAULT_SEARCH, shortMs: F, fullMs: F };
    const cap = 3000;
    const r = simulate((hz) => (hz <= cap ? 'pass' : 'fail'), same);
    assert.equal(r.end, 'found');
    const [p, f] = [r.bracket.passHz!, r.bracket.failHz!];
    assert.ok(p <= cap && f > cap && f / p - 1 <= O.precision + 1e-9, `[${p}, ${f}]`);
    const short = r.trials.filter((x) => x.phase === 'short');
    const full = r.trials.filter((x) => x.phase === 'full');
    assert.ok(short.every((x) => x.plannedMs === F) && full.every((x) => x.plannedMs === F), 'every trial has the one length');
    // Far from the bracket each rate was tried once; the pass end got one full trial, the fail end two.
    assert.ok(short.length > 0 && new Set(short.map((x) => x.rateHz)).size === short.length);
    assert.deepEqual(full.map((x) => x.rateHz).sort((a, b) => a - b), [p, f, f]);
  });

  test('kept trials without a class are classed by their length', () => {
    assert.equal(rateState(500, [t(500, 'pass', F)], true, O).status, 'undecided', 'a 20 s trial without a phase is full (goal 3 here)');
    assert.equal(rateState(500, [{ ...t(500, 'pass', F), phase: 'short' }], true, O).trials, 1);
    assert.equal(rateState(500, [{ ...t(500, 'pass', F), phase: 'short' }], true, O).passMs, 0, 'a short trial does not count at the full class');
  });
});
