/**
 * npm run bench:sampler — what the server sampler costs. The same fixed-rate
 * run with the sampler off (--sample-interval 0) and on (the default 100 ms),
 * alternating A B B A … over BENCH_ROUNDS pairs on one throwaway local server
 * with pg_stat_statements installed: ingest response p50/p99 (with n), the
 * CLI's whole-process CPU per row, and the sampler's own backend CPU on the
 * server (/proc). First the sampler alone in this process for BENCH_ALONE_S
 * (10 s): its own client CPU, which CPU time measures even on a busy machine.
 * Prints figures; asserts nothing.
 */
import os from 'node:os';
import { connect } from '../../src/targets/postgres.js';
import { fmt, rtbench, startReferee, type Referee, type RtbenchRun } from './referee.js';
import { validateConfig } from '../../src/config/validate.js';
import { ServerSampler } from '../../src/telemetry/sampler.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const RATE = Number(process.env['BENCH_RATE'] ?? 1000);

interface Side { readonly p50: number[]; readonly p99: number[]; readonly n: number[]; readonly cpuUsPerRow: number[]; readonly samplerCores: number[]; readonly skipped: number[] }
const empty = (): Side => ({ p50: [], p99: [], n: [], cpuUsPerRow: [], samplerCores: [], skipped: [] });
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function record(side: Side, r: RtbenchRun): void {
  const ing = r.summary.ingest;
  side.p50.push(ing.response.p50Us);
  side.p99.push(ing.response.p99Us);
  side.n.push(ing.response.count);
  side.cpuUsPerRow.push((r.cpuS * 1e6) / Math.max(1, ing.acked));
  const m = r.summary.server?.machine;
  if (m?.samplerServerCores != null) side.samplerCores.push(m.samplerServerCores);
  if (r.summary.server) side.skipped.push(r.summary.server.samplesSkipped);
}

/** The sampler alone in this process for `seconds`: its client CPU (cores) and its backend's (from its own figures). */
async function samplerAlone(ref: Referee, seconds: number): Promise<{ clientCores: number; backendCores: number | null; samples: number }> {
  const config = validateConfig({}, { seed: 1, resultsDir: 'results' }).config!;
  const step = { index: 0, runId: 'alone', config };
  const sampler = new ServerSampler({ sampleIntervalMs: 100 });
  await sampler.stepStart(step, { config, url: ref.cluster.url, targetKind: 'url', server: {} as never, rowsAtSetup: 0 });
  const origin = Date.now();
  sampler.phase('warmup', 0, step);
  sampler.phase('measure', 0, step);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  sampler.phase('drain', seconds * 1000, step);
  const c = await sampler.stepEnd(step, { startEpochMs: origin, measureStartMs: 0, measureEndMs: seconds * 1000, interrupted: false });
  const server = (c.summary as { server: import('../../src/results/run-record.js').ServerSummary }).server;
  const samples = Object.values(server.waits)[0]?.samples ?? 0;
  return { clientCores: (cpu.user + cpu.system) / wallUs, backendCores: server.machine?.samplerServerCores ?? null, samples };
}

async function main(): Promise<void> {
  const ref = await startReferee();
  try {
    const admin = await connect(ref.cluster.url);
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await admin.end();
    console.log(`sampler overhead: ${RATE} rows/s, ${SECONDS} s per run, ${ROUNDS} rounds (off/on alternating), ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const alone = await samplerAlone(ref, Number(process.env['BENCH_ALONE_S'] ?? 10));
    console.log(`  sampler alone (every 100 ms): client ${fmt(alone.clientCores, 4)} cores, its backend ${alone.backendCores === null ? 'n/a' : fmt(alone.backendCores, 4)} cores`);
    const off = empty();
    const on = empty();
    const args = (interval: number): string[] => ['--rate', String(RATE), '--duration', `${SECONDS}s`, '--warmup', '2s', '--sample-interval', String(interval)];
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 === 0 ? [0, 100] : [100, 0];
      for (const interval of order) {
        const r = await rtbench(ref, args(interval));
        record(interval === 0 ? off : on, r);
        const ing = r.summary.ingest;
        console.log(`  round ${i + 1} sampler ${interval === 0 ? 'off' : 'on '}: response p50 ${fmt(ing.response.p50Us / 1000, 3)} ms p99 ${fmt(ing.response.p99Us / 1000, 3)} ms (n ${ing.response.count}), ` +
          `CLI CPU ${fmt((r.cpuS * 1e6) / Math.max(1, ing.acked), 1)} µs/row, valid ${r.summary.valid}` +
          (r.summary.server?.machine ? `, sampler backend ${fmt(r.summary.server.machine.samplerServerCores ?? NaN, 4)} cores, cpu pressure ${fmt((r.summary.server.machine.cpuPressure ?? NaN) * 100, 0)}%` : ''));
      }
    }
    const line = (name: string, s: Side): void => {
      console.log(`  ${name}: response p50 ${fmt(median(s.p50) / 1000, 3)} ms, p99 ${fmt(median(s.p99) / 1000, 3)} ms (median of ${s.p50.length} runs, n ${Math.min(...s.n)}+ each), ` +
        `CLI CPU ${fmt(median(s.cpuUsPerRow), 1)} µs/row${s.samplerCores.length ? `, sampler backend ${fmt(median(s.samplerCores), 4)} cores, samples skipped ${Math.max(...s.skipped)}` : ''}`);
    };
    if (ROUNDS === 0) return;
    console.log('medians:');
    line('sampler off', off);
    line('sampler on ', on);
    console.log(`  on − off: p50 ${fmt((median(on.p50) - median(off.p50)) / 1000, 3)} ms, p99 ${fmt((median(on.p99) - median(off.p99)) / 1000, 3)} ms, CLI CPU ${fmt(median(on.cpuUsPerRow) - median(off.cpuUsPerRow), 1)} µs/row ` +
      `(${fmt(((median(on.cpuUsPerRow) - median(off.cpuUsPerRow)) * RATE) / 1e6, 4)} cores at ${RATE} rows/s)`);
  } finally {
    await ref.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
