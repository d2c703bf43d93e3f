/**
 * The capacity search on injected trial outcomes: rate verdicts from all of a
 * rate's trials (goal duration and exceed ratio), short trials far from the
 * bracket and full ones at its ends, the noise band, lower bounds, and one
 * test per defect of the previous search, named after it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bracketOf, estimateTrialsLeft, nextTrial, rateState, roundRate, type SearchOptions, type TrialOutcome, type TrialVerdict } from '../../src/capacity/search.js';
import { capacityRatio, resultFigures } from '../../src/capacity/result.js';

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
    trials.push(t(next.rateHz, verdictAt(next.rateHz, nth, next.plannedMs), next.plannedMs));
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
