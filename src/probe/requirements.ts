/**
 * Which probes can run against a database: a probe whose extensions are not
 * installed (`pg_extension`), or that reads a rollup table that does not
 * exist, is skipped with one line saying why; the others run.
 */
import type pg from 'pg';
import type { ProbeDef } from './definition.js';

/** Probes split into those that can run and the lines explaining the skipped ones. */
export interface ProbeSelection {
  readonly runnable: readonly ProbeDef[];
  /** e.g. `skipped: probe distinct-hll (install postgresql-15-hll)`. */
  readonly skipped: readonly string[];
}

/** How to get an extension, for a skipped line; `major` is the server's major version. */
export function installHint(extension: string, major: number): string {
  switch (extension) {
    case 'hll':
      return `install postgresql-${major}-hll`;
    case 'pg_cron':
      return `install postgresql-${major}-cron`;
    default:
      return `CREATE EXTENSION ${extension}`;
  }
}

/** The skipped line for a probe. */
export function skippedLine(probe: string, reason: string): string {
  return `skipped: probe ${probe} (${reason})`;
}

/** Extensions installed in the connected database, and the server's major version. */
export async function databaseCapabilities(client: pg.ClientBase): Promise<{ extensions: Set<string>; major: number }> {
  const ext = await client.query<{ extname: string }>('SELECT extname FROM pg_extension');
  const v = await client.query<{ num: string }>(`SELECT current_setting('server_version_num') AS num`);
  return { extensions: new Set(ext.rows.map((r) => r.extname)), major: Math.floor(Number(v.rows[0]?.num ?? 0) / 10000) };
}

/** Split `probes` into runnable and skipped for the connected database and rollup table. */
export async function selectRunnable(client: pg.ClientBase, probes: readonly ProbeDef[], rollupTable: string): Promise<ProbeSelection> {
  const { extensions, major } = await databaseCapabilities(client);
  const quoted = `"${rollupTable.replace(/"/g, '""')}"`;
  const reg = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [quoted]);
  const rollupExists = reg.rows[0]?.oid != null;
  const runnable: ProbeDef[] = [];
  const skipped: string[] = [];
  for (const p of probes) {
    const missing = p.requires.filter((e) => !extensions.has(e));
    if (missing.length > 0) skipped.push(skippedLine(p.name, missing.map((e) => installHint(e, major)).join(', ')));
    else if (p.reads === 'rollup' && !rollupExists) skipped.push(skippedLine(p.name, `rollup table ${rollupTable} does not exist`));
    else runnable.push(p);
  }
  return { runnable, skipped };
}
