/**
 * `rtbench check --ab` end to end: two local servers measured in alternating
 * rounds by the built CLI. Two equal servers pass (exit 0); the candidate
 * made slower by the 3 ms trigger the gate study uses (every inserted row
 * sleeps 3 ms) is detected (exit 99). Closed loop on 2 connections: no timer
 * lateness in the figures, and the load itself leaves the 2-core box room.
 *
 * What makes the verdicts steady on a loaded box: a round's two runs are back
 * to back, so the box's swings fall on both. With 8 rounds the sign test's
 * 95% interval is [min, max] (99.2%): equal servers fail a figure only if all
 * 8 rounds lean one way and the median is 5% off (under 0.4% per figure),
 * and the trigger must make every round worse, which it does by a wide
 * margin: an unchanged row took 130–180 µs at the p50 here at load 10, a
 * row with the trigger 4.5–5 ms (two runs of this test, 09:07 and 09:48 UTC).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { sqlPath } from '../../src/paths.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { withClient } from '../helpers/db.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const area = useTempArea('rtbench-e2e-ab-');
const out = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr.split('\n').slice(-15).join('\n')}`;

describe('check --ab: base and candidate in alternating rounds', { skip }, () => {
  let a: LocalCluster | undefined;
  let b: LocalCluster | undefined;

  before(async () => {
    [a, b] = await Promise.all([startTestCluster({ baseDir: area.tmpDir }), startTestCluster({ baseDir: area.tmpDir })]);
    const schema = await fs.readFile(sqlPath('schema.sql'), 'utf8');
    for (const c of [a, b]) await withClient(c.url, (client) => client.query(schema));
  }, { timeout: 120_000 });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  function ab(name: string): Promise<CliResult> {
    return runCli(['check', '--ab', '--a', a!.url, '--b', b!.url, '--rounds', '8', '--duration', '1', '--warmup', '1', '--connections', '2', '--workers', '1',
      '--seed', '7', '--progress', '0', '--name', name, '--results-dir', path.join(area.base, name)], { env: { TMPDIR: area.tmpDir, GITHUB_STEP_SUMMARY: undefined }, timeoutMs: 240_000 });
  }

  /** The runs of a finished `check --ab` split into two dirs, judged again as runs already made (--a-runs/--b-runs). */
  async function again(name: string): Promise<CliResult> {
    const [dir] = await fs.readdir(path.join(area.base, name));
    const from = path.join(area.base, name, dir!);
    for (const side of ['a', 'b']) {
      await fs.mkdir(path.join(area.base, `${name}-${side}`));
      for (const run of (await fs.readdir(from)).filter((f) => f.startsWith(side) && f !== 'ab.json')) {
        await fs.cp(path.join(from, run), path.join(area.base, `${name}-${side}`, run), { recursive: true });
      }
    }
    return runCli(['check', '--ab', '--a-runs', path.join(area.base, `${name}-a`), '--b-runs', path.join(area.base, `${name}-b`)], { env: { TMPDIR: area.tmpDir, GITHUB_STEP_SUMMARY: undefined } });
  }

  test('two equal servers pass (exit 0); every round is kept', { timeout: 300_000 }, async (t) => {
    const r = await ab('equal');
    t.diagnostic(r.stdout);
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, /^### rtbench check --ab: PASS/);
    assert.match(r.stdout, /\| `ingest.response.p50` \| smaller \| 8 \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ … [^|]+ \| PASS \|/);
    const [dir] = await fs.readdir(path.join(area.base, 'equal'));
    const doc = JSON.parse(await fs.readFile(path.join(area.base, 'equal', dir!, 'ab.json'), 'utf8')) as { rounds: Array<{ first: string }> };
    assert.deepEqual(doc.rounds.map((x) => x.first), ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b'], 'the order alternates');
    assert.equal((await fs.readdir(path.join(area.base, 'equal', dir!))).filter((f) => f !== 'ab.json').length, 16, 'one result dir per run');
    // The same runs as runs already made: the same pairs, the same verdict.
    const made = await again('equal');
    assert.equal(made.code, 0, out(made));
    assert.match(made.stdout, /\| `ingest.response.p50` \| smaller \| 8 \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ … [^|]+ \| PASS \|/);
    const p50 = (text: string): string | undefined => text.split('\n').find((l) => l.startsWith('| `ingest.response.p50`'));
    assert.equal(p50(made.stdout), p50(r.stdout), 'the same row from the runs on disk');
  });

  test('the candidate slowed by a 3 ms trigger is detected (exit 99)', { timeout: 300_000 }, async (t) => {
    await withClient(b!.url, async (c) => {
      await c.query(`CREATE FUNCTION rtbench_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.003); RETURN NEW; END $$`);
      await c.query('CREATE TRIGGER rtbench_test_slow BEFORE INSERT ON http_request FOR EACH ROW EXECUTE FUNCTION rtbench_test_slow()');
    });
    const r = await ab('slow');
    t.diagnostic(r.stdout);
    assert.equal(r.code, 99, out(r));
    assert.match(r.stdout, /^### rtbench check --ab: FAIL/);
    assert.match(r.stdout, /\| `ingest.response.p50` \| smaller \| 8 \| .*\| \*\*FAIL\*\* \|/);
    assert.match(r.stderr, /regressed in b against a: .*ingest\.response\.p50/);
    const made = await again('slow');
    assert.equal(made.code, 99, out(made));
    assert.match(made.stdout, /\| `ingest.response.p50` \| smaller \| 8 \| .*\| \*\*FAIL\*\* \|/);
  });

  test('bad input is one line and exit 2', async () => {
    const r = await runCli(['check', '--ab', '--a', 'local', '--rounds', '3'], { env: { TMPDIR: area.tmpDir } });
    assert.equal(r.code, 2, out(r));
    assert.match(r.stderr, /--rounds: a whole number from 6/);
    assert.match(r.stderr, /--ab needs --a BASE and --b CANDIDATE/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
    const half = await runCli(['check', '--ab', '--a-runs', area.base, '--a', 'local'], { env: { TMPDIR: area.tmpDir } });
    assert.equal(half.code, 2, out(half));
    assert.match(half.stderr, /--a-runs and --b-runs go together/);
    assert.match(half.stderr, /give no --a or --b target with them/);
    const missing = await runCli(['check', '--ab', '--a-runs', path.join(area.base, 'nope'), '--b-runs', path.join(area.base, 'nope')], { env: { TMPDIR: area.tmpDir } });
    assert.equal(missing.code, 2, out(missing));
    assert.match(missing.stderr, /--a-runs .*nope: cannot read it \(ENOENT\)/);
  });
});
