/**
 * npm run bench:budget — where the microseconds of one row go in rtbench's
 * load worker (issue 18). One throwaway server; for each rate in
 * BUDGET_RATES (default 2000,8000) one rtbench run (tutorial INSERT, prepared,
 * --workers BUDGET_WORKERS (default 1), 8 connections in all,
 * BUDGET_SECONDS (default 15) measured after 2 s of warm-up) under
 *   node --cpu-prof --cpu-prof-interval 100 --trace-gc --import alloc-hook.js
 * and from the profiles of its threads, over a window inside the measure
 * phase (from 4 s after each thread started to 1 s before the end):
 *   - CPU µs per operation by category, from each CPU sample's stack (the
 *     innermost frame that belongs to a known category decides), per thread;
 *   - allocated bytes per operation by category (sampling heap profiler with
 *     collected objects included, alloc-hook.ts);
 *   - scavenges and mark-compacts per second and their pauses, per isolate
 *     (--trace-gc).
 * Operations in the window are rate × window (an open loop at its target).
 * BUDGET_CLI profiles another build's dist/src/cli/main.js (a "before" checkout).
 * BUDGET_NODE_FLAGS adds V8 flags to the run (e.g. "--max-semi-space-size=64").
 * Prints figures only.
 */
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { decodeHistogram, summarize } from '../../src/metrics/histogram.js';
import { fmt, runSampled, startReferee, type Referee } from './referee.js';
import type { BareResult } from './bare-loop.js';

const RATES = (process.env['BUDGET_RATES'] ?? '2000,8000').split(',').map(Number);
const SECONDS = Number(process.env['BUDGET_SECONDS'] ?? 15);
const WORKERS = Number(process.env['BUDGET_WORKERS'] ?? 1);
const EXTRA_FLAGS = (process.env['BUDGET_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
const EXTRA_ARGS = (process.env['BUDGET_RT_ARGS'] ?? '').split(' ').filter(Boolean);
const WARMUP_S = 2;
const SKIP_MS = 4000;
const CONNECTIONS = 8;
const INTERVAL_US = 100;

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; parent?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }
interface HeapNode { callFrame: CallFrame; selfSize: number; children: HeapNode[] }

/** Categories, tried from the innermost frame outwards; the first that matches names the sample. */
const CATEGORIES: Array<[string, (f: CallFrame) => boolean]> = [
  ['blocked in Atomics.wait (not CPU)', (f) => f.functionName === 'wait' && f.url === ''],
  ['histogram encode (per-second flush)', (f) => /hdr-histogram-js/.test(f.url) && /encode|deflate|toBase64|compress|ZigZag|fillBuffer|Deflate/i.test(f.functionName)],
  ['histogram encode (per-second flush)', (f) => /pako|zlib|deflate/i.test(f.url)],
  ['histogram record/reset', (f) => /hdr-histogram-js/.test(f.url)],
  ['result parse (pg-protocol parser)', (f) => /pg-protocol\/dist\/(parser|buffer-reader|messages)/.test(f.url)],
  ['statement build (pg-protocol serializer)', (f) => /pg-protocol\/dist\/(serializer|buffer-writer)/.test(f.url)],
  ['driver: query object, dispatch (pg/lib)', (f) => /node_modules\/pg\/lib/.test(f.url)],
  ['row generation (workload)', (f) => /src\/workload\//.test(f.url)],
  ['lag split (schedule/pacing)', (f) => /src\/schedule\/pacing/.test(f.url)],
  ['schedule (open-loop)', (f) => /src\/schedule\/open-loop/.test(f.url)],
  ['slots (acquire/release)', (f) => /src\/load\/slots/.test(f.url)],
  ['per-second flush (snapshot, postMessage)', (f) => /src\/load\/worker/.test(f.url) && /flush|snapshot/.test(f.functionName)],
  ['worker send/complete bookkeeping', (f) => /src\/load\/(worker|operations)/.test(f.url)],
  ['pacer loop', (f) => /src\/load\/pacer/.test(f.url) || (/bare-loop/.test(f.url) === false && f.url === '[worker eval]')],
  ['bare loop (its own code)', (f) => /test\/bench\/bare-loop/.test(f.url)],
  ['main thread: aggregate/merge (metrics)', (f) => /src\/metrics\//.test(f.url)],
  ['main thread: runner/report', (f) => /src\/(runner|report|results|cli)\//.test(f.url)],
  ['socket I/O (node:net, streams)', (f) => /node:(net|internal\/stream|stream|internal\/streams)/.test(f.url) || /^(writev|writeBuffer|writeUtf8String|onStreamRead|onWriteComplete)$/.test(f.functionName)],
  ['promise/microtask/timers (Node)', (f) => /node:internal\/(process\/task_queues|timers)|node:timers/.test(f.url) || /processTicksAndRejections|runMicrotasks|listOnTimeout/.test(f.functionName)],
  ['messaging (worker_threads)', (f) => /node:internal\/worker|node:worker_threads|per_context\/messageport/.test(f.url)],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
  ['V8/native, unattributed ("(program)")', (f) => f.functionName === '(program)'],
];

function categoryOf(stack: CallFrame[]): string {
  for (const f of stack) for (const [name, match] of CATEGORIES) if (match(f)) return name;
  const leaf = stack[0];
  return leaf ? `other: ${leaf.functionName || '(anonymous)'} ${leaf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, '')}` : 'other';
}

/** Self µs per category over [fromUs, toUs] of the profile's own clock. */
function cpuByCategory(p: CpuProfile, fromUs: number, toUs: number): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cat = new Map<number, string>();
  const out = new Map<string, number>();
  let t = p.startTime;
  for (let k = 0; k < p.samples.length; k++) {
    t += p.timeDeltas[k] ?? 0;
    const dt = p.timeDeltas[k + 1] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const id = p.samples[k]!;
    let c = cat.get(id);
    if (c === undefined) {
      const stack: CallFrame[] = [];
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) stack.push(byId.get(n)!.callFrame);
      c = categoryOf(stack);
      cat.set(id, c);
    }
    // Each sample counts as one nominal interval: a thread preempted on a loaded machine takes no samples
    // while it waits for a CPU, so counts track on-CPU time better than the (wall-clock) time deltas.
    void dt;
    out.set(c, (out.get(c) ?? 0) + INTERVAL_US);
  }
  return out;
}

function allocByCategory(head: HeapNode): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (n: HeapNode, stack: CallFrame[]): void => {
    const s = [n.callFrame, ...stack];
    if (n.selfSize > 0) {
      const c = categoryOf(s);
      out.set(c, (out.get(c) ?? 0) + n.selfSize);
    }
    for (const ch of n.children) walk(ch, s);
  };
  walk(head, []);
  return out;
}

interface GcLine { isolate: string; tMs: number; kind: string; pauseMs: number }

/** `[pid:0xADDR]   1234 ms: Scavenge 5.1 (6.2) -> 4.3 (7.2) MB, 0.52 / 0.00 ms ...` */
function parseTraceGc(text: string): GcLine[] {
  const out: GcLine[] = [];
  const re = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)\b.*?MB, ([\d.]+) \/ ([\d.]+) ms/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ isolate: m[1]!, tMs: Number(m[2]), kind: m[3]!, pauseMs: Number(m[4]) });
  return out;
}

const threadName = (p: CpuProfile): string => {
  const urls = new Set(p.nodes.map((n) => n.callFrame.url));
  const has = (s: string): boolean => [...urls].some((u) => u.includes(s));
  return has('src/load/pacer.js') ? 'pacer' : has('src/load/worker.js') ? 'load worker' : has('src/cli/') ? 'main' : 'other';
};

/** One profiled thread: busy µs per operation of that thread, by category. */
interface ThreadBudget { readonly name: string; readonly busyUsPerOp: number; readonly coreShare: number; readonly cats: Map<string, number> }
interface ClientBudget {
  readonly line: string;
  readonly threads: ThreadBudget[];
  /** Allocated bytes per operation by category, per thread that allocated. */
  readonly allocs: Array<{ name: string; perOp: Map<string, number>; total: number }>;
  readonly gc: string[];
}

async function profiled(ref: Referee, client: 'rtbench' | 'bare', rate: number): Promise<ClientBudget> {
  const dir = await mkdtemp(path.join(ref.work, `budget-${client}-${rate}-`));
  const hook = path.join(PACKAGE_ROOT, 'dist', 'test', 'bench', 'alloc-hook.js');
  const stopMs = (WARMUP_S + SECONDS) * 1000 - 500;
  const env = { ...process.env, ALLOC_DIR: dir, ALLOC_START_MS: String(SKIP_MS), ALLOC_STOP_MS: String(stopMs) };
  const flags = [...EXTRA_FLAGS, '--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(INTERVAL_US), '--trace-gc', '--import', hook];
  let line: string;
  let r;
  if (client === 'rtbench') {
    const cli = process.env['BUDGET_CLI'] ?? path.join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');
    r = await runSampled(process.execPath, [...flags, cli, 'run', '--url', ref.cluster.url,
      '--results-dir', path.join(dir, 'results'), '--progress', '0', '--seed', '1', '--rate', String(rate), '--statement', 'tutorial-sql',
      '--workers', String(WORKERS), '--connections', String(CONNECTIONS / WORKERS), '--warmup', String(WARMUP_S), '--duration', String(SECONDS), ...EXTRA_ARGS], env);
    const runId = (await readdir(path.join(dir, 'results'))).find((d) => !d.startsWith('.'));
    if (!runId) throw new Error(`rtbench failed (exit ${r.code}): ${r.stderr.slice(0, 800)}`);
    const s = JSON.parse(await readFile(path.join(dir, 'results', runId, 'summary.json'), 'utf8')) as {
      ingest: { achievedRateHz: number; response: { p50Us: number; p99Us: number; p999Us: number } };
      client: { cpuUsPerRow: number };
    };
    line = `rtbench --workers ${WORKERS}: ${fmt(s.ingest.achievedRateHz, 0)} rows/s, response p50/p99/p99.9 ${s.ingest.response.p50Us}/${s.ingest.response.p99Us}/${s.ingest.response.p999Us} µs, CPU ${fmt(s.client.cpuUsPerRow, 1)} µs/row (measure phase, all threads, profilers included)`;
  } else {
    const script = path.join(PACKAGE_ROOT, 'dist', 'test', 'bench', 'bare-loop.js');
    r = await runSampled(process.execPath, [...flags, script, JSON.stringify({ url: ref.cluster.url, sql: ref.insertSql, rateHz: rate, connections: CONNECTIONS, depth: 1, warmupS: WARMUP_S, seconds: SECONDS })], env);
    const res = JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? 'null') as BareResult | null;
    if (!res) throw new Error(`bare loop failed (exit ${r.code}): ${r.stderr.slice(0, 800)}`);
    const h = summarize(decodeHistogram(res.response));
    line = `bare loop: ${fmt(res.ops / res.seconds, 0)} rows/s, response p50/p99/p99.9 ${h.p50Us}/${h.p99Us}/${h.p999Us} µs, CPU ${fmt(res.cpuUs / Math.max(1, res.ops), 1)} µs/row (measure phase, all threads, profilers included)`;
  }

  const files = await readdir(dir);
  const threads: ThreadBudget[] = [];
  const names = new Map<string, string>();
  for (const f of files.filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(await readFile(path.join(dir, f), 'utf8')) as CpuProfile;
    const tid = f.split('.').slice(-3, -2)[0] ?? '?';
    const name = client === 'bare' ? (tid === '0' ? 'bare loop' : 'pacer') : threadName(p);
    names.set(tid, name);
    const from = p.startTime + SKIP_MS * 1000;
    const to = Math.min(p.endTime, p.startTime + stopMs * 1000);
    if (to <= from) continue;
    const ops = (name === 'load worker' || (name === 'pacer' && client === 'rtbench') ? rate / WORKERS : rate) * ((to - from) / 1e6);
    const cats = cpuByCategory(p, from, to);
    let busy = 0;
    const perOp = new Map<string, number>();
    for (const [c, v] of cats) {
      if (c === 'idle' || c.startsWith('blocked')) continue;
      busy += v;
      perOp.set(c, v / ops);
    }
    threads.push({ name, busyUsPerOp: busy / ops, coreShare: busy / (to - from), cats: perOp });
  }
  const allocs: ClientBudget['allocs'] = [];
  for (const f of files.filter((x) => x.startsWith('alloc.'))) {
    const tid = f.split('.')[2] ?? '?';
    const name = names.get(tid) ?? `thread ${tid}`;
    const prof = JSON.parse(await readFile(path.join(dir, f), 'utf8')) as { head: HeapNode };
    const cats = allocByCategory(prof.head);
    const ops = (name === 'load worker' ? rate / WORKERS : rate) * (stopMs - SKIP_MS) / 1000;
    const perOp = new Map([...cats].map(([c, v]) => [c, v / ops]));
    const total = [...perOp.values()].reduce((a, b) => a + b, 0);
    if (total >= 16) allocs.push({ name, perOp, total });
  }
  const gc: string[] = [];
  const lines = parseTraceGc(r.stdout);
  const windowS = (stopMs - SKIP_MS) / 1000;
  for (const iso of [...new Set(lines.map((g) => g.isolate))]) {
    const mine = lines.filter((g) => g.isolate === iso && g.tMs >= SKIP_MS && g.tMs <= stopMs);
    for (const kind of [...new Set(mine.map((g) => g.kind))]) {
      const ks = mine.filter((g) => g.kind === kind).map((g) => g.pauseMs).sort((a, b) => a - b);
      const sum = ks.reduce((a, b) => a + b, 0);
      gc.push(`isolate ${iso}: ${kind} ${fmt(ks.length / windowS, 1)}/s, pause mean ${fmt(sum / ks.length, 2)} ms, max ${fmt(ks[ks.length - 1]!, 2)} ms (${fmt((sum / (windowS * 1000)) * 100, 2)}% of the time)`);
    }
  }
  return { line, threads, allocs, gc };
}

function printBudget(rate: number, rt: ClientBudget, bare: ClientBudget): void {
  console.log(`\n${fmt(rate, 0)} rows/s, ${SECONDS} s (${EXTRA_FLAGS.join(' ') || 'default V8 flags'}${EXTRA_ARGS.length ? `; ${EXTRA_ARGS.join(' ')}` : ''}); load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`  ${rt.line}\n  ${bare.line}`);
  const hot = rt.threads.filter((t) => t.name === 'load worker');
  const bareHot = bare.threads.find((t) => t.name === 'bare loop');
  const cats = new Set<string>();
  for (const t of [...hot, ...(bareHot ? [bareHot] : [])]) for (const c of t.cats.keys()) cats.add(c);
  const avg = (c: string): number => hot.reduce((a, t) => a + (t.cats.get(c) ?? 0), 0) / Math.max(1, hot.length);
  console.log(`  CPU µs per operation on the sending thread (samples × ${INTERVAL_US} µs; rtbench: mean over ${hot.length} load worker(s))`);
  console.log(`  ${'rtbench'.padStart(8)} ${'bare'.padStart(8)}  category`);
  for (const c of [...cats].sort((a, b) => avg(b) - avg(a))) {
    const a = avg(c);
    const b = bareHot?.cats.get(c) ?? 0;
    if (a < 0.05 && b < 0.05) continue;
    console.log(`  ${fmt(a, 2).padStart(8)} ${fmt(b, 2).padStart(8)}  ${c}`);
  }
  console.log(`  ${fmt(hot.reduce((x, t) => x + t.busyUsPerOp, 0) / Math.max(1, hot.length), 2).padStart(8)} ${fmt(bareHot?.busyUsPerOp ?? 0, 2).padStart(8)}  total busy (${hot.map((t) => `${fmt(t.coreShare * 100, 1)}%`).join(', ')} vs ${fmt((bareHot?.coreShare ?? 0) * 100, 1)}% of a core)`);
  for (const [label, b] of [['rtbench', rt], ['bare', bare]] as const) {
    for (const t of b.threads.filter((x) => x !== bareHot && x.name !== 'load worker')) {
      const top = [...t.cats].sort((x, y) => y[1] - x[1]).slice(0, 4).map(([c, v]) => `${fmt(v, 2)} ${c}`).join('; ');
      console.log(`  ${label} thread ${t.name}: ${fmt(t.busyUsPerOp, 2)} µs per op (${fmt(t.coreShare * 100, 1)}% of a core): ${top}`);
    }
  }
  for (const [label, b] of [['rtbench', rt], ['bare', bare]] as const) {
    for (const a of b.allocs) {
      const top = [...a.perOp].sort((x, y) => y[1] - x[1]).filter(([, v]) => v >= 8).map(([c, v]) => `${fmt(v, 0)} ${c}`).join('; ');
      console.log(`  ${label} allocations, thread ${a.name}: ${fmt(a.total, 0)} B per op: ${top}`);
    }
    for (const g of b.gc) console.log(`  ${label} GC ${g}`);
  }
}

async function main(): Promise<void> {
  const ref = await startReferee();
  try {
    console.log(`bench:budget: ${os.cpus().length} cores; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (const rate of RATES) {
      const rt = await profiled(ref, 'rtbench', rate);
      const bare = await profiled(ref, 'bare', rate);
      printBudget(rate, rt, bare);
    }
  } finally {
    await ref.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:budget failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
