import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientTail, clientTailNotes, CLIENT_SHARE_LIMIT } from '../../src/metrics/client-tail.js';
import { selfCheck, type SelfCheckInput } from '../../src/metrics/self-check.js';
import { defaultFigures } from '../../src/check/figures.js';
import type { LatencySummary } from '../../src/metrics/histogram.js';

const lat = (p50Us: number, p99Us: number): LatencySummary => ({ count: 1000, p50Us, p90Us: p99Us, p95Us: p99Us, p99Us, p999Us: p99Us, maxUs: p99Us, meanUs: p50Us });

test('client tail: the client part is the timer lateness that moved the percentile, capped at response − service', () => {
  // p99: response 10 ms, service 4 ms, timer lateness 5 ms → the client moved it 5 ms: 50%.
  const t = clientTail({ response: lat(1000, 10_000), service: lat(900, 4000), lag: lat(100, 6000), timerLag: lat(50, 5000) });
  assert.equal(t.p99.clientUs, 5000);
  assert.equal(t.p99.clientShare, 0.5);
  assert.equal(t.p99.clientSet, true);
  // p50: response − service 100 µs, timer lateness 50 µs → 5%.
  assert.equal(t.p50.clientUs, 50);
  assert.equal(t.p50.clientSet, false);
  // Lateness that did not move the response percentile set nothing (the tail was the server's).
  const server = clientTail({ response: lat(1000, 10_000), service: lat(990, 9_900), lag: lat(10, 8000), timerLag: lat(10, 8000) });
  assert.equal(server.p99.clientUs, 100);
  assert.equal(server.p99.clientSet, false);
  // A closed loop: response = service, no lag.
  const closed = clientTail({ response: lat(1000, 5000), service: lat(1000, 5000), lag: lat(0, 0), timerLag: lat(0, 0) });
  assert.equal(closed.p99.clientShare, 0);
  assert.ok(CLIENT_SHARE_LIMIT > 0 && CLIENT_SHARE_LIMIT < 1);
  assert.deepEqual(clientTailNotes(closed), []);
  const notes = clientTailNotes(t);
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /^the client's timer lateness set 50% of the response p99 \(5\.00 ms of 10\.00 ms; service p99 4\.00 ms\): check --history holds ingest\.response\.p99 on service time$/);
});

const base: SelfCheckInput = { targetRowsHz: 300, achievedRowsHz: 300, workerElu: [[0.3]], loopDelayP99Us: [1000], cpuCoresMean: 0.3, cores: 2, interrupted: false, timerLagP99Us: 7000, lateThresholdUs: 5000, warmupMs: 1000 };

test('self-check: timer lateness over the threshold fails the run only when the client set the p50', () => {
  const tailOnly = clientTail({ response: lat(1000, 10_000), service: lat(950, 4000), lag: lat(60, 7000), timerLag: lat(50, 7000) });
  assert.deepEqual(selfCheck({ ...base, clientTail: tailOnly }), [], 'a client-set p99 is a note and a figure held on service time, not an invalid run');
  const median = clientTail({ response: lat(4000, 10_000), service: lat(1000, 4000), lag: lat(3000, 7000), timerLag: lat(3000, 7000) });
  const reasons = selfCheck({ ...base, clientTail: median });
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, /client-limited: timer lateness p99 7\.00 ms exceeds --late-threshold-ms 5 \(the harness, not the server, set the tail: 75% of the response p50\)/);
  // Moving the median by more than the threshold itself is setting it too (a threshold no timer meets: every run is the client's).
  assert.equal(selfCheck({ ...base, lateThresholdUs: 0.1, clientTail: tailOnly }).length, 1);
  // Without the split (older callers) the fixed threshold alone decides, as before.
  assert.equal(selfCheck({ ...base }).length, 1);
});

test('the gate holds a client-set response percentile on service time and says so', () => {
  const summary = {
    ingest: { targetRateHz: 300, achievedRateHz: 300, errors: 0, response: lat(1000, 10_000), service: lat(950, 4000), lag: lat(60, 7000), timerLag: lat(50, 7000) },
  };
  const figs = defaultFigures(summary).figures;
  const p99 = figs.find((f) => f.path === 'ingest.response.p99Us')!;
  assert.equal(p99.value, 4000);
  assert.equal(p99.heldOnService?.responseValue, 10_000);
  assert.ok(Math.abs(p99.heldOnService!.clientShare - 0.6) < 1e-9);
  const p50 = figs.find((f) => f.path === 'ingest.response.p50Us')!;
  assert.equal(p50.value, 1000);
  assert.equal(p50.heldOnService, undefined);
  // A closed loop (no target rate) is never held on service time.
  const closed = defaultFigures({ ingest: { ...summary.ingest, targetRateHz: null } }).figures;
  assert.equal(closed.find((f) => f.path === 'ingest.response.p99Us')!.value, 10_000);
});
