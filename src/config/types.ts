/**
 * The validated configuration of one run. Everything downstream takes a
 * RunConfig; only src/config/validate.ts builds one from untrusted input.
 */

export type InsertMode = 'single' | 'multi' | 'copy';
export type StatementForm = 'tutorial-sql' | 'params';

/** The tutorial's data distributions; scenario parameters with the tutorial's values as defaults. */
export interface WorkloadShape {
  /** site_id is uniform in [0, sites). */
  readonly sites: number;
  /** request_country is uniform over this list. */
  readonly countries: readonly string[];
  /** status_code is uniform over this list. */
  readonly statusCodes: readonly number[];
}

export type RollupChoice = 'none' | 'tutorial' | 'closed-minute' | 'incremental';
export type RollupSchedulerChoice = 'auto' | 'cron' | 'harness';

/** Rollups, probes and the audit (the dashboard side of a run). */
export interface DashboardConfig {
  /** Rollup strategy; 'none' runs ingest only. */
  readonly rollup: RollupChoice;
  /** Rollup period in minutes. */
  readonly granularityMin: 1 | 5 | 15 | 60;
  readonly rollupIntervalMs: number;
  /** 'auto': pg_cron when installed, else the harness's own timer. */
  readonly rollupScheduler: RollupSchedulerChoice;
  /** Seconds a closed period waits for late commits (closed-minute). */
  readonly graceS: number;
  /** History to backfill before the load (0: none) and the span it covers. */
  readonly preloadRows: number;
  readonly preloadSpanMs: number;
  /** Run the dashboard probes during the measure phase (default: when a rollup runs). */
  readonly probes: boolean;
  /** Concurrent dashboard viewers during the measure phase, one connection each (0: no dashboard load). */
  readonly viewers: number;
  /** Each viewer's refresh period (open loop: refresh k is due at start + offset + k·refresh). */
  readonly refreshMs: number;
  /** A probe cell (probe × window) with fewer samples is insufficient: no ratio is built on it. */
  readonly minSamples: number;
  /** Time each probe with no load first (tinybench), for the under-load / idle ratio. */
  readonly idleBaseline: boolean;
  /** Run the tutorial's DELETE-based expiry after the audit (the old boolean `--expire`). */
  readonly expire: boolean;
  /** Preload: connections inserting chunks in parallel. */
  readonly preloadConnections: number;
  /** Expiry on a schedule during the measure phase (`--expire delete|drop-partitions`); null: none. */
  readonly expiry: ExpiryScheduleConfig | null;
  /** Measure each probe serial vs parallel (Citus: one connection per worker vs full parallelism). */
  readonly parallel: boolean;
}

/** `--partition`: http_request range-partitioned on ingest_time by hour or day, or not at all (the tutorial). */
export type PartitionChoice = 'none' | 'hour' | 'day';

/** How expiry removes old raw rows: the tutorial's DELETE, or dropping whole time partitions. */
export type ExpiryMethod = 'delete' | 'drop-partitions';

/** Expiry during the measure phase. */
export interface ExpiryScheduleConfig {
  readonly method: ExpiryMethod;
  /** Raw rows older than this are removed (`--retention`, default 1 day as in the tutorial). */
  readonly retentionMs: number;
  /** Rollup rows older than this are deleted (`--rollup-retention`, default 30 days: the tutorial's month). */
  readonly rollupRetentionMs: number;
  /** Time between expiries (`--expire-every`); the first runs this long after the measure phase starts. */
  readonly everyMs: number;
}

export interface RunConfig {
  /** `--partition none|hour|day`: the raw table's time partitioning (default none). */
  readonly partition: PartitionChoice;
  /** Rollups, probes, audit. */
  readonly dashboard: DashboardConfig;
  /** Scenario name (from the file, or "adhoc"). */
  readonly name: string;
  /** Target URL; undefined means the embedded throwaway cluster. */
  readonly url: string | undefined;
  /** Load threads (worker_threads). */
  readonly workers: number;
  /** pg connections per worker. */
  readonly connections: number;
  /** Statements in flight per connection (pg's pipeline mode above 1); 1 = one round trip at a time. */
  readonly pipeline: number;
  /** Total target rate in rows/s, or 'max' for a closed loop. */
  readonly rateHz: number | 'max';
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly mode: InsertMode;
  /** Rows per operation (1 in single mode). */
  readonly batch: number;
  readonly statement: StatementForm;
  readonly seed: number;
  readonly workload: WorkloadShape;
  /** An operation sent more than this after its due time counts as late. */
  readonly lateThresholdMs: number;
  /** The server sampler's pg_stat_activity period, ms (src/telemetry); 0 turns the sampler off. */
  readonly sampleIntervalMs: number;
  /** Drop and recreate the tutorial tables when their shape differs (or always, to start clean). */
  readonly reset: boolean;
  /** Leave the embedded cluster running at the end. */
  readonly keep: boolean;
  /** Parent directory for results/<run-id>/. */
  readonly resultsDir: string;
  /** Seconds between progress lines; 0 turns them off. */
  readonly progressS: number;
  /** Citus: shards per distributed table; null = the server's citus.shard_count. */
  readonly shardCount: number | null;
  /**
   * One of several load generators (1-based index of count): a disjoint slice of sites, 1/count of the rate.
   * `group` names the launch the instances meet in (required when count > 1).
   */
  readonly instance: InstanceConfig | null;
  /** How long an instance waits for the rest of its group to register before giving up. */
  readonly rendezvousTimeoutMs: number;
}

/** `--instance index/count --group group`. */
export interface InstanceConfig {
  readonly index: number;
  readonly count: number;
  readonly group: string | null;
}

export const TUTORIAL_WORKLOAD: WorkloadShape = {
  sites: 32,
  countries: ['China', 'India', 'USA', 'Indonesia'],
  statusCodes: [200, 404],
};

/** The sites a run writes: [offset, offset + count). With --instance i/N, slice i of N. */
export function siteSlice(config: Pick<RunConfig, 'instance' | 'workload'>): { offset: number; count: number } {
  const sites = config.workload.sites;
  if (!config.instance) return { offset: 0, count: sites };
  const { index, count } = config.instance;
  const from = Math.floor(((index - 1) * sites) / count);
  const to = Math.floor((index * sites) / count);
  return { offset: from, count: to - from };
}
