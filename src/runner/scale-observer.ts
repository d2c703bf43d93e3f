/**
 * What a history of this size costs and how dense it is (issue 17, parts 5
 * and 6), as an observer of the step:
 * - density: events per site-minute of the preloaded history and of the live
 *   load, and events per rollup row for each;
 * - storage: table and index sizes of the raw and rollup tables (per
 *   partition when partitioned), bytes per raw row and per rollup row;
 * - the server's buffer cache hit ratio over the measure phase
 *   (pg_stat_database of this database; on Citus the coordinator's only);
 * - rows each dashboard window reads (raw rows and rollup rows in the last
 *   5 min / 1 h / 1 day), the x axis of the sweep over --preload-rows.
 */
import type pg from 'pg';
import { siteSlice, type RunConfig } from '../config/types.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import { sqlIdent } from '../rollup/template.js';
import { LEAVES } from '../probe/sizes.js';
import { listPartitions } from '../targets/partitions.js';
import { connect } from '../targets/postgres.js';
import { PRELOAD_END_GAP_MS } from '../rollup/preload.js';
import type { RunObserver, SessionInfo, StepContribution, StepInfo, StepPhase, StepTiming } from './observer.js';

/** Windows whose rows read are counted (probe windows). */
export const SCALE_WINDOWS = { '5m': '5 minutes', '1h': '1 hour', '1d': '1 day' } as const;
export type ScaleWindow = keyof typeof SCALE_WINDOWS;

/** One table's size. */
export interface TableStorage {
  readonly rows: number;
  readonly tableBytes: number;
  readonly indexBytes: number;
  readonly totalBytes: number;
  /** totalBytes / rows; null with no rows. */
  readonly bytesPerRow: number | null;
}

/** summary.json `scale`. */
export interface ScaleSummary {
  readonly density: {
    /** Preloaded rows per site per minute of the preload span; null without a preload. */
    readonly historyEventsPerSiteMinute: number | null;
    /** The measure phase's achieved rows per site per minute (this instance's sites). */
    readonly liveEventsPerSiteMinute: number | null;
    /** Mean request_count of rollup rows before the load started (history) and after (live); null without rows. */
    readonly historyEventsPerRollupRow: number | null;
    readonly liveEventsPerRollupRow: number | null;
  };
  readonly storage: {
    readonly raw: TableStorage;
    readonly rollup: TableStorage | null;
    readonly partitions?: readonly { readonly name: string; readonly from: string; readonly to: string; readonly bytes: number }[];
  };
  /** blks_hit / (blks_hit + blks_read) over the measure phase; null when nothing was read. */
  readonly cacheHitRatio: number | null;
  readonly cacheBlocks: { readonly hit: number; readonly read: number; readonly scope: string };
  /** Rows in each window at the step's end: what a raw panel and a rollup panel of that window read. */
  readonly rowsRead: { readonly raw: Record<ScaleWindow, number>; readonly rollup: Record<ScaleWindow, number> | null };
}

/** Events per site-minute of `rows` over `spanMs` for `sites` sites. Pure. */
export function eventsPerSiteMinute(rows: number, sites: number, spanMs: number): number | null {
  return rows > 0 && sites > 0 && spanMs > 0 ? rows / sites / (spanMs / 60_000) : null;
}

/** blks_hit / (blks_hit + blks_read), null when both are 0. Pure. */
export function hitRatio(hit: number, read: number): number | null {
  return hit + read > 0 ? hit / (hit + read) : null;
}

const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const per = (v: number | null, d = 1): string => (v === null ? '—' : v.toFixed(d));

/** The console/summary notes of a ScaleSummary. Pure. */
export function scaleNotes(s: ScaleSummary): string[] {
  const d = s.density;
  const st = s.storage;
  return [
    `density: history ${per(d.historyEventsPerSiteMinute)} and live ${per(d.liveEventsPerSiteMinute)} events per site-minute; ` +
      `${per(d.historyEventsPerRollupRow)} (history) and ${per(d.liveEventsPerRollupRow)} (live) events per rollup row`,
    `storage: raw ${st.raw.rows.toLocaleString('en-US')} rows, ${mb(st.raw.tableBytes)} + ${mb(st.raw.indexBytes)} index (${per(st.raw.bytesPerRow, 0)} B/row)` +
      (st.rollup ? `; rollup ${st.rollup.rows.toLocaleString('en-US')} rows, ${mb(st.rollup.tableBytes)} + ${mb(st.rollup.indexBytes)} index (${per(st.rollup.bytesPerRow, 0)} B/row)` : '') +
      (st.partitions ? `; ${st.partitions.length} partitions` : '') +
      `; cache hit ratio ${s.cacheHitRatio === null ? '—' : `${(s.cacheHitRatio * 100).toFixed(2)}%`} over the measure phase (${s.cacheBlocks.scope})`,
  ];
}

async function storageOf(c: pg.Client, table: string, citus: boolean): Promise<TableStorage> {
  const q = sqlIdent(table);
  const size = (fn: string): string => citus
    ? `CASE WHEN EXISTS (SELECT 1 FROM pg_dist_partition d WHERE d.logicalrelid = t.relid) THEN citus_${fn}(t.relid) ELSE pg_${fn}(t.relid) END`
    : `pg_${fn}(t.relid)`;
  const r = await c.query<{ t: string; total: string }>(
    `SELECT coalesce(sum(${size('table_size')}), 0) AS t, coalesce(sum(${size('total_relation_size')}), 0) AS total
       FROM ${LEAVES}`, [q]);
  const n = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${q}`);
  const rows = Number(n.rows[0]?.n ?? 0);
  const tableBytes = Number(r.rows[0]?.t ?? 0);
  const totalBytes = Number(r.rows[0]?.total ?? 0);
  return { rows, tableBytes, indexBytes: totalBytes - tableBytes, totalBytes, bytesPerRow: rows > 0 ? totalBytes / rows : null };
}

export class ScaleObserver implements RunObserver {
  readonly name = 'scale';
  private url = '';
  private citus = false;
  private start: Promise<{ hit: number; read: number } | null> | null = null;
  private end: { hit: number; read: number } | null = null;
  private measureRows = 0;
  private measureMs = 0;
  private config: RunConfig | null = null;

  constructor(private readonly rollupTable: string | null) {}

  private async blocks(): Promise<{ hit: number; read: number } | null> {
    const c = await connect(this.url, 'rtbench-scale');
    try {
      const r = await c.query<{ hit: string; read: string }>('SELECT blks_hit AS hit, blks_read AS read FROM pg_stat_database WHERE datname = current_database()');
      const row = r.rows[0];
      return row ? { hit: Number(row.hit), read: Number(row.read) } : null;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  stepStart(step: StepInfo, session: SessionInfo): void {
    this.url = session.url;
    this.citus = session.citus !== undefined;
    this.config = step.config;
    this.start = null;
    this.end = null;
    this.measureRows = 0;
    this.measureMs = 0;
  }

  phase(phase: StepPhase): void {
    if (phase === 'measure' && !this.start) this.start = this.blocks().catch(() => null);
  }

  interval(row: IntervalRow): void {
    if (row.phase !== 'measure') return;
    this.measureRows += row.rows;
    this.measureMs += row.endMs - row.startMs;
  }

  async stepDrained(): Promise<void> {
    this.end = await this.blocks().catch(() => null);
  }

  async stepEnd(_step: StepInfo, timing: StepTiming): Promise<StepContribution> {
    const config = this.config!;
    const start = await this.start;
    const end = this.end ?? (await this.blocks().catch(() => null));
    const hit = start && end ? end.hit - start.hit : 0;
    const read = start && end ? end.read - start.read : 0;
    const c = await connect(this.url, 'rtbench-scale');
    try {
      const sites = siteSlice(config).count;
      const w = Object.entries(SCALE_WINDOWS);
      const countWindows = async (table: string): Promise<Record<ScaleWindow, number>> => {
        const r = await c.query<Record<string, string>>(
          `SELECT ${w.map(([k, v]) => `count(*) FILTER (WHERE ingest_time >= now() - interval '${v}') AS "${k}"`).join(', ')} FROM ${sqlIdent(table)} WHERE ingest_time >= now() - interval '1 day'`);
        return Object.fromEntries(w.map(([k]) => [k, Number(r.rows[0]?.[k] ?? 0)])) as Record<ScaleWindow, number>;
      };
      let perRollup = { history: null as number | null, live: null as number | null };
      if (this.rollupTable) {
        const r = await c.query<{ h: string | null; l: string | null }>(
          // History ends 2 min before set-up; live periods start at the load's first period.
          `SELECT avg(request_count) FILTER (WHERE ingest_time < $1::timestamptz - interval '2 minutes')::float8 AS h,
                  avg(request_count) FILTER (WHERE ingest_time >= date_trunc('minute', $1::timestamptz))::float8 AS l
             FROM ${sqlIdent(this.rollupTable)} WHERE site_id >= 0`, [new Date(timing.startEpochMs)]);
        perRollup = { history: r.rows[0]?.h == null ? null : Number(r.rows[0].h), live: r.rows[0]?.l == null ? null : Number(r.rows[0].l) };
      }
      const d = config.dashboard;
      const partitions = config.partition === 'none' ? undefined
        : (await listPartitions(c)).map((p) => ({ name: p.name, from: p.from.toISOString(), to: p.to.toISOString(), bytes: p.bytes }));
      const out: ScaleSummary = {
        density: {
          historyEventsPerSiteMinute: d.preloadRows > 0 ? eventsPerSiteMinute(d.preloadRows, config.workload.sites, d.preloadSpanMs - PRELOAD_END_GAP_MS) : null,
          liveEventsPerSiteMinute: eventsPerSiteMinute(this.measureRows, sites, this.measureMs),
          historyEventsPerRollupRow: perRollup.history,
          liveEventsPerRollupRow: perRollup.live,
        },
        storage: {
          raw: await storageOf(c, 'http_request', this.citus),
          rollup: this.rollupTable ? await storageOf(c, this.rollupTable, this.citus) : null,
          ...(partitions ? { partitions } : {}),
        },
        cacheHitRatio: hitRatio(hit, read),
        cacheBlocks: { hit, read, scope: this.citus ? 'coordinator only' : 'this database' },
        rowsRead: { raw: await countWindows('http_request'), rollup: this.rollupTable ? await countWindows(this.rollupTable) : null },
      };
      return { summary: { scale: out }, notes: scaleNotes(out) };
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}
