import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeHistogram, newHistogram, summarize, type Histogram } from '../../src/metrics/histogram.js';
import { KINDS, type IntervalRow } from '../../src/metrics/aggregate.js';
import { RESULT_FORMAT_VERSION, type ProbeWindowFigures, type RunRecord, type Summary } from '../../src/results/run-record.js';
import { writeRunDir } from '../../src/results/write.js';
import type { PageModel } from '../../src/report/page-model.js';
import { escapeText, formatValue, timeCharts } from '../../src/report/page-script.js';
import { runPageModel } from '../../src/report/run-page.js';
import { reportHtml } from '../../src/report/html.js';
import { escapeMarkdown, reportMarkdown } from '../../src/report/markdown.js';
import { histogramGroups, percentileCurve } from '../../src/report/run-charts.js';
import { formatUs } from '../../src/report/console.js';

const INJECTED = '<script>alert("x")</script>';

function histogramOf(from: number, to: number, step = 1): Histogram {
  const h = newHistogram();
  for (let v = from; v <= to; v += step) h.recordValue(v);
  return h;
}

function row(index: number, phase: 'warmup' | 'measure', over: Partial<IntervalRow> = {}): IntervalRow {
  const h = histogramOf(100, 1000 + index * 10);
  const enc = encodeHistogram(h);
  return {
    index,
    startMs: (index - 1) * 1000,
    endMs: index * 1000,
    phase,
    targetRowsHz: 2000,
    rows: 2000 - index,
    achievedRowsHz: 2000 - index,
    ops: 200,
    responseP50Us: 500 + index,
    responseP99Us: 990 + index * 5,
    serviceP99Us: 400,
    lagP99Us: 80 + index,
    errors: index === 4 ? 2 : 0,
    late: index,
    dropped: 0,
    connectionsUp: 4,
    reconnects: 0,
    maxWorkerElu: 0.1,
    maxLoopDelayP99Us: 1500,
    cpuCores: 0.5,
    rssBytes: 64 * 1048576,
    encoded: { response: enc, service: enc, lag: enc },
    ...over,
  };
}

const latency = (from: number, to: number): ReturnType<typeof summarize> => summarize(histogramOf(from, to, Math.max(1, Math.floor((to - from) / 1000))));

function dashboardSummary(): Partial<Summary> {
  const probe = (p50Us: number, count = 30): ProbeWindowFigures =>
    ({ p50Us, p99Us: p50Us * 2, count, errors: 0, insufficient: count < 20, idleP50Us: p50Us / 2, idleCount: 20, idleInsufficient: false, loadOverIdle: count < 20 ? null : 2, loadOverIdleCi95: count < 20 ? null : [1.8, 2.3] });
  return {
    rollup: {
      strategy: 'incremental', granularity: '1m', table: 'http_request_1min', hll: true, scheduler: 'harness', intervalMs: 5000,
      runs: 4, overruns: 1, historyRollupMs: 1200, duration: latency(20_000, 40_000), errorsBySqlstate: { '40P01': 1 },
    },
    preload: { rows: 50_000, ms: 700, rowsPerS: 71_428 },
    freshness: { ...latency(1_000_000, 3_000_000), markersInserted: 10, markersSeen: 9, markersUnseen: 1, overCounted: 0, errorsBySqlstate: {} },
    audit: {
      periods: [{ periodStart: new Date('2024-01-01T00:00:00Z'), rawCount: 10, rollupCount: 9 }],
      lostEvents: 1, duplicatedEvents: 0, periodsChecked: 1, from: '2024-01-01T00:00:00.000Z', to: '2024-01-01T00:01:00.000Z', acked: 6000, rowsInTable: 6000,
    },
    probes: {
      windows: ['5m', '1h'],
      granularity: '1m',
      byProbe: {
        'raw-minutes': { '5m': probe(40_000), '1h': probe(400_000) },
        'rollup-minutes': { '5m': probe(4_000), '1h': probe(8_000) },
        'distinct-exact': { '5m': probe(30_000), '1h': probe(90_000) },
        'distinct-hll': { '5m': probe(10_000, 4), '1h': probe(12_000) },
      },
      rollupSpeedup: { '5m': 10, '1h': 50 },
      rollupSpeedupCi95: { '5m': [9.1, 11.2], '1h': [44, 57] },
      hllSpeedup: { '5m': null, '1h': 7.5 },
      hllSpeedupCi95: { '5m': null, '1h': [6.9, 8.1] },
      minSamples: 20,
      notes: ['probes.hllSpeedup.5m is null: distinct-hll @ 5m has 4 samples (< --min-samples 20)'],
      hllRelativeError: { '5m': 0.004, '1h': -0.012 },
      sizes: { rawTableBytes: 8e6, rollupTableBytes: 6e6, hllColumnBytes: 5e5 },
      skipped: [],
    },
    expiry: null,
  };
}

/** Histograms and interval rows are slow to build and never mutated: build them once. */
let shared: { histograms: Record<string, Histogram>; intervals: IntervalRow[] } | undefined;
function sharedData(): { histograms: Record<string, Histogram>; intervals: IntervalRow[] } {
  if (shared) return shared;
  const histograms: Record<string, Histogram> = {
    'ingest-response': histogramOf(100, 100_000, 7),
    'ingest-service': histogramOf(50, 50_000, 7),
    'ingest-lag': histogramOf(0, 20_000, 7),
    'warmup-response': histogramOf(100, 300_000, 31),
    'rollup-duration': histogramOf(20_000, 40_000, 5000),
    freshness: histogramOf(1_000_000, 3_000_000, 250_000),
  };
  const probe = histogramOf(1000, 50_000, 5000);
  for (const p of ['raw-minutes', 'rollup-minutes', 'distinct-exact', 'distinct-hll']) {
    for (const w of ['5m', '1h']) histograms[`probe-${p}-${w}`] = probe;
  }
  const intervals = [row(1, 'warmup'), row(2, 'warmup'), row(3, 'measure'), row(4, 'measure'), row(5, 'measure'), row(6, 'measure')];
  return (shared = { histograms, intervals });
}

function makeRecord(over: Partial<Summary> = {}, dashboard = true): RunRecord {
  const runId = 'run-report';
  const l = latency(1, 1000);
  const summary: Summary = {
    formatVersion: RESULT_FORMAT_VERSION,
    runId,
    valid: true,
    invalidReasons: [],
    notes: [`note with ${INJECTED} & a url postgresql://bench:hunter2@db.example/x`],
    durationMs: 3000,
    ingest: {
      targetRateHz: 2000, achievedRateHz: 1999.5, acked: 6000, ackedMeasure: 4000, rowsInTable: 6000, operations: 600,
      late: 3, dropped: 0, unfinished: 0, errorsBySqlstate: { '57P01': 2 }, errors: 2, reconnects: 1,
      response: l, service: latency(1, 500), lag: latency(1, 100), warmup: { rows: 2000, errors: 0, response: l },
    },
    client: { cpuUsPerRow: 12.5, cpuCoresMean: 0.4, maxWorkerEluMean: 0.2, loopDelayP99MaxUs: 1200, rssStartBytes: 50e6, rssEndBytes: 60e6 },
    ...(dashboard ? dashboardSummary() : {}),
    ...over,
  };
  const all = sharedData().histograms;
  const histograms = Object.fromEntries(Object.entries(all).filter(([n]) => dashboard || n.startsWith('ingest-') || n.startsWith('warmup-')));
  return {
    run: {
      formatVersion: RESULT_FORMAT_VERSION,
      runId,
      startedAt: '2024-01-01T00:00:00.000Z',
      finishedAt: '2024-01-01T00:00:06.000Z',
      config: { rateHz: 2000, name: INJECTED, url: 'postgresql://bench:hunter2@db.example/x' },
      seed: 42,
      target: { kind: 'url', url: 'postgresql://bench:***@db.example/x' },
      gitRevision: null,
      versions: { rtbench: '0.1.0', node: process.version, pg: '8', hdrHistogramJs: '3' },
      server: { version: '16.2', versionNum: 160002, extensions: {}, available: {}, nonDefaultSettings: { shared_buffers: '128MB' } },
      machine: { hostname: 'h', platform: 'linux', release: '6', arch: 'x64', cpus: 4, cpuModel: 'cpu', memoryBytes: 1e9 },
    },
    summary,
    histograms,
    intervals: sharedData().intervals,
    startEpochMs: 1_704_067_200_000,
    kinds: KINDS,
  };
}

/** Every src/href attribute value in a document. */
function references(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href|xlink:href)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1] ?? '');
}

/** The page model embedded in a report.html. */
function modelOf(html: string): PageModel {
  const m = /<script type="application\/json" id="rtbench-model">([^<]*)<\/script>/.exec(html);
  assert.ok(m, 'the model is embedded');
  return JSON.parse(m[1]!) as PageModel;
}

test('report.html is self-contained: uPlot and the code inlined, no external reference, no connection', () => {
  const html = reportHtml(makeRecord());
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.ok(!/src\s*=\s*["']?\s*https?:/i.test(html), 'no src="http');
  assert.ok(!/href\s*=\s*["']?\s*https?:/i.test(html), 'no href="http');
  assert.ok(!html.includes('@import'));
  assert.ok(!/<link|<iframe|<img/i.test(html), 'no link, iframe or img element');
  assert.ok(!/<script[^>]*\bsrc\s*=/i.test(html), 'every script inline');
  for (const ref of references(html)) assert.match(ref, /^#[\w-]+$/, `only in-page anchors, got ${ref}`);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; [^"]*connect-src 'none'"/);
  assert.ok(html.includes('uPlot'), 'uPlot inlined');
  assert.ok(html.includes('function pageMain('), 'the page code inlined');
});

test('report.html draws rate, latency, problems, distributions and probe bars; warm-up shaded; speedups labelled', () => {
  const record = makeRecord();
  const model = modelOf(reportHtml(record));
  assert.deepEqual(model, JSON.parse(JSON.stringify(runPageModel(record))));
  const ids = [...timeCharts(model), ...model.charts].map((c) => c.id);
  assert.deepEqual(ids, [
    'rate', 'latency-over-time', 'problems-over-time',
    'dist-ingest', 'dist-rollup', 'dist-probes-0', 'dist-probes-1', 'dist-other',
    'probe-bars-0', 'probe-bars-1',
  ]);
  for (const c of [...timeCharts(model), ...model.charts]) {
    for (const series of c.series) assert.equal(series.values.length, c.xs.length, `${c.id}: one value per x`);
    assert.ok(c.xs.every(Number.isFinite), `${c.id}: finite x`);
  }
  for (const c of timeCharts(model)) assert.deepEqual(c.bands?.map((b) => b.kind), ['warmup'], `${c.id}: the warm-up shaded`);
  const bars = model.charts.filter((c) => c.id.startsWith('probe-bars-'));
  assert.ok(bars.some((c) => c.x.categories?.some((l) => l.includes('7.50x, err -1.20%'))), 'HLL speedup and error');
  assert.ok(bars.some((c) => c.x.categories?.some((l) => l.includes('50.00x'))));
  // The percentile plot: x = 1/(1-p) on a log axis, both scales log.
  const dist = model.charts.find((c) => c.id === 'dist-ingest')!;
  assert.equal(dist.x.log, true);
  assert.equal(dist.y.log, true);
  assert.equal(dist.xs[0], 1);
});

test('report.html escapes injected text and masks secrets', () => {
  const html = reportHtml(makeRecord({ invalidReasons: [INJECTED], valid: false }));
  assert.ok(!html.includes(INJECTED), 'raw <script> never appears');
  assert.ok(!html.includes('<script>alert'), 'the JSON model escapes <');
  assert.deepEqual(modelOf(html).verdict, { valid: false, reasons: [INJECTED] }, 'the page escapes it when it draws it (escapeText)');
  assert.equal(escapeText(INJECTED), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  assert.ok(html.includes('&amp; a url postgresql://bench:***@db.example/x'));
  assert.ok(!html.includes('hunter2'), 'password masked (notes and config)');
});

test('report.md holds the summary tables, escaped and masked', () => {
  const md = reportMarkdown(makeRecord());
  for (const h of ['## Validity', '## Run', '## Ingest', '## Errors by SQLSTATE', '## Latency (measure phase)', '## Rollup', '## Freshness', '## Rollup audit', '## Dashboard probes', '## Speedups and HLL accuracy', '## Table sizes', '## Client self-check', '## Notes', '## Configuration']) {
    assert.ok(md.includes(`\n${h}`), `section ${h}`);
  }
  assert.ok(md.includes('| source | SQLSTATE | count |'));
  assert.ok(md.includes('| ingest | 57P01 | **2** |'));
  assert.ok(md.includes('| rollup | 40P01 | **1** |'));
  const s = makeRecord().summary;
  assert.ok(md.includes(`| ingest response | ${formatUs(s.ingest.response.p50Us)} | ${formatUs(s.ingest.response.p90Us)} | ${formatUs(s.ingest.response.p99Us)} |`));
  assert.ok(md.includes('| rows in table | 6,000 |'));
  assert.ok(md.includes('| lost events | **1** |'));
  assert.ok(md.includes('| rollup speedup (raw / rollup p50) \\[95% CI\\] | 10.00x \\[9.10–11.20\\] | 50.00x \\[44.00–57.00\\] |'), 'ratios with their intervals');
  assert.ok(md.includes('| HLL speedup (exact / HLL p50) | **insufficient** | 7.50x \\[6.90–8.10\\] |'), 'an insufficient ratio is a word, not a number');
  assert.ok(/\| distinct-hll \| 5m \| [^|]+\| [^|]+\| \*\*4 insufficient\*\* \|/.test(md), 'the cell is marked');
  assert.ok(md.includes('| HLL relative error | 0.40% | -1.20% |'));
  // The configuration is a fenced JSON block (inert, shown verbatim); everywhere else no raw tag.
  const config = md.slice(md.indexOf('## Configuration'));
  assert.match(config, /^## Configuration\n\n```json\n\{[^]*\n\}\n```\n$/);
  const prose = md.slice(0, md.indexOf('## Configuration'));
  assert.ok(!prose.includes(INJECTED) && !prose.includes('<script'), 'no raw tag in markdown');
  assert.ok(md.includes('&lt;script&gt;'), 'tag escaped as entities');
  assert.ok(!md.includes('hunter2'));
  // Every table row has as many cells as its header.
  for (const block of md.split('\n\n').filter((b) => b.startsWith('| '))) {
    const lines = block.split('\n');
    const cells = (l: string): number => l.replace(/\\\|/g, '').split('|').length;
    for (const l of lines) assert.equal(cells(l), cells(lines[0]!), `row shape in ${lines[0]}: ${l}`);
  }
});

test('escapeMarkdown keeps a cell on one line and inert', () => {
  assert.equal(escapeMarkdown('a|b\n*c* <i>'), 'a\\|b \\*c\\* &lt;i&gt;');
});

test('a plain ingest run (no rollup, closed loop) renders without dashboard charts or tables', () => {
  const record = makeRecord({ ingest: { ...makeRecord().summary.ingest, targetRateHz: null } }, false);
  const rows = record.intervals.map((r) => ({ ...r, targetRowsHz: null }));
  const html = reportHtml({ ...record, intervals: rows });
  const model = modelOf(html);
  assert.deepEqual([...timeCharts(model), ...model.charts].map((c) => c.id), ['rate', 'latency-over-time', 'problems-over-time', 'dist-ingest', 'dist-other']);
  assert.deepEqual(timeCharts(model)[0]!.series.map((x) => x.name), ['achieved rows/s'], 'no target line');
  assert.ok(html.includes('closed loop'));
  assert.ok(!html.includes('Rollup audit'));
  const md = reportMarkdown(record);
  assert.ok(!md.includes('## Rollup'));
});

test('rendering never throws: a broken record yields a page naming the error', () => {
  const broken = { ...makeRecord(), intervals: null } as unknown as RunRecord;
  const html = reportHtml(broken);
  assert.ok(html.includes('the report could not be rendered'));
  assert.ok(reportMarkdown({ ...makeRecord(), summary: null } as unknown as RunRecord).startsWith('# rtbench report failed'));
});

test('writeRunDir writes report.md and report.html inside the run directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtbench-report-'));
  try {
    const out = await writeRunDir(dir, makeRecord());
    const files = await readdir(out);
    assert.ok(files.includes('report.md') && files.includes('report.html'), files.join(', '));
    assert.deepEqual(await readdir(dir), ['run-report'], 'no temp dir left');
    assert.ok((await readFile(join(out, 'report.html'), 'utf8')).includes('rtbench run run-report'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('percentileCurve walks 1/(1-p) up to the count and ends at the max', () => {
  const h = histogramOf(1, 10_000);
  const pts = percentileCurve(h);
  assert.deepEqual(pts[0], [1, h.getValueAtPercentile(0)]);
  for (let i = 1; i < pts.length; i++) {
    assert.ok(pts[i]![0] > pts[i - 1]![0], 'x increases');
    assert.ok(pts[i]![1] >= pts[i - 1]![1], 'values never decrease');
  }
  assert.deepEqual(pts.at(-1), [10_000, h.maxValue]);
  assert.equal(pts.length, 41, '10 points per decade over 4 decades, plus the max');
  assert.deepEqual(percentileCurve(newHistogram()), []);
  assert.deepEqual(['0%', '90%', '99%', '99.9%', '99.99%'], [1, 10, 100, 1000, 10_000].map((x) => formatValue('pct-x', x)));
});

test('histograms are grouped: ingest kinds, rollup with freshness, probes per window, the rest', () => {
  const record = makeRecord();
  const groups = histogramGroups(Object.keys(record.histograms), record.summary.probes);
  assert.deepEqual(groups.map((g) => [g.id, g.labels]), [
    ['dist-ingest', ['response', 'service', 'lag']],
    ['dist-rollup', ['rollup-duration', 'freshness']],
    ['dist-probes-0', ['raw-minutes', 'rollup-minutes', 'distinct-exact', 'distinct-hll']],
    ['dist-probes-1', ['raw-minutes', 'rollup-minutes', 'distinct-exact', 'distinct-hll']],
    ['dist-other', ['warmup-response']],
  ]);
});

test('a final stub interval is left out of the time charts', () => {
  const rows = [row(1, 'warmup'), row(2, 'measure'), row(3, 'measure'), row(4, 'measure', { startMs: 3000, endMs: 3002 })];
  const model = runPageModel({ ...makeRecord(), intervals: rows });
  assert.deepEqual(timeCharts(model)[0]!.xs, [1, 2, 3]);
});

