/**
 * Shard-parallel speedup, per probe and window: the `parallel` section of
 * summary.json. The same probe runs on one connection under a serial and a
 * parallel setting, the two interleaved per iteration (ABBA) so drift in
 * caches or background load falls on both sides alike:
 *
 * - Citus: one connection per worker (`citus.max_adaptive_executor_pool_size = 1`)
 *   vs full parallelism (`citus.force_max_query_parallelization = on`, pool
 *   size back to its default);
 * - single-node PostgreSQL: `max_parallel_workers_per_gather = 0` vs the
 *   server's default (RESET), with the workers each parallel plan actually
 *   launched read once from `EXPLAIN (ANALYZE, FORMAT JSON)`.
 *
 * Speedup = serial p50 / parallel p50. {@link parallelFigures} is the pure part.
 */
import type pg from 'pg';
import { UsageError } from '../errors.js';
import { newHistogram, summarize, type Histogram } from '../metrics/histogram.js';
import { connect } from '../targets/postgres.js';
import { isConnectionLost, sqlstateOf } from '../targets/sqlstate.js';
import { maskUrl } from '../targets/url.js';
import { PhaseProgress, type OnProgress } from '../schedule/progress.js';
import { Prng } from '../workload/prng.js';
import { probeParams, renderProbe, runOrder, type ProbeDef } from './definition.js';
import { DEFAULT_MIN_SAMPLES, MedianBootstrap, ratio } from './figures.js';
import { IDLE_TENANT_STREAM } from './idle.js';
import { maxPlanValue } from './plan.js';
import { selectRunnable } from './requirements.js';
import { DEFAULT_WINDOWS, rollupTableFor, type Granularity, type ProbeWindow } from './windows.js';
import type { ParallelProbeFigure, ParallelResult, ParallelTargetKind } from '../results/run-record.js';

/** Options of {@link measureParallelSpeedup}. */
export interface ParallelOptions {
  readonly kind: ParallelTargetKind;
  /** Windows (default 5m, 1h, 1d). */
  readonly windows?: readonly ProbeWindow[];
  /** Rollup granularity (default '1m'); names the rollup table unless `rollupTable` is given. */
  readonly granularity?: Granularity;
  readonly rollupTable?: string;
  /** Measured executions per setting per probe × window (default 5). */
  readonly iterations?: number;
  /** Unmeasured executions per setting first (default 1). */
  readonly warmupIterations?: number;
  /**
   * Citus only (default false): set `citus.max_cached_conns_per_worker` to
   * the pool size (on both sides), so the connections opened for full
   * parallelism are kept between queries. Without it, every parallel query
   * opens and closes all but one connection per worker, and on a small
   * cluster that setup, not the parallel execution, dominates the figure.
   */
  readonly citusCacheParallelConnections?: boolean;
  /** A side with fewer measured executions is insufficient: its speedup is null [20]. */
  readonly minSamples?: number;
  /** Tenant panels read one site drawn from [0, sites) per probe × window [32], seeded by the run's seed [1]. */
  readonly sites?: number;
  readonly seed?: number;
  /** Progress of the phase `probes: serial vs parallel`, counted in executions (both sides, warm-ups and EXPLAINs included). */
  readonly onProgress?: OnProgress;
  /** Clock of the progress events, ms (default `performance.now`). */
  readonly nowMs?: () => number;
  /** The phase's name in progress events (default `probes: serial vs parallel`). */
  readonly progressPhase?: string;
}

/** Raw samples of one probe × window, whole µs, as {@link parallelFigures} takes them. */
export interface ParallelSamples {
  readonly probe: string;
  readonly window: string;
  readonly serialUs: readonly number[];
  readonly parallelUs: readonly number[];
  readonly serialWorkersLaunched?: number;
  readonly parallelWorkersLaunched?: number;
  readonly shards?: number;
}

/** A histogram summary of µs samples; negative and non-finite samples are dropped. */
function summarizeUs(samples: readonly number[]): { count: number; p50Us: number; p99Us: number; histogram: Histogram } {
  const h = newHistogram();
  for (const us of samples) if (Number.isFinite(us) && us >= 0) h.recordValue(Math.floor(us));
  const s = summarize(h);
  return { count: s.count, p50Us: s.p50Us, p99Us: s.p99Us, histogram: h };
}

/**
 * Figures from raw samples: p50/p99 per side from an HDR histogram, speedup =
 * serial p50 / parallel p50 with its 95% bootstrap interval. A task without a
 * valid sample on either side has no figure; a side with fewer than
 * `minSamples` makes the figure insufficient and its speedup null; a 0 µs
 * parallel p50 gives a figure without `speedup`. Pure and seeded.
 */
export function parallelFigures(samples: readonly ParallelSamples[], minSamples = DEFAULT_MIN_SAMPLES, seed = 1): ParallelProbeFigure[] {
  const out: ParallelProbeFigure[] = [];
  const boot = new MedianBootstrap(seed);
  for (const s of samples) {
    const serial = summarizeUs(s.serialUs);
    const parallel = summarizeUs(s.parallelUs);
    if (serial.count === 0 || parallel.count === 0) continue;
    const insufficient = serial.count < minSamples || parallel.count < minSamples;
    const r = ratio(serial.p50Us, parallel.p50Us);
    const speedup = r === undefined ? undefined : insufficient ? null : r;
    const speedupCi95 = speedup == null ? null : boot.ratioCi(serial.histogram, parallel.histogram);
    out.push({
      probe: s.probe,
      window: s.window,
      serialP50Us: serial.p50Us,
      parallelP50Us: parallel.p50Us,
      serialP99Us: serial.p99Us,
      parallelP99Us: parallel.p99Us,
      ...(speedup !== undefined && { speedup, speedupCi95 }),
      serialCount: serial.count,
      parallelCount: parallel.count,
      insufficient,
      ...(s.serialWorkersLaunched !== undefined && { serialWorkersLaunched: s.serialWorkersLaunched }),
      ...(s.parallelWorkersLaunched !== undefined && { parallelWorkersLaunched: s.parallelWorkersLaunched }),
      ...(s.shards !== undefined && { shards: s.shards }),
    });
  }
  return out;
}

/** Most "Workers Launched" of any node in an EXPLAIN (FORMAT JSON) plan tree; 0 when none ran in parallel. */
export function maxWorkersLaunched(plan: unknown): number {
  return maxPlanValue(plan, 'Workers Launched');
}

/** One side of the comparison: its label in results and the statements that put it in force. */
interface Mode {
  readonly label: string;
  readonly apply: string;
}

interface Plan {
  readonly serial: Mode;
  readonly parallel: Mode;
  readonly workers: number;
  readonly shards: number | null;
}

async function show(client: pg.Client, setting: string): Promise<string> {
  const r = await client.query<{ v: string }>('SELECT current_setting($1) AS v', [setting]);
  return r.rows[0]?.v ?? '';
}

/** Shard count of a table in pg_dist_shard (0 when it is not distributed or does not exist). */
async function shardCount(client: pg.Client, table: string): Promise<number> {
  const r = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_dist_shard WHERE logicalrelid = to_regclass($1)', [`"${table.replace(/"/g, '""')}"`]);
  return r.rows[0]?.n ?? 0;
}

async function planFor(client: pg.Client, url: string, kind: ParallelTargetKind, cacheParallel: boolean): Promise<Plan> {
  if (kind === 'postgres') {
    await client.query('RESET max_parallel_workers_per_gather');
    const d = await show(client, 'max_parallel_workers_per_gather');
    return {
      serial: { label: 'max_parallel_workers_per_gather = 0', apply: 'SET max_parallel_workers_per_gather = 0' },
      parallel: { label: `max_parallel_workers_per_gather = ${d} (default)`, apply: 'RESET max_parallel_workers_per_gather' },
      workers: Number(d) || 0,
      shards: null,
    };
  }
  const ext = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`);
  if (ext.rowCount === 0) throw new UsageError(`${maskUrl(url)}: not a Citus coordinator (extension citus is not installed in this database)`);
  await client.query('RESET citus.max_adaptive_executor_pool_size');
  const pool = await show(client, 'citus.max_adaptive_executor_pool_size');
  const w = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM citus_get_active_worker_nodes()');
  await client.query('RESET citus.max_cached_conns_per_worker');
  const cached = await show(client, 'citus.max_cached_conns_per_worker');
  // The cache size is set on both sides: the serial side uses one connection per worker either way, and a
  // smaller cache there would close the parallel side's connections between the interleaved runs.
  const cachedConns = cacheParallel ? Math.max(Number(pool) || 0, Number(cached) || 0) : null;
  const cache = cachedConns === null ? 'RESET citus.max_cached_conns_per_worker' : `SET citus.max_cached_conns_per_worker = ${cachedConns}`;
  const cacheLabel = cachedConns === null ? '' : `, citus.max_cached_conns_per_worker = ${cachedConns}`;
  return {
    // force_max_query_parallelization is pinned off: a server-wide `on` would otherwise leak into the serial side.
    serial: {
      label: `citus.max_adaptive_executor_pool_size = 1, citus.force_max_query_parallelization = off${cacheLabel}`,
      apply: `SET citus.force_max_query_parallelization = off; SET citus.max_adaptive_executor_pool_size = 1; ${cache}`,
    },
    parallel: {
      label: `citus.force_max_query_parallelization = on, citus.max_adaptive_executor_pool_size = ${pool} (default)${cacheLabel}`,
      apply: `RESET citus.max_adaptive_executor_pool_size; SET citus.force_max_query_parallelization = on; ${cache}`,
    },
    workers: w.rows[0]?.n ?? 0,
    shards: await shardCount(client, 'http_request'),
  };
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/**
 * Time every runnable probe × window under the serial and the parallel setting
 * of `opts.kind`, on one dedicated connection, with nothing else of ours
 * running. Probes the database cannot run are skipped (listed); a probe that
 * fails is listed in `errors` and has no figure.
 * @throws UsageError when the database cannot be reached or `kind` is 'citus' on a non-Citus database;
 *   the driver's error when the connection is lost mid-way.
 */
export async function measureParallelSpeedup(url: string, probes: readonly ProbeDef[], opts: ParallelOptions): Promise<ParallelResult> {
  const windows = opts.windows ?? DEFAULT_WINDOWS;
  const rollupTable = opts.rollupTable ?? rollupTableFor(opts.granularity ?? '1m');
  const minSamples = opts.minSamples ?? DEFAULT_MIN_SAMPLES;
  const iterations = positiveInt('iterations', opts.iterations ?? minSamples, 1);
  const prng = new Prng(opts.seed ?? 1, IDLE_TENANT_STREAM);
  const sites = opts.sites ?? 32;
  const warmups = positiveInt('warmupIterations', opts.warmupIterations ?? 1, 0);
  const client = await connect(url, 'rtbench-probe-parallel');
  try {
    const { runnable, skipped } = await selectRunnable(client, probes, rollupTable);
    const plan = await planFor(client, url, opts.kind, opts.citusCacheParallelConnections ?? false);
    const shardsOf = new Map<string, number>();
    if (opts.kind === 'citus') {
      shardsOf.set('raw', plan.shards ?? 0);
      if (runnable.some((p) => p.reads === 'rollup')) shardsOf.set('rollup', await shardCount(client, rollupTable));
    }

    const ordered = runOrder(runnable);
    // Per panel: 2 sides × (warm-ups + iterations), and on PostgreSQL the 2 EXPLAINs of the workers launched.
    const perPanel = 2 * (warmups + iterations) + (opts.kind === 'postgres' ? 2 : 0);
    const progress = new PhaseProgress({
      phase: opts.progressPhase ?? 'probes: serial vs parallel',
      unit: 'executions',
      total: perPanel * ordered.length * windows.length,
      onProgress: opts.onProgress,
      nowMs: opts.nowMs ?? (() => performance.now()),
    });
    // Ticks between executions: one execution of a raw panel on Citus can take seconds.
    const beat = setInterval(() => progress.tick(), 1000);
    beat.unref();
    const samples: ParallelSamples[] = [];
    const errors: string[] = [];
    try {
      for (const window of windows) {
        for (const probe of ordered) {
          const sql = renderProbe(probe, rollupTable);
          const params = probeParams(probe, window.interval, prng.below(sites));
          const timed = async (mode: Mode): Promise<number> => {
            await client.query(mode.apply);
            const t0 = process.hrtime.bigint();
            await client.query(sql, params);
            const us = Math.floor(Number(process.hrtime.bigint() - t0) / 1000);
            progress.advance();
            return us;
          };
          const launched = async (mode: Mode): Promise<number> => {
            await client.query(mode.apply);
            // TIMING OFF: the per-node clock reads would slow the run; only the worker count is wanted.
            const r = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${sql}`, params);
            progress.advance();
            return maxWorkersLaunched(r.rows[0]?.['QUERY PLAN']);
          };
          const doneBefore = progress.done;
          try {
            const serialUs: number[] = [];
            const parallelUs: number[] = [];
            const extra: { serialWorkersLaunched?: number; parallelWorkersLaunched?: number; shards?: number } = {};
            if (opts.kind === 'postgres') {
              extra.serialWorkersLaunched = await launched(plan.serial);
              extra.parallelWorkersLaunched = await launched(plan.parallel);
            } else {
              extra.shards = shardsOf.get(probe.reads) ?? 0;
            }
            for (let i = 0; i < warmups; i++) {
              await timed(plan.serial);
              await timed(plan.parallel);
            }
            for (let i = 0; i < iterations; i++) {
              // ABBA: alternate which side goes first, so neither always runs on the other's warm cache.
              if (i % 2 === 0) {
                serialUs.push(await timed(plan.serial));
                parallelUs.push(await timed(plan.parallel));
              } else {
                parallelUs.push(await timed(plan.parallel));
                serialUs.push(await timed(plan.serial));
              }
            }
            samples.push({ probe: probe.name, window: window.label, serialUs, parallelUs, ...extra });
          } catch (err) {
            const state = sqlstateOf(err);
            if (isConnectionLost(state)) throw err;
            // The panel's executions that will not run are counted as done, so the time left stays right.
            progress.advance(Math.max(0, doneBefore + perPanel - progress.done));
            errors.push(`probe ${probe.name} @ ${window.label}: ${err instanceof Error ? err.message : String(err)} (SQLSTATE ${state})`);
          }
        }
      }
    } finally {
      clearInterval(beat);
      progress.finish();
    }
    return {
      kind: opts.kind,
      serialSetting: plan.serial.label,
      parallelSetting: plan.parallel.label,
      shards: plan.shards,
      workers: plan.workers,
      byProbe: parallelFigures(samples, minSamples, opts.seed ?? 1),
      skipped: [...skipped],
      errors,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
