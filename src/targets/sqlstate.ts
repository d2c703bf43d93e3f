/**
 * Classify database errors: the SQLSTATE to count them under, and whether the
 * connection is gone (so the worker reconnects instead of reusing it).
 */

// SQLSTATEs are 5 characters of digits and upper-case letters; Node's errno codes (EPIPE…) start with E and are not SQLSTATEs.
const SQLSTATE = /^[0-9A-Z]{5}$/;
const ERRNO = /^E[A-Z0-9]+$/;

/** The SQLSTATE of an error; connection-level failures without one count as 08006 (connection_failure). */
export function sqlstateOf(err: unknown): string {
  // A connection failure turned into a user-facing error keeps the driver's code here (targets/postgres connectError).
  const carried = (err as { sqlstate?: unknown } | null)?.sqlstate;
  if (typeof carried === 'string' && SQLSTATE.test(carried)) return carried;
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

/**
 * True when `err` ended its own connection: a connection-class SQLSTATE that is not an
 * ERROR-severity message from a server that goes on talking. A Citus coordinator reports a
 * worker it cannot reach as `08006 connection to the remote node … failed` at ERROR severity
 * over a connection that stays usable; a server shutting down says 57P01 at FATAL severity.
 */
export function connectionGone(err: unknown, sqlstate: string = sqlstateOf(err)): boolean {
  if (!isConnectionLost(sqlstate)) return false;
  const severity = (err as { severity?: unknown } | null)?.severity;
  return severity !== 'ERROR' && severity !== 'WARNING' && severity !== 'NOTICE';
}

/** Names of the SQLSTATEs an outage shows (PostgreSQL's errcodes.txt); '' for others. */
const NAMES: Readonly<Record<string, string>> = {
  '08000': 'connection_exception',
  '08001': 'sqlclient_unable_to_establish_sqlconnection',
  '08003': 'connection_does_not_exist',
  '08004': 'sqlserver_rejected_establishment_of_sqlconnection',
  '08006': 'connection_failure',
  '08P01': 'protocol_violation',
  '57P01': 'admin_shutdown',
  '57P02': 'crash_shutdown',
  '57P03': 'cannot_connect_now',
  '57P04': 'database_dropped',
  '57P05': 'idle_session_timeout',
  '53300': 'too_many_connections',
  '57014': 'query_canceled',
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  'XX000': 'internal_error',
};

/** The condition name of a SQLSTATE ("57P01" → "admin_shutdown"); '' when not one an outage shows. */
export function sqlstateName(sqlstate: string): string {
  return NAMES[sqlstate] ?? '';
}
