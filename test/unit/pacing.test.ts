import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenLoopSchedule } from '../../src/schedule/open-loop.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { ConnectionWaits, pacerStep } from '../../src/schedule/pacing.js';
import { Prng } from '../../src/workload/prng.js';

describe('pacerStep', () => {
  test('sleeps exactly until the next due time, in fractional milliseconds', () => {
    const s = new OpenLoopSchedule(2000, 100_000); // due every 500 µs from 100 µs
    assert.deepEqual(pacerStep(s, 0, 0, 1e9), { kind: 'sleep', ms: 0.1 });
    assert.deepEqual(pacerStep(s, 1, 250_000, 1e9), { kind: 'sleep', ms: 0.35 });
    assert.deepEqual(pacerStep(s, 0, 100_000, 1e9), { kind: 'fire', next: 1 }, 'due now: fire');
  });

  test('a late pacer fires once for every operation already due', () => {
    const s = new OpenLoopSchedule(1000); // every 1 ms
    assert.deepEqual(pacerStep(s, 3, 7_500_000, 1e9), { kind: 'fire', next: 8 }, 'ops 3..7 are due at 7.5 ms');
    assert.deepEqual(pacerStep(s, 3, 7_000_000, 1e9), { kind: 'fire', next: 8 }, 'op 7 due exactly now is covered');
  });

  test('ends at the end of the schedule', () => {
    const s = new OpenLoopSchedule(1000);
    assert.deepEqual(pacerStep(s, 10, 0, 10_000_000), { kind: 'end' }, 'op 10 is due at the end: not part of the run');
    assert.equal(pacerStep(s, 9, 0, 10_000_000).kind, 'sleep');
  });

  test('driven by a fake clock with jittery wake-ups: never fires early, every due time covered, no wake-up wasted', () => {
    const clock = new FakeClock();
    const s = new OpenLoopSchedule(3000, 250);
    const prng = new Prng(5);
    const endNs = 1_000_000_000;
    let i = 0;
    let fires = 0;
    const announced: number[] = [];
    for (;;) {
      const step = pacerStep(s, i, clock.nowNs(), endNs);
      if (step.kind === 'end') break;
      if (step.kind === 'sleep') {
        assert.ok(step.ms > 0);
        // The kernel wakes us 0–300 µs late.
        clock.advance(Math.ceil(step.ms * 1e6) + prng.below(300_000));
        continue;
      }
      fires++;
      for (let k = i; k < step.next; k++) {
        assert.ok(s.dueNs(k) <= clock.nowNs(), `op ${k} announced before it was due`);
        announced.push(k);
      }
      i = step.next;
    }
    assert.deepEqual(announced, Array.from({ length: 3000 }, (_, k) => k));
    assert.ok(fires <= 3000 && fires > 1000, `one wake-up per due time at most (${fires})`);
  });
});

describe('ConnectionWaits: lag split by cause', () => {
  test('no wait: the whole lag is timer lateness', () => {
    const w = new ConnectionWaits();
    assert.deepEqual(w.split(1000, 1080), { timerLagNs: 80, connectionWaitNs: 0 });
    assert.deepEqual(w.split(2000, 1990), { timerLagNs: 0, connectionWaitNs: 0 }, 'never negative');
  });

  test('a wait for a connection after the due time is connection wait, the rest timer lateness', () => {
    const w = new ConnectionWaits();
    // Due at 1000, the sender ran at 1050, found every connection busy, got one at 5000.
    w.begin(1050);
    w.end(5000);
    assert.deepEqual(w.split(1000, 5000), { timerLagNs: 50, connectionWaitNs: 3950 });
  });

  test('a backlog behind one wait: later ops count only the part of the wait after their own due time', () => {
    const w = new ConnectionWaits();
    w.begin(1000);
    w.end(9000);
    assert.deepEqual(w.split(1000, 9000), { timerLagNs: 0, connectionWaitNs: 8000 });
    assert.deepEqual(w.split(4000, 9010), { timerLagNs: 10, connectionWaitNs: 5000 });
    assert.deepEqual(w.split(9005, 9020), { timerLagNs: 15, connectionWaitNs: 0 }, 'due after the wait ended');
    assert.equal(w.size, 0, 'spans before the oldest due time are forgotten');
  });

  test('several waits inside one lag: from the first to the end of the last is backlog (connection wait); the parts always sum to the lag', () => {
    const w = new ConnectionWaits();
    w.begin(100); w.end(200);
    w.begin(300); w.end(450); // 200..300: sending the backlog between waits
    w.begin(500); w.end(500); // empty: ignored
    assert.deepEqual(w.split(150, 600), { timerLagNs: 150, connectionWaitNs: 450 - 150 });
    assert.deepEqual(w.split(50 + 1e3, 1e3 + 60), { timerLagNs: 10, connectionWaitNs: 0 }, 'due after every wait');
    const late = new ConnectionWaits();
    late.begin(2000); late.end(3000);
    assert.deepEqual(late.split(1000, 3100), { timerLagNs: 1000 + 100, connectionWaitNs: 1000 }, 'late before the first wait and after the last: timer lateness');
    const prng = new Prng(11);
    const r = new ConnectionWaits();
    let t = 0;
    for (let k = 0; k < 2000; k++) {
      const due = t;
      t += prng.below(1000);
      if (prng.below(3) === 0) { r.begin(t); t += prng.below(5000); r.end(t); }
      const sent = t + prng.below(100);
      const { timerLagNs, connectionWaitNs } = r.split(due, sent);
      assert.equal(timerLagNs + connectionWaitNs, sent - due);
      assert.ok(timerLagNs >= 0 && connectionWaitNs >= 0);
    }
  });

  test('a wait still open counts up to the send time', () => {
    const w = new ConnectionWaits();
    w.begin(2000);
    assert.deepEqual(w.split(1000, 2500), { timerLagNs: 1000, connectionWaitNs: 500 });
  });

  test('a long backlog (spans forgotten and compacted) splits as the plain span list would', () => {
    // Reference: the span list with Array.shift, as before the in-place split.
    const spans: Array<[number, number]> = [];
    let openSince: number | null = null;
    const ref = (due: number, sent: number): [number, number] => {
      while (spans.length > 0 && spans[0]![1] <= due) spans.shift();
      const lag = Math.max(0, sent - due);
      const open = openSince !== null && openSince < sent;
      let from: number;
      let to: number;
      if (spans[0] && spans[0][0] < sent) { from = spans[0][0]; to = open ? sent : Math.min(sent, spans[spans.length - 1]![1]); }
      else if (open) { from = openSince!; to = sent; }
      else return [lag, 0];
      const wait = Math.min(lag, Math.max(0, to - Math.max(from, due)));
      return [lag - wait, wait];
    };
    const prng = new Prng(23);
    const w = new ConnectionWaits();
    let t = 0;
    let due = 0;
    for (let k = 0; k < 20_000; k++) {
      // The sender falls further behind (due advances slower than the clock), so hundreds of spans stay remembered, then catches up.
      due += k % 5000 < 4000 ? 10 : 400;
      t += prng.below(40);
      if (prng.below(2) === 0) {
        w.begin(t); openSince = t; t += 1 + prng.below(30);
        w.end(t); if (t > openSince) spans.push([openSince, t]); openSince = null;
      }
      const sent = Math.max(t, due) + prng.below(5);
      const [timerLagNs, connectionWaitNs] = ref(due, sent);
      w.splitInPlace(due, sent);
      assert.deepEqual([w.timerLagNs, w.connectionWaitNs], [timerLagNs, connectionWaitNs], `operation ${k}`);
      assert.equal(w.size, spans.length);
    }
  });
});
