/**
 * A worker's pg connections. A slot is free, busy or down; a lost connection
 * is re-established in the background with capped exponential backoff while
 * the run goes on.
 */
import pg from 'pg';
import { sqlstateOf } from '../targets/sqlstate.js';

export interface Slot {
  readonly id: number;
  client: pg.Client | null;
  busy: boolean;
}

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 5000;

export class Slots {
  private readonly slots: Slot[];
  private readonly free: Slot[] = [];
  private waiters: Array<(s: Slot) => void> = [];
  private upWaiters: Array<() => void> = [];
  private closed = false;
  /** Called when a slot becomes free and nobody waits for it (the closed loop sends on it again). */
  onFree: ((slot: Slot) => void) | null = null;
  /** Connections re-established since the last call to takeReconnects(). */
  private reconnects = 0;

  /**
   * @param onConnectionError called with the SQLSTATE of every connection loss not
   *   seen by an operation (an idle connection dropped) and of every failed reconnect,
   *   so an outage is always counted, not only when a statement was in flight.
   */
  constructor(
    private readonly config: pg.ClientConfig,
    count: number,
    private readonly onConnectionError: (sqlstate: string) => void = () => undefined,
  ) {
    this.slots = Array.from({ length: count }, (_, id) => ({ id, client: null, busy: false }));
  }

  /** Open every connection; rejects with the first error (used before the run starts). */
  async connectAll(): Promise<void> {
    await Promise.all(this.slots.map(async (s) => {
      s.client = await this.open(s);
      this.free.push(s);
    }));
  }

  private async open(slot: Slot): Promise<pg.Client> {
    const client = new pg.Client(this.config);
    // An 'error' event without a listener would kill the worker; the failing query reports it.
    client.on('error', (err) => {
      if (slot.client !== client) return;
      // A busy slot's operation fails too and is counted there.
      if (!slot.busy) this.onConnectionError(sqlstateOf(err));
      this.markDown(slot);
    });
    await client.connect();
    return client;
  }

  /** A free slot, or undefined when all are busy or down. */
  tryAcquire(): Slot | undefined {
    return this.free.pop();
  }

  /** Wait for a free slot, at most `timeoutMs` (undefined when none came: all busy or down). */
  acquire(timeoutMs: number): Promise<Slot | undefined> {
    const s = this.free.pop();
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

  release(slot: Slot): void {
    slot.busy = false;
    if (slot.client === null || this.closed) return;
    const w = this.waiters.shift();
    if (w) {
      slot.busy = true;
      w(slot);
    } else {
      this.free.push(slot);
      this.onFree?.(slot);
    }
  }

  get upCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.client !== null) n++;
    return n;
  }

  get busyCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.busy) n++;
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
    const i = this.free.indexOf(slot);
    if (i >= 0) this.free.splice(i, 1);
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
        this.reconnects++;
        const ups = this.upWaiters;
        this.upWaiters = [];
        for (const u of ups) u();
        if (!slot.busy) this.release(slot);
        return;
      } catch (err) {
        if (!this.closed) this.onConnectionError(sqlstateOf(err));
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
