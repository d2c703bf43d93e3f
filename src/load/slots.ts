/**
 * A worker's pg connections. A slot is one connection with up to `depth`
 * statements in flight (its lanes), or down; a lost connection
 * is re-established in the background with capped exponential backoff while
 * the run goes on.
 */
import pg from 'pg';
import { sqlstateOf } from '../targets/sqlstate.js';

export interface Slot {
  readonly id: number;
  client: pg.Client | null;
  /** Statements in flight on `client` (at most the pipeline depth). */
  inFlight: number;
}

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 5000;

/**
 * A worker's connections, each taking up to `depth` statements at a time
 * (depth > 1: pg's pipeline mode). Handing out a lane picks the least-loaded
 * live connection, so a free connection is always used before one is
 * pipelined behind a busy one.
 */
export class Slots {
  private readonly slots: Slot[];
  private waiters: Array<(s: Slot) => void> = [];
  private upWaiters: Array<() => void> = [];
  private closed = false;
  /** Called when a lane becomes free and nobody waits for it (the closed loop sends on it again). */
  onFree: ((slot: Slot) => void) | null = null;
  /** Connections re-established since the last call to takeReconnects(). */
  private reconnects = 0;

  /**
   * @param depth statements in flight per connection; above 1 the clients are
   *   created with pg's `pipeline: true`
   * @param onConnectionError called with the SQLSTATE of every connection loss not
   *   seen by an operation (an idle connection dropped) and of every failed reconnect,
   *   so an outage is always counted, not only when a statement was in flight; with the
   *   slot's id.
   */
  constructor(
    private readonly config: pg.ClientConfig,
    count: number,
    private readonly depth: number,
    private readonly onConnectionError: (sqlstate: string, slotId: number) => void = () => undefined,
  ) {
    this.slots = Array.from({ length: count }, (_, id) => ({ id, client: null, inFlight: 0 }));
  }

  /** Open every connection; rejects with the first error (used before the run starts). */
  async connectAll(): Promise<void> {
    await Promise.all(this.slots.map(async (s) => {
      s.client = await this.open(s);
    }));
  }

  private async open(slot: Slot): Promise<pg.Client> {
    const client = new pg.Client(this.depth > 1 ? { ...this.config, pipeline: true } : this.config);
    // An 'error' event without a listener would kill the worker; the failing query reports it.
    client.on('error', (err) => {
      if (slot.client !== client) return;
      // Statements in flight fail too and are counted there.
      if (slot.inFlight === 0) this.onConnectionError(sqlstateOf(err), slot.id);
      this.markDown(slot);
    });
    await client.connect();
    return client;
  }

  /** A lane on the least-loaded live connection, or undefined when all are full or down. */
  tryAcquire(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s.client === null || s.inFlight >= this.depth) continue;
      if (!best || s.inFlight < best.inFlight) {
        best = s;
        if (s.inFlight === 0) break;
      }
    }
    if (best) best.inFlight++;
    return best;
  }

  /** Wait for a free lane, at most `timeoutMs` (undefined when none came: all busy or down). */
  acquire(timeoutMs: number): Promise<Slot | undefined> {
    const s = this.tryAcquire();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => {
      const waiter = (slot: Slot): void => {
        clearTimeout(timer);
        resolve(slot);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, Math.max(1, timeoutMs));
      this.waiters.push(waiter);
    });
  }

  /**
   * A statement sent on `client` through `slot` finished. A statement of a
   * connection that has since been replaced frees nothing: the new
   * connection's lanes were counted afresh.
   */
  release(slot: Slot, client: pg.Client | null = slot.client): void {
    if (slot.client !== client || slot.client === null) return;
    slot.inFlight--;
    if (this.closed) return;
    this.handOut(slot);
  }

  /** Give a free lane of `slot` to a waiter, else tell onFree. */
  private handOut(slot: Slot): void {
    const w = this.waiters.shift();
    if (w) {
      slot.inFlight++;
      w(slot);
    } else {
      this.onFree?.(slot);
    }
  }

  get upCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.client !== null) n++;
    return n;
  }

  /** Resolves when at least one connection is up (or after `timeoutMs`). */
  waitForUp(timeoutMs: number): Promise<void> {
    if (this.upCount > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(1, timeoutMs));
      this.upWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  takeReconnects(): number {
    const n = this.reconnects;
    this.reconnects = 0;
    return n;
  }

  /** The slot's connection is gone: drop it and reconnect in the background. */
  markDown(slot: Slot): void {
    const client = slot.client;
    if (client === null) return;
    slot.client = null;
    slot.inFlight = 0;
    client.end().catch(() => undefined);
    void this.reconnect(slot);
  }

  private async reconnect(slot: Slot): Promise<void> {
    let delay = BACKOFF_START_MS;
    while (!this.closed) {
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
      if (this.closed) return;
      try {
        const client = await this.open(slot);
        if (this.closed) {
          await client.end().catch(() => undefined);
          return;
        }
        slot.client = client;
        slot.inFlight = 0;
        this.reconnects++;
        const ups = this.upWaiters;
        this.upWaiters = [];
        for (const u of ups) u();
        for (let k = 0; k < this.depth && slot.inFlight < this.depth; k++) this.handOut(slot);
        return;
      } catch (err) {
        if (!this.closed) this.onConnectionError(sqlstateOf(err), slot.id);
        delay = Math.min(BACKOFF_MAX_MS, delay * 2);
      }
    }
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const ends = this.slots.map((s) => s.client?.end().catch(() => undefined));
    for (const s of this.slots) s.client = null;
    await Promise.all(ends);
  }
}
