/**
 * Turns untrusted input (a scenario file merged with CLI flags) into a
 * RunConfig, or lists every problem at once (k6's Validate() style). Pure.
 */
import { parseDurationMs } from './duration.js';
import { TUTORIAL_WORKLOAD, type ExpiryMethod, type ExpiryScheduleConfig, type PartitionChoice, type InsertMode, type InstanceConfig, type RollupChoice, type RollupSchedulerChoice, type RunConfig, type StatementForm } from './types.js';

/** Keys a scenario file (or the merged CLI flags) may carry. */
export const CONFIG_KEYS = [
  'name', 'description', 'url', 'workers', 'connections', 'pipeline', 'rate', 'warmup', 'duration', 'mode', 'batch',
  'statement', 'seed', 'sites', 'countries', 'statusCodes', 'lateThresholdMs', 'reset', 'keep',
  'resultsDir', 'progress', 'rollup', 'granularity', 'rollupInterval', 'rollupScheduler', 'grace',
  'preloadRows', 'preloadSpan', 'probes', 'viewers', 'refresh', 'minSamples', 'idleBaseline', 'expire', 'shardCount', 'parallel', 'instance',
  'group', 'rendezvousTimeout', 'partition', 'preloadConnections', 'retention', 'rollupRetention', 'expireEvery',
  'sampleInterval',
] as const;

export const PARTITIONS: readonly PartitionChoice[] = ['none', 'hour', 'day'];
export const EXPIRY_METHODS: readonly ExpiryMethod[] = ['delete', 'drop-partitions'];
/** Default connections of a preload (bench:preload on this 2-core box: 4 beat 1–3). */
export const DEFAULT_PRELOAD_CONNECTIONS = 4;

export const ROLLUPS: readonly RollupChoice[] = ['none', 'tutorial', 'closed-minute', 'incremental'];
export const SCHEDULERS: readonly RollupSchedulerChoice[] = ['auto', 'cron', 'harness'];
const GRANULARITY_TEXT: Record<string, 1 | 5 | 15 | 60> = { '1m': 1, '5m': 5, '15m': 15, '60m': 60, '1h': 60 };

/** A --group name: also a Kubernetes Job name ($(JOB_NAME)) fits. */
export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const MODES: readonly InsertMode[] = ['single', 'multi', 'copy'];
export const STATEMENTS: readonly StatementForm[] = ['tutorial-sql', 'params'];

/** Most statements in flight per connection (--pipeline): beyond this a connection only queues. */
export const MAX_PIPELINE = 1000;

/** The largest multi-row INSERT: PostgreSQL allows 65535 bind parameters, 6 per row. */
export const MAX_MULTI_BATCH = Math.floor(65535 / 6);

export type RawConfig = Readonly<Record<string, unknown>>;

export interface ValidationResult {
  readonly config?: RunConfig;
  readonly problems: readonly string[];
}

/**
 * Validate raw input. `source` prefixes each problem ("scenario quick.json", "--rate").
 * Returns every problem found, never just the first.
 */
/** Default connections in all, split across the default workers (2 × 4 before the default worker count followed the cores). */
export const DEFAULT_TOTAL_CONNECTIONS = 8;
/** A fixed rate gets one default worker per this many rows/s (one worker sends 17–20k single-row INSERTs/s closed loop on a 2-core machine). */
export const ROWS_PER_DEFAULT_WORKER = 10_000;

/**
 * The default number of load workers for a rate on a machine with `cores`
 * CPUs: half the cores at most (each worker has a pacer thread that wakes at
 * every due time, the main thread merges every second, and the server is
 * often on the same machine), and for a fixed rate no more than one per
 * {@link ROWS_PER_DEFAULT_WORKER} rows/s. On 2 cores that is 1: measured with
 * bench:latency's rounds on the shared 2-core machine, 1 worker × 8
 * connections used 25–45% less client CPU per row than 2 × 4 at 500 and
 * 2,000 rows/s (docs/development.md, "The ingest tail").
 */
export function defaultWorkers(rateHz: number | 'max', cores: number): number {
  const cap = Math.max(1, Math.floor(cores / 2));
  if (rateHz === 'max') return cap;
  return Math.min(cap, Math.max(1, Math.ceil(rateHz / ROWS_PER_DEFAULT_WORKER)));
}

/**
 * @param defaults.cores CPUs of the machine the load runs on: with it, an
 *   unset `workers` is {@link defaultWorkers} and an unset `connections` splits
 *   {@link DEFAULT_TOTAL_CONNECTIONS} across them; without it (tests), 2 × 4.
 */
export function validateConfig(raw: RawConfig, defaults: { seed: number; resultsDir: string; cores?: number }): ValidationResult {
  const problems: string[] = [];
  const known = new Set<string>(CONFIG_KEYS);
  for (const key of Object.keys(raw)) {
    if (key === 'probeCadence' && raw[key] !== undefined) problems.push('probeCadence: removed; the dashboard load is --viewers V (concurrent viewers) and --refresh R (each refreshes every R)');
    else if (!known.has(key) && raw[key] !== undefined) problems.push(`${key}: unknown setting`);
  }

  const positiveInt = (key: string, fallback: number, max = 1_000_000): number => {
    const v = raw[key];
    if (v === undefined) return fallback;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
      problems.push(`${key}: must be a whole number from 1 to ${max}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return n;
  };
  const duration = (key: string, fallbackMs: number, allowZero: boolean): number => {
    const v = raw[key];
    if (v === undefined) return fallbackMs;
    const ms = parseDurationMs(v);
    if (ms === undefined || !Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
      problems.push(`${key}: must be a ${allowZero ? 'non-negative' : 'positive'} duration such as 30, 90s or 5m, got ${JSON.stringify(v)}`);
      return fallbackMs;
    }
    return ms;
  };
  const choice = <T extends string>(key: string, choices: readonly T[], fallback: T): T => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      problems.push(`${key}: must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return v as T;
  };
  const bool = (key: string, fallback = false): boolean => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      problems.push(`${key}: must be true or false, got ${JSON.stringify(v)}`);
      return false;
    }
    return v;
  };
  const text = (key: string, fallback: string | undefined): string | undefined => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(`${key}: must be a non-empty string`);
      return fallback;
    }
    return v;
  };

  const name = text('name', 'adhoc') as string;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) problems.push(`name: use letters, digits, '.', '_' or '-' (at most 64), got ${JSON.stringify(name)}`);
  text('description', undefined);
  const url = text('url', undefined);
  let workers = positiveInt('workers', 2, 256);
  let connections = positiveInt('connections', 4, 1000);
  const pipeline = positiveInt('pipeline', 1, MAX_PIPELINE);

  let rateHz: number | 'max' = 'max';
  const rawRate = raw['rate'];
  if (rawRate !== undefined) {
    const n = typeof rawRate === 'string' && rawRate.trim() !== '' && rawRate !== 'max' ? Number(rawRate) : rawRate;
    if (n === 'max') rateHz = 'max';
    else if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 100_000_000) {
      problems.push(`rate: must be a positive number of rows/s or "max", got ${JSON.stringify(rawRate)}`);
    } else rateHz = n;
  }

  const warmupMs = duration('warmup', 5_000, true);
  const durationMs = duration('duration', 60_000, false);
  const mode = choice('mode', MODES, 'single');
  const statement = choice('statement', STATEMENTS, 'params');
  let batch = positiveInt('batch', mode === 'single' ? 1 : 100, 1_000_000);
  if (mode === 'single' && raw['batch'] !== undefined && batch !== 1) {
    problems.push(`batch: only applies to --mode multi or copy (single mode sends one row per statement), got ${batch}`);
    batch = 1;
  }
  if (mode === 'multi' && batch > MAX_MULTI_BATCH) {
    problems.push(`batch: a multi-row INSERT holds at most ${MAX_MULTI_BATCH} rows (65535 bind parameters), got ${batch}`);
  }
  if (mode === 'copy' && statement === 'tutorial-sql' && raw['statement'] !== undefined) {
    problems.push('statement: tutorial-sql computes rows on the server and cannot be sent with --mode copy; use --statement params');
  }
  if (mode === 'copy' && pipeline > 1) {
    problems.push(`pipeline: --mode copy streams each batch over its connection and cannot be pipelined; use --mode single or multi, got ${pipeline}`);
  }
  if (typeof rateHz === 'number' && typeof batch === 'number' && rateHz / batch > 10_000_000) {
    problems.push('rate: more than 10 million operations/s is not a rate this harness can schedule');
  }
  if (defaults.cores !== undefined && raw['workers'] === undefined) {
    workers = defaultWorkers(rateHz, defaults.cores);
    if (raw['connections'] === undefined) connections = Math.max(1, Math.ceil(DEFAULT_TOTAL_CONNECTIONS / workers));
  }
  if (typeof rateHz === 'number' && rateHz < workers) {
    problems.push(`rate: ${rateHz} rows/s is below one row/s per worker (${workers} workers); lower --workers`);
  }

  let seed = defaults.seed;
  if (raw['seed'] !== undefined) {
    const s = typeof raw['seed'] === 'string' && raw['seed'].trim() !== '' ? Number(raw['seed']) : raw['seed'];
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > 0xffffffff) {
      problems.push(`seed: must be a whole number from 0 to 4294967295, got ${JSON.stringify(raw['seed'])}`);
    } else seed = s;
  }

  const sites = positiveInt('sites', TUTORIAL_WORKLOAD.sites, 1_000_000_000);
  let countries = TUTORIAL_WORKLOAD.countries;
  if (raw['countries'] !== undefined) {
    const c = raw['countries'];
    if (!Array.isArray(c) || c.length === 0 || !c.every((x) => typeof x === 'string' && x.length > 0 && !/[\t\n\r\\]/.test(x))) {
      problems.push('countries: must be a non-empty list of country names (no tabs, newlines or backslashes)');
    } else countries = c as string[];
  }
  let statusCodes = TUTORIAL_WORKLOAD.statusCodes;
  if (raw['statusCodes'] !== undefined) {
    const c = raw['statusCodes'];
    if (!Array.isArray(c) || c.length === 0 || !c.every((x) => Number.isInteger(x) && x >= 100 && x <= 599)) {
      problems.push('statusCodes: must be a non-empty list of HTTP status codes (100..599)');
    } else statusCodes = c as number[];
  }

  // Node timers have about 1 ms resolution, so a lag below that is timer granularity, not backlog.
  let lateThresholdMs = 5;
  if (raw['lateThresholdMs'] !== undefined) {
    const r = raw['lateThresholdMs'];
    const v = typeof r === 'string' && r.trim() !== '' ? Number(r) : r;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) problems.push(`lateThresholdMs: must be a positive number of milliseconds, got ${JSON.stringify(r)}`);
    else lateThresholdMs = v;
  }

  // The server sampler (src/telemetry): a bare number is ms here, since the period is well under a second.
  let sampleIntervalMs = 100;
  if (raw['sampleInterval'] !== undefined) {
    const r = raw['sampleInterval'];
    const v = typeof r === 'number' ? r : typeof r === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(r) ? Number(r) : parseDurationMs(r);
    if (v === undefined || !Number.isFinite(v) || v < 0 || (v > 0 && v < 10) || v > 60_000) {
      problems.push(`sampleInterval: must be 0 (off) or from 10 ms to 60 s (a bare number is ms), got ${JSON.stringify(r)}`);
    } else sampleIntervalMs = v;
  }

  let progressS = 1;
  if (raw['progress'] !== undefined) {
    const r = raw['progress'];
    const v = typeof r === 'string' && r.trim() !== '' ? Number(r) : r;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 3600) problems.push(`progress: must be whole seconds from 0 (off) to 3600, got ${JSON.stringify(raw['progress'])}`);
    else progressS = v;
  }

  const resultsDir = text('resultsDir', defaults.resultsDir) as string;
  const reset = bool('reset');
  const keep = bool('keep');

  const rollup = choice('rollup', ROLLUPS, 'none');
  let granularityMin: 1 | 5 | 15 | 60 = 1;
  if (raw['granularity'] !== undefined) {
    const g = GRANULARITY_TEXT[String(raw['granularity'])];
    if (g === undefined) problems.push(`granularity: must be one of 1m, 5m, 15m, 60m, got ${JSON.stringify(raw['granularity'])}`);
    else granularityMin = g;
  }
  const rollupIntervalMs = duration('rollupInterval', 60_000, false);
  if (rollupIntervalMs < 1000 && raw['rollupInterval'] !== undefined && problems.every((p) => !p.startsWith('rollupInterval'))) {
    problems.push('rollupInterval: must be at least 1s');
  }
  const rollupScheduler = choice('rollupScheduler', SCHEDULERS, 'auto');
  const graceMs = duration('grace', 10_000, true);
  const preloadRows = raw['preloadRows'] === undefined || raw['preloadRows'] === 0 || raw['preloadRows'] === '0' ? 0 : positiveInt('preloadRows', 0, 1_000_000_000);
  const preloadSpanMs = duration('preloadSpan', 86_400_000, false);
  if (preloadSpanMs < 5 * 60_000 && raw['preloadSpan'] !== undefined && problems.every((p) => !p.startsWith('preloadSpan'))) {
    problems.push('preloadSpan: must be at least 5m (history ends two minutes before now)');
  }
  const probes = bool('probes', rollup !== 'none');
  const viewers = raw['viewers'] === 0 || raw['viewers'] === '0' ? 0 : positiveInt('viewers', 1, 1000);
  const refreshMs = duration('refresh', 5000, false);
  if (refreshMs < 100 && raw['refresh'] !== undefined && problems.every((p) => !p.startsWith('refresh'))) problems.push('refresh: must be at least 100ms');
  const minSamples = positiveInt('minSamples', 20, 1_000_000);
  if (!probes && raw['viewers'] !== undefined && viewers > 0) problems.push('viewers: dashboard viewers run the probes; drop --no-probes or use a --rollup strategy');
  const idleBaseline = bool('idleBaseline', probes);
  // --expire: true (bare flag, or a scenario's boolean) keeps its old meaning, the DELETE after the audit;
  // delete | drop-partitions expire on a schedule during the measure phase.
  let expire = false;
  let expiry: ExpiryScheduleConfig | null = null;
  const partition = choice('partition', PARTITIONS, 'none');
  const rawExpire = raw['expire'] === '' || raw['expire'] === 'true' ? true : raw['expire'] === 'false' ? false : raw['expire'];
  const retentionMs = duration('retention', 86_400_000, false);
  const rollupRetentionMs = duration('rollupRetention', 30 * 86_400_000, false);
  const expireEveryMs = duration('expireEvery', 15_000, false);
  if (rawExpire === undefined || typeof rawExpire === 'boolean') expire = rawExpire ?? false;
  else if (typeof rawExpire === 'string' && (EXPIRY_METHODS as readonly string[]).includes(rawExpire)) {
    expiry = { method: rawExpire as ExpiryMethod, retentionMs, rollupRetentionMs, everyMs: expireEveryMs };
    if (rawExpire === 'drop-partitions' && partition === 'none') problems.push('expire: drop-partitions needs a partitioned raw table; add --partition hour or day');
    if (expireEveryMs < 1000) problems.push('expireEvery: must be at least 1s');
  } else problems.push(`expire: must be delete or drop-partitions (during the measure phase), or true for the DELETE after the audit, got ${JSON.stringify(raw['expire'])}`);
  if (expiry === null) {
    for (const k of ['retention', 'rollupRetention', 'expireEvery']) if (raw[k] !== undefined) problems.push(`${k}: only applies with --expire delete or drop-partitions`);
  }
  const preloadConnections = positiveInt('preloadConnections', DEFAULT_PRELOAD_CONNECTIONS, 64);
  const parallel = bool('parallel', probes);
  if (probes && rollup === 'none' && raw['probes'] !== undefined) {
    problems.push('probes: the dashboard probes read a rollup table; choose --rollup tutorial, closed-minute or incremental');
  }
  if (raw['preloadRows'] !== undefined && preloadRows > 0 && rollup === 'none') {
    problems.push('preloadRows: preloaded history is rolled up; choose a --rollup strategy');
  }

  const shardCount = raw['shardCount'] === undefined ? null : positiveInt('shardCount', 32, 4096);
  let instance: InstanceConfig | null = null;
  const group = text('group', undefined) ?? null;
  if (group !== null && !GROUP_NAME.test(group)) {
    problems.push(`group: use letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit), got ${JSON.stringify(group)}`);
  }
  const rendezvousTimeoutMs = duration('rendezvousTimeout', 60_000, false);
  if (raw['instance'] !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(String(raw['instance']).trim());
    const index = m ? Number(m[1]) : NaN;
    const count = m ? Number(m[2]) : NaN;
    if (!m || count < 1 || index < 1 || index > count) {
      problems.push(`instance: must be i/N with 1 <= i <= N (this load generator is number i of N), or auto, got ${JSON.stringify(raw['instance'])}`);
    } else if (count > sites) {
      problems.push(`instance: ${count} load generators need at least ${count} sites (--sites), got ${sites}`);
    } else {
      instance = { index, count, group };
      if (count > 1 && group === null) problems.push(`instance: ${index}/${count} needs --group NAME, the name the ${count} instances of one launch meet under`);
      if (statement === 'tutorial-sql') problems.push('instance: the tutorial-sql statement picks site_id on the server, so instances cannot own disjoint sites; use --statement params');
      if (rollup !== 'none' && index > 1) problems.push(`instance: the rollup, probes and audit run on instance 1 only; drop --rollup on instance ${index}/${count}`);
    }
  } else if (group !== null) {
    problems.push('group: only applies to --instance i/N (several load generators)');
  }
  if (raw['rendezvousTimeout'] !== undefined && group === null) {
    problems.push('rendezvousTimeout: only applies with --group (the instances of a group wait for each other)');
  }

  if (problems.length > 0) return { problems };
  return {
    problems,
    config: {
      partition, name, url, workers, connections, pipeline, rateHz, warmupMs, durationMs, mode, batch, statement, seed,
      workload: { sites, countries, statusCodes }, lateThresholdMs, sampleIntervalMs, reset, keep, resultsDir, progressS, shardCount, instance, rendezvousTimeoutMs,
      dashboard: {
        rollup, granularityMin, rollupIntervalMs, rollupScheduler, graceS: graceMs / 1000, preloadRows, preloadSpanMs,
        probes, viewers, refreshMs, minSamples, idleBaseline, expire, parallel, preloadConnections, expiry,
      },
    },
  };
}
