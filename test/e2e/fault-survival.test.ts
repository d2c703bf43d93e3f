/**
 * Every part of a run survives the server going away (issue 22): with the incremental rollup,
 * a viewer, the freshness markers and expiry on, a `--fault restart@9s` leaves each part
 * producing figures after the restart (a rollup run, viewer panels, a marker seen, an expiry),
 * what a part could not do during the outage is named in one line per part, every
 * acknowledged row is in the table and the rollup audits exact. `--fault crash@T` (immediate
 * stop, then start) and a fault against `rtbench db`'s long-lived server are measured the
 * same way: the outage is reported, the run goes on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import type { PartSurvival } from '../../src/metrics/part-survival.js';
import { lines, runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { assertAckedWithinDoubt, readFaultRun, untilSecondOfMinute, type FaultRecord } from '../helpers/fault-run.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const out = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** A part's outages, if any, ended, and it succeeded after the fault ended. */
function assertSurvived(part: string, p: PartSurvival | undefined, faultEndMs: number, notes: readonly string[]): void {
  assert.ok(p, `${part}: no survival record`);
  for (const o of p.outages) assert.ok(o.endMs !== null, `${part}: outage not over: ${JSON.stringify(p)}`);
  assert.ok(p.lastOkMs !== null && p.lastOkMs > faultEndMs, `${part}: last success ${p.lastOkMs} ms, the fault ended at ${faultEndMs} ms`);
  const named = notes.filter((n) => n.startsWith(`${part}: could not `));
  assert.equal(named.length, p.outages.length > 0 ? 1 : 0, `${part}: one line for its outages, none without: ${JSON.stringify(named)}`);
  if (p.outages.length > 0) assert.ok(p.okAfterOutages > 0, JSON.stringify(p));
}

describe('--fault restart@9s: the rollup, a viewer, freshness and expiry go on after the restart', { skip }, () => {
  let cluster: LocalCluster;
  let base: string;
  let r: CliResult;
  let run: Awaited<ReturnType<typeof readFaultRun>>;
  before(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-survival-'));
    // synchronous_commit on: an acknowledged row must survive the restart.
    cluster = await startTestCluster({ settings: { synchronous_commit: 'on' } });
    // Start so the run crosses a minute boundary: the 1-minute rollup then has a closed period to audit.
    await untilSecondOfMinute(45);
    r = await runCli(
      ['run', '--url', cluster.url, '--rate', '200', '--duration', '18', '--warmup', '2', '--workers', '1', '--connections', '4',
        '--rollup', 'incremental', '--rollup-interval', '2s', '--viewers', '1', '--refresh', '1s', '--sample-interval', '0',
        '--expire', 'delete', '--expire-every', '2s', '--retention', '1h',
        '--no-idle-baseline', '--no-parallel', '--fault', 'restart@9s', '--results-dir', path.join(base, 'results')],
      { timeoutMs: 280_000 },
    );
    run = await readFaultRun(path.join(base, 'results'), out(r));
  });
  after(async () => {
    await cluster?.stop();
    await fs.rm(base, { recursive: true, force: true });
  });

  test('the restart ran and the outage is reported', { timeout: 300_000 }, () => {
    const f = run.s.fault?.[0];
    assert.ok(f && f.kind === 'restart' && f.exitCode === 0 && f.endMs !== null, JSON.stringify(run.s.fault));
    assert.ok((run.s.availability?.outages.length ?? 0) >= 1, JSON.stringify(run.s.availability));
  });

  test('after the restart each part produces figures again; its outage is named once', { timeout: 300_000 }, () => {
    const f = run.s.fault![0]! as FaultRecord & { endMs: number };
    const d = run.s;
    assert.ok(d.freshness && d.rollup, out(r));
    const sv = d.survival ?? {};
    assertSurvived('rollup', sv.rollup, f.endMs, run.s.notes);
    assertSurvived('viewers', sv.viewers, f.endMs, run.s.notes);
    assertSurvived('freshness', sv.freshness, f.endMs, run.s.notes);
    // Polled every 250 ms, the freshness probe meets the outage.
    assert.ok(sv.freshness!.outages.length >= 1 && sv.freshness!.failedAttempts >= 1, JSON.stringify(sv.freshness));
    assert.ok(d.freshness!.lastSeenMs != null && d.freshness.lastSeenMs > f.endMs, `a marker seen after the restart: ${JSON.stringify(d.freshness)}`);
    const expiry = (run.s as { expiryDuringMeasure?: { runs: Array<{ startEpochMs: number }>; survival?: PartSurvival; errors: string[] } }).expiryDuringMeasure;
    assert.ok(expiry, 'expiry ran during the measure phase');
    assertSurvived('expiry', expiry.survival, f.endMs, run.s.notes);
    const faultEndEpochMs = f.startEpochMs! + (f.endMs - f.startMs!);
    assert.ok(expiry.runs.some((e) => e.startEpochMs > faultEndEpochMs), `an expiry after the restart: ${JSON.stringify(expiry.runs)}`);
    assert.deepEqual(expiry.errors.filter((e) => /terminat|connection/i.test(e)), [], 'connection failures are in the survival line, not one per attempt');
  });

  test('acked = rows in the table, the rollup audits 0 lost / 0 duplicated', { timeout: 300_000 }, (t) => {
    assertAckedWithinDoubt(run.s, out(r));
    const a = run.s.audit!;
    assert.equal(a.lostEvents, 0, JSON.stringify(a));
    assert.equal(a.duplicatedEvents, 0, JSON.stringify(a));
    const endEpochMs = run.startEpochMs + 20_000;
    if (Math.floor(run.startEpochMs / 60_000) !== Math.floor(endEpochMs / 60_000)) assert.ok(a.periodsChecked >= 1, JSON.stringify(a));
    else t.diagnostic(`the run did not cross a minute boundary (set-up was slow): ${a.periodsChecked} periods audited`);
  });
});

describe('--fault crash@5s (immediate stop, then start)', { skip }, () => {
  let cluster: LocalCluster;
  let base: string;
  let r: CliResult;
  let run: Awaited<ReturnType<typeof readFaultRun>>;
  before(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-crash-'));
    cluster = await startTestCluster({ settings: { synchronous_commit: 'on' } });
    r = await runCli(
      ['run', '--url', cluster.url, '--rate', '200', '--duration', '12', '--warmup', '1', '--workers', '1', '--connections', '4',
        '--rollup', 'incremental', '--rollup-interval', '2s', '--viewers', '0', '--sample-interval', '0', '--no-idle-baseline', '--no-parallel',
        '--fault', 'crash@5s', '--results-dir', path.join(base, 'results')],
      { timeoutMs: 200_000 },
    );
    run = await readFaultRun(path.join(base, 'results'), out(r));
  });
  after(async () => {
    await cluster?.stop();
    await fs.rm(base, { recursive: true, force: true });
  });

  test('the outage is reported, the run goes on to its end, acked vs rows holds, audit 0/0', { timeout: 220_000 }, () => {
    const f = run.s.fault?.[0];
    assert.ok(f && f.kind === 'crash' && f.exitCode === 0 && f.endMs !== null, JSON.stringify(run.s.fault));
    const outages = run.s.availability?.outages ?? [];
    assert.ok(outages.length >= 1 && outages.every((o) => o.endMs !== null), JSON.stringify(run.s.availability));
    // An immediate stop: the backends die without a goodbye (the socket closes) or with 57P02, never 57P01 admin_shutdown.
    assert.ok(outages.some((o) => o.causes.some((c) => /^(08|57P02|57P03)/.test(c))), JSON.stringify(outages));
    assert.match(run.s.notes.join('\n'), /the server was unavailable \d+\.\d–\d+\.\d s/);
    assert.ok(run.s.ingest.ackedMeasure > 0 && run.s.ingest.errors > 0, out(r));
    // The run went on after the crash: rows were acknowledged in its last seconds.
    const last = run.s.survival?.rollup?.lastOkMs ?? 0;
    assert.ok(last > f.endMs, `the rollup ran after the crash: ${JSON.stringify(run.s.survival)}`);
    assertAckedWithinDoubt(run.s, out(r));
    assert.equal(run.s.audit?.lostEvents, 0, JSON.stringify(run.s.audit));
    assert.equal(run.s.audit?.duplicatedEvents, 0, JSON.stringify(run.s.audit));
  });
});

describe('--fault restart@4s against rtbench db\'s long-lived server', { skip }, () => {
  let base: string;
  let env: Record<string, string>;
  let r: CliResult;
  let run: Awaited<ReturnType<typeof readFaultRun>>;
  before(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-db-fault-'));
    await fs.chmod(base, 0o755); // as root, the postgres user must reach the state dir
    env = { RTBENCH_STATE_DIR: path.join(base, 'state') };
    const started = await runCli(['db', 'start'], { env, timeoutMs: 60_000 });
    assert.equal(started.code, 0, out(started));
    const url = lines(started.stdout)[0]!;
    r = await runCli(
      ['run', '--url', url, '--rate', '200', '--duration', '10', '--warmup', '1', '--workers', '1', '--connections', '4',
        '--sample-interval', '0', '--fault', 'restart@4s', '--results-dir', path.join(base, 'results')],
      { env, timeoutMs: 200_000 },
    );
    run = await readFaultRun(path.join(base, 'results'), out(r));
  });
  after(async () => {
    await runCli(['db', 'stop'], { env, timeoutMs: 60_000 }).catch(() => undefined);
    await fs.rm(base, { recursive: true, force: true });
  });

  test('the fault acts on the db server; the outage is reported and the run goes on', { timeout: 220_000 }, async () => {
    const f = run.s.fault?.[0];
    assert.ok(f && f.kind === 'restart' && f.target === 'server' && f.exitCode === 0, `${JSON.stringify(run.s.fault)}\n${out(r)}`);
    const outages = run.s.availability?.outages ?? [];
    assert.ok(outages.length >= 1 && outages.every((o) => o.endMs !== null), JSON.stringify(run.s.availability));
    assert.ok(outages.some((o) => o.causes.some((c) => /^(57P01|57P03|08)/.test(c))), JSON.stringify(outages));
    assertAckedWithinDoubt(run.s, out(r));
    // The server is still the long-lived one, up after the run.
    const status = await runCli(['db', 'status'], { env, timeoutMs: 60_000 });
    assert.equal(status.code, 0, out(status));
  });
});
