/**
 * `rtbench compare` and `rtbench check`, end to end: two short real runs with the
 * built CLI against one test cluster (300 and 600 rows/s), then compare them and
 * gate on them the way CI would: exit codes 0 / 99 / 2 / 3, the markdown table,
 * and $GITHUB_STEP_SUMMARY.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Summary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { lines, runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';

const area = useTempArea('rtbench-e2e-cmp-');

const out = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** The CLI with no GITHUB_STEP_SUMMARY unless given (a CI job's own summary must stay untouched). */
function cli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: { TMPDIR: area.tmpDir, GITHUB_STEP_SUMMARY: undefined, ...env }, timeoutMs: 60_000 });
}

/** `rtbench run` into a fresh results dir; returns the run directory (exit 0, or 3 when the self-check failed). */
async function realRun(url: string, rate: number): Promise<string> {
  const resultsDir = await fs.mkdtemp(path.join(area.base, 'results-'));
  const r = await runCli(
    ['run', '--url', url, '--duration', '4', '--warmup', '1', '--rate', String(rate), '--progress', '0', '--results-dir', resultsDir],
    { env: { TMPDIR: area.tmpDir }, timeoutMs: 90_000 },
  );
  assert.ok(r.code === 0 || r.code === 3, `run at ${rate} rows/s: ${out(r)}`);
  const entries = await fs.readdir(resultsDir);
  assert.equal(entries.length, 1, `one run dir, got ${entries.join(', ')}`);
  return path.join(resultsDir, entries[0]!);
}

/** A copy of a run directory with summary.json's `valid` set as given. */
async function copyWithValid(dir: string, valid: boolean): Promise<string> {
  const copy = path.join(area.base, `${path.basename(dir)}-${valid ? 'valid' : 'invalid'}`);
  await fs.cp(dir, copy, { recursive: true });
  const file = path.join(copy, 'summary.json');
  const s = JSON.parse(await fs.readFile(file, 'utf8')) as Summary & { valid: boolean; invalidReasons: string[] };
  s.valid = valid;
  s.invalidReasons = valid ? [] : ['client-limited: edited by the test'];
  await fs.writeFile(file, JSON.stringify(s, null, 2) + '\n');
  return copy;
}

describe('rtbench compare and check on two real runs', { skip }, () => {
  let cluster: LocalCluster | undefined;
  let runA: string;
  let runB: string;
  /** runA, or a copy marked valid when this (busy) machine made runA fail its self-check. */
  let validA: string;
  let validity = '';

  before(async () => {
    cluster = await startTestCluster({ baseDir: area.tmpDir });
    runA = await realRun(cluster.url, 300);
    runB = await realRun(cluster.url, 600);
    const s = JSON.parse(await fs.readFile(path.join(runA, 'summary.json'), 'utf8')) as Summary;
    validA = s.valid ? runA : await copyWithValid(runA, true);
    validity = s.valid ? 'run A passed its self-check' : `run A is invalid (${s.invalidReasons.join('; ')}); checks use a copy marked valid`;
  }, { timeout: 240_000 });
  after(async () => {
    await cluster?.stop();
  });

  test('compare prints a side-by-side table with verdicts; --json writes the comparison', { timeout: 60_000 }, async (t) => {
    t.diagnostic(validity);
    const json = path.join(area.base, 'comparison.json');
    const r = await cli(['compare', runA, runB, '--json', json]);
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, /^A: .* \(run .*, \d+ measure intervals\)/m);
    assert.match(r.stdout, /figure .*A .*B .*change .*95% interval of B − A .*verdict/);
    assert.match(r.stdout, /ingest\.achievedRateHz .*rows\/s .*rows\/s .*%/);
    for (const f of ['response', 'service', 'lag']) {
      assert.match(r.stdout, new RegExp(`ingest\\.${f}\\.p99 .*(faster|slower|within noise)`), `${f} p99 has a verdict\n${r.stdout}`);
    }
    const c = JSON.parse(await fs.readFile(json, 'utf8')) as { rows: Array<{ figure: string; a: number; b: number; noise: { verdict: string } | null }> };
    const p99 = c.rows.find((x) => x.figure === 'ingest.response.p99');
    assert.ok(p99 && p99.noise && ['faster', 'slower', 'within noise'].includes(p99.noise.verdict), JSON.stringify(p99));
    const rate = c.rows.find((x) => x.figure === 'ingest.achievedRateHz');
    assert.ok(rate, JSON.stringify(c.rows.map((x) => x.figure)));
    // The verdict on the rates holds only when both runs kept their schedules (300 and 600 rows/s): on a loaded
    // 2-core box a 4 s run can fall far behind (B once achieved 39.5 of its 600 rows/s here, at load 8). Then it is
    // a skip with the rates, not a failure: the self-check marked that run invalid for it.
    await t.test('the run at twice the rate is judged faster', async (st) => {
      if (rate.a < 300 * 0.99 || rate.b < 600 * 0.99) {
        st.skip(`not judged: achieved ${rate.a} and ${rate.b} rows/s of 300 and 600 (a run fell behind its schedule on this machine)`);
        return;
      }
      assert.ok(rate.b > rate.a * 1.5, `B ran at about twice A's rate: ${JSON.stringify(rate)}`);
      assert.equal(rate.noise?.verdict, 'faster', 'twice the rate is more than noise');
    });
    const leftovers = (await fs.readdir(area.base)).filter((f) => f.includes('.tmp-'));
    assert.deepEqual(leftovers, [], 'atomic write leaves no temp file');
  });

  test('compare writes nothing without --json', async () => {
    const before = (await fs.readdir(runA)).sort();
    const r = await cli(['compare', runA, runB]);
    assert.equal(r.code, 0, out(r));
    assert.deepEqual((await fs.readdir(runA)).sort(), before);
  });

  test('check --baseline A A with "ingest.response.p99 < +10%" passes (exit 0) and appends to GITHUB_STEP_SUMMARY', async () => {
    const summaryFile = path.join(area.base, 'step-summary.md');
    await fs.writeFile(summaryFile, '# earlier step\n');
    const r = await cli(['check', '--baseline', validA, '--threshold', 'ingest.response.p99 < +10%', validA], { GITHUB_STEP_SUMMARY: summaryFile });
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, /^### rtbench check: PASS/);
    assert.match(r.stdout, /\| `ingest.response.p99 < \+10%` \| [^|]+ \| [^|]+ \| < [^|]+ \| PASS \|/);
    const written = await fs.readFile(summaryFile, 'utf8');
    assert.ok(written.startsWith('# earlier step\n'), 'appended, not replaced');
    assert.ok(written.includes(r.stdout), `the markdown is in the step summary:\n${written}`);
  });

  test('a threshold that must fail exits 99 and the markdown says FAIL', async () => {
    const r = await cli(['check', '--baseline', validA, '--threshold', 'ingest.response.p99 < +10%', '--threshold', 'ingest.achievedRateHz < 1', validA]);
    assert.equal(r.code, 99, out(r));
    assert.match(r.stdout, /^### rtbench check: FAIL/);
    assert.match(r.stdout, /\| `ingest.achievedRateHz < 1` \|.*\| \*\*FAIL\*\* \|/);
    assert.match(r.stdout, /1 of 2 thresholds failed/);
    assert.match(r.stderr, /threshold failed: ingest.achievedRateHz < 1/);
  });

  test('thresholds from a file and a summary.json baseline; absolute units', async () => {
    const file = path.join(area.base, 'thresholds.json');
    await fs.writeFile(file, JSON.stringify({ thresholds: ['ingest.response.p50 < 10s', 'ingest.errors == 0', 'ingest.service.p99.9 <= +0%'] }));
    const r = await cli(['check', '--baseline', path.join(validA, 'summary.json'), '--thresholds', file, validA]);
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, /3 of 3 thresholds passed/);
  });

  test('a threshold naming a figure that does not exist exits 2 with one stderr line', async () => {
    const r = await cli(['check', '--baseline', validA, '--threshold', 'ingest.respons.p99 < +10%', validA]);
    assert.equal(r.code, 2, out(r));
    assert.equal(r.stdout, '');
    const errLines = lines(r.stderr);
    assert.equal(errLines.length, 1, r.stderr);
    assert.match(errLines[0]!, /^rtbench: threshold "ingest.respons.p99 < \+10%": unknown figure "ingest.respons.p99": ingest has no "respons"/);
    // A figure the run does not hold (no rollup in these runs) is no pass either.
    const audit = await cli(['check', '--threshold', 'audit.lostEvents == 0', validA]);
    assert.equal(audit.code, 2, out(audit));
    assert.match(audit.stderr, /has no "audit"/);
  });

  test('bad expressions exit 2, one line each', async () => {
    const r = await cli(['check', '--threshold', 'ingest.response.p99 = 5', '--threshold', 'ingest.response.p99 < 5 sec', validA]);
    assert.equal(r.code, 2, out(r));
    const errLines = lines(r.stderr);
    assert.equal(errLines.length, 2, r.stderr);
    assert.match(errLines[0]!, /use "=="/);
    assert.match(errLines[1]!, /expected a number/);
  });

  test('a run whose summary says valid: false exits 3', async () => {
    const invalid = await copyWithValid(runA, false);
    const summaryFile = path.join(area.base, 'step-summary-invalid.md');
    const r = await cli(['check', '--baseline', validA, '--threshold', 'ingest.response.p99 < +10%', invalid], { GITHUB_STEP_SUMMARY: summaryFile });
    assert.equal(r.code, 3, out(r));
    assert.match(r.stdout, /^### rtbench check: INVALID RUN/);
    assert.match(r.stdout, /- client-limited: edited by the test/);
    assert.match(r.stderr, /is invalid/);
    assert.match(await fs.readFile(summaryFile, 'utf8'), /INVALID RUN/);
  });
});
