/**
 * Classify database errors: the SQLSTATE to count them under, and whether the
 * connection is gone (so the worker reconnects instead of reusing it).
 */

// SQLSTATEs are 5 characters of digits and upper-case letters; Node's errno codes (EPIPE…) start with E and are not SQLSTATEs.
const SQLSTATE = /^[0-9A-Z]{5}$/;
const ERRNO = /^E[A-Z0-9]+$/;

/** The SQLSTATE of an error; connection-level failures without one count as 08006 (connection_failure). */
export function sqlstateOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ERRNO.test(code)) {
    // ECONNREFUSED and friends: the client could not establish a connection.
    return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' ? '08001' : '08006';
  }
  if (typeof code === 'string' && SQLSTATE.test(code)) return code;
  const msg = err instanceof Error ? err.message : String(err);
  if (/terminated|Connection|ECONNRESET|EPIPE|socket/i.test(msg)) return '08006';
  return 'XX000';
}

/** True when the error means the connection cannot be used again. */
export function isConnectionLost(sqlstate: string): boolean {
  return sqlstate.startsWith('08') || sqlstate === '57P01' || sqlstate === '57P02' || sqlstate === '57P03';
}
