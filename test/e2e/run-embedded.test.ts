/**
 * `rtbench run` with no --url and no PG* variables: the CLI starts a throwaway cluster, runs,
 * writes results atomically and removes the cluster (or keeps it with --keep; or cleans up on Ctrl-C).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Summary } from '../../src/results/run-record.js';
import { stopClusterAt } from '../../src/targets/local-cluster.js';
import { runCli, sleep, startCli } from '../helpers/cli.js';
import { pgAvailable } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';

const area = useTempArea('rtbench-e2e-run-', async ({ tmpDir }) => {
  // A failed test may leave a cluster behind: stop it before removing its files.
  for (const n of await fs.readdir(tmpDir).catch(() => [])) {
    if (n.startsWith('rtbench-pg-')) await stopClusterAt(path.join(tmpDir, n)).catch(() => undefined);
  }
});

const clusterDirs = async (): Promise<string[]> => (await fs.readdir(area.tmpDir)).filter((n) => n.startsWith('rtbench-pg-'));

/** The one run directory in `resultsDir` (no leftover hidden temp dirs allowed). */
async function onlyRunDir(resultsDir: string): Promise<string> {
  const entries = await fs.readdir(resultsDir);
  assert.equal(entries.length, 1, `exactly one entry in the results dir, got ${entries.join(', ')}`);
  assert.ok(!entries[0]!.startsWith('.'), `no temp dir left: ${entries[0]}`);
  return path.join(resultsDir, entries[0]!);
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as T;
}

const out = (r: { stdout: string; stderr: string }): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

describe('rtbench run on the embedded cluster', { skip }, () => {
  test('a valid run: results complete, acked rows all in the table, cluster removed', { timeout: 90_000 }, async () => {
    const resultsDir = path.join(area.base, 'results-valid');
    const r = await runCli(
      ['run', '--duration', '4', '--warmup', '1', '--rate', '400', '--workers', '2', '--connections', '2', '--results-dir', resultsDir, '--seed', '7'],
      { env: { TMPDIR: area.tmpDir }, timeoutMs: 80_000 },
    );
    if (r.code === 3) {
      const s = await readJson<Summary>(path.join(await onlyRunDir(resultsDir), 'summary.json'));
      assert.fail(`run marked invalid at 400 rows/s: ${s.invalidReasons.join('; ')}\n${out(r)}`);
    }
    assert.equal(r.code, 0, out(r));

    const dir = await onlyRunDir(resultsDir);
    const files = await fs.readdir(dir);
    for (const f of ['run.json', 'summary.json', 'ingest-response.hgrm', 'ingest-service.hgrm', 'ingest-lag.hgrm', 'intervals.hlog', 'timeseries.csv']) {
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    }

    const s = await readJson<Summary>(path.join(dir, 'summary.json'));
    assert.equal(s.valid, true, s.invalidReasons.join('; '));
    assert.ok(s.ingest.acked > 0, `acked ${s.ingest.acked}`);
    assert.equal(s.ingest.rowsInTable, s.ingest.acked);
    assert.deepEqual(s.ingest.errorsBySqlstate, {});
    for (const kind of ['response', 'service', 'lag'] as const) {
      const l = s.ingest[kind] as unknown as Record<string, unknown>;
      for (const k of ['p50Us', 'p90Us', 'p99Us', 'p999Us', 'maxUs', 'count']) {
        assert.equal(typeof l[k], 'number', `${kind}.${k} in ${JSON.stringify(l)}`);
      }
    }

    const run = await readJson<{ seed: number; server: { version: string }; versions: { node: string } }>(path.join(dir, 'run.json'));
    assert.equal(run.seed, 7);
    assert.match(run.server.version, /PostgreSQL 15/);
    assert.equal(run.versions.node, process.version);

    assert.deepEqual(await clusterDirs(), [], 'the throwaway cluster dir is removed');
  });

  test('--keep leaves the cluster running and prints its URL', { timeout: 90_000 }, async () => {
    const resultsDir = path.join(area.base, 'results-keep');
    const before = new Set(await clusterDirs());
    let rootDir: string | undefined;
    try {
      const r = await runCli(
        ['run', '--keep', '--duration', '2', '--warmup', '0', '--rate', '200', '--workers', '1', '--connections', '2', '--results-dir', resultsDir],
        { env: { TMPDIR: area.tmpDir }, timeoutMs: 80_000 },
      );
      const kept = (await clusterDirs()).filter((n) => !before.has(n));
      if (kept.length === 1) rootDir = path.join(area.tmpDir, kept[0]!); // fallback for cleanup
      assert.ok(r.code === 0 || r.code === 3, `finished (valid or not: this test is about --keep)\n${out(r)}`);
      const url = /postgresql:\/\/\S+/.exec(r.stdout)?.[0];
      assert.ok(url, `URL on stdout\n${out(r)}`);
      assert.ok(!/:[^/@]*@/.test(url.replace(/^postgresql:\/\//, '')), `no password in ${url}`);
      const host = new URL(url).searchParams.get('host');
      assert.ok(host, `host= parameter in ${url}`);
      rootDir = host;

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const rows = await client.query<{ one: number }>('SELECT 1 AS one');
        assert.equal(rows.rows[0]?.one, 1);
      } finally {
        await client.end();
      }
    } finally {
      if (rootDir !== undefined) await stopClusterAt(rootDir);
    }
    assert.equal(rootDir !== undefined && existsSync(rootDir), false, `${rootDir} removed`);
  });

  test('Ctrl-C: exit 130, partial results marked interrupted, cluster removed', { timeout: 90_000 }, async () => {
    const resultsDir = path.join(area.base, 'results-sigint');
    const cli = startCli(
      ['run', '--duration', '30', '--warmup', '1', '--rate', '400', '--workers', '2', '--connections', '2', '--results-dir', resultsDir],
      { env: { TMPDIR: area.tmpDir }, timeoutMs: 85_000 },
    );
    try {
      // Wait for the load to be under way (the cluster start takes a few seconds), then ~2 s more.
      const deadline = Date.now() + 30_000;
      while (!/progress:/.test(cli.stderr()) && Date.now() < deadline && cli.child.exitCode === null) await sleep(100);
      assert.match(cli.stderr(), /progress:/, `load started\n${cli.stderr()}`);
      await sleep(2_000);
      const sentAt = Date.now();
      cli.signal('SIGINT');
      const r = await cli.done;
      assert.ok(Date.now() - sentAt < 15_000, `exited ${Date.now() - sentAt} ms after SIGINT`);
      assert.equal(r.code, 130, out(r));

      const s = await readJson<Summary>(path.join(await onlyRunDir(resultsDir), 'summary.json'));
      assert.equal(s.valid, false);
      assert.ok(s.invalidReasons.some((x) => /interrupted/i.test(x)), s.invalidReasons.join('; '));
      assert.deepEqual(await clusterDirs(), [], 'the throwaway cluster dir is removed');
    } finally {
      cli.signal('SIGKILL');
      await cli.done.catch(() => undefined);
    }
  });
});
