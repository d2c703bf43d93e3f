import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { liveProcessesIn } from '../../src/targets/pg-process.js';
import { persistentDbStatus, startPersistentDb, stopPersistentDb } from '../../src/targets/db-state.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';

const run = promisify(execFile);
const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed (apt-get install -y postgresql-15 postgresql-15-cron)';

async function query(connectionString: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Resolves with the connect error, or undefined if the TCP connection was accepted. */
function tcpConnect(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err));
  });
}

describe('local cluster', { skip }, () => {
  test('starts, serves the socket URL to pg, psql and pgbench, refuses passwordless TCP, stops and cleans up', async () => {
    const cluster = await startTestCluster();
    try {
      assert.deepEqual(await query(cluster.url, 'SELECT 1 AS one'), [{ one: 1 }]);
      assert.deepEqual(await query(cluster.url, 'SELECT current_database() AS db'), [{ db: 'rtbench' }]);
      assert.ok(!/password|:[^/@]*@/.test(cluster.url), `no secret in ${cluster.url}`);

      const { stdout: libDir } = await run(path.join(cluster.pgBinDir, 'pg_config'), ['--pkglibdir']);
      const preload = (await query(cluster.url, 'SHOW shared_preload_libraries')) as Array<{ shared_preload_libraries: string }>;
      if (existsSync(path.join(libDir.trim(), 'pg_cron.so'))) {
        assert.match(preload[0]?.shared_preload_libraries ?? '', /\bpg_cron\b/);
        assert.equal(cluster.preloaded[0], 'pg_cron');
      }
      if (existsSync(path.join(libDir.trim(), 'pg_stat_statements.so'))) {
        assert.match(preload[0]?.shared_preload_libraries ?? '', /\bpg_stat_statements\b/);
        assert.ok(cluster.preloaded.includes('pg_stat_statements'));
      }

      assert.equal(statSync(cluster.rootDir).mode & 0o777, 0o700);
      if (process.getuid?.() === 0) {
        assert.notEqual(statSync(cluster.dataDir).uid, 0, 'data dir must be owned by the postgres user');
      }

      // libpq clients must accept exactly the URL we hand out.
      const psql = await run(path.join(cluster.pgBinDir, 'psql'), [cluster.url, '-XAtc', 'SELECT 40 + 2']);
      assert.equal(psql.stdout.trim(), '42');
      const script = path.join(os.tmpdir(), `rtbench-pgbench-${randomBytes(6).toString('hex')}.sql`);
      await fs.writeFile(script, 'SELECT 1;\n');
      try {
        const bench = await run(path.join(cluster.pgBinDir, 'pgbench'), ['-n', '-t', '3', '-f', script, cluster.url]);
        assert.match(bench.stdout, /number of transactions actually processed: 3/);
      } finally {
        await fs.rm(script, { force: true });
      }

      // TCP is open on loopback but needs the password nobody has.
      const user = decodeURIComponent(new URL(cluster.url.replace(/^postgresql:/, 'http:')).username);
      const base = { host: '127.0.0.1', port: cluster.port, user, database: 'rtbench' };
      await assert.rejects(query(`postgresql://${encodeURIComponent(user)}:wrong@127.0.0.1:${cluster.port}/rtbench`, 'SELECT 1'), (err: { code?: string }) => {
        assert.equal(err.code, '28P01');
        return true;
      });
      const noPassword = new pg.Client(base);
      await assert.rejects(noPassword.connect(), (err: Error & { code?: string }) => {
        assert.ok(err.code === '28P01' || /password authentication failed|SASL/i.test(err.message), err.message);
        return true;
      });
      await noPassword.end().catch(() => undefined);
    } finally {
      await cluster.stop();
    }
    assert.equal(existsSync(cluster.rootDir), false, 'rootDir removed');
    const err = await tcpConnect(cluster.port);
    assert.equal(err?.code, 'ECONNREFUSED');
    await cluster.stop(); // idempotent
  });

  test('a server that fails to start is removed, and the error carries the server log', async () => {
    const baseDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-base-'));
    await fs.chmod(baseDir, 0o755); // as root, the postgres user must reach it
    try {
      await assert.rejects(startTestCluster({ baseDir, settings: { shared_buffers: 'bogus' } }), /invalid value for parameter "shared_buffers"/);
      assert.deepEqual(await fs.readdir(baseDir), []);
      await assert.rejects(startTestCluster({ baseDir, settings: { port: '5432' } }), { name: 'UsageError' });
      assert.deepEqual(await fs.readdir(baseDir), []);
    } finally {
      await fs.rm(baseDir, { recursive: true, force: true });
    }
  });

  test('a fixed dataDir survives stop({keep: true}) and is reused by the next start', async () => {
    const dataDir = path.join(os.tmpdir(), `rtbench-pg-fixed-${randomBytes(6).toString('hex')}`);
    const first = await startTestCluster({ dataDir, database: 'odd "name"' });
    try {
      await query(first.url, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)');
    } finally {
      await first.stop({ keep: true });
    }
    assert.ok(existsSync(path.join(dataDir, 'PG_VERSION')));
    // What start() asks before it sets a dead postmaster's lock files aside: no server works in the directory.
    assert.equal(await liveProcessesIn(dataDir), 0);
    const second = await startTestCluster({ dataDir, database: 'odd "name"' });
    try {
      assert.deepEqual(await query(second.url, 'SELECT v FROM kept'), [{ v: 7 }]);
      const live = await liveProcessesIn(dataDir);
      assert.ok(live !== null && live >= 3, `postmaster and its helpers work in the data directory: ${live}`);
    } finally {
      await second.stop();
    }
    assert.equal(existsSync(dataDir), false);
  });
});

describe('persistent db state', { skip }, () => {
  test('start, start again (same server), status, stop, status', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtbench-state-'));
    const saved = process.env.RTBENCH_STATE_DIR;
    process.env.RTBENCH_STATE_DIR = dir;
    try {
      const first = await startPersistentDb();
      assert.equal(first.reused, false);
      assert.ok(first.rootDir.startsWith(dir + path.sep), 'cluster lives under the state dir');
      assert.equal(statSync(first.rootDir).mode & 0o777, 0o700);
      const again = await startPersistentDb();
      assert.equal(again.reused, true);
      assert.equal(again.url, first.url);
      assert.deepEqual(await query(first.url, 'SELECT 1 AS one'), [{ one: 1 }]);

      const status = await persistentDbStatus();
      assert.deepEqual(status, { running: true, url: first.url, port: first.port, dataDir: first.dataDir });

      assert.equal(await stopPersistentDb(), true);
      assert.deepEqual(await persistentDbStatus(), { running: false });
      assert.equal(existsSync(first.rootDir), false);
      assert.equal(existsSync(path.join(dir, 'db.json')), false);
      assert.equal(await stopPersistentDb(), false);
    } finally {
      await stopPersistentDb().catch(() => undefined);
      if (saved === undefined) delete process.env.RTBENCH_STATE_DIR;
      else process.env.RTBENCH_STATE_DIR = saved;
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
