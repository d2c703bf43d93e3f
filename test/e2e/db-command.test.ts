/**
 * `rtbench db start|status|stop` through the real CLI, with the state kept in a temp
 * RTBENCH_STATE_DIR, and a run against the URL that `db start` prints.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { lines, runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable } from '../helpers/cluster.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const out = (r: CliResult): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

describe('rtbench db', { skip }, () => {
  let base: string;
  let env: Record<string, string>;
  before(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-e2e-db-'));
    await fs.chmod(base, 0o755); // as root, the postgres user must reach the state dir
    env = { RTBENCH_STATE_DIR: path.join(base, 'state') };
  });
  after(async () => {
    // Whatever happened, leave no server behind.
    await runCli(['db', 'stop'], { env, timeoutMs: 60_000 }).catch(() => undefined);
    await fs.rm(base, { recursive: true, force: true });
  });

  test('status, start, start again, run against it, stop, status', { timeout: 120_000 }, async () => {
    const db = (action: string): Promise<CliResult> => runCli(['db', action], { env, timeoutMs: 60_000 });

    let r = await db('status');
    assert.equal(r.code, 3, out(r));
    assert.match(r.stdout, /not running/);

    r = await db('start');
    assert.equal(r.code, 0, out(r));
    const started = lines(r.stdout);
    assert.equal(started.length, 1, `stdout is exactly the URL\n${out(r)}`);
    assert.equal(r.stdout, `${started[0]}\n`);
    const url = started[0]!;
    assert.match(url, /^postgresql:\/\//);
    assert.ok(!/^postgresql:\/\/[^@/]*:[^@/]*@/.test(url), `no password in ${url}`);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const res = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      assert.match(res.rows[0]?.v ?? '', /^15\./);
    } finally {
      await client.end();
    }

    r = await db('start');
    assert.equal(r.code, 0, out(r));
    assert.equal(r.stdout, `${url}\n`, 'a second start prints the same URL');

    r = await db('status');
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, /^running /);

    const resultsDir = path.join(base, 'results');
    // --warmup 1: with 0 a loaded box judges the cold first second client-limited (the self-check says "cold start").
    r = await runCli(['run', '--url', url, '--duration', '2', '--warmup', '1', '--rate', '200', '--workers', '1', '--results-dir', resultsDir], { env, timeoutMs: 60_000 });
    assert.ok(r.code === 0 || (r.code === 3 && /client-limited/.test(r.stdout)), out(r));
    const runs = await fs.readdir(resultsDir);
    assert.equal(runs.length, 1, runs.join(', '));
    const summary = JSON.parse(await fs.readFile(path.join(resultsDir, runs[0]!, 'summary.json'), 'utf8')) as { ingest: { acked: number; rowsInTable: number } };
    assert.ok(summary.ingest.acked > 0);
    assert.equal(summary.ingest.rowsInTable, summary.ingest.acked);

    r = await db('stop');
    assert.equal(r.code, 0, out(r));
    r = await db('status');
    assert.equal(r.code, 3, out(r));
    assert.match(r.stdout, /not running/);
  });
});
