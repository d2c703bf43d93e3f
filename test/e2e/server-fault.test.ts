/**
 * Faults on purpose (issue 22). A `--fault restart@10s` run with the incremental rollup, a
 * viewer and the sampler: the outage it reports starts within ±0.5 s of the restart as the
 * server's own log shows it, the sampler reads the server again after it, no figure is
 * negative, every acknowledged row is in the table and the rollup audits exact. A second run
 * pauses the server for 2 s and runs a --fault-cmd at its time, recording its exit code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Summary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const out = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function runDir(resultsDir: string): Promise<string> {
  const entries = await fs.readdir(resultsDir);
  assert.equal(entries.length, 1, entries.join(', '));
  return path.join(resultsDir, entries[0]!);
}

/** Every number in a JSON value, with its path. */
function numbers(v: unknown, at = ''): Array<[string, number]> {
  if (typeof v === 'number') return [[at, v]];
  if (Array.isArray(v)) return v.flatMap((x, i) => numbers(x, `${at}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => numbers(x, `${at}.${k}`));
  return [];
}

/** Epoch ms of the first server-log line containing `needle` (log_line_prefix '%m', log_timezone UTC). */
async function loggedAt(logFile: string, needle: string): Promise<number> {
  const text = await fs.readFile(logFile, 'utf8');
  const line = text.split('\n').find((l) => l.includes(needle));
  assert.ok(line, `"${needle}" in ${logFile}:\n${text.slice(-2000)}`);
  const stamp = line.slice(0, line.indexOf(' UTC'));
  const ms = Date.parse(`${stamp.replace(' ', 'T')}Z`);
  assert.ok(Number.isFinite(ms), line);
  return ms;
}

interface FaultRecord { kind: string; plannedAtMs: number; startMs: number | null; endMs: number | null; startEpochMs: number | null; exitCode: number | null; error?: string }

describe('--fault restart@10s with the rollup, a viewer and the sampler', { skip }, () => {
  let cluster: LocalCluster;
  let base: string;
  let r: CliResult;
  let s: Summary & { fault?: FaultRecord[] };
  let dir: string;
  before(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-server-fault-'));
    // synchronous_commit on: an acknowledged row must survive the restart.
    cluster = await startTestCluster({ settings: { synchronous_commit: 'on', log_timezone: 'UTC', log_line_prefix: '%m [%p] ' } });
    r = await runCli(
      ['run', '--url', cluster.url, '--rate', '200', '--duration', '16', '--warmup', '2', '--workers', '1', '--connections', '4',
        '--rollup', 'incremental', '--rollup-interval', '2s', '--viewers', '1', '--refresh', '2s', '--sample-interval', '200',
        '--no-idle-baseline', '--no-parallel', '--fault', 'restart@10s', '--results-dir', path.join(base, 'results')],
      { timeoutMs: 280_000 },
    );
    dir = await runDir(path.join(base, 'results')).catch((err: unknown) => assert.fail(`${String(err)}\n${out(r)}`));
    s = JSON.parse(await fs.readFile(path.join(dir, 'summary.json'), 'utf8')) as typeof s;
  });
  after(async () => {
    await cluster?.stop();
    await fs.rm(base, { recursive: true, force: true });
  });

  test('the fault ran at 10 s and the outage is reported where the server log puts the restart (±0.5 s)', { timeout: 300_000 }, async () => {
    const f = s.fault?.[0];
    assert.ok(f && f.kind === 'restart' && f.exitCode === 0 && f.startMs !== null && f.startEpochMs !== null, JSON.stringify(s.fault));
    assert.ok(Math.abs(f.startMs - 10_000) < 1_000, `fault ran at ${f.startMs} ms`);
    // One restart is usually one outage, but may be more: a fast shutdown ends the backends one by one, and a
    // statement on a backend not yet ended succeeds between two failures (seen on a clean-clone CI run: 08006 at
    // 10.144 s, a success at 10.153 s, then 57P01 from 10.155 s to 10.686 s). Each outage is within the restart.
    const outages = s.availability?.outages ?? [];
    assert.ok(outages.length >= 1 && outages.length <= 4, JSON.stringify(s.availability));
    const origin = f.startEpochMs - f.startMs;
    const shutdown = await loggedAt(path.join(cluster.rootDir, 'server.log'), 'received fast shutdown request');
    for (const o of outages) {
      assert.ok(o.endMs !== null && o.endMs > o.startMs, JSON.stringify(o));
      assert.ok(o.causes.some((c) => /^(57P0[13]|08)/.test(c)), o.causes.join(', '));
      assert.ok(origin + o.startMs - shutdown >= -500 && origin + o.endMs - shutdown < 10_000, `an outage ${JSON.stringify(o)} outside the restart (shutdown logged at ${shutdown - origin} ms)`);
    }
    const o = outages[0]!;
    assert.ok(Math.abs(origin + o.startMs - shutdown) <= 500, `outage starts ${(origin + o.startMs - shutdown).toFixed(0)} ms from the logged shutdown`);
    assert.ok(s.availability!.unavailableMs > 0 && s.availability!.unavailableMs < 10_000, String(s.availability!.unavailableMs));
    assert.match(s.notes.join('\n'), /the server was unavailable \d+\.\d–\d+\.\d s: /);
    assert.match(r.stderr, /SERVER UNAVAILABLE/, 'the progress line marks the outage');
    const csv = await fs.readFile(path.join(dir, 'timeseries.csv'), 'utf8');
    assert.ok(csv.split('\n')[0]!.includes('unavailable_ms'));
  });

  test('each connection\'s outage beside the pool\'s, the recovery, and the verdict\'s cause line', { timeout: 300_000 }, () => {
    const av = s.availability!;
    const c = av.connections;
    assert.ok(c, JSON.stringify(av));
    assert.equal(c.count, 4);
    assert.equal(c.perConnection.length, 4);
    assert.ok(c.down >= 1 && c.minMs > 0 && c.minMs <= c.medianMs && c.medianMs <= c.maxMs, JSON.stringify(c));
    // The pool is back with its first connection; a connection that reconnects later (its own backoff) is down longer
    // than the pool, never longer than the step (18 s).
    assert.ok(c.maxMs < 18_000, `connection down ${c.maxMs} ms`);
    assert.match(r.stdout, /- cause: the server was unavailable \d+\.\d–\d+\.\d s: [^\n]*load connections? (was|were) unavailable/);
    assert.match(r.stdout, /unavailable .* per connection [\d.–]+ s \(\d of 4 down\)/);
  });

  test('each panel\'s response before / during / after the fault, in the summary and the console', { timeout: 300_000 }, () => {
    const fp = s.faultPhases;
    assert.ok(fp, 'summary.faultPhases');
    const f = s.fault![0]!;
    assert.equal(fp.window.startMs, f.startMs);
    assert.ok(fp.window.endMs >= (f.endMs ?? 0) && fp.window.endMs >= (s.availability!.outages[0]!.endMs ?? 0), JSON.stringify(fp.window));
    const cells = Object.values(fp.panels).flatMap((w) => Object.values(w));
    assert.ok(cells.length > 0);
    // Refreshes every 2 s over 16 s with the fault at 10 s: samples before it in every cell.
    for (const x of cells) {
      assert.ok(x.before.count > 0, JSON.stringify(x));
      assert.ok(x.before.count + x.during.count + x.after.count + x.before.missed + x.during.missed + x.after.missed > x.before.count);
    }
    assert.match(r.stdout, /around the fault \(during \d+\.\d–\d+\.\d s\)/);
  });

  test('acked = rows in the table, the rollup audits 0 lost / 0 duplicated', { timeout: 300_000 }, () => {
    assert.equal(s.ingest.rowsInTable, s.ingest.acked, out(r));
    assert.equal(s.audit?.lostEvents ?? 0, 0, JSON.stringify(s.audit));
    assert.equal(s.audit?.duplicatedEvents ?? 0, 0, JSON.stringify(s.audit));
  });

  test('the sampler read the server after the restart; no figure is negative', { timeout: 300_000 }, async () => {
    const f = s.fault![0]!;
    const serverCsv = (await fs.readFile(path.join(dir, 'server.csv'), 'utf8')).trim().split('\n');
    const cols = serverCsv[0]!.split(',');
    const second = cols.indexOf('second');
    assert.ok(second >= 0, serverCsv[0]);
    const after = serverCsv.slice(1).map((l) => Number(l.split(',')[second])).filter((x) => x * 1000 > f.endMs! + 500);
    assert.ok(after.length > 0, `server.csv seconds after the restart (${f.endMs} ms):\n${serverCsv.join('\n')}`);
    for (const line of serverCsv.slice(1)) for (const v of line.split(',')) if (v !== '' && Number.isFinite(Number(v))) assert.ok(Number(v) >= 0, `negative in server.csv: ${line}`);
    const negative = numbers(s.server).filter(([, v]) => v < 0);
    assert.deepEqual(negative, [], 'no negative figure in summary.server');
    assert.ok((s.server?.unavailable ?? []).some((l) => /could not be read from .* the sampler reconnected/.test(l)), JSON.stringify(s.server?.unavailable));
  });
});

describe("--fault 'pause 2s@4s' and --fault-cmd at its time", { skip }, () => {
  let cluster: LocalCluster;
  let base: string;
  let r: CliResult;
  let s: Summary & { fault?: FaultRecord[] };
  before(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-server-pause-'));
    cluster = await startTestCluster();
    const marker = path.join(base, 'ran');
    r = await runCli(
      ['run', '--url', cluster.url, '--rate', '100', '--duration', '8', '--warmup', '1', '--workers', '1', '--connections', '2', '--sample-interval', '0',
        '--fault', 'pause 2s@4s', '--fault-cmd', `date +%s%3N > '${marker}'; exit 3`, '--fault-at', '3s', '--results-dir', path.join(base, 'results')],
      { timeoutMs: 200_000 },
    );
    const dir = await runDir(path.join(base, 'results')).catch((err: unknown) => assert.fail(`${String(err)}\n${out(r)}`));
    s = JSON.parse(await fs.readFile(path.join(dir, 'summary.json'), 'utf8')) as typeof s;
  });
  after(async () => {
    await cluster?.stop();
    await fs.rm(base, { recursive: true, force: true });
  });

  test('the command ran at 3 s and its exit code is recorded', { timeout: 220_000 }, async () => {
    const cmd = s.fault?.find((f) => f.kind === 'command');
    assert.ok(cmd && cmd.startMs !== null && cmd.startEpochMs !== null, JSON.stringify(s.fault));
    assert.equal(cmd.exitCode, 3);
    assert.ok(Math.abs(cmd.startMs - 3000) < 1000, `ran at ${cmd.startMs} ms`);
    const wrote = Number((await fs.readFile(path.join(base, 'ran'), 'utf8')).trim());
    assert.ok(Math.abs(wrote - cmd.startEpochMs) < 1000, `the command itself ran at ${wrote}, recorded ${cmd.startEpochMs}`);
    assert.match(s.notes.join('\n'), /fault: command .* exit 3/);
  });

  test('a 2 s pause shows in the response tail or as censored operations', { timeout: 220_000 }, () => {
    const pause = s.fault?.find((f) => f.kind === 'pause');
    assert.ok(pause && pause.exitCode === 0 && pause.startMs !== null, JSON.stringify(s.fault));
    const censored = s.ingest.censored?.count ?? 0;
    // Frozen, the server answers nothing for 2 s: the operations due then wait (response max ≥ ~1.5 s) or are never sent.
    assert.ok(s.ingest.response.maxUs >= 1_500_000 || censored > 0 || s.ingest.unfinished > 0, `response max ${s.ingest.response.maxUs} µs, censored ${censored}\n${out(r)}`);
  });
});
