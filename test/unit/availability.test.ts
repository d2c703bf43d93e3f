import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OutageTracker, availabilitySummary, connectionAvailability, describeConnections, describeOutage, foldIntervalSpans, mergeSpans, unavailableWithin, type AvailabilityRow, type OutageSpan } from '../../src/metrics/availability.js';

describe('OutageTracker', () => {
  test('an outage runs from the first failure to the first success after it; causes in order, named', () => {
    const t = new OutageTracker();
    t.success(100);
    assert.deepEqual(t.takeInterval(0, 1000), { spans: [], unavailableMs: 0 });
    t.failure(1400, '57P01');
    t.failure(1500, '57P03');
    t.failure(1600, '57P03');
    const open = t.takeInterval(1000, 2000);
    assert.deepEqual(open.spans, [{ startMs: 1400, endMs: null, causes: ['57P01 admin_shutdown', '57P03 cannot_connect_now'] }]);
    assert.equal(open.unavailableMs, 600);
    t.success(2300);
    t.success(2400);
    const closed = t.takeInterval(2000, 3000);
    assert.deepEqual(closed.spans, [{ startMs: 1400, endMs: 2300, causes: ['57P01 admin_shutdown', '57P03 cannot_connect_now'] }]);
    assert.equal(closed.unavailableMs, 300);
    assert.deepEqual(t.takeInterval(3000, 4000).spans, [], 'reported once closed');
  });
});

describe('merging spans', () => {
  const a: OutageSpan = { startMs: 100, endMs: 500, causes: ['57P01 admin_shutdown'] };
  const b: OutageSpan = { startMs: 400, endMs: 900, causes: ['57P03 cannot_connect_now'] };
  const c: OutageSpan = { startMs: 2000, endMs: null, causes: ['08006 connection_failure'] };

  test('overlapping workers\' spans are one outage; an open span reaches the end', () => {
    assert.deepEqual(mergeSpans([b, c, a]), [{ startMs: 100, endMs: 900, causes: ['57P01 admin_shutdown', '57P03 cannot_connect_now'] }, c]);
    assert.equal(unavailableWithin([a, b, c], 0, 1000), 800);
    assert.equal(unavailableWithin([a, b, c], 1000, 3000), 1000);
  });

  test('an outage reported open by one interval and closed by a later one is counted once', () => {
    const folded = foldIntervalSpans([[{ startMs: 100, endMs: null, causes: ['57P01 admin_shutdown'] }], undefined, [{ startMs: 100, endMs: 1600, causes: ['57P01 admin_shutdown', '57P03 cannot_connect_now'] }]]);
    assert.deepEqual(folded, [{ startMs: 100, endMs: 1600, causes: ['57P01 admin_shutdown', '57P03 cannot_connect_now'] }]);
  });
});

describe('availabilitySummary', () => {
  const row = (k: number, achieved: number, extra: Partial<AvailabilityRow> = {}): AvailabilityRow => ({ startMs: k * 1000, endMs: (k + 1) * 1000, targetRowsHz: 500, achievedRowsHz: achieved, ...extra });
  const span: OutageSpan = { startMs: 14_000, endMs: 15_600, causes: ['57P01 admin_shutdown', '57P03 cannot_connect_now'] };

  test('unavailable total, the recovery to the interval, the verdict names the cause', () => {
    const rows = [
      row(13, 500),
      row(14, 10, { outages: [{ ...span, endMs: null }], errorsBySqlstate: { '57P01': 8 } }),
      row(15, 200, { outages: [span], errorsBySqlstate: { '57P03': 26 } }),
      row(16, 300),
      row(17, 499),
    ];
    const a = availabilitySummary(rows);
    assert.equal(a.outages.length, 1);
    assert.equal(a.unavailableMs, 1600);
    assert.equal(a.outages[0]!.recoveryMs, 17_000 - 15_600, 'the first whole interval back at 95% of the target starts at 17 s');
    assert.equal(a.recoveryMs, 1400);
    assert.deepEqual(a.errorsOverTime, [[14_000, { '57P01': 8 }], [15_000, { '57P03': 26 }]]);
    assert.equal(describeOutage(a.outages[0]!), 'the server was unavailable 14.0–15.6 s: 57P01 admin_shutdown, then 57P03 cannot_connect_now');
  });

  test('an outage that never ended lasts to the end of the step and has no recovery', () => {
    const a = availabilitySummary([row(0, 500), row(1, 0, { outages: [{ startMs: 1200, endMs: null, causes: [] }] }), row(2, 0, { outages: [{ startMs: 1200, endMs: null, causes: [] }] })]);
    assert.equal(a.unavailableMs, 1800);
    assert.equal(a.recoveryMs, null);
    assert.match(describeOutage(a.outages[0]!), /from 1\.2 s to the end of the step/);
  });

  test('a closed loop has no target to recover to', () => {
    const a = availabilitySummary([row(0, 100, { targetRowsHz: null, outages: [{ startMs: 100, endMs: 300, causes: [] }] }), row(1, 100, { targetRowsHz: null })]);
    assert.equal(a.outages[0]!.recoveryMs, null);
  });
});

describe('per connection', () => {
  test('each connection\'s own outage: the least, median and most over the connections that were down', () => {
    const list = [
      { worker: 0, connection: 0, unavailableMs: 1_400, outages: 1 },
      { worker: 0, connection: 1, unavailableMs: 1_900, outages: 2 },
      { worker: 1, connection: 0, unavailableMs: 1_600, outages: 1 },
      { worker: 1, connection: 1, unavailableMs: 0, outages: 0 },
    ];
    const c = connectionAvailability(list);
    assert.ok(c);
    assert.deepEqual({ count: c.count, down: c.down, minMs: c.minMs, medianMs: c.medianMs, maxMs: c.maxMs }, { count: 4, down: 3, minMs: 1_400, medianMs: 1_600, maxMs: 1_900 });
    assert.equal(c.perConnection.length, 4);
    assert.equal(describeConnections(c), '3 of the 4 load connections were unavailable 1.4–1.9 s (median 1.6 s), the others never');
    const all = connectionAvailability(list.slice(0, 2));
    assert.equal(all?.medianMs, 1_650);
    assert.equal(describeConnections(all!), 'each of the 2 load connections was unavailable 1.4–1.9 s (median 1.6 s)');
  });

  test('no connection ever down: no figure', () => {
    assert.equal(connectionAvailability([{ worker: 0, connection: 0, unavailableMs: 0, outages: 0 }]), undefined);
    assert.equal(connectionAvailability([]), undefined);
  });

  test('an OutageTracker per connection: a connection down until its own first success', () => {
    const t = new OutageTracker();
    t.failure(1_000, '57P01');
    t.failure(1_200, '57P03');
    t.success(2_600);
    t.failure(9_000, '08006');
    const { spans, unavailableMs } = t.takeInterval(0, 10_000);
    assert.equal(spans.length, 2);
    assert.equal(unavailableMs, 1_600 + 1_000, 'the open outage reaches the end');
  });
});
