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
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLocalCluster } from '../../src/targets/local-cluster.js';
import { connect } from '../../src/targets/postgres.js';
import { sqlPath, PACKAGE_ROOT } from '../../src/paths.js';
import { tutorialInsert } from '../../src/workload/statements.js';
import { TUTORIAL_WORKLOAD } from '../../src/config/types.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const FIXED_SECONDS = Number(process.env['BENCH_FIXED_SECONDS'] ?? 60);
const CONNECTIONS = 8;
const CLK_TCK = 100; // Linux USER_HZ for /proc/<pid>/stat

interface Measured { rows: number; seconds: number; cpuS: number; stdout: string; stderr: string; code: number | null }

/** CPU seconds (user+system) of a live process from /proc; null once it is gone. */
async function procCpuS(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Run a command (no shell), sampling its CPU every 100 ms; the last sample before exit is its CPU. */
function runSampled(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Omit<Measured, 'rows' | 'seconds'>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let cpuS = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setInterval(() => {
      void procCpuS(child.pid!).then((c) => { if (c !== null) cpuS = c; });
    }, 100);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ cpuS, stdout, stderr, code });
    });
  });
}

async function pgbench(url: string, script: string, seconds: number, extra: string[] = []): Promise<Measured> {
  const r = await runSampled('pgbench', ['-n', '-M', 'prepared', '-c', String(CONNECTIONS), '-j', '1', '-T', String(seconds), '-f', script, ...extra, url], process.env);
  const processed = /number of transactions actually processed: (\d+)/.exec(r.stdout);
  if (!processed) throw new Error(`pgbench failed: ${r.stderr.slice(0, 500)}`);
  return { ...r, rows: Number(processed[1]), seconds };
}

interface RtSummary {
  ingest: { achievedRateHz: number; acked: number; ackedMeasure: number; lag: { p99Us: number }; targetRateHz: number | null };
  client: { cpuUsPerRow: number | null };
  valid: boolean;
  invalidReasons: string[];
}

async function rtbench(url: string, resultsDir: string, args: string[]): Promise<Measured & { summary: RtSummary; runDir: string }> {
  const before = new Set(await readdir(resultsDir));
  const cli = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');
  const r = await runSampled(process.execPath, [cli, 'run', '--url', url, '--results-dir', resultsDir, '--progress', '0', '--seed', '1', ...args], process.env);
  const runId = (await readdir(resultsDir)).find((d) => !before.has(d) && !d.startsWith('.'));
  if (!runId) throw new Error(`rtbench failed (exit ${r.code}): ${r.stderr.slice(0, 800)}`);
  const runDir = path.join(resultsDir, runId);
  const summary = JSON.parse(await readFile(path.join(runDir, 'summary.json'), 'utf8')) as RtSummary;
  return { ...r, rows: summary.ingest.acked, seconds: 0, summary, runDir };
}

const fmt = (n: number, d = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const verdict = (ok: boolean): string => (ok ? 'meets target' : 'MISSES target');

async function main(): Promise<void> {
  const cluster = await startLocalCluster({ log: () => undefined });
  const work = await mkdtemp(path.join(os.tmpdir(), 'rtbench-bench-'));
  const results = path.join(work, 'results');
  await import('node:fs/promises').then((fs) => fs.mkdir(results));
  try {
    const admin = await connect(cluster.url);
    await admin.query(await readFile(sqlPath('schema.sql'), 'utf8'));
    await admin.end();
    const script = path.join(work, 'tutorial.sql');
    const template = await readFile(sqlPath('workload', 'tutorial-insert.sql'), 'utf8');
    await writeFile(script, tutorialInsert(template, TUTORIAL_WORKLOAD, 1).replace(/\s*\n\s*/g, ' ') + ';\n');
    console.log(`server: ${cluster.pgBinDir}, ${os.cpus().length} cores; ${CONNECTIONS} connections, closed loop, tutorial INSERT prepared, ${SECONDS} s each, ${ROUNDS} rounds alternating`);

    const pg: Measured[] = [];
    const rt: Measured[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const p = await pgbench(cluster.url, script, SECONDS);
      pg.push(p);
      console.log(`  round ${round} pgbench: ${fmt(p.rows / p.seconds)} rows/s, ${fmt((p.cpuS * 1e6) / p.rows)} µs CPU/row`);
      const r = await rtbench(cluster.url, results, ['--rate', 'max', '--statement', 'tutorial-sql', '--workers', '1', '--connections', String(CONNECTIONS), '--warmup', '0', '--duration', String(SECONDS)]);
      rt.push(r);
      console.log(`  round ${round} rtbench: ${fmt(r.summary.ingest.achievedRateHz)} rows/s, ${fmt((r.cpuS * 1e6) / r.rows)} µs CPU/row (whole process incl. start-up; measure phase alone ${fmt(r.summary.client.cpuUsPerRow ?? NaN)})`);
    }
    const pgRate = pg.reduce((a, m) => a + m.rows, 0) / pg.reduce((a, m) => a + m.seconds, 0);
    const rtRate = rt.reduce((a, m) => a + (m as Measured & { summary: RtSummary }).summary.ingest.achievedRateHz, 0) / rt.length;
    const pgCpu = (pg.reduce((a, m) => a + m.cpuS, 0) * 1e6) / pg.reduce((a, m) => a + m.rows, 0);
    const rtCpu = (rt.reduce((a, m) => a + m.cpuS, 0) * 1e6) / rt.reduce((a, m) => a + m.rows, 0);
    console.log(`throughput rtbench/pgbench: ${fmt(rtRate)} / ${fmt(pgRate)} = ${fmt(rtRate / pgRate, 3)} (target ≥ 1.0: ${verdict(rtRate / pgRate >= 1)})`);
    console.log(`client CPU per row rtbench/pgbench: ${fmt(rtCpu)} / ${fmt(pgCpu)} µs = ${fmt(rtCpu / pgCpu, 2)} (target ≤ 1.5: ${verdict(rtCpu / pgCpu <= 1.5)})`);

    for (const mode of ['multi', 'copy']) {
      const r = await rtbench(cluster.url, results, ['--rate', 'max', '--mode', mode, '--batch', '100', '--workers', '1', '--connections', String(CONNECTIONS), '--warmup', '2', '--duration', String(SECONDS)]);
      const ratio = r.summary.ingest.achievedRateHz / pgRate;
      console.log(`${mode} (batch 100): ${fmt(r.summary.ingest.achievedRateHz)} rows/s = ${fmt(ratio, 1)}x pgbench single-row (target ≥ 10x: ${verdict(ratio >= 10)})`);
    }

    const target = Math.round(pgRate / 2);
    const r = await rtbench(cluster.url, results, ['--rate', String(target), '--statement', 'tutorial-sql', '--workers', '1', '--connections', String(CONNECTIONS), '--warmup', '5', '--duration', String(FIXED_SECONDS)]);
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
    const logDir = path.join(work, 'pgbench-log');
    await import('node:fs/promises').then((fs) => fs.mkdir(logDir));
    const pl = await runSampled('pgbench', ['-n', '-M', 'prepared', '-c', String(CONNECTIONS), '-j', '1', '-T', String(FIXED_SECONDS), '-R', String(target), '-l', '--log-prefix', path.join(logDir, 'pgbench'), '-f', script, cluster.url], process.env);
    const lags: number[] = [];
    for (const f of await readdir(logDir)) {
      for (const line of (await readFile(path.join(logDir, f), 'utf8')).split('\n')) {
        const cols = line.trim().split(/\s+/);
        if (cols.length >= 7) lags.push(Number(cols[6]));
      }
    }
    lags.sort((a, b) => a - b);
    const pgTps = /tps = ([\d.]+)/.exec(pl.stdout)?.[1];
    const p99 = lags.length ? lags[Math.min(lags.length - 1, Math.floor(lags.length * 0.99))]! : NaN;
    console.log(`pgbench -R ${target} for ${FIXED_SECONDS} s on the same server: ${pgTps ?? '?'} tps, schedule lag p99 ${fmt(p99 / 1000, 2)} ms (${lags.length} transactions)`);
  } finally {
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:ingest failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
