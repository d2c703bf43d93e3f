import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, loopDelayNotes, selfCheck, type SelfCheckInput } from '../../src/metrics/self-check.js';

function input(over: Partial<SelfCheckInput> = {}): SelfCheckInput {
  return {
    targetRowsHz: 1000,
    achievedRowsHz: 1000,
    workerElu: [[0.4, 0.5], [0.3, 0.6]],
    loopDelayP99Us: [1000, 2000, 1500],
    cpuCoresMean: 1.5,
    cores: 4,
    interrupted: false,
    ...over,
  };
}

describe('selfCheck', () => {
  test('a healthy run is valid', () => {
    assert.deepEqual(selfCheck(input()), []);
    assert.deepEqual(selfCheck(input({ workerElu: [], loopDelayP99Us: [] })), [], 'no samples is not a failure');
  });

  test('timer lateness p99 above --late-threshold-ms makes the run invalid, blaming the harness', () => {
    const reasons = selfCheck(input({ timerLagP99Us: 6_200, lateThresholdUs: 5_000 }));
    assert.equal(reasons.length, 1, JSON.stringify(reasons));
    assert.match(reasons[0]!, /timer lateness p99 6\.20 ms exceeds --late-threshold-ms 5\b/);
    assert.match(reasons[0]!, /the harness, not the server/);
  });

  test('regression: --warmup 0 timer lateness names the cause, a cold start, and the fix', () => {
    // Seen: a 2 s run --warmup 0 on a loaded box judged invalid for timer lateness p99 40 ms at 50 rows/s.
    const reasons = selfCheck(input({ timerLagP99Us: 40_000, lateThresholdUs: 5_000, warmupMs: 0 }));
    assert.equal(reasons.length, 1);
    assert.match(reasons[0]!, /^client-limited \(cold start\): timer lateness p99 40\.00 ms/);
    assert.match(reasons[0]!, /--warmup 0s .*first second .*--warmup 2s or more/);
    assert.doesNotMatch(selfCheck(input({ timerLagP99Us: 40_000, lateThresholdUs: 5_000, warmupMs: 5000 }))[0]!, /cold start/);
  });

  test('timer lateness at or under the threshold, or unknown, is fine', () => {
    assert.deepEqual(selfCheck(input({ timerLagP99Us: 5_000, lateThresholdUs: 5_000 })), []);
    assert.deepEqual(selfCheck(input({ timerLagP99Us: 300, lateThresholdUs: 1_000 })), []);
    assert.deepEqual(selfCheck(input({ timerLagP99Us: null, lateThresholdUs: 1_000 })), [], 'nothing sent');
  });

  test('a stalled server (long connection wait, on-time timers) is not an invalid run', () => {
    // The self-check sees only timer lateness: connection wait belongs to the response time.
    assert.deepEqual(selfCheck(input({ timerLagP99Us: 120, lateThresholdUs: 5_000 })), []);
  });

  test('defaults', () => {
    assert.deepEqual(DEFAULT_LIMITS, { rateTolerance: 0.01, maxElu: 0.9, maxLoopDelayUs: 50_000, maxCpuShare: 0.9, sharedCpuPressure: 0.1 });
  });

  test('a rate 2% off the target is invalid, naming the target', () => {
    for (const achieved of [980, 1020]) {
      const reasons = selfCheck(input({ achievedRowsHz: achieved }));
      assert.equal(reasons.length, 1, JSON.stringify(reasons));
      assert.match(reasons[0]!, /target 1000 rows\/s/);
      assert.match(reasons[0]!, new RegExp(`achieved ${achieved}\\.0 rows/s`));
      assert.match(reasons[0]!, /[-]?2\.00% off/);
    }
  });

  test('a rate within 1% is valid', () => {
    assert.deepEqual(selfCheck(input({ achievedRowsHz: 995 })), []);
    assert.deepEqual(selfCheck(input({ achievedRowsHz: 1009.9 })), []);
  });

  test('a rate exactly 1% off is still within the tolerance', () => {
    assert.deepEqual(selfCheck(input({ achievedRowsHz: 990 })), []);
    assert.deepEqual(selfCheck(input({ achievedRowsHz: 1010 })), []);
  });

  test('a closed loop (no target) never fails on rate', () => {
    assert.deepEqual(selfCheck(input({ targetRowsHz: null, achievedRowsHz: 1 })), []);
    assert.deepEqual(selfCheck(input({ targetRowsHz: null, achievedRowsHz: 0 })), []);
  });

  test('a busy worker event loop makes the run client-limited, naming the worker', () => {
    const reasons = selfCheck(input({ workerElu: [[0.5, 0.5], [0.9, 1.0]] }));
    assert.equal(reasons.length, 1, JSON.stringify(reasons));
    assert.match(reasons[0]!, /^client-limited: worker 1 event loop busy 95%/);
    assert.deepEqual(selfCheck(input({ workerElu: [[0.9, 0.9]] })), [], 'exactly at the limit is fine');
  });

  test('a worker whose measure-phase loop-delay p99 is over the limit is client-limited', () => {
    const reasons = selfCheck(input({ loopDelayP99Us: [60_000, 1000, 55_000] }));
    assert.equal(reasons.length, 2, JSON.stringify(reasons));
    assert.match(reasons[0]!, /^client-limited: worker 0 event-loop delay p99 60\.0 ms over the measure phase \(limit 50 ms\)/);
    assert.match(reasons[1]!, /^client-limited: worker 2 event-loop delay p99 55\.0 ms/);
    assert.deepEqual(selfCheck(input({ loopDelayP99Us: [49_000, 1000, 2000] })), [], 'every worker under the limit');
  });

  test('a late event loop makes the run invalid only when it set the median; a tail it may have set is a note saying by how much', () => {
    // Closed loop, response p50 20 ms, p99 120 ms: worker 0's loop was late 60 ms at its p99 but only 2 ms at its p50
    // (12 ms between its 10 ms sampling timer's callbacks): the tail is partly the client's, the median is the server's.
    const tailOnly = input({ targetRowsHz: null, loopDelayP99Us: [70_000], loopDelayP50Us: [12_000], responseP50Us: 20_000, responseP99Us: 120_000 });
    assert.deepEqual(selfCheck(tailOnly), []);
    const notes = loopDelayNotes(tailOnly);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /late by 60\.0 ms at its p99 and 2\.0 ms at its p50: up to 50% of the response p99 and 10% of the p50/);
    // Late by 8 ms at its p50 against a 20 ms median: 40% > 25%, the client set the median: invalid.
    const median = selfCheck({ ...tailOnly, loopDelayP50Us: [18_000] });
    assert.equal(median.length, 1);
    assert.match(median[0]!, /event-loop delay p99 70\.0 ms .* its p50 8\.0 ms is 40% of the response p50: the client set the median/);
    assert.deepEqual(loopDelayNotes({ ...tailOnly, loopDelayP50Us: [18_000] }), [], 'an invalid run gets the reason, not the note');
    // Under the p99 limit: nothing to judge.
    assert.deepEqual(loopDelayNotes({ ...tailOnly, loopDelayP99Us: [40_000] }), []);
  });

  test('client CPU over 90% of the cores is client-limited', () => {
    const reasons = selfCheck(input({ cpuCoresMean: 3.7, cores: 4 }));
    assert.equal(reasons.length, 1, JSON.stringify(reasons));
    assert.match(reasons[0]!, /client used 3\.70 of 4 cores \(limit 90%\)/);
    assert.deepEqual(selfCheck(input({ cpuCoresMean: 3.5, cores: 4 })), []);
  });

  test('an interrupted run is invalid', () => {
    assert.deepEqual(selfCheck(input({ interrupted: true })), ['the run was interrupted before the end of the measure phase']);
  });

  test('every reason is listed', () => {
    const reasons = selfCheck(input({ interrupted: true, achievedRowsHz: 500, workerElu: [[1], [1]], loopDelayP99Us: [80_000], cpuCoresMean: 4 }));
    assert.equal(reasons.length, 6, JSON.stringify(reasons));
  });

  test('custom limits', () => {
    const limits = { ...DEFAULT_LIMITS, rateTolerance: 0.05 };
    assert.deepEqual(selfCheck(input({ achievedRowsHz: 960 }), limits), []);
    assert.equal(selfCheck(input({ achievedRowsHz: 940 }), limits).length, 1);
  });
});

describe('self-check on a shared host', () => {
  test('a client-limited run beside a local server names the CPU pressure', () => {
    const base = { targetRowsHz: 200, achievedRowsHz: 200, workerElu: [[0.2]], loopDelayP99Us: [1000], cpuCoresMean: 0.5, cores: 2, interrupted: false, timerLagP99Us: 9950, lateThresholdUs: 5000 };
    const shared = selfCheck({ ...base, localServerCpuPressure: 0.4 });
    assert.equal(shared.length, 1);
    assert.match(shared[0]!, /^client-limited: the client shared the CPU with the server: cpu pressure 40%; timer lateness p99 9\.95 ms/);
    // Little pressure, or a remote server: the reason as before.
    assert.match(selfCheck({ ...base, localServerCpuPressure: 0.02 })[0]!, /^client-limited: timer lateness/);
    assert.match(selfCheck({ ...base, localServerCpuPressure: null })[0]!, /^client-limited: timer lateness/);
    // A valid run stays valid whatever the pressure.
    assert.deepEqual(selfCheck({ ...base, timerLagP99Us: 100, localServerCpuPressure: 0.9 }), []);
  });
});
