import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, newHistogram } from '../../src/metrics/histogram.js';
import { RESULT_FORMAT_VERSION, type Summary } from '../../src/results/run-record.js';
import { verdictLines } from '../../src/report/verdict-lines.js';
import { summaryTable } from '../../src/report/console.js';
import { validityTable } from '../../src/report/tables.js';

const l = summarize(newHistogram());

function summary(over: Partial<Summary> = {}, ingest: Partial<Summary['ingest']> = {}): Summary {
  return {
    formatVersion: RESULT_FORMAT_VERSION, runId: 'r', valid: true, invalidReasons: [], notes: [], durationMs: 20_000,
    ingest: {
      targetRateHz: 500, achievedRateHz: 480, acked: 9_000, ackedMeasure: 9_000, rowsInTable: 9_000, operations: 9_000, late: 0, dropped: 0, unfinished: 0,
      errorsBySqlstate: {}, errors: 0, reconnects: 0, response: l, service: l, lag: l, warmup: { rows: 0, errors: 0, response: l }, ...ingest,
    },
    client: { cpuUsPerRow: 10, cpuCoresMean: 0.1, maxWorkerEluMean: 0.1, loopDelayP99MaxUs: 100, rssStartBytes: 1, rssEndBytes: 1 },
    ...over,
  };
}

test('a clean run has nothing to add to its verdict', () => {
  assert.deepEqual(verdictLines(summary()), []);
});

test('the outage is the cause line, with the recovery and each connection\'s share', () => {
  const s = summary({
    availability: {
      outages: [{ startMs: 14_000, endMs: 15_600, causes: ['57P01 admin_shutdown', '57P03 cannot_connect_now'], durationMs: 1_600, recoveryMs: 400 }],
      unavailableMs: 1_600, recoveryMs: 400, errorsOverTime: [],
      connections: { count: 4, down: 4, minMs: 1_200, medianMs: 1_400, maxMs: 1_600, perConnection: [] },
    },
  });
  assert.deepEqual(verdictLines(s), [
    'cause: the server was unavailable 14.0–15.6 s: 57P01 admin_shutdown, then 57P03 cannot_connect_now; the rate was back at target 0.4 s after; ' +
    'each of the 4 load connections was unavailable 1.2–1.6 s (median 1.4 s)',
  ]);
  // The console's verdict row carries it.
  assert.match(summaryTable(s), /VALID[\s\S]*- cause: the server was unavailable 14\.0–15\.6 s: 57P01 admin_shutdown, then 57P03/);
});

test('operations dropped (in an outage, still queued at the end) and unfinished, and panels missed, are named', () => {
  const s = summary({
    probes: {
      windows: ['5m'], granularity: '1m', minSamples: 5, skipped: [], notes: [],
      byProbe: { 'raw-minutes': { '5m': { p50Us: 1, p99Us: 1, count: 7, errors: 0, insufficient: false, missed: 3 } }, 'rollup-minutes': { '5m': { p50Us: 1, p99Us: 1, count: 8, errors: 0, insufficient: false, missed: 2 } } },
      viewers: { viewers: 1, refreshMs: 1000, due: 10, started: 8, late: 3, unfinished: 1, withoutConnection: 0, neverStarted: 2, response: l, lag: l },
    } as unknown as Summary['probes'],
  }, { dropped: 1_210, droppedAtEnd: 10, unfinished: 3 });
  const lines = verdictLines(s);
  assert.deepEqual(lines, [
    'not in the percentiles: 1,210 operations never sent (1,200 while no connection was up, 10 still queued when the schedule ended); ' +
    '3 operations unanswered 30 s after the schedule ended; 5 dashboard panel executions missed (2 refreshes never started, 1 stopped before their last panel)',
  ]);
  // An INVALID run keeps its reasons first, then these lines.
  const table = summaryTable({ ...s, valid: false, invalidReasons: ['client-limited: x'] });
  assert.match(table, /INVALID[^\n]*\n[^\n]*- client-limited: x[^\n]*\n[^\n]*- not in the percentiles: 1,210 operations never sent/);
  const validity = validityTable(s);
  assert.ok(validity?.rows.some((r) => r[0] === 'not in the percentiles'), JSON.stringify(validity));
});
