/**
 * Results as the run goes: an observer of a step that creates results/<run-id>/ when the step
 * starts (run.json with `status: "running"`, the resolved config, the owner's pid and host, and
 * what `rtbench recover` needs), then appends each closed interval to intervals.hlog and
 * timeseries.csv and fsyncs them at least every `syncEveryMs` (pgbench's `-l` log and
 * HdrHistogram's interval log are written the same way). A crash (kill -9, the OOM killer, an
 * evicted pod) then loses at most the interval in progress and the one being synced. The final
 * files are written whole at the end by completeRunDir (write.ts), run.json last.
 *
 * A write that fails (disk full, the dir made read-only) is reported once through `onFailure`,
 * so the caller stops the load; nothing more is written and what was synced stays.
 */
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { HistogramLogWriter } from 'hdr-histogram-js';
import { stringify } from 'csv-stringify/sync';
import { siteSlice } from '../config/types.js';
import { EnvironmentError, UsageError } from '../errors.js';
import { decodeHistogram } from '../metrics/histogram.js';
import { KINDS, type IntervalRow } from '../metrics/aggregate.js';
import { RTBENCH_VERSION } from '../paths.js';
import type { RunObserver, SessionInfo, StepInfo, StepPhase } from '../runner/observer.js';
import { maskUrl } from '../targets/url.js';
import { fsyncDir, writeFileAtomic } from './atomic.js';
import { RESULT_FORMAT_VERSION, type RunInfo } from './run-record.js';
import { SAFE_NAME, TIMESERIES_COLUMNS, toJson, toTimeseriesLine } from './write.js';

/** Streamed files are fsynced at least this often by default, ms (the durability bound is this plus one interval). */
export const DEFAULT_SYNC_EVERY_MS = 1000;
const INTERVAL_MS = 1000;

export interface StreamOptions {
  readonly resultsDir: string;
  /** fsync the streamed files at least this often, ms. */
  readonly syncEveryMs?: number;
  /** Called once when a write fails: the caller stops the load. The message names the dir and the error code. */
  readonly onFailure?: (message: string) => void;
  /** Clock, ms (tests). */
  readonly now?: () => number;
}

const errCode = (err: unknown): string => (err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err));

/** What a failed write means, in words. */
function describeCode(code: string): string {
  switch (code) {
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EROFS': return 'the file system became read-only';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EIO': return 'I/O error';
    default: return code;
  }
}

/**
 * Write all of `text`: a file system that fills up may take part of a write without an error
 * (a short write); the rest is written again, which then fails with the error (ENOSPC).
 */
export async function writeAll(fh: FileHandle, text: string): Promise<void> {
  const buf = Buffer.from(text, 'utf8');
  for (let off = 0; off < buf.length;) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    off += bytesWritten;
  }
}

/** The observer that streams a step's results into its run dir. */
export class ResultStream implements RunObserver {
  readonly name = 'results-stream';
  /** The run dir, once the step started. */
  dir: string | null = null;
  /** The first write failure, in one line; null while all is well. */
  failure: string | null = null;
  /** The last interval whose lines are fsynced: its index and end (ms after the schedule origin). */
  lastDurable: { index: number; endMs: number } | null = null;
  /** The run.json written at the start (status running). */
  startInfo: RunInfo | null = null;

  private hlog: FileHandle | null = null;
  private csv: FileHandle | null = null;
  private chain: Promise<void> = Promise.resolve();
  private lastSyncMs = 0;
  private pending: { index: number; endMs: number } | null = null;
  private hlogWriter: HistogramLogWriter | null = null;
  private hlogText = '';
  private originMs: number | null = null;
  private readonly now: () => number;
  private readonly syncEveryMs: number;

  constructor(private readonly opts: StreamOptions) {
    this.now = opts.now ?? Date.now;
    this.syncEveryMs = opts.syncEveryMs ?? DEFAULT_SYNC_EVERY_MS;
  }

  async stepStart(step: StepInfo, session: SessionInfo): Promise<void> {
    const { config } = step;
    if (!SAFE_NAME.test(step.runId)) throw new UsageError(`run id ${JSON.stringify(step.runId)}: must be one path component of letters, digits, '.', '_' or '-'`);
    await mkdir(this.opts.resultsDir, { recursive: true });
    const dir = join(this.opts.resultsDir, step.runId);
    try {
      await mkdir(dir);
    } catch (err) {
      if (errCode(err) === 'EEXIST') throw new UsageError(`results dir ${this.opts.resultsDir}: run ${step.runId} already exists`);
      throw new UsageError(`results dir ${this.opts.resultsDir}: cannot create ${step.runId} (${errCode(err)})`);
    }
    this.dir = dir;
    const cpus = os.cpus();
    const info: RunInfo = {
      formatVersion: RESULT_FORMAT_VERSION,
      status: 'running',
      owner: { pid: process.pid, host: os.hostname() },
      // Step 0 has the table's rows at its start from the set-up; a later step's are not counted for observers.
      recovery: {
        rowsAtStart: step.index === 0 ? session.rowsAtSetup : null,
        sites: siteSlice(config),
        intervalMs: INTERVAL_MS,
        plannedIntervals: Math.ceil((config.warmupMs + config.durationMs) / INTERVAL_MS),
        syncEveryMs: this.syncEveryMs,
      },
      runId: step.runId,
      startedAt: new Date(this.now()).toISOString(),
      finishedAt: '',
      config: { ...config, url: config.url === undefined ? undefined : maskUrl(config.url) },
      seed: config.seed,
      target: { kind: session.targetKind, url: maskUrl(session.url) },
      gitRevision: null,
      versions: { rtbench: RTBENCH_VERSION, node: process.version, pg: 'unknown', hdrHistogramJs: 'unknown' },
      server: session.server,
      ...(session.citus ? { citus: session.citus } : {}),
      // merge aligns a group's instances by this record; the start lateness is only known at the end.
      ...(step.groupStart && config.instance?.group ? {
        instance: {
          index: config.instance.index, count: config.instance.count, group: config.instance.group,
          startEpochMs: step.groupStart.startEpochMs, clockOffsetMs: step.groupStart.clockOffsetMs,
          clockRoundTripMs: step.groupStart.clockRoundTripMs, registeredAtEpochMs: step.groupStart.registeredAtEpochMs,
          lateStartMs: 0, firstSentMs: null,
        },
      } : {}),
      machine: {
        hostname: os.hostname(), platform: os.platform(), release: os.release(), arch: os.arch(),
        cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memoryBytes: os.totalmem(),
      },
    };
    this.startInfo = info;
    try {
      await writeFileAtomic(join(dir, 'run.json'), toJson(info));
      this.hlog = await open(join(dir, 'intervals.hlog'), 'wx');
      this.csv = await open(join(dir, 'timeseries.csv'), 'wx');
      await writeAll(this.csv, stringify([[...TIMESERIES_COLUMNS]]));
      await Promise.all([this.hlog.sync(), this.csv.sync()]);
      await fsyncDir(dir);
    } catch (err) {
      // Before any load: nothing of the run is worth keeping.
      await this.close();
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      this.dir = null;
      const code = errCode(err);
      throw new EnvironmentError(`results dir ${this.opts.resultsDir}: ${describeCode(code)} (${code}) while creating run ${step.runId}; the load was not started`);
    }
    this.lastSyncMs = this.now();
  }

  /** The schedule origin in this host's clock: the group's agreed start, else the moment the warm-up began. */
  phase(phase: StepPhase, _atMs: number, step: StepInfo): void {
    if (phase === 'warmup') this.originMs = step.groupStart?.localStartEpochMs ?? this.now();
  }

  interval(row: IntervalRow): void {
    if (!this.hlog || !this.csv || this.failure) return;
    const hlogLines = this.hlogLines(row);
    const csvLine = toTimeseriesLine(row);
    const hlog = this.hlog;
    const csv = this.csv;
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        // The log line first: a time-series row is only read back with its histograms.
        await writeAll(hlog, hlogLines);
        await writeAll(csv, csvLine);
        this.pending = { index: row.index, endMs: row.endMs };
        if (this.now() - this.lastSyncMs >= this.syncEveryMs - 50) await this.sync();
      } catch (err) {
        this.fail(err);
      }
    });
  }

  /** Wait for every queued write and sync them (the step's end). */
  async stepEnd(): Promise<void> {
    await this.chain;
    if (!this.failure) {
      try {
        await this.sync();
      } catch (err) {
        this.fail(err);
      }
    }
    await this.close();
  }

  /** Close the files (idempotent); the dir stays. */
  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    const hs = [this.hlog, this.csv];
    this.hlog = this.csv = null;
    await Promise.all(hs.map((h) => h?.close().catch(() => undefined)));
  }

  private async sync(): Promise<void> {
    if (!this.hlog || !this.csv) return;
    await Promise.all([this.hlog.sync(), this.csv.sync()]);
    this.lastSyncMs = this.now();
    if (this.pending) this.lastDurable = this.pending;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    const code = errCode(err);
    const upTo = this.lastDurable ? `intervals up to ${(this.lastDurable.endMs / 1000).toFixed(0)} s are on disk` : 'no interval is on disk';
    this.failure = `results dir ${this.dir ?? this.opts.resultsDir}: ${describeCode(code)} (${code}) while writing the run's intervals; the load was stopped; ${upTo}`;
    this.opts.onFailure?.(this.failure);
  }

  /** The interval log lines of one row; the header (with the schedule origin) before the first. */
  private hlogLines(row: IntervalRow): string {
    this.hlogText = '';
    if (!this.hlogWriter) {
      this.hlogWriter = new HistogramLogWriter((s) => {
        this.hlogText += s;
      });
      this.hlogWriter.outputLogFormatVersion();
      // Within a few ms of the pool's own origin; the final log, rewritten at the end, has the exact one.
      this.hlogWriter.outputStartTime(this.originMs ?? this.now() - row.endMs);
      this.hlogWriter.outputComment(`rtbench run ${this.startInfo?.runId ?? ''} (streamed)`);
      this.hlogWriter.outputComment('values are microseconds; Interval_Max is in milliseconds; Tag is the kind (response, service, lag)');
      this.hlogWriter.outputLegend();
    }
    for (const kind of KINDS) {
      const h = decodeHistogram(row.encoded[kind]);
      h.tag = kind;
      this.hlogWriter.outputIntervalHistogram(h, row.startMs / 1000, row.endMs / 1000, 1000);
    }
    return this.hlogText;
  }
}
