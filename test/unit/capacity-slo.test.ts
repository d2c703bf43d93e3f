import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSlos, expandPattern, parseSlos } from '../../src/capacity/slo.js';
import { validateConfig } from '../../src/config/validate.js';

const cell = (p95Us: number, count = 30) => ({ p50Us: 1, p99Us: 2, count, errors: 0, insufficient: count < 20, response: { p50Us: p95Us / 2, p95Us, p99Us: p95Us * 2, count } });

function summary(over: { p99Us?: number; freshP99Ms?: number; invalid?: string[]; errors?: number; hll1d?: number; count?: number } = {}) {
  return {
    valid: (over.invalid ?? []).length === 0,
    invalidReasons: over.invalid ?? [],
    ingest: { errors: over.errors ?? 0, errorsBySqlstate: (over.errors ? { '57014': over.errors } : {}) as Record<string, number>, response: { count: 1000, p50Us: 300, p95Us: 900, p99Us: over.p99Us ?? 2000 } },
    freshness: { count: 40, p99Ms: over.freshP99Ms ?? 9000 },
    audit: { lostEvents: 0, duplicatedEvents: 0 },
    probes: {
      minSamples: 20,
      byProbe: {
        'rollup-minutes': { '5m': cell(10_000, over.count), '1h': cell(40_000, over.count) },
        'tenant-distinct-hll': { '1d': cell(over.hll1d ?? 300_000, over.count) },
      },
    },
  };
}

describe('SLO parsing', () => {
  test('the issue\'s examples parse; relative limits and junk are refused with one line each', () => {
    const { slos, problems } = parseSlos([
      'ingest.response.p99 <= 10ms', 'probes.rollup-minutes.1h.response.p95 <= 250ms', 'probes.tenant-distinct-hll.1d.response.p99 <= 500ms',
      'freshness.p99 <= 15s', 'audit.lostEvents == 0', 'ingest.response.p99 <= +10%', 'ingest.response.p99', 'x <= 1 parsec',
    ]);
    assert.equal(slos.length, 5);
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /^--slo "ingest.response.p99 <= \+10%": an SLO needs an absolute limit/);
    assert.match(problems[1]!, /no operator/);
  });

  test('defaults follow the scenario: panels only with viewers, freshness from the rollup interval, audit only for exact rollups', () => {
    const { config } = validateConfig({ rollup: 'incremental', rollupInterval: '10s', viewers: 3 }, { seed: 1, resultsDir: 'r' });
    assert.deepEqual(defaultSlos(config!), ['ingest.response.p99 <= 50ms', 'probes.all.response.p95 <= 1s', 'probes.*.*.response.p50 <= 1s', 'freshness.max <= 20s',
      'audit.lostEvents == 0', 'audit.duplicatedEvents == 0']);
    const { config: tut } = validateConfig({ rollup: 'tutorial', rollupInterval: '2s', viewers: 0 }, { seed: 1, resultsDir: 'r' });
    assert.deepEqual(defaultSlos(tut!), ['ingest.response.p99 <= 50ms', 'freshness.max <= 7s']);
    const { config: none } = validateConfig({}, { seed: 1, resultsDir: 'r' });
    assert.deepEqual(defaultSlos(none!), ['ingest.response.p99 <= 50ms']);
  });
});

describe('SLO verdicts', () => {
  test('* expands over every panel and window (probe alias kept)', () => {
    assert.deepEqual(expandPattern(summary(), 'probes.*.*.response.p95'), [
      'probes.rollup-minutes.5m.response.p95', 'probes.rollup-minutes.1h.response.p95', 'probes.tenant-distinct-hll.1d.response.p95',
    ]);
    assert.deepEqual(expandPattern(summary(), 'probes.rollup-minutes.*.response.p95').length, 2);
  });

});

describe('capacity as a tracked figure', () => {
  test('a capacity dir\'s summary holds capacity.capacityHz, tracked bigger-is-better by check/history/export', async () => {
    const { defaultFigures } = await import('../../src/check/figures.js');
    const f = defaultFigures({ ...summary(), capacity: { capacityHz: 3300, passHz: 3300, failHz: 3450 } }).figures.find((x) => x.path === 'capacity.capacityHz');
    assert.ok(f);
    assert.equal(f.direction, 'bigger');
    assert.equal(f.value, 3300);
    assert.equal(f.unit, 'hz');
    assert.equal(defaultFigures(summary()).figures.some((x) => x.path === 'capacity.capacityHz'), false, 'absent from a plain run');
  });
});
