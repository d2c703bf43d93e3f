/** merge: which sets of run dirs form one complete --instance family (every problem at once). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunInfo } from '../../src/results/run-record.js';
import { checkInstances, instanceOf, rendezvousOf } from '../../src/merge/validate.js';

const START = 1_800_000_000_000;

interface Extra {
  seed?: number;
  formatVersion?: number;
  /** The rendezvous record's group and common start; `rendezvous: false` leaves the record out. */
  group?: string;
  startEpochMs?: number;
  rendezvous?: false;
  config?: Record<string, unknown>;
}

function run(dir: string, instance: { index: number; count: number } | null, extra: Extra = {}): { dir: string; run: RunInfo } {
  const rdv = instance && extra.rendezvous !== false
    ? {
      instance: {
        ...instance, group: extra.group ?? 'g', startEpochMs: extra.startEpochMs ?? START, clockOffsetMs: 0.1, clockRoundTripMs: 0.2,
        registeredAtEpochMs: START - 2000 - instance.index, lateStartMs: 0,
      },
    }
    : {};
  return {
    dir,
    run: {
      runId: `id-${dir}`, formatVersion: extra.formatVersion ?? 1, seed: extra.seed ?? 3,
      config: { instance, rateHz: 400, durationMs: 4000, warmupMs: 1000, mode: 'single', batch: 1, statement: 'params', workload: { sites: 32 }, lateThresholdMs: 5, workers: 2, ...extra.config },
      ...rdv,
    } as unknown as RunInfo,
  };
}

test('a complete family passes, in any order', () => {
  const c = checkInstances([run('c', { index: 3, count: 3 }), run('a', { index: 1, count: 3 }), run('b', { index: 2, count: 3 })]);
  assert.deepEqual(c, { problems: [], warnings: [] });
});

test('every problem is listed: not an instance run, different N, duplicate index, format versions', () => {
  const c = checkInstances([
    run('a', { index: 1, count: 2 }),
    run('b', { index: 1, count: 3 }),
    run('plain', null),
    run('old', { index: 2, count: 2 }, { formatVersion: 0 }),
  ]);
  assert.equal(c.problems.length, 4, c.problems.join('\n'));
  assert.match(c.problems[0]!, /^plain: run id-plain is not an instance run/);
  assert.match(c.problems[1]!, /disagree on the number of instances N: a is 1\/2, b is 1\/3, old is 2\/2/);
  assert.match(c.problems[2]!, /^instance 1 appears 2 times: a, b$/);
  assert.match(c.problems[3]!, /different result format versions: a v1, b v1, plain v1, old v0/);
});

test('missing instances are named; a duplicate is not mistaken for a complete set', () => {
  const c = checkInstances([run('a', { index: 1, count: 4 }), run('a2', { index: 1, count: 4 }), run('c', { index: 3, count: 4 })]);
  assert.deepEqual(c.problems, ['instance 1 appears 2 times: a, a2', 'instances 2/4, 4/4 missing: give the result dirs of all 4 instances']);
});

test('a single non-instance run: one line', () => {
  assert.deepEqual(checkInstances([run('x', null)]).problems, ['x: run id-x is not an instance run (its run.json has no --instance i/N)']);
});

test('different seeds are a warning, not a problem', () => {
  const c = checkInstances([run('a', { index: 1, count: 2 }, { seed: 1 }), run('b', { index: 2, count: 2 }, { seed: 2 })]);
  assert.deepEqual(c.problems, []);
  assert.deepEqual(c.warnings, ['the instances ran with different seeds (1/2: 1, 2/2: 2): to reproduce the rows, re-run each instance with its own --seed']);
  // Without a common start, nothing says they ran together.
  const apart = checkInstances([run('a', { index: 1, count: 2 }, { seed: 1, rendezvous: false }), run('b', { index: 2, count: 2 }, { seed: 2, rendezvous: false })]);
  assert.deepEqual(apart.warnings, ['the instances ran with different seeds (1/2: 1, 2/2: 2); were they launched together?']);
});

test('instanceOf: malformed values are not instances', () => {
  const of = (v: unknown): unknown => instanceOf({ config: { instance: v } } as unknown as RunInfo);
  assert.deepEqual(of({ index: 2, count: 2 }), { index: 2, count: 2 });
  for (const v of [null, undefined, '1/2', { index: 3, count: 2 }, { index: 0, count: 2 }, { index: 1.5, count: 2 }]) assert.equal(of(v), null);
});

test('dirs of different groups are refused in one line naming each', () => {
  const c = checkInstances([run('a', { index: 1, count: 2 }, { group: 'blue' }), run('b', { index: 2, count: 2 }, { group: 'green' })]);
  assert.deepEqual(c.problems, ['the runs belong to different groups: a is group blue, b is group green']);
});

test('one group name, two launches (a re-run): refused, naming the common starts', () => {
  const c = checkInstances([run('a', { index: 1, count: 2 }), run('b', { index: 2, count: 2 }, { startEpochMs: START + 60_000 })]);
  assert.equal(c.problems.length, 1);
  assert.match(c.problems[0]!, /^the runs of group g come from different launches \(common starts a: 2027-01-15T08:00:00.000Z, b: 2027-01-15T08:01:00.000Z\)$/);
});

test('an instance without a common start (no --group) cannot be aligned by time', () => {
  const c = checkInstances([run('a', { index: 1, count: 2 }), run('b', { index: 2, count: 2 }, { rendezvous: false })]);
  assert.deepEqual(c.problems, ['b: instance 2/2 has no common start (run without --group, or by an older rtbench), so its intervals cannot be aligned by time']);
  // 1/1 needs no rendezvous.
  assert.deepEqual(checkInstances([run('x', { index: 1, count: 1 }, { rendezvous: false })]).problems, []);
});

test('mismatched settings: one line per setting, naming the values and dirs; workers may differ', () => {
  const c = checkInstances([
    run('a', { index: 1, count: 3 }),
    run('b', { index: 2, count: 3 }, { config: { rateHz: 800, workers: 8 } }),
    run('c', { index: 3, count: 3 }, { config: { durationMs: 9000, rateHz: 800 } }),
  ]);
  assert.deepEqual(c.problems, [
    'the instances ran with different settings: rateHz is 400 in a; 800 in b, c',
    'the instances ran with different settings: durationMs is 4000 in a, b; 9000 in c',
  ]);
});

test('rendezvousOf: the record, or null when absent or malformed', () => {
  const r = run('a', { index: 1, count: 2 }).run;
  assert.equal(rendezvousOf(r)?.group, 'g');
  assert.equal(rendezvousOf({ ...r, instance: undefined } as RunInfo), null);
  assert.equal(rendezvousOf({ ...r, instance: { ...r.instance!, startEpochMs: '1' } } as unknown as RunInfo), null);
});
