/**
 * npm run bench:preload — preload rows/s by connection count, against one
 * plain server-side `INSERT … SELECT … generate_series` of the same rows, on
 * the same throwaway server, each on a freshly truncated and checkpointed
 * table; with this host's CPU over each load. Prints figures only.
 *
 * BENCH_PRELOAD_ROWS (default 2,000,000), BENCH_ROUNDS (default 2),
 * BENCH_PRELOAD_CONNECTIONS (default 1,2,3,4), BENCH_PRELOAD_CHUNK (default 200,000).
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_PRELOAD_CHUNK_ROWS, preload, preloadBaseline } from '../../src/rollup/preload.js';
import type { PreloadResult } from '../../src/results/run-record.js';
import { sqlPath } from '../../src/paths.js';
import { startLocalCluster } from '../../src/targets/local-cluster.js';
import { connect } from '../../src/targets/postgres.js';

const ROWS = Number(process.env['BENCH_PRELOAD_ROWS'] ?? 2_000_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const CONNS = String(process.env['BENCH_PRELOAD_CONNECTIONS'] ?? '1,2,3,4').split(',').map(Number);
const CHUNK = Number(process.env['BENCH_PRELOAD_CHUNK'] ?? DEFAULT_PRELOAD_CHUNK_ROWS);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const cluster = await startLocalCluster({ log: () => undefined });
  try {
    const client = await connect(cluster.url);
    await client.query(await readFile(sqlPath('schema.sql'), 'utf8'));
    const fresh = async (): Promise<void> => {
      await client.query('TRUNCATE http_request');
      await client.query('CHECKPOINT');
    };
    const byConns = new Map<number, PreloadResult[]>();
    const base: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await fresh();
      const b = await preloadBaseline(client, ROWS, { spanMs: 86_400_000, seed: round, sites: 32 });
      base.push(b.rowsPerS);
      const line = [`round ${round}: plain INSERT … SELECT ${fmt(b.rowsPerS)} rows/s`];
      for (const n of CONNS) {
        await fresh();
        const p = await preload(client, {
          rows: ROWS, spanMs: 86_400_000, seed: round, sites: 32, chunkRows: CHUNK, connections: n,
          openConnection: () => connect(cluster.url, 'rtbench-preload'),
        });
        byConns.set(n, [...(byConns.get(n) ?? []), p]);
        line.push(`${n} conn ${fmt(p.rowsPerS)} rows/s (host CPU ${p.hostCpuCores?.toFixed(2)} of ${p.hostCpus} cores)`);
      }
      console.log(line.join(', '));
    }
    console.log(`${fmt(ROWS)} rows, chunks of ${fmt(CHUNK)}, median of ${ROUNDS} rounds:`);
    console.log(`  plain INSERT … SELECT (1 statement): ${fmt(median(base))} rows/s`);
    for (const [n, rs] of byConns) {
      const rate = median(rs.map((r) => r.rowsPerS));
      console.log(`  preload, ${n} connection${n > 1 ? 's' : ''}: ${fmt(rate)} rows/s = ${(rate / median(base)).toFixed(2)}× plain; host CPU ${median(rs.map((r) => r.hostCpuCores ?? 0)).toFixed(2)} cores (${median(rs.map((r) => r.hostCpuBusyPct ?? 0)).toFixed(0)}%)`);
    }
    await client.end();
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:preload failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
