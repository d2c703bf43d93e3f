/**
 * The server sampler on Citus: a coordinator with two workers (CITUS_URL, or a
 * throwaway local cluster when the citus extension is installed), http_request
 * distributed, a "load worker" inserting for a few seconds. Per node: WAL moved
 * over the measure phase and http_request's rows and bytes; the rows per node
 * add up to the table's count, and the totals are the sums.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { validateConfig } from '../../src/config/validate.js';
import type { IntervalRow } from '../../src/metrics/aggregate.js';
import type { ServerSummary } from '../../src/results/run-record.js';
import type { SessionInfo, StepInfo } from '../../src/runner/observer.js';
import { citusInfo, distributeTables } from '../../src/targets/citus.js';
import { ensureSchema } from '../../src/targets/postgres.js';
import { ServerSampler } from '../../src/telemetry/sampler.js';
import { CITUS_SKIP, citusSource, withCitus, type CitusHandle } from '../helpers/citus.js';

const source = citusSource();
const skip = source === 'url' ? 'CITUS_URL: this test distributes http_request in the public schema; it runs on a throwaway local cluster only' : source ? false : CITUS_SKIP;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('server sampler on Citus', { skip }, () => {
  let citus: CitusHandle;
  let server: ServerSummary;
  let rowsInTable: number;

  before(async () => {
    citus = await withCitus({ workers: 2 });
    const admin = new pg.Client({ connectionString: citus.url, application_name: 'rtbench-setup' });
    await admin.connect();
    const worker = new pg.Client({ connectionString: citus.url, application_name: 'rtbench-w1' });
    await worker.connect();
    // A second "load worker" keeps a session busy on one worker node (a router query that sleeps there).
    const sleeper = new pg.Client({ connectionString: citus.url, application_name: 'rtbench-w2' });
    await sleeper.connect();
    try {
      await ensureSchema(admin, false);
      await distributeTables(admin, ['http_request'], { shardCount: 8 });
      const info = await citusInfo(admin, ['http_request']);
      const config = validateConfig({}, { seed: 1, resultsDir: 'results' }).config!;
      const session: SessionInfo = { config, url: citus.url, targetKind: 'embedded', server: {} as never, citus: info, rowsAtSetup: 0 };
      const step: StepInfo = { index: 0, runId: 'citus', config };
      const sampler = new ServerSampler({ sampleIntervalMs: 100 });
      await sampler.stepStart(step, session);
      const origin = Date.now();
      sampler.phase('warmup', 0, step);
      sampler.phase('measure', 0, step);
      let rows = 0;
      const until = Date.now() + 4000;
      const sleeping = (async () => {
        while (Date.now() < until) await sleeper.query('SELECT count(*) FROM http_request WHERE site_id = 1 AND (SELECT pg_sleep(0.4)) IS NOT NULL');
      })();
      while (Date.now() < until) {
        await worker.query(`INSERT INTO http_request (site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec)
          VALUES (trunc(random()*32), clock_timestamp(), 'u', 'USA', '10.0.0.1', 200, 5)`);
        rows++;
      }
      await sleeping;
      const endMs = Date.now() - origin;
      sampler.phase('drain', endMs, step);
      sampler.interval({ phase: 'measure', rows } as IntervalRow, step);
      const c = await sampler.stepEnd(step, { startEpochMs: origin, measureStartMs: 0, measureEndMs: endMs, interrupted: false });
      server = (c.summary as { server: ServerSummary }).server;
      rowsInTable = Number((await admin.query<{ n: string }>('SELECT count(*)::text AS n FROM http_request')).rows[0]!.n);
    } finally {
      await worker.end().catch(() => undefined);
      await sleeper.end().catch(() => undefined);
      await admin.end().catch(() => undefined);
    }
  });
  after(async () => {
    await citus?.stop();
  });

  test('per node: WAL moved, rows and bytes of http_request; they add up to the totals', () => {
    const nodes = server.nodes ?? [];
    const workers = nodes.filter((n) => n.node !== 'coordinator');
    assert.equal(workers.length, 2, JSON.stringify(nodes));
    for (const w of workers) {
      assert.ok(w.walBytes !== null && w.walBytes > 0, `${w.node} WAL ${w.walBytes}`);
      assert.ok(w.rowsInRaw !== null && w.rowsInRaw > 0, `${w.node} rows ${w.rowsInRaw}`);
      assert.ok(w.rawBytes !== null && w.rawBytes > 0);
    }
    const sum = workers.reduce((a, w) => a + (w.rowsInRaw ?? 0), 0);
    assert.equal(sum, rowsInTable, 'rows per node add up to count(*)');
    assert.equal(server.nodesTotal?.rowsInRaw, rowsInTable);
    assert.equal(server.nodesTotal?.walBytes, nodes.reduce((a, n) => a + (n.walBytes ?? 0), 0));
    // WAL per row is the whole cluster's: the workers write the rows.
    assert.equal(server.counters?.walBytes, server.nodesTotal?.walBytes);
    assert.ok(Math.abs(server.perRow.walBytes! * server.counters!.rowsIngested - server.nodesTotal!.walBytes!) < 1e-6 * server.nodesTotal!.walBytes!);
    // Worker sessions opened for rtbench-w1 count as ingest on the workers.
    assert.ok(workers.some((w) => (w.waits?.ingest?.shares['Timeout:PgSleep'] ?? 0) > 0), JSON.stringify(workers.map((w) => w.waits)));
    assert.deepEqual(server.unavailable.filter((u) => /citus/.test(u)), []);
  });
});
