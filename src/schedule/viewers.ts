/**
 * The open-loop refresh schedule of dashboard viewers, and one viewer's loop
 * over it. Refresh k of viewer v is due at start + offset(v) + k·R, the
 * offsets spread evenly over R so V viewers do not all refresh at once. A
 * refresh runs the dashboard's panels in order on the viewer's one
 * connection; every panel is timed from its refresh's due time (response),
 * from its send (service) and from due time to send (lag), so a slow panel
 * delays the rest of its refresh and that delay is counted. A refresh that
 * starts after its due time (the previous one was still running) is late and
 * counted, never skipped. Pure: the clock and the panel runner are injected.
 */
import type { Clock } from './open-loop.js';

/** A clock that can also wait: `sleepUntilNs` resolves at `ns` or earlier when the loop is told to stop. */
export interface SleepingClock extends Clock {
  sleepUntilNs(ns: number): Promise<void>;
}

/** Offset of viewer `viewer` (0-based) of `viewers` within the refresh period, ns. */
export function viewerOffsetNs(viewer: number, viewers: number, refreshNs: number): number {
  if (!Number.isInteger(viewers) || viewers < 1) throw new RangeError(`viewers must be a whole number >= 1, got ${viewers}`);
  if (!Number.isInteger(viewer) || viewer < 0 || viewer >= viewers) throw new RangeError(`viewer must be in [0, ${viewers}), got ${viewer}`);
  if (!(refreshNs > 0)) throw new RangeError(`refreshNs must be > 0, got ${refreshNs}`);
  return Math.floor((viewer * refreshNs) / viewers);
}

/** Due time of refresh `k` of viewer `viewer`, ns on the clock of `startNs`. */
export function refreshDueNs(startNs: number, viewer: number, viewers: number, refreshNs: number, k: number): number {
  return startNs + viewerOffsetNs(viewer, viewers, refreshNs) + k * refreshNs;
}

/** Refreshes of all viewers due in [startNs, endNs): what a run of that length should have run. */
export function refreshesDue(startNs: number, endNs: number, viewers: number, refreshNs: number): number {
  let n = 0;
  for (let v = 0; v < viewers; v++) {
    const first = refreshDueNs(startNs, v, viewers, refreshNs, 0);
    if (endNs > first) n += Math.ceil((endNs - first) / refreshNs);
  }
  return n;
}

/** One panel execution. Times in ns on the loop's clock. */
export interface PanelTiming {
  readonly viewer: number;
  readonly refresh: number;
  readonly panel: number;
  /** The refresh's due time: the panel's intended time. */
  readonly dueNs: number;
  readonly sentNs: number;
  readonly doneNs: number;
  /** False when the query failed (the runner counted why). */
  readonly ok: boolean;
}

/** One refresh. `doneNs` null: stopped before its last panel ran (unfinished). */
export interface RefreshTiming {
  readonly viewer: number;
  readonly refresh: number;
  readonly dueNs: number;
  readonly startNs: number;
  readonly doneNs: number | null;
  /** Started more than the late threshold after its due time. */
  readonly late: boolean;
  readonly panelsRun: number;
}

/** Options of {@link runViewer}. */
export interface ViewerLoopOptions {
  readonly clock: SleepingClock;
  readonly viewer: number;
  readonly viewers: number;
  readonly refreshNs: number;
  /** Schedule origin (refresh 0 of viewer 0), ns on `clock`. */
  readonly startNs: number;
  /** Panels per refresh. */
  readonly panels: number;
  /** A refresh starting more than this after its due time is late [0]. */
  readonly lateThresholdNs?: number;
  /** Run panel `panel` of refresh `refresh`; resolves false when it failed. Must not reject. */
  readonly runPanel: (panel: number, refresh: number) => Promise<boolean>;
  /** True once the loop should end: no new refresh or panel starts after that. */
  readonly stopped: () => boolean;
  readonly onPanel: (t: PanelTiming) => void;
  readonly onRefresh: (t: RefreshTiming) => void;
}

/**
 * One viewer: refresh after refresh on the schedule until `stopped()`. A
 * refresh due while the previous one runs starts as soon as it ends (late,
 * counted); the schedule never slips, so a viewer that falls behind catches
 * up only when its refreshes get faster than R.
 */
export async function runViewer(o: ViewerLoopOptions): Promise<void> {
  const late = o.lateThresholdNs ?? 0;
  for (let k = 0; ; k++) {
    if (o.stopped()) return;
    const dueNs = refreshDueNs(o.startNs, o.viewer, o.viewers, o.refreshNs, k);
    if (o.clock.nowNs() < dueNs) await o.clock.sleepUntilNs(dueNs);
    if (o.stopped()) return;
    const startNs = o.clock.nowNs();
    let p = 0;
    for (; p < o.panels; p++) {
      if (p > 0 && o.stopped()) break;
      const sentNs = o.clock.nowNs();
      const ok = await o.runPanel(p, k);
      o.onPanel({ viewer: o.viewer, refresh: k, panel: p, dueNs, sentNs, doneNs: o.clock.nowNs(), ok });
    }
    o.onRefresh({
      viewer: o.viewer, refresh: k, dueNs, startNs,
      doneNs: p === o.panels ? o.clock.nowNs() : null,
      late: startNs - dueNs > late,
      panelsRun: p,
    });
  }
}
