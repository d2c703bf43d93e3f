/**
 * Bad input to the real CLI: exit code 2, one `rtbench:` line on stderr naming the problem,
 * no stack trace, nothing written to the results dir, no throwaway cluster started or left.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lines, runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { useTempArea } from '../helpers/temp.js';

const noPg = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const T = { timeout: 30_000 };

const area = useTempArea('rtbench-e2e-bad-');

async function freshDir(): Promise<string> {
  return fs.mkdtemp(path.join(area.base, 'results-'));
}

/** Run `rtbench <args> --results-dir <fresh>` (unless the args name one). */
async function runBad(args: string[]): Promise<CliResult & { resultsDir: string }> {
  const resultsDir = await freshDir();
  const withDir = args.includes('--results-dir') ? args : [...args, '--results-dir', resultsDir];
  const r = await runCli(withDir, { env: { TMPDIR: area.tmpDir }, timeoutMs: 25_000 });
  return { ...r, resultsDir };
}

/** Exit 2, no stack, results dir empty, no cluster left; not the one-line rule (see expectOneLine). */
async function expectUsageExit(r: CliResult & { resultsDir: string }, names: RegExp): Promise<void> {
  const ctx = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.code, 2, ctx);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace\n${ctx}`);
  assert.match(r.stderr, names, ctx);
  assert.deepEqual(await fs.readdir(r.resultsDir).catch(() => []), [], 'results dir left empty');
  const clusters = (await fs.readdir(area.tmpDir)).filter((n) => n.startsWith('rtbench-pg-'));
  assert.deepEqual(clusters, [], 'no throwaway cluster dir left in TMPDIR');
}

function expectOneLine(r: CliResult, names: RegExp): void {
  const err = lines(r.stderr);
  assert.equal(err.length, 1, `exactly one stderr line, got:\n${r.stderr}`);
  assert.match(err[0] ?? '', /^rtbench: /);
  assert.match(err[0] ?? '', names);
}

async function expectBad(args: string[], names: RegExp): Promise<void> {
  const r = await runBad(args);
  await expectUsageExit(r, names);
  expectOneLine(r, names);
}

describe('bad flags', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown flag', ['run', '--bogus', '1'], /bogus/],
    ['negative rate', ['run', '--rate', '-5'], /--rate.*-5/],
    ['zero rate', ['run', '--rate', '0'], /--rate/],
    ['non-numeric rate', ['run', '--rate', 'abc'], /--rate.*abc/],
    ['zero workers', ['run', '--workers', '0'], /--workers/],
    ['fractional workers', ['run', '--workers', '1.5'], /--workers.*1\.5/],
    ['zero duration', ['run', '--duration', '0'], /--duration/],
    ['bad duration unit', ['run', '--duration', '5x'], /--duration.*5x/],
    ['unknown mode', ['run', '--mode', 'foo'], /--mode.*foo/],
    ['unknown statement', ['run', '--statement', 'nope'], /--statement.*nope/],
    ['batch with single mode', ['run', '--batch', '10'], /--batch.*single/],
    ['no command', [], /command/],
  ];
  for (const [name, args, names] of cases) {
    test(name, T, () => expectBad(args, names));
  }
});

describe('no command', () => {
  test('names every command --help lists', T, async () => {
    const help = await runCli(['--help'], { timeoutMs: 25_000 });
    const listed = [...help.stdout.matchAll(/^\s+rtbench ([a-z-]+)/gm)].map((m) => m[1]!);
    assert.ok(listed.length >= 7, `commands in --help:\n${help.stdout}`);
    const r = await runBad([]);
    expectOneLine(r, /name a command/);
    for (const c of listed) assert.match(r.stderr, new RegExp(`\\b${c}\\b`), `names ${c}: ${r.stderr}`);
  });
});

describe('version and removed flags', () => {
  test('--version prints the version of package.json and exits 0', T, async () => {
    const { version } = JSON.parse(await fs.readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version'], { timeoutMs: 25_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });

  test('--probe-cadence as a flag names its replacement, as the scenario key does', T,
    () => expectBad(['run', '--probe-cadence', '5s'], /^rtbench: --probe-cadence: removed; .*--viewers V .*--refresh R/));
});

describe('bad URLs (no server needed)', () => {
  test('not a PostgreSQL scheme', T, () => expectBad(['run', '--url', 'mysql://x/y'], /--url.*not a PostgreSQL URL/));

  test('port 0, password masked', T, async () => {
    const r = await runBad(['run', '--url', 'postgresql://u:s3cretpw@127.0.0.1:0/db']);
    await expectUsageExit(r, /--url.*port/);
    expectOneLine(r, /port/);
    assert.ok(!(r.stdout + r.stderr).includes('s3cretpw'), 'password not shown');
  });

  test('port out of range (70000) is named as a port problem', T, () => expectBad(['run', '--url', 'postgresql://u@127.0.0.1:70000/db'], /port/));

  test('unreachable host', T, async () => {
    const r = await runBad(['run', '--url', 'postgresql://u:pw@127.0.0.1:1/db']);
    await expectUsageExit(r, /unreachable|ECONNREFUSED/);
  });

  test('unreachable host: exactly one stderr line', T, async () => {
    expectOneLine(await runBad(['run', '--url', 'postgresql://u:pw@127.0.0.1:1/db']), /unreachable|ECONNREFUSED/);
  });
});

describe('wrong password', { skip: noPg }, () => {
  let cluster: LocalCluster | undefined;
  let result: Promise<CliResult & { resultsDir: string }>;
  before(async () => {
    cluster = await startTestCluster();
    result = runBad(['run', '--url', `postgresql://postgres:wrongpw@127.0.0.1:${cluster.port}/rtbench`]);
    await result.catch(() => undefined);
  });
  after(async () => {
    await cluster?.stop();
  });

  test('exit 2 naming the authentication failure, password never shown', T, async () => {
    const r = await result;
    await expectUsageExit(r, /authentication failed/);
    assert.ok(!(r.stdout + r.stderr).includes('wrongpw'), `password shown:\n${r.stdout}${r.stderr}`);
  });

  test('exactly one stderr line', T, async () => {
    expectOneLine(await result, /authentication failed/);
  });
});

describe('bad paths and scenarios', () => {
  test('results dir under a regular file', T, async () => {
    const file = path.join(area.base, `file-${randomBytes(4).toString('hex')}`);
    await fs.writeFile(file, 'not a directory\n');
    const r = await runBad(['run', '--results-dir', path.join(file, 'sub')]);
    // resultsDir from runBad is the unused fresh one: it must stay empty too.
    await expectUsageExit(r, /results dir/);
    expectOneLine(r, new RegExp(`results dir ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/sub`));
  });

  // Regression: Node's recursive mkdir spun forever in system CPU on /proc/nope.
  test('results dir under /proc fails at once', T, async () => {
    const t0 = Date.now();
    const r = await runBad(['run', '--results-dir', '/proc/nope', '--duration', '1']);
    await expectUsageExit(r, /results dir \/proc\/nope/);
    expectOneLine(r, /results dir \/proc\/nope: not writable/);
    assert.ok(Date.now() - t0 < 20_000, 'fails without waiting for anything');
  });

  test('missing scenario file', T, () => expectBad(['run', '--scenario', path.join(area.base, 'missing.json')], /scenario .*missing\.json.*ENOENT/));

  test('scenario that is not JSON', T, async () => {
    const file = path.join(area.base, 'not-json.json');
    await fs.writeFile(file, 'rate: 400\nworkers: 2\nduration: 10s\n');
    await expectBad(['run', '--scenario', file], /scenario .*not-json\.json.*not valid JSON/);
  });

  test('scenario that is not JSON: exit 2, no stack, nothing written', T, async () => {
    const file = path.join(area.base, 'not-json-2.json');
    await fs.writeFile(file, 'rate: 400\nworkers: 2\n');
    await expectUsageExit(await runBad(['run', '--scenario', file]), /^rtbench: scenario .*not-json-2\.json.*not valid JSON/);
  });

  test('scenario with three problems lists all three', T, async () => {
    const file = path.join(area.base, 'three.json');
    await fs.writeFile(file, JSON.stringify({ rate: -1, workers: 0, mode: 'sideways' }));
    const r = await runBad(['run', '--scenario', file]);
    await expectUsageExit(r, /scenario/);
    const err = lines(r.stderr);
    assert.equal(err.length, 3, r.stderr);
    for (const l of err) assert.match(l, /^rtbench: scenario .*three\.json: /);
    assert.ok(err.some((l) => /rate/.test(l)) && err.some((l) => /workers/.test(l)) && err.some((l) => /mode.*sideways/.test(l)), r.stderr);
  });
});
