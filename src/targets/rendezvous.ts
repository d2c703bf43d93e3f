/**
 * Where the instances of a group (`--instance i/N --group G`) meet: a small
 * table in the target database, created on demand. Each instance claims its
 * row; the claim that completes the group writes the common start (its
 * registration plus a short lead, in the database's clock) into every row;
 * each instance polls its own row for it and converts it to its own clock.
 *
 * A claim lives as long as the session that made it: a row whose session is
 * gone (the instance ended, crashed or was killed) is stale and is removed by
 * the next claim in the group, so re-running a group name just works. All
 * claims take one advisory lock, so "complete the group" and "give up waiting"
 * never interleave.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { UsageError } from '../errors.js';
import {
  estimateClockOffset, instanceList, missingInstances, timeoutMessage, toLocalEpochMs, type ClockOffset, type ClockSample,
} from '../schedule/rendezvous.js';
import { quoteIdent } from '../sql-quote.js';
import { connect } from './postgres.js';
import { sqlstateOf } from './sqlstate.js';
import { maskSecrets } from './url.js';

/** The rendezvous table (in the connection's default schema). */
export const RENDEZVOUS_TABLE = 'rtbench_rendezvous';
const T = quoteIdent(RENDEZVOUS_TABLE);
/** Key of the advisory lock every claim and withdrawal takes. */
const LOCK_KEY = 'rtbench-rendezvous';
/** A row's claim is alive while the session that made it is connected (pid + a random application_name). */
const ALIVE = 'EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.backend_pid AND a.application_name = r.claim)';
const EPOCH_MS = (col: string): string => `(extract(epoch FROM ${col}) * 1000)::float8`;

/** Lead from the last registration to the common start: time for every instance to see it (they poll every 100 ms). */
export const DEFAULT_LEAD_MS = 2000;
const CLOCK_SAMPLES = 8;

export interface RendezvousOptions {
  readonly url: string;
  readonly group: string;
  readonly index: number;
  readonly count: number;
  readonly timeoutMs: number;
  readonly leadMs?: number;
  readonly pollMs?: number;
  /** Recorded in the row, shown to a refused second claimant. */
  readonly host?: string;
  readonly onNotice?: (line: string) => void;
}

/** The start a group agreed on, as this instance sees it. */
export interface AgreedStart {
  /** Common start, database clock, ms since the epoch. */
  readonly startEpochMs: number;
  /** The same instant in this host's clock. */
  readonly localStartEpochMs: number;
  readonly clock: ClockOffset;
  /** This instance's registration, database clock. */
  readonly registeredAtEpochMs: number;
}

/** This host's wall clock with sub-millisecond resolution. */
export function localEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

interface RowInfo {
  instance_index: number;
  instance_count: number;
  host: string;
  os_pid: number;
  registered_ms: number;
  start_ms: number | null;
}

async function inLockedTransaction<R>(client: pg.Client, fn: () => Promise<R>): Promise<R> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [LOCK_KEY]);
    const r = await fn();
    await client.query('COMMIT');
    return r;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Timed round trips to the database clock. */
export async function sampleClock(client: pg.Client, n = CLOCK_SAMPLES): Promise<ClockSample[]> {
  const out: ClockSample[] = [];
  for (let i = 0; i < n; i++) {
    const sentEpochMs = localEpochMs();
    const r = await client.query<{ ms: number }>(`SELECT ${EPOCH_MS('clock_timestamp()')} AS ms`);
    const receivedEpochMs = localEpochMs();
    out.push({ sentEpochMs, dbEpochMs: Number(r.rows[0]?.ms), receivedEpochMs });
  }
  return out;
}

/**
 * A database error of the rendezvous as one line naming its SQLSTATE (say, no
 * CREATE privilege for the table): the user's to fix, so a UsageError (exit 2).
 */
function rendezvousError(group: string, err: unknown): unknown {
  if (err instanceof UsageError) return err;
  const msg = maskSecrets(err instanceof Error ? err.message : String(err));
  const hint = sqlstateOf(err) === '42501' ? `; rtbench creates the table ${RENDEZVOUS_TABLE} on first use and writes it: grant this user CREATE on the schema (or, if another user created the table, SELECT, INSERT, UPDATE, DELETE on it)` : '';
  return new UsageError(`rendezvous: group ${group}: ${msg} (SQLSTATE ${sqlstateOf(err)})${hint}`);
}

/** One instance's claim in its group; {@link close} it when the run ends. */
export class Rendezvous {
  private closed = false;

  private constructor(
    private readonly client: pg.Client,
    private readonly opts: RendezvousOptions,
    private readonly claim: string,
    /** Registration time, database clock. */
    readonly registeredAtEpochMs: number,
  ) {}

  /**
   * Register as instance index/count of the group. Refuses (UsageError, one
   * line) a second claim of the same index, a different count, or a group
   * that has already started.
   */
  static async claim(opts: RendezvousOptions): Promise<Rendezvous> {
    const claim = `rtbench-rendezvous-${randomBytes(8).toString('hex')}`;
    const client = await connect(opts.url, claim);
    try {
      const registered = await inLockedTransaction(client, async () => {
        await client.query(`CREATE TABLE IF NOT EXISTS ${T} (
          group_name text NOT NULL,
          instance_index integer NOT NULL,
          instance_count integer NOT NULL,
          host text NOT NULL,
          os_pid integer NOT NULL,
          backend_pid integer NOT NULL,
          claim text NOT NULL,
          registered_at timestamptz NOT NULL,
          start_at timestamptz,
          PRIMARY KEY (group_name, instance_index))`);
        const stale = await client.query(`DELETE FROM ${T} r WHERE r.group_name = $1 AND NOT ${ALIVE}`, [opts.group]);
        if ((stale.rowCount ?? 0) > 0) {
          opts.onNotice?.(`rendezvous: group ${opts.group}: removed ${stale.rowCount} stale registration(s) of instances no longer connected`);
        }
        const live = await client.query<RowInfo>(
          `SELECT instance_index, instance_count, host, os_pid, ${EPOCH_MS('registered_at')} AS registered_ms, ${EPOCH_MS('start_at')} AS start_ms
             FROM ${T} WHERE group_name = $1 ORDER BY instance_index`,
          [opts.group],
        );
        const where = (r: RowInfo): string => `${r.host} (pid ${r.os_pid}) since ${new Date(r.registered_ms).toISOString()}`;
        const started = live.rows.find((r) => r.start_ms !== null);
        if (started) {
          throw new UsageError(`rendezvous: group ${opts.group} already started at ${new Date(started.start_ms!).toISOString()} and instance ` +
            `${started.instance_index}/${started.instance_count} (${where(started)}) is still running; use another --group name`);
        }
        const mine = live.rows.find((r) => r.instance_index === opts.index);
        if (mine) {
          throw new UsageError(`rendezvous: group ${opts.group}: instance ${opts.index}/${mine.instance_count} is already claimed by ` +
            `${where(mine)}; a second claim is refused`);
        }
        const other = live.rows.find((r) => r.instance_count !== opts.count);
        if (other) {
          throw new UsageError(`rendezvous: group ${opts.group}: instance ${other.instance_index}/${other.instance_count} (${where(other)}) ` +
            `counts ${other.instance_count} instances, this one ${opts.count}; give every instance the same N`);
        }
        const ins = await client.query<{ ms: number }>(
          `INSERT INTO ${T} (group_name, instance_index, instance_count, host, os_pid, backend_pid, claim, registered_at)
           VALUES ($1, $2, $3, $4, $5, pg_backend_pid(), $6, clock_timestamp()) RETURNING ${EPOCH_MS('registered_at')} AS ms`,
          [opts.group, opts.index, opts.count, opts.host ?? os.hostname(), process.pid, claim],
        );
        if (live.rows.length + 1 === opts.count) {
          // This claim completes the group: the common start is the last registration plus the lead.
          await client.query(
            `UPDATE ${T} SET start_at = (SELECT max(registered_at) FROM ${T} WHERE group_name = $1) + $2 * interval '1 millisecond'
              WHERE group_name = $1`,
            [opts.group, opts.leadMs ?? DEFAULT_LEAD_MS],
          );
        }
        return Number(ins.rows[0]?.ms);
      });
      return new Rendezvous(client, opts, claim, registered);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw rendezvousError(opts.group, err);
    }
  }

  /**
   * Wait for the group's common start, then measure the clock offset to the database
   * (or, at the timeout: withdraw, UsageError naming who is missing).
   */
  async waitForStart(): Promise<AgreedStart> {
    try {
      return await this.waitOrWithdraw();
    } catch (err) {
      throw rendezvousError(this.opts.group, err);
    }
  }

  private async waitOrWithdraw(): Promise<AgreedStart> {
    const deadline = performance.now() + this.opts.timeoutMs;
    const pollMs = this.opts.pollMs ?? 100;
    for (;;) {
      const startMs = await this.readStart();
      if (startMs !== null) return this.agreed(startMs);
      if (performance.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - performance.now()))));
    }
    // Under the lock: either the group completed meanwhile (then go), or withdraw so it cannot complete without us.
    const outcome = await inLockedTransaction(this.client, async (): Promise<{ startMs: number } | { missing: number[] }> => {
      const startMs = await this.readStart();
      if (startMs !== null) return { startMs };
      const live = await this.client.query<{ instance_index: number }>(
        `SELECT instance_index FROM ${T} r WHERE r.group_name = $1 AND ${ALIVE}`, [this.opts.group],
      );
      await this.client.query(`DELETE FROM ${T} WHERE claim = $1`, [this.claim]);
      return { missing: missingInstances(live.rows.map((r) => r.instance_index), this.opts.count) };
    });
    if ('startMs' in outcome) return this.agreed(outcome.startMs);
    throw new UsageError(timeoutMessage(this.opts.group, this.opts.count, outcome.missing, this.opts.timeoutMs));
  }

  private async readStart(): Promise<number | null> {
    const r = await this.client.query<{ start_ms: number | null }>(`SELECT ${EPOCH_MS('start_at')} AS start_ms FROM ${T} WHERE claim = $1`, [this.claim]);
    const row = r.rows[0];
    if (!row) throw new Error(`rendezvous: group ${this.opts.group}: the registration of instance ${instanceList([this.opts.index], this.opts.count)} disappeared`);
    return row.start_ms === null ? null : Number(row.start_ms);
  }

  /** The clock offset is measured now, within the lead before the start, so it is as fresh as it can be. */
  private async agreed(startEpochMs: number): Promise<AgreedStart> {
    const clock = estimateClockOffset(await sampleClock(this.client));
    return { startEpochMs, localStartEpochMs: toLocalEpochMs(startEpochMs, clock), clock, registeredAtEpochMs: this.registeredAtEpochMs };
  }

  /** Remove this instance's row and close the session (idempotent, never throws). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.query(`DELETE FROM ${T} WHERE claim = $1`, [this.claim]).catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
