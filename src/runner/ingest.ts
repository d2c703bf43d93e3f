/**
 * The ingest run: a session with one measure step (setup → warm-up → measure →
 * count → summary). Emits events and returns a RunRecord; never prints and
 * never writes files. See session.ts for the session, its steps and observers.
 */
import type { RunConfig } from '../config/types.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import type { RunRecord, ServerInfo } from '../results/run-record.js';
import type { RunObserver } from './observer.js';
import { RunSession } from './session.js';
import { standardStepObservers } from './step-observers.js';
import type { ProgressEvent } from '../schedule/progress.js';

export interface IngestEvents {
  /** A completed interval (progress line material). */
  onInterval?(row: IntervalRow): void;
  /** Something the user should read (schema created, outage noticed…). */
  onNotice?(line: string): void;
  /** Connected and the schema is in place: the load is about to start. */
  onReady?(server: ServerInfo): void;
  /** A long phase's progress (see SessionEvents.onProgress). */
  onProgress?(event: ProgressEvent): void;
}

export interface IngestOptions {
  readonly config: RunConfig;
  /** URL to connect with (may hold a password: never put it in the record unmasked). */
  readonly url: string;
  readonly targetKind: 'embedded' | 'url';
  readonly runId: string;
  readonly events?: IngestEvents;
  /** More observers of the step (telemetry, streamed results…), after rtbench's standard ones (dashboard, expiry, scale). */
  readonly observers?: readonly RunObserver[];
  /** Aborting stops the load early; the run still completes and is marked interrupted. */
  readonly signal?: AbortSignal;
}

/** One run: a session with a single step. */
export async function runIngest(opts: IngestOptions): Promise<RunRecord> {
  const session = await RunSession.open({
    config: opts.config,
    url: opts.url,
    targetKind: opts.targetKind,
    events: { onNotice: opts.events?.onNotice, onReady: opts.events?.onReady, onProgress: opts.events?.onProgress },
  });
  const onInterval = opts.events?.onInterval;
  const progress: RunObserver = { name: 'events', interval: (row) => onInterval?.(row) };
  try {
    return await session.step(
      { runId: opts.runId },
      { observers: [...standardStepObservers(session.dashboard, opts.config), progress, ...(opts.observers ?? [])], ...(opts.signal ? { signal: opts.signal } : {}) },
    );
  } finally {
    await session.close();
  }
}
