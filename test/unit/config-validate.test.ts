import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDurationMs, parseDurationMs } from '../../src/config/duration.js';
import { MAX_MULTI_BATCH, defaultWorkers, validateConfig, type RawConfig } from '../../src/config/validate.js';
import { TUTORIAL_WORKLOAD, type RunConfig } from '../../src/config/types.js';

const DEFAULTS = { seed: 42, resultsDir: 'results' };

function problemsOf(raw: RawConfig): readonly string[] {
  return validateConfig(raw, DEFAULTS).problems;
}

function configOf(raw: RawConfig): RunConfig {
  const r = validateConfig(raw, DEFAULTS);
  assert.deepEqual(r.problems, []);
  assert.ok(r.config, 'a config when there are no problems');
  return r.config;
}

/** Exactly one problem, about `key`. */
function oneProblemAbout(raw: RawConfig, key: string): string {
  const r = validateConfig(raw, DEFAULTS);
  assert.equal(r.config, undefined, 'no config when there are problems');
  assert.equal(r.problems.length, 1, `one problem expected, got ${JSON.stringify(r.problems)}`);
  const p = r.problems[0]!;
  assert.ok(p.startsWith(`${key}:`), `problem names ${key}: ${p}`);
  return p;
}

describe('parseDurationMs', () => {
  test('units and sequences', () => {
    assert.equal(parseDurationMs('90s'), 90_000);
    assert.equal(parseDurationMs('5m'), 300_000);
    assert.equal(parseDurationMs('1h30m'), 5_400_000);
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('1d'), 86_400_000);
    assert.equal(parseDurationMs('1.5s'), 1500);
    assert.equal(parseDurationMs(' 2M '), 120_000);
  });

  test('a bare number means seconds', () => {
    assert.equal(parseDurationMs(30), 30_000);
    assert.equal(parseDurationMs('30'), 30_000);
    assert.equal(parseDurationMs(0), 0);
    assert.equal(parseDurationMs('2.5'), 2500);
  });

  test('malformed text is undefined', () => {
    for (const bad of ['abc', '5x', '', '   ', 's', '5 m', '.5s', '1e3']) {
      assert.equal(parseDurationMs(bad), undefined, JSON.stringify(bad));
    }
    assert.equal(parseDurationMs(Number.NaN), undefined);
    assert.equal(parseDurationMs(Number.POSITIVE_INFINITY), undefined);
    assert.equal(parseDurationMs(true), undefined);
    assert.equal(parseDurationMs(null), undefined);
  });

  test('formatDurationMs writes back what parseDurationMs reads', () => {
    assert.equal(formatDurationMs(1500), '1.5s');
    assert.equal(formatDurationMs(90_000), '90s');
    assert.equal(formatDurationMs(3_600_000), '1h');
    assert.equal(formatDurationMs(600_000), '10m');
    assert.equal(formatDurationMs(500), '500ms');
    for (const ms of [0, 1, 500, 1500, 90_000, 300_000, 600_000, 5_400_000, 7_200_000]) {
      assert.equal(parseDurationMs(formatDurationMs(ms)), ms, String(ms));
    }
  });
});

describe('validateConfig', () => {
  test('defaults', () => {
    const c = configOf({});
    assert.deepEqual(c, {
      name: 'adhoc',
      url: undefined,
      workers: 2,
      connections: 4,
      pipeline: 1,
      rateHz: 'max',
      warmupMs: 5000,
      durationMs: 60_000,
      mode: 'single',
      batch: 1,
      statement: 'params',
      seed: 42,
      workload: TUTORIAL_WORKLOAD,
      lateThresholdMs: 5,
      sampleIntervalMs: 100,
      reset: false,
      keep: false,
      resultsDir: 'results',
      progressS: 1,
      shardCount: null,
      instance: null,
      rendezvousTimeoutMs: 60_000,
      partition: 'none',
      dashboard: {
        rollup: 'none', granularityMin: 1, rollupIntervalMs: 60_000, rollupScheduler: 'auto', graceS: 10,
        preloadRows: 0, preloadSpanMs: 86_400_000, probes: false, viewers: 1, refreshMs: 5000, minSamples: 20, idleBaseline: false, expire: false, parallel: false,
        preloadConnections: 4, expiry: null,
      },
    });
  });

  test('dashboard settings: a rollup turns probes and the idle baseline on; bad values are all listed', () => {
    const c = configOf({ rollup: 'incremental', granularity: '15m', rollupInterval: '5s', preloadRows: 1000, preloadSpan: '2h' });
    assert.equal(c.dashboard.rollup, 'incremental');
    assert.equal(c.dashboard.granularityMin, 15);
    assert.equal(c.dashboard.rollupIntervalMs, 5000);
    assert.equal(c.dashboard.probes, true);
    assert.equal(c.dashboard.idleBaseline, true);
    assert.equal(c.dashboard.preloadRows, 1000);
    assert.equal(configOf({ rollup: 'tutorial', probes: false }).dashboard.idleBaseline, false);
    const problems = problemsOf({ rollup: 'fast', granularity: '7m', rollupInterval: '500ms', rollupScheduler: 'x', preloadSpan: '1m' });
    assert.equal(problems.length, 5, JSON.stringify(problems));
    assert.equal(problemsOf({ probes: true }).length, 1, 'probes need a rollup');
    assert.equal(problemsOf({ preloadRows: 10 }).length, 1, 'preload needs a rollup');
  });

  test('viewers, refresh and min-samples; --probe-cadence is refused, naming what replaced it', () => {
    const c = configOf({ rollup: 'incremental', viewers: '4', refresh: '2s', minSamples: 30 });
    assert.equal(c.dashboard.viewers, 4);
    assert.equal(c.dashboard.refreshMs, 2000);
    assert.equal(c.dashboard.minSamples, 30);
    assert.equal(configOf({ rollup: 'incremental', viewers: 0 }).dashboard.viewers, 0);
    assert.match(oneProblemAbout({ rollup: 'incremental', viewers: -1 }, 'viewers'), /whole number/);
    assert.match(oneProblemAbout({ rollup: 'incremental', refresh: '50ms' }, 'refresh'), /at least 100ms/);
    assert.match(oneProblemAbout({ rollup: 'incremental', minSamples: 0 }, 'minSamples'), /whole number/);
    assert.match(oneProblemAbout({ viewers: 2 }, 'viewers'), /run the probes/);
    assert.match(oneProblemAbout({ rollup: 'incremental', probeCadence: '1s' }, 'probeCadence'), /removed; the dashboard load is --viewers V .* --refresh R/);
  });

  test('undefined values count as absent', () => {
    assert.deepEqual(problemsOf({ rate: undefined, bogus: undefined }), []);
  });

  test('durations as users write them', () => {
    assert.equal(configOf({ duration: '90s' }).durationMs, 90_000);
    assert.equal(configOf({ duration: '5m' }).durationMs, 300_000);
    assert.equal(configOf({ duration: '1h30m' }).durationMs, 5_400_000);
    assert.equal(configOf({ duration: '500ms' }).durationMs, 500);
    assert.equal(configOf({ duration: 30 }).durationMs, 30_000);
    assert.equal(configOf({ duration: '30' }).durationMs, 30_000);
    assert.equal(configOf({ warmup: '10s' }).warmupMs, 10_000);
  });

  test('bad durations are reported', () => {
    for (const bad of ['-5', -5, '0', 0, 'abc', '5x', '']) {
      const p = oneProblemAbout({ duration: bad }, 'duration');
      assert.match(p, /positive duration/);
      assert.ok(p.includes(JSON.stringify(bad)), `problem quotes the value: ${p}`);
    }
  });

  test('zero warm-up is allowed, negative or malformed is not', () => {
    assert.equal(configOf({ warmup: 0 }).warmupMs, 0);
    assert.equal(configOf({ warmup: '0' }).warmupMs, 0);
    assert.equal(configOf({ warmup: '0s' }).warmupMs, 0);
    for (const bad of ['-5', -1, 'abc', '5x', '']) {
      assert.match(oneProblemAbout({ warmup: bad }, 'warmup'), /non-negative duration/);
    }
  });

  test('rate: max, numbers and numeric strings', () => {
    assert.equal(configOf({ rate: 'max' }).rateHz, 'max');
    assert.equal(configOf({ rate: 1000 }).rateHz, 1000);
    assert.equal(configOf({ rate: '2500' }).rateHz, 2500);
    assert.equal(configOf({ rate: '12.5', workers: 1 }).rateHz, 12.5);
  });

  test('rate: negative, zero, NaN and text are rejected', () => {
    for (const bad of [-1, '-100', 0, '0', Number.NaN, 'NaN', 'abc', '', Number.POSITIVE_INFINITY, 'MAX', true]) {
      assert.match(oneProblemAbout({ rate: bad }, 'rate'), /positive number of rows\/s or "max"/, String(bad));
    }
  });

  test('rate below one row/s per worker is rejected', () => {
    assert.match(oneProblemAbout({ rate: 3, workers: 4 }, 'rate'), /below one row\/s per worker/);
    assert.equal(configOf({ rate: 4, workers: 4 }).rateHz, 4);
  });

  test('unknown key is reported by name', () => {
    assert.equal(oneProblemAbout({ duraton: '5m' }, 'duraton'), 'duraton: unknown setting');
  });

  test('several problems are reported at once', () => {
    const r = validateConfig({ rate: -5, mode: 'bulk', colour: 'blue' }, DEFAULTS);
    assert.equal(r.config, undefined);
    assert.equal(r.problems.length, 3, JSON.stringify(r.problems));
    assert.ok(r.problems.some((p) => p.startsWith('rate:')));
    assert.ok(r.problems.some((p) => p.startsWith('mode:') && p.includes('single, multi, copy')));
    assert.ok(r.problems.some((p) => p === 'colour: unknown setting'));
  });

  test('batch defaults per mode', () => {
    assert.equal(configOf({ mode: 'multi' }).batch, 100);
    assert.equal(configOf({ mode: 'copy' }).batch, 100);
    assert.equal(configOf({ mode: 'multi', batch: '50' }).batch, 50);
    assert.equal(configOf({ mode: 'single', batch: 1 }).batch, 1);
  });

  test('batch with single mode is rejected', () => {
    assert.match(oneProblemAbout({ batch: 10 }, 'batch'), /only applies to --mode multi or copy/);
    assert.match(oneProblemAbout({ mode: 'single', batch: 10 }, 'batch'), /got 10/);
  });

  test('multi batch is capped by the bind-parameter limit', () => {
    assert.equal(MAX_MULTI_BATCH, 10922);
    assert.equal(configOf({ mode: 'multi', batch: 10922 }).batch, 10922);
    assert.match(oneProblemAbout({ mode: 'multi', batch: 10923 }, 'batch'), /at most 10922 rows/);
    // COPY has no bind parameters.
    assert.equal(configOf({ mode: 'copy', batch: 50_000 }).batch, 50_000);
  });

  test('batch must be a positive whole number', () => {
    for (const bad of [0, -1, 1.5, 'ten']) oneProblemAbout({ mode: 'multi', batch: bad }, 'batch');
  });

  test('copy with tutorial-sql is rejected', () => {
    assert.match(oneProblemAbout({ mode: 'copy', statement: 'tutorial-sql' }, 'statement'), /cannot be sent with --mode copy/);
    assert.equal(configOf({ mode: 'copy', statement: 'params' }).statement, 'params');
    assert.equal(configOf({ mode: 'multi', statement: 'tutorial-sql' }).statement, 'tutorial-sql');
  });

  test('seed range', () => {
    assert.equal(configOf({ seed: 0 }).seed, 0);
    assert.equal(configOf({ seed: 4294967295 }).seed, 4294967295);
    assert.equal(configOf({ seed: '7' }).seed, 7);
    for (const bad of [-1, 4294967296, 1.5, 'x', '']) {
      assert.match(oneProblemAbout({ seed: bad }, 'seed'), /0 to 4294967295/, String(bad));
    }
  });

  test('countries', () => {
    assert.deepEqual(configOf({ countries: ['France', "Côte d'Ivoire"] }).workload.countries, ['France', "Côte d'Ivoire"]);
    for (const bad of [[], 'France', ['France', ''], ['a\tb'], ['a\nb'], ['a\\b'], ['France', 3]]) {
      assert.match(oneProblemAbout({ countries: bad }, 'countries'), /non-empty list/, JSON.stringify(bad));
    }
  });

  test('statusCodes', () => {
    assert.deepEqual(configOf({ statusCodes: [100, 200, 599] }).workload.statusCodes, [100, 200, 599]);
    for (const bad of [[], 200, [99], [600], [200.5], ['200']]) {
      assert.match(oneProblemAbout({ statusCodes: bad }, 'statusCodes'), /100\.\.599/, JSON.stringify(bad));
    }
  });

  test('sites', () => {
    assert.equal(configOf({ sites: 100 }).workload.sites, 100);
    oneProblemAbout({ sites: 0 }, 'sites');
  });

  test('name pattern', () => {
    assert.equal(configOf({ name: 'quick' }).name, 'quick');
    assert.equal(configOf({ name: 'Run_1.v2-b' }).name, 'Run_1.v2-b');
    assert.equal(configOf({ name: 'a'.repeat(64) }).name, 'a'.repeat(64));
    for (const bad of ['-lead', '.hidden', 'has space', 'a/b', 'a'.repeat(65), 'é']) {
      assert.match(oneProblemAbout({ name: bad }, 'name'), /letters, digits/, bad);
    }
    assert.match(oneProblemAbout({ name: '' }, 'name'), /non-empty string/);
    assert.match(oneProblemAbout({ name: 5 }, 'name'), /non-empty string/);
  });

  test('workers, connections, booleans, lateThresholdMs, progress', () => {
    const c = configOf({ workers: '8', connections: 16, reset: true, keep: true, lateThresholdMs: '2.5', progress: 0 });
    assert.equal(c.workers, 8);
    assert.equal(c.connections, 16);
    assert.equal(c.reset, true);
    assert.equal(c.keep, true);
    assert.equal(c.lateThresholdMs, 2.5);
    assert.equal(c.progressS, 0);
    oneProblemAbout({ workers: 257 }, 'workers');
    oneProblemAbout({ connections: 0 }, 'connections');
    oneProblemAbout({ reset: 'yes' }, 'reset');
    oneProblemAbout({ lateThresholdMs: 0 }, 'lateThresholdMs');
    oneProblemAbout({ progress: 3601 }, 'progress');
  });

  test('pipeline: statements in flight per connection, single and multi only', () => {
    assert.equal(configOf({ pipeline: '4' }).pipeline, 4);
    assert.equal(configOf({ pipeline: 16, mode: 'multi' }).pipeline, 16);
    assert.equal(configOf({ mode: 'copy' }).pipeline, 1, 'copy with the default depth is fine');
    for (const bad of [0, '0', -1, 1.5, 'four', 1001]) oneProblemAbout({ pipeline: bad }, 'pipeline');
    assert.match(oneProblemAbout({ pipeline: 4, mode: 'copy' }, 'pipeline'), /copy .*cannot be pipelined/);
  });

  test('an empty progress string is rejected like other empty numbers', () => {
    oneProblemAbout({ progress: '' }, 'progress');
  });

  test('--instance i/N with N > 1 needs --group; --group and --rendezvous-timeout need an instance', () => {
    assert.deepEqual(configOf({ instance: '2/3', group: 'job-7' }).instance, { index: 2, count: 3, group: 'job-7' });
    assert.deepEqual(configOf({ instance: '1/1' }).instance, { index: 1, count: 1, group: null });
    assert.match(oneProblemAbout({ instance: '1/2' }, 'instance'), /^instance: 1\/2 needs --group NAME/);
    assert.match(oneProblemAbout({ group: 'g' }, 'group'), /only applies to --instance/);
    assert.match(oneProblemAbout({ instance: '1/2', group: 'has space' }, 'group'), /letters, digits/);
    assert.match(oneProblemAbout({ instance: '1/2', group: 'a'.repeat(64) }, 'group'), /at most 63/);
    assert.equal(configOf({ instance: '1/2', group: 'g', rendezvousTimeout: '5s' }).rendezvousTimeoutMs, 5000);
    assert.equal(configOf({ instance: '1/2', group: 'g' }).rendezvousTimeoutMs, 60_000);
    assert.match(oneProblemAbout({ instance: '1/1', rendezvousTimeout: '5s' }, 'rendezvousTimeout'), /only applies with --group/);
    oneProblemAbout({ instance: '1/2', group: 'g', rendezvousTimeout: '0' }, 'rendezvousTimeout');
    assert.match(oneProblemAbout({ instance: 'auto' }, 'instance'), /or auto/, 'auto is resolved by the CLI before validation');
  });
});

describe('default worker count (issue 18)', () => {
  test('half the cores, at most one per 10,000 rows/s of a fixed rate; 8 connections in all', () => {
    assert.equal(defaultWorkers('max', 2), 1);
    assert.equal(defaultWorkers(8000, 2), 1);
    assert.equal(defaultWorkers('max', 8), 4);
    assert.equal(defaultWorkers(2000, 8), 1);
    assert.equal(defaultWorkers(25_000, 8), 3);
    assert.equal(defaultWorkers(1e6, 8), 4);
    assert.equal(defaultWorkers(500, 1), 1);
    const withCores = (raw: RawConfig, cores: number): RunConfig => validateConfig(raw, { ...DEFAULTS, cores }).config!;
    assert.deepEqual([withCores({ rate: 2000 }, 2).workers, withCores({ rate: 2000 }, 2).connections], [1, 8]);
    assert.deepEqual([withCores({}, 8).workers, withCores({}, 8).connections], [4, 2]);
    assert.deepEqual([withCores({ workers: 2 }, 2).workers, withCores({ workers: 2 }, 2).connections], [2, 4], 'given workers: 4 connections each, as before');
    assert.deepEqual([withCores({ connections: 3 }, 2).workers, withCores({ connections: 3 }, 2).connections], [1, 3]);
  });
});

describe('partition, scheduled expiry and preload connections', () => {
  const cfg = (raw: Record<string, unknown>) => validateConfig(raw, { seed: 42, resultsDir: 'results' });
  test('the old boolean --expire keeps its meaning; delete | drop-partitions schedule it during measure', () => {
    assert.equal(cfg({ expire: true }).config?.dashboard.expire, true);
    assert.equal(cfg({ expire: '' }).config?.dashboard.expiry, null);
    assert.deepEqual(cfg({ expire: 'delete', retention: '2h', expireEvery: '10s' }).config?.dashboard.expiry,
      { method: 'delete', retentionMs: 7_200_000, rollupRetentionMs: 30 * 86_400_000, everyMs: 10_000 });
    assert.equal(cfg({ expire: 'drop-partitions', partition: 'hour' }).config?.dashboard.expiry?.method, 'drop-partitions');
    assert.equal(cfg({ partition: 'day', preloadConnections: '2' }).config?.partition, 'day');
    assert.equal(cfg({ partition: 'day', preloadConnections: '2' }).config?.dashboard.preloadConnections, 2);
  });
  test('every problem listed', () => {
    const p = cfg({ expire: 'drop-partitions', partition: 'week', preloadConnections: 0 }).problems;
    assert.ok(p.some((x) => x.startsWith('partition: must be one of none, hour, day')));
    assert.ok(p.some((x) => x.startsWith('expire: drop-partitions needs a partitioned raw table')));
    assert.ok(p.some((x) => x.startsWith('preloadConnections:')));
    assert.ok(cfg({ retention: '1d' }).problems.some((x) => x.startsWith('retention: only applies with --expire')));
    assert.ok(cfg({ expire: 'truncate' }).problems.some((x) => x.startsWith('expire: must be delete or drop-partitions')));
  });
});

describe('sampleInterval (server sampler)', () => {
  test('ms by default unit, durations with units, 0 = off; below 10 ms or over 60 s is refused', () => {
    assert.equal(configOf({ sampleInterval: '250' }).sampleIntervalMs, 250);
    assert.equal(configOf({ sampleInterval: '0.5s' }).sampleIntervalMs, 500);
    assert.equal(configOf({ sampleInterval: 0 }).sampleIntervalMs, 0);
    assert.match(oneProblemAbout({ sampleInterval: '5' }, 'sampleInterval'), /must be 0 \(off\) or from 10 ms to 60 s/);
    assert.match(oneProblemAbout({ sampleInterval: 'soon' }, 'sampleInterval'), /got "soon"/);
    assert.match(oneProblemAbout({ sampleInterval: '2m' }, 'sampleInterval'), /60 s/);
  });
});
