/**
 * A long phase of the session as progress events: {@link PhaseProgress} plus a
 * one-second heartbeat, so a phase that is one long statement (a rollup
 * rebuild, a VACUUM, the audit on Citus) still reports its elapsed time.
 */
import { PhaseProgress, type OnProgress } from '../schedule/progress.js';

/** How often a running phase is told that time passed, ms. */
export const HEARTBEAT_MS = 1000;

/**
 * Run `work` as the phase `phase` counting `unit` (of `total`, when known):
 * a `start` event, `update`s as `work` advances the tracker and at least every
 * {@link HEARTBEAT_MS}, and one `end` event however `work` ends. Without
 * `onProgress` it only runs `work`.
 */
export async function inPhase<T>(
  onProgress: OnProgress | undefined,
  phase: string,
  unit: string,
  total: number | null,
  work: (progress: PhaseProgress) => Promise<T>,
): Promise<T> {
  const progress = new PhaseProgress({ phase, unit, total, onProgress, nowMs: () => performance.now() });
  const beat = setInterval(() => progress.tick(), HEARTBEAT_MS);
  beat.unref();
  try {
    return await work(progress);
  } finally {
    clearInterval(beat);
    progress.finish();
  }
}
