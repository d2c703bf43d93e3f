/**
 * The scenario fingerprint of a run: a hash of the resolved settings that
 * change what is measured, so `check --history` only holds a run against runs
 * of the same scenario. Pure.
 *
 * It is an exclude-list on purpose: every key of run.json's `config` is hashed
 * except those below, so a setting added later (a new flag, a new section) is
 * part of the fingerprint by default and can never make two different
 * scenarios look alike. A key belongs here only if it cannot change a figure:
 * identity (`name`, `group`, `instance.group`, the `description` merge writes), randomness of the rows (`seed`: same
 * distributions, different rows), where output goes (`resultsDir`), console
 * output (`progressS`), cluster housekeeping (`keep`, `reset`), how long instances wait for each
 * other (`rendezvousTimeoutMs`) and the
 * target's address (`url`, which for the embedded cluster is a random port;
 * the testbed label says where a run ran).
 */
import { createHash } from 'node:crypto';

/** Dotted paths of run.json `config` that the fingerprint ignores. */
export const FINGERPRINT_EXCLUDED: readonly string[] = ['name', 'description', 'group', 'instance.group', 'rendezvousTimeoutMs', 'seed', 'resultsDir', 'progressS', 'keep', 'reset', 'url'];

/** Hex characters kept of the SHA-256: 64 bits, no collision among a CI cache's scenarios. */
const FINGERPRINT_HEX = 16;

/** JSON with object keys sorted at every level (undefined dropped, arrays in order): one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** A copy of `config` without the excluded paths. */
export function measuredSettings(config: Record<string, unknown>, excluded: readonly string[] = FINGERPRINT_EXCLUDED): Record<string, unknown> {
  const drop = (o: Record<string, unknown>, prefix: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      const path = prefix === '' ? k : `${prefix}.${k}`;
      if (excluded.includes(path)) continue;
      out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? drop(v as Record<string, unknown>, path) : v;
    }
    return out;
  };
  return drop(config, '');
}

/** The fingerprint of a resolved config: 16 hex characters. */
export function scenarioFingerprint(config: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(measuredSettings(config))).digest('hex').slice(0, FINGERPRINT_HEX);
}
