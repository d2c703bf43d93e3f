import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newHistogram } from '../../src/metrics/histogram.js';
import type { Summary } from '../../src/results/run-record.js';
import { eventsPerSiteMinute, hitRatio, scaleNotes, type ScaleSummary } from '../../src/runner/scale-observer.js';
import { scaleCharts, scaleCostTable, scaleLatencyTable, scaleMarkdown, scalePoint } from '../../src/sweep/scale.js';

function scale(rows: number): ScaleSummary {
  return {
    density: { historyEventsPerSiteMinute: rows / 32 / 1438, liveEventsPerSiteMinute: 3750, historyEventsPerRollupRow: 2.2, liveEventsPerRollupRow: 3700 },
    storage: {
      raw: { rows, tableBytes: rows * 140, indexBytes: 0, totalBytes: rows * 140, bytesPerRow: 140 },
      rollup: { rows: 46_000, tableBytes: 8e6, indexBytes: 1e6, totalBytes: 9e6, bytesPerRow: 195 },
    },
    cacheHitRatio: 0.995,
    cacheBlocks: { hit: 995, read: 5, scope: 'this database' },
    rowsRead: { raw: { '5m': rows / 288, '1h': rows / 24, '1d': rows }, rollup: { '5m': 160, '1h': 1920, '1d': 46_000 } },
  };
}

function summary(rows: number, rawP50: number): Summary {
  const cell = (p50: number, count = 30) => ({ p50Us: p50, p99Us: p50 * 2, count, errors: 0, insufficient: count < 20 });
  const byWindow = (f: (w: number) => ReturnType<typeof cell>) => ({ '5m': f(1), '1h': f(12), '1d': f(288) });
  return {
    valid: true,
    preload: { rows, ms: 1, rowsPerS: 300_000 },
    rollup: { historyRollupMs: 1500 },
    probes: {
      byProbe: {
        'raw-minutes': byWindow((k) => cell(rawP50 * k)),
        'rollup-minutes': byWindow(() => cell(900)),
        'distinct-exact': byWindow((k) => cell(rawP50 * k * 2, 5)),
      },
      rollupSpeedup: { '5m': 1.5, '1h': 10, '1d': 60 },
      rollupSpeedupCi95: { '5m': [1.2, 1.8], '1h': [8, 12], '1d': [50, 70] },
      hllSpeedup: { '5m': null, '1h': null, '1d': null },
    },
    scale: scale(rows),
  } as unknown as Summary;
}

describe('sweep over history size', () => {
  test('points carry p50, p95 from the histograms, rows read and speedups with intervals; insufficient cells say so', () => {
    const h = newHistogram();
    for (let i = 1; i <= 100; i++) h.recordValue(i * 1000);
    const p = scalePoint(1_000_000, 'r1', summary(1_000_000, 1000), { 'probe-raw-minutes-1d': h });
    assert.equal(p.panels['raw-minutes']!['1d']!.p50Us, 288_000);
    assert.equal(p.panels['raw-minutes']!['1d']!.p95Us, h.getValueAtPercentile(95));
    assert.equal(p.panels['raw-minutes']!['1d']!.rowsRead, 1_000_000);
    assert.equal(p.panels['rollup-minutes']!['1d']!.rowsRead, 46_000);
    assert.equal(p.panels['raw-minutes']!['5m']!.p95Us, null, 'no histogram, no p95');
    assert.deepEqual(p.speedups.rollup['1d'], { ratio: 60, ci95: [50, 70] });
    const t = scaleLatencyTable([p]);
    assert.equal(t.body.length, 3);
    const row1d = t.body[2]!;
    assert.equal(row1d[0], '1,000,000');
    assert.equal(row1d[2], '1,000,000');
    assert.match(row1d[6]!, /^60\.00× \[50\.00–70\.00\]$/);
    assert.match(row1d[7]!, /insufficient, n=5/);
    assert.equal(row1d[9], 'insufficient');
    const cost = scaleCostTable([p]).body[0]!;
    assert.equal(cost[1], '300,000');
    assert.equal(cost[10], '99.50%');
    assert.match(scaleMarkdown([p]), /How each panel's cost grows with history/);
  });

  test('the charts are log–log over history size and rows read, one series per panel and quantile', () => {
    const pts = [100_000, 1_000_000, 10_000_000].map((n, i) => scalePoint(n, `r${i}`, summary(n, 100 * 10 ** i), {}));
    const [history, read] = scaleCharts(pts);
    assert.ok(history && read);
    assert.match(history.title, /over history size.*log–log/);
    assert.ok(history.x.log && history.y.log && read.x.log && read.y.log);
    assert.deepEqual(history.xs, [100_000, 1_000_000, 10_000_000]);
    const names = read.series.map((x) => x.name);
    assert.ok(names.includes('raw-minutes p50') && names.includes('rollup-minutes p50') && names.includes('raw-minutes p95'), names.join(', '));
    // Each column has one value per x; a line joins its own points across the others' x.
    for (const c of [history, read]) for (const x of c.series) assert.equal(x.values.length, c.xs.length);
    assert.ok(read.series.every((x) => x.span));
  });
});

describe('density and cache figures', () => {
  test('events per site-minute and hit ratio; none from nothing', () => {
    assert.equal(eventsPerSiteMinute(100_000, 32, 1438 * 60_000)?.toFixed(2), '2.17');
    assert.equal(eventsPerSiteMinute(0, 32, 60_000), null);
    assert.equal(hitRatio(99, 1), 0.99);
    assert.equal(hitRatio(0, 0), null);
    const notes = scaleNotes(scale(1_000_000));
    assert.match(notes[0]!, /density: history 21\.7 and live 3750\.0 events per site-minute; 2\.2 \(history\) and 3700\.0 \(live\) events per rollup row/);
    assert.match(notes[1]!, /cache hit ratio 99\.50% over the measure phase \(this database\)/);
  });
});
