/**
 * Send on time: the pacer's decisions and the split of a send's lag by cause.
 * Pure: times are nanoseconds on an injected clock (see open-loop.ts); the
 * threads that act on these decisions live in src/load/.
 *
 * The pacer is a thread that does nothing but sleep until the next due time
 * (`Atomics.wait` takes fractional milliseconds, unlike Node's 1 ms timers) and
 * then wake the sending thread. {@link pacerStep} says what it does next.
 */
import type { OpenLoopSchedule } from './open-loop.js';

/** What the pacer does next. */
export type PacerStep =
  /** Sleep this long (fractional ms; the caller may wake early and ask again). */
  | { readonly kind: 'sleep'; readonly ms: number }
  /** Operations up to (excluding) `next` are due: wake the sender, then continue from `next`. */
  | { readonly kind: 'fire'; readonly next: number }
  /** Nothing more is due before the end of the run. */
  | { readonly kind: 'end' };

/**
 * The pacer's next step, given the first operation it has not yet announced.
 * Fires as soon as operation `i` is due (never before), covering every
 * operation already due so that a late pacer catches up in one wake-up
 * instead of one per missed operation.
 */
export function pacerStep(schedule: OpenLoopSchedule, i: number, nowNs: number, endNs: number): PacerStep {
  const due = schedule.dueNs(i);
  if (due >= endNs) return { kind: 'end' };
  if (due > nowNs) return { kind: 'sleep', ms: (due - nowNs) / 1e6 };
  return { kind: 'fire', next: Math.max(i + 1, schedule.firstIndexAtOrAfter(nowNs + 1)) };
}

/** A send's lag (sent − due) split by cause, ns. The two parts add up to the lag. */
export interface LagSplit {
  /** The harness's own lateness: time after the due time when the sender was not waiting for a connection. */
  readonly timerLagNs: number;
  /** Time after the due time spent waiting for a connection or working off the backlog the waits built up (the server's backpressure). */
  readonly connectionWaitNs: number;
}

/**
 * The spans during which the sender waited for a free connection, so that the
 * lag of each operation can be split into connection wait and timer lateness.
 * Connection wait runs from the first wait that overlaps the operation's lag
 * to the end of the last one: in between, the sender was working off the
 * backlog that the busy connections built up (sending earlier operations),
 * which is the server's backpressure, not the harness's lateness. Lateness
 * before the first wait and after the last one is timer lateness. Operations
 * are sent in due order, so spans that end before the oldest unsent due time
 * are forgotten.
 */
export class ConnectionWaits {
  /**
   * Closed spans [start, end), oldest first, as two parallel arrays read from
   * `head`: forgetting a span moves `head` (an Array.shift per operation was
   * O(backlog) when the server fell behind), and the arrays are compacted
   * once half of them is forgotten.
   */
  private starts: number[] = [];
  private ends: number[] = [];
  private head = 0;
  private openSinceNs: number | null = null;
  /** Results of the last {@link splitInPlace}: timer lateness, ns. */
  timerLagNs = 0;
  /** Results of the last {@link splitInPlace}: connection wait, ns. */
  connectionWaitNs = 0;

  /** Every connection is busy from `nowNs` (the sender starts waiting). */
  begin(nowNs: number): void {
    if (this.openSinceNs === null) this.openSinceNs = nowNs;
  }

  /** A connection became free at `nowNs` (the sender stops waiting). */
  end(nowNs: number): void {
    if (this.openSinceNs === null) return;
    if (nowNs > this.openSinceNs) {
      this.starts.push(this.openSinceNs);
      this.ends.push(nowNs);
    }
    this.openSinceNs = null;
  }

  /** Split the lag of an operation due at `dueNs` and sent at `sentNs`; forgets spans that end before `dueNs`. */
  split(dueNs: number, sentNs: number): LagSplit {
    this.splitInPlace(dueNs, sentNs);
    return { timerLagNs: this.timerLagNs, connectionWaitNs: this.connectionWaitNs };
  }

  /**
   * {@link split} without allocating (the load worker's hot path): the parts
   * are left in {@link timerLagNs} and {@link connectionWaitNs}.
   */
  splitInPlace(dueNs: number, sentNs: number): void {
    const { starts, ends } = this;
    const n = ends.length;
    let h = this.head;
    while (h < n && ends[h]! <= dueNs) h++;
    if (h > 64 && h * 2 > n) {
      this.starts = starts.slice(h);
      this.ends = ends.slice(h);
      this.head = 0;
      this.splitInPlace(dueNs, sentNs);
      return;
    }
    this.head = h;
    const lagNs = Math.max(0, sentNs - dueNs);
    const open = this.openSinceNs !== null && this.openSinceNs < sentNs;
    let fromNs: number;
    let toNs: number;
    if (h < n && starts[h]! < sentNs) {
      fromNs = starts[h]!;
      toNs = open ? sentNs : Math.min(sentNs, ends[n - 1]!);
    } else if (open) {
      fromNs = this.openSinceNs!;
      toNs = sentNs;
    } else {
      this.timerLagNs = lagNs;
      this.connectionWaitNs = 0;
      return;
    }
    const waitNs = Math.min(lagNs, Math.max(0, toNs - Math.max(fromNs, dueNs)));
    this.timerLagNs = lagNs - waitNs;
    this.connectionWaitNs = waitNs;
  }

  /** Spans remembered (bounded by the backlog; for tests). */
  get size(): number {
    return this.ends.length - this.head;
  }
}
