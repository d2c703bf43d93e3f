/** Reading EXPLAIN (FORMAT JSON) output. Pure. */

/** Largest numeric value of `key` anywhere in a plan tree; 0 when there is none. */
export function maxPlanValue(plan: unknown, key: string): number {
  if (Array.isArray(plan)) return plan.reduce((m: number, p: unknown) => Math.max(m, maxPlanValue(p, key)), 0);
  if (plan === null || typeof plan !== 'object') return 0;
  let max = 0;
  for (const [k, v] of Object.entries(plan)) {
    if (k === key && typeof v === 'number') max = Math.max(max, v);
    else if (typeof v === 'object') max = Math.max(max, maxPlanValue(v, key));
  }
  return max;
}
