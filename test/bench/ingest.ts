/**
 * npm run bench:ingest — rtbench against pgbench on the same throwaway local
 * server. Prints figures; asserts nothing (targets are reported, not enforced).
 *
 * 1. Closed loop, tutorial INSERT (prepared), 8 connections, 20 s each,
 *    alternating pgbench / rtbench for ROUNDS rounds: throughput ratio and
 *    client CPU µs per row ratio (both read from /proc for both processes).
 * 2. rtbench --mode multi and --mode copy (batch 100, closed loop) rows/s over
 *    pgbench's single-row rows/s.
 * 3. rtbench at half pgbench's maximum for 60 s: achieved/target, p99 lag,
 *    RSS at 10 s vs 60 s of the measure phase.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fmt, pgbench, rtbench, startReferee, verdict, type PgbenchRun, type RtbenchRun } from './referee.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const FIXED_SECONDS = Number(process.env['BENCH_FIXED_SECONDS'] ?? 60);
const CONNECTIONS = 8;

async function main(): Promise<void> {
  const ref = await startReferee();
  const { cluster, script } = ref;
  try {
    console.log(`server: ${cluster.pgBinDir}, ${os.cpus().length} cores; ${CONNECTIONS} connections, closed loop, tutorial INSERT prepared, ${SECONDS} s each, ${ROUNDS} rounds alternating`);

    const closed = { script, seconds: SECONDS, connections: CONNECTIONS, threads: 1 };
    const pg: PgbenchRun[] = [];
    const rt: RtbenchRun[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const p = await pgbench(ref, closed);
      pg.push(p);
      console.log(`  round ${round} pgbench: ${fmt(p.transactions / p.seconds)} rows/s, ${fmt((p.cpuS * 1e6) / p.transactions)} µs CPU/row`);
      const r = await rtbench(ref, ['--rate', 'max', '--statement', 'tutorial-sql', '--workers', '1', '--connections', String(CONNECTIONS), '--warmup', '0', '--duration', String(SECONDS)]);
      rt.push(r);
      console.log(`  round ${round} rtbench: ${fmt(r.summary.ingest.achievedRateHz)} rows/s, ${fmt((r.cpuS * 1e6) / r.summary.ingest.acked)} µs CPU/row (whole process incl. start-up; measure phase alone ${fmt(r.summary.client.cpuUsPerRow ?? NaN)})`);
    }
    const pgRate = pg.reduce((a, m) => a + m.transactions, 0) / pg.reduce((a, m) => a + m.seconds, 0);
    const rtRate = rt.reduce((a, m) => a + m.summary.ingest.achievedRateHz, 0) / rt.length;
    const pgCpu = (pg.reduce((a, m) => a + m.cpuS, 0) * 1e6) / pg.reduce((a, m) => a + m.transactions, 0);
    const rtCpu = (rt.reduce((a, m) => a + m.cpuS, 0) * 1e6) / rt.reduce((a, m) => a + m.summary.ingest.acked, 0);
    console.log(`throughput rtbench/pgbench: ${fmt(rtRate)} / ${fmt(pgRate)} = ${fmt(rtRate / pgRate, 3)} (target ≥ 1.0: ${verdict(rtRate / pgRate >= 1)})`);
    console.log(`client CPU per row rtbench/pgbench: ${fmt(rtCpu)} / ${fmt(pgCpu)} µs = ${fmt(rtCpu / pgCpu, 2)} (target ≤ 1.5: ${verdict(rtCpu / pgCpu <= 1.5)})`);

    for (const mode of ['multi', 'copy']) {
      const r = await rtbench(ref, ['--rate', 'max', '--mode', mode, '--batch', '100', '--workers', '1', '--connections', String(CONNECTIONS), '--warmup', '2', '--duration', String(SECONDS)]);
      const ratio = r.summary.ingest.achievedRateHz / pgRate;
      console.log(`${mode} (batch 100): ${fmt(r.summary.ingest.achievedRateHz)} rows/s = ${fmt(ratio, 1)}x pgbench single-row (target ≥ 10x: ${verdict(ratio >= 10)})`);
    }

    const target = Math.round(pgRate / 2);
    const r = await rtbench(ref, ['--rate', String(target), '--statement', 'tutorial-sql', '--workers', '1', '--connections', String(CONNECTIONS), '--warmup', '5', '--duration', String(FIXED_SECONDS)]);
    const csv = (await readFile(path.join(r.runDir, 'timeseries.csv'), 'utf8')).trim().split('\n');
    const header = csv[0]!.split(',');
    const col = (name: string): number => header.indexOf(name);
    const measure = csv.slice(1).map((l) => l.split(',')).filter((f) => f[col('phase')] === 'measure');
    const rssAt = (s: number): number => Number(measure[Math.min(measure.length - 1, s - 1)]?.[col('rss_mb')] ?? NaN);
    const ach = r.summary.ingest.achievedRateHz / target;
    console.log(`fixed rate ${target} rows/s (half of pgbench) for ${FIXED_SECONDS} s: achieved/target ${fmt(ach, 4)} (target within ±1%: ${verdict(Math.abs(ach - 1) <= 0.01)}), ` +
      `p99 lag ${fmt(r.summary.ingest.lag.p99Us / 1000, 2)} ms (target ≤ 2 ms: ${verdict(r.summary.ingest.lag.p99Us <= 2000)})`);
    const growth = rssAt(FIXED_SECONDS) - rssAt(10);
    console.log(`RSS at 10 s ${fmt(rssAt(10))} MB, at ${FIXED_SECONDS} s ${fmt(rssAt(FIXED_SECONDS))} MB: growth ${fmt(growth)} MB (target ≤ 20 MB: ${verdict(growth <= 20)})`);
    console.log(`run valid: ${r.summary.valid}${r.summary.valid ? '' : ` (${r.summary.invalidReasons.join('; ')})`}`);

    // Context: pgbench's own schedule lag at the same rate on the same server (-R, per-transaction log).
    const pl = await pgbench(ref, { ...closed, seconds: FIXED_SECONDS, rateTps: target, log: true });
    const lag = pl.scheduleLag!;
    console.log(`pgbench -R ${target} for ${FIXED_SECONDS} s on the same server: ${fmt(pl.transactions / pl.seconds)} tps, schedule lag p99 ${fmt(lag.getValueAtPercentile(99) / 1000, 2)} ms (${lag.totalCount} transactions)`);
  } finally {
    await ref.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:ingest failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
