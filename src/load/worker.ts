/**
 * Load worker entry (one worker_thread). Owns its pg connections, a seeded row
 * generator and an open-loop schedule; records response / service / lag
 * histograms per phase and posts them, encoded, to the main thread every
 * interval. Never merges across workers and never prints.
 */
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type pg from 'pg';
import { PACER_CELLS, type IntervalSnapshot, type MainToWorker, type PacerInit, type PhaseCounters, type PhaseSnapshot, type WorkerInit, type WorkerToMain } from './messages.js';
import { makeOperation } from './operations.js';
import { Slots, type Slot } from './slots.js';
import { connectionGone, isConnectionLost, sqlstateOf } from '../targets/sqlstate.js';
import { encodeHistogram, newHistogram, recordNs, type Histogram } from '../metrics/histogram.js';
import { OpenLoopSchedule, type Clock } from '../schedule/open-loop.js';
import { fastClock } from './clock.js';
import { ConnectionWaits } from '../schedule/pacing.js';
import { maskSecrets } from '../targets/url.js';
import { OutageTracker } from '../metrics/availability.js';
import { NodeTally } from '../metrics/node-load.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: WorkerToMain): void => port.postMessage(m);

/** Histograms and counters of one phase for the current interval. */
class PhaseRecorder {
  response: Histogram = newHistogram();
  service: Histogram = newHistogram();
  lag: Histogram = newHistogram();
  timerLag: Histogram = newHistogram();
  connectionWait: Histogram = newHistogram();
  censored: Histogram = newHistogram();
  c: PhaseCounters = { ops: 0, rows: 0, late: 0, dropped: 0, errors: {} };
  touched = false;

  snapshot(): PhaseSnapshot | undefined {
    if (!this.touched) return undefined;
    if (!openLoop) {
      // Closed loop: due = sent, so service is the response and every lag is 0. Recorded once per interval, not per operation.
      this.service.add(this.response);
      this.lag.recordValueWithCount(0, this.response.totalCount);
    }
    const s: PhaseSnapshot = {
      ...this.c,
      response: encodeHistogram(this.response),
      service: encodeHistogram(this.service),
      lag: encodeHistogram(this.lag),
      timerLag: encodeHistogram(this.timerLag),
      connectionWait: encodeHistogram(this.connectionWait),
      ...(this.censored.totalCount > 0 ? { censored: encodeHistogram(this.censored) } : {}),
    };
    this.censored.reset();
    this.response.reset();
    this.service.reset();
    this.lag.reset();
    this.timerLag.reset();
    this.connectionWait.reset();
    this.c = { ops: 0, rows: 0, late: 0, dropped: 0, errors: {} };
    this.touched = false;
    return s;
  }
}

const warmup = new PhaseRecorder();
const measure = new PhaseRecorder();
const recorderFor = (dueNs: number): PhaseRecorder => (dueNs < init.warmupNs ? warmup : measure);

function countError(rec: PhaseRecorder, sqlstate: string): void {
  rec.touched = true;
  rec.c.errors[sqlstate] = (rec.c.errors[sqlstate] ?? 0) + 1;
}

/** The pool's outages: first connection-class failure → first success after it. */
const outages = new OutageTracker();

const slots = new Slots(
  { connectionString: init.url, application_name: init.applicationName },
  init.connections,
  init.pipeline,
  (sqlstate) => {
    countError(clock ? recorderFor(clock.nowNs()) : warmup, sqlstate);
    if (clock && isConnectionLost(sqlstate)) outages.failure(clock.nowNs() / 1e6, sqlstate);
  },
);
/** On Citus: the nodes of each operation's rows (a bit per node), for per-node errors and outages. */
const placement = init.placement && init.placement.nodes.length <= 30 && init.statement !== 'tutorial-sql' ? init.placement : undefined;
const nodeTally = placement ? new NodeTally(placement.nodes.length) : null;
let opNodes = 0;
const operation = makeOperation(init, placement ? (site) => {
  opNodes |= 1 << (placement.nodeOfSite[site] ?? 0);
} : undefined);
let clock: Clock;
let endNs = init.endNs;
let stopping = false;
let inFlight = 0;
let drainResolve: (() => void) | null = null;

const waits = new ConnectionWaits();
const openLoop = init.opsPerSecond !== null;
/** When this worker sent its first operation, ns after the schedule's origin (when the schedule really began). */
let firstSentNs: number | null = null;

/**
 * One statement in flight. Reused through a free list, with its completion
 * callback bound once: the hot path allocates no closure per operation.
 */
class InFlight {
  slot: Slot | null = null;
  client: pg.Client | null = null;
  dueNs = 0;
  sentNs = 0;
  timerLagNs = 0;
  connectionWaitNs = 0;
  /** Nodes of the operation's rows (Citus), a bit each. */
  nodes = 0;
  readonly done = (err: Error | null): void => complete(this, err);
}
const spare: InFlight[] = [];

/** Send one operation on a lane of `slot` (already acquired); times it from its due time. */
function send(slot: Slot, dueNs: number, sentNs: number): void {
  const client = slot.client as pg.Client;
  firstSentNs ??= sentNs;
  const op = spare.pop() ?? new InFlight();
  op.slot = slot;
  op.client = client;
  op.dueNs = dueNs;
  op.sentNs = sentNs;
  // Closed loop: due = sent, nothing to split (the hot path records nothing for it).
  if (openLoop) {
    waits.splitInPlace(dueNs, sentNs);
    op.timerLagNs = waits.timerLagNs;
    op.connectionWaitNs = waits.connectionWaitNs;
  }
  inFlight++;
  opNodes = 0;
  operation(client, op.done);
  op.nodes = opNodes;
}

function complete(op: InFlight, err: Error | null): void {
  const endAt = clock.nowNs();
  const slot = op.slot!;
  const client = op.client!;
  const dueNs = op.dueNs;
  const rec = recorderFor(dueNs);
  rec.touched = true;
  if (err) {
    const code = sqlstateOf(err);
    countError(rec, code);
    // A remote node's failure reported by a coordinator that stays up is that node's outage, not the pool's.
    const gone = connectionGone(err, code);
    nodeTally?.failure(op.nodes, endAt / 1e6, code, gone, isConnectionLost(code));
    if (gone) {
      outages.failure(endAt / 1e6, code);
      if (slot.client === client) slots.markDown(slot);
    }
  } else {
    if (outages.down) outages.success(endAt / 1e6);
    nodeTally?.success(op.nodes, endAt / 1e6);
    recordNs(rec.response, endAt - dueNs);
    // Closed loop: service and lag follow from the response at the interval's end (PhaseRecorder.snapshot).
    if (openLoop) {
      const sentNs = op.sentNs;
      recordNs(rec.service, endAt - sentNs);
      recordNs(rec.lag, sentNs - dueNs);
      recordNs(rec.timerLag, op.timerLagNs);
      recordNs(rec.connectionWait, op.connectionWaitNs);
      if (sentNs - dueNs > init.lateThresholdNs) rec.c.late++;
    }
    rec.c.ops++;
    rec.c.rows += init.batch;
  }
  op.slot = null;
  op.client = null;
  // Back on the free list before the lane is released: releasing may send again at once (closed loop).
  spare.push(op);
  slots.release(slot, client);
  inFlight--;
  if (inFlight === 0 && drainResolve) drainResolve();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `n` operations due at `dueNs` never sent; `servableNs`: when they could first have been (their censored response's lower bound). */
function drop(dueNs: number, n: number, servableNs?: number): void {
  if (n <= 0) return;
  const rec = recorderFor(dueNs);
  rec.touched = true;
  rec.c.dropped += n;
  if (servableNs !== undefined) rec.censored.recordValueWithCount(Math.max(0, Math.round((servableNs - dueNs) / 1000)), n);
}

/**
 * The pacer thread (open loop only): it sleeps precisely until each due time
 * and wakes this thread through the `tick` cell (see pacer.ts). Started before
 * the worker reports ready.
 */
const pacerCells = init.opsPerSecond === null ? null : new Int32Array(new SharedArrayBuffer(4 * PACER_CELLS.count));
let pacer: Worker | null = null;

async function startPacer(): Promise<void> {
  if (!pacerCells || init.opsPerSecond === null) return;
  const pacerInit: PacerInit = {
    buffer: pacerCells.buffer as SharedArrayBuffer,
    opsPerSecond: init.opsPerSecond,
    scheduleOffsetNs: init.scheduleOffsetNs,
    endNs: init.endNs,
  };
  const w = new Worker(new URL('./pacer.js', import.meta.url), { workerData: pacerInit });
  pacer = w;
  // A pacer that fails must not leave the sender waiting for a tick that never comes.
  w.on('error', (err) => {
    post({ type: 'fatal', message: `pacer thread: ${err.message}` });
    stopping = true;
    wakeSender();
  });
  await new Promise<void>((resolve, reject) => {
    w.once('online', resolve);
    w.once('error', reject);
  });
}

/** Wake the sender if it waits for the pacer (stop, or the pacer failed). */
function wakeSender(): void {
  if (!pacerCells) return;
  Atomics.add(pacerCells, PACER_CELLS.tick, 1);
  Atomics.notify(pacerCells, PACER_CELLS.tick);
}

function stopPacer(): void {
  if (!pacerCells) return;
  Atomics.store(pacerCells, PACER_CELLS.stop, 1);
  Atomics.notify(pacerCells, PACER_CELLS.stop);
  wakeSender();
}

/** Tell the pacer the run's start instant (it blocks until then). */
function releasePacer(startNs: bigint): void {
  if (!pacerCells) return;
  Atomics.store(pacerCells, PACER_CELLS.startHi, Number(startNs >> 32n) | 0);
  Atomics.store(pacerCells, PACER_CELLS.startLo, Number(startNs & 0xffffffffn) | 0);
  Atomics.store(pacerCells, PACER_CELLS.started, 1);
  Atomics.notify(pacerCells, PACER_CELLS.started);
}

/** Atomics.waitAsync (Node 20 has it; the es2022 lib types do not). */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/**
 * Open loop: operation i is due at offset + i/rate; late sends are recorded as
 * lag (split into timer lateness and connection wait), never skipped silently.
 */
async function runOpenLoop(opsPerSecond: number): Promise<void> {
  const schedule = new OpenLoopSchedule(opsPerSecond, init.scheduleOffsetNs);
  const cells = pacerCells!;
  let i = 0;
  for (;;) {
    const due = schedule.dueNs(i);
    if (due >= endNs || stopping) break;
    // Read the pacer's counter before the clock: a tick between the two then ends the wait at once.
    const seen = Atomics.load(cells, PACER_CELLS.tick);
    let now = clock.nowNs();
    if (due > now) {
      // No timeout: a timed waitAsync costs a platform timer per wait (a second wake-up per operation).
      const w = waitAsync(cells, PACER_CELLS.tick, seen);
      if (w.async) await w.value;
      continue; // re-check the clock and the stop flag
    }
    let slot = slots.tryAcquire();
    if (!slot) {
      if (slots.upCount === 0) {
        // No live connection: ops due meanwhile are dropped and counted (k6 style), not queued into a burst.
        await slots.waitForUp(Math.max(1, (endNs - now) / 1e6));
        now = clock.nowNs();
        const next = Math.min(schedule.firstIndexAtOrAfter(now), schedule.firstIndexAtOrAfter(endNs));
        for (let k = i; k < next; k++) drop(schedule.dueNs(k), 1, now);
        i = next;
        continue;
      }
      // Every connection busy: the wait is the server's backpressure, not the harness's lateness.
      waits.begin(now);
      slot = await slots.acquire((endNs - now) / 1e6);
      now = clock.nowNs();
      waits.end(now);
      if (!slot) continue;
      // The connection may have been lost between the hand-over and now (a server restart): try again.
      if (slot.client === null) continue;
      if (now >= endNs || stopping) {
        slots.release(slot);
        break;
      }
    }
    send(slot, due, now);
    i++;
  }
  stopPacer();
  // Operations due before the end but never sent: the client fell behind.
  const last = schedule.firstIndexAtOrAfter(endNs);
  const stoppedNs = clock.nowNs();
  for (let k = i; k < last; k++) drop(schedule.dueNs(k), 1, Math.max(stoppedNs, schedule.dueNs(k)));
}

/**
 * Closed loop: every connection sends back-to-back; due time = send time.
 * Callback-driven (no promise per operation): a slot that becomes free,
 * including one whose connection was just re-established, sends again at once.
 */
async function runClosedLoop(): Promise<void> {
  const next = (): void => {
    const now = clock.nowNs();
    if (now >= endNs || stopping) return;
    const slot = slots.tryAcquire();
    if (slot) send(slot, now, now);
  };
  slots.onFree = next;
  for (let c = 0; c < init.connections * init.pipeline; c++) next();
  while (!stopping) {
    const left = endNs - clock.nowNs();
    if (left <= 0) break;
    await sleep(Math.min(left / 1e6, 100));
  }
  slots.onFree = null;
}

let tick = 0;
let lastTickMs = 0;
let eluPrev = performance.eventLoopUtilization();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
/** Event-loop delay over the whole measure phase: its p99 is robust to one hiccup, unlike a per-second p99. */
const measureLoopDelay = monitorEventLoopDelay({ resolution: 10 });
let measureLoopDelayStarted = false;

function flush(endMs: number): void {
  tick++;
  const down = outages.takeInterval(lastTickMs, endMs);
  const eluNow = performance.eventLoopUtilization();
  const elu = performance.eventLoopUtilization(eluNow, eluPrev).utilization;
  eluPrev = eluNow;
  const snap: IntervalSnapshot = {
    type: 'interval',
    workerIndex: init.workerIndex,
    index: tick,
    startMs: lastTickMs,
    endMs,
    warmup: warmup.snapshot(),
    measure: measure.snapshot(),
    elu,
    loopDelayP99Us: loopDelay.count > 0 ? Math.round(loopDelay.percentile(99) / 1000) : 0,
    connectionsUp: slots.upCount,
    reconnects: slots.takeReconnects(),
    ...(down.spans.length > 0 ? { outages: down.spans, unavailableMs: down.unavailableMs } : {}),
    ...(nodeTally ? { nodes: nodeTally.takeInterval(lastTickMs, endMs) } : {}),
  };
  loopDelay.reset();
  lastTickMs = endMs;
  if (!measureLoopDelayStarted && endMs >= init.warmupNs / 1e6) {
    measureLoopDelayStarted = true;
    measureLoopDelay.reset();
  }
  post(snap);
}

let ticker: NodeJS.Timeout | null = null;
function scheduleTick(): void {
  const nextMs = (tick + 1) * init.intervalMs;
  const waitMs = Math.max(0, nextMs - clock.nowNs() / 1e6);
  ticker = setTimeout(() => {
    flush(nextMs);
    scheduleTick();
  }, waitMs);
}

async function main(startNs: bigint): Promise<void> {
  clock = fastClock(startNs);
  loopDelay.enable();
  measureLoopDelay.enable();
  if (init.warmupNs === 0) measureLoopDelayStarted = true;
  eluPrev = performance.eventLoopUtilization();
  releasePacer(startNs);
  // Wait for the common start instant so every worker's schedule shares one origin.
  const untilStart = -clock.nowNs() / 1e6;
  if (untilStart > 0) await sleep(untilStart);
  // Millisecond timers may end a fraction early: block the rest so nothing starts before the origin.
  const restMs = -clock.nowNs() / 1e6;
  if (restMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, restMs);
  scheduleTick();
  if (init.opsPerSecond === null) await runClosedLoop();
  else await runOpenLoop(init.opsPerSecond);
  // Let in-flight operations finish (bounded), then report the last, partial interval.
  if (inFlight > 0) {
    await Promise.race([new Promise<void>((r) => (drainResolve = r)), sleep(30_000)]);
  }
  if (ticker) clearTimeout(ticker);
  flush(Math.max(lastTickMs, clock.nowNs() / 1e6));
  loopDelay.disable();
  measureLoopDelay.disable();
  const measureLoopDelayP99Us = measureLoopDelay.count > 0 ? Math.round(measureLoopDelay.percentile(99) / 1000) : 0;
  const unfinished = inFlight;
  stopPacer();
  await slots.closeAll();
  await pacer?.terminate();
  const measureLoopDelayP50Us = measureLoopDelay.count > 0 ? Math.round(measureLoopDelay.percentile(50) / 1000) : 0;
  post({ type: 'done', unfinished, measureLoopDelayP99Us, measureLoopDelayP50Us, firstSentNs });
}

port.on('message', (m: MainToWorker) => {
  if (m.type === 'start') {
    main(BigInt(m.startNs)).catch((err: unknown) => {
      post({ type: 'fatal', message: maskSecrets(err instanceof Error ? err.message : String(err)) });
    });
  } else if (m.type === 'stop') {
    stopping = true;
    if (clock) endNs = Math.min(endNs, clock.nowNs());
    wakeSender();
  }
});

Promise.all([slots.connectAll(), startPacer()]).then(
  () => post({ type: 'ready' }),
  (err: unknown) => {
    post({ type: 'fatal', message: maskSecrets(err instanceof Error ? err.message : String(err)), sqlstate: sqlstateOf(err) });
  },
);
