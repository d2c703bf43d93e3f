/**
 * Console lines of a long phase's progress events (src/schedule/progress.ts),
 * e.g. `probes: serial vs parallel: 412 / 1,080 executions (38%), 9.4 executions/s, 71 s left`.
 * Pure: the printer is passed in, and throttling uses the events' own
 * elapsed time, so no clock is read here.
 */
import type { OnProgress, ProgressEvent } from '../schedule/progress.js';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `18 s`, `2.5 min`, `1.2 h` (whole seconds rounded up below a minute). */
export function formatDurationMs(ms: number): string {
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function formatRate(perS: number): string {
  return perS >= 100 ? int(perS) : perS >= 10 ? perS.toFixed(1) : perS.toFixed(2);
}

/** One line for a progress event (no `rtbench: ` prefix). */
export function formatProgress(ev: ProgressEvent): string {
  const of = ev.total === null ? `${int(ev.done)} ${ev.unit}` : `${int(ev.done)} / ${int(ev.total)} ${ev.unit}`;
  if (ev.kind === 'end') return `${ev.phase}: ${of} in ${(ev.elapsedMs / 1000).toFixed(1)} s`;
  if (ev.kind === 'start') return `${ev.phase}: ${ev.total === null ? 'started' : `${int(ev.total)} ${ev.unit} to do`}`;
  const pct = ev.total !== null && ev.total > 0 ? ` (${Math.floor((100 * ev.done) / ev.total)}%)` : '';
  const rate = ev.ratePerS === null ? '' : `, ${formatRate(ev.ratePerS)} ${ev.unit}/s`;
  const left = ev.etaMs === null ? `, ${formatDurationMs(ev.elapsedMs)} so far` : `, ${formatDurationMs(ev.etaMs)} left`;
  return `${ev.phase}: ${of}${pct}${rate}${left}`;
}

/**
 * A console receiver of progress events: per phase, an `update` line at most
 * every `everyMs` of the phase's elapsed time (default 3,000), and the `end`
 * line (what the phase cost) for a phase of several units or one that printed
 * updates; a one-unit phase that ended quickly stays quiet. `start` events are
 * not printed: the phase's own notice says what starts. Events marked `echoed`
 * (the preload prints its own lines) are not printed.
 */
export function progressPrinter(print: (line: string) => void, everyMs = 3000): OnProgress {
  /** Per running phase: elapsed ms of its last printed line (0: none yet), and whether any was printed. */
  const printed = new Map<string, { lastMs: number; any: boolean }>();
  return (ev) => {
    if (ev.echoed) return; // the phase printed its own lines
    const state = printed.get(ev.phase) ?? { lastMs: 0, any: false };
    if (ev.kind === 'start') {
      printed.set(ev.phase, { lastMs: 0, any: false });
      return;
    }
    if (ev.kind === 'end') {
      if (state.any || (ev.total !== null && ev.total > 1)) print(formatProgress(ev));
      printed.delete(ev.phase);
      return;
    }
    if (ev.elapsedMs - state.lastMs < everyMs) return;
    printed.set(ev.phase, { lastMs: ev.elapsedMs, any: true });
    print(formatProgress(ev));
  };
}
