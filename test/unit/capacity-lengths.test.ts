/**
 * Default trial lengths: where panels are judged, every trial has the full
 * length and none extends (the panels read the rows a trial inserts, so a
 * longer trial is a harder one); with ingest SLOs only, short trials far from
 * the bracket and extensions up to twice the full length.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunConfig } from '../../src/config/types.js';
import { parseSlos } from '../../src/capacity/slo.js';
import { defaultTrialLengths } from '../../src/cli/commands/capacity.js';

/** The dashboard part of quick.json (3 viewers every 5 s, the incremental rollup every 10 s). */
const quick = { dashboard: { rollup: 'incremental', rollupIntervalMs: 10_000, viewers: 3, refreshMs: 5000 } } as unknown as RunConfig;
const slos = (...s: string[]) => parseSlos(s).slos;

test('with panels judged: short = full, no extension; the full length lets a panel cell pass and sees two rollup runs', () => {
  const l = defaultTrialLengths(quick, slos('ingest.response.p99 <= 50ms', 'probes.all.response.p95 <= 1s', 'probes.*.*.response.p50 <= 1s', 'freshness.max <= 20s'), 0.95);
  assert.equal(l.panels, true);
  assert.equal(l.fullMs, 20_000);
  assert.equal(l.shortMs, l.fullMs);
  assert.equal(l.stepMaxMs, l.fullMs);
});

test('ingest SLOs only: short trials of at least one rollup interval, extensions to twice the full length', () => {
  const l = defaultTrialLengths(quick, slos('ingest.response.p99 <= 50ms'), 0.95);
  assert.equal(l.panels, false);
  assert.equal(l.fullMs, 15_000);
  assert.equal(l.shortMs, 10_000);
  assert.equal(l.stepMaxMs, 30_000);
  const noViewers = { dashboard: { ...quick.dashboard, viewers: 0 } } as unknown as RunConfig;
  assert.equal(defaultTrialLengths(noViewers, slos('probes.all.response.p95 <= 1s'), 0.95).panels, false, 'no viewers: no panel samples to judge');
});
