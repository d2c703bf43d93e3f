/**
 * Observers of a run's timeline (k6's outputs, Rally's telemetry devices): a
 * session runs one or more measure steps, and each observer is told of the
 * step's phase boundaries and of every completed interval, and may add to the
 * step's summary, histograms, notes and files when the step ends. The runner
 * knows no observer by name and constructs none: callers register them per
 * step (`standardStepObservers` gives rtbench's own: the dashboard, expiry,
 * scale); progress lines, the result writer, the server sampler and the
 * streamed results are observers too.
 */
import type { RunConfig } from '../config/types.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import type { Histogram } from '../metrics/histogram.js';
import type { CitusInfo, DashboardSummary, RunRecord, ServerInfo } from '../results/run-record.js';

/** What every observer may know of the session (set up once for all steps). */
export interface SessionInfo {
  /** The session's resolved config (a step may override rate, duration and warm-up). */
  readonly config: RunConfig;
  /** URL to connect with. It may hold a password: never print or record it unmasked. */
  readonly url: string;
  readonly targetKind: 'embedded' | 'url';
  readonly server: ServerInfo;
  /** Set when the target is a Citus coordinator. */
  readonly citus?: CitusInfo;
  /** Rows of this instance's sites in http_request when the session was set up. */
  readonly rowsAtSetup: number;
  /** The dashboard's live figures while a step runs (with a rollup): read them only (the live page). */
  readonly live?: LiveDashboard;
}

/** What the dashboard measured so far in the running step. */
export interface LiveDashboard {
  /** The panels' response histograms (`panel-response-<probe>-<window>`), empty before the viewers start. */
  panels(): Record<string, Histogram>;
  /** Freshness readings so far ([epoch ms, µs, censored]) and the oldest unseen marker's age, µs. */
  freshness(): { readonly readings: ReadonlyArray<readonly [number, number, 0 | 1]>; readonly oldestUnseenUs: number | null } | null;
}

/** One measure step: its own warm-up and measure window on the session's set-up. */
export interface StepInfo {
  /** 0-based position of this step in its session. */
  readonly index: number;
  readonly runId: string;
  /** The step's config: the session's with this step's rate, duration and warm-up. */
  readonly config: RunConfig;
  /**
   * A group instance's agreed common start (set from `stepStart` on): the schedule origin in the
   * database clock and in this host's, and the clock offset between them.
   */
  readonly groupStart?: {
    readonly startEpochMs: number;
    readonly localStartEpochMs: number;
    readonly clockOffsetMs: number;
    readonly clockRoundTripMs: number;
    readonly registeredAtEpochMs: number;
  };
}

/**
 * Phases of a step's schedule: `warmup` starts with the schedule, `measure`
 * when the first measure interval begins, `drain` when the schedule ends and
 * in-flight operations finish.
 */
export type StepPhase = 'warmup' | 'measure' | 'drain';

/** What an observer adds to a step's record when the step ends. */
export interface StepContribution {
  /** Merged into summary.json at the top level (e.g. `{ server: … }`). */
  readonly summary?: Record<string, unknown>;
  /** Written as <name>.hgrm beside the ingest histograms. */
  readonly histograms?: Record<string, Histogram>;
  /** Notes a reader should see. */
  readonly notes?: readonly string[];
  /** Reasons the step is invalid (the self-check's are added to these). */
  readonly invalidReasons?: readonly string[];
  /** Extra files of the run dir, by relative path (`server.csv`, `plans/x.json`): written atomically with the rest. */
  readonly files?: Record<string, string>;
  /**
   * Rows of this instance's sites the observer deleted from http_request
   * during the step (expiry): added back to the acked-vs-table count.
   */
  readonly rowsRemoved?: number;
  /** The dashboard's share of the summary (rollup, probes, freshness, audit) and its notes. */
  readonly dashboard?: { readonly summary: DashboardSummary; readonly notes: readonly string[] };
  /** Why the dashboard's share is missing (it failed at the step's end). */
  readonly dashboardFailure?: string;
}

/** Timing of the step's schedule, given to observers when it ends. */
export interface StepTiming {
  /** Wall clock of the schedule origin, ms since the epoch (this host). */
  readonly startEpochMs: number;
  /** Measure window, ms after the origin (as the intervals' startMs/endMs). */
  readonly measureStartMs: number;
  readonly measureEndMs: number;
  readonly interrupted: boolean;
}

/**
 * An observer of a session's steps. Every method is optional. Methods that
 * return a promise are awaited in observer order; an observer that throws in
 * `stepStart` fails the step, in `stepEnd` costs only its own contribution (a
 * note says so).
 */
export interface RunObserver {
  /** Short name, used in notes about this observer's failures. */
  readonly name: string;
  /** Workers are connected and the schedule is about to start. */
  stepStart?(step: StepInfo, session: SessionInfo): Promise<void> | void;
  /** The schedule entered a phase, `atMs` after its origin. */
  phase?(phase: StepPhase, atMs: number, step: StepInfo): void;
  /** A completed interval (1 s by default), in order. */
  interval?(row: IntervalRow, step: StepInfo): void;
  /** The load ended and the rows are about to be counted: finish anything that changes the table (expiry). */
  stepDrained?(step: StepInfo): Promise<void> | void;
  /** The load of the step ended (rows counted): stop sampling, return what to add. */
  stepEnd?(step: StepInfo, timing: StepTiming): Promise<StepContribution | void> | StepContribution | void;
  /** The step's record is complete (the result writer, the capacity table). */
  stepRecord?(record: RunRecord, step: StepInfo): Promise<void> | void;
}
