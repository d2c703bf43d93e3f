/**
 * Runs an installed rollup on a schedule while the load runs: pg_cron when it
 * is there and can express the interval, else the harness's own timer.
 *
 * - harness: one connection of its own; run k is due at start + k·interval;
 *   runs never overlap (a run that overruns makes the driver skip the slots it
 *   missed, counted as `overruns`); each run's duration goes to an HDR
 *   histogram (µs); failures are counted by SQLSTATE and the driver reconnects
 *   and goes on. A run that failed because the server went away (a restart) is
 *   tried again with backoff (250 ms doubling to 4 s) until it succeeds or the
 *   next run falls due, so the rollup catches up as soon as the server is back;
 *   the outage is recorded once (`survival`), not per attempt.
 * - cron: `cron.schedule(job_name, schedule, command)`; at stop the runs are
 *   read from cron.job_run_details (end_time − start_time) and the job is
 *   unscheduled. pg_cron runs jobs on its own connections, so a job that
 *   cannot connect shows up as a failed run (counted under 08001).
 */
import type { Client } from 'pg';
import { connectionGone, sqlstateOf, isConnectionLost } from '../targets/sqlstate.js';
import { SurvivalTracker } from '../metrics/part-survival.js';
import { newHistogram, recordNs, type Histogram } from '../metrics/histogram.js';
import { connect } from '../targets/postgres.js';
import type { InstalledRollup } from './strategies.js';

export type RollupScheduler = 'cron' | 'harness';

/** Options of {@link RollupDriver}. */
export interface RollupDriverOptions {
  /** Connection URL of the target database. */
  readonly url: string;
  readonly installed: InstalledRollup;
  /** Asked-for scheduler; cron falls back to harness when it cannot be used. */
  readonly scheduler: RollupScheduler;
  /** Time between runs (default 60 000 ms). */
  readonly intervalMs?: number;
  /** Connection factory (default: targets/postgres connect with application_name rtbench-rollup). */
  readonly connect?: () => Promise<Client>;
  /** Epoch ms clock of the survival record (tests). */
  readonly nowMs?: () => number;
}

/** What a driver did, returned by {@link RollupDriver.stop}. */
export interface RollupDriverResult {
  /** Scheduler actually used. */
  readonly scheduler: RollupScheduler;
  /** Finished runs, successful or not. */
  readonly runs: number;
  /** Durations of successful runs, µs. */
  readonly durationHistogram: Histogram;
  /** Failed runs (and failed reconnects) by SQLSTATE. */
  readonly errorsBySqlstate: Record<string, number>;
  /** Harness slots skipped because the previous run was still going. */
  readonly overruns: number;
  /** Human-readable notes: "skipped: …" fallbacks, first cron failure messages. */
  readonly notes: readonly string[];
  /** Harness runs across outages (successes and connection-class failures, epoch ms). */
  readonly survival: SurvivalTracker;
}

export const DEFAULT_ROLLUP_INTERVAL_MS = 60_000;

/** Message when cron was asked for but pg_cron is not usable here. */
export const CRON_SKIPPED = 'skipped: pg_cron scheduler (install postgresql-15-cron); using the harness timer';

/**
 * The pg_cron schedule for an interval, or a reason why pg_cron cannot run it.
 * Whole minutes that divide an hour become cron expressions; 1–59 whole seconds
 * need pg_cron ≥ 1.5 (interval schedules like '5 seconds'). Pure.
 */
export function cronSchedule(intervalMs: number, pgCronVersion: string): { schedule: string } | { reason: string } {
  if (intervalMs > 0 && intervalMs % 60_000 === 0) {
    const m = intervalMs / 60_000;
    if (m === 1) return { schedule: '* * * * *' };
    if (60 % m === 0) return { schedule: `*/${m} * * * *` };
    return { reason: `a ${m}-minute interval does not divide an hour` };
  }
  if (intervalMs > 0 && intervalMs % 1000 === 0 && intervalMs < 60_000) {
    if (versionAtLeast(pgCronVersion, [1, 5])) return { schedule: `${intervalMs / 1000} seconds` };
    return { reason: `pg_cron ${pgCronVersion} has no second schedules (1.5+ does)` };
  }
  return { reason: `pg_cron cannot run every ${intervalMs} ms` };
}

function versionAtLeast(version: string, want: readonly number[]): boolean {
  const got = version.split(/[.-]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < want.length; i++) {
    const g = got[i] ?? 0;
    const w = want[i] ?? 0;
    if (Number.isNaN(g)) return false;
    if (g !== w) return g > w;
  }
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Schedules and times an installed rollup. One start(), one stop(). */
export class RollupDriver {
  private readonly opts: RollupDriverOptions;
  private readonly intervalMs: number;
  private readonly connectFn: () => Promise<Client>;
  private readonly histogram = newHistogram();
  private readonly errors: Record<string, number> = {};
  private readonly notesList: string[] = [];
  private readonly survival: SurvivalTracker;
  private client: Client | undefined;
  private effective: RollupScheduler;
  private runs = 0;
  private overruns = 0;
  private stopping = false;
  private started = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private cronJob: { jobId: string; firstRunId: string } | undefined;

  constructor(opts: RollupDriverOptions) {
    const intervalMs = opts.intervalMs ?? DEFAULT_ROLLUP_INTERVAL_MS;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`rollup interval ${intervalMs} ms must be positive`);
    this.opts = opts;
    this.intervalMs = intervalMs;
    this.effective = opts.scheduler;
    this.connectFn = opts.connect ?? (() => connect(opts.url, 'rtbench-rollup'));
    this.survival = new SurvivalTracker(opts.nowMs);
  }

  /** The scheduler in use (known after start()). */
  get scheduler(): RollupScheduler {
    return this.effective;
  }

  /** Notes so far (fallback messages). */
  get notes(): readonly string[] {
    return this.notesList;
  }

  /**
   * Start scheduling. The harness runs the first rollup at once; cron at its
   * schedule's next tick. Resolves when scheduled.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('RollupDriver.start() called twice');
    this.started = true;
    if (this.opts.scheduler === 'cron') {
      const reason = await this.startCron();
      if (reason === undefined) return;
      this.effective = 'harness';
      this.notesList.push(reason === CRON_SKIPPED ? CRON_SKIPPED : `skipped: pg_cron scheduler (${reason}); using the harness timer`);
    }
    this.loop = this.harnessLoop();
  }

  /** Stop scheduling, wait for a run in progress, and return what happened. */
  async stop(): Promise<RollupDriverResult> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    if (this.cronJob) await this.stopCron(this.cronJob);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
    return {
      scheduler: this.effective,
      runs: this.runs,
      durationHistogram: this.histogram,
      errorsBySqlstate: { ...this.errors },
      overruns: this.overruns,
      notes: [...this.notesList],
      survival: this.survival,
    };
  }

  private countError(err: unknown): string {
    const state = sqlstateOf(err);
    this.errors[state] = (this.errors[state] ?? 0) + 1;
    return state;
  }

  private async ensureClient(): Promise<Client> {
    this.client ??= await this.connectFn();
    return this.client;
  }

  private async harnessLoop(): Promise<void> {
    const start = performance.now();
    let k = 0;
    while (!this.stopping) {
      const due = start + k * this.intervalMs;
      const wait = due - performance.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        if (this.stopping) break;
      }
      // The server went away: try again with backoff until the run succeeds or the next one is due.
      for (let backoff = 250; !(await this.runOnce()) && !this.stopping; backoff = Math.min(4000, backoff * 2)) {
        const nextDue = start + (Math.floor((performance.now() - start) / this.intervalMs) + 1) * this.intervalMs;
        if (performance.now() + backoff >= nextDue) break;
        await this.sleepUnlessStopped(backoff);
      }
      // Next slot in the future; slots that passed during the run are skipped, not queued.
      const next = Math.floor((performance.now() - start) / this.intervalMs) + 1;
      this.overruns += Math.max(0, next - (k + 1));
      k = next;
    }
  }

  private sleepUnlessStopped(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.wake = undefined;
    });
  }

  /** One run; false when it failed because the server could not be reached (worth retrying soon). */
  private async runOnce(): Promise<boolean> {
    let client: Client;
    try {
      client = await this.ensureClient();
    } catch (err) {
      // A failed connect carries the driver's code (57P03 while the server starts, 08001 refused).
      const state = sqlstateOf(err);
      this.errors[state] = (this.errors[state] ?? 0) + 1;
      this.survival.failure(isConnectionLost(state) ? state : '08001');
      this.runs++;
      return false;
    }
    const t0 = process.hrtime.bigint();
    let ok = true;
    try {
      await client.query(this.opts.installed.callSql);
      recordNs(this.histogram, Number(process.hrtime.bigint() - t0));
      this.survival.success();
    } catch (err) {
      const state = this.countError(err);
      this.survival.failure(state);
      ok = !isConnectionLost(state);
      // A Citus worker that is down fails the run over a coordinator connection that stays usable.
      if (connectionGone(err, state)) {
        this.client = undefined;
        await client.end().catch(() => undefined);
      }
    }
    this.runs++;
    return ok;
  }

  /** Schedule with pg_cron; returns why not when it cannot. */
  private async startCron(): Promise<string | undefined> {
    let client: Client;
    try {
      client = await this.ensureClient();
    } catch (err) {
      return `cannot connect: ${err instanceof Error ? err.message : String(err)}`;
    }
    try {
      return await this.scheduleCron(client);
    } catch (err) {
      // e.g. a role that may not read shared_preload_libraries (42501) or use the cron schema.
      return `cannot use pg_cron here (${err instanceof Error ? err.message : String(err)})`;
    }
  }

  /** Check pg_cron can run our job here and schedule it; a reason string when it cannot. */
  private async scheduleCron(client: Client): Promise<string | undefined> {
    const setting = await client.query<{ preload: string | null; db: string | null; here: string; available: boolean }>(
      `SELECT current_setting('shared_preload_libraries', true) AS preload, current_setting('cron.database_name', true) AS db,
              current_database() AS here, EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron') AS available`,
    );
    const s = setting.rows[0];
    if (!s?.available) return CRON_SKIPPED;
    // Without the library loaded at server start no job ever runs, even if the extension exists.
    if (s.preload !== null && !/(^|[\s,])pg_cron([\s,]|$)/.test(s.preload)) return 'pg_cron is not in shared_preload_libraries';
    const cronDb = s.db || 'postgres';
    if (cronDb !== s.here) return `pg_cron runs in database ${cronDb} (cron.database_name), not ${s.here}`;
    let createError = '';
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_cron');
    } catch (err) {
      createError = err instanceof Error ? err.message : String(err);
    }
    const ext = await client.query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'`);
    const version = ext.rows[0]?.extversion;
    if (version === undefined) return `CREATE EXTENSION pg_cron failed: ${createError}`;
    const plan = cronSchedule(this.intervalMs, version);
    if ('reason' in plan) return plan.reason;
    const jobName = `rtbench-rollup-${this.opts.installed.strategy}-${this.opts.installed.table}`;
    const before = await client.query<{ runid: string }>('SELECT coalesce(max(runid), 0)::text AS runid FROM cron.job_run_details');
    const job = await client.query<{ jobid: string }>('SELECT cron.schedule($1, $2, $3)::text AS jobid', [jobName, plan.schedule, this.opts.installed.callSql]);
    const jobId = job.rows[0]?.jobid;
    if (jobId === undefined) return 'cron.schedule returned no job id';
    this.cronJob = { jobId, firstRunId: before.rows[0]?.runid ?? '0' };
    return undefined;
  }

  private async stopCron(job: { jobId: string; firstRunId: string }): Promise<void> {
    // The connection may have died meanwhile; try a fresh one a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        const client = await this.ensureClient();
        await client.query('SELECT cron.unschedule($1::bigint)', [job.jobId]);
        const r = await client.query<{ status: string; return_message: string | null; us: string | null }>(
          `SELECT status, return_message, (extract(epoch FROM end_time - start_time) * 1e6)::bigint::text AS us
             FROM cron.job_run_details WHERE jobid = $1::bigint AND runid > $2::bigint ORDER BY runid`,
          [job.jobId, job.firstRunId],
        );
        for (const row of r.rows) {
          if (row.status === 'succeeded' && row.us !== null) {
            this.runs++;
            recordNs(this.histogram, Number(row.us) * 1000);
          } else if (row.status === 'failed') {
            this.runs++;
            const msg = (row.return_message ?? '').trim();
            const state = /connection failed|could not connect|authentication/i.test(msg) ? '08001' : 'XX000';
            this.errors[state] = (this.errors[state] ?? 0) + 1;
            const note = `pg_cron run failed: ${msg || '(no message)'}`;
            if (this.notesList.length < 10 && !this.notesList.includes(note)) this.notesList.push(note);
          }
          // 'starting' / 'running': still going at stop; not counted.
        }
        return;
      } catch (err) {
        const state = this.countError(err);
        if (this.client && isConnectionLost(state)) {
          await this.client.end().catch(() => undefined);
          this.client = undefined;
        }
        if (attempt >= 3) {
          this.notesList.push(`could not unschedule pg_cron job ${job.jobId} (${state}); remove it with SELECT cron.unschedule(${job.jobId})`);
          return;
        }
        await sleep(500);
      }
    }
  }
}
