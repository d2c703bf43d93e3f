/** Small helpers for yargs values shared by the commands. */
import { UsageError } from '../errors.js';

/** A flag's values as strings: none, one, or a repeated flag's list. */
export function asList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** A flag that may be given at most once; a repeated one is bad input. */
export function once(v: unknown, flag: string): string | undefined {
  const list = asList(v);
  if (list.length > 1) throw new UsageError(`${flag}: give it once`);
  return list[0];
}

/** An error's `code` (ENOENT…), else its message, for one-line reports. */
export function errCode(err: unknown): string {
  return err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err);
}
