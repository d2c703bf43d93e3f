/**
 * Main-thread side of the load: starts the workers, gives them a common start
 * instant, feeds their interval snapshots to the Aggregator, and reports
 * completed intervals through a callback. Never prints.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { siteSlice, type RunConfig } from '../config/types.js';
import { Aggregator, type IntervalRow } from '../metrics/aggregate.js';
import type { MainToWorker, WorkerInit, WorkerToMain } from './messages.js';
import { NodeLoad, type SitePlacement } from '../metrics/node-load.js';

/**
 * V8's memory reducer runs full mark-compact GCs when an isolate looks idle,
 * and a load worker at a modest rate looks idle between operations: with it,
 * each worker paused 5–22 ms three or four times in 10 s at 500 rows/s
 * (`node --trace-gc`), which set the response p99.9 (9–19 ms). Off, p99.9 was
 * 4–7 ms and timer lateness p99 under 0.5 ms (3 runs each, 12 s at 500 rows/s).
 * The flag is process-wide and must be set before the worker isolates exist.
 */
let memoryReducerOff = false;
function disableMemoryReducer(): void {
  if (memoryReducerOff) return;
  setFlagsFromString('--no-memory-reducer');
  memoryReducerOff = true;
}

export interface LoadResult {
  readonly aggregator: Aggregator;
  /** Operations still in flight when workers gave up waiting for them. */
  readonly unfinished: number;
  /** Wall-clock start of the schedule (ms since epoch, this host's clock), for the interval log. */
  readonly startEpochMs: number;
  /** How long after the requested origin ({@link LoadOptions.beforeStart}) the workers were told to start; 0 when in time. */
  readonly lateStartMs: number;
  /** When the first operation of any worker was sent, ms after the origin (the schedule's real start); null if none was. */
  readonly firstSentMs: number | null;
  /** Worker failures (a worker that died); empty when all finished. */
  readonly workerFailures: string[];
  /** Per worker: p99 event-loop delay over the measure phase, µs. */
  readonly measureLoopDelayP99Us: number[];
  /** Per worker: p50 of the same, µs. */
  readonly measureLoopDelayP50Us: number[];
  /** Per Citus node, when a placement was given (src/metrics/node-load.ts). */
  readonly byNode: NodeLoad | null;
}

export interface LoadOptions {
  readonly config: RunConfig;
  readonly url: string;
  readonly tutorialTemplate: string;
  readonly intervalMs?: number;
  /** Called for every completed interval, in order. */
  readonly onInterval?: (row: IntervalRow) => void;
  /**
   * Called once every worker is connected, before the schedule starts; resolves
   * with the schedule's origin (ms since the epoch, this host's clock), or null
   * for "now". A rejection stops the workers and is rethrown.
   */
  readonly beforeStart?: () => Promise<number | null>;
  /** On Citus: where each site's shard lives, to attribute operations to nodes. */
  readonly placement?: SitePlacement;
}

/** A failure to start: workers could not connect (bad password, unreachable host…). */
export class LoadStartError extends Error {
  constructor(message: string, readonly sqlstate?: string) {
    super(message);
  }
}

export class LoadPool {
  private readonly workers: Worker[] = [];
  private stopped = false;

  constructor(private readonly opts: LoadOptions) {}

  /** Ask workers to stop early (Ctrl-C); they finish in-flight operations and report. */
  stop(): void {
    this.stopped = true;
    for (const w of this.workers) w.postMessage({ type: 'stop' } satisfies MainToWorker);
  }

  /** Run the whole load (warm-up + measure) and resolve with the aggregated result. */
  async run(): Promise<LoadResult> {
    const { config, url } = this.opts;
    const intervalMs = this.opts.intervalMs ?? 1000;
    // With --instance i/N this generator owns 1/N of the total rate and a slice of the sites.
    const share = config.instance ? config.instance.count : 1;
    const opsTotal = config.rateHz === 'max' ? null : config.rateHz / share / config.batch;
    const sites = siteSlice(config);
    const opsPerWorker = opsTotal === null ? null : opsTotal / config.workers;
    const targetRowsHz = config.rateHz === 'max' ? null : config.rateHz / share;
    const aggregator = new Aggregator(config.workers, config.warmupMs, targetRowsHz);
    const warmupNs = config.warmupMs * 1e6;

    const readies: Promise<void>[] = [];
    const dones: Promise<number>[] = [];
    const failures: string[] = [];
    const loopDelays: number[] = new Array<number>(config.workers).fill(0);
    const loopDelaysP50: number[] = new Array<number>(config.workers).fill(0);
    let firstSentMs: number | null = null;
    const byNode = this.opts.placement ? new NodeLoad() : null;
    for (let w = 0; w < config.workers; w++) {
      const init: WorkerInit = {
        workerIndex: w,
        url,
        connections: config.connections,
        pipeline: config.pipeline,
        opsPerSecond: opsPerWorker,
        // Interleave workers: worker w starts w/W of an interval later, so arrivals stay evenly spaced.
        scheduleOffsetNs: opsPerWorker === null ? 0 : (w / config.workers) * (1e9 / opsPerWorker),
        mode: config.mode,
        batch: config.batch,
        statement: config.statement,
        seed: config.seed,
        stream: (config.instance ? (config.instance.index - 1) * 1000 : 0) + w,
        sites,
        workload: config.workload,
        lateThresholdNs: config.lateThresholdMs * 1e6,
        warmupNs,
        endNs: warmupNs + config.durationMs * 1e6,
        intervalMs,
        tutorialTemplate: this.opts.tutorialTemplate,
        applicationName: `rtbench-w${w}`,
        ...(this.opts.placement ? { placement: this.opts.placement } : {}),
      };
      disableMemoryReducer();
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
      this.workers.push(worker);
      let readyResolve!: () => void;
      let readyReject!: (e: Error) => void;
      readies.push(new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; }));
      dones.push(new Promise<number>((resolve) => {
        let finished = false;
        worker.on('message', (m: WorkerToMain) => {
          switch (m.type) {
            case 'ready': readyResolve(); break;
            case 'interval':
              byNode?.add(m.index, m.startMs, m.endMs, m.nodes);
              for (const row of aggregator.add(m)) this.opts.onInterval?.(row);
              break;
            case 'done':
              finished = true;
              loopDelays[w] = m.measureLoopDelayP99Us;
              loopDelaysP50[w] = m.measureLoopDelayP50Us;
              if (m.firstSentNs !== null) firstSentMs = Math.min(firstSentMs ?? Infinity, m.firstSentNs / 1e6);
              resolve(m.unfinished);
              break;
            case 'fatal':
              readyReject(new LoadStartError(m.message, m.sqlstate));
              failures.push(`worker ${w}: ${m.message}`);
              finished = true;
              resolve(0);
              break;
          }
        });
        worker.on('error', (err) => {
          failures.push(`worker ${w} crashed: ${err.message}`);
          readyReject(err);
          resolve(0);
        });
        worker.on('exit', () => {
          if (!finished) readyReject(new Error(`worker ${w} exited before it was ready`));
          resolve(0);
        });
      }));
    }

    let originEpochMs: number | null;
    try {
      await Promise.all(readies);
      originEpochMs = (await this.opts.beforeStart?.()) ?? null;
    } catch (err) {
      await Promise.all(this.workers.map((w) => w.terminate()));
      throw err;
    }
    // A common origin: the one asked for, else 50 ms ahead, so every worker has received it before it begins.
    const nowNs = process.hrtime.bigint();
    const nowEpochMs = performance.timeOrigin + performance.now();
    const startEpochMs = originEpochMs ?? nowEpochMs + 50;
    const startNs = nowNs + BigInt(Math.round((startEpochMs - nowEpochMs) * 1e6));
    const lateStartMs = Math.max(0, nowEpochMs - startEpochMs);
    for (const w of this.workers) w.postMessage({ type: 'start', startNs: startNs.toString() } satisfies MainToWorker);
    if (this.stopped) this.stop();
    const unfinished = (await Promise.all(dones)).reduce((a, b) => a + b, 0);
    for (const row of aggregator.flush()) this.opts.onInterval?.(row);
    await Promise.all(this.workers.map((w) => w.terminate()));
    return { aggregator, unfinished, startEpochMs, lateStartMs, firstSentMs, workerFailures: failures, measureLoopDelayP99Us: loopDelays, measureLoopDelayP50Us: loopDelaysP50, byNode };
  }
}
