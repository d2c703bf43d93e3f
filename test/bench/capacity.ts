/**
 * npm run bench:capacity — the main scenario's default capacity search, run
 * N times on the embedded default (each a fresh throwaway server, set-up
 * included, exactly as a user runs it: `rtbench capacity --scenario
 * scenarios/quick.json`). Prints per search: wall time, trials, capacity,
 * bracket, noise band, binding limit and cause; then the spread: whether the
 * brackets overlap pairwise, and whether each bracket is at least as wide as
 * the noise its trials showed (its band). Figures only, no pass/fail.
 *
 * BENCH_SEARCHES (default 3), BENCH_SCENARIO (default scenarios/quick.json),
 * BENCH_ARGS (extra CLI arguments, split on spaces), BENCH_KEEP=1 keeps each
 * search's results dir (its path is printed) instead of removing it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CapacityResult } from '../../src/capacity/result.js';

const N = Number(process.env['BENCH_SEARCHES'] ?? 3);
const SCENARIO = process.env['BENCH_SCENARIO'] ?? 'scenarios/quick.json';
const EXTRA = (process.env['BENCH_ARGS'] ?? '').split(' ').filter((a) => a !== '');
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const n0 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));

function run(args: readonly string[]): Promise<{ code: number; wallMs: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let last = '';
    child.stderr.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (/capacity trial \d+ \(|rtbench: trial \d+:/.test(line)) process.stderr.write(`  ${line.slice(0, 200)}\n`);
        last = line || last;
      }
    });
    child.on('exit', (code) => resolve({ code: code ?? -1, wallMs: Date.now() - t0 }));
  });
}

async function main(): Promise<void> {
  const results: Array<{ c: CapacityResult; wallMs: number; code: number; load: string }> = [];
  for (let i = 1; i <= N; i++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rtbench-bench-capacity-'));
    const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
    process.stderr.write(`search ${i} of ${N} (load average ${load}): rtbench capacity --scenario ${SCENARIO} ${EXTRA.join(' ')}\n`);
    const { code, wallMs } = await run(['capacity', '--scenario', SCENARIO, '--progress', '0', '--results-dir', dir, ...EXTRA]);
    const [entry] = await readdir(dir);
    const c = JSON.parse(await readFile(path.join(dir, entry!, 'capacity.json'), 'utf8')) as CapacityResult;
    results.push({ c, wallMs, code, load });
    if (process.env['BENCH_KEEP'] === '1') process.stderr.write(`  kept: ${path.join(dir, entry!)}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
  console.log(`\n${N} default searches of ${SCENARIO} on the embedded default (wall time includes set-up and the throwaway server):`);
  for (const [i, { c, wallMs, code, load }] of results.entries()) {
    const full = c.trials.filter((t) => t.phase === 'full').length;
    console.log(`search ${i + 1}: ${(wallMs / 1000).toFixed(0)} s wall (exit ${code}, load at start ${load}), ${c.trials.length} trials (${full} full), ` +
      `capacity ${c.lowerBound ? '≥ ' : ''}${n0(c.capacityHz)} rows/s, bracket [${n0(c.bracket[0])}, ${n0(c.bracket[1])}], ` +
      `noise band ${c.band ? `${n0(c.band[0])}–${n0(c.band[1])}` : 'none'}`);
    console.log(`  binding: ${c.binding?.line ?? '—'}${c.binding?.cause ? `; cause: ${c.binding.cause}` : ''}`);
    if (c.resolution) console.log(`  resolution: ${c.resolution.line}`);
    if (c.conditioning?.line) console.log(`  conditioning: ${c.conditioning.line}`);
    // The trials, one line each: rate, class, length run, verdict, the figure nearest its limit.
    for (const t of c.trials) {
      const worst = t.slos.filter((s) => s.value !== null && s.limit !== null && s.limit > 0 && s.verdict !== 'unmeasured')
        .sort((a, b) => b.value! / b.limit! - a.value! / a.limit!)[0];
      console.log(`    ${String(t.index + 1).padStart(2)} ${n0(t.rateHz).padStart(6)} ${t.phase.padEnd(5)} ${(t.measuredMs / 1000).toFixed(0).padStart(3)} s ${t.verdict.padEnd(12)} ` +
        `${worst ? `${worst.figure} ${(worst.value! / worst.limit!).toFixed(2)} × limit (n ${worst.n ?? '—'}, above ${worst.k ?? '—'})` : ''}` +
        `${t.disturbed.length > 0 ? ` [${t.disturbed.join(', ')}]` : ''} ${(t.wallMs / 1000).toFixed(0)} s wall`);
    }
  }
  // The spread: pairwise overlap of [pass, fail] (an open upper end overlaps everything above its pass).
  const spans = results.map(({ c }) => [c.bracket[0] ?? 0, c.bracket[1] ?? Number.POSITIVE_INFINITY] as const);
  let overlapping = 0;
  let pairs = 0;
  for (let a = 0; a < spans.length; a++) {
    for (let b = a + 1; b < spans.length; b++) {
      pairs++;
      if (spans[a]![0] <= spans[b]![1] && spans[b]![0] <= spans[a]![1]) overlapping++;
    }
  }
  const wall = results.map((r) => r.wallMs / 1000).sort((x, y) => x - y);
  console.log(`spread: brackets overlap pairwise in ${overlapping} of ${pairs} pairs; capacities ${results.map(({ c }) => n0(c.capacityHz)).join(', ')} rows/s; ` +
    `wall ${wall.map((w) => w.toFixed(0)).join(', ')} s (target ≤ 240 s each)`);
  for (const [i, { c }] of results.entries()) {
    const [p, f] = c.bracket;
    const width = p !== null && f !== null ? f - p : null;
    const noise = c.band ? c.band[1] - c.band[0] : 0;
    console.log(`  search ${i + 1}: bracket width ${n0(width)} rows/s vs the noise its trials showed ${n0(noise)} rows/s: ${width === null ? 'open bracket' : width >= noise ? 'no narrower than the noise' : 'NARROWER than the noise'}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
