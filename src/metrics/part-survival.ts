/**
 * Does each part of a run (the rollup driver, the viewers, the freshness
 * markers, expiry) survive the server going away? Each part notes its
 * attempts' outcomes here: a connection-class failure (the server shut down,
 * refused a connection, or dropped one) opens an outage that the part's next
 * success closes. What the part could not do meanwhile is then named once,
 * one line per part ("rollup: could not run 10.2–11.9 s: 57P01 admin_shutdown,
 * then 57P03 cannot_connect_now (3 failed attempts); ran again after it"),
 * never per sample. Pure: the clock (epoch ms) is injected.
 */
import { OutageTracker, foldIntervalSpans, type OutageSpan } from './availability.js';
import { isConnectionLost } from '../targets/sqlstate.js';

/** summary.json: how a part fared across outages (times in ms after the schedule origin). */
export interface PartSurvival {
  /** Connection-class failures of the part's attempts (and reconnects), in all. */
  readonly failedAttempts: number;
  /** From the part's first failure to its first success after it. */
  readonly outages: readonly OutageSpan[];
  /** When the part last succeeded; null when it never did. */
  readonly lastOkMs: number | null;
  /** Successes after the last outage ended (0 when it did not end, or there was none). */
  readonly okAfterOutages: number;
}

/** One part's record of successes and connection-class failures. */
export class SurvivalTracker {
  readonly #tracker = new OutageTracker();
  readonly #spans: OutageSpan[] = [];
  readonly #now: () => number;
  #failed = 0;
  #lastOk: number | null = null;
  #okSinceOutage = 0;

  /** @param now epoch ms clock (default Date.now). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** An attempt failed with `sqlstate`; only connection-class failures are outages (others are the part's own errors). */
  failure(sqlstate: string): void {
    if (!isConnectionLost(sqlstate)) return;
    this.#failed++;
    this.#tracker.failure(this.#now(), sqlstate);
  }

  /** An attempt succeeded. */
  success(): void {
    const t = this.#now();
    if (this.#tracker.down) {
      this.#tracker.success(t);
      this.#spans.push(...this.#tracker.takeInterval(t, t).spans);
      this.#okSinceOutage = 0;
    }
    this.#lastOk = t;
    this.#okSinceOutage++;
  }

  /** Whether an outage is in progress. */
  get down(): boolean {
    return this.#tracker.down;
  }

  /** The figures, times relative to `originEpochMs`. */
  result(originEpochMs: number): PartSurvival {
    const open = this.#tracker.down ? this.#tracker.takeInterval(0, 0).spans.filter((s) => s.endMs === null) : [];
    const rel = (s: OutageSpan): OutageSpan => ({ startMs: s.startMs - originEpochMs, endMs: s.endMs === null ? null : s.endMs - originEpochMs, causes: s.causes });
    const outages = foldIntervalSpans([[...this.#spans, ...open]]).map(rel);
    return {
      failedAttempts: this.#failed,
      outages,
      lastOkMs: this.#lastOk === null ? null : this.#lastOk - originEpochMs,
      okAfterOutages: outages.length === 0 || open.length > 0 ? 0 : this.#okSinceOutage,
    };
  }
}

/**
 * The one line that names what a part could not do during the outages, or null without one.
 * `part` names it ("rollup"), `doing` what it could not do ("run"), `unit` what it counts
 * after ("runs").
 */
export function survivalNote(part: string, doing: string, unit: string, s: PartSurvival): string | null {
  if (s.outages.length === 0) return null;
  const sec = (ms: number): string => (ms / 1000).toFixed(1);
  const spans = s.outages.map((o) => `${o.endMs === null ? `from ${sec(o.startMs)} s to the end` : `${sec(o.startMs)}–${sec(o.endMs)} s`}` +
    `${o.causes.length > 0 ? ` (${o.causes.join(', then ')})` : ''}`).join(', ');
  const last = s.outages[s.outages.length - 1]!;
  const after = last.endMs === null ? 'it had not reconnected by the end of the step' : `reconnected; ${s.okAfterOutages} ${unit} after it`;
  return `${part}: could not ${doing} ${spans}: ${s.failedAttempts} failed attempt${s.failedAttempts === 1 ? '' : 's'}; ${after}`;
}
