/**
 * The probe runner of the measure phase: on its own connection, it runs every
 * probe × window round-robin on a cadence and records one HDR histogram
 * (service time, µs) per probe and window. Database errors are counted by
 * SQLSTATE and the connection is reopened when lost; nothing it meets ends
 * the run. Probes the database cannot run (extension missing, no rollup
 * table) are skipped with a line saying why.
 */
import type pg from 'pg';
import { isConnectionLost, sqlstateOf } from '../targets/sqlstate.js';
import { newHistogram, recordNs, summarize, type Histogram } from '../metrics/histogram.js';
import { cancelBackend, closeQuietly, openProbeConnection } from './connection.js';
import { renderProbe, runOrder, type ProbeDef } from './definition.js';
import { selectRunnable } from './requirements.js';
import { DEFAULT_WINDOWS, rollupTableFor, type Granularity, type ProbeWindow } from './windows.js';

/** Options of {@link ProbeRunner}. */
export interface ProbeRunnerOptions {
  /** Database URL; the runner opens its own connection. */
  readonly url: string;
  /** Probes to run, as {@link loadProbes} returns them. */
  readonly probes: readonly ProbeDef[];
  /** Windows (default 5m, 1h, 1d). */
  readonly windows?: readonly ProbeWindow[];
  /** Rollup granularity in use (default '1m'); names the rollup table unless `rollupTable` is given. */
  readonly granularity?: Granularity;
  /** Rollup table substituted for `{{rollup_table}}` (default: the granularity's, e.g. http_request_1min). */
  readonly rollupTable?: string;
  /** Time from the start of one probe query to the start of the next, ms (default 1000). A slower query is followed at once. */
  readonly cadenceMs?: number;
  /** `statement_timeout` of the probe connection, ms; 0 (default) for none. */
  readonly statementTimeoutMs?: number;
  /** On stop, how long to let a running query finish before cancelling it, ms (default 2000). */
  readonly stopGraceMs?: number;
  /** application_name of the probe connection (default 'rtbench-probe'). */
  readonly applicationName?: string;
}

/** Summary of one probe × window, latencies in µs. */
export interface ProbeTaskSummary {
  readonly p50Us: number;
  readonly p99Us: number;
  /** Successful executions (the histogram's count). */
  readonly count: number;
  /** Failed executions. */
  readonly errors: number;
  readonly errorsBySqlstate: Readonly<Record<string, number>>;
  /** Rows returned by the last successful execution (0 rows means the probe measured an empty window); null before any. */
  readonly lastRowCount: number | null;
}

/** One probe × window: its histogram (µs) and summary. */
export interface ProbeTaskResult {
  readonly probe: string;
  readonly window: string;
  readonly histogram: Histogram;
  readonly summary: ProbeTaskSummary;
}

/** What {@link ProbeRunner.stop} returns. */
export interface ProbeResults {
  readonly granularity: Granularity;
  readonly rollupTable: string;
  /** Window labels, in order. */
  readonly windows: readonly string[];
  readonly cadenceMs: number;
  /** From start() to stop(), ms. */
  readonly durationMs: number;
  /** One entry per runnable probe × window, in run order. */
  readonly tasks: readonly ProbeTaskResult[];
  /** `skipped: probe <name> (<why>)` lines. */
  readonly skipped: readonly string[];
  /** Failures to connect, and connection losses between queries, by SQLSTATE. */
  readonly connectionErrorsBySqlstate: Readonly<Record<string, number>>;
  /** Connections opened after the first. */
  readonly reconnects: number;
}

interface TaskState {
  readonly probe: ProbeDef;
  readonly window: ProbeWindow;
  readonly sql: string;
  readonly histogram: Histogram;
  readonly errors: Map<string, number>;
  lastRowCount: number | null;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/**
 * Runs the probes during the measure phase. `await start()` opens the
 * connection and decides which probes run (or keeps retrying in the
 * background if the server is away); `stop()` ends the loop and returns the
 * results. Service time is measured from sending the query to its result.
 */
export class ProbeRunner {
  readonly #opts: Required<Omit<ProbeRunnerOptions, 'rollupTable' | 'granularity'>> & { granularity: Granularity; rollupTable: string };
  #tasks: TaskState[] = [];
  #skipped: string[] = [];
  #selected = false;
  #client: pg.Client | null = null;
  #backendPid = 0;
  #connections = 0;
  readonly #connectionErrors = new Map<string, number>();
  /** Connections whose loss is already counted (on a query or as a connection error). */
  readonly #lossCounted = new WeakSet<pg.Client>();
  #inFlight = false;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #startNs = 0n;
  #stopNs = 0n;
  #backoffMs = RECONNECT_MIN_MS;

  constructor(opts: ProbeRunnerOptions) {
    const granularity = opts.granularity ?? '1m';
    this.#opts = {
      url: opts.url,
      probes: opts.probes,
      windows: opts.windows ?? DEFAULT_WINDOWS,
      granularity,
      rollupTable: opts.rollupTable ?? rollupTableFor(granularity),
      cadenceMs: opts.cadenceMs ?? 1000,
      statementTimeoutMs: opts.statementTimeoutMs ?? 0,
      stopGraceMs: opts.stopGraceMs ?? 2000,
      applicationName: opts.applicationName ?? 'rtbench-probe',
    };
    if (!(this.#opts.cadenceMs >= 0)) throw new RangeError(`cadenceMs must be >= 0, got ${this.#opts.cadenceMs}`);
  }

  /** Probe lines skipped so far (known once the first connection succeeded). */
  get skipped(): readonly string[] {
    return this.#skipped;
  }

  /** Open the connection, choose the runnable probes, start the loop. Never rejects for database errors. */
  async start(): Promise<void> {
    if (this.#loop) throw new Error('ProbeRunner already started');
    this.#startNs = process.hrtime.bigint();
    await this.#ensureConnected();
    // #run catches what the database throws; this only keeps a bug from becoming an unhandled rejection.
    this.#loop = this.#run().catch((err: unknown) => bump(this.#connectionErrors, sqlstateOf(err)));
  }

  /** Stop after the running query (cancelled after `stopGraceMs`), close the connection, return the results. */
  async stop(): Promise<ProbeResults> {
    this.#stopping = true;
    this.#wake?.();
    if (this.#loop) {
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        this.#loop.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.#opts.stopGraceMs))),
      ]);
      clearTimeout(timer);
      if (!finished && this.#inFlight) {
        const cancelled = await cancelBackend(this.#opts.url, this.#backendPid);
        if (!cancelled && this.#client) await closeQuietly(this.#client);
      }
      await this.#loop;
    }
    if (this.#client) await closeQuietly(this.#client);
    this.#client = null;
    this.#stopNs = process.hrtime.bigint();
    return this.#results();
  }

  async #run(): Promise<void> {
    let next = 0;
    while (!this.#stopping) {
      const client = this.#client ?? (await this.#ensureConnected());
      if (!client) {
        await this.#sleep(this.#backoffMs);
        this.#backoffMs = Math.min(this.#backoffMs * 2, RECONNECT_MAX_MS);
        continue;
      }
      if (this.#tasks.length === 0) break; // every probe skipped
      const task = this.#tasks[next % this.#tasks.length] as TaskState;
      next++;
      const t0 = process.hrtime.bigint();
      this.#inFlight = true;
      try {
        const r = await client.query(task.sql, [task.window.interval]);
        recordNs(task.histogram, Number(process.hrtime.bigint() - t0));
        task.lastRowCount = r.rowCount ?? r.rows.length;
      } catch (err) {
        if (this.#stopping) break; // cancelled or closed by stop(): not the probe's error
        const state = sqlstateOf(err);
        bump(task.errors, state);
        if (isConnectionLost(state)) this.#lossCounted.add(client);
        if (isConnectionLost(state)) await this.#drop();
      } finally {
        this.#inFlight = false;
      }
      const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
      await this.#sleep(this.#opts.cadenceMs - elapsedMs);
    }
  }

  /** The connection, opening it (and, the first time, choosing the probes) if needed; null when that failed (counted). */
  async #ensureConnected(): Promise<pg.Client | null> {
    if (this.#client) return this.#client;
    let conn;
    try {
      conn = await openProbeConnection(this.#opts.url, this.#opts.applicationName, this.#opts.statementTimeoutMs);
    } catch (err) {
      bump(this.#connectionErrors, sqlstateOf(err));
      return null;
    }
    const { client } = conn;
    client.removeAllListeners('error');
    client.on('error', (err: unknown) => {
      // One loss per connection is counted: on the query it failed, or else here. pg may
      // emit this before the failing query's catch runs, so decide once that has run.
      setImmediate(() => {
        if (this.#lossCounted.has(client) || this.#stopping) return;
        this.#lossCounted.add(client);
        bump(this.#connectionErrors, sqlstateOf(err));
      });
      if (this.#client === client) void this.#drop();
    });
    if (!this.#selected) {
      try {
        const sel = await selectRunnable(client, this.#opts.probes, this.#opts.rollupTable);
        this.#skipped = [...sel.skipped];
        this.#tasks = this.#buildTasks(sel.runnable);
        this.#selected = true;
      } catch (err) {
        bump(this.#connectionErrors, sqlstateOf(err));
        await closeQuietly(client);
        return null;
      }
    }
    this.#client = client;
    this.#backendPid = conn.backendPid;
    this.#connections++;
    this.#backoffMs = RECONNECT_MIN_MS;
    return client;
  }

  async #drop(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    if (c) await closeQuietly(c);
  }

  #buildTasks(runnable: readonly ProbeDef[]): TaskState[] {
    const ordered = runOrder(runnable);
    const tasks: TaskState[] = [];
    // Window-major: both sides of a pair run back to back on the same window.
    for (const window of this.#opts.windows) {
      for (const probe of ordered) {
        tasks.push({ probe, window, sql: renderProbe(probe, this.#opts.rollupTable), histogram: newHistogram(), errors: new Map(), lastRowCount: null });
      }
    }
    return tasks;
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  #results(): ProbeResults {
    const tasks: ProbeTaskResult[] = this.#tasks.map((t) => {
      const s = summarize(t.histogram);
      let errors = 0;
      for (const n of t.errors.values()) errors += n;
      return {
        probe: t.probe.name,
        window: t.window.label,
        histogram: t.histogram,
        summary: { p50Us: s.p50Us, p99Us: s.p99Us, count: s.count, errors, errorsBySqlstate: Object.fromEntries(t.errors), lastRowCount: t.lastRowCount },
      };
    });
    return {
      granularity: this.#opts.granularity,
      rollupTable: this.#opts.rollupTable,
      windows: this.#opts.windows.map((w) => w.label),
      cadenceMs: this.#opts.cadenceMs,
      durationMs: this.#startNs === 0n ? 0 : Number((this.#stopNs === 0n ? process.hrtime.bigint() : this.#stopNs) - this.#startNs) / 1e6,
      tasks,
      skipped: [...this.#skipped],
      connectionErrorsBySqlstate: Object.fromEntries(this.#connectionErrors),
      reconnects: Math.max(0, this.#connections - 1),
    };
  }
}
