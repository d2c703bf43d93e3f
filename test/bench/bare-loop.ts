/**
 * The bare `pg` referee of bench:latency (issue 18): the smallest Node program
 * that sends one statement on N connections at a fixed rate (or closed loop)
 * and records response times into an HDR histogram — nothing else. What lies
 * between this loop and pgbench is Node's and the driver's; what lies between
 * rtbench and this loop is rtbench's.
 *
 * Same techniques as rtbench where they decide the result: a pacer thread
 * that sleeps with Atomics.wait (fractional ms) and wakes this thread through
 * Atomics.waitAsync; response measured from the due time (due = start + i/rate,
 * never drifting); a prepared (named) statement; pg's `pipeline: true` above
 * depth 1; V8's memory reducer off (as rtbench's workers run). No lag split,
 * no service histogram, no per-second snapshots, no workers.
 *
 * Run as a child process: `node dist/test/bench/bare-loop.js '<json BareOptions>'`.
 * Prints one JSON line (BareResult) on stdout.
 */
import { Worker } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import pg from 'pg';
import * as hdr from 'hdr-histogram-js';

/** Options (argv[2], JSON). */
export interface BareOptions {
  readonly url: string;
  readonly sql: string;
  /** Total statements/s, or null for a closed loop. */
  readonly rateHz: number | null;
  readonly connections: number;
  /** Statements in flight per connection (above 1: pg's pipeline mode). */
  readonly depth: number;
  readonly warmupS: number;
  readonly seconds: number;
}

/** What it prints: the measure phase only. */
export interface BareResult {
  readonly ops: number;
  readonly errors: number;
  readonly seconds: number;
  /** Process CPU (user + system, all threads) over the measure phase, µs. */
  readonly cpuUs: number;
  /** Response (due → result) histogram, µs, compressed base64. */
  readonly response: string;
}

const PACER = `
const { workerData } = require('node:worker_threads');
const cells = new Int32Array(workerData.buffer);
const start = BigInt(workerData.startNs);
const intervalNs = workerData.intervalNs;
const endNs = workerData.endNs;
let i = 0;
for (;;) {
  if (Atomics.load(cells, 1) !== 0) break;
  const now = Number(process.hrtime.bigint() - start);
  const due = Math.round(i * intervalNs);
  if (due >= endNs) break;
  if (due > now) { Atomics.wait(cells, 1, 0, (due - now) / 1e6); continue; }
  i = Math.max(i + 1, Math.ceil((now + 1) / intervalNs));
  Atomics.add(cells, 0, 1);
  Atomics.notify(cells, 0);
}
Atomics.add(cells, 0, 1);
Atomics.notify(cells, 0);
`;

const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '') as BareOptions;
  setFlagsFromString('--no-memory-reducer');
  const clients: pg.Client[] = [];
  for (let c = 0; c < o.connections; c++) {
    const client = new pg.Client(o.depth > 1 ? { connectionString: o.url, pipeline: true } as pg.ClientConfig : { connectionString: o.url });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
  }
  const query = { name: 'bare', text: o.sql };
  const hist = hdr.build({ bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
  const warmNs = o.warmupS * 1e9;
  const endNs = (o.warmupS + o.seconds) * 1e9;
  const startNs = process.hrtime.bigint() + 100_000_000n;
  const now = (): number => Number(process.hrtime.bigint() - startNs);

  let ops = 0;
  let errors = 0;
  let inFlight = 0;
  let cpuAtWarm: NodeJS.CpuUsage | null = null;
  let cpuAtEnd: NodeJS.CpuUsage | null = null;
  /** Free lanes: a connection appears once per free lane. */
  const free: pg.Client[] = [];
  for (let d = 0; d < o.depth; d++) for (const c of clients) free.push(c);
  let waiter: (() => void) | null = null;
  let onFree: ((c: pg.Client) => void) | null = null;
  let drained: (() => void) | null = null;

  const send = (client: pg.Client, dueNs: number): void => {
    inFlight++;
    client.query(query, (err: Error | null) => {
      const end = now();
      inFlight--;
      if (dueNs >= warmNs && dueNs < endNs) {
        if (err) errors++;
        else {
          ops++;
          hist.recordValue(Math.floor((end - dueNs) / 1000));
        }
      }
      if (onFree) onFree(client);
      else {
        free.push(client);
        if (waiter) {
          const w = waiter;
          waiter = null;
          w();
        }
      }
      if (inFlight === 0 && drained) drained();
    });
  };

  // CPU of the measure phase: sampled at the warm-up's end and at the schedule's end.
  setTimeout(() => (cpuAtWarm = process.cpuUsage()), Number(startNs - process.hrtime.bigint()) / 1e6 + o.warmupS * 1000);
  const endTimer = new Promise<void>((r) => setTimeout(() => {
    cpuAtEnd = process.cpuUsage();
    r();
  }, Number(startNs - process.hrtime.bigint()) / 1e6 + (o.warmupS + o.seconds) * 1000));

  if (o.rateHz === null) {
    await new Promise((r) => setTimeout(r, Number(startNs - process.hrtime.bigint()) / 1e6));
    onFree = (c) => {
      const t = now();
      if (t < endNs) send(c, t);
    };
    while (free.length > 0) send(free.pop()!, now());
  } else {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const intervalNs = 1e9 / o.rateHz;
    const pacer = new Worker(PACER, { eval: true, workerData: { buffer: cells.buffer, startNs: startNs.toString(), intervalNs, endNs } });
    await new Promise((r) => pacer.once('online', r));
    for (let i = 0; ; i++) {
      const due = Math.round(i * intervalNs);
      if (due >= endNs) break;
      for (;;) {
        const seen = Atomics.load(cells, 0);
        if (now() >= due) break;
        const w = waitAsync(cells, 0, seen);
        if (w.async) await w.value;
      }
      while (free.length === 0) await new Promise<void>((r) => (waiter = r));
      // As rtbench: nothing is sent after the schedule's end (operations still due then are not sent).
      if (now() >= endNs) break;
      send(free.pop()!, due);
    }
    Atomics.store(cells, 1, 1);
    Atomics.notify(cells, 1);
    await pacer.terminate();
  }
  await endTimer;
  onFree = null;
  if (inFlight > 0) await new Promise<void>((r) => (drained = r));
  await Promise.all(clients.map((c) => c.end()));
  const a = cpuAtWarm ?? { user: 0, system: 0 };
  const b = cpuAtEnd ?? process.cpuUsage();
  const result: BareResult = {
    ops, errors, seconds: o.seconds,
    cpuUs: b.user + b.system - a.user - a.system,
    response: hdr.encodeIntoCompressedBase64(hist),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  console.error(`bare loop failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
