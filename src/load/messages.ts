/**
 * Messages between the main thread and load workers (tagged by `type`).
 * Workers never merge or print: they post encoded interval histograms and counters.
 */
import type { OutageSpan } from '../metrics/availability.js';
import type { NodeInterval, SitePlacement } from '../metrics/node-load.js';
import type { InsertMode, StatementForm, WorkloadShape } from '../config/types.js';

export interface WorkerInit {
  readonly workerIndex: number;
  /** Connection URL (may hold a password; never printed). */
  readonly url: string;
  readonly connections: number;
  /** Statements in flight per connection (1: one round trip at a time). */
  readonly pipeline: number;
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
  /** On Citus, where each site's shard lives: operations are attributed to the nodes of their rows. */
  readonly placement?: SitePlacement;
}

/** Indexes of the pacer's shared Int32 cells. */
export const PACER_CELLS = {
  /** Bumped by the pacer each time operations fall due (the worker waits on it). */
  tick: 0,
  /** Set to 1 by the worker to stop the pacer. */
  stop: 1,
  /** Set to 1 by the worker once startHi/startLo hold the run's start instant. */
  started: 2,
  startHi: 3,
  startLo: 4,
  count: 5,
} as const;

/** workerData of the pacer thread (src/load/pacer.ts). */
export interface PacerInit {
  /** SharedArrayBuffer of PACER_CELLS.count Int32 cells. */
  readonly buffer: SharedArrayBuffer;
  readonly opsPerSecond: number;
  readonly scheduleOffsetNs: number;
  /** End of the schedule, ns after start. */
  readonly endNs: number;
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
  /** The lag split by cause (see src/schedule/pacing.ts): the harness's lateness and the wait for a free connection. */
  readonly timerLag: string;
  readonly connectionWait: string;
  /**
   * Operations due while no connection was up, dropped and counted: for each, a lower bound of
   * the response it would have had (its due time → when a connection was back, µs). Absent when none.
   */
  readonly censored?: string;
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
  /** This worker's outages that ended in the interval or are still open (src/metrics/availability.ts). Absent: none. */
  readonly outages?: readonly OutageSpan[];
  /** Time within the interval this worker's pool could not serve, ms. */
  readonly unavailableMs?: number;
  /** Per Citus node (with a placement): operations served and failed, and the node's outages. */
  readonly nodes?: readonly NodeInterval[];
}

export type WorkerToMain =
  | { readonly type: 'ready' }
  | IntervalSnapshot
  | {
    readonly type: 'done';
    readonly unfinished: number;
    readonly measureLoopDelayP99Us: number;
    /** p50 of the same (monitorEventLoopDelay: the time between its 10 ms timer's callbacks), µs. */
    readonly measureLoopDelayP50Us: number;
    /** When the worker sent its first operation, ns after the schedule's origin; null if it sent none. */
    readonly firstSentNs: number | null;
  }
  | { readonly type: 'fatal'; readonly message: string; readonly sqlstate?: string };

export type MainToWorker =
  | { readonly type: 'start'; readonly startNs: string }
  | { readonly type: 'stop' };
