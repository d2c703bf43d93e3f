/** merge: two instance runs become one record (summary sums, merged histograms, instance 1's dashboard). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KINDS, type Kind } from '../../src/metrics/aggregate.js';
import { encodeHistogram, newHistogram, summarize, type Histogram, type LatencySummary } from '../../src/metrics/histogram.js';
import type { RunInfo, Summary } from '../../src/results/run-record.js';
import type { InstanceInterval } from '../../src/merge/intervals.js';
import { mergeRuns, type MergeInput } from '../../src/merge/merge.js';

function spread(n: number, from: number, to: number): Histogram {
  const h = newHistogram();
  for (let i = 0; i < n; i++) h.recordValue(Math.floor(from + ((to - from) * i) / n));
  return h;
}

/** Equal percentiles and count; max within HDR precision (an encode/decode round trip reports the bucket's top). */
function assertSameDistribution(actual: LatencySummary, expected: LatencySummary): void {
  const { maxUs: am, ...a } = actual;
  const { maxUs: em, ...e } = expected;
  assert.deepEqual(a, e);
  assert.ok(Math.abs(am - em) <= em / 1000, `max ${am} vs ${em}`);
}

const ZERO: LatencySummary = { count: 0, p50Us: 0, p90Us: 0, p95Us: 0, p99Us: 0, p999Us: 0, maxUs: 0, meanUs: 0 };

function interval(index: number, phase: 'warmup' | 'measure', h: Histogram): InstanceInterval {
  const encoded = {} as Record<Kind, string>;
  for (const k of KINDS) encoded[k] = encodeHistogram(h);
  return {
    index, phase, startMs: (index - 1) * 1000, endMs: index * 1000, targetRowsHz: 200, rows: h.totalCount, ops: h.totalCount,
    errors: 0, late: 0, dropped: 0, connectionsUp: 4, reconnects: 0, maxWorkerElu: 0.1, maxLoopDelayP99Us: 1000, cpuCores: 0.2, rssBytes: 1e8, encoded,
  };
}

const COMMON_START = Date.parse('2026-01-01T00:00:03.000Z');

interface Fixture {
  index: number;
  acked: number;
  fromUs: number;
  toUs: number;
  withHistogramsJson: boolean;
  summary?: Partial<Summary>;
  startedAt: string;
  finishedAt: string;
}

function input(f: Fixture): MergeInput {
  const measure = spread(f.acked - 10, f.fromUs, f.toUs);
  const warm = spread(10, f.fromUs, f.toUs);
  const summary: Summary = {
    formatVersion: 1, runId: `run-${f.index}`, valid: true, invalidReasons: [], notes: [], durationMs: 2000,
    ingest: {
      targetRateHz: 200, achievedRateHz: (f.acked - 10) / 2, acked: f.acked, ackedMeasure: f.acked - 10, rowsInTable: f.acked,
      operations: f.acked - 10, late: 1, dropped: 2, unfinished: 0, errorsBySqlstate: { '57P01': 1 }, errors: 1, reconnects: 1,
      response: summarize(measure), service: summarize(measure), lag: summarize(measure),
      warmup: { rows: 10, errors: 0, response: summarize(warm) },
    },
    client: { cpuUsPerRow: f.index * 10, cpuCoresMean: 0.5, maxWorkerEluMean: f.index / 10, loopDelayP99MaxUs: 1000 * f.index, rssStartBytes: 1e8, rssEndBytes: 2e8 },
    ...f.summary,
  };
  const run = {
    formatVersion: 1, runId: `run-${f.index}`, startedAt: f.startedAt, finishedAt: f.finishedAt, seed: 3,
    config: { name: 'adhoc', rateHz: 400, instance: { index: f.index, count: 2 } },
    target: { kind: 'url', url: 'postgresql://h/db' }, gitRevision: null,
    versions: { rtbench: '0', node: 'v20', pg: '8', hdrHistogramJs: '3' },
    server: { version: 'PostgreSQL 15', versionNum: 150000, extensions: {}, available: {}, nonDefaultSettings: {} },
    machine: { hostname: `host${f.index}`, platform: 'linux', release: '6', arch: 'x64', cpus: 4, cpuModel: 'x', memoryBytes: 1 },
    // Both met in group g: instance 2 registered 5 s after instance 1, started 0.4 ms late and sent 0.5 ms after instance 1.
    instance: {
      index: f.index, count: 2, group: 'g', startEpochMs: COMMON_START, clockOffsetMs: f.index, clockRoundTripMs: f.index === 1 ? 0.2 : 0.6,
      registeredAtEpochMs: COMMON_START - 2000 - (f.index === 1 ? 5000 : 0), lateStartMs: f.index === 1 ? 0 : 0.4,
      firstSentMs: f.index === 1 ? 0.25 : 0.75,
    },
  } as RunInfo;
  const histograms = f.withHistogramsJson
    ? { 'ingest-response': measure, 'ingest-service': measure, 'ingest-lag': measure, 'warmup-response': warm, ...(f.index === 1 ? { 'rollup-duration': spread(3, 1000, 2000) } : {}) }
    : null;
  return {
    dir: `d${f.index}`, run, summary, histograms, startEpochMs: Date.parse(f.startedAt),
    intervals: [interval(1, 'warmup', warm), interval(2, 'measure', measure)],
  };
}

const audit = { checkedPeriods: 3, mismatches: 0, from: 'a', to: 'b', acked: 0, rowsInTable: 0 } as unknown as NonNullable<Summary['audit']>;

for (const withHistogramsJson of [true, false]) {
  test(`mergeRuns (${withHistogramsJson ? 'histograms.json' : 'rebuilt from the interval log'}): sums, merged percentiles, instance 1's dashboard`, () => {
    const i1 = input({ index: 1, acked: 110, fromUs: 100, toUs: 300, withHistogramsJson, startedAt: '2026-01-01T00:00:02.000Z', finishedAt: '2026-01-01T00:00:09.000Z',
      summary: { rollup: { strategy: 'incremental' } as unknown as Summary['rollup'], audit, notes: ['one note'] } });
    const i2 = input({ index: 2, acked: 60, fromUs: 20_000, toUs: 40_000, withHistogramsJson, startedAt: '2026-01-01T00:00:01.000Z', finishedAt: '2026-01-01T00:00:08.000Z',
      summary: { valid: false, invalidReasons: ['client-limited'] } });
    const rec = mergeRuns([i2, i1], { runId: 'merged-x', warnings: ['seeds differ'] });
    const s = rec.summary;

    assert.equal(s.runId, 'merged-x');
    assert.equal(s.valid, false);
    assert.deepEqual(s.invalidReasons, ['instance 2/2: client-limited']);
    assert.equal(s.notes[1], 'seeds differ');
    assert.equal(s.notes.some((n) => /^instance 1\/2: no histograms\.json/.test(n)), !withHistogramsJson);
    assert.ok(s.notes.includes('instance 1/2: one note'));

    assert.equal(s.ingest.targetRateHz, 400);
    assert.equal(s.ingest.achievedRateHz, 50 + 25);
    assert.equal(s.ingest.acked, 170);
    assert.equal(s.ingest.ackedMeasure, 150);
    assert.equal(s.ingest.rowsInTable, 170);
    assert.equal(s.ingest.errors, 2);
    assert.deepEqual(s.ingest.errorsBySqlstate, { '57P01': 2 });
    assert.equal(s.ingest.late + s.ingest.dropped + s.ingest.reconnects, 2 + 4 + 2);
    const union = spread(100, 100, 300);
    union.add(spread(50, 20_000, 40_000));
    assertSameDistribution(s.ingest.response, summarize(union));
    assert.equal(s.ingest.warmup.response.count, 20);
    assert.equal(s.ingest.warmup.rows, 20);

    // CPU per row weighted by rows: (10 µs × 100 + 20 µs × 50) / 150.
    assert.equal(s.client.cpuUsPerRow, (10 * 100 + 20 * 50) / 150);
    assert.equal(s.client.cpuCoresMean, 1);
    assert.equal(s.client.maxWorkerEluMean, 0.2);
    assert.equal(s.client.loopDelayP99MaxUs, 2000);
    assert.equal(s.client.rssEndBytes, 4e8);

    assert.deepEqual(s.rollup, { strategy: 'incremental' });
    assert.equal(s.audit?.acked, 170);
    assert.equal(s.audit?.rowsInTable, 170);
    assert.deepEqual(s.merged.instances, [
      { index: 1, runId: 'run-1', achievedRateHz: 50, valid: true },
      { index: 2, runId: 'run-2', achievedRateHz: 25, valid: false },
    ]);

    assert.deepEqual(Object.keys(rec.histograms), ['ingest-response', 'ingest-service', 'ingest-lag', 'warmup-response', ...(withHistogramsJson ? ['rollup-duration'] : [])]);
    assert.equal(rec.histograms['ingest-lag']?.totalCount, 150);
    assert.equal(rec.intervals.length, 2);
    assert.equal(rec.intervals[1]?.rows, 150);
    assert.equal(rec.intervals[1]?.targetRowsHz, 400);

    const r = rec.run;
    assert.equal(r.runId, 'merged-x');
    assert.equal(r.startedAt, '2026-01-01T00:00:01.000Z');
    assert.equal(r.finishedAt, '2026-01-01T00:00:09.000Z');
    assert.equal(r.config['instance'], null);
    assert.equal(r.config['rateHz'], 400);
    assert.match(String(r.config['description']), /merge of 2 load generators.*run-1, run-2/);
    assert.equal(r.machine.hostname, 'host1');
    assert.deepEqual(r.machine.instances.map((x) => [x.index, x.runId, x.machine.hostname]), [[1, 'run-1', 'host1'], [2, 'run-2', 'host2']]);
    // Intervals count from the common start, not from either instance's own clock (their logs say 00:00:02 and 00:00:01).
    assert.equal(rec.startEpochMs, COMMON_START);
    assert.deepEqual(s.merged.start, { group: 'g', startEpochMs: COMMON_START, startSpreadMs: 0.5, uncertaintyMs: 0.3, registeredSpreadMs: 5000 });
    assert.equal(s.notes[0], 'group g: 2 instances registered 5.0 s apart and started their schedules 0.50 ms apart (± 0.30 ms clock uncertainty) at 2026-01-01T00:00:03.000Z (database clock)');
  });
}

test('mergeRuns: rowsInTable is null if any instance could not count, closed loop stays null', () => {
  const i1 = input({ index: 1, acked: 20, fromUs: 1, toUs: 2, withHistogramsJson: true, startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z' });
  const i2 = input({ index: 2, acked: 20, fromUs: 1, toUs: 2, withHistogramsJson: true, startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z',
    summary: { ingest: { ...i1.summary.ingest, rowsInTable: null, targetRateHz: null, response: ZERO } } });
  const s = mergeRuns([i1, i2], { runId: 'm' }).summary;
  assert.equal(s.ingest.rowsInTable, null);
  assert.equal(s.ingest.targetRateHz, null);
  assert.equal(s.audit, undefined);
});

test('mergeRuns keeps the lag split (timer lateness, connection wait) when every instance has it', () => {
  const f = { fromUs: 1, toUs: 2, withHistogramsJson: true, startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z' };
  const withSplit = (m: MergeInput, timerUs: number, waitUs: number, n: number): MergeInput => ({
    ...m, histograms: { ...m.histograms, 'ingest-timer-lag': spread(n, timerUs, timerUs), 'ingest-connection-wait': spread(n, waitUs, waitUs) },
  });
  const i1 = withSplit(input({ index: 1, acked: 20, ...f }), 50, 0, 10);
  const i2 = withSplit(input({ index: 2, acked: 20, ...f }), 90, 4000, 30);
  const rec = mergeRuns([i1, i2], { runId: 'm' });
  assert.equal(rec.histograms['ingest-timer-lag']?.totalCount, 40);
  assert.equal(rec.summary.ingest.timerLag?.count, 40);
  assert.equal(rec.summary.ingest.connectionWait?.count, 40);
  assert.ok(Math.abs((rec.summary.ingest.connectionWait?.p50Us ?? 0) - 4000) <= 4, 'p50 from the merged histogram: 30 of 40 waited 4 ms');
  // An instance of an older rtbench has no split: the merged run has none either (no half-merged figure).
  const old = mergeRuns([i1, input({ index: 2, acked: 20, ...f })], { runId: 'm2' });
  assert.equal(old.histograms['ingest-timer-lag'], undefined);
  assert.equal(old.summary.ingest.timerLag, undefined);
  assert.ok(old.summary.notes.includes('histogram ingest-timer-lag is in instance 1/2 only; left out of the merged run'), old.summary.notes.join('\n'));
});

test('mergeRuns: an instance rebuilt by rtbench recover makes the merged run invalid, naming the share it covered', () => {
  const f = { fromUs: 1, toUs: 2, withHistogramsJson: true, startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z' };
  const i1 = input({ index: 1, acked: 20, ...f });
  const reason = 'interrupted: the load generator stopped at 2026-01-01T00:00:04.000Z; last interval 4 of 13';
  const i2raw = input({ index: 2, acked: 20, ...f, summary: { valid: false, invalidReasons: [reason] } });
  const i2 = { ...i2raw, run: { ...i2raw.run, status: 'recovered' as const, recovered: { at: 'x', reason, intervals: 4, plannedIntervals: 13, measureS: 3, plannedMeasureS: 12 } } };
  const s = mergeRuns([i1, i2], { runId: 'm' }).summary;
  assert.equal(s.valid, false);
  assert.deepEqual(s.invalidReasons, [
    'instance 2/2 was recovered after its load generator stopped: it covered 3 s of its 12 s measure phase (25%), 10 rows; the merged load is short by the rest',
    `instance 2/2: ${reason}`,
  ]);
});

test('mergeRuns keeps summary.server (the instances shared one server) and divides its WAL by the rows of all instances', () => {
  const f = { fromUs: 1, toUs: 2, withHistogramsJson: true, startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z' };
  const counters = {
    measureMs: 2000, rowsIngested: 90, walBytes: 300_000, walMbPerS: 0.15, statWalBytes: 290_000, walRecords: 600, walFpi: 30,
    checkpointsTimed: 0, checkpointsRequested: 0, buffersWritten: 150, commits: 200, rollbacks: 0, blksHit: 3000, blksRead: 0, tempBytes: 0,
  };
  const noPerRow = { walBytes: null, statWalBytes: null, walRecords: null, fpi: null, buffersWritten: null, blocksTouched: null };
  const server = (rows: number, wal: number) => ({
    sampleIntervalMs: 100, samplesSkipped: 0, waits: {}, statements: null, perRow: noPerRow, counters: { ...counters, rowsIngested: rows, walBytes: wal },
    tables: {}, rollupWalBytesPerRun: null, plans: [],
    unavailable: ['per-row figures not given: the server\'s figures are the whole server\'s, shared by the 2 instances of group g; `rtbench merge` divides them by the rows of all instances'],
  }) as unknown as NonNullable<Summary['server']>;
  // Each instance says the server's work is not its own to divide; instance 1's acked 110 (100 measure), instance 2's 60 (50 measure).
  const i1 = input({ index: 1, acked: 110, ...f, summary: { server: server(100, 300_000) } });
  const i2 = input({ index: 2, acked: 60, ...f, summary: { server: server(50, 310_000) } });
  const s = mergeRuns([i2, i1], { runId: 'm' }).summary;
  assert.ok(s.server, 'the merged summary keeps the server figures');
  assert.equal(s.server.counters?.walBytes, 300_000, 'instance 1\'s sampler, once (not the sum of the instances\' views)');
  assert.equal(s.server.counters?.rowsIngested, 150);
  assert.equal(s.server.perRow.walBytes, 2000, '300,000 B over the 150 measure rows of both instances');
  assert.equal(s.server.perRow.buffersWritten, 1);
  assert.deepEqual(s.server.unavailable, []);
  assert.equal(s.notes.filter((n) => /^server: the figures of instance 1\/2's sampler/.test(n)).length, 1, s.notes.join('\n'));
  // Without a sampler anywhere there is nothing to keep.
  assert.equal(mergeRuns([input({ index: 1, acked: 20, ...f }), input({ index: 2, acked: 20, ...f })], { runId: 'm3' }).summary.server, undefined);
});
