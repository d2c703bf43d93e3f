/**
 * One run from the CLI's side: progress lines, the record written atomically,
 * and signal handling shared by `run` and `compare-targets`.
 */
import { randomBytes } from 'node:crypto';
import type { RunConfig } from '../config/types.js';
import { EnvironmentError, ExitCode } from '../errors.js';
import { progressLine } from '../report/progress.js';
import type { RunRecord } from '../results/run-record.js';
import { ResultStream } from '../results/stream.js';
import { completeRunDir } from '../results/write.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import type { RunObserver } from '../runner/observer.js';
import { runIngest } from '../runner/ingest.js';
import { serverSamplerFor } from '../telemetry/index.js';
import type { OpenTarget } from './target-session.js';
import { progressPrinter } from '../report/phase-progress.js';
import type { OnProgress } from '../schedule/progress.js';
import { PageEventFile } from '../results/page-events.js';
import type { PageSink } from '../report/page-model.js';
import { LiveObserver, liveProgress, teeSink } from '../ui/live-observer.js';

export type Log = (line: string) => void;

export function newRunId(name: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${name}-${randomBytes(2).toString('hex')}`;
}

/**
 * Signals: the first Ctrl-C during a load stops it (the partial run is still
 * written, marked interrupted); before any load, or a second time, quit at once
 * after closing what was opened. Every exit path closes throwaway clusters.
 */
export class SignalGuard {
  readonly abort = new AbortController();
  loadStarted = false;
  private signals = 0;
  private readonly targets = new Set<OpenTarget>();
  private keep = false;
  private readonly onExit = (): void => {
    if (!this.keep) for (const t of this.targets) t.closeSync();
  };
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.signals++;
    if (this.signals === 1 && this.loadStarted) {
      this.log(`rtbench: ${sig}: stopping the load; results of the partial run will be written (again to quit at once)`);
      this.abort.abort();
      return;
    }
    this.log(`rtbench: ${sig}: quitting${this.loadStarted ? '' : ' (the load had not started)'}`);
    void Promise.allSettled([...this.targets].map((t) => t.close())).finally(() => process.exit(ExitCode.interrupted));
  };

  constructor(private readonly log: Log) {
    process.on('exit', this.onExit);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Track a target so every exit path closes it; `keep` leaves it running. */
  track(t: OpenTarget, keep = false): void {
    this.targets.add(t);
    this.keep = keep;
  }

  async release(t: OpenTarget, keep = false): Promise<void> {
    await t.close({ keep });
    this.targets.delete(t);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
  }
}

/** Progress lines every --progress seconds, as an observer of a step's intervals. */
export function progressObserver(config: RunConfig, log: Log, prefix = ''): RunObserver {
  let lastProgress = 0;
  return {
    name: 'progress',
    stepStart: () => {
      lastProgress = 0;
    },
    interval: (row: IntervalRow, step) => {
      if (config.progressS > 0 && row.endMs - lastProgress >= config.progressS * 1000 - 1) {
        lastProgress = row.endMs;
        log(prefix + progressLine(row, step.config.warmupMs, config.workers * config.connections));
      }
    },
  };
}

/** The one line naming what a run is about to do. */
export function runLine(config: RunConfig, runId: string): string {
  const rateText = config.rateHz === 'max' ? 'closed loop' : `${config.rateHz} rows/s`;
  return `rtbench: run ${runId}: ${config.workers} workers x ${config.connections} connections` +
    `${config.pipeline > 1 ? ` x ${config.pipeline} in flight (pipeline)` : ''}, ${rateText}, ` +
    `mode ${config.mode}${config.mode === 'single' ? '' : ` batch ${config.batch}`}, statement ${config.statement}, seed ${config.seed}`;
}

/**
 * Run against an open target, streaming results/<run-id>/ under `resultsDir` as the run goes
 * (stream.ts) and completing it at the end. A results dir that fails mid-run (disk full,
 * unwritable) stops the load and ends in an EnvironmentError naming it (exit 2); the dir keeps
 * the intervals synced so far, with run.json still `running`, for `rtbench recover`.
 */
export async function executeRun(
  config: RunConfig,
  target: OpenTarget,
  opts: {
    log: Log; guard: SignalGuard; resultsDir: string; runId?: string; observers?: readonly RunObserver[];
    /** The live page (--ui): its hub, this run's step number on it and its side label. */
    page?: { readonly hub: PageSink; readonly step: number; readonly side?: string };
  },
): Promise<{ record: RunRecord; dir: string }> {
  const { log } = opts;
  const runId = opts.runId ?? newRunId(config.name);
  const stream = new ResultStream({ resultsDir: opts.resultsDir, onFailure: () => opts.guard.abort.abort() });
  // The page's events go into the run dir whether or not --ui is given (rtbench ui DIR follows them), and to the live page.
  const pageFile = new PageEventFile({ dir: () => stream.dir });
  const sink = teeSink(pageFile, opts.page?.hub);
  const live = new LiveObserver(sink, opts.page?.step ?? 0, opts.page?.side ?? '');
  // A long phase (idle baseline, serial vs parallel, audit, plans): a line every 3 s with the time left and one
  // with its cost at the end; --progress 0 turns these off with the per-second lines.
  const printer = config.progressS > 0 ? progressPrinter((l) => log(`rtbench: ${l}`)) : undefined;
  // The live page gets the same events (it has its own --ui, not --progress).
  const extra = liveProgress(sink);
  const onProgress: OnProgress = printer ? (e) => (printer(e), extra(e)) : extra;
  const record = await runIngest({
    config,
    url: target.url,
    targetKind: target.recordKind,
    runId,
    signal: opts.guard.abort.signal,
    // The page file last: it closes once the others have published their last events.
    observers: [progressObserver(config, log), stream, ...serverSamplerFor(config, { onProgress, onSecond: live.serverSecond }), live, ...(opts.observers ?? []), pageFile],
    events: {
      onNotice: (l) => log(`rtbench: ${l}`),
      onProgress,
      // Printed once connected, so a connection failure stays a single line.
      onReady: (server) => {
        opts.guard.loadStarted = true;
        if (target.spec.kind === 'url') log(`rtbench: target ${target.label}: ${server.version.split(' on ')[0] ?? server.version}`);
        log(runLine(config, runId));
      },
    },
  });
  await Promise.all([stream.close(), pageFile.close()]);
  const dir = stream.dir;
  if (stream.failure) throw new EnvironmentError(stream.failure);
  // Said once, at the end, and only when the run's own files were written (else their failure says it all).
  if (pageFile.failure) log(`rtbench: ${pageFile.failure}`);
  if (dir === null) throw new Error('the results stream never started');
  const status = opts.guard.abort.signal.aborted ? 'interrupted' : 'finished';
  try {
    await completeRunDir(dir, record, status, { owner: stream.startInfo?.owner, recovery: stream.startInfo?.recovery });
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err);
    throw new EnvironmentError(`results dir ${dir}: the final files could not be written (${code}); the streamed intervals are on disk: rtbench recover ${dir}`);
  }
  return { record, dir };
}

/** Exit code of a finished run. */
export function runExitCode(record: RunRecord, interrupted: boolean): number {
  if (interrupted) return ExitCode.interrupted;
  if (record.summary.ingest.errors > 0) return ExitCode.runErrors;
  if (!record.summary.valid) return ExitCode.invalidRun;
  return ExitCode.ok;
}
