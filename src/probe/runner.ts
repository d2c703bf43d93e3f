/**
 * The dashboard load of the measure phase: V viewers, each on its own
 * connection, each refreshing its dashboard on the open-loop schedule of
 * src/schedule/viewers.ts (refresh k of viewer v due at start + offset(v) +
 * k·R). A refresh runs every panel (probe × window, window-major) in order;
 * a tenant panel reads the site drawn for that refresh from the run's seeded
 * PRNG. Per panel it records HDR histograms (µs) of service time (send →
 * result), response time (refresh due → result) and lag (due → send).
 * Database errors are counted by SQLSTATE and a lost connection is reopened
 * at the viewer's next refresh; nothing it meets ends the run. Probes the
 * database cannot run (extension missing, no rollup table) are skipped with
 * a line saying why.
 */
import type pg from 'pg';
import { connectionGone, sqlstateOf } from '../targets/sqlstate.js';
import { SurvivalTracker } from '../metrics/part-survival.js';
import { newHistogram, recordNs, summarize, type Histogram, type LatencySummary } from '../metrics/histogram.js';
import { hrClock } from '../schedule/open-loop.js';
import { refreshesDue, runViewer, type SleepingClock } from '../schedule/viewers.js';
import { Prng } from '../workload/prng.js';
import type { ViewerLoad } from '../results/run-record.js';
import { cancelBackend, closeQuietly, openProbeConnection } from './connection.js';
import { probeParams, renderProbe, runOrder, type ProbeDef } from './definition.js';
import { selectRunnable } from './requirements.js';
import { DEFAULT_WINDOWS, rollupTableFor, type Granularity, type ProbeWindow } from './windows.js';

/** PRNG stream of viewer v's tenant draws: TENANT_STREAM + v (load workers use small stream ids). */
export const TENANT_STREAM = 1_000_000;

/** Options of {@link ProbeRunner}. */
export interface ProbeRunnerOptions {
  /** Database URL; every viewer opens its own connection. */
  readonly url: string;
  /** Probes to run, as {@link loadProbes} returns them: the dashboard's panels. */
  readonly probes: readonly ProbeDef[];
  /** Windows (default 5m, 1h, 1d); each probe runs once per window per refresh. */
  readonly windows?: readonly ProbeWindow[];
  /** Rollup granularity in use (default '1m'); names the rollup table unless `rollupTable` is given. */
  readonly granularity?: Granularity;
  /** Rollup table substituted for `{{rollup_table}}` (default: the granularity's, e.g. http_request_1min). */
  readonly rollupTable?: string;
  /** Concurrent dashboard viewers, one connection each (default 1). */
  readonly viewers?: number;
  /** Refresh period of each viewer, ms (default 5000). */
  readonly refreshMs?: number;
  /** Tenant panels draw site_id uniformly from [0, sites) (default 32). */
  readonly sites?: number;
  /** Seed of the tenant draws (the run's seed; default 1). */
  readonly seed?: number;
  /** A refresh that starts more than this after its due time is late, ms (default 5). */
  readonly lateThresholdMs?: number;
  /** `statement_timeout` of the viewer connections, ms; 0 (default) for none. */
  readonly statementTimeoutMs?: number;
  /** On stop, how long to let running queries finish before cancelling them, ms (default 2000). */
  readonly stopGraceMs?: number;
  /** application_name of the viewer connections (default 'rtbench-probe'). */
  readonly applicationName?: string;
}

/** Summary of one probe × window, latencies in µs. */
export interface ProbeTaskSummary {
  /** Service time (send → result) percentiles. */
  readonly p50Us: number;
  readonly p99Us: number;
  /** Successful executions (the service histogram's count). */
  readonly count: number;
  /** Failed executions. */
  readonly errors: number;
  readonly errorsBySqlstate: Readonly<Record<string, number>>;
  /** Rows returned by the last successful execution (0 rows means the probe measured an empty window); null before any. */
  readonly lastRowCount: number | null;
  /** Response time: from the refresh's due time to the result (waiting behind earlier panels and a late start included). */
  readonly responseP50Us: number;
  readonly responseP99Us: number;
  /** p95 of service and response (a dashboard SLO is usually a p95). */
  readonly p95Us: number;
  readonly responseP95Us: number;
  /** Lag: from the refresh's due time to sending this panel's query. */
  readonly lagP99Us: number;
}

/** One probe × window: its service histogram (µs), response histogram and summary. */
export interface ProbeTaskResult {
  readonly probe: string;
  readonly window: string;
  readonly histogram: Histogram;
  readonly responseHistogram: Histogram;
  readonly summary: ProbeTaskSummary;
}

/** What {@link ProbeRunner.stop} returns. */
export interface ProbeResults {
  readonly granularity: Granularity;
  readonly rollupTable: string;
  /** Window labels, in order. */
  readonly windows: readonly string[];
  /** From start() to stop(), ms. */
  readonly durationMs: number;
  /** One entry per runnable probe × window, in run order (window-major). */
  readonly tasks: readonly ProbeTaskResult[];
  /** `skipped: probe <name> (<why>)` lines. */
  readonly skipped: readonly string[];
  /** Failures to connect, and connection losses between queries, by SQLSTATE. */
  readonly connectionErrorsBySqlstate: Readonly<Record<string, number>>;
  /** Connections opened beyond one per viewer. */
  readonly reconnects: number;
  readonly refreshes: ViewerLoad;
  /** Panels and connection attempts across outages (epoch ms): a connection-class failure opens an outage, the next panel served ends it. */
  readonly survival: SurvivalTracker;
}

interface TaskState {
  readonly probe: ProbeDef;
  readonly window: ProbeWindow;
  readonly sql: string;
  readonly histogram: Histogram;
  readonly response: Histogram;
  readonly lag: Histogram;
  readonly errors: Map<string, number>;
  lastRowCount: number | null;
}

/** One viewer's connection state. */
interface Viewer {
  readonly index: number;
  readonly prng: Prng;
  client: pg.Client | null;
  backendPid: number;
  inFlight: boolean;
  site: number;
  /** The current refresh found no connection: its panels are not run. */
  offline: boolean;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/**
 * Runs the dashboard viewers during the measure phase. `await start()` opens
 * the first connection and decides which probes run (or keeps retrying in
 * the background if the server is away) and starts every viewer; `stop()`
 * ends the loops and returns the results.
 */
export class ProbeRunner {
  readonly #opts: Required<Omit<ProbeRunnerOptions, 'rollupTable' | 'granularity'>> & { granularity: Granularity; rollupTable: string };
  #tasks: TaskState[] = [];
  #skipped: string[] = [];
  #selected = false;
  readonly #viewers: Viewer[] = [];
  #connections = 0;
  readonly #connectionErrors = new Map<string, number>();
  /** Connections whose loss is already counted (on a query or as a connection error). */
  readonly #lossCounted = new WeakSet<pg.Client>();
  #stopping = false;
  #loops: Promise<void> | null = null;
  readonly #wakers = new Set<() => void>();
  #startNs = 0n;
  #stopNs = 0n;
  readonly #refreshResponse = newHistogram();
  readonly #refreshLag = newHistogram();
  #started = 0;
  #late = 0;
  #unfinished = 0;
  #withoutConnection = 0;
  #scheduleStartNs = 0;
  readonly #survival = new SurvivalTracker();

  constructor(opts: ProbeRunnerOptions) {
    const granularity = opts.granularity ?? '1m';
    this.#opts = {
      url: opts.url,
      probes: opts.probes,
      windows: opts.windows ?? DEFAULT_WINDOWS,
      granularity,
      rollupTable: opts.rollupTable ?? rollupTableFor(granularity),
      viewers: opts.viewers ?? 1,
      refreshMs: opts.refreshMs ?? 5000,
      sites: opts.sites ?? 32,
      seed: opts.seed ?? 1,
      lateThresholdMs: opts.lateThresholdMs ?? 5,
      statementTimeoutMs: opts.statementTimeoutMs ?? 0,
      stopGraceMs: opts.stopGraceMs ?? 2000,
      applicationName: opts.applicationName ?? 'rtbench-probe',
    };
    const o = this.#opts;
    if (!Number.isInteger(o.viewers) || o.viewers < 1) throw new RangeError(`viewers must be a whole number >= 1, got ${o.viewers}`);
    if (!(o.refreshMs > 0)) throw new RangeError(`refreshMs must be > 0, got ${o.refreshMs}`);
    if (!Number.isInteger(o.sites) || o.sites < 1) throw new RangeError(`sites must be a whole number >= 1, got ${o.sites}`);
    for (let v = 0; v < o.viewers; v++) {
      this.#viewers.push({ index: v, prng: new Prng(o.seed, TENANT_STREAM + v), client: null, backendPid: 0, inFlight: false, site: 0, offline: false });
    }
  }

  /** The response histograms (due → result, µs) of every panel cell so far, as `panel-response-<probe>-<window>`: live, read them only. */
  liveResponses(): Record<string, Histogram> {
    const out: Record<string, Histogram> = {};
    for (const t of this.#tasks) out[`panel-response-${t.probe.name}-${t.window.label}`] = t.response;
    return out;
  }

  /** Refreshes finished so far (every panel run), all viewers together: lets a caller wait for enough samples rather than a fixed time. */
  get finishedRefreshes(): number {
    return this.#refreshResponse.totalCount;
  }

  /** Probe lines skipped so far (known once the first connection succeeded). */
  get skipped(): readonly string[] {
    return this.#skipped;
  }

  /** Open the first connection, choose the runnable probes, start the viewers. Never rejects for database errors. */
  async start(): Promise<void> {
    if (this.#loops) throw new Error('ProbeRunner already started');
    this.#startNs = process.hrtime.bigint();
    const first = this.#viewers[0]!;
    if (await this.#ensureConnected(first)) await Promise.all(this.#viewers.slice(1).map((v) => this.#ensureConnected(v)));
    // The loops catch what the database throws; this only keeps a bug from becoming an unhandled rejection.
    this.#loops = this.#run().catch((err: unknown) => bump(this.#connectionErrors, sqlstateOf(err)));
  }

  /** Stop after the running queries (cancelled after `stopGraceMs`), close the connections, return the results. */
  async stop(): Promise<ProbeResults> {
    this.#stopping = true;
    this.#stopNs = process.hrtime.bigint();
    for (const w of [...this.#wakers]) w();
    if (this.#loops) {
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        this.#loops.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.#opts.stopGraceMs))),
      ]);
      clearTimeout(timer);
      if (!finished) {
        await Promise.all(this.#viewers.filter((v) => v.inFlight).map(async (v) => {
          const cancelled = await cancelBackend(this.#opts.url, v.backendPid);
          if (!cancelled && v.client) await closeQuietly(v.client);
        }));
      }
      await this.#loops;
    }
    await Promise.all(this.#viewers.map(async (v) => {
      if (v.client) await closeQuietly(v.client);
      v.client = null;
    }));
    return this.#results();
  }

  async #run(): Promise<void> {
    // Until the probes are chosen (the server may be away), retry with backoff.
    let backoffMs = RECONNECT_MIN_MS;
    while (!this.#selected && !this.#stopping) {
      await this.#sleepMs(backoffMs);
      backoffMs = Math.min(backoffMs * 2, RECONNECT_MAX_MS);
      if (!this.#stopping) await this.#ensureConnected(this.#viewers[0]!);
    }
    if (this.#stopping || this.#tasks.length === 0) return; // stopped, or every probe skipped
    const origin = process.hrtime.bigint();
    const base = hrClock(origin);
    const clock: SleepingClock = {
      ...base,
      // Timers may fire up to a millisecond early: sleep again until the due time has passed.
      sleepUntilNs: async (ns) => {
        while (!this.#stopping && base.nowNs() < ns) await this.#sleepMs(Math.max(1, (ns - base.nowNs()) / 1e6));
      },
    };
    this.#scheduleStartNs = Number(origin - this.#startNs);
    const refreshNs = this.#opts.refreshMs * 1e6;
    await Promise.all(this.#viewers.map((viewer) => runViewer({
      clock,
      viewer: viewer.index,
      viewers: this.#opts.viewers,
      refreshNs,
      startNs: 0,
      panels: this.#tasks.length,
      lateThresholdNs: this.#opts.lateThresholdMs * 1e6,
      stopped: () => this.#stopping,
      runPanel: (panel) => this.#runPanel(viewer, panel),
      onPanel: (p) => {
        if (!p.ok) return;
        const task = this.#tasks[p.panel]!;
        recordNs(task.histogram, p.doneNs - p.sentNs);
        recordNs(task.response, p.doneNs - p.dueNs);
        recordNs(task.lag, p.sentNs - p.dueNs);
      },
      onRefresh: (r) => {
        this.#started++;
        if (r.late) this.#late++;
        recordNs(this.#refreshLag, r.startNs - r.dueNs);
        if (r.doneNs === null) this.#unfinished++;
        else recordNs(this.#refreshResponse, r.doneNs - r.dueNs);
      },
    })));
  }

  /** One panel on the viewer's connection; false when it failed or did not run. */
  async #runPanel(viewer: Viewer, panel: number): Promise<boolean> {
    if (panel === 0) {
      // A new refresh: draw its site, and reopen a lost connection (once per refresh).
      viewer.site = viewer.prng.below(this.#opts.sites);
      viewer.offline = (await this.#ensureConnected(viewer)) === null;
      if (viewer.offline) this.#withoutConnection++;
    }
    const client = viewer.client;
    if (viewer.offline || !client) return false;
    const task = this.#tasks[panel]!;
    viewer.inFlight = true;
    try {
      const r = await client.query(task.sql, probeParams(task.probe, task.window.interval, viewer.site));
      task.lastRowCount = r.rowCount ?? r.rows.length;
      this.#survival.success();
      return true;
    } catch (err) {
      if (this.#stopping) return false; // cancelled or closed by stop(): not the probe's error
      const state = sqlstateOf(err);
      bump(task.errors, state);
      this.#survival.failure(state);
      // A Citus worker that is down fails a panel over a coordinator connection that stays usable.
      if (connectionGone(err, state)) {
        this.#lossCounted.add(client);
        await this.#drop(viewer);
        viewer.offline = true; // the rest of this refresh waits for the next one's reconnect
      }
      return false;
    } finally {
      viewer.inFlight = false;
    }
  }

  /** The viewer's connection, opening it (and, the first time, choosing the probes) if needed; null when that failed (counted). */
  async #ensureConnected(viewer: Viewer): Promise<pg.Client | null> {
    if (viewer.client) return viewer.client;
    let conn;
    try {
      conn = await openProbeConnection(this.#opts.url, this.#opts.applicationName, this.#opts.statementTimeoutMs);
    } catch (err) {
      bump(this.#connectionErrors, sqlstateOf(err));
      this.#survival.failure(sqlstateOf(err));
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
      if (viewer.client === client) void this.#drop(viewer);
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
    viewer.client = client;
    viewer.backendPid = conn.backendPid;
    this.#connections++;
    return client;
  }

  async #drop(viewer: Viewer): Promise<void> {
    const c = viewer.client;
    viewer.client = null;
    if (c) await closeQuietly(c);
  }

  #buildTasks(runnable: readonly ProbeDef[]): TaskState[] {
    const ordered = runOrder(runnable);
    const tasks: TaskState[] = [];
    // Window-major: both sides of a pair run back to back on the same window.
    for (const window of this.#opts.windows) {
      for (const probe of ordered) {
        tasks.push({ probe, window, sql: renderProbe(probe, this.#opts.rollupTable), histogram: newHistogram(), response: newHistogram(), lag: newHistogram(), errors: new Map(), lastRowCount: null });
      }
    }
    return tasks;
  }

  /** Sleep `ms`, or less when stop() wakes every sleeper. */
  #sleepMs(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  #results(): ProbeResults {
    const tasks: ProbeTaskResult[] = this.#tasks.map((t) => {
      const s = summarize(t.histogram);
      const r = summarize(t.response);
      let errors = 0;
      for (const n of t.errors.values()) errors += n;
      return {
        probe: t.probe.name,
        window: t.window.label,
        histogram: t.histogram,
        responseHistogram: t.response,
        summary: {
          p50Us: s.p50Us, p99Us: s.p99Us, count: s.count, errors, errorsBySqlstate: Object.fromEntries(t.errors), lastRowCount: t.lastRowCount,
          p95Us: s.p95Us, responseP50Us: r.p50Us, responseP95Us: r.p95Us, responseP99Us: r.p99Us, lagP99Us: summarize(t.lag).p99Us,
        },
      };
    });
    const stopNs = this.#stopNs === 0n ? process.hrtime.bigint() : this.#stopNs;
    const ranNs = this.#selected && this.#tasks.length > 0 ? Number(stopNs - this.#startNs) - this.#scheduleStartNs : 0;
    return {
      granularity: this.#opts.granularity,
      rollupTable: this.#opts.rollupTable,
      windows: this.#opts.windows.map((w) => w.label),
      durationMs: this.#startNs === 0n ? 0 : Number(stopNs - this.#startNs) / 1e6,
      tasks,
      skipped: [...this.#skipped],
      connectionErrorsBySqlstate: Object.fromEntries(this.#connectionErrors),
      reconnects: Math.max(0, this.#connections - this.#opts.viewers),
      refreshes: {
        viewers: this.#opts.viewers,
        refreshMs: this.#opts.refreshMs,
        due: ranNs > 0 ? refreshesDue(0, ranNs, this.#opts.viewers, this.#opts.refreshMs * 1e6) : 0,
        started: this.#started,
        late: this.#late,
        unfinished: this.#unfinished,
        withoutConnection: this.#withoutConnection,
        response: summarize(this.#refreshResponse),
        lag: summarize(this.#refreshLag),
      },
      survival: this.#survival,
    };
  }
}
