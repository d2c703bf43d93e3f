/**
 * The options of `rtbench run` (also taken by sweep and compare-targets), and
 * a check of a `run` command line that parses and validates it without running
 * anything: what the Kubernetes manifest test holds the manifest's args to.
 */
import yargs, { type Argv } from 'yargs';
import { COMPLETION_INDEX_VAR, INSTANCE_COUNT_VAR } from '../config/instance-auto.js';
import type { RunConfig } from '../config/types.js';
import { MODES, ROLLUPS, STATEMENTS } from '../config/validate.js';
import { UsageError } from '../errors.js';

export function runOptions(y: Argv): Argv {
  return y
    .option('scenario', { type: 'string', describe: 'scenario JSON file (flags override its settings)' })
    .option('url', { type: 'string', describe: 'target PostgreSQL URL; default: PG* variables, else a throwaway local cluster' })
    .option('workers', { type: 'string', describe: 'load threads (worker_threads) [default: half the cores, at most one per 10,000 rows/s of a fixed rate; 1 on 2 cores]' })
    .option('connections', { type: 'string', describe: 'pg connections per worker [default: 8 in all, split across the default workers; 4 when --workers is given]' })
    .option('pipeline', {
      type: 'string',
      describe: 'statements in flight per connection (pg pipeline mode above 1); single and multi modes, not copy [default: 1]',
    })
    .option('rate', { type: 'string', describe: 'total target rows/s, or "max" for a closed loop [default: max]' })
    .option('duration', { type: 'string', describe: 'measure phase: seconds or 90s, 5m [default: 60s]' })
    .option('warmup', { type: 'string', describe: 'warm-up, recorded apart [default: 5s]' })
    .option('mode', { type: 'string', describe: `insert mode: ${MODES.join(' | ')} [default: single]` })
    .option('batch', { type: 'string', describe: 'rows per statement in multi / copy mode [default: 100]' })
    .option('statement', { type: 'string', describe: `${STATEMENTS.join(' | ')} [default: params]` })
    .option('seed', { type: 'string', describe: 'PRNG seed; the same seed gives the same rows [default: random, recorded]' })
    .option('sites', { type: 'string', describe: 'number of sites (site_id range) [default: 32]' })
    .option('late-threshold-ms', { type: 'string', describe: 'an operation sent this long after its due time counts as late; timer lateness p99 above it makes the run invalid [default: 5]' })
    .option('sample-interval', { type: 'string', describe: 'server sampler: read pg_stat_activity this often (ms, or 0.5s); with it WAL, buffers, statements and plans; 0 turns the sampler off [default: 100]' })
    .option('ui', { type: 'string', describe: 'serve a live page of the run on [HOST:]PORT (127.0.0.1 unless HOST is given; beyond it, a random token guards the URL)' })
    .option('progress', { type: 'string', describe: 'seconds between progress lines, 0 for none [default: 1]' })
    .option('name', { type: 'string', describe: 'run name, part of the run id' })
    .option('results-dir', { type: 'string', describe: 'where results/<run-id>/ goes [default: ./results]' })
    .option('reset', { type: 'boolean', describe: 'drop and recreate the tutorial tables (deletes their rows)' })
    .option('keep', { type: 'boolean', describe: 'leave the throwaway local cluster running and print its URL' })
    .option('citus-workers', { type: 'string', describe: 'start a throwaway local Citus cluster: a coordinator and N workers (needs the citus extension)' })
    .option('instance', { type: 'string', describe: `i/N: load generator i of N (disjoint sites, 1/N of --rate); auto: from ${COMPLETION_INDEX_VAR} (0-based) and ${INSTANCE_COUNT_VAR}; combine with rtbench merge` })
    .option('group', { type: 'string', describe: 'with --instance i/N (N > 1): the launch the N instances meet under in the target database; they start their schedules together' })
    .option('rendezvous-timeout', { type: 'string', describe: 'with --group: how long to wait for the rest of the group to register [default: 60s]' })
    .option('shard-count', { type: 'string', describe: 'Citus: shards per distributed table [default: Citus\'s citus.shard_count]' })
    .option('rollup', { type: 'string', describe: `rollup strategy: ${ROLLUPS.join(' | ')} [default: none]` })
    .option('granularity', { type: 'string', describe: 'rollup period: 1m | 5m | 15m | 60m [default: 1m]' })
    .option('rollup-interval', { type: 'string', describe: 'time between rollup runs, e.g. 5s [default: 60s]' })
    .option('rollup-scheduler', { type: 'string', describe: 'cron (pg_cron) | harness (own timer) | auto [default: auto]' })
    .option('grace', { type: 'string', describe: 'closed-minute: wait this long for late commits [default: 10s]' })
    .option('preload-rows', { type: 'string', describe: 'backfill this many rows of history before the load, then roll them up [default: 0]' })
    .option('preload-span', { type: 'string', describe: 'time span the preloaded history covers [default: 1d]' })
    .option('probes', { type: 'boolean', describe: 'run the dashboard probes during the measure phase [default: on with a rollup]' })
    .option('viewers', { type: 'string', describe: 'concurrent dashboard viewers during the measure phase, one connection each; 0 for no dashboard load [default: 1]' })
    .option('refresh', { type: 'string', describe: 'each viewer refreshes its dashboard (every probe x window) this often, open loop [default: 5s]' })
    .option('min-samples', { type: 'string', describe: 'a probe cell with fewer samples is "insufficient" and no ratio is built on it [default: 20]' })
    .option('idle-baseline', { type: 'boolean', describe: 'time each probe with no load first [default: on with probes]' })
    .option('parallel', { type: 'boolean', describe: 'time each probe serial vs parallel with no load (Citus: one connection per worker vs full parallelism) [default: on with probes]' })
    .option('expire', { type: 'string', describe: "delete | drop-partitions: expire old raw rows on a schedule during the measure phase, timed; bare --expire: the tutorial's DELETE once after the audit" })
    .option('retention', { type: 'string', describe: 'with --expire delete|drop-partitions: raw rows older than this are removed [default: 1d]' })
    .option('rollup-retention', { type: 'string', describe: 'with --expire delete|drop-partitions: rollup rows older than this are deleted [default: 30d]' })
    .option('expire-every', { type: 'string', describe: 'with --expire delete|drop-partitions: time between expiries during the measure phase [default: 15s]' })
    .option('partition', { type: 'string', describe: 'none | hour | day: range-partition http_request on ingest_time, partitions created ahead of the load [default: none]' })
    .option('preload-connections', { type: 'string', describe: 'connections the preload inserts chunks on in parallel [default: 4]' })
    // Removed setting: declared (hidden) so validate names its replacement, as it does for the scenario key.
    .option('probe-cadence', { type: 'string', hidden: true });
}

/** Faults on purpose (rtbench run only): see docs/crash-safety.md "When the server goes away". */
export function faultOptions<T>(y: Argv<T>) {
  return y
    .option('fault', { type: 'string', describe: "at T after the start: restart@T (pg_ctl restart -m fast), crash@T (immediate stop, then start), 'pause 2s@T' (SIGSTOP the server's processes), worker-restart[:N]@T (local Citus); without @T: the middle of the measure window" })
    .option('fault-cmd', { type: 'string', describe: 'run this shell command of yours at --fault-at (a switchover, a netem rule); its exit code is recorded' })
    .option('fault-at', { type: 'string', describe: 'when --fault-cmd runs, e.g. 10s after the start [default: the middle of the measure window]' });
}

/** The capacity search's options (rtbench capacity, compare-targets --capacity, sweep --capacity). */
export function capacityOptions(y: Argv): Argv {
  return y
    .option('slo', {
      type: 'string', array: true,
      describe: 'an SLO on a trial\'s figure, check syntax, repeatable: "ingest.response.p99 <= 10ms", "probes.all.response.p95 <= 1s" (every panel pooled), ' +
        '"probes.*.*.response.p95 <= 1s" (each cell), "freshness.max <= 15s", "audit.lostEvents == 0". A latency quantile is tested on its samples (binomial, at --confidence); ' +
        'always implied: valid by the self-check, achieved within 1%, no errors. [default: ingest.response.p99 <= 50ms; with viewers probes.all.response.p95 <= 1s and ' +
        'probes.*.*.response.p50 <= 1s; with a rollup freshness.max <= 2 x --rollup-interval (at least interval + 5s); with an exact rollup audit.lostEvents == 0 and audit.duplicatedEvents == 0]',
    })
    .option('confidence', { type: 'string', describe: 'confidence of each trial\'s verdict on each SLO, % [default: 95]' })
    .option('start', { type: 'string', describe: 'first trial\'s rate, rows/s [default: --rate, else 500]' })
    .option('max', { type: 'string', describe: 'highest rate tried, rows/s [default: 200000]' })
    .option('min', { type: 'string', describe: 'lowest rate tried when the first trials fail, rows/s [default: --start / 16]' })
    .option('growth', { type: 'string', describe: 'rate factor between trials until one fails [default: 2]' })
    .option('precision', { type: 'string', describe: 'bisect until fail / pass - 1 is at most this, % (coarser when the trials cannot tell rates that close apart) [default: 10]' })
    .option('short-duration', { type: 'string', describe: 'measure window of trials far from the bracket [default: 5s]' })
    .option('trial-duration', { type: 'string', alias: 'step-duration', describe: 'measure window of the full-length trials at the bracket\'s ends [default: 15s, longer when the panels or freshness need it]' })
    .option('step-max', { type: 'string', describe: 'the longest an inconclusive trial extends [default: 2 x --trial-duration]' })
    .option('step-warmup', { type: 'string', describe: 'warm-up of each trial [default: --warmup, at most 2s]' })
    .option('goal-trials', { type: 'string', describe: 'full-length trials a bracket end\'s verdict is judged over (MLRsearch\'s goal duration sum, in trials); 2: one full pass decides a pass, a fail takes two [default: 2]' })
    .option('exceed-ratio', { type: 'string', describe: 'share of a rate\'s goal trial time that may fail and the rate still pass (MLRsearch), % [default: 50]' })
    .option('max-trials', { type: 'string', alias: 'max-steps', describe: 'stop after this many trials (every trial counts); the result is then a lower bound [default: 30]' })
    .option('between-trials', { type: 'string', alias: 'between-steps', describe: 'remove: delete each trial\'s own rows after it (vacuum, rollup rebuilt) so every trial reads the same history; keep: later trials read more [default: remove]' })
    .option('resume', { type: 'string', describe: 'continue the search in this capacity dir from its kept trials (same command; refused when the settings differ)' });
}

/**
 * Parse and validate `run …` argv (without the program name) as `rtbench run`
 * would, against `env` (for --instance auto and the PG* variables), without
 * connecting or writing. Resolves with the RunConfig; rejects with a
 * UsageError listing the problems. A `--scenario` file is read.
 */
export async function checkRunArgv(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<RunConfig> {
  if (argv[0] !== 'run') throw new UsageError(`expected the run command, got ${JSON.stringify(argv[0] ?? '')}`);
  const args = await runOptions(yargs([...argv.slice(1)]))
    .strict()
    .version(false)
    .help(false)
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    })
    .parseAsync();
  const rest = (args._ ?? []).map(String);
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  // Imported here, not at the top: main.ts imports this file for every command and keeps the run code lazy.
  const { parseCitusWorkers, resolveConfig } = await import('./commands/run.js');
  const { runTargetSpec } = await import('./target-session.js');
  const config = await resolveConfig(args as Record<string, unknown>, env);
  const citusWorkers = args['citusWorkers'] === undefined ? undefined : parseCitusWorkers(args['citusWorkers']);
  runTargetSpec(config.url, citusWorkers, env as NodeJS.ProcessEnv);
  return config;
}
