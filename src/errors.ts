/**
 * Typed errors that the CLI's single top-level catch maps to exit codes.
 * Anything else that escapes is a bug and is reported as such.
 */

/** Bad input from the user: flags, scenario files, URLs, paths. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** Every problem found, one line each (a scenario may have several). */
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('; '));
    this.problems = list;
  }
}

/** The environment lacks something we need (PostgreSQL binaries, Citus). Exit code 2. */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

/** Exit codes, one place. */
export const ExitCode = {
  ok: 0,
  /** The run finished but the database returned errors (counted by SQLSTATE). */
  runErrors: 1,
  usage: 2,
  /** The run finished but failed its self-check (valid: false). */
  invalidRun: 3,
  /** A capacity search ended with only a lower bound (`≥ R`: --max passed, the trial limit, the client's ceiling). */
  lowerBound: 4,
  interrupted: 130,
} as const;
