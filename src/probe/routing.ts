/**
 * Citus: which probes are router queries (one shard, as a tenant panel's
 * `site_id = $2` on the distribution column makes them) and which are
 * multi-shard, from the task count EXPLAIN reports for the distributed plan.
 */
import type pg from 'pg';
import { probeParams, renderProbe, type ProbeDef } from './definition.js';
import { maxPlanValue } from './plan.js';

/** Largest "Task Count" in an EXPLAIN (FORMAT JSON) tree; 0 when none (not a distributed plan). */
export function maxTaskCount(plan: unknown): number {
  return maxPlanValue(plan, 'Task Count');
}

/**
 * 'router' (one task) or 'multi-shard' per probe, planned for a 1-hour window
 * and site 0. Probes whose plan has no distributed task count are left out.
 */
export async function probeRouting(client: pg.ClientBase, probes: readonly ProbeDef[], rollupTable: string): Promise<Record<string, 'router' | 'multi-shard'>> {
  const out: Record<string, 'router' | 'multi-shard'> = {};
  for (const p of probes) {
    const r = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${renderProbe(p, rollupTable)}`, probeParams(p, '1 hour', 0));
    const tasks = maxTaskCount(r.rows[0]?.['QUERY PLAN']);
    if (tasks > 0) out[p.name] = tasks === 1 ? 'router' : 'multi-shard';
  }
  return out;
}
