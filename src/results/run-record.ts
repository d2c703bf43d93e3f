/**
 * The versioned record of one run: what results/<run-id>/ holds. Built by the
 * runner, written by src/results/write.ts, read back by later tools.
 *
 * This module is the one home of the run record's types (run.json, summary.json:
 * ingest, dashboard, probes, parallel, server and Citus info). The modules that
 * produce these sections import their shapes from here; this module imports
 * only metrics types, so it never closes an import cycle.
 */
import type { AvailabilitySummary } from '../metrics/availability.js';
import type { NodeFiguresOfLoad } from '../metrics/node-load.js';
import type { PartSurvival } from '../metrics/part-survival.js';
import type { LatencySummary, Histogram } from '../metrics/histogram.js';
import type { IntervalRow, Kind } from '../metrics/aggregate.js';

export const RESULT_FORMAT_VERSION = 1;

export interface ServerInfo {
  readonly version: string;
  readonly versionNum: number;
  /** Installed extensions in the target database: name -> version. */
  readonly extensions: Record<string, string>;
  /** Extensions available to CREATE EXTENSION (hll, pg_cron, citus). */
  readonly available: Record<string, boolean>;
  /** Settings whose source is not 'default' (name -> value with unit). */
  readonly nonDefaultSettings: Record<string, string>;
}

/** What citusInfo reports (run.json `citus`). */
export interface CitusInfo {
  /** Citus release, e.g. "13.2.2" (the extension version, e.g. "13.2-1", when the release is unknown). */
  version: string;
  workerCount: number;
  /** Shards of each table (colocated tables have equally many). */
  shardCount: number;
  /** Shard placements per node (`name:port`) of one table; colocated tables are placed alike. */
  shardsPerNode: Record<string, number>;
  colocationId: number;
  tables: Record<string, { shardCount: number; colocationId: number }>;
  /** Nodes (`name:port`, or `coordinator`) where the hll extension is not created. */
  hllMissingOn: string[];
}

/**
 * run.json `instance` of a `--instance i/N --group G` run. Times are in the
 * database's clock (ms since the epoch): the one clock all instances share.
 */
export interface InstanceRecord {
  readonly index: number;
  readonly count: number;
  readonly group: string;
  /** The common start, ms since the epoch: equal in every instance of one launch. */
  readonly startEpochMs: number;
  /** Database clock minus this host's clock, ms (from the smallest of several round trips). */
  readonly clockOffsetMs: number;
  /** Round trip of that measurement, ms: the offset is known to within half of it. */
  readonly clockRoundTripMs: number;
  /** When this instance registered. */
  readonly registeredAtEpochMs: number;
  /** This instance told its workers to start this long after the common start, ms (0 when it was ready in time). */
  readonly lateStartMs: number;
  /** Its first operation was sent this long after the common start, ms: when its schedule really began (null if none was sent). */
  readonly firstSentMs: number | null;
}

/**
 * A run dir's state (run.json `status`; absent in runs of older rtbench, which wrote dirs whole):
 * `running` while results stream in; `finished` or `interrupted` (Ctrl-C) once every final file is
 * written; `recovered` when `rtbench recover` rebuilt them from the streamed intervals.
 */
export type RunStatus = 'running' | 'finished' | 'interrupted' | 'recovered';

/** run.json `owner`: the process streaming into the dir. */
export interface RunOwner {
  readonly pid: number;
  readonly host: string;
}

/** run.json `recovery`: what `rtbench recover` needs that the streamed intervals do not hold. */
export interface RunRecoveryInfo {
  /** Rows of this run's sites in http_request when its load started; null for a later step of a session (not counted then). */
  readonly rowsAtStart: number | null;
  /** The sites it writes: [offset, offset + count). */
  readonly sites: { readonly offset: number; readonly count: number };
  /** Interval length, ms. */
  readonly intervalMs: number;
  /** Intervals the schedule has, warm-up and measure. */
  readonly plannedIntervals: number;
  /** Durable bound: streamed files are fsynced at least this often, ms. */
  readonly syncEveryMs: number;
}

/** run.json `recovered`: what `rtbench recover` did. */
export interface RunRecovered {
  readonly at: string;
  readonly reason: string;
  /** Intervals recovered / planned. */
  readonly intervals: number;
  readonly plannedIntervals: number;
  /** Measure-phase seconds covered / planned. */
  readonly measureS: number;
  readonly plannedMeasureS: number;
}

/** run.json: everything needed to reproduce the run. */
export interface RunInfo {
  readonly status?: RunStatus;
  readonly owner?: RunOwner;
  readonly recovery?: RunRecoveryInfo;
  readonly recovered?: RunRecovered;
  readonly formatVersion: number;
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The resolved RunConfig, with the URL masked. */
  readonly config: Record<string, unknown>;
  readonly seed: number;
  readonly target: { readonly kind: 'embedded' | 'url'; readonly url: string };
  readonly gitRevision: string | null;
  /** Git branch of rtbench's checkout; null when detached (CI checkouts of a pull request) or unknown. Absent in older runs. */
  readonly gitBranch?: string | null;
  readonly versions: { readonly rtbench: string; readonly node: string; readonly pg: string; readonly hdrHistogramJs: string };
  readonly server: ServerInfo;
  /** Citus targets: version, workers, shards, colocation. */
  readonly citus?: CitusInfo;
  /** Several load generators: which one this was and when its group started. */
  readonly instance?: InstanceRecord;
  readonly machine: { readonly hostname: string; readonly platform: string; readonly release: string; readonly arch: string; readonly cpus: number; readonly cpuModel: string; readonly memoryBytes: number };
}

export interface IngestSummary {
  readonly targetRateHz: number | null;
  readonly achievedRateHz: number;
  /** Rows the server acknowledged, warm-up and measure together (compare with rowsInTable). */
  readonly acked: number;
  /** Rows acknowledged during the measure phase. */
  readonly ackedMeasure: number;
  /** Rows the table gained during the run, counted afterwards; null if it could not be counted. */
  readonly rowsInTable: number | null;
  readonly operations: number;
  readonly late: number;
  readonly dropped: number;
  readonly unfinished: number;
  readonly errorsBySqlstate: Record<string, number>;
  readonly errors: number;
  readonly reconnects: number;
  readonly response: LatencySummary;
  readonly service: LatencySummary;
  readonly lag: LatencySummary;
  /** The lag split by cause: the harness's own timer lateness (absent in runs of older rtbench). */
  readonly timerLag?: LatencySummary;
  /** The lag split by cause: waiting for a free connection, every one busy (the server's backpressure). */
  readonly connectionWait?: LatencySummary;
  /** Statements in flight per connection (absent in runs of older rtbench: 1). */
  readonly pipeline?: number;
  readonly warmup: { readonly rows: number; readonly errors: number; readonly response: LatencySummary };
  /**
   * Measure-phase operations never sent because no connection was up: each response is only
   * known to be at least its wait (µs), so they are counted here, beside the percentiles, not
   * in them. Absent in runs of older rtbench.
   */
  readonly censored?: { readonly count: number; readonly atLeastMinUs: number; readonly atLeastP50Us: number; readonly atLeastMaxUs: number };
  /**
   * On Citus (client-generated rows): operations, errors and outages per node, attributed by
   * the shard placement of each row's site_id (src/metrics/node-load.ts). Absent elsewhere.
   */
  readonly byNode?: readonly NodeFiguresOfLoad[];
}

export interface ClientSummary {
  /** Client process CPU during the measure phase, µs per acknowledged row. */
  readonly cpuUsPerRow: number | null;
  readonly cpuCoresMean: number;
  readonly maxWorkerEluMean: number;
  readonly loopDelayP99MaxUs: number;
  /** The highest worker's p50 event-loop delay over the measure phase, µs (runs since issue 23). */
  readonly loopDelayP50MaxUs?: number;
  readonly rssStartBytes: number;
  readonly rssEndBytes: number;
}

/** Bytes; on PostgreSQL `pg_total_relation_size` (indexes and TOAST included), on a Citus coordinator the distributed tables' shards. */
export interface TableSizes {
  readonly rawTableBytes: number;
  /** null when the rollup table does not exist. */
  readonly rollupTableBytes: number | null;
  /** sum(pg_column_size(distinct_ip_addresses)); null when the table has no such column. */
  readonly hllColumnBytes: number | null;
}

/** A 95% bootstrap interval [low, high]. */
export type Ci95 = readonly [number, number];

/**
 * One probe on one window (a cell). p50/p99 are service times (send → result)
 * of the viewers' executions; `count` of them succeeded. `insufficient`: fewer
 * than `minSamples`, so no ratio is built on it. `loadOverIdle` = p50 under
 * load / idle p50, null when either side is insufficient.
 */
/** Percentiles of one probe cell, µs; `count` successful executions. */
export interface ProbeLatency {
  readonly p50Us: number;
  readonly p95Us?: number;
  readonly p99Us: number;
  readonly count: number;
}

export interface ProbeWindowFigures {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly count: number;
  readonly errors: number;
  readonly insufficient: boolean;
  /** Response time from the refresh's due time (waiting behind earlier panels included). */
  readonly responseP50Us?: number;
  readonly responseP99Us?: number;
  /** Lag: the refresh's due time → this panel's send (the panels before it and a late start). */
  readonly lagP99Us?: number;
  /** Service (send → result) percentiles with p95, grouped (`probes.<probe>.<window>.service.p95`). */
  readonly service?: ProbeLatency;
  /** Response (refresh due time → result) percentiles with p95: what a viewer waits; the figure a panel SLO is on. */
  readonly response?: ProbeLatency;
  readonly idleP50Us?: number;
  /** Idle baseline executions behind idleP50Us. */
  readonly idleCount?: number;
  readonly idleInsufficient?: boolean;
  readonly loadOverIdle?: number | null;
  readonly loadOverIdleCi95?: Ci95 | null;
}

/** Window label → value; null when a cell behind it is insufficient (the reason is in `notes`); absent when not computable. */
export type ByWindow = Record<string, number | null>;
/** Window label → 95% bootstrap interval of the ratio of the same name; null beside a null ratio. */
export type CiByWindow = Record<string, Ci95 | null>;

/** The dashboard viewers' refreshes (the load the probe cells were measured under). */
export interface ViewerLoad {
  readonly viewers: number;
  readonly refreshMs: number;
  /** Refreshes the schedule had due between start and stop. */
  readonly due: number;
  /** Refreshes started (finished + unfinished). */
  readonly started: number;
  /** Started more than the late threshold after their due time (the previous refresh was still running). */
  readonly late: number;
  /** Stopped before their last panel. */
  readonly unfinished: number;
  /** Refreshes that found no connection and ran no panel (the reconnect failed). */
  readonly withoutConnection: number;
  /** Refresh response: due time → last panel's result, finished refreshes. */
  readonly response: LatencySummary;
  /** Due time → start of the refresh. */
  readonly lag: LatencySummary;
}

/** The `probes` section of summary.json. */
export interface ProbeFigures {
  readonly windows: readonly string[];
  readonly granularity: string;
  readonly byProbe: Record<string, Record<string, ProbeWindowFigures>>;
  /** raw-minutes p50 / rollup-minutes p50. */
  readonly rollupSpeedup?: ByWindow;
  /** country-raw p50 / country-rollup p50. */
  readonly countrySpeedup?: ByWindow;
  /** distinct-exact p50 / distinct-hll p50. */
  readonly hllSpeedup?: ByWindow;
  /** (hll - exact) / exact, same closed periods, same snapshot. */
  readonly hllRelativeError?: Record<string, number>;
  /** Every raw/rollup pair, keyed '<raw probe>/<rollup probe>' (when probe definitions were given). */
  readonly speedups?: Record<string, ByWindow>;
  /** 95% bootstrap intervals beside each ratio (resampled from the executions behind both p50s). */
  readonly rollupSpeedupCi95?: CiByWindow;
  readonly countrySpeedupCi95?: CiByWindow;
  readonly hllSpeedupCi95?: CiByWindow;
  readonly speedupsCi95?: Record<string, CiByWindow>;
  readonly sizes?: TableSizes;
  readonly skipped: readonly string[];
  /** A cell with fewer samples is insufficient (--min-samples). */
  readonly minSamples: number;
  /** Why a ratio is null (an insufficient cell behind it). */
  readonly notes: readonly string[];
  /** The viewer load the cells were measured under. */
  readonly viewers?: ViewerLoad;
  /** Tenant panels (one site per refresh, site_id = $2). */
  readonly tenantPanels?: readonly string[];
  /** Citus: how each probe is executed, from EXPLAIN's task count: 'router' (one shard) or 'multi-shard'. */
  readonly routing?: Record<string, 'router' | 'multi-shard'>;
}

export type ParallelTargetKind = 'postgres' | 'citus';

/** One probe × window: both settings' latencies (µs) and their ratio. */
export interface ParallelProbeFigure {
  readonly probe: string;
  readonly window: string;
  readonly serialP50Us: number;
  readonly parallelP50Us: number;
  readonly serialP99Us: number;
  readonly parallelP99Us: number;
  /** serial p50 / parallel p50; null when a side is insufficient; absent when the parallel p50 is 0 µs (no ratio, never NaN or Infinity). */
  readonly speedup?: number | null;
  readonly speedupCi95?: Ci95 | null;
  /** Measured executions per side. */
  readonly serialCount: number;
  readonly parallelCount: number;
  /** Either side has fewer than minSamples executions. */
  readonly insufficient: boolean;
  /** PostgreSQL: most workers any Gather of the plan launched, per setting (EXPLAIN ANALYZE, once). */
  readonly serialWorkersLaunched?: number;
  readonly parallelWorkersLaunched?: number;
  /** Citus: shard count of the table the probe reads (http_request, or the rollup table). */
  readonly shards?: number;
}

/** The `parallel` section of summary.json (one comparison). */
export interface ParallelResult {
  readonly kind: ParallelTargetKind;
  /** The settings compared, as applied, e.g. 'max_parallel_workers_per_gather = 0'. */
  readonly serialSetting: string;
  readonly parallelSetting: string;
  /** Citus: shard count of http_request (per-probe counts are on each figure); PostgreSQL: null. */
  readonly shards: number | null;
  /** Citus: active worker nodes; PostgreSQL: the default max_parallel_workers_per_gather. */
  readonly workers: number;
  /** One figure per probe × window that has samples on both sides, window-major in run order. */
  readonly byProbe: readonly ParallelProbeFigure[];
  /** `skipped: probe <name> (<why>)` lines. */
  readonly skipped: readonly string[];
  /** Probe × window tasks that failed (their figure is absent): `probe <name> @ <window>: <message> (SQLSTATE x)`. */
  readonly errors: readonly string[];
}

/** The `preload` section: history rows inserted before the run. */
export interface PreloadResult {
  readonly rows: number;
  readonly ms: number;
  readonly rowsPerS: number;
  /** Connections that inserted chunks in parallel. */
  readonly connections?: number;
  readonly chunkRows?: number;
  /** This host's busy CPU over the preload, in cores (the server's too when it runs here, e.g. the embedded cluster). */
  readonly hostCpuCores?: number;
  /** The same as a share of all of this host's CPUs, 0–100. */
  readonly hostCpuBusyPct?: number;
  readonly hostCpus?: number;
}

/** One period's raw and rollup counts. */
export interface PeriodComparison {
  readonly periodStart: Date;
  readonly rawCount: number;
  readonly rollupCount: number;
}

/** The rollup audit: raw count(*) against the rollup's sum(request_count), per closed period. */
export interface AuditResult {
  /** Every period with rows on either side, in time order. */
  readonly periods: readonly PeriodComparison[];
  /** Σ max(0, raw − rollup): events never aggregated. */
  readonly lostEvents: number;
  /** Σ max(0, rollup − raw): events aggregated more than once. */
  readonly duplicatedEvents: number;
  readonly periodsChecked: number;
}

/** The `expiry` section. */
export interface ExpiryResult {
  readonly rawRowsRemoved: number;
  readonly rollupRowsRemoved: number;
  /** Time of the two DELETEs (one transaction), installing the function excluded. */
  readonly ms: number;
}

/** summary.json sections the dashboard adds. */
export interface DashboardSummary {
  readonly rollup: {
    readonly strategy: string;
    readonly granularity: string;
    readonly table: string;
    readonly hll: boolean;
    readonly scheduler: string;
    readonly intervalMs: number;
    readonly runs: number;
    readonly overruns: number;
    readonly historyRollupMs: number | null;
    readonly duration: LatencySummary;
    readonly errorsBySqlstate: Record<string, number>;
  };
  readonly preload: PreloadResult | null;
  readonly freshness: LatencySummary & {
    readonly markersInserted: number;
    readonly markersSeen: number;
    readonly markersUnseen: number;
    readonly overCounted: number;
    readonly errorsBySqlstate: Record<string, number>;
    /** When a marker was last seen for the first time, ms after the schedule origin; null: none. Absent in runs of older rtbench. */
    readonly lastSeenMs?: number | null;
    /** Each reading: [epoch ms, µs, 1 if censored (never seen; its age at the step's end) else 0]. Absent in runs of older rtbench. */
    readonly timeline?: ReadonlyArray<readonly [number, number, 0 | 1]>;
  };
  readonly audit: AuditResult & { readonly from: string; readonly to: string | null };
  /**
   * How each part fared when the server went away (src/metrics/part-survival.ts): the rollup
   * driver's runs, the freshness markers and polls, the viewers' panels. Absent in runs of older rtbench.
   */
  readonly survival?: { readonly rollup?: PartSurvival; readonly freshness?: PartSurvival; readonly viewers?: PartSurvival };
  readonly probes: ProbeFigures | null;
  /**
   * Serial vs parallel per probe, no load running. On Citus `asSpecified` is one
   * connection per worker vs citus.force_max_query_parallelization; `warmConnections`
   * the same with connections cached (citus.max_cached_conns_per_worker), since
   * otherwise the parallel side mostly pays for opening connections.
   */
  readonly parallel: { readonly asSpecified: ParallelResult; readonly warmConnections?: ParallelResult } | null;
  readonly expiry: ExpiryResult | null;
}

// ---- server telemetry (summary.json `server`), made by src/telemetry/ ----

/**
 * Roles of the sessions on the server, by application_name: `ingest` (rtbench-w*),
 * `rollup` (rtbench-rollup, pg_cron's job sessions), `viewers` (rtbench-probe*),
 * `freshness` (rtbench-freshness), `harness` (rtbench's other sessions: setup, audit),
 * `autovacuum` (autovacuum workers), `other` (client backends that are not rtbench's).
 */
export type ServerRole = 'ingest' | 'rollup' | 'viewers' | 'freshness' | 'harness' | 'autovacuum' | 'other';

/** Active-session samples of one role over the measure phase. */
export interface RoleWaits {
  /** Samples of pg_stat_activity taken (the same for every role). */
  readonly samples: number;
  /** Mean number of this role's active sessions per sample (average active sessions). */
  readonly avgActiveSessions: number;
  /** Share (0..1) of this role's active-session samples per `wait_event_type:wait_event` ('CPU' when none). */
  readonly shares: Record<string, number>;
}

/** One statement of pg_stat_statements, measure phase (after minus before). */
export interface StatementFigures {
  readonly queryId: string;
  /** Normalised text without its `--` comment lines, cut to 300 characters. */
  readonly query: string;
  /** Who ran it: from the sampler's pg_stat_activity samples (query_id → application_name), else by its text; `mixed` when several. */
  readonly role: ServerRole | 'mixed' | 'unknown';
  /** How the role was found. */
  readonly roleBy: 'samples' | 'text' | 'none';
  readonly calls: number;
  readonly totalTimeMs: number;
  readonly meanTimeMs: number | null;
  readonly rows: number;
  readonly sharedBlksHit: number;
  readonly sharedBlksRead: number;
  readonly walBytes: number;
}

/** Server counters over the measure phase per ingested row (null when no row was ingested). */
export interface ServerPerRow {
  /** WAL position moved (pg_wal_lsn_diff) over the measure phase / rows ingested in it. The whole server's WAL. */
  readonly walBytes: number | null;
  /** The same from pg_stat_wal.wal_bytes (flushed by backends at most once a second, so a little behind). */
  readonly statWalBytes: number | null;
  readonly walRecords: number | null;
  /** Full-page images (pg_stat_wal.wal_fpi) per row. */
  readonly fpi: number | null;
  /** Buffers written by checkpoints, the bgwriter and backends (pg_stat_bgwriter) per row. */
  readonly buffersWritten: number | null;
  /** Shared blocks hit + read in the database (pg_stat_database) per row. */
  readonly blocksTouched: number | null;
}

/** pg_stat_user_tables of one rtbench table over the measure phase. */
export interface TableActivity {
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly deadTuplesEnd: number;
  readonly autovacuumRuns: number;
  readonly autoanalyzeRuns: number;
}

/** Server-wide counters over the measure phase. */
export interface ServerCounters {
  readonly measureMs: number;
  readonly rowsIngested: number;
  /** WAL position moved; on Citus the sum over the coordinator and the workers (the other counters are the coordinator's). */
  readonly walBytes: number;
  readonly walMbPerS: number;
  readonly statWalBytes: number | null;
  readonly walRecords: number | null;
  readonly walFpi: number | null;
  readonly checkpointsTimed: number | null;
  readonly checkpointsRequested: number | null;
  readonly buffersWritten: number | null;
  readonly commits: number | null;
  readonly rollbacks: number | null;
  readonly blksHit: number | null;
  readonly blksRead: number | null;
  readonly tempBytes: number | null;
}

/** The shape of one panel's plan (EXPLAIN ANALYZE, BUFFERS, FORMAT JSON) after the measure phase. */
export interface PlanShape {
  readonly probe: string;
  readonly window: string;
  /** File of the full plan in the run dir: plans/<probe>-<window>.json. */
  readonly file: string;
  /** e.g. 'Aggregate' or 'Custom Scan (Citus Adaptive)'. */
  readonly topNode: string;
  /** Scan nodes used with their relations, e.g. ['Index Scan on http_request_1min']. */
  readonly scans: readonly string[];
  readonly rows: number;
  readonly sharedHit: number;
  readonly sharedRead: number;
  readonly executionMs: number;
  /** Citus: tasks the distributed plan ran, and whether it was a router (one shard) plan. */
  readonly citusTasks?: number;
  readonly citusRouter?: boolean;
}

/** One node of a Citus cluster (or the single server). */
export interface NodeFigures {
  /** 'coordinator' or `host:port`. */
  readonly node: string;
  readonly walBytes: number | null;
  readonly rowsInRaw: number | null;
  readonly rawBytes: number | null;
  readonly waits?: Partial<Record<ServerRole, RoleWaits>>;
  readonly error?: string;
}

/** The server's and client's CPU when the server runs on this host. */
export interface MachineFigures {
  /** Mean cores used by the server's processes (the postmaster's children) over the measure phase. */
  readonly serverCores: number | null;
  /** Mean cores of the whole client process. */
  readonly clientCores: number | null;
  /** Mean /proc/pressure/cpu `some` share (0..1) over the measure phase: time runnable tasks waited for a CPU. */
  readonly cpuPressure: number | null;
  readonly cpuPressureMax: number | null;
  /** Mean cores of the client's main thread: viewers, rollup driver, sampler, progress (not the load workers). */
  readonly clientMainCores: number | null;
  /** The load threads' CPU (the client less its main thread: load workers and V8's helper threads) per ingested row, µs. */
  readonly loadThreadsCpuUsPerRow: number | null;
  /** Mean cores of the sampler's own backend on the server. */
  readonly samplerServerCores: number | null;
  /** Seconds of readings behind these means. */
  readonly seconds: number;
}

/** summary.json `server`: what the server did during the measure phase. */
export interface ServerSummary {
  /** ms between pg_stat_activity samples (0: waits not sampled). */
  readonly sampleIntervalMs: number;
  /** Samples skipped because the previous one had not returned. */
  readonly samplesSkipped: number;
  readonly waits: Partial<Record<ServerRole, RoleWaits>>;
  readonly statements: readonly StatementFigures[] | null;
  readonly perRow: ServerPerRow;
  readonly counters: ServerCounters | null;
  readonly tables: Record<string, TableActivity>;
  /** WAL per rollup run: the rollup role's statements' wal_bytes / calls of its rollup function (pg_stat_statements); null without them. */
  readonly rollupWalBytesPerRun: number | null;
  readonly plans: readonly PlanShape[];
  /** Citus: per node (worker waits sampled once a second through the coordinator) and their totals. */
  readonly nodes?: readonly NodeFigures[];
  readonly nodesTotal?: { readonly walBytes: number | null; readonly rowsInRaw: number | null; readonly rawBytes: number | null };
  readonly machine?: MachineFigures;
  /** Views the server refused or lacks, one line each. */
  readonly unavailable: readonly string[];
}

/** summary.json */
export interface Summary extends Partial<Omit<DashboardSummary, 'audit'>> {
  /** Rollup audit (closed periods), plus acknowledged inserts vs rows present. */
  readonly audit?: DashboardSummary['audit'] & { readonly acked: number; readonly rowsInTable: number | null };
  readonly formatVersion: number;
  readonly runId: string;
  readonly valid: boolean;
  readonly invalidReasons: string[];
  /** Notes a reader should see (database errors, outages, interruptions). */
  readonly notes: string[];
  readonly durationMs: number;
  readonly ingest: IngestSummary;
  readonly client: ClientSummary;
  /** What the server did (the telemetry sampler), when it ran. */
  readonly server?: ServerSummary;
  /**
   * When the target could not serve: its outages (ms after the schedule origin, like
   * IntervalRow.startMs; causes "57P01 admin_shutdown"), the unavailable total, the recovery
   * time and failures by SQLSTATE over time. Absent when the step saw no failure.
   */
  readonly availability?: AvailabilitySummary;
}

/** Everything the writer needs for one run directory. */
export interface RunRecord {
  readonly run: RunInfo;
  readonly summary: Summary;
  /** Histograms to write as <name>.hgrm (measure phase), e.g. ingest-response. */
  readonly histograms: Record<string, Histogram>;
  /** Per-interval rows (time series and the interval log). */
  readonly intervals: readonly IntervalRow[];
  /** Wall-clock start of the schedule, ms since the epoch (interval log base time). */
  readonly startEpochMs: number;
  readonly kinds: readonly Kind[];
  /** Extra files from the step's observers, by path relative to the run dir (`server.csv`, `plans/x.json`). */
  readonly files?: Record<string, string>;
}
