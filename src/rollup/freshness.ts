/**
 * Dashboard freshness, measured: how long after an event commits does the
 * rollup table count it?
 *
 * Every ~2 s the probe inserts a marker row into http_request on its own
 * connection, with a site_id outside the load's range (default −1), and notes
 * the time COMMIT returned (hrtime). A second connection polls the rollup table
 * every ~250 ms (an indexed read of that site's rows) and records, per marker,
 * the first poll whose count includes it: freshness = that poll's send time −
 * commit time, in an HDR histogram (µs; resolution ≈ the poll interval).
 *
 * Markers are real rows: the audit counts them on both sides (raw and rollup),
 * which leaves lost/duplicated counts valid. The probe must be the only writer
 * of its site_id, and the rollup's country counters for that site show the
 * country 'rtbench'.
 */
import type { Client } from 'pg';
import { connectionGone, sqlstateOf } from '../targets/sqlstate.js';
import { SurvivalTracker } from '../metrics/part-survival.js';
import { newHistogram, recordNs, type Histogram } from '../metrics/histogram.js';
import { connect } from '../targets/postgres.js';
import { sqlIdent, type Granularity } from './template.js';

/** Options of {@link FreshnessProbe}. */
export interface FreshnessProbeOptions {
  readonly url: string;
  /** Rollup table to poll, e.g. http_request_1min. */
  readonly table: string;
  readonly granularityMin: Granularity;
  /** site_id of the markers, outside the load's range (default −1). */
  readonly siteId?: number;
  /** Time between markers (default 2000 ms). */
  readonly markerIntervalMs?: number;
  /** Time between polls of the rollup table (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** A marker not seen this long after its commit is given up (default 2 periods + 2 min). */
  readonly giveUpMs?: number;
  /** Connection factory (default: targets/postgres connect, application_name rtbench-freshness). */
  readonly connect?: () => Promise<Client>;
  /** Epoch ms clock of the survival record (tests). */
  readonly nowMs?: () => number;
}

/** What the probe measured, returned by {@link FreshnessProbe.stop}. */
export interface FreshnessResult {
  /** Commit-to-visible-in-rollup times of the markers seen, µs. */
  readonly histogram: Histogram;
  readonly markersInserted: number;
  readonly markersSeen: number;
  /** Not seen by stop(), given-up ones included (the tutorial loses some for good). */
  readonly markersUnseen: number;
  /** Of the unseen, those older than giveUpMs. */
  readonly markersGivenUp: number;
  /**
   * Unseen markers recorded in `histogram` with their age when the step ended (or when given
   * up): censored samples, their freshness is at least that, so the percentiles are never
   * better than the truth. Absent in runs of older rtbench.
   */
  readonly markersCensored?: number;
  /** Counted by the rollup beyond the markers inserted in their period (double counting). */
  readonly overCounted: number;
  readonly errorsBySqlstate: Record<string, number>;
  /** Marker inserts and polls across outages (epoch ms): a failure opens an outage, the next success ends it. */
  readonly survival: SurvivalTracker;
  /** When a poll last saw a marker for the first time, epoch ms; null when none was seen. */
  readonly lastSeenEpochMs: number | null;
  /** Every reading in time order: [epoch ms, µs, 1 if censored (never seen, its age then) else 0]. */
  readonly timeline: ReadonlyArray<readonly [number, number, 0 | 1]>;
}

/**
 * Which markers a rollup count covers. Markers of one period are inserted one
 * after another on one connection, so whatever rolls a period up sees a prefix
 * of them: a count of c for a period means its first c markers. Pure.
 */
export class MarkerBook {
  /** period start (ms) → commit times (ns) in insertion order, and how many are seen. */
  private readonly periods = new Map<number, { commitNs: number[]; seen: number; excess: number; inDoubt: number }>();
  private retiredExcess = 0;
  inserted = 0;
  seen = 0;
  givenUp = 0;

  add(periodMs: number, commitNs: number): void {
    let p = this.periods.get(periodMs);
    if (!p) this.periods.set(periodMs, (p = { commitNs: [], seen: 0, excess: 0, inDoubt: 0 }));
    p.commitNs.push(commitNs);
    this.inserted++;
  }

  /**
   * A marker insert of period `periodMs` failed as its connection was lost (a restart): it may
   * have committed all the same, so the rollup counting one more than inserted there is not
   * double counting.
   */
  addInDoubt(periodMs: number): void {
    const p = this.periods.get(periodMs);
    if (p) p.inDoubt++;
    else this.periods.set(periodMs, { commitNs: [], seen: 0, excess: 0, inDoubt: 1 });
  }

  /** Earliest period start with unseen markers, or undefined. */
  oldestPending(): number | undefined {
    let min: number | undefined;
    for (const [ms, p] of this.periods) if (p.seen < p.commitNs.length && (min === undefined || ms < min)) min = ms;
    return min;
  }

  /**
   * Apply counts read from the rollup (period start ms → marker count) at
   * `seenAtNs`; returns the freshness (ns) of each marker seen for the first time.
   */
  observe(counts: ReadonlyMap<number, number>, seenAtNs: number): number[] {
    const fresh: number[] = [];
    for (const [ms, count] of counts) {
      const p = this.periods.get(ms);
      if (!p) continue; // a period with no pending marker of ours
      const upTo = Math.min(count, p.commitNs.length);
      for (let i = p.seen; i < upTo; i++) fresh.push(Math.max(0, seenAtNs - p.commitNs[i]!));
      if (upTo > p.seen) {
        this.seen += upTo - p.seen;
        p.seen = upTo;
      }
      p.excess = Math.max(p.excess, count - p.commitNs.length - p.inDoubt);
    }
    return fresh;
  }

  /** Ages (ns) of the markers given up, when they were given up (censored freshness). */
  readonly givenUpAgesNs: number[] = [];

  /**
   * Give up markers committed before `beforeNs` that are still unseen (their age at `atNs` is
   * kept as a censored sample); drop fully seen periods.
   */
  expire(beforeNs: number, atNs: number = beforeNs): void {
    for (const [ms, p] of this.periods) {
      const last = p.commitNs[p.commitNs.length - 1] ?? 0;
      if (last >= beforeNs) continue;
      this.givenUp += p.commitNs.length - p.seen;
      for (let i = p.seen; i < p.commitNs.length; i++) this.givenUpAgesNs.push(Math.max(0, atNs - p.commitNs[i]!));
      this.retiredExcess += p.excess;
      this.periods.delete(ms);
    }
  }

  /** Markers the rollup counted beyond those inserted, summed over periods (double counting). */
  get overCounted(): number {
    let n = this.retiredExcess;
    for (const p of this.periods.values()) n += p.excess;
    return n;
  }

  /**
   * Ages (ns) at `atNs` of every marker never seen, given-up ones with their age when given
   * up: censored samples (the freshness is at least this), recorded so a percentile is never
   * better than the truth.
   */
  unseenAges(atNs: number): number[] {
    const out = [...this.givenUpAgesNs];
    for (const p of this.periods.values()) for (let i = p.seen; i < p.commitNs.length; i++) out.push(Math.max(0, atNs - p.commitNs[i]!));
    return out;
  }

  /** Markers neither seen nor given up. */
  get pending(): number {
    return this.inserted - this.seen - this.givenUp;
  }
}

const nowNs = (): number => Number(process.hrtime.bigint());

/** Inserts markers and watches the rollup table for them. One start(), one stop(). */
export class FreshnessProbe {
  private readonly opts: FreshnessProbeOptions;
  private readonly siteId: number;
  private readonly markerIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly giveUpMs: number;
  private readonly connectFn: () => Promise<Client>;
  private readonly book = new MarkerBook();
  private readonly histogram = newHistogram();
  private readonly errors: Record<string, number> = {};
  private readonly survival: SurvivalTracker;
  private lastSeenEpochMs: number | null = null;
  private readonly readings: Array<readonly [number, number, 0 | 1]> = [];
  private readonly clients: { writer?: Client | undefined; reader?: Client | undefined } = {};
  private readonly insertSql: string;
  private readonly pollSql: string;
  private stopping = false;
  private markersStopped = false;
  private markerLoop: Promise<void> | undefined;
  private pollLoop: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();

  constructor(opts: FreshnessProbeOptions) {
    this.opts = opts;
    this.siteId = opts.siteId ?? -1;
    this.markerIntervalMs = opts.markerIntervalMs ?? 2000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 250;
    this.giveUpMs = opts.giveUpMs ?? 2 * opts.granularityMin * 60_000 + 120_000;
    if (!Number.isInteger(this.siteId)) throw new RangeError(`freshness marker site_id ${this.siteId} must be an integer`);
    this.connectFn = opts.connect ?? (() => connect(opts.url, 'rtbench-freshness'));
    this.survival = new SurvivalTracker(opts.nowMs);
    this.insertSql =
      `INSERT INTO http_request (site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec)
       VALUES ($1, clock_timestamp(), 'rtbench:freshness-marker', 'rtbench', '0.0.0.0', 200, 0)
       RETURNING ingest_time`;
    this.pollSql =
      `SELECT ingest_time AS period, sum(request_count)::bigint::text AS n FROM ${sqlIdent(opts.table)}
        WHERE site_id = $1 AND ingest_time >= $2 GROUP BY 1`;
  }

  /** Start inserting markers and polling. */
  start(): void {
    this.markerLoop = this.every(this.markerIntervalMs, () => this.insertMarker(), () => this.markersStopped);
    this.pollLoop = this.every(this.pollIntervalMs, () => this.poll(), () => false);
  }

  /**
   * Stop inserting markers (polling goes on). Call it before a final rollup,
   * so that no marker lands after it and shows as unseen.
   */
  async stopMarkers(): Promise<void> {
    this.markersStopped = true;
    for (const w of this.wakers) w();
    await this.markerLoop;
  }

  /** Stop, poll one last time (a final rollup may have run), close the connections. */
  async stop(): Promise<FreshnessResult> {
    this.stopping = true;
    this.markersStopped = true;
    for (const w of this.wakers) w();
    await Promise.all([this.markerLoop, this.pollLoop]);
    await this.poll();
    for (const c of [this.clients.writer, this.clients.reader]) await c?.end().catch(() => undefined);
    const censored = this.book.unseenAges(nowNs());
    const endMs = Date.now();
    for (const ns of censored) {
      recordNs(this.histogram, ns);
      this.readings.push([endMs, Math.floor(ns / 1000), 1]);
    }
    return {
      histogram: this.histogram,
      markersInserted: this.book.inserted,
      markersSeen: this.book.seen,
      markersUnseen: this.book.inserted - this.book.seen,
      markersGivenUp: this.book.givenUp,
      markersCensored: censored.length,
      overCounted: this.book.overCounted,
      errorsBySqlstate: { ...this.errors },
      survival: this.survival,
      lastSeenEpochMs: this.lastSeenEpochMs,
      timeline: this.readings,
    };
  }

  /**
   * Live, while the step runs: the readings so far ([epoch ms, µs, 0]; read them only) and the age
   * of the oldest marker not seen yet, µs (null: none pending).
   */
  live(): { readonly readings: ReadonlyArray<readonly [number, number, 0 | 1]>; readonly oldestUnseenUs: number | null } {
    const ages = this.book.unseenAges(nowNs());
    return { readings: this.readings, oldestUnseenUs: ages.length > 0 ? Math.floor(Math.max(...ages) / 1000) : null };
  }

  private async every(intervalMs: number, fn: () => Promise<void>, halted: () => boolean): Promise<void> {
    const start = performance.now();
    for (let k = 0; !this.stopping && !halted(); ) {
      await fn();
      k = Math.floor((performance.now() - start) / intervalMs) + 1;
      const wait = start + k * intervalMs - performance.now();
      if (wait > 0 && !this.stopping && !halted()) {
        await new Promise<void>((resolve) => {
          const waker = (): void => {
            clearTimeout(timer);
            this.wakers.delete(waker);
            resolve();
          };
          const timer = setTimeout(waker, wait);
          this.wakers.add(waker);
        });
      }
    }
  }

  private async withClient(role: 'writer' | 'reader', fn: (c: Client) => Promise<void>, onLost?: () => void): Promise<void> {
    let client = this.clients[role];
    try {
      client ??= this.clients[role] = await this.connectFn();
    } catch (err) {
      // A failed connect carries the driver's code (57P03 while the server starts, 08001 refused).
      const state = sqlstateOf(err);
      this.errors[state] = (this.errors[state] ?? 0) + 1;
      this.survival.failure(state);
      return;
    }
    try {
      await fn(client);
      this.survival.success();
    } catch (err) {
      const state = sqlstateOf(err);
      this.errors[state] = (this.errors[state] ?? 0) + 1;
      this.survival.failure(state);
      // Its backend ended (here or, on Citus, on a worker): the statement may have committed.
      if (connectionGone(err, state) || state === '57P01' || state === '57P02') onLost?.();
      if (connectionGone(err, state)) {
        this.clients[role] = undefined;
        await client.end().catch(() => undefined);
      }
    }
  }

  private insertMarker(): Promise<void> {
    const periodMs = this.opts.granularityMin * 60_000;
    // Should the connection die during the INSERT, the marker may have committed: its period notes it.
    const doubtful = Math.floor(Date.now() / periodMs) * periodMs;
    return this.withClient('writer', async (c) => {
      const r = await c.query<{ ingest_time: Date }>(this.insertSql, [this.siteId]);
      const committedNs = nowNs(); // autocommit: the INSERT has committed when its result arrives
      const at = r.rows[0]?.ingest_time;
      // The period client-side: Citus allows only IMMUTABLE functions in RETURNING, and
      // date_trunc/date_bin on timestamptz are STABLE. Periods are epoch-aligned whole minutes.
      if (at) this.book.add(Math.floor(at.getTime() / periodMs) * periodMs, committedNs);
    }, () => this.book.addInDoubt(doubtful));
  }

  private poll(): Promise<void> {
    const oldest = this.book.oldestPending();
    if (oldest === undefined) return Promise.resolve();
    return this.withClient('reader', async (c) => {
      const sentNs = nowNs();
      const sentMs = Date.now();
      const r = await c.query<{ period: Date; n: string }>(this.pollSql, [this.siteId, new Date(oldest)]);
      const counts = new Map(r.rows.map((row) => [row.period.getTime(), Number(row.n)] as const));
      const fresh = this.book.observe(counts, sentNs);
      for (const ns of fresh) {
        recordNs(this.histogram, ns);
        this.readings.push([sentMs, Math.floor(ns / 1000), 0]);
      }
      if (fresh.length > 0) this.lastSeenEpochMs = (this.opts.nowMs ?? Date.now)();
      const now = nowNs();
      this.book.expire(now - this.giveUpMs * 1e6, now);
    });
  }
}
