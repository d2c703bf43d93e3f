/** The session tells each of measure and drain once, at its first report; a measure after the drain is not told. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phaseTeller } from '../../src/runner/session.js';

test('measure and drain are told once each, at their first report', () => {
  const told: Array<[string, number]> = [];
  const tell = phaseTeller((p, at) => told.push([p, at]));
  tell('measure', 5000); // the pool's timer
  tell('measure', 5003); // the first measure interval, later
  tell('drain', 50_000);
  tell('drain', 50_081); // the end of the last interval
  assert.deepEqual(told, [['measure', 5000], ['drain', 50_000]]);
  const late: Array<[string, number]> = [];
  const t2 = phaseTeller((p, at) => late.push([p, at]));
  t2('drain', 2000); // stopped during its warm-up
  t2('measure', 2100);
  assert.deepEqual(late, [['drain', 2000]]);
});
