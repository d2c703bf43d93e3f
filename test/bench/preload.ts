/**
 * npm run bench:preload — preload rows/s over a plain server-side
 * `INSERT … SELECT … generate_series` of the same rows, on the same throwaway
 * server, alternating, each on a freshly truncated table. Prints figures only.
 */
import { readFile } from 'node:fs/promises';
import { preload, preloadBaseline } from '../../src/rollup/preload.js';
import { sqlPath } from '../../src/paths.js';
import { startLocalCluster } from '../../src/targets/local-cluster.js';
import { connect } from '../../src/targets/postgres.js';

const ROWS = Number(process.env['BENCH_PRELOAD_ROWS'] ?? 1_000_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const cluster = await startLocalCluster({ log: () => undefined });
  try {
    const client = await connect(cluster.url);
    await client.query(await readFile(sqlPath('schema.sql'), 'utf8'));
    let pre = 0;
    let base = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      await client.query('TRUNCATE http_request');
      await client.query('CHECKPOINT');
      const b = await preloadBaseline(client, ROWS, { spanMs: 86_400_000, seed: round, sites: 32 });
      await client.query('TRUNCATE http_request');
      await client.query('CHECKPOINT');
      const p = await preload(client, { rows: ROWS, spanMs: 86_400_000, seed: round, sites: 32 });
      base += b.rowsPerS;
      pre += p.rowsPerS;
      console.log(`round ${round}: plain INSERT … SELECT ${fmt(b.rowsPerS)} rows/s, preload ${fmt(p.rowsPerS)} rows/s`);
    }
    const ratio = pre / base;
    console.log(`preload / plain INSERT … SELECT, ${fmt(ROWS)} rows: ${fmt(pre / ROUNDS)} / ${fmt(base / ROUNDS)} rows/s = ${ratio.toFixed(2)} (target ≥ 0.8: ${ratio >= 0.8 ? 'meets target' : 'MISSES target'})`);
    await client.end();
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:preload failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
