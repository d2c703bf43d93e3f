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

export interface RunConfig {
  /** Scenario name (from the file, or "adhoc"). */
  readonly name: string;
  /** Target URL; undefined means the embedded throwaway cluster. */
  readonly url: string | undefined;
  /** Load threads (worker_threads). */
  readonly workers: number;
  /** pg connections per worker. */
  readonly connections: number;
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
  /** Drop and recreate the tutorial tables when their shape differs (or always, to start clean). */
  readonly reset: boolean;
  /** Leave the embedded cluster running at the end. */
  readonly keep: boolean;
  /** Parent directory for results/<run-id>/. */
  readonly resultsDir: string;
  /** Seconds between progress lines; 0 turns them off. */
  readonly progressS: number;
}

export const TUTORIAL_WORKLOAD: WorkloadShape = {
  sites: 32,
  countries: ['China', 'India', 'USA', 'Indonesia'],
  statusCodes: [200, 404],
};
