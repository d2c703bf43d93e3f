/**
 * npm run bench:latency — rtbench's ingest latency and CPU held against two
 * referees on one throwaway local server (issue 18): pgbench (the database's
 * latency with a C client) and the bare `pg` loop (bare-loop.ts: Node's and
 * the driver's floor). What lies between rtbench and the bare loop is
 * rtbench's own. Prints figures and the targets as PASS / MISS; asserts nothing.
 *
 * Conditions: fixed 500, 2,000 and 8,000 rows/s (each capped at half of
 * pgbench's closed-loop maximum), closed loop plain and with 4 statements in
 * flight per connection (pgbench \startpipeline script of 4, the bare loop
 * and rtbench --pipeline 4). The tutorial INSERT, prepared, 8 connections,
 * one client thread (pgbench -j 1; the bare loop; rtbench's default worker
 * count for the rate and this machine's cores, 1 on 2 cores, unless
 * BENCH_RT_WORKERS). Per condition BENCH_ROUNDS rounds; in each round the
 * three clients run one after the other in a rotated order, so the machine's
 * load hits all three alike; the table is truncated before every run.
 * Each cell is the median over rounds with [min–max]; ratios are taken per
 * round (adjacent runs) and their median given with [min–max].
 *
 * Env: BENCH_SECONDS (measured seconds per run, default 10), BENCH_ROUNDS
 * (default 3), BENCH_RT_WORKERS (rtbench --workers; connections split so the
 * total stays 8), BENCH_STALL=0 skips the 1.5 s freeze check, RTBENCH_BASELINE
 * (a checkout of an older build, with dist/) adds it as a fourth client in the
 * rotation ("today": 2 workers x 4 connections at fixed rates, as its default
 * was). Wall time is about 5 conditions × clients × rounds × (seconds + 4 s),
 * printed first.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../../src/targets/postgres.js';
import { defaultWorkers } from '../../src/config/validate.js';
import { newHistogram, summarize, type Histogram } from '../../src/metrics/histogram.js';
import { bareLoop, fmt, pgbench, rtbench, startReferee, type Referee } from './referee.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const RT_WORKERS_ENV = process.env['BENCH_RT_WORKERS'];
/** rtbench's --workers for a rate: BENCH_RT_WORKERS, else rtbench's own default for this machine. */
const rtWorkers = (rateHz: number | null): number =>
  RT_WORKERS_ENV ? Number(RT_WORKERS_ENV) : defaultWorkers(rateHz ?? 'max', os.availableParallelism());
const STALL = process.env['BENCH_STALL'] !== '0';
const WARMUP_S = 2;
const RATES = [500, 2000, 8000];
const CONNECTIONS = 8;
const PIPELINE_DEPTH = 4;
/** RTBENCH_BASELINE=<checkout with dist/>: today's build runs as a fourth client ("today") in the same rotation. */
const BASELINE_DIR = process.env['RTBENCH_BASELINE'];
const BASELINE_CLI = BASELINE_DIR ? path.resolve(BASELINE_DIR, 'dist', 'src', 'cli', 'main.js') : null;
type Client = 'bare' | 'rtbench' | 'pgbench' | 'today';
const CLIENTS: readonly Client[] = ['bare', 'rtbench', 'pgbench', ...(BASELINE_CLI ? ['today' as const] : [])];

/** One run of one client in one condition. */
interface Cell {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly rowsPerS: number;
  readonly cpuUsPerRow: number;
  readonly load1: number;
  readonly note: string;
  /** rtbench only: its lag split (the harness's timer lateness, the wait for a connection = the server's backpressure), p99 µs. */
  readonly timerLagP99?: number;
  readonly connectionWaitP99?: number;
  /** The response histogram (µs), for the percentiles pooled over rounds. */
  readonly hist: Histogram;
}

interface Condition {
  readonly label: string;
  readonly rateHz: number | null;
  readonly depth: number;
}

const loadavg = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const us = (v: number): string => (v >= 10_000 ? `${fmt(v / 1000, 1)}ms` : `${Math.round(v)}µs`);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: readonly number[], f: (v: number) => string): string =>
  `${f(median(xs))} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`;

function fromHistogram(h: Histogram, rows: number, seconds: number, cpuUs: number, note: string): Cell {
  const s = summarize(h);
  return { n: s.count, p50: s.p50Us, p99: s.p99Us, p999: s.p999Us, max: s.maxUs, rowsPerS: rows / seconds, cpuUsPerRow: cpuUs / Math.max(1, rows), load1: os.loadavg()[0]!, note, hist: h };
}

async function clean(ref: Referee): Promise<void> {
  const c = await connect(ref.cluster.url);
  try {
    await c.query('TRUNCATE http_request');
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
}

async function runOne(ref: Referee, client: Client, cond: Condition, pipeScript: string): Promise<Cell> {
  await clean(ref);
  if (client === 'pgbench') {
    const piped = cond.depth > 1;
    const r = await pgbench(ref, {
      script: piped ? pipeScript : ref.script, seconds: SECONDS, connections: CONNECTIONS, threads: 1, log: true,
      ...(cond.rateHz === null ? {} : { rateTps: cond.rateHz }),
    });
    const rows = r.transactions * (piped ? PIPELINE_DEPTH : 1);
    // pgbench has no warm-up: its whole process CPU over its rows.
    return fromHistogram(r.latency!, rows, r.seconds, r.cpuS * 1e6, piped ? `latency per ${PIPELINE_DEPTH}-insert pipeline` : '');
  }
  if (client === 'bare') {
    const r = await bareLoop({ url: ref.cluster.url, sql: ref.insertSql, rateHz: cond.rateHz, connections: CONNECTIONS, depth: cond.depth, warmupS: WARMUP_S, seconds: SECONDS });
    return fromHistogram(r.response, r.result.ops, r.result.seconds, r.result.cpuUs, r.result.errors ? `${r.result.errors} errors` : '');
  }
  // Today's build as users ran it: 2 workers x 4 connections (its default) at fixed rates, 1 x 8 closed loop (its bench).
  const workers = client === 'today' ? (cond.rateHz === null ? 1 : 2) : rtWorkers(cond.rateHz);
  const r = await rtbench(ref, [
    '--rate', cond.rateHz === null ? 'max' : String(cond.rateHz), '--statement', 'tutorial-sql', '--workers', String(workers),
    '--connections', String(Math.max(1, Math.round(CONNECTIONS / workers))), '--pipeline', String(cond.depth), '--warmup', String(WARMUP_S), '--duration', String(SECONDS),
  ], client === 'today' ? BASELINE_CLI! : undefined);
  const s = r.summary;
  const resp = s.ingest.response;
  return {
    n: resp.count, p50: resp.p50Us, p99: resp.p99Us, p999: resp.p999Us, max: resp.maxUs,
    rowsPerS: s.ingest.achievedRateHz, cpuUsPerRow: s.client.cpuUsPerRow ?? NaN, load1: os.loadavg()[0]!,
    note: s.valid ? '' : 'invalid',
    timerLagP99: s.ingest.timerLag?.p99Us ?? NaN,
    connectionWaitP99: s.ingest.connectionWait?.p99Us ?? NaN,
    hist: r.histograms['ingest-response'] ?? newHistogram(),
  };
}

interface Target { readonly name: string; readonly ok: boolean; readonly detail: string }
const targets: Target[] = [];
function target(name: string, ok: boolean, detail: string): void {
  targets.push({ name, ok, detail });
  console.log(`  target ${name}: ${ok ? 'PASS' : 'MISS'} (${detail})`);
}

type Results = Record<Client, Cell[]>;

function printCondition(cond: Condition, res: Results): void {
  const f2 = (v: number): string => `${fmt(v, 2)}x`;
  const f1 = (v: number): string => fmt(v, 1);
  console.log('  per client: median [min–max] over rounds');
  for (const c of CLIENTS) {
    const cells = res[c];
    console.log(`  ${c.padEnd(8)} n ${fmt(median(cells.map((x) => x.n)), 0).padStart(7)}  p50 ${spread(cells.map((x) => x.p50), us)}  p99 ${spread(cells.map((x) => x.p99), us)}  ` +
      `p99.9 ${spread(cells.map((x) => x.p999), us)}  max ${us(median(cells.map((x) => x.max)))}  ${cond.rateHz === null ? `${spread(cells.map((x) => x.rowsPerS), (v) => fmt(v, 0))} rows/s  ` : ''}` +
      `CPU ${spread(cells.map((x) => x.cpuUsPerRow), f1)} µs/row` + (cells.some((x) => x.note) ? `  (${[...new Set(cells.map((x) => x.note).filter(Boolean))].join('; ')})` : ''));
  }
  if (cond.rateHz !== null) {
    const rt = res.rtbench;
    console.log(`  rtbench lag split per round, p99: timer lateness ${rt.map((x) => us(x.timerLagP99 ?? NaN)).join(', ')}; connection wait ${rt.map((x) => us(x.connectionWaitP99 ?? NaN)).join(', ')}` +
      ' (a connection wait near the response p99 is the server falling behind, not the client)');
  }
  const pooled = (c: Client): ReturnType<typeof summarize> => {
    const h = newHistogram();
    for (const x of res[c]) h.add(x.hist);
    return summarize(h);
  };
  const pools = Object.fromEntries(CLIENTS.map((c) => [c, pooled(c)])) as Record<Client, ReturnType<typeof summarize>>;
  console.log(`  pooled over rounds: ${CLIENTS.map((c) => `${c} p50/p99/p99.9 ${us(pools[c].p50Us)}/${us(pools[c].p99Us)}/${us(pools[c].p999Us)} (n ${pools[c].count})`).join('; ')}`);
  console.log(`  pooled ratios: rtbench/bare p99 ${f2(pools.rtbench.p99Us / Math.max(1, pools.bare.p99Us))}, p99.9 ${f2(pools.rtbench.p999Us / Math.max(1, pools.bare.p999Us))}; ` +
    `bare/pgbench p99 ${f2(pools.bare.p99Us / Math.max(1, pools.pgbench.p99Us))}, p99.9 ${f2(pools.bare.p999Us / Math.max(1, pools.pgbench.p999Us))}; rtbench/pgbench p99 ${f2(pools.rtbench.p99Us / Math.max(1, pools.pgbench.p99Us))}`);
  const ratio = (a: Client, b: Client, k: keyof Cell): number[] => res[a].map((x, i) => (x[k] as number) / Math.max(1e-9, res[b][i]![k] as number));
  for (const [a, b] of [['rtbench', 'bare'], ['bare', 'pgbench'], ...(BASELINE_CLI ? [['rtbench', 'today'] as const] : [])] as const) {
    console.log(`  ${`${a}/${b}`.padEnd(16)} p50 ${spread(ratio(a, b, 'p50'), f2)}  p99 ${spread(ratio(a, b, 'p99'), f2)}  p99.9 ${spread(ratio(a, b, 'p999'), f2)}  ` +
      `CPU/row ${spread(ratio(a, b, 'cpuUsPerRow'), f2)}` + (cond.rateHz === null ? `  rows/s ${spread(ratio(a, b, 'rowsPerS'), f2)}` : ''));
  }
  console.log(`  load average (1 min) during the runs: ${spread(CLIENTS.flatMap((c) => res[c].map((x) => x.load1)), (v) => fmt(v, 2))}`);
}

/** Lock the table for 1.5 s, 3 s after `run` began inserting; resolves with how long the lock was held (ms). */
async function freeze(ref: Referee): Promise<number> {
  const c = await connect(ref.cluster.url);
  try {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const n = await c.query<{ n: string }>('SELECT count(*) AS n FROM http_request');
      if (Number(n.rows[0]?.n ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 3000));
    await c.query('BEGIN');
    await c.query('LOCK TABLE http_request IN ACCESS EXCLUSIVE MODE');
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1500));
    await c.query('ROLLBACK');
    return performance.now() - t0;
  } finally {
    await c.end();
  }
}

/**
 * A 1.5 s freeze of the table in the middle of an rtbench run at 2,000 rows/s
 * must show in its p99 and max. The bare loop gets the same freeze: how long
 * the backlog takes to drain afterwards is the server's (and the machine's),
 * not rtbench's, when the bare loop takes as long.
 */
async function stall(ref: Referee): Promise<void> {
  console.log('\nstall: 2,000 rows/s, 10 s measured; 3 s into the run the table is locked (ACCESS EXCLUSIVE) for 1.5 s; rtbench, then the bare loop');
  const seconds = 10;
  await clean(ref);
  const w = rtWorkers(2000);
  const run = rtbench(ref, ['--rate', '2000', '--statement', 'tutorial-sql', '--workers', String(w), '--connections', String(Math.max(1, Math.round(CONNECTIONS / w))),
    '--warmup', '1', '--duration', String(seconds)]);
  const holdMs = await freeze(ref);
  const r = await run;
  const resp = r.summary.ingest.response;
  console.log(`  rtbench: lock held ${fmt(holdMs, 0)} ms; response n ${resp.count} p50 ${us(resp.p50Us)} p99 ${us(resp.p99Us)} p99.9 ${us(resp.p999Us)} max ${us(resp.maxUs)}; ` +
    `connection wait max ${us(r.summary.ingest.connectionWait?.maxUs ?? 0)}; load ${loadavg()}`);
  await clean(ref);
  const bareRun = bareLoop({ url: ref.cluster.url, sql: ref.insertSql, rateHz: 2000, connections: CONNECTIONS, depth: 1, warmupS: 1, seconds });
  const bareHoldMs = await freeze(ref);
  const b = summarize((await bareRun).response);
  console.log(`  bare loop: lock held ${fmt(bareHoldMs, 0)} ms; response n ${b.count} p50 ${us(b.p50Us)} p99 ${us(b.p99Us)} p99.9 ${us(b.p999Us)} max ${us(b.maxUs)}; load ${loadavg()}`);
  // 1.5 s of 10 s is 15% of the operations: the top 1% lies near the end of the freeze.
  target('1.5 s freeze shows in rtbench response p99 (≥ 2/3 of the hold)', resp.p99Us >= (holdMs * 1000 * 2) / 3, `p99 ${us(resp.p99Us)}, hold ${fmt(holdMs, 0)} ms`);
  target('1.5 s freeze shows in rtbench response max (≥ 0.95 × the hold)', resp.maxUs >= holdMs * 1000 * 0.95, `max ${us(resp.maxUs)}, hold ${fmt(holdMs, 0)} ms`);
}

async function main(): Promise<void> {
  const ref = await startReferee();
  const t0 = Date.now();
  try {
    console.log(`bench:latency: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), server ${ref.cluster.pgBinDir}; tutorial INSERT prepared, ${CONNECTIONS} connections, ` +
      `${SECONDS} s measured per run (+${WARMUP_S} s warm-up for the Node clients), ${ROUNDS} rounds; rtbench --workers ${RATES.map((r) => rtWorkers(r)).join("/")} at ${RATES.join("/")} rows/s, ${rtWorkers(null)} closed loop`);
    console.log(`today's build: ${BASELINE_CLI ?? 'not given (RTBENCH_BASELINE unset)'}`);
    console.log(`expected wall time ≈ ${Math.round((5 * CLIENTS.length * ROUNDS * (SECONDS + 4) + SECONDS + (STALL ? 30 : 0)) / 60)} min; load average at start: ${loadavg()}`);
    console.log('CPU per row: pgbench whole process from /proc; bare loop and rtbench process-wide (all threads) over their measure phase');

    await clean(ref);
    const pgMaxRun = await pgbench(ref, { script: ref.script, seconds: SECONDS, connections: CONNECTIONS, threads: 1 });
    const pgMax = pgMaxRun.transactions / pgMaxRun.seconds;
    const conditions: Condition[] = [
      // Each rate capped at half the server's closed-loop maximum; on a loaded machine two caps can coincide: run it once.
      ...[...new Set(RATES.map((r) => Math.min(r, Math.floor(pgMax / 2))))].map((r) => ({ label: `fixed ${fmt(r, 0)} rows/s`, rateHz: r, depth: 1 })),
      { label: 'closed loop', rateHz: null, depth: 1 },
      { label: `closed loop, ${PIPELINE_DEPTH} in flight per connection`, rateHz: null, depth: PIPELINE_DEPTH },
    ];
    console.log(`pgbench closed loop (probe): ${fmt(pgMax, 0)} tps`);
    const pipeScript = path.join(ref.work, 'tutorial-pipeline.sql');
    await writeFile(pipeScript, `\\startpipeline\n${`${ref.insertSql};\n`.repeat(PIPELINE_DEPTH)}\\endpipeline\n`);

    const all = new Map<string, Results>();
    for (const cond of conditions) {
      console.log(`\n${cond.label}`);
      const res: Results = { bare: [], rtbench: [], pgbench: [], today: [] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = CLIENTS.map((_, k) => CLIENTS[(k + round) % CLIENTS.length]!);
        for (const c of order) res[c].push(await runOne(ref, c, cond, pipeScript));
        console.log(`  round ${round + 1} (${order.join(', ')}; load ${loadavg()}): ` +
          CLIENTS.map((c) => { const x = res[c][round]!; return `${c} p99 ${us(x.p99)} ${cond.rateHz === null ? `${fmt(x.rowsPerS, 0)}/s ` : ''}${fmt(x.cpuUsPerRow, 1)} µs/row`; }).join(', '));
      }
      printCondition(cond, res);
      all.set(cond.label, res);
    }

    console.log('\nverdicts (medians of per-round ratios)');
    const ratioMed = (res: Results, a: Client, b: Client, k: keyof Cell): number => median(res[a].map((x, i) => (x[k] as number) / Math.max(1e-9, res[b][i]![k] as number)));
    for (const cond of conditions) {
      const res = all.get(cond.label)!;
      const r = ratioMed(res, 'rtbench', 'bare', 'p99');
      target(`${cond.label}: rtbench/bare response p99 ≤ 1.15x`, r <= 1.15, `${fmt(r, 2)}x`);
      if (cond.rateHz === null) {
        const cpu = ratioMed(res, 'rtbench', 'bare', 'cpuUsPerRow');
        target(`${cond.label}: rtbench/bare CPU per row ≤ 1.15x`, cpu <= 1.15, `${fmt(cpu, 2)}x`);
      }
    }
    const at2000 = conditions.find((c) => c.rateHz === Math.min(2000, Math.floor(pgMax / 2)))!;
    const rp = ratioMed(all.get(at2000.label)!, 'rtbench', 'pgbench', 'p99');
    target(`${at2000.label}: rtbench/pgbench response p99 ≤ 1.5x`, rp <= 1.5, `${fmt(rp, 2)}x`);
    // "No worse than today": with RTBENCH_BASELINE, today's build measured in the same rounds; else issue 18's
    // figures of the code before it on the quiet machine (docs/development.md), 500/s 2.40x and 8,000/s 3.25x.
    for (const [rate, readme] of [[500, 2.40], [8000, 3.25]] as const) {
      const cond = conditions.find((c) => c.rateHz === Math.min(rate, Math.floor(pgMax / 2)))!;
      const res = all.get(cond.label)!;
      const x = ratioMed(res, 'rtbench', 'pgbench', 'p99');
      if (BASELINE_CLI) {
        const t = ratioMed(res, 'today', 'pgbench', 'p99');
        target(`${cond.label}: rtbench/pgbench response p99 no worse than today's build`, x <= t, `${fmt(x, 2)}x vs today ${fmt(t, 2)}x (medians of per-round ratios)`);
      } else {
        target(`${cond.label}: rtbench/pgbench response p99 no worse than before issue 18 (${readme}x, quiet machine)`, x <= readme, `${fmt(x, 2)}x`);
      }
    }
    const plain = all.get(conditions.find((c) => c.rateHz === null && c.depth === 1)!.label)!;
    const piped = all.get(conditions.find((c) => c.rateHz === null && c.depth > 1)!.label)!;
    const p4 = median(piped.rtbench.map((x) => x.rowsPerS));
    const pgPlain = median(plain.pgbench.map((x) => x.rowsPerS));
    const bare4 = median(piped.bare.map((x) => x.rowsPerS));
    target(`closed loop: rtbench --pipeline ${PIPELINE_DEPTH} ≥ 1.3x pgbench plain rows/s`, p4 >= 1.3 * pgPlain,
      `${fmt(p4, 0)} / ${fmt(pgPlain, 0)} = ${fmt(p4 / pgPlain, 2)}x (medians); the bare loop with ${PIPELINE_DEPTH} in flight: ${fmt(bare4, 0)} = ${fmt(bare4 / pgPlain, 2)}x`);

    if (STALL) await stall(ref);

    const missed = targets.filter((t) => !t.ok);
    console.log(`\ntargets: ${targets.length - missed.length} PASS, ${missed.length} MISS; wall time ${fmt((Date.now() - t0) / 60_000, 1)} min; load average at end: ${loadavg()}`);
    for (const t of missed) console.log(`  MISS ${t.name} (${t.detail})`);
  } finally {
    await ref.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:latency failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
