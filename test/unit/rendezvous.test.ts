/** The rendezvous arithmetic (clock offset, start spread, messages) and --instance auto, with made-up clock readings. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoInstance } from '../../src/config/instance-auto.js';
import {
  estimateClockOffset, missingInstances, startSpread, timeoutMessage, toDbEpochMs, toLocalEpochMs, type ClockSample,
} from '../../src/schedule/rendezvous.js';

const T0 = 1_800_000_000_000;

test('estimateClockOffset: the sample with the smallest round trip wins; its midpoint gives the offset', () => {
  // The database clock is 250 ms ahead. Sample 2 is slow on the way back (asymmetric), sample 3 is the tightest.
  const samples: ClockSample[] = [
    { sentEpochMs: T0, dbEpochMs: T0 + 250 + 2, receivedEpochMs: T0 + 4 },
    { sentEpochMs: T0 + 10, dbEpochMs: T0 + 10 + 250 + 1, receivedEpochMs: T0 + 10 + 30 },
    { sentEpochMs: T0 + 50, dbEpochMs: T0 + 50 + 250 + 0.25, receivedEpochMs: T0 + 50.5 },
  ];
  const c = estimateClockOffset(samples);
  assert.equal(c.roundTripMs, 0.5);
  assert.equal(c.offsetMs, 250);
  assert.equal(c.samples, 3);
  // A mean over all samples would have been pulled off by the slow one.
  const mean = samples.reduce((a, s) => a + s.dbEpochMs - (s.sentEpochMs + s.receivedEpochMs) / 2, 0) / samples.length;
  assert.ok(Math.abs(mean - 250) > 4);
  assert.equal(toLocalEpochMs(T0 + 1000, c), T0 + 750);
  assert.equal(toDbEpochMs(T0 + 750, c), T0 + 1000);
});

test('estimateClockOffset: negative or non-finite round trips are ignored; none usable is an error', () => {
  const c = estimateClockOffset([
    { sentEpochMs: T0 + 5, dbEpochMs: T0, receivedEpochMs: T0 }, // the local clock stepped back
    { sentEpochMs: T0, dbEpochMs: NaN, receivedEpochMs: T0 + 1 },
    { sentEpochMs: T0, dbEpochMs: T0 - 99, receivedEpochMs: T0 + 2 },
  ]);
  assert.deepEqual(c, { offsetMs: -100, roundTripMs: 2, samples: 3 });
  assert.throws(() => estimateClockOffset([]), /no usable sample/);
});

test('missingInstances and the timeout line', () => {
  assert.deepEqual(missingInstances([2], 3), [1, 3]);
  assert.deepEqual(missingInstances([1, 2, 3], 3), []);
  assert.equal(timeoutMessage('job-7', 3, [1, 3], 60_000),
    'rendezvous: group job-7: instances 1/3, 3/3 did not register within 60 s (--rendezvous-timeout); nothing was run');
  assert.equal(timeoutMessage('g', 2, [2], 2500), 'rendezvous: group g: instance 2/2 did not register within 2.5 s (--rendezvous-timeout); nothing was run');
});

test('startSpread: actual starts (common start + lateness), the clock uncertainty, the registration spread', () => {
  const s = startSpread([
    { index: 1, startEpochMs: T0, lateStartMs: 0, clockRoundTripMs: 0.2, registeredAtEpochMs: T0 - 7000 },
    { index: 2, startEpochMs: T0, lateStartMs: 1.5, clockRoundTripMs: 3, registeredAtEpochMs: T0 - 2000 },
    { index: 3, startEpochMs: T0, lateStartMs: 0.25, clockRoundTripMs: 1, registeredAtEpochMs: T0 - 2500 },
  ]);
  assert.deepEqual(s, { startSpreadMs: 1.5, uncertaintyMs: 1.5, registeredSpreadMs: 5000 });
  // When each sent its first operation is the real start; it wins over the late start where recorded.
  const sent = startSpread([
    { index: 1, startEpochMs: T0, lateStartMs: 0, firstSentMs: 0.125, clockRoundTripMs: 0.2, registeredAtEpochMs: T0 - 7000 },
    { index: 2, startEpochMs: T0, lateStartMs: 0, firstSentMs: 2.25, clockRoundTripMs: 0.2, registeredAtEpochMs: T0 - 2000 },
    { index: 3, startEpochMs: T0, lateStartMs: 0.5, firstSentMs: null, clockRoundTripMs: 0.2, registeredAtEpochMs: T0 - 2000 },
  ]);
  assert.equal(sent.startSpreadMs, 2.125);
  assert.throws(() => startSpread([]), /no instances/);
});

test('--instance auto: JOB_COMPLETION_INDEX (0-based) + 1 of RTBENCH_INSTANCE_COUNT', () => {
  assert.deepEqual(autoInstance({ JOB_COMPLETION_INDEX: '0', RTBENCH_INSTANCE_COUNT: '3' }), { value: '1/3' });
  assert.deepEqual(autoInstance({ JOB_COMPLETION_INDEX: '2', RTBENCH_INSTANCE_COUNT: '3' }), { value: '3/3' });
  assert.deepEqual(autoInstance({ JOB_COMPLETION_INDEX: ' 1 ', RTBENCH_INSTANCE_COUNT: '2' }), { value: '2/2' });
  const problem = (env: Record<string, string>): string => {
    const r = autoInstance(env);
    assert.ok('problem' in r, JSON.stringify(r));
    return r.problem;
  };
  assert.match(problem({ RTBENCH_INSTANCE_COUNT: '3' }), /JOB_COMPLETION_INDEX \(set by a Kubernetes Indexed Job\), which is not set/);
  assert.match(problem({ JOB_COMPLETION_INDEX: '0' }), /RTBENCH_INSTANCE_COUNT, which is not set/);
  assert.match(problem({ JOB_COMPLETION_INDEX: '3', RTBENCH_INSTANCE_COUNT: '3' }), /JOB_COMPLETION_INDEX=3 is not below RTBENCH_INSTANCE_COUNT=3 \(indices are 0-based\)/);
  assert.match(problem({ JOB_COMPLETION_INDEX: '-1', RTBENCH_INSTANCE_COUNT: '3' }), /must be a whole number/);
  assert.match(problem({ JOB_COMPLETION_INDEX: '0', RTBENCH_INSTANCE_COUNT: '0' }), /at least 1/);
  assert.match(problem({ JOB_COMPLETION_INDEX: '0', RTBENCH_INSTANCE_COUNT: 'three' }), /at least 1, got "three"/);
});
