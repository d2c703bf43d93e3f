/**
 * The shape of a panel's plan from EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON):
 * top node, scans, rows, buffers, and on Citus the task count. Pure.
 */
import type { PlanShape } from '../results/run-record.js';

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

function nodeName(n: Node): string {
  const type = String(n['Node Type'] ?? '?');
  if (type === 'Custom Scan' && n['Custom Plan Provider']) return `Custom Scan (${String(n['Custom Plan Provider'])})`;
  return type;
}

/** Every plan node under `v` (depth first), including those of Citus's shown tasks. */
function* walk(v: unknown): Generator<Node> {
  if (Array.isArray(v)) {
    for (const x of v) yield* walk(x);
    return;
  }
  if (!isNode(v)) return;
  if ('Node Type' in v) yield v;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'object' && k !== 'Output') yield* walk(x);
}

/** Citus's distributed job of a plan, when it has one. */
function citusJob(v: unknown): Node | undefined {
  for (const n of walk(v)) {
    const dq = n['Distributed Query'];
    if (isNode(dq) && isNode(dq.Job)) return dq.Job;
  }
  return undefined;
}

/** The shape of one EXPLAIN (FORMAT JSON) result (the array PostgreSQL returns). */
export function planShape(explain: unknown, probe: string, window: string, file: string): PlanShape {
  const root = Array.isArray(explain) ? explain[0] : explain;
  const plan = isNode(root) && isNode(root.Plan) ? root.Plan : {};
  const scans: string[] = [];
  for (const n of walk(plan)) {
    const t = String(n['Node Type'] ?? '');
    if (!/Scan$/.test(t) || t === 'Custom Scan') continue;
    const rel = n['Relation Name'] ?? n['Index Name'];
    const s = rel ? `${t} on ${String(rel)}` : t;
    if (!scans.includes(s)) scans.push(s);
  }
  const job = citusJob(plan);
  const taskCount = job ? num(job['Task Count']) : undefined;
  return {
    probe,
    window,
    file,
    topNode: nodeName(plan),
    scans,
    rows: num(plan['Actual Rows']) * Math.max(1, num(plan['Actual Loops'])),
    sharedHit: num(plan['Shared Hit Blocks']),
    sharedRead: num(plan['Shared Read Blocks']),
    executionMs: isNode(root) ? num(root['Execution Time']) : 0,
    ...(taskCount !== undefined ? { citusTasks: taskCount, citusRouter: taskCount === 1 } : {}),
  };
}

/** "Aggregate ← Index Scan on http_request_1min; 1440 rows; 52 hit/0 read" (Citus: "32 tasks, multi-shard"). */
export function describePlan(p: PlanShape): string {
  const citus = p.citusTasks !== undefined ? `; ${p.citusTasks} task${p.citusTasks === 1 ? '' : 's'}, ${p.citusRouter ? 'router' : 'multi-shard'}` : '';
  return `${p.topNode}${p.scans.length ? ` ← ${p.scans.join(', ')}` : ''}; ${p.rows} rows; ${p.sharedHit} hit/${p.sharedRead} read${citus}`;
}
