/**
 * The probe's own connection: opened without turning errors into user
 * messages (the runner counts them by SQLSTATE and reconnects), with the
 * backend pid kept so a query can be cancelled from another connection.
 */
import pg from 'pg';

/** A probe connection and its backend pid. */
export interface ProbeConnection {
  readonly client: pg.Client;
  readonly backendPid: number;
}

/** Open a connection; rejects with pg's own error (it carries the SQLSTATE or errno). */
export async function openProbeConnection(url: string, applicationName: string, statementTimeoutMs: number): Promise<ProbeConnection> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // until the caller installs its own listener
  try {
    await client.connect();
    if (statementTimeoutMs > 0) await client.query(`SET statement_timeout = ${Math.round(statementTimeoutMs)}`);
    const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return { client, backendPid: r.rows[0]?.pid ?? 0 };
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** Close a connection, ignoring its later events and errors. */
export async function closeQuietly(client: pg.Client): Promise<void> {
  client.removeAllListeners('error');
  client.on('error', () => undefined);
  await client.end().catch(() => undefined);
}

/** Cancel the running query of `backendPid` from a short-lived second connection. Best effort. */
export async function cancelBackend(url: string, backendPid: number): Promise<boolean> {
  if (backendPid <= 0) return false;
  const c = new pg.Client({ connectionString: url, application_name: 'rtbench-probe-cancel', connectionTimeoutMillis: 5_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const r = await c.query<{ ok: boolean }>('SELECT pg_cancel_backend($1) AS ok', [backendPid]);
    return r.rows[0]?.ok === true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
