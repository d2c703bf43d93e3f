/**
 * Load worker entry (one worker_thread). Owns its pg connections, a seeded row
 * generator and an open-loop schedule; records response / service / lag
 * histograms per phase and posts them, encoded, to the main thread every
 * interval. Never merges across workers and never prints.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { IntervalSnapshot, MainToWorker, PhaseCounters, PhaseSnapshot, WorkerInit, WorkerToMain } from './messages.js';
import { makeOperation } from './operations.js';
import { Slots, type Slot } from './slots.js';
import { isConnectionLost, sqlstateOf } from '../targets/sqlstate.js';
import { encodeHistogram, newHistogram, recordNs, type Histogram } from '../metrics/histogram.js';
import { OpenLoopSchedule, type Clock, hrClock } from '../schedule/open-loop.js';
import { maskSecrets } from '../targets/url.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: WorkerToMain): void => port.postMessage(m);

/** Histograms and counters of one phase for the current interval. */
class PhaseRecorder {
  response: Histogram = newHistogram();
  service: Histogram = newHistogram();
  lag: Histogram = newHistogram();
  c: PhaseCounters = { ops: 0, rows: 0, late: 0, dropped: 0, errors: {} };
  touched = false;

  snapshot(): PhaseSnapshot | undefined {
    if (!this.touched) return undefined;
    const s: PhaseSnapshot = {
      ...this.c,
      response: encodeHistogram(this.response),
      service: encodeHistogram(this.service),
      lag: encodeHistogram(this.lag),
    };
    this.response.reset();
    this.service.reset();
    this.lag.reset();
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

const slots = new Slots(
  { connectionString: init.url, application_name: init.applicationName },
  init.connections,
  (sqlstate) => countError(clock ? recorderFor(clock.nowNs()) : warmup, sqlstate),
);
const operation = makeOperation(init);
let clock: Clock;
let endNs = init.endNs;
let stopping = false;
let inFlight = 0;
let drainResolve: (() => void) | null = null;

function send(slot: Slot, dueNs: number, sentNs: number): void {
  const client = slot.client as pg.Client;
  slot.busy = true;
  inFlight++;
  operation(client, (err) => {
    const endAt = clock.nowNs();
    const rec = recorderFor(dueNs);
    rec.touched = true;
    if (err) {
      const code = sqlstateOf(err);
      countError(rec, code);
      if (isConnectionLost(code) && slot.client === client) slots.markDown(slot);
    } else {
      recordNs(rec.response, endAt - dueNs);
      recordNs(rec.service, endAt - sentNs);
      recordNs(rec.lag, sentNs - dueNs);
      rec.c.ops++;
      rec.c.rows += init.batch;
      if (sentNs - dueNs > init.lateThresholdNs) rec.c.late++;
    }
    slots.release(slot);
    inFlight--;
    if (inFlight === 0 && drainResolve) drainResolve();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function drop(dueNs: number, n: number): void {
  if (n <= 0) return;
  const rec = recorderFor(dueNs);
  rec.touched = true;
  rec.c.dropped += n;
}

/** Open loop: operation i is due at offset + i/rate; late sends are recorded as lag, never skipped silently. */
async function runOpenLoop(opsPerSecond: number): Promise<void> {
  const schedule = new OpenLoopSchedule(opsPerSecond, init.scheduleOffsetNs);
  let i = 0;
  for (;;) {
    const due = schedule.dueNs(i);
    if (due >= endNs || stopping) break;
    let now = clock.nowNs();
    if (due > now) {
      await sleep(Math.round((due - now) / 1e6));
      continue; // re-check the clock: timers may fire early by rounding
    }
    let slot = slots.tryAcquire();
    if (!slot) {
      if (slots.upCount === 0) {
        // No live connection: ops due meanwhile are dropped and counted (k6 style), not queued into a burst.
        await slots.waitForUp(Math.max(1, (endNs - now) / 1e6));
        now = clock.nowNs();
        const next = Math.min(schedule.firstIndexAtOrAfter(now), schedule.firstIndexAtOrAfter(endNs));
        for (let k = i; k < next; k++) drop(schedule.dueNs(k), 1);
        i = next;
        continue;
      }
      slot = await slots.acquire((endNs - now) / 1e6);
      now = clock.nowNs();
      if (!slot) continue;
      if (now >= endNs || stopping) {
        slots.release(slot);
        break;
      }
    }
    send(slot, due, now);
    i++;
  }
  // Operations due before the end but never sent: the client fell behind.
  const last = schedule.firstIndexAtOrAfter(endNs);
  for (let k = i; k < last; k++) drop(schedule.dueNs(k), 1);
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
  for (let c = 0; c < init.connections; c++) next();
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
  clock = hrClock(startNs);
  loopDelay.enable();
  measureLoopDelay.enable();
  if (init.warmupNs === 0) measureLoopDelayStarted = true;
  eluPrev = performance.eventLoopUtilization();
  // Wait for the common start instant so every worker's schedule shares one origin.
  const untilStart = -clock.nowNs() / 1e6;
  if (untilStart > 0) await sleep(untilStart);
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
  await slots.closeAll();
  post({ type: 'done', unfinished, measureLoopDelayP99Us });
}

port.on('message', (m: MainToWorker) => {
  if (m.type === 'start') {
    main(BigInt(m.startNs)).catch((err: unknown) => {
      post({ type: 'fatal', message: maskSecrets(err instanceof Error ? err.message : String(err)) });
    });
  } else if (m.type === 'stop') {
    stopping = true;
    if (clock) endNs = Math.min(endNs, clock.nowNs());
  }
});

slots.connectAll().then(
  () => post({ type: 'ready' }),
  (err: unknown) => {
    post({ type: 'fatal', message: maskSecrets(err instanceof Error ? err.message : String(err)), sqlstate: sqlstateOf(err) });
  },
);
