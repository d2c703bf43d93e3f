/**
 * The server sampler: a RunObserver (Rally's telemetry device) that owns its
 * own connection (application_name `rtbench-sampler`, left out of its own
 * samples) and its own timers. While a step runs it samples pg_stat_activity
 * every `sampleIntervalMs` and the server's counters every second; at the
 * measure phase's boundaries it snapshots pg_stat_statements and the
 * counters; after the load it explains each panel. It returns its figures in
 * `stepEnd`: summary `server`, files `server.csv` and `plans/*.json`, notes.
 * A view the server refuses costs one line in `server.unavailable`; the run
 * goes on.
 */
import type pg from 'pg';
import type { RunObserver, SessionInfo, StepContribution, StepInfo, StepPhase, StepTiming } from '../runner/observer.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import type { MachineFigures, NodeFigures, PlanShape, ServerRole, ServerSummary, StatementFigures } from '../results/run-record.js';
import { connect } from '../targets/postgres.js';
import { maskSecrets } from '../targets/url.js';
import { isConnectionLost, sqlstateName, sqlstateOf } from '../targets/sqlstate.js';
import { SAMPLER_APPLICATION_NAME, roleOf, waitClass, waitLabel } from './roles.js';
import { WaitAggregator, type ActiveSession } from './waits.js';
import { SAMPLER_SQL_TAG, STATEMENTS_SQL, diffStatements, rollupWalPerRun, noteQueryRole, parseStatementRows, type QueryRoles, type StatementRow } from './statements.js';
import { counterResets, counterSeconds, diffCounters, diffTables, lsnToBytes, perRow, type CounterSnapshot } from './counters.js';
import { cpuPressureTotalUs, isLocalPostgres, mainThreadCpuS, parentPid, pidCpuS, serversCpuS } from './machine.js';
import { explainPanels, type PanelTask } from './explain.js';
import type { OnProgress } from '../schedule/progress.js';
import { serverCsv, type MachineSecond } from './server-csv.js';
import { citusNodeFigures, nodeTotals, workerRole } from './citus-nodes.js';

/** Options of a {@link ServerSampler}. */
export interface ServerSamplerOptions {
  /** ms between pg_stat_activity samples; 0 turns wait sampling off (counters and statements are still read). Default 100. */
  readonly sampleIntervalMs?: number;
  /** ms between counter readings for server.csv. Default 1000. */
  readonly counterIntervalMs?: number;
  /**
   * Panels to explain after the measure phase (probe × window with the run's parameters);
   * a function so the probes are loaded only when the step ends. Default: none.
   */
  readonly panels?: (client: pg.Client, step: StepInfo) => Promise<readonly PanelTask[]>;
  /** Whether the server runs on this host (its processes' CPU is read from /proc). Default: detected. */
  readonly local?: boolean;
  /** Epoch ms clock (tests). */
  readonly nowMs?: () => number;
  /** Connection factory (tests). */
  readonly connect?: (url: string) => Promise<pg.Client>;
  /** Progress of explaining the panels after the measure phase (`plans: EXPLAIN ANALYZE`, in panels). */
  readonly onProgress?: OnProgress;
  /** Each second of the step once it is complete, as server.csv will have it (the live page). */
  readonly onSecond?: (s: LiveServerSecond) => void;
}

/** One complete second of the step (s after the origin the sampler saw): server.csv's row, for the live page. */
export interface LiveServerSecond {
  readonly second: number;
  /** Mean active sessions by "role wait-class". */
  readonly waits: Record<string, number>;
  readonly walBytesPerS: number | null;
  readonly serverCores: number | null;
  readonly clientCores: number | null;
  readonly clientMainCores: number | null;
  readonly cpuPressure: number | null;
}

interface MachineReading {
  readonly epochMs: number;
  readonly serverCpuS: number | null;
  readonly mainCpuS: number | null;
  readonly processCpuS: number;
  readonly pressureUs: number | null;
  readonly samplerBackendCpuS: number | null;
}

const TABLES_FILTER = `relname ~ '^http_request' OR relname IN ('latest_rollup', 'rtbench_rollup_state', 'rtbench_rollup_window')`;

/** The one-line reason of a failed query (no password ever). */
const why = (err: unknown): string => maskSecrets(err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

const n = (v: unknown): number => Number(v ?? 0);

/** Statements kept in summary.json (most total time first). */
const STATEMENTS_KEPT = 30;

/** See the module comment. One instance observes one step at a time. */
export class ServerSampler implements RunObserver {
  readonly name = 'server sampler';
  private readonly sampleIntervalMs: number;
  private readonly counterIntervalMs: number;
  private readonly nowMs: () => number;
  private client: pg.Client | null = null;
  private session: SessionInfo | null = null;
  /** Samples are aggregated as they come, on a clock whose origin is the warm-up's start as this observer saw it. */
  private waits = new WaitAggregator();
  private originEpochMs: number | null = null;
  private samplesSkipped = 0;
  private sampleBusy = false;
  private counterBusy = false;
  private sampleTimer: NodeJS.Timeout | null = null;
  private counterTimer: NodeJS.Timeout | null = null;
  private readonly queryRoles: QueryRoles = new Map();
  private readonly unavailable = new Set<string>();
  private counterSql = '';
  private statementsOn = false;
  private snaps: { epochMs: number; snap: Omit<CounterSnapshot, 'atMs'> }[] = [];
  private machine: MachineReading[] = [];
  private postmasters: number[] = [];
  private samplerBackendPid = 0;
  private measureRows = 0;
  /** Citus: the role of each coordinator backend, for the worker sessions it started (their gpid names it). */
  private readonly pidRoles = new Map<number, ServerRole>();
  /** Citus: per worker node, its active sessions sampled with the counters (once a second). */
  private nodeWaits = new Map<string, WaitAggregator>();
  private boundary: Partial<Record<'before' | 'after', Promise<Boundary | null>>> = {};
  private stopped = false;
  /** The connection runs one query at a time: timers and phase boundaries queue here (pg deprecates its own queue). */
  private chain: Promise<unknown> = Promise.resolve();
  /** Set while the connection is lost and being re-established with backoff. */
  private reconnecting: Promise<void> | null = null;
  /** Each loss of the connection: when (epoch ms), why, when it came back, what was missed meanwhile. */
  private outages: Array<{ fromEpochMs: number; toEpochMs: number | null; cause: string; missed: number }> = [];
  /** Live (onSecond): the next second to give, and readings of seconds not given yet. */
  private liveNext = 0;
  private liveMachine = new Map<number, MachineSecond>();
  private liveWal = new Map<number, number>();

  constructor(private readonly opts: ServerSamplerOptions = {}) {
    this.sampleIntervalMs = opts.sampleIntervalMs ?? 100;
    this.counterIntervalMs = opts.counterIntervalMs ?? 1000;
    this.nowMs = opts.nowMs ?? Date.now;
  }

  /** Lines naming the views the server refused or lacks (so far). */
  get refused(): readonly string[] {
    return [...this.unavailable];
  }

  async stepStart(_step: StepInfo, session: SessionInfo): Promise<void> {
    this.reset();
    this.session = session;
    let client: pg.Client;
    try {
      client = await (this.opts.connect ?? ((u: string) => connect(u, SAMPLER_APPLICATION_NAME)))(session.url);
    } catch (err) {
      // The run goes on without the server's view; stepEnd says why.
      this.unavailable.add(`the sampler could not connect: ${why(err)}`);
      return;
    }
    this.client = client;
    client.on('error', () => undefined);
    await client.query(`SET statement_timeout = '10s'`).catch(() => undefined);
    await this.detectViews(client, session);
    await this.detectLocal(client, session);
    if (this.sampleIntervalMs > 0) {
      this.sampleTimer = setInterval(() => this.sampleActivity(), this.sampleIntervalMs);
      this.sampleTimer.unref?.();
    }
    this.counterTimer = setInterval(() => void this.readCounters(), this.counterIntervalMs);
    this.counterTimer.unref?.();
    void this.readCounters();
  }

  /**
   * The connection is gone (a restart, a crash): drop it and reconnect in the background with
   * capped exponential backoff; readings due meanwhile are missed and counted, named once in
   * `server.unavailable` when the step ends.
   */
  private lost(err: unknown): void {
    if (this.reconnecting || !this.client) return;
    const dead = this.client;
    this.client = null;
    this.chain = Promise.resolve();
    this.sampleBusy = false;
    this.counterBusy = false;
    void dead.end().catch(() => undefined);
    const code = sqlstateOf(err);
    const outage = { fromEpochMs: this.nowMs(), toEpochMs: null as number | null, cause: `${code} ${sqlstateName(code)}`.trim(), missed: 0 };
    this.outages.push(outage);
    this.reconnecting = (async () => {
      let delayMs = 100;
      while (!this.stopped && this.session) {
        await new Promise((r) => setTimeout(r, delayMs * (0.5 + Math.random() / 2)));
        if (this.stopped || !this.session) break;
        try {
          const client = await (this.opts.connect ?? ((u: string) => connect(u, SAMPLER_APPLICATION_NAME)))(this.session.url);
          client.on('error', () => undefined);
          await client.query(`SET statement_timeout = '10s'`).catch(() => undefined);
          this.client = client;
          outage.toEpochMs = this.nowMs();
          // A restarted server has a new postmaster (its CPU starts again from zero).
          this.postmasters = [];
          await this.detectLocal(client, this.session).catch(() => undefined);
          return;
        } catch {
          delayMs = Math.min(5000, delayMs * 2);
        }
      }
    })().finally(() => {
      this.reconnecting = null;
    });
  }

  /** A reading that could not be taken because the connection was down. */
  private missed(): void {
    const o = this.outages[this.outages.length - 1];
    if (o && o.toEpochMs === null) o.missed += 1;
  }

  /** Lines naming each outage once (for `server.unavailable`). */
  private outageLines(origin: number): string[] {
    const s = (epochMs: number): string => ((epochMs - origin) / 1000).toFixed(1);
    return this.outages.map((o) => `the server could not be read ${o.toEpochMs === null ? `from ${s(o.fromEpochMs)} s to the end of the step` : `from ${s(o.fromEpochMs)} s to ${s(o.toEpochMs)} s`} (connection lost: ${o.cause}); ${o.missed} readings missed, the sampler reconnected${o.toEpochMs === null ? ' too late' : ''}`);
  }

  phase(phase: StepPhase, atMs = 0, _step?: StepInfo): void {
    if (this.originEpochMs === null) this.originEpochMs = this.nowMs() - atMs;
    if (phase === 'measure') this.boundary.before = this.readBoundary();
    else if (phase === 'drain') this.boundary.after = this.readBoundary();
  }

  interval(row: IntervalRow, _step?: StepInfo): void {
    if (row.phase === 'measure') this.measureRows += row.rows;
  }

  async stepEnd(step: StepInfo, timing: StepTiming): Promise<StepContribution> {
    // Lost at the end (the server restarting): a short, bounded wait for the reconnect; a server gone for good must not hold the run.
    if (this.reconnecting) await Promise.race([this.reconnecting, new Promise((r) => setTimeout(r, 2_000))]);
    for (const line of this.outageLines(timing.startEpochMs)) this.unavailable.add(line);
    const client = this.client;
    if (!client) this.stopTimers(); // also ends a reconnect loop still trying
    if (!client) return this.unavailable.size > 0 ? { notes: [...this.unavailable].map((l) => `server: ${l}`) } : {};
    try {
      // A step driven without phase events (or cut short) gets its boundaries here.
      const before = (await this.boundary.before) ?? null;
      const after = (await (this.boundary.after ?? (this.boundary.after = this.readBoundary()))) ?? null;
      this.stopTimers();
      await this.waitIdle();
      await this.readCounters();
      const origin = timing.startEpochMs;
      const rel = (epochMs: number): number => epochMs - origin;
      const waits = this.waits;
      const measureSamples = waits.seconds(timing.measureStartMs, timing.measureEndMs).reduce((a, s) => a + s.samples, 0);

      let counters: ServerSummary['counters'] = null;
      let tables: ServerSummary['tables'] = {};
      let statements: StatementFigures[] | null = null;
      let rollupWal: number | null = null;
      if (before && after) {
        const b: CounterSnapshot = { ...before.snap, atMs: rel(before.epochMs) };
        const a: CounterSnapshot = { ...after.snap, atMs: rel(after.epochMs) };
        const between = this.snaps.map((x) => ({ ...x.snap, atMs: rel(x.epochMs) }));
        counters = diffCounters(b, a, this.measureRows, between);
        tables = diffTables(b, a);
        const resets = counterResets([b, ...between.filter((x) => x.atMs > b.atMs && x.atMs < a.atMs), a]);
        if (resets.length > 0) {
          this.unavailable.add(`server counters went back to zero at ${resets.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')} (the server restarted): counted as resets, the counts between the last reading before and the first after are lost`);
        }
        if (before.statements && after.statements) {
          const all = diffStatements(before.statements, after.statements, this.queryRoles, Infinity);
          rollupWal = rollupWalPerRun(all);
          statements = all.slice(0, STATEMENTS_KEPT);
        }
      }
      const files: Record<string, string> = {};
      let plans: PlanShape[] = [];
      if (this.opts.panels) {
        const tasks = await this.opts.panels(client, step).catch((err: unknown) => {
          this.unavailable.add(`plans: the panels could not be listed: ${why(err)}`);
          return [] as PanelTask[];
        });
        const explained = await explainPanels(client, tasks, (line) => this.unavailable.add(line), this.opts.onProgress);
        plans = explained.shapes;
        Object.assign(files, explained.files);
      }
      let nodes: NodeFigures[] | undefined;
      if (this.session?.citus) {
        nodes = await citusNodeFigures(client, { before: before?.nodeWal ?? null, after: after?.nodeWal ?? null }).then((list) => list.map((node) => {
          const w = this.nodeWaits.get(node.node)?.summary(timing.measureStartMs, timing.measureEndMs);
          return w && Object.keys(w).length > 0 ? { ...node, waits: w } : node;
        }), (err: unknown) => {
          this.unavailable.add(`citus nodes: ${why(err)}`);
          return undefined;
        });
      }
      // On Citus the rows are written on the workers: the WAL per row is the whole cluster's.
      const totals = nodes ? nodeTotals(nodes) : null;
      if (counters && totals?.walBytes != null) {
        const measureS = counters.measureMs / 1000;
        counters = { ...counters, walBytes: totals.walBytes, walMbPerS: measureS > 0 ? totals.walBytes / 1e6 / measureS : 0 };
      }
      if (nodes && rollupWal !== null) {
        // pg_stat_statements on the coordinator sees only its own WAL; the workers' is not split by statement.
        rollupWal = null;
        this.unavailable.add('rollup WAL per run: not attributed on Citus (the workers write it; their WAL is not split by statement)');
      }
      const machine = this.machineFigures(rel, timing);
      const server: ServerSummary = {
        sampleIntervalMs: this.sampleIntervalMs,
        samplesSkipped: this.samplesSkipped,
        waits: waits.summary(timing.measureStartMs, timing.measureEndMs),
        statements,
        perRow: counters ? perRow(counters) : { walBytes: null, statWalBytes: null, walRecords: null, fpi: null, buffersWritten: null, blocksTouched: null },
        counters,
        tables,
        rollupWalBytesPerRun: rollupWal,
        plans,
        ...(nodes && totals ? { nodes, nodesTotal: totals } : {}),
        ...(machine ? { machine } : {}),
        unavailable: [...this.unavailable],
      };
      const counterSnaps = this.snaps.map((s) => ({ ...s.snap, atMs: rel(s.epochMs) }));
      files['server.csv'] = serverCsv({
        waits: waits.seconds(),
        counters: counterSeconds(counterSnaps),
        machine: this.machineSeconds(rel),
        measureStartMs: timing.measureStartMs,
        measureEndMs: timing.measureEndMs,
      });
      const notes: string[] = [];
      if (this.sampleIntervalMs > 0 && measureSamples < 10) notes.push(`server waits: insufficient samples (n=${measureSamples}) over the measure phase`);
      for (const line of this.unavailable) notes.push(`server: ${line}`);
      return { summary: { server }, files, notes };
    } finally {
      this.stopTimers();
      await this.waitIdle();
      await client.end().catch(() => undefined);
      this.client = null;
    }
  }

  private reset(): void {
    this.outages = [];
    this.waits = new WaitAggregator();
    this.originEpochMs = null;
    this.samplesSkipped = 0;
    this.snaps = [];
    this.machine = [];
    this.liveNext = 0;
    this.liveMachine = new Map();
    this.liveWal = new Map();
    this.measureRows = 0;
    this.boundary = {};
    this.stopped = false;
    this.queryRoles.clear();
    this.pidRoles.clear();
    this.unavailable.clear();
    this.nodeWaits = new Map();
  }

  /** Run `fn` on the connection after everything queued before it. */
  private serial<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('the sampler is not connected'));
    const next = this.chain.then(() => fn(client));
    this.chain = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      if (this.client === client && (isConnectionLost(sqlstateOf(err)) || !this.isUsable(client))) {
        this.lost(err);
        throw new LostConnection();
      }
      throw err;
    });
  }

  /** pg marks a client whose socket failed; it then refuses every query. */
  private isUsable(client: pg.Client): boolean {
    return (client as unknown as { _queryable?: boolean })._queryable !== false;
  }

  private stopTimers(): void {
    this.stopped = true;
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    if (this.counterTimer) clearInterval(this.counterTimer);
    this.sampleTimer = this.counterTimer = null;
  }

  private async waitIdle(): Promise<void> {
    await this.chain;
    for (let i = 0; i < 200 && (this.sampleBusy || this.counterBusy); i++) await new Promise((r) => setTimeout(r, 10));
    await this.chain;
  }

  /** Which views this server lets us read; the counter query is built of those. */
  private async detectViews(client: pg.Client, session: SessionInfo): Promise<void> {
    const parts = [`pg_current_wal_insert_lsn()::text AS lsn`];
    const probe = async (label: string, sql: string, expr: string, hint: string): Promise<void> => {
      try {
        await client.query(sql);
        parts.push(expr);
      } catch (err) {
        this.unavailable.add(`${label} not read (${hint}): ${why(err)}`);
      }
    };
    try {
      await client.query('SELECT pg_current_wal_insert_lsn()');
    } catch (err) {
      this.unavailable.add(`pg_current_wal_insert_lsn() refused (a standby?): WAL per row not measured: ${why(err)}`);
      parts[0] = `NULL::text AS lsn`;
    }
    await probe('pg_stat_wal', 'SELECT wal_fpi FROM pg_stat_wal', `(SELECT json_build_object('records', wal_records, 'fpi', wal_fpi, 'bytes', wal_bytes) FROM pg_stat_wal) AS wal`, 'PostgreSQL 14 or later');
    await probe('pg_stat_bgwriter', 'SELECT checkpoints_timed FROM pg_stat_bgwriter',
      `(SELECT json_build_object('ct', checkpoints_timed, 'cr', checkpoints_req, 'bw', buffers_checkpoint + buffers_clean + buffers_backend) FROM pg_stat_bgwriter) AS bgw`,
      'PostgreSQL 16 or earlier; 17 moved checkpoints to pg_stat_checkpointer');
    await probe('pg_stat_database', 'SELECT xact_commit FROM pg_stat_database LIMIT 1',
      `(SELECT json_build_object('c', xact_commit, 'r', xact_rollback, 'h', blks_hit, 'rd', blks_read, 't', temp_bytes) FROM pg_stat_database WHERE datname = current_database()) AS db`, 'grant pg_read_all_stats');
    await probe('pg_stat_user_tables', 'SELECT n_tup_ins FROM pg_stat_user_tables LIMIT 1',
      `(SELECT json_object_agg(relname, json_build_object('i', n_tup_ins, 'u', n_tup_upd, 'd', n_tup_del, 'dead', n_dead_tup, 'av', autovacuum_count, 'aa', autoanalyze_count)) FROM pg_stat_user_tables WHERE ${TABLES_FILTER}) AS tables`, 'grant pg_read_all_stats');
    this.counterSql = `${SAMPLER_SQL_TAG} SELECT ${parts.join(', ')}`;

    // pg_stat_statements: the throwaway cluster preloads it; on --url it is used only when installed.
    const ext = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_extension WHERE extname = 'pg_stat_statements'`);
    if (n(ext.rows[0]?.n) === 0 && session.targetKind === 'embedded') {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').catch(() => undefined);
    }
    try {
      await client.query('SELECT calls FROM pg_stat_statements LIMIT 1');
      this.statementsOn = true;
    } catch (err) {
      this.unavailable.add(
        'pg_stat_statements not installed: statements by role skipped (add pg_stat_statements to shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements)' +
        (n(ext.rows[0]?.n) > 0 ? `: ${why(err)}` : ''),
      );
    }
  }

  /** The server runs here when our backend's parent is a local `postgres` process. */
  private async detectLocal(client: pg.Client, session: SessionInfo): Promise<void> {
    if (this.opts.local === false) return;
    const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid').catch(() => null);
    const pid = r?.rows[0]?.pid;
    if (pid === undefined || !isLocalPostgres(pid)) return;
    const pm = parentPid(pid);
    if (pm === null || !isLocalPostgres(pm)) return;
    this.samplerBackendPid = pid;
    this.postmasters = [pm];
    if (session.citus) {
      // Local workers: each worker's postmaster, found through a backend of ours on it.
      const w = await client.query<{ result: string; success: boolean }>('SELECT result, success FROM run_command_on_workers($$SELECT pg_backend_pid()$$)').catch(() => null);
      for (const row of w?.rows ?? []) {
        const wpid = Number(row.result);
        if (!row.success || !isLocalPostgres(wpid)) continue;
        const wpm = parentPid(wpid);
        if (wpm !== null && !this.postmasters.includes(wpm)) this.postmasters.push(wpm);
      }
    }
  }

  private sampleActivity(): void {
    const client = this.client;
    if (!client) {
      if (!this.stopped) this.missed();
      return;
    }
    if (this.stopped) return;
    if (this.sampleBusy) {
      this.samplesSkipped += 1;
      return;
    }
    this.sampleBusy = true;
    this.serial((c) => {
      // The sample's time is when it is sent (it may have waited in the queue behind a counter read).
      const sentMs = this.nowMs();
      return c.query<{ pid: number; app: string | null; bt: string | null; state: string | null; wet: string | null; we: string | null; qid: string | null }>(
      `${SAMPLER_SQL_TAG} SELECT pid, application_name AS app, backend_type AS bt, state, wait_event_type AS wet, wait_event AS we, query_id::text AS qid
         FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state IS NOT NULL`,
      ).then((r) => ({ r, epochMs: sentMs }));
    }).then(({ r, epochMs }) => {
      const sessions: ActiveSession[] = [];
      for (const row of r.rows) {
        const role = roleOf(row.app, row.bt);
        if (role === null) continue;
        noteQueryRole(this.queryRoles, row.qid, role);
        if (this.session?.citus) this.pidRoles.set(row.pid, role);
        if (row.state === 'active') sessions.push({ role, wait: waitLabel(row.wet, row.we) });
      }
      if (this.originEpochMs === null) this.originEpochMs = epochMs;
      this.waits.add(epochMs - this.originEpochMs, sessions);
    }, (err: unknown) => {
      if (err instanceof LostConnection) this.missed();
      else this.unavailable.add(`pg_stat_activity sample failed: ${why(err)}`);
    }).finally(() => {
      this.sampleBusy = false;
    });
  }

  private async snapshot(client: pg.Client): Promise<Omit<CounterSnapshot, 'atMs'>> {
    const r = await client.query<Record<string, unknown>>(this.counterSql);
    const row = r.rows[0] ?? {};
    const j = (k: string): Record<string, unknown> | null => (row[k] && typeof row[k] === 'object' ? (row[k] as Record<string, unknown>) : null);
    const wal = j('wal');
    const bgw = j('bgw');
    const db = j('db');
    const tables: CounterSnapshot['tables'] = {};
    for (const [name, t] of Object.entries(j('tables') ?? {})) {
      const v = t as Record<string, unknown>;
      tables[name] = { ins: n(v.i), upd: n(v.u), del: n(v.d), dead: n(v.dead), autovacuum: n(v.av), autoanalyze: n(v.aa) };
    }
    return {
      lsnBytes: typeof row.lsn === 'string' ? lsnToBytes(row.lsn) : 0,
      wal: wal ? { records: n(wal.records), fpi: n(wal.fpi), bytes: n(wal.bytes) } : null,
      bgwriter: bgw ? { checkpointsTimed: n(bgw.ct), checkpointsReq: n(bgw.cr), buffersWritten: n(bgw.bw) } : null,
      database: db ? { commits: n(db.c), rollbacks: n(db.r), blksHit: n(db.h), blksRead: n(db.rd), tempBytes: n(db.t) } : null,
      tables,
    };
  }

  private async readCounters(): Promise<void> {
    const client = this.client;
    if (!client) {
      if (!this.stopped) this.missed();
      return;
    }
    if (this.counterBusy || !this.counterSql) return;
    this.counterBusy = true;
    try {
      await this.serial(async (c) => {
        const epochMs = this.nowMs();
        this.readMachine(epochMs);
        const snap = await this.snapshot(c);
        this.snaps.push({ epochMs, snap });
        this.emitLive(epochMs);
        if (this.session?.citus) await this.sampleWorkers(c, epochMs);
      });
    } catch (err) {
      if (err instanceof LostConnection) this.missed();
      else this.unavailable.add(`server counters not read: ${why(err)}`);
    } finally {
      this.counterBusy = false;
    }
  }

  /** Citus: each worker's active sessions, by the role of the coordinator backend that started them. */
  private async sampleWorkers(client: pg.Client, epochMs: number): Promise<void> {
    const r = await client.query<{ node: string; success: boolean; result: string }>(
      `${SAMPLER_SQL_TAG} SELECT nodename || ':' || nodeport AS node, success, result FROM run_command_on_workers($$SELECT coalesce(json_agg(json_build_object('a', application_name, 'b', backend_type, 't', wait_event_type, 'e', wait_event)), '[]') FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()$$)`,
    ).catch((err: unknown) => {
      this.unavailable.add(`citus: worker activity not sampled: ${why(err)}`);
      return null;
    });
    if (!r) return;
    const at = epochMs - (this.originEpochMs ?? epochMs);
    for (const row of r.rows) {
      if (!row.success) continue;
      let list: Array<{ a: string | null; b: string | null; t: string | null; e: string | null }>;
      try {
        list = JSON.parse(row.result) as typeof list;
      } catch {
        continue;
      }
      const sessions: ActiveSession[] = [];
      for (const x of list) {
        const role = workerRole(x.a, x.b, this.pidRoles);
        if (role !== null) sessions.push({ role, wait: waitLabel(x.t, x.e) });
      }
      let agg = this.nodeWaits.get(row.node);
      if (!agg) this.nodeWaits.set(row.node, (agg = new WaitAggregator()));
      agg.add(at, sessions);
    }
  }

  private readMachine(epochMs: number): void {
    if (this.postmasters.length === 0) return;
    const cpu = process.cpuUsage();
    this.machine.push({
      epochMs,
      serverCpuS: serversCpuS(this.postmasters),
      mainCpuS: mainThreadCpuS(),
      processCpuS: (cpu.user + cpu.system) / 1e6,
      pressureUs: cpuPressureTotalUs(),
      samplerBackendCpuS: this.samplerBackendPid ? pidCpuS(this.samplerBackendPid) : null,
    });
  }

  /** Counters, statements and (Citus) each node's WAL position at a phase boundary. */
  private async readBoundary(): Promise<Boundary | null> {
    if (!this.client || !this.counterSql) return null;
    return this.serial((client) => this.boundaryOn(client)).catch(() => null);
  }

  private async boundaryOn(client: pg.Client): Promise<Boundary | null> {
    const epochMs = this.nowMs();
    try {
      const snap = await this.snapshot(client);
      let statements: StatementRow[] | null = null;
      if (this.statementsOn) {
        statements = await client.query<Record<string, unknown>>(STATEMENTS_SQL).then((r) => parseStatementRows(r.rows), (err: unknown) => {
          this.unavailable.add(`pg_stat_statements not read: ${why(err)}`);
          return null;
        });
      }
      let nodeWal: Record<string, number> | null = null;
      if (this.session?.citus) {
        nodeWal = await client.query<{ node: string; result: string; success: boolean }>(
          `${SAMPLER_SQL_TAG} SELECT nodename || ':' || nodeport AS node, result, success FROM run_command_on_workers($$SELECT pg_current_wal_insert_lsn()::text$$)`,
        ).then((r) => {
          const out: Record<string, number> = { coordinator: snap.lsnBytes };
          for (const row of r.rows) if (row.success) out[row.node] = lsnToBytes(row.result);
          return out;
        }, () => null);
      }
      return { epochMs, snap, statements, nodeWal };
    } catch (err) {
      if (!this.isUsable(client) || isConnectionLost(sqlstateOf(err))) throw err; // serial() reconnects
      this.unavailable.add(`server counters at a phase boundary not read: ${why(err)}`);
      return null;
    }
  }

  private machineSeconds(rel: (epochMs: number) => number): MachineSecond[] {
    const out: MachineSecond[] = [];
    for (let i = 1; i < this.machine.length; i++) {
      const m = machineSecond(this.machine[i]!, this.machine[i - 1]!, rel);
      if (m) out.push(m);
    }
    return out;
  }

  /** Give onSecond every second that is complete (waits sampled through it), with the counters' and /proc's readings of it. */
  private emitLive(epochMs: number): void {
    const cb = this.opts.onSecond;
    const origin = this.originEpochMs;
    if (!cb || origin === null) return;
    const rel = (e: number): number => e - origin;
    const [mb, ma] = this.machine.slice(-2);
    const m = ma && mb ? machineSecond(ma, mb, rel) : null;
    if (m) this.liveMachine.set(m.second, m);
    const pair = this.snaps.slice(-2).map((x) => ({ ...x.snap, atMs: rel(x.epochMs) }));
    for (const c of counterSeconds(pair)) this.liveWal.set(c.second, c.walBytesPerS);
    const done = Math.floor(rel(epochMs) / 1000) - 1;
    for (let sec = Math.max(0, this.liveNext); sec <= done; sec++) {
      const w = this.waits.seconds(sec * 1000, (sec + 1) * 1000)[0];
      const waits: Record<string, number> = {};
      for (const [role, r] of Object.entries(w?.active ?? {})) {
        for (const [label, v] of Object.entries(r)) waits[`${role} ${waitClass(label)}`] = (waits[`${role} ${waitClass(label)}`] ?? 0) + v;
      }
      const mm = this.liveMachine.get(sec);
      cb({ second: sec, waits, walBytesPerS: this.liveWal.get(sec) ?? null, serverCores: mm?.serverCores ?? null, clientCores: mm?.clientCores ?? null, clientMainCores: mm?.clientMainCores ?? null, cpuPressure: mm?.cpuPressure ?? null });
      this.liveMachine.delete(sec);
      this.liveWal.delete(sec);
    }
    this.liveNext = Math.max(this.liveNext, done + 1);
  }

  private machineFigures(rel: (epochMs: number) => number, timing: StepTiming): MachineFigures | undefined {
    if (this.postmasters.length === 0) return undefined;
    const secs = this.machineSeconds(rel).filter((m) => m.second * 1000 >= timing.measureStartMs && m.second * 1000 < timing.measureEndMs);
    const mean = (k: keyof Omit<MachineSecond, 'second'>): number | null => {
      const xs = secs.map((m) => m[k]).filter((x): x is number => x !== null);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    };
    const pressures = secs.map((m) => m.cpuPressure).filter((x): x is number => x !== null);
    const clientCores = mean('clientCores');
    const mainCores = mean('clientMainCores');
    const measureS = (timing.measureEndMs - timing.measureStartMs) / 1000;
    const loadCores = clientCores !== null && mainCores !== null ? Math.max(0, clientCores - mainCores) : null;
    return {
      serverCores: mean('serverCores'),
      clientCores,
      clientMainCores: mainCores,
      loadThreadsCpuUsPerRow: loadCores !== null && this.measureRows > 0 ? (loadCores * measureS * 1e6) / this.measureRows : null,
      cpuPressure: pressures.length ? pressures.reduce((a, b) => a + b, 0) / pressures.length : null,
      cpuPressureMax: pressures.length ? Math.max(...pressures) : null,
      samplerServerCores: mean('samplerServerCores'),
      seconds: secs.length,
    };
  }
}

/** The second between two /proc readings (b before a), or null when no time passed. */
function machineSecond(a: MachineReading, b: MachineReading, rel: (epochMs: number) => number): MachineSecond | null {
  const s = (a.epochMs - b.epochMs) / 1000;
  if (s <= 0) return null;
  // A CPU total that went backwards is a new postmaster (a restart): that second is unknown, never negative.
  const d = (x: number | null, y: number | null): number | null => (x === null || y === null || x < y ? null : (x - y) / s);
  return {
    second: Math.floor(rel(a.epochMs) / 1000),
    serverCores: d(a.serverCpuS, b.serverCpuS),
    clientCores: (a.processCpuS - b.processCpuS) / s,
    clientMainCores: d(a.mainCpuS, b.mainCpuS),
    // A share of the second; the two readings' own jitter can push it a little over 1.
    cpuPressure: a.pressureUs === null || b.pressureUs === null ? null : Math.min(1, (a.pressureUs - b.pressureUs) / 1e6 / s),
    samplerServerCores: d(a.samplerBackendCpuS, b.samplerBackendCpuS),
  };
}

/** A query failed because the connection is gone (the sampler reconnects; the reading is missed). */
class LostConnection extends Error {
  constructor() {
    super('the sampler lost its connection');
  }
}

interface Boundary {
  readonly epochMs: number;
  readonly snap: Omit<CounterSnapshot, 'atMs'>;
  readonly statements: StatementRow[] | null;
  readonly nodeWal: Record<string, number> | null;
}

export type { PanelTask };
export type { ServerRole };
