/**
 * The load threads' clock: nanoseconds since the run's start on
 * `performance.now()`, calibrated once per thread against
 * `process.hrtime.bigint()` (the process-wide clock every thread shares).
 * `performance.now()` returns a plain double: about half the cost of
 * `hrtime.bigint()` here and no BigInt garbage, read 3–5 times per operation.
 * Each thread's `performance.now()` has its own origin, hence the calibration;
 * the best of a few paired readings puts threads within about a microsecond.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../schedule/open-loop.js';

export function fastClock(startNs: bigint): Clock {
  let bestSpanMs = Infinity;
  let offsetMs = 0;
  for (let k = 0; k < 7; k++) {
    const a = performance.now();
    const h = process.hrtime.bigint();
    const b = performance.now();
    if (b - a < bestSpanMs) {
      bestSpanMs = b - a;
      offsetMs = (a + b) / 2 - Number(h - startNs) / 1e6;
    }
  }
  return { nowNs: () => (performance.now() - offsetMs) * 1e6 };
}
