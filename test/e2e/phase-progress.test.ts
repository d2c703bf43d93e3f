/**
 * Every long phase says what it does, how far it is and the time left: a run
 * with a rollup, the idle baseline and serial vs parallel prints each phase's
 * progress (a line every 3 s while it runs, with the time left) and its cost
 * when it ends, before the load starts; `--progress 0` silences them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { stopClusterAt } from '../../src/targets/local-cluster.js';
import { lines, runCli } from '../helpers/cli.js';
import { pgAvailable } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';

const area = useTempArea('rtbench-e2e-progress-', async ({ tmpDir }) => {
  for (const n of await fs.readdir(tmpDir).catch(() => [])) {
    if (n.startsWith('rtbench-pg-')) await stopClusterAt(path.join(tmpDir, n)).catch(() => undefined);
  }
});

const out = (r: { stdout: string; stderr: string }): string => `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

const MIN_SAMPLES = 5;
const args = (resultsDir: string, progress: string): string[] => [
  'run', '--rollup', 'incremental', '--preload-rows', '20000', '--preload-span', '30m', '--rate', '100', '--duration', '3', '--warmup', '1',
  '--viewers', '1', '--refresh', '1s', '--min-samples', String(MIN_SAMPLES), '--parallel', '--sample-interval', '0',
  '--progress', progress, '--results-dir', resultsDir, '--seed', '3',
];

describe('progress of the long phases', { skip }, () => {
  test('idle baseline, serial vs parallel and the audit print their progress and cost; the load starts after them', { timeout: 300_000 }, async () => {
    const r = await runCli(args(path.join(area.base, 'results'), '1'), { env: { TMPDIR: area.tmpDir }, timeoutMs: 280_000 });
    assert.ok(r.code === 0 || r.code === 3, out(r));
    const all = lines(r.stdout + '\n' + r.stderr);
    const at = (re: RegExp): number => all.findIndex((l) => re.test(l));

    // The end line of each phase: done = total, and the total is what the phase runs.
    const idleEnd = /^rtbench: probes: idle baseline: ([\d,]+) \/ ([\d,]+) executions in ([\d.]+) s$/;
    const idle = all.map((l) => idleEnd.exec(l)).find((m) => m);
    assert.ok(idle, `idle baseline end line\n${out(r)}`);
    assert.equal(idle[1], idle[2]);
    // Every runnable panel (probe × 3 windows) runs a warm-up and MIN_SAMPLES measured executions.
    assert.equal(Number(idle[2]!.replace(/,/g, '')) % (3 * (MIN_SAMPLES + 1)), 0, idle[0]);

    const parEnd = /^rtbench: probes: serial vs parallel: ([\d,]+) \/ ([\d,]+) executions in ([\d.]+) s$/;
    const par = all.map((l) => parEnd.exec(l)).find((m) => m);
    assert.ok(par, `serial vs parallel end line\n${out(r)}`);
    assert.equal(par[1], par[2]);
    // Per panel: 2 sides × (1 warm-up + MIN_SAMPLES) and the 2 EXPLAINs of the workers launched.
    assert.equal(Number(par[2]!.replace(/,/g, '')) % (3 * (2 * (MIN_SAMPLES + 1) + 2)), 0, par[0]);

    assert.ok(at(/^rtbench: audit: final rollup, raw vs rollup: 2 \/ 2 steps in [\d.]+ s$/) >= 0, out(r));

    // Both set-up phases end before the load starts (its `run <id>:` line).
    const loadStart = at(/^rtbench: run \S+: \d+ workers x/);
    assert.ok(loadStart > at(idleEnd) && loadStart > at(parEnd), out(r));

    // While a phase runs longer than the 3 s between lines, it prints how far it is and the time left.
    for (const [name, m] of [['idle baseline', idle], ['serial vs parallel', par]] as const) {
      if (Number(m[3]) < 4) continue; // a quick machine finishes inside one throttle period: nothing to print
      const re = new RegExp(`^rtbench: probes: ${name}: [\\d,]+ / ${m[2]} executions \\(\\d+%\\), [\\d.,]+ executions/s, [\\d.]+ (s|min) left$`);
      assert.ok(all.some((l) => re.test(l)), `an update line of ${name} (it took ${m[3]} s)\n${out(r)}`);
    }
  });

  test('--progress 0 prints no phase progress (the audit, which prints its cost otherwise, stays quiet)', { timeout: 120_000 }, async () => {
    const r = await runCli(
      ['run', '--rollup', 'incremental', '--no-probes', '--rate', '100', '--duration', '2', '--warmup', '1', '--sample-interval', '0', '--progress', '0',
        '--results-dir', path.join(area.base, 'results-quiet'), '--seed', '3'],
      { env: { TMPDIR: area.tmpDir }, timeoutMs: 100_000 },
    );
    assert.ok(r.code === 0 || r.code === 3, out(r));
    assert.match(r.stdout + r.stderr, /rtbench: audit: no event lost/);
    assert.doesNotMatch(r.stdout + r.stderr, /audit: final rollup, raw vs rollup/);
  });
});
