/**
 * The rendezvous table on a real PostgreSQL: a common start in the database
 * clock, a refused second claim, a timeout naming who is missing, stale rows
 * of sessions that are gone, and a re-run of the same group name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { Rendezvous, RENDEZVOUS_TABLE, type RendezvousOptions } from '../../src/targets/rendezvous.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { withClient } from '../helpers/db.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';

describe('rendezvous', { skip }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  const opts = (group: string, index: number, count: number, extra: Partial<RendezvousOptions> = {}): RendezvousOptions => ({
    url: cluster.url, group, index, count, timeoutMs: 10_000, leadMs: 300, pollMs: 20, ...extra,
  });
  const rows = (group: string): Promise<number> =>
    withClient(cluster.url, async (c) => Number((await c.query(`SELECT count(*) AS n FROM "${RENDEZVOUS_TABLE}" WHERE group_name = $1`, [group])).rows[0].n));

  test('three instances registering apart agree on one start: the last registration plus the lead, database clock', async () => {
    const a = await Rendezvous.claim(opts('g3', 2, 3));
    const b = await Rendezvous.claim(opts('g3', 1, 3));
    const waits = [a.waitForStart(), b.waitForStart()];
    await new Promise((r) => setTimeout(r, 200));
    const c = await Rendezvous.claim(opts('g3', 3, 3, { host: 'pod-3' }));
    const starts = await Promise.all([...waits, c.waitForStart()]);
    try {
      assert.equal(new Set(starts.map((s) => s.startEpochMs)).size, 1, 'one common start');
      const start = starts[0]!.startEpochMs;
      assert.equal(start, c.registeredAtEpochMs + 300);
      assert.ok(c.registeredAtEpochMs - a.registeredAtEpochMs >= 190, 'c registered about 200 ms after a');
      for (const s of starts) {
        // Same machine: the offset is within its own uncertainty of 0, give or take a millisecond of scheduling.
        assert.ok(Math.abs(s.clock.offsetMs) <= s.clock.roundTripMs / 2 + 1, JSON.stringify(s.clock));
        assert.equal(s.localStartEpochMs, s.startEpochMs - s.clock.offsetMs);
        assert.equal(s.clock.samples, 8);
      }
      assert.equal(await rows('g3'), 3);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
    assert.equal(await rows('g3'), 0, 'close() removes the rows');
  });

  test('a second claim of the same instance is refused in one line naming the holder; so is a different N', async () => {
    const first = await Rendezvous.claim(opts('dup', 1, 2, { host: 'host-a' }));
    try {
      await assert.rejects(Rendezvous.claim(opts('dup', 1, 2)), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /^rendezvous: group dup: instance 1\/2 is already claimed by host-a \(pid \d+\) since \d{4}-\d\d-\d\dT[\d:.]+Z; a second claim is refused$/);
        return true;
      });
      await assert.rejects(Rendezvous.claim(opts('dup', 2, 3)), /instance 1\/2 \(host-a .*\) counts 2 instances, this one 3; give every instance the same N$/);
      assert.equal(await rows('dup'), 1, 'refused claims leave nothing behind');
    } finally {
      await first.close();
    }
  });

  test('timeout: the waiting instance withdraws and names who is missing', async () => {
    const a = await Rendezvous.claim(opts('late', 2, 3, { timeoutMs: 300 }));
    const t0 = Date.now();
    await assert.rejects(a.waitForStart(), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.message, 'rendezvous: group late: instances 1/3, 3/3 did not register within 0.3 s (--rendezvous-timeout); nothing was run');
      return true;
    });
    assert.ok(Date.now() - t0 >= 300);
    assert.equal(await rows('late'), 0, 'withdrawn');
    await a.close();
    // With it withdrawn, the group cannot complete without it: two more claims are still one short.
    const b = await Rendezvous.claim(opts('late', 1, 3, { timeoutMs: 200 }));
    const c = await Rendezvous.claim(opts('late', 3, 3, { timeoutMs: 600 }));
    const [rb, rc] = await Promise.allSettled([b.waitForStart(), c.waitForStart()]);
    assert.match(String(rb.status === 'rejected' && rb.reason), /: instance 2\/3 did not register/);
    // b gave up first and withdrew, so c is missing both.
    assert.match(String(rc.status === 'rejected' && rc.reason), /: instances 1\/3, 2\/3 did not register/);
    await Promise.all([b.close(), c.close()]);
  });

  test('rows of sessions that are gone are stale: a re-run of the group name takes them over', async () => {
    // A crashed instance: its row stays, its session is gone (terminated from outside, as a kill would).
    const crashed = await Rendezvous.claim(opts('rerun', 1, 2));
    await withClient(cluster.url, (c) => c.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'rtbench-rendezvous-%'`,
    ));
    await crashed.close(); // cannot delete any more: the row stays, as after a crash
    assert.equal(await rows('rerun'), 1);
    // And a row of an earlier launch that had started, whose process is gone too.
    await withClient(cluster.url, (c) => c.query(
      `INSERT INTO "${RENDEZVOUS_TABLE}" VALUES ('rerun', 2, 2, 'gone', 2, 999998, 'rtbench-rendezvous-dead', clock_timestamp(), clock_timestamp())`,
    ));
    const notices: string[] = [];
    const a = await Rendezvous.claim(opts('rerun', 1, 2, { onNotice: (l) => notices.push(l) }));
    const b = await Rendezvous.claim(opts('rerun', 2, 2));
    try {
      assert.deepEqual(notices, ['rendezvous: group rerun: removed 2 stale registration(s) of instances no longer connected']);
      const [sa, sb] = await Promise.all([a.waitForStart(), b.waitForStart()]);
      assert.equal(sa.startEpochMs, sb.startEpochMs);
      assert.equal(sa.startEpochMs, b.registeredAtEpochMs + 300);
      // While this launch runs, the group name is taken: a third party cannot join or restart it.
      await assert.rejects(Rendezvous.claim(opts('rerun', 1, 2)), /group rerun already started at .* and instance 1\/2 .* is still running; use another --group name$/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    // After the launch ended, the same name works again.
    const again = await Rendezvous.claim(opts('rerun', 1, 1));
    const s = await again.waitForStart();
    assert.equal(s.startEpochMs, again.registeredAtEpochMs + 300);
    await again.close();
  });

  test('a user who may not create the table gets one line naming the SQLSTATE and the fix', async () => {
    await withClient(cluster.url, (c) => c.query('CREATE ROLE rdv_nocreate LOGIN'));
    const u = new URL(cluster.url);
    u.username = 'rdv_nocreate';
    await withClient(cluster.url, (c) => c.query(`DROP TABLE IF EXISTS "${RENDEZVOUS_TABLE}"`));
    await assert.rejects(Rendezvous.claim({ ...opts('perm', 1, 1), url: u.toString() }), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /^rendezvous: group perm: permission denied for schema public \(SQLSTATE 42501\); rtbench creates the table rtbench_rendezvous on first use and writes it: grant this user CREATE on the schema \(or, if another user created the table, SELECT, INSERT, UPDATE, DELETE on it\)$/);
      return true;
    });
  });
});
