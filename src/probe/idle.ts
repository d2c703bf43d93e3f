/**
 * Idle baseline: every probe × window timed with no load running, one
 * tinybench task each, sequentially on one connection. Its p50 is the
 * denominator of the under-load / idle ratio.
 */
import { Bench } from 'tinybench';
import { newHistogram, type Histogram } from '../metrics/histogram.js';
import { connect } from '../targets/postgres.js';
import { PhaseProgress, type OnProgress } from '../schedule/progress.js';
import { Prng } from '../workload/prng.js';
import { probeParams, renderProbe, runOrder, type ProbeDef } from './definition.js';
import { selectRunnable } from './requirements.js';
import { DEFAULT_WINDOWS, rollupTableFor, type Granularity, type ProbeWindow } from './windows.js';

/** Options of {@link idleBaseline}. */
export interface IdleBaselineOptions {
  /** Rollup granularity (default '1m'); names the rollup table unless `rollupTable` is given. */
  readonly granularity?: Granularity;
  readonly rollupTable?: string;
  /** tinybench time budget per task, ms (default 300). A task runs until this and `iterations` are both reached. */
  readonly timeMs?: number;
  /** Minimum measured executions per task (default 5). */
  readonly iterations?: number;
  /** Unmeasured executions per task first (default 1: warms caches and plans). */
  readonly warmupIterations?: number;
  /** Tenant panels read one site drawn from [0, sites) per task (default 32). */
  readonly sites?: number;
  /** Seed of those draws (the run's seed; default 1). */
  readonly seed?: number;
  /** Progress of the phase `probes: idle baseline`, counted in panels (probe × window). */
  readonly onProgress?: OnProgress;
  /** Clock of the progress events, ms (default `performance.now`). */
  readonly nowMs?: () => number;
}

/** PRNG stream of the idle baseline's tenant draws (apart from the viewers' streams). */
export const IDLE_TENANT_STREAM = 999_999;

/** One probe × window of the idle baseline. */
export interface IdleTaskResult {
  readonly probe: string;
  readonly window: string;
  /** Median latency, µs; null when the task failed. */
  readonly p50Us: number | null;
  readonly samples: number;
  /** The measured executions, µs (empty when the task failed). */
  readonly histogram: Histogram;
  /** The failure, when the task errored. */
  readonly error?: string;
}

export interface IdleBaseline {
  readonly tasks: readonly IdleTaskResult[];
  readonly skipped: readonly string[];
}

/** tinybench task name of a probe × window. */
function taskName(probe: string, window: string): string {
  return `${probe} @ ${window}`;
}

/**
 * Time each runnable probe × window with tinybench on one connection, with
 * nothing else running. Probes the database cannot run are skipped (listed).
 * @throws UsageError when the database cannot be reached.
 */
export async function idleBaseline(
  url: string,
  probes: readonly ProbeDef[],
  windows: readonly ProbeWindow[] = DEFAULT_WINDOWS,
  opts: IdleBaselineOptions = {},
): Promise<IdleBaseline> {
  const rollupTable = opts.rollupTable ?? rollupTableFor(opts.granularity ?? '1m');
  const client = await connect(url, 'rtbench-probe-idle');
  try {
    const { runnable, skipped } = await selectRunnable(client, probes, rollupTable);
    const bench = new Bench({
      name: 'rtbench idle probe baseline',
      time: opts.timeMs ?? 300,
      iterations: opts.iterations ?? 5,
      warmup: (opts.warmupIterations ?? 1) > 0,
      warmupTime: 0,
      warmupIterations: opts.warmupIterations ?? 1,
      timestampProvider: 'hrtimeNow',
      throws: false,
      retainSamples: true,
    });
    const prng = new Prng(opts.seed ?? 1, IDLE_TENANT_STREAM);
    const sites = opts.sites ?? 32;
    // Without a time budget tinybench runs exactly the warm-up and measured iterations of each task, so the
    // executions are known in advance and counted one by one: on Citus one panel can take a minute, and a
    // count of panels would stand still that long. With a time budget the count is of panels (tasks).
    const timeMs = opts.timeMs ?? 300;
    const perTask = (opts.iterations ?? 5) + (opts.warmupIterations ?? 1);
    const byExecution = timeMs <= 0;
    const progress = new PhaseProgress({
      phase: 'probes: idle baseline',
      unit: byExecution ? 'executions' : 'panels',
      total: runnable.length * windows.length * (byExecution ? perTask : 1),
      onProgress: opts.onProgress,
      nowMs: opts.nowMs ?? (() => performance.now()),
    });
    if (!byExecution) bench.addEventListener('cycle', () => progress.advance());
    const beat = setInterval(() => progress.tick(), 1000);
    beat.unref();
    const keys: { probe: string; window: string; name: string }[] = [];
    for (const window of windows) {
      for (const probe of runOrder(runnable)) {
        const sql = renderProbe(probe, rollupTable);
        const name = taskName(probe.name, window.label);
        const params = probeParams(probe, window.interval, prng.below(sites));
        keys.push({ probe: probe.name, window: window.label, name });
        bench.add(
          name,
          async () => {
            await client.query(sql, params);
            if (byExecution) progress.advance();
            else progress.tick();
          },
          { async: true },
        );
      }
    }
    try {
      await bench.run();
    } finally {
      clearInterval(beat);
      progress.finish();
    }
    const tasks = keys.map(({ probe, window, name }): IdleTaskResult => {
      const r = bench.getTask(name)?.result;
      if (r && (r.state === 'completed' || r.state === 'aborted-with-statistics')) {
        const histogram = newHistogram();
        for (const ms of r.latency.samples ?? []) if (Number.isFinite(ms) && ms >= 0) histogram.recordValue(Math.floor(ms * 1000));
        // The histogram's median, as under load, so that load / idle and its interval compare like with like.
        const p50Us = histogram.totalCount > 0 ? histogram.getValueAtPercentile(50) : Math.round(r.latency.p50 * 1000);
        return { probe, window, p50Us, samples: r.latency.samplesCount, histogram };
      }
      return { probe, window, p50Us: null, samples: 0, histogram: newHistogram(), error: r?.state === 'errored' ? r.error.message : (r?.state ?? 'not run') };
    });
    return { tasks, skipped };
  } finally {
    await client.end().catch(() => undefined);
  }
}
