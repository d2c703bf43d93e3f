/**
 * Which role of a dashboards workload a server session plays, from its
 * application_name and backend_type (pg_stat_activity). Pure.
 */
import type { ServerRole } from '../results/run-record.js';

/** The sampler's own application_name: its sessions are left out of every sample. */
export const SAMPLER_APPLICATION_NAME = 'rtbench-sampler';

/** Roles in display order. */
export const ROLES: readonly ServerRole[] = ['ingest', 'rollup', 'viewers', 'freshness', 'harness', 'autovacuum', 'other'];

/**
 * The role of a session, or null when it is not counted: the sampler itself and
 * the server's own processes (checkpointer, walwriter, …), which idle in
 * `Activity:*` waits. Parallel workers carry their leader's application_name,
 * so a viewer's parallel query counts as viewers.
 */
export function roleOf(applicationName: string | null, backendType: string | null): ServerRole | null {
  const app = applicationName ?? '';
  if (app === SAMPLER_APPLICATION_NAME) return null;
  if (backendType === 'autovacuum worker') return 'autovacuum';
  if (backendType !== 'client backend' && backendType !== 'parallel worker') return null;
  if (/^rtbench-w\d+$/.test(app)) return 'ingest';
  if (app === 'rtbench-rollup' || app === 'pg_cron') return 'rollup';
  if (app.startsWith('rtbench-probe')) return 'viewers';
  if (app === 'rtbench-freshness') return 'freshness';
  if (app.startsWith('rtbench')) return 'harness';
  return 'other';
}

/** Wait label of an active session: `type:event`, or `CPU` when it waits on nothing the server instruments. */
export function waitLabel(waitEventType: string | null, waitEvent: string | null): string {
  if (!waitEventType) return 'CPU';
  return `${waitEventType}:${waitEvent ?? '?'}`;
}

/** The wait class (`Lock`, `LWLock`, `IO`, `CPU`, …) of a label, for charts. */
export function waitClass(label: string): string {
  const i = label.indexOf(':');
  return i < 0 ? label : label.slice(0, i);
}
