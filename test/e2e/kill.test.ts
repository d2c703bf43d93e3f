/**
 * kill -9 of a running `rtbench run` (what the OOM killer, a node crash or a Kubernetes eviction
 * does): the throwaway cluster and its temp dir are gone within seconds (the watchdog), an
 * orphan whose watchdog died too is removed by the next run with one line, and the results
 * streamed so far are on disk for `rtbench recover`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runCli, sleep, startCli, type StartedCli } from '../helpers/cli.js';
import { pgAvailable } from '../helpers/cluster.js';
import { useTempArea } from '../helpers/temp.js';

const noPg = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const area = useTempArea('rtbench-e2e-kill-');

/** Command lines of live processes that mention `needle` (postgres -D <dir>, the watchdog). */
export function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Wait until `pred` holds, polling; false after `timeoutMs`. */
export async function waitUntil(pred: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pred()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}

const clusterDirs = (tmpDir: string): string[] => readdirSync(tmpDir).filter((e) => e.startsWith('rtbench-pg-') || e.startsWith('rtbench-citus-'));

/** SIGKILL the CLI process alone (not its group), as the OOM killer would. */
function kill9(cli: StartedCli): void {
  assert.ok(cli.child.pid !== undefined);
  process.kill(cli.child.pid, 'SIGKILL');
}

describe('kill -9 of rtbench run', { skip: noPg }, () => {
  test('the throwaway cluster and its temp dir are gone within 5 s', { timeout: 120_000 }, async () => {
    const tmpDir = path.join(area.tmpDir);
    const cli = startCli(['run', '--rate', '200', '--duration', '60', '--warmup', '1', '--results-dir', path.join(area.base, 'r1')],
      { env: { TMPDIR: tmpDir }, timeoutMs: 110_000 });
    assert.ok(await waitUntil(() => /progress: 3\.0 s/.test(cli.stderr()), 60_000), cli.stderr());
    assert.equal(clusterDirs(tmpDir).length, 1, 'one cluster while it runs');
    assert.ok(processesMentioning(tmpDir).some((p) => /postgres -D/.test(p)), 'its postgres runs');
    kill9(cli);
    const r = await cli.done;
    assert.equal(r.signal, 'SIGKILL');
    const t0 = Date.now();
    const clean = await waitUntil(() => clusterDirs(tmpDir).length === 0 && processesMentioning(tmpDir).length === 0, 5_000);
    assert.ok(clean, `left behind: ${clusterDirs(tmpDir).join(', ')} ${processesMentioning(tmpDir).join('; ')}`);
    process.stderr.write(`# cluster gone ${Date.now() - t0} ms after the kill\n`);
  });

  test('an orphan whose watchdog died too is removed by the next run, with one line', { timeout: 120_000 }, async () => {
    const tmpDir = path.join(area.base, 'tmp2');
    const { mkdir, chmod } = await import('node:fs/promises');
    await mkdir(tmpDir);
    await chmod(tmpDir, 0o1777);
    const cli = startCli(['run', '--rate', '100', '--duration', '60', '--warmup', '1', '--results-dir', path.join(area.base, 'r2')],
      { env: { TMPDIR: tmpDir }, timeoutMs: 110_000 });
    assert.ok(await waitUntil(() => /progress: 1\.0 s/.test(cli.stderr()), 60_000), cli.stderr());
    const [dir] = clusterDirs(tmpDir);
    const owner = JSON.parse(readFileSync(path.join(tmpDir, dir!, 'rtbench-owner.json'), 'utf8')) as { pid: number; watchdogPid: number };
    assert.equal(owner.pid, cli.child.pid);
    process.kill(owner.watchdogPid, 'SIGKILL');
    kill9(cli);
    await cli.done;
    await sleep(1000);
    assert.deepEqual(clusterDirs(tmpDir), [dir], 'with its watchdog gone the cluster stays');
    const next = await runCli(['run', '--rate', '100', '--duration', '1', '--warmup', '0.5', '--progress', '0', '--results-dir', path.join(area.base, 'r2')],
      { env: { TMPDIR: tmpDir }, timeoutMs: 100_000 });
    assert.ok(next.code === 0 || next.code === 3, next.stderr);
    const said = next.stderr.split('\n').filter((l) => l.includes('orphaned'));
    assert.equal(said.length, 1, next.stderr);
    assert.match(said[0]!, new RegExp(`removed the orphaned throwaway cluster .*${dir}: its rtbench \\(pid ${owner.pid}`));
    assert.deepEqual(clusterDirs(tmpDir), []);
    // The next run's own watchdog, disarmed, exits a moment after it.
    assert.ok(await waitUntil(() => processesMentioning(tmpDir).length === 0, 3_000), processesMentioning(tmpDir).join('; '));
  });
});
