/**
 * The versioned record of one run: what results/<run-id>/ holds. Built by the
 * runner, written by src/results/write.ts, read back by later tools.
 */
import type { LatencySummary, Histogram } from '../metrics/histogram.js';
import type { IntervalRow, Kind } from '../metrics/aggregate.js';
import type { DashboardSummary } from '../runner/dashboard.js';
import type { CitusInfo } from '../targets/citus.js';

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

/** run.json: everything needed to reproduce the run. */
export interface RunInfo {
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
  readonly warmup: { readonly rows: number; readonly errors: number; readonly response: LatencySummary };
}

export interface ClientSummary {
  /** Client process CPU during the measure phase, µs per acknowledged row. */
  readonly cpuUsPerRow: number | null;
  readonly cpuCoresMean: number;
  readonly maxWorkerEluMean: number;
  readonly loopDelayP99MaxUs: number;
  readonly rssStartBytes: number;
  readonly rssEndBytes: number;
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
}
