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
  /** Closed spans [start, end), oldest first. */
  private readonly spans: Array<{ startNs: number; endNs: number }> = [];
  private openSinceNs: number | null = null;

  /** Every connection is busy from `nowNs` (the sender starts waiting). */
  begin(nowNs: number): void {
    if (this.openSinceNs === null) this.openSinceNs = nowNs;
  }

  /** A connection became free at `nowNs` (the sender stops waiting). */
  end(nowNs: number): void {
    if (this.openSinceNs === null) return;
    if (nowNs > this.openSinceNs) this.spans.push({ startNs: this.openSinceNs, endNs: nowNs });
    this.openSinceNs = null;
  }

  /** Split the lag of an operation due at `dueNs` and sent at `sentNs`; forgets spans that end before `dueNs`. */
  split(dueNs: number, sentNs: number): LagSplit {
    while (this.spans.length > 0 && this.spans[0]!.endNs <= dueNs) this.spans.shift();
    const lagNs = Math.max(0, sentNs - dueNs);
    const first = this.spans[0];
    const open = this.openSinceNs !== null && this.openSinceNs < sentNs;
    let fromNs: number;
    let toNs: number;
    if (first && first.startNs < sentNs) {
      fromNs = first.startNs;
      toNs = open ? sentNs : Math.min(sentNs, this.spans[this.spans.length - 1]!.endNs);
    } else if (open) {
      fromNs = this.openSinceNs!;
      toNs = sentNs;
    } else {
      return { timerLagNs: lagNs, connectionWaitNs: 0 };
    }
    const waitNs = Math.min(lagNs, Math.max(0, toNs - Math.max(fromNs, dueNs)));
    return { timerLagNs: lagNs - waitNs, connectionWaitNs: waitNs };
  }

  /** Spans remembered (bounded by the backlog; for tests). */
  get size(): number {
    return this.spans.length;
  }
}
