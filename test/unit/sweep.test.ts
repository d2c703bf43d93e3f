import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sweepPlan } from '../../src/cli/commands/sweep.js';
import { UsageError } from '../../src/errors.js';
import { sweepCharts, sweepCsv, sweepPageModel, sweepRow, sweepTableCells } from '../../src/sweep/sweep.js';
import { pageHtml } from '../../src/report/page.js';
import type { Summary } from '../../src/results/run-record.js';

const lat = (p50: number) => ({ count: 10, p50Us: p50, p90Us: p50, p99Us: p50 * 2, p999Us: p50 * 2, maxUs: p50 * 3, meanUs: p50 });

function summary(rollupP50: number, dash1d: number | null, lost: number): Summary {
  return {
    formatVersion: 1, runId: 'r', valid: true, invalidReasons: [], notes: [], durationMs: 1000,
    ingest: { targetRateHz: 100, achievedRateHz: 100, acked: 100, ackedMeasure: 90, rowsInTable: 100, operations: 90, late: 0, dropped: 0, unfinished: 0,
      errorsBySqlstate: {}, errors: 0, reconnects: 0, response: lat(1000), service: lat(900), lag: lat(100), warmup: { rows: 10, errors: 0, response: lat(1000) } },
    client: { cpuUsPerRow: 10, cpuCoresMean: 0.1, maxWorkerEluMean: 0.1, loopDelayP99MaxUs: 1000, rssStartBytes: 1, rssEndBytes: 1 },
    rollup: { strategy: 'incremental', granularity: '1m', table: 't', hll: true, scheduler: 'harness', intervalMs: 5000, runs: 3, overruns: 0, historyRollupMs: 1, duration: lat(rollupP50), errorsBySqlstate: {} },
    freshness: { ...lat(3_000_000), markersInserted: 3, markersSeen: 3, markersUnseen: 0, overCounted: 0, errorsBySqlstate: {} },
    audit: { periods: [], lostEvents: lost, duplicatedEvents: 0, periodsChecked: 2, from: '', to: null, acked: 100, rowsInTable: 100 },
    probes: dash1d === null ? null : {
      windows: ['5m', '1h', '1d'], granularity: '1m',
      byProbe: { 'rollup-minutes': { '1d': { p50Us: dash1d, p99Us: dash1d * 2, count: 3, errors: 0 } } },
      rollupSpeedup: {}, countrySpeedup: {}, hllSpeedup: {}, hllRelativeError: {}, speedups: {},
      sizes: { rawTableBytes: 10, rollupTableBytes: 2 * 1048576, hllColumnBytes: 1 }, skipped: [],
    },
    preload: null, parallel: null, expiry: null,
  } as unknown as Summary;
}

describe('sweep', () => {
  test('the swept setting is the one flag holding a list', () => {
    assert.deepEqual(sweepPlan({ granularity: '1m,5m,15m,60m', rate: '100' }), { parameter: 'granularity', key: 'granularity', values: ['1m', '5m', '15m', '60m'] });
    assert.deepEqual(sweepPlan({ shardCount: '8, 16' }).values, ['8', '16']);
    assert.throws(() => sweepPlan({ rate: '100' }), UsageError, 'no list');
    assert.throws(() => sweepPlan({ rate: '100,200', granularity: '1m,5m' }), UsageError, 'two lists');
    assert.throws(() => sweepPlan({ rate: '100,,200' }), UsageError, 'empty value');
    assert.throws(() => sweepPlan({ rate: '100,100' }), UsageError, 'duplicate');
  });

  test('rows, CSV, table and charts carry the figures of every point', () => {
    const rows = [sweepRow('1m', 'a', summary(20_000, 400_000, 0)), sweepRow('5m', 'b', summary(15_000, null, 3))];
    assert.equal(rows[0]!.dashboard['1d']!.p50Us, 400_000);
    assert.equal(rows[1]!.dashboard['1d'], null);
    const csv = sweepCsv(rows).trim().split('\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0]!, /^value,run_id,valid,achieved_rows_per_s/);
    assert.match(csv[1]!, /^1m,a,true,100,/);
    assert.ok(csv[2]!.includes(',3,0'), csv[2]);
    const t = sweepTableCells(rows);
    assert.equal(t.body.length, 2);
    assert.ok(t.body[0]!.includes('400ms / 800ms'), JSON.stringify(t.body[0]));
    assert.ok(t.body[1]!.includes('3 / 0'));
    const charts = sweepCharts('granularity', rows);
    assert.deepEqual(charts.map((c) => c.id), ['sweep-latency', 'sweep-size']);
    assert.deepEqual(charts[0]!.x.categories, ['1m', '5m']);
    // The 1 d panel was not measured at 5m: a gap, not a zero.
    assert.deepEqual(charts[0]!.series.find((x) => x.name === 'dashboard 1d p50')!.values, [400_000, null]);
    const page = sweepPageModel('s1', 'granularity', rows);
    assert.equal(page.kind, 'sweep');
    assert.ok(page.finished);
    assert.match(page.tablesHtml, /400ms \/ 800ms/);
    const html = pageHtml(page);
    assert.doesNotMatch(html, /<svg/, 'drawn by uPlot, no SVG');
    assert.match(html, /"sweep-latency"/);
  });
});
