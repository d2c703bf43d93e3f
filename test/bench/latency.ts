/**
 * npm run bench:latency — pgbench as the referee of rtbench's ingest latency.
 * Prints figures and the issue-8 targets as PASS / MISS; asserts nothing.
 *
 * One throwaway local server, the tutorial INSERT (prepared) for both, 8
 * connections, the table truncated before every run:
 *  1. fixed rate 500, 2,000 and 8,000 rows/s (each capped at half of
 *     pgbench's closed-loop maximum), BENCH_SECONDS each, alternating
 *     pgbench -R (latency from the scheduled start, -l log) and rtbench
 *     --rate (response from the due time): response p50/p90/p99/p99.9 with
 *     their n, the ratios rtbench/pgbench, rtbench's lag (timer lateness,
 *     connection wait), client CPU per row;
 *  2. closed loop: pgbench plain, pgbench with a \startpipeline script of 4
 *     inserts, rtbench --pipeline 1, 4 and 16: rows/s and client CPU per row;
 *     --pipeline 1 and today's build alternate BENCH_CLOSED_ROUNDS (3) times.
 *
 * "Today's" figures (CPU per row, closed-loop rows/s) come from another
 * rtbench build run side by side: RTBENCH_BASELINE=<checkout with dist/>, e.g.
 *   git worktree add /tmp/rtbench-base 54ec917 && (cd /tmp/rtbench-base && npm ci && npx tsc -p tsconfig.json)
 * Without it those two targets are reported as not evaluated.
 */
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarize, type Histogram, type LatencySummary } from '../../src/metrics/histogram.js';
import { connect } from '../../src/targets/postgres.js';
import { fmt, pgbench, rtbench, startReferee, type PgbenchRun, type Referee, type RtbenchRun } from './referee.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const WARMUP_S = 2;
const RATES = [500, 2000, 8000];
const CONNECTIONS = 8;
const DEPTHS = [1, 4, 16];
/** Rounds of the closed-loop --pipeline 1 vs today comparison (alternating; the closest call of the benchmark). */
const CLOSED_ROUNDS = Number(process.env['BENCH_CLOSED_ROUNDS'] ?? 3);
const PIPELINE_SCRIPT_INSERTS = 4;
const BASELINE_DIR = process.env['RTBENCH_BASELINE'];
const BASELINE_CLI = BASELINE_DIR ? path.resolve(BASELINE_DIR, 'dist', 'src', 'cli', 'main.js') : null;

interface Target { readonly name: string; readonly ok: boolean | null; readonly detail: string }
const targets: Target[] = [];
function target(name: string, ok: boolean | null, detail: string): void {
  targets.push({ name, ok, detail });
  console.log(`  target ${name}: ${ok === null ? 'NOT EVALUATED' : ok ? 'PASS' : 'MISS'} (${detail})`);
}

const us = (v: number): string => (v >= 10_000 ? `${fmt(v / 1000, 1)}ms` : `${Math.round(v)}µs`);
const PCTS = [50, 90, 99, 99.9] as const;
const KEY = { 50: 'p50Us', 90: 'p90Us', 99: 'p99Us', 99.9: 'p999Us' } as const satisfies Record<(typeof PCTS)[number], keyof LatencySummary>;

/** A percentile is printed with a "?" when fewer than 10 samples lie beyond it (too few to trust its value). */
function cell(s: LatencySummary, p: (typeof PCTS)[number]): string {
  const tail = s.count * (1 - p / 100);
  return `${us(s[KEY[p]])}${tail < 10 ? '?' : ''}`;
}

function latencyRow(label: string, s: LatencySummary | undefined): void {
  if (!s) {
    console.log(`  ${label.padEnd(34)} (not recorded by this build)`);
    return;
  }
  console.log(`  ${label.padEnd(34)} ${String(s.count).padStart(8)} ${PCTS.map((p) => cell(s, p).padStart(9)).join(' ')}`);
}

function ratioRow(label: string, a: LatencySummary, b: LatencySummary): number[] {
  const ratios = PCTS.map((p) => a[KEY[p]] / Math.max(1, b[KEY[p]]));
  console.log(`  ${label.padEnd(34)} ${''.padStart(8)} ${ratios.map((r) => `${fmt(r, 2)}x`.padStart(9)).join(' ')}`);
  return ratios;
}

const hist = (r: RtbenchRun, name: string): LatencySummary | undefined => {
  const h: Histogram | undefined = r.histograms[name];
  return h ? summarize(h) : undefined;
};

async function clean(ref: Referee): Promise<void> {
  const c = await connect(ref.cluster.url);
  try {
    await c.query('TRUNCATE http_request');
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
}

const rtCpu = (r: RtbenchRun): number => r.summary.client.cpuUsPerRow ?? NaN;
const wholeCpu = (r: { cpuS: number }, rows: number): number => (r.cpuS * 1e6) / Math.max(1, rows);

function validity(r: RtbenchRun): string {
  return r.summary.valid ? 'valid' : `INVALID: ${r.summary.invalidReasons.join('; ')}`;
}

async function fixedRate(ref: Referee, rate: number): Promise<void> {
  console.log(`\nfixed rate ${fmt(rate, 0)} rows/s, ${SECONDS} s each (rtbench: +${WARMUP_S} s warm-up, excluded)`);
  await clean(ref);
  const pg = await pgbench(ref, { script: ref.script, seconds: SECONDS, connections: CONNECTIONS, threads: 2, rateTps: rate, log: true });
  await clean(ref);
  const rtArgs = ['--rate', String(rate), '--statement', 'tutorial-sql', '--workers', '2', '--connections', String(CONNECTIONS / 2), '--warmup', String(WARMUP_S), '--duration', String(SECONDS)];
  const rt = await rtbench(ref, rtArgs);
  let base: RtbenchRun | null = null;
  if (BASELINE_CLI) {
    await clean(ref);
    base = await rtbench(ref, rtArgs, BASELINE_CLI);
  }
  const pgResp = summarize(pg.latency!);
  const rtResp = rt.summary.ingest.response;
  console.log(`  pgbench -R ${rate} -c ${CONNECTIONS} -j 2 -M prepared: ${fmt(pg.transactions / pg.seconds)} tps achieved; rtbench --workers 2 --connections ${CONNECTIONS / 2}: ${fmt(rt.summary.ingest.achievedRateHz)} rows/s, ${validity(rt)}`);
  console.log(`  ${'(µs unless ms; ? = under 10 samples beyond)'.padEnd(34)} ${'n'.padStart(8)} ${PCTS.map((p) => `p${p}`.padStart(9)).join(' ')}`);
  latencyRow('pgbench response (from schedule)', pgResp);
  latencyRow('rtbench response (from due time)', rtResp);
  const [r50, , r99] = ratioRow('ratio rtbench / pgbench', rtResp, pgResp);
  latencyRow('rtbench service (sent → done)', rt.summary.ingest.service);
  latencyRow('pgbench schedule lag', pg.scheduleLag ? summarize(pg.scheduleLag) : undefined);
  latencyRow('rtbench lag (due → sent)', rt.summary.ingest.lag);
  latencyRow('rtbench   timer lateness', hist(rt, 'ingest-timer-lag'));
  latencyRow('rtbench   connection wait', hist(rt, 'ingest-connection-wait'));
  if (base) {
    latencyRow('today (baseline) response', base.summary.ingest.response);
    latencyRow('today (baseline) lag', base.summary.ingest.lag);
  }
  const pgCpu = wholeCpu(pg, pg.transactions);
  console.log(`  client CPU per row: pgbench ${fmt(pgCpu, 1)} µs (whole process); rtbench ${fmt(rtCpu(rt), 1)} µs (measure phase; whole process incl. start-up ${fmt(wholeCpu(rt, rt.summary.ingest.acked), 1)})` +
    (base ? `; today ${fmt(rtCpu(base), 1)} µs (measure phase)` : ''));
  target(`${rate}/s response p50 ≤ 1.25x pgbench`, r50! <= 1.25, `${us(rtResp.p50Us)} / ${us(pgResp.p50Us)} = ${fmt(r50!, 2)}x, n ${rtResp.count} / ${pgResp.count}`);
  target(`${rate}/s response p99 ≤ 1.5x pgbench`, r99! <= 1.5, `${us(rtResp.p99Us)} / ${us(pgResp.p99Us)} = ${fmt(r99!, 2)}x, n ${rtResp.count} / ${pgResp.count}`);
  if (rate === 2000) {
    const lag = rt.summary.ingest.lag;
    target('2000/s lag p50 ≤ 100 µs', lag.p50Us <= 100, `${us(lag.p50Us)}, n ${lag.count}`);
    target('2000/s lag p99 ≤ 1 ms', lag.p99Us <= 1000, `${us(lag.p99Us)}, n ${lag.count}`);
    target('2000/s client CPU per row ≤ 1.25x today', base ? rtCpu(rt) <= 1.25 * rtCpu(base) : null,
      base ? `${fmt(rtCpu(rt), 1)} / ${fmt(rtCpu(base), 1)} µs = ${fmt(rtCpu(rt) / rtCpu(base), 2)}x` : 'set RTBENCH_BASELINE to a build of main at 54ec917');
  }
}

interface Closed { readonly label: string; readonly rowsPerS: number; readonly cpuUsPerRow: number; readonly note: string }

function closedRow(c: Closed): void {
  console.log(`  ${c.label.padEnd(34)} ${fmt(c.rowsPerS, 0).padStart(9)} rows/s ${fmt(c.cpuUsPerRow, 1).padStart(7)} µs CPU/row  ${c.note}`);
}

function fromPgbench(label: string, r: PgbenchRun, rowsPerTx: number): Closed {
  const rows = r.transactions * rowsPerTx;
  return { label, rowsPerS: rows / r.seconds, cpuUsPerRow: wholeCpu(r, rows), note: '(whole process)' };
}

function fromRtbench(label: string, r: RtbenchRun): Closed {
  return { label, rowsPerS: r.summary.ingest.achievedRateHz, cpuUsPerRow: rtCpu(r), note: `(measure phase; ${validity(r)}, errors ${r.summary.ingest.errors})` };
}

/** Several runs of one build as one figure: total rows over total measured time, CPU weighted by rows. */
function pooled(label: string, runs: readonly RtbenchRun[]): Closed {
  const rows = runs.reduce((a, r) => a + r.summary.ingest.ackedMeasure, 0);
  const seconds = runs.reduce((a, r) => a + r.summary.durationMs / 1000, 0);
  const cpuUs = runs.reduce((a, r) => a + rtCpu(r) * r.summary.ingest.ackedMeasure, 0);
  const invalid = runs.filter((r) => !r.summary.valid).length;
  return { label, rowsPerS: rows / seconds, cpuUsPerRow: cpuUs / rows, note: `(measure phase; ${invalid} of ${runs.length} invalid)` };
}

async function main(): Promise<void> {
  if (BASELINE_CLI && !existsSync(BASELINE_CLI)) throw new Error(`RTBENCH_BASELINE: ${BASELINE_CLI} not found (build that checkout first)`);
  const ref = await startReferee();
  try {
    console.log(`bench:latency: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), server ${ref.cluster.pgBinDir}; tutorial INSERT prepared, ${CONNECTIONS} connections, ${SECONDS} s per run`);
    console.log(`today's build: ${BASELINE_CLI ?? 'not given (RTBENCH_BASELINE unset): "today" targets are not evaluated'}`);
    console.log('client CPU of each client process from /proc (pgbench) or rtbench\'s own measure-phase figure (process-wide, all threads)');

    // pgbench's closed-loop maximum first: it caps the fixed rates at half of it.
    await clean(ref);
    const pgPlain = await pgbench(ref, { script: ref.script, seconds: SECONDS, connections: CONNECTIONS, threads: 1 });
    const pgMax = pgPlain.transactions / pgPlain.seconds;
    const rates = RATES.map((r) => Math.min(r, Math.floor(pgMax / 2)));
    console.log(`pgbench closed loop: ${fmt(pgMax, 0)} tps; fixed rates: ${rates.join(', ')} rows/s`);

    for (const rate of rates) await fixedRate(ref, rate);

    console.log(`\nclosed loop, ${CONNECTIONS} connections, one client thread each (pgbench -j 1, rtbench --workers 1), ${SECONDS} s`);
    const pipeScript = path.join(ref.work, 'tutorial-pipeline.sql');
    await writeFile(pipeScript, `\\startpipeline\n${`${ref.insertSql};\n`.repeat(PIPELINE_SCRIPT_INSERTS)}\\endpipeline\n`);
    const rows: Closed[] = [fromPgbench('pgbench plain', pgPlain, 1)];
    await clean(ref);
    rows.push(fromPgbench(`pgbench \\startpipeline x${PIPELINE_SCRIPT_INSERTS}`, await pgbench(ref, { script: pipeScript, seconds: SECONDS, connections: CONNECTIONS, threads: 1 }), PIPELINE_SCRIPT_INSERTS));
    const closedArgs = ['--rate', 'max', '--statement', 'tutorial-sql', '--workers', '1', '--connections', String(CONNECTIONS), '--warmup', String(WARMUP_S), '--duration', String(SECONDS)];
    const byDepth = new Map<number, Closed>();
    let today: Closed | null = null;
    let pairedMedian = NaN;
    for (const d of DEPTHS) {
      if (d === 1 && BASELINE_CLI) {
        // The two closest figures alternate for CLOSED_ROUNDS rounds; each side is its rounds' total rows over total time.
        const mine: RtbenchRun[] = [];
        const base: RtbenchRun[] = [];
        for (let round = 1; round <= CLOSED_ROUNDS; round++) {
          await clean(ref);
          mine.push(await rtbench(ref, [...closedArgs, '--pipeline', '1']));
          await clean(ref);
          base.push(await rtbench(ref, closedArgs, BASELINE_CLI));
          console.log(`  round ${round}: rtbench --pipeline 1 ${fmt(mine[round - 1]!.summary.ingest.achievedRateHz, 0)} rows/s, today ${fmt(base[round - 1]!.summary.ingest.achievedRateHz, 0)} rows/s`);
        }
        const c = pooled(`rtbench --pipeline 1 (${CLOSED_ROUNDS} rounds)`, mine);
        byDepth.set(1, c);
        today = pooled(`today (baseline) (${CLOSED_ROUNDS} rounds)`, base);
        rows.push(c, today);
        // Each round's two runs are adjacent in time: their ratio cancels the machine's drift; the median ignores one bad round.
        const ratios = mine.map((m, k) => m.summary.ingest.achievedRateHz / base[k]!.summary.ingest.achievedRateHz).sort((a, b) => a - b);
        pairedMedian = ratios[Math.floor(ratios.length / 2)]!;
        console.log(`  per-round ratios rtbench / today: ${ratios.map((r) => fmt(r, 3)).join(', ')}; median ${fmt(pairedMedian, 3)}`);
        continue;
      }
      await clean(ref);
      const c = fromRtbench(`rtbench --pipeline ${d}`, await rtbench(ref, [...closedArgs, '--pipeline', String(d)]));
      byDepth.set(d, c);
      rows.push(c);
    }
    for (const c of rows) closedRow(c);
    const p4 = byDepth.get(4)!;
    const p1 = byDepth.get(1)!;
    target('closed loop --pipeline 4 rows/s ≥ 1.0x pgbench plain', p4.rowsPerS >= pgMax, `${fmt(p4.rowsPerS, 0)} / ${fmt(pgMax, 0)} = ${fmt(p4.rowsPerS / pgMax, 2)}x`);
    target('closed loop --pipeline 1 no slower than today', today ? pairedMedian >= 1 : null,
      today ? `median of ${CLOSED_ROUNDS} paired rounds ${fmt(pairedMedian, 3)}x; pooled ${fmt(p1.rowsPerS, 0)} / ${fmt(today.rowsPerS, 0)} = ${fmt(p1.rowsPerS / today.rowsPerS, 3)}x` : 'set RTBENCH_BASELINE to a build of main at 54ec917');

    const missed = targets.filter((t) => t.ok === false);
    const skipped = targets.filter((t) => t.ok === null);
    console.log(`\ntargets: ${targets.length - missed.length - skipped.length} PASS, ${missed.length} MISS, ${skipped.length} not evaluated`);
    for (const t of missed) console.log(`  MISS ${t.name} (${t.detail})`);
    console.log('(one run per cell on a shared machine: rerun on a quiet one before trusting a verdict near its limit)');
  } finally {
    await ref.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:latency failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
