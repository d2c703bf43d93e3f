/**
 * Pacer thread (one per open-loop load worker). It sleeps with `Atomics.wait`,
 * which takes fractional milliseconds (Node's timers round to 1 ms), until the
 * next operation is due, then bumps a shared counter and `Atomics.notify`s the
 * load worker, which waits for it with `Atomics.waitAsync`. The thread blocks
 * in the kernel between due times, so it costs almost no CPU.
 *
 * Shared cells (Int32Array over a SharedArrayBuffer): see PACER_CELLS.
 */
import { workerData } from 'node:worker_threads';
import { OpenLoopSchedule } from '../schedule/open-loop.js';
import { fastClock } from './clock.js';
import { pacerStep } from '../schedule/pacing.js';
import { PACER_CELLS, type PacerInit } from './messages.js';

const init = workerData as PacerInit;
const cells = new Int32Array(init.buffer);
const schedule = new OpenLoopSchedule(init.opsPerSecond, init.scheduleOffsetNs);

/** Block until the worker posts the start instant (written as two 32-bit halves of its ns value). */
while (Atomics.load(cells, PACER_CELLS.started) === 0 && Atomics.load(cells, PACER_CELLS.stop) === 0) {
  Atomics.wait(cells, PACER_CELLS.started, 0, 1000);
}
const startNs = (BigInt(Atomics.load(cells, PACER_CELLS.startHi) >>> 0) << 32n) | BigInt(Atomics.load(cells, PACER_CELLS.startLo) >>> 0);
const clock = fastClock(startNs);

let i = 0;
for (;;) {
  if (Atomics.load(cells, PACER_CELLS.stop) !== 0) break;
  const step = pacerStep(schedule, i, clock.nowNs(), init.endNs);
  if (step.kind === 'end') break;
  if (step.kind === 'sleep') {
    // Wakes early when the worker sets `stop` (and notifies this cell).
    Atomics.wait(cells, PACER_CELLS.stop, 0, step.ms);
    continue;
  }
  i = step.next;
  Atomics.add(cells, PACER_CELLS.tick, 1);
  Atomics.notify(cells, PACER_CELLS.tick);
}
// A last wake-up so the worker never waits for a tick that will not come.
Atomics.add(cells, PACER_CELLS.tick, 1);
Atomics.notify(cells, PACER_CELLS.tick);
