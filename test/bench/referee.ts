/**
 * Shared by the benchmarks that hold rtbench against pgbench (bench:ingest,
 * bench:latency): one throwaway local server with the tutorial schema, the
 * tutorial INSERT as a pgbench script, pgbench and rtbench runs with their
 * client CPU sampled from /proc, pgbench's per-transaction log read into an
 * HDR histogram, and the output's number formats. Figures only, no asserts.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeHistogram, newHistogram, type Histogram } from '../../src/metrics/histogram.js';
import { startLocalCluster, type LocalCluster } from '../../src/targets/local-cluster.js';
import { connect } from '../../src/targets/postgres.js';
import { sqlPath, PACKAGE_ROOT } from '../../src/paths.js';
import type { Summary } from '../../src/results/run-record.js';
import { tutorialInsert } from '../../src/workload/statements.js';
import { TUTORIAL_WORKLOAD } from '../../src/config/types.js';
import type { BareOptions, BareResult } from './bare-loop.js';

const CLK_TCK = 100; // Linux USER_HZ for /proc/<pid>/stat

/** A finished client process: its output and the CPU seconds (user + system) it used. */
export interface Sampled { cpuS: number; stdout: string; stderr: string; code: number | null }

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
export function runSampled(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Sampled> {
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

/** The throwaway server and a scratch directory for one benchmark. */
export interface Referee {
  readonly cluster: LocalCluster;
  readonly work: string;
  /** Where rtbench runs write their result dirs. */
  readonly results: string;
  /** The tutorial INSERT, one line, as a pgbench script file. */
  readonly script: string;
  /** The tutorial INSERT's text (no trailing semicolon). */
  readonly insertSql: string;
  close(): Promise<void>;
}

/** Start a local server with the tutorial schema and write the pgbench script. */
export async function startReferee(): Promise<Referee> {
  const cluster = await startLocalCluster({ log: () => undefined });
  const work = await mkdtemp(path.join(os.tmpdir(), 'rtbench-bench-'));
  const results = path.join(work, 'results');
  await mkdir(results);
  try {
    const admin = await connect(cluster.url);
    await admin.query(await readFile(sqlPath('schema.sql'), 'utf8'));
    await admin.end();
    const template = await readFile(sqlPath('workload', 'tutorial-insert.sql'), 'utf8');
    const insertSql = tutorialInsert(template, TUTORIAL_WORKLOAD, 1).replace(/\s*\n\s*/g, ' ').replace(/;\s*$/, '');
    const script = path.join(work, 'tutorial.sql');
    await writeFile(script, `${insertSql};\n`);
    return {
      cluster, work, results, script, insertSql,
      close: async () => {
        await cluster.stop();
        await rm(work, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

/** A pgbench run: transactions processed, the CPU it used, and (with -l) its latency histogram. */
export interface PgbenchRun extends Sampled {
  readonly transactions: number;
  readonly seconds: number;
  /** Latency of every transaction from its scheduled start (with -R) in µs, from the -l log; null without a log. */
  readonly latency: Histogram | null;
  /** With -R and -l: each transaction's schedule lag (scheduled → actual start), µs. */
  readonly scheduleLag: Histogram | null;
}

export interface PgbenchOptions {
  readonly script: string;
  readonly seconds: number;
  readonly connections: number;
  readonly threads: number;
  /** Fixed rate (-R), transactions/s; omitted: closed loop. */
  readonly rateTps?: number;
  /** Write the per-transaction log (-l) and read latencies from it. */
  readonly log?: boolean;
}

/** Run pgbench (-M prepared) against `url`; throws with its stderr when it fails. */
export async function pgbench(ref: Referee, opts: PgbenchOptions): Promise<PgbenchRun> {
  const logDir = opts.log ? await mkdtemp(path.join(ref.work, 'pgbench-log-')) : null;
  const args = ['-n', '-M', 'prepared', '-c', String(opts.connections), '-j', String(opts.threads), '-T', String(opts.seconds), '-f', opts.script];
  if (opts.rateTps !== undefined) args.push('-R', String(opts.rateTps));
  if (logDir) args.push('-l', '--log-prefix', path.join(logDir, 'pgbench'));
  const r = await runSampled('pgbench', [...args, ref.cluster.url]);
  const processed = /number of transactions actually processed: (\d+)/.exec(r.stdout);
  if (!processed) throw new Error(`pgbench failed: ${r.stderr.slice(0, 500)}`);
  let latency: Histogram | null = null;
  let scheduleLag: Histogram | null = null;
  if (logDir) {
    // -l: "client_id transaction_no time script_no time_epoch time_us [schedule_lag]"; time (µs) is from the scheduled start with -R.
    latency = newHistogram();
    scheduleLag = opts.rateTps === undefined ? null : newHistogram();
    for (const f of await readdir(logDir)) {
      for (const line of (await readFile(path.join(logDir, f), 'utf8')).split('\n')) {
        const cols = line.trim().split(/\s+/);
        if (cols.length >= 6 && /^\d+$/.test(cols[2]!)) latency.recordValue(Number(cols[2]));
        if (scheduleLag && cols.length >= 7 && /^\d+$/.test(cols[6]!)) scheduleLag.recordValue(Number(cols[6]));
      }
    }
    await rm(logDir, { recursive: true, force: true });
  }
  return { ...r, transactions: Number(processed[1]), seconds: opts.seconds, latency, scheduleLag };
}

/** An rtbench run: its summary and mergeable histograms (histograms.json). */
export interface RtbenchRun extends Sampled {
  readonly summary: Summary;
  readonly runDir: string;
  readonly histograms: Record<string, Histogram>;
}

/**
 * Run `rtbench run --url <server> …args` from a build (default: this checkout's
 * dist/) and read its result dir. `cliPath` lets a benchmark run another
 * build side by side (today's main, for "no slower than today").
 */
export async function rtbench(ref: Referee, args: string[], cliPath = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js')): Promise<RtbenchRun> {
  const before = new Set(await readdir(ref.results));
  const r = await runSampled(process.execPath, [cliPath, 'run', '--url', ref.cluster.url, '--results-dir', ref.results, '--progress', '0', '--seed', '1', ...args]);
  const runId = (await readdir(ref.results)).find((d) => !before.has(d) && !d.startsWith('.'));
  if (!runId) throw new Error(`rtbench failed (exit ${r.code}): ${r.stderr.slice(0, 800)}`);
  const runDir = path.join(ref.results, runId);
  const summary = JSON.parse(await readFile(path.join(runDir, 'summary.json'), 'utf8')) as Summary;
  const encoded = JSON.parse(await readFile(path.join(runDir, 'histograms.json'), 'utf8')) as Record<string, string>;
  const histograms = Object.fromEntries(Object.entries(encoded).map(([k, v]) => [k, decodeHistogram(v)]));
  return { ...r, summary, runDir, histograms };
}

/** `n` with `d` decimals and thousands separators. */
export const fmt = (n: number, d = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export const verdict = (ok: boolean): string => (ok ? 'meets target' : 'MISSES target');

/** A bare-loop run (bare-loop.ts): its measure-phase figures and the CPU of the whole process from /proc. */
export interface BareRun extends Sampled {
  readonly result: BareResult;
  readonly response: Histogram;
}

/** Run the bare `pg` referee (test/bench/bare-loop.ts) as its own process. */
export async function bareLoop(opts: BareOptions): Promise<BareRun> {
  const script = path.join(PACKAGE_ROOT, 'dist', 'test', 'bench', 'bare-loop.js');
  const r = await runSampled(process.execPath, [script, JSON.stringify(opts)]);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`bare loop failed (exit ${r.code}): ${r.stderr.slice(0, 800)}`);
  const result = JSON.parse(line) as BareResult;
  return { ...r, result, response: decodeHistogram(result.response) };
}
