/**
 * Progress of a long phase: the rate and time-left arithmetic, the tracker's
 * throttling with an injected clock, and the console lines and their throttle.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PhaseProgress, progressEstimate, type ProgressEvent } from '../../src/schedule/progress.js';
import { formatDurationMs, formatProgress, progressPrinter } from '../../src/report/phase-progress.js';

test('progressEstimate: rate so far and time left at that rate', () => {
  assert.deepEqual(progressEstimate(10, 40, 5_000), { ratePerS: 2, etaMs: 15_000 });
  assert.deepEqual(progressEstimate(3, 4, 1_500), { ratePerS: 2, etaMs: 500 });
  // Nothing done yet, or no time passed: no rate, no estimate (never a division by zero).
  assert.deepEqual(progressEstimate(0, 40, 5_000), { ratePerS: null, etaMs: null });
  assert.deepEqual(progressEstimate(5, 40, 0), { ratePerS: null, etaMs: null });
  // Done: nothing left, even past the total.
  assert.deepEqual(progressEstimate(40, 40, 8_000), { ratePerS: 5, etaMs: 0 });
  assert.equal(progressEstimate(41, 40, 8_000).etaMs, 0);
  // Unknown total: a rate, no time left.
  assert.deepEqual(progressEstimate(7, null, 2_000), { ratePerS: 3.5, etaMs: null });
});

function tracked(everyMs?: number): { clock: { t: number }; events: ProgressEvent[]; p: PhaseProgress } {
  const clock = { t: 1_000 };
  const events: ProgressEvent[] = [];
  const p = new PhaseProgress({ phase: 'probes: idle baseline', unit: 'panels', total: 36, onProgress: (e) => events.push(e), nowMs: () => clock.t, ...(everyMs ? { everyMs } : {}) });
  return { clock, events, p };
}

test('PhaseProgress: a start event, updates at most every everyMs, one end event', () => {
  const { clock, events, p } = tracked(1_000);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0], { phase: 'probes: idle baseline', done: 0, total: 36, unit: 'panels', elapsedMs: 0, ratePerS: null, etaMs: null, kind: 'start' });
  clock.t += 400;
  p.advance(); // 0.4 s after the last event: throttled
  assert.equal(events.length, 1);
  clock.t += 600;
  p.advance(); // 1.0 s: due
  assert.equal(events.length, 2);
  assert.deepEqual(events[1], { phase: 'probes: idle baseline', done: 2, total: 36, unit: 'panels', elapsedMs: 1_000, ratePerS: 2, etaMs: 17_000, kind: 'update' });
  // A slow unit: no unit done, but ticks still report the elapsed time once a second.
  clock.t += 2_500;
  p.tick();
  assert.equal(events.length, 3);
  assert.equal(events[2]?.done, 2);
  assert.equal(events[2]?.elapsedMs, 3_500);
  assert.equal(events[2]?.etaMs, Math.round((34 * 3_500) / 2));
  clock.t += 100;
  p.tick();
  assert.equal(events.length, 3, 'ticks are throttled too');
  p.advance(34);
  p.finish();
  p.finish();
  p.tick();
  assert.equal(events.length, 4, 'one end event, nothing after it');
  assert.equal(events[3]?.kind, 'end');
  assert.equal(events[3]?.done, 36);
  assert.equal(events[3]?.etaMs, 0);
  assert.equal(events[3]?.elapsedMs, 3_600);
});

test('PhaseProgress: the total can be set later; without a receiver nothing happens', () => {
  const { clock, events, p } = tracked(1_000);
  p.setTotal(null);
  clock.t += 2_000;
  p.advance(5);
  assert.equal(events.at(-1)?.total, null);
  assert.equal(events.at(-1)?.etaMs, null);
  assert.equal(events.at(-1)?.ratePerS, 2.5);
  const quiet = new PhaseProgress({ phase: 'x', unit: 'rows', nowMs: () => 0 });
  quiet.advance();
  quiet.finish();
  assert.equal(quiet.done, 1);
});

const ev = (over: Partial<ProgressEvent>): ProgressEvent => ({
  phase: 'probes: serial vs parallel', done: 412, total: 1_080, unit: 'executions', elapsedMs: 43_800, ratePerS: 412 / 43.8, etaMs: 71_000, kind: 'update', ...over,
});

test('formatProgress: what runs, how far, the rate and the time left', () => {
  assert.equal(formatProgress(ev({})), 'probes: serial vs parallel: 412 / 1,080 executions (38%), 9.41 executions/s, 1.2 min left');
  assert.equal(formatProgress(ev({ etaMs: 18_200, ratePerS: 12.34 })), 'probes: serial vs parallel: 412 / 1,080 executions (38%), 12.3 executions/s, 19 s left');
  assert.equal(formatProgress(ev({ total: null, etaMs: null, ratePerS: 1_234.5 })), 'probes: serial vs parallel: 412 executions, 1,235 executions/s, 44 s so far');
  assert.equal(formatProgress(ev({ done: 0, ratePerS: null, etaMs: null })), 'probes: serial vs parallel: 0 / 1,080 executions (0%), 44 s so far');
  assert.equal(formatProgress(ev({ kind: 'end', done: 1_080, etaMs: 0 })), 'probes: serial vs parallel: 1,080 / 1,080 executions in 43.8 s');
  assert.equal(formatProgress(ev({ kind: 'start', done: 0, elapsedMs: 0 })), 'probes: serial vs parallel: 1,080 executions to do');
  assert.equal(formatDurationMs(7_200_000), '2.0 h');
});

test('progressPrinter: a line every everyMs of the phase; the end of a phase of several units or one that printed', () => {
  const lines: string[] = [];
  const print = progressPrinter((l) => lines.push(l), 3_000);
  print(ev({ kind: 'start', done: 0, elapsedMs: 0 }));
  print(ev({ elapsedMs: 1_000 }));
  print(ev({ elapsedMs: 2_999 }));
  assert.equal(lines.length, 0, 'start is not printed; updates within 3 s are not');
  print(ev({ elapsedMs: 3_000 }));
  print(ev({ elapsedMs: 5_000 }));
  print(ev({ elapsedMs: 6_100 }));
  assert.equal(lines.length, 2);
  print(ev({ kind: 'end', elapsedMs: 6_500 }));
  assert.equal(lines.length, 3);
  assert.match(lines[2] ?? '', / in 6\.5 s$/);
  // A one-unit phase that ended quickly stays quiet; one that printed an update also prints its end.
  print(ev({ phase: 'rollup: history', total: 1, done: 0, kind: 'start', elapsedMs: 0 }));
  print(ev({ phase: 'rollup: history', total: 1, done: 1, kind: 'end', elapsedMs: 800 }));
  assert.equal(lines.length, 3, 'a short one-unit phase stays quiet');
  print(ev({ phase: 'rollup: history', total: 1, done: 0, kind: 'start', elapsedMs: 0 }));
  print(ev({ phase: 'rollup: history', total: 1, done: 0, ratePerS: null, etaMs: null, elapsedMs: 3_200 }));
  print(ev({ phase: 'rollup: history', total: 1, done: 1, kind: 'end', elapsedMs: 4_000 }));
  assert.deepEqual(lines.slice(3), ['rollup: history: 0 / 1 executions (0%), 4 s so far', 'rollup: history: 1 / 1 executions in 4.0 s']);
  // A phase of several units prints its end (its cost) even when short; phases are throttled apart.
  print(ev({ phase: 'audit', total: 2, kind: 'start', elapsedMs: 0 }));
  print(ev({ phase: 'audit', total: 2, done: 2, kind: 'end', elapsedMs: 800 }));
  assert.equal(lines.at(-1), 'audit: 2 / 2 executions in 0.8 s');
});

test('a phase that prints its own lines (echoed) reaches subscribers but not the console', () => {
  const seen: ProgressEvent[] = [];
  const clock = { t: 0 };
  const p = new PhaseProgress({ phase: 'preload', unit: 'rows', total: 1_000, onProgress: (e) => seen.push(e), nowMs: () => clock.t, echoed: true });
  clock.t = 5_000;
  p.advance(500);
  p.finish();
  assert.deepEqual(seen.map((e) => [e.kind, e.echoed]), [['start', true], ['update', true], ['end', true]]);
  assert.equal(seen[1]?.etaMs, 5_000);
  const lines: string[] = [];
  const print = progressPrinter((l) => lines.push(l), 1_000);
  for (const e of seen) print(e);
  assert.deepEqual(lines, []);
});
