import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { COORDINATOR, NodeLoad, NodeTally, nodeNotes } from '../../src/metrics/node-load.js';
import { connectionGone } from '../../src/targets/sqlstate.js';

const W1 = 0b01;
const W2 = 0b10;

describe('NodeTally (one load worker)', () => {
  test('a remote node\'s failure counts only on that node; its outage ends at its first success', () => {
    const t = new NodeTally(2);
    t.success(W1, 100);
    t.success(W2, 150);
    t.failure(W1, 1200, '08006', false, true);
    t.success(W2, 1300);
    t.failure(W1, 1400, '08006', false, true);
    const first = t.takeInterval(1000, 2000);
    assert.deepEqual(first.map((n) => n.node), [0, 1]);
    assert.deepEqual(first[0]!.errors, { '08006': 2 });
    assert.deepEqual(first[0]!.outages, [{ startMs: 1200, endMs: null, causes: ['08006 connection_failure'] }]);
    assert.deepEqual(first[1]!.errors, {});
    assert.equal(first[1]!.ok, 2);
    assert.deepEqual(first[1]!.outages, []);
    t.success(W1, 2500);
    const second = t.takeInterval(2000, 3000);
    assert.deepEqual(second[0]!.outages, [{ startMs: 1200, endMs: 2500, causes: ['08006 connection_failure'] }]);
    assert.equal(second[0]!.ok, 1);
  });

  test('a statement whose own connection was lost counts on its rows\' nodes and as the coordinator\'s connection loss', () => {
    const t = new NodeTally(2);
    t.failure(W2, 500, '57P01', true, true);
    const iv = t.takeInterval(0, 1000);
    assert.deepEqual(iv.map((n) => n.node), [1, -1]);
    assert.deepEqual(iv[0]!.errors, { '57P01': 1 });
    assert.deepEqual(iv[1]!.errors, { '57P01': 1 });
  });

  test('an error that is no outage (a constraint) is counted without an outage', () => {
    const t = new NodeTally(1);
    t.failure(W1, 10, '23514', false, false);
    assert.deepEqual(t.takeInterval(0, 1000)[0]!.outages, []);
  });
});

describe('NodeLoad (the step, all workers)', () => {
  test('per node: errors, outage, target share, and what the other node served inside the outage', () => {
    const placement = { nodes: ['h:1', 'h:2'], nodeOfSite: [0, 1, 0, 1] };
    const load = new NodeLoad();
    // Two workers, three intervals; node 0 down from 1.2 s to 2.6 s.
    load.add(1, 0, 1000, [{ node: 0, ok: 50, errors: {}, outages: [] }, { node: 1, ok: 50, errors: {}, outages: [] }]);
    load.add(1, 0, 1000, [{ node: 0, ok: 50, errors: {}, outages: [] }, { node: 1, ok: 50, errors: {}, outages: [] }]);
    load.add(2, 1000, 2000, [{ node: 0, ok: 10, errors: { '08006': 30 }, outages: [{ startMs: 1200, endMs: null, causes: ['08006 connection_failure'] }] }, { node: 1, ok: 45, errors: {}, outages: [] }]);
    load.add(2, 1000, 2000, [{ node: 1, ok: 40, errors: {}, outages: [] }]);
    load.add(3, 2000, 3000, [{ node: 0, ok: 80, errors: { '08006': 5 }, outages: [{ startMs: 1200, endMs: 2600, causes: ['08006 connection_failure', '57P03 cannot_connect_now'] }] }, { node: 1, ok: 100, errors: {}, outages: [] }]);
    const figures = load.summarize(placement, 200, 3000);
    assert.equal(figures.length, 2, 'the coordinator is listed only when a statement lost its connection');
    const [n0, n1] = figures;
    assert.equal(n0!.node, 'h:1');
    assert.equal(n0!.errors, 35);
    assert.deepEqual(n0!.errorsBySqlstate, { '08006': 35 });
    assert.equal(n0!.outages.length, 1);
    assert.equal(n0!.unavailableMs, 1400);
    assert.equal(n0!.targetOpsHz, 100);
    assert.equal(n1!.errors, 0);
    assert.equal(n1!.sites, 2);
    // Interval 2 (1.0–2.0 s) is 80% inside node 0's outage 1.2–2.6 s, interval 3 60%: both count.
    assert.equal(n1!.duringOtherOutagesOpsHz, (45 + 40 + 100) / 2);
    assert.equal(n0!.duringOtherOutagesOpsHz, null, 'no other node had an outage');
    assert.ok(!figures.some((f) => f.node === COORDINATOR));
    const notes = nodeNotes(figures);
    assert.equal(notes.length, 2);
    assert.match(notes[0]!, /^node h:1 \(2 sites\): 35 failed operations \(08006=35\), unavailable 1\.2–2\.6 s$/);
    assert.equal(notes[1], 'during the other nodes\' outages: h:2 served 92.5 ops/s (target share 100.0)');
  });

  test('an outage shorter than half an interval still judges the interval most inside it', () => {
    const load = new NodeLoad();
    load.add(1, 0, 1000, [{ node: 0, ok: 5, errors: { '08006': 3 }, outages: [{ startMs: 700, endMs: 1100, causes: [] }] }, { node: 1, ok: 40, errors: {}, outages: [] }]);
    load.add(2, 1000, 2000, [{ node: 0, ok: 50, errors: {}, outages: [] }, { node: 1, ok: 60, errors: {}, outages: [] }]);
    const [, b] = load.summarize({ nodes: ['a:1', 'b:2'], nodeOfSite: [0, 1] }, 100, 2000);
    assert.equal(b!.duringOtherOutagesOpsHz, 40, 'interval 1 holds 300 ms of the outage, interval 2 only 100 ms');
  });

  test('the other node\'s rate over the intervals inside the outage is reported', () => {
    const placement = { nodes: ['a:1', 'b:2'], nodeOfSite: [0, 1] };
    const load = new NodeLoad();
    load.add(1, 0, 1000, [{ node: 0, ok: 0, errors: { '08006': 9 }, outages: [{ startMs: 0, endMs: null, causes: [] }] }, { node: 1, ok: 90, errors: {}, outages: [] }]);
    load.add(2, 1000, 2000, [{ node: 0, ok: 1, errors: {}, outages: [{ startMs: 0, endMs: 2500, causes: [] }] }, { node: 1, ok: 110, errors: {}, outages: [] }]);
    const [, b] = load.summarize(placement, 200, 3000);
    assert.equal(b!.duringOtherOutagesOpsHz, 100);
    assert.equal(b!.targetOpsHz, 100);
    assert.match(nodeNotes(load.summarize(placement, 200, 3000)).at(-1)!, /b:2 served 100\.0 ops\/s \(target share 100\.0\)/);
  });
});

describe('connectionGone', () => {
  test('an ERROR-severity 08006 from a coordinator leaves the connection up; FATAL and socket errors end it', () => {
    assert.equal(connectionGone({ code: '08006', severity: 'ERROR' }), false);
    assert.equal(connectionGone({ code: '57P01', severity: 'FATAL' }), true);
    assert.equal(connectionGone(new Error('Connection terminated unexpectedly')), true);
    assert.equal(connectionGone({ code: '23514', severity: 'ERROR' }), false);
  });
});
