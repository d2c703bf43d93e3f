/**
 * Messages between the main thread and load workers (tagged by `type`).
 * Workers never merge or print: they post encoded interval histograms and counters.
 */
import type { InsertMode, StatementForm, WorkloadShape } from '../config/types.js';

export interface WorkerInit {
  readonly workerIndex: number;
  /** Connection URL (may hold a password; never printed). */
  readonly url: string;
  readonly connections: number;
  /** Operations per second for this worker, or null for a closed loop. */
  readonly opsPerSecond: number | null;
  /** Offset of this worker's schedule so that workers interleave evenly (ns). */
  readonly scheduleOffsetNs: number;
  readonly mode: InsertMode;
  readonly batch: number;
  readonly statement: StatementForm;
  readonly seed: number;
  /** PRNG stream id (distinct per worker and instance). */
  readonly stream: number;
  readonly workload: WorkloadShape;
  /** Optional slice of sites for this worker's rows. */
  readonly sites?: { offset: number; count: number };
  readonly lateThresholdNs: number;
  readonly warmupNs: number;
  /** End of the measure phase (warm-up + duration), ns after start. */
  readonly endNs: number;
  readonly intervalMs: number;
  /** Text of sql/workload/tutorial-insert.sql. */
  readonly tutorialTemplate: string;
  readonly applicationName: string;
}

/** Counters of one phase within one interval of one worker. */
export interface PhaseCounters {
  ops: number;
  rows: number;
  late: number;
  /** Operations due but never sent (no live connection, or the run ended with them queued). */
  dropped: number;
  errors: Record<string, number>;
}

export interface PhaseSnapshot extends PhaseCounters {
  /** Compressed base64 HDR histograms, µs. */
  readonly response: string;
  readonly service: string;
  readonly lag: string;
}

export interface IntervalSnapshot {
  readonly type: 'interval';
  readonly workerIndex: number;
  /** 1-based tick; interval k covers [(k-1)·interval, k·interval) after start, the last one may be shorter. */
  readonly index: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly warmup?: PhaseSnapshot;
  readonly measure?: PhaseSnapshot;
  /** Event-loop utilisation of this worker over the interval (0..1). */
  readonly elu: number;
  /** p99 event-loop delay over the interval, µs. */
  readonly loopDelayP99Us: number;
  readonly connectionsUp: number;
  /** Connections re-established during the interval. */
  readonly reconnects: number;
}

export type WorkerToMain =
  | { readonly type: 'ready' }
  | IntervalSnapshot
  | { readonly type: 'done'; readonly unfinished: number; readonly measureLoopDelayP99Us: number }
  | { readonly type: 'fatal'; readonly message: string; readonly sqlstate?: string };

export type MainToWorker =
  | { readonly type: 'start'; readonly startNs: string }
  | { readonly type: 'stop' };
