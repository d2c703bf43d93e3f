#!/usr/bin/env node
/**
 * rtbench's command line: declares commands, lazily imports their modules,
 * and owns the one top-level catch that maps errors to exit codes. The only
 * place that calls process.exit.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EnvironmentError, ExitCode, UsageError } from '../errors.js';
import { RTBENCH_VERSION } from '../paths.js';
import { maskSecrets, rememberSecretsOf } from '../targets/url.js';
import { capacityOptions, faultOptions, runOptions } from './run-options.js';

/** Every command, for the message when none is named (test/e2e/bad-input checks it against --help). */
const COMMANDS = ['run', 'capacity', 'sweep', 'compare-targets', 'db', 'compare', 'merge', 'check', 'history', 'export', 'recover', 'ui'] as const;

async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  await yargs(argv)
    .scriptName('rtbench')
    .usage('$0 <command> [options]')
    .command('run', 'run the ingest benchmark', (y) => faultOptions(runOptions(y)), async (args) => {
      const { runCommand } = await import('./commands/run.js');
      exitCode = await runCommand(args as Record<string, unknown>);
    })
    .command(
      'capacity',
      'find the highest rate the target sustains with its SLOs met: confirmed bracket, binding limit (exit 0 found, 99 no passing rate, 3 harness-bound)',
      (y) => capacityOptions(runOptions(y))
        .option('a', { type: 'string', describe: 'with --b: search two targets (a URL, local, local-citus:N) and print the capacity ratio b/a' })
        .option('b', { type: 'string', describe: 'second target, with --a' }),
      async (args) => {
        const { capacityCommand } = await import('./commands/capacity.js');
        exitCode = await capacityCommand(args as Record<string, unknown>);
      },
    )
    .command(
      'sweep',
      'run a scenario over a list of values of one setting: --granularity 1m,5m,15m,60m, --rate …, or --shard-count …',
      (y) => capacityOptions(runOptions(y))
        .option('capacity', { type: 'boolean', describe: 'a capacity search at each value instead of one fixed-rate run (e.g. capacity per rollup granularity)' }),
      async (args) => {
        const { sweepCommand } = await import('./commands/sweep.js');
        exitCode = await sweepCommand(args as Record<string, unknown>);
      },
    )
    .command(
      'compare-targets',
      'run the same scenario on two targets (URL, local, local-citus:N) and print them side by side',
      (y) => capacityOptions(runOptions(y))
        .option('capacity', { type: 'boolean', describe: 'search the capacity of both targets (rtbench capacity --a A --b B) and print the ratio b/a with its bracket' })
        .option('a', { type: 'string', demandOption: true, describe: 'first target: a URL, local, or local-citus:N' })
        .option('b', { type: 'string', demandOption: true, describe: 'second target: a URL, local, or local-citus:N' }),
      async (args) => {
        const { compareTargetsCommand } = await import('./commands/compare-targets.js');
        exitCode = await compareTargetsCommand(args as Record<string, unknown>);
      },
    )
    .command(
      'db <action>',
      'manage a long-lived local PostgreSQL (start prints its URL on stdout)',
      (y) => y
        .positional('action', { choices: ['start', 'stop', 'status'] as const, demandOption: true })
        .option('citus-workers', { type: 'string', describe: 'db start: a local Citus coordinator with N workers' }),
      async (args) => {
        const { dbCommand } = await import('./commands/db.js');
        exitCode = await dbCommand(String(args.action), args['citusWorkers']);
      },
    )
    .command(
      'compare <a> <b>',
      'compare two result dirs side by side, with bootstrap verdicts (faster / slower / within noise)',
      (y) => y
        .positional('a', { type: 'string', demandOption: true, describe: 'result dir of run A (the reference)' })
        .positional('b', { type: 'string', demandOption: true, describe: 'result dir of run B' })
        .option('json', { type: 'string', describe: 'also write the comparison as JSON to this file' })
        .option('resamples', { type: 'string', describe: 'bootstrap resamples [default: 1000]' })
        .option('seed', { type: 'string', describe: 'bootstrap PRNG seed [default: 1]' }),
      async (args) => {
        const { compareCommand } = await import('./commands/compare.js');
        exitCode = await compareCommand(args as Record<string, unknown>);
      },
    )
    .command(
      'merge <dirs..>',
      'combine the result dirs of --instance 1/N … N/N runs into one result dir (same files as a single run)',
      (y) => y
        .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'result dirs of all N instances' })
        .option('results-dir', { type: 'string', describe: 'where the merged results/<run-id>/ goes [default: ./results]' }),
      async (args) => {
        const { mergeCommand } = await import('./commands/merge.js');
        exitCode = await mergeCommand(args as Record<string, unknown>);
      },
    )
    .command(
      'check [run]',
      'CI gate: evaluate thresholds on a result dir, or with --ab measure a base and a candidate target in alternating rounds (exit 0 pass, 99 a threshold failed, 3 invalid run, 2 bad input)',
      (y) => runOptions(y)
        .positional('run', { type: 'string', describe: 'result dir to check (not with --ab)' })
        .option('ab', { type: 'boolean', describe: 'duet: run the scenario (run options) on --a and --b in alternating rounds and judge b against a from the paired ratios' })
        .option('a', { type: 'string', describe: '--ab: the base target: a URL, local, or local-citus:N' })
        .option('b', { type: 'string', describe: '--ab: the candidate target' })
        .option('a-runs', { type: 'string', describe: '--ab: judge runs already made: the dir (a --results-dir) of the base\'s runs, one per round' })
        .option('b-runs', { type: 'string', describe: "--ab: the dir of the candidate's runs, made in alternating rounds with --a-runs" })
        .option('rounds', { type: 'string', describe: '--ab: rounds, each one run on each side [default: 10]' })
        .option('confidence', { type: 'string', describe: "--ab: two-sided confidence of the sign test's interval [default: 0.95]" })
        .option('baseline', { type: 'string', describe: 'baseline result dir or summary.json (needed for % limits); with no threshold: the default figures' })
        .option('threshold', { type: 'string', describe: 'e.g. "ingest.response.p99 < +10%", "freshness.p99 < 10s" (repeatable)' })
        .option('thresholds', { type: 'string', describe: 'JSON file: an array of thresholds, or {"thresholds": [...]}' })
        .option('history', { type: 'string', describe: 'history store: hold the default figures against its last --window records (statistical gate)' })
        .option('window', { type: 'string', describe: '--history: records to hold the run against [default: 10]' })
        .option('branch', { type: 'string', describe: '--history: baseline branch of the records [default: main]' })
        .option('testbed', { type: 'string', describe: "--history: testbed of the records [default: the run's host name]" })
        .option('test', { type: 'string', describe: '--history: robust | t | z | percent [default: robust (median, MAD)]' })
        .option('boundary', { type: 'string', describe: '--history: one-sided confidence of the robust / t / z bound [default: 0.99]' })
        .option('min-effect', { type: 'string', describe: 'smallest change that can fail, e.g. 5% (--history, and --baseline without thresholds) [default: 5%]' }),
      async (args) => {
        const { checkCommand } = await import('./commands/check.js');
        exitCode = await checkCommand(args as Record<string, unknown>);
      },
    )
    .command(
      'history <action> <store> [runs..]',
      'history store for CI: add RUN… (append runs), list (table), report (trend report.html + report.md)',
      (y) => y
        .positional('action', { choices: ['add', 'list', 'report'] as const, demandOption: true })
        .positional('store', { type: 'string', demandOption: true, describe: 'history store directory (keep it as a CI cache or artifact)' })
        .positional('runs', { type: 'string', array: true, describe: 'add: result dirs to append' })
        .option('revision', { type: 'string', describe: "add: git revision to record [default: run.json's]" })
        .option('branch', { type: 'string', describe: "add: branch to record [default: run.json's]; report: branch to chart [default: main]" })
        .option('testbed', { type: 'string', describe: "add: testbed label [default: the run's host name]; report: testbed to chart" })
        .option('fingerprint', { type: 'string', describe: 'report: scenario fingerprint to chart [default: that of the newest record]' })
        .option('out', { type: 'string', describe: 'report: directory for report.html and report.md [default: STORE-report, beside the store]' })
        .option('window', { type: 'string', describe: 'report: the gate band\'s window [default: 10]' })
        .option('test', { type: 'string', describe: 'report: robust | t | z | percent [default: robust]' })
        .option('boundary', { type: 'string', describe: 'report: one-sided confidence [default: 0.99]' })
        .option('min-effect', { type: 'string', describe: 'report: smallest change that can fail [default: 5%]' }),
      async (args) => {
        const { historyCommand } = await import('./commands/history.js');
        exitCode = await historyCommand(args as Record<string, unknown>);
      },
    )
    .command(
      'ui <dir>',
      'serve the page of a result dir: a finished one, or one a running rtbench run/capacity is still writing (followed each second), until Ctrl-C',
      (y) => y
        .positional('dir', { type: 'string', demandOption: true, describe: 'a result dir (results/<run-id> or a capacity dir)' })
        .option('ui', { type: 'string', describe: 'listen on [HOST:]PORT (127.0.0.1 unless HOST is given; beyond it, a random token guards the URL) [default: a free port on 127.0.0.1]' }),
      async (args) => {
        const { uiCommand } = await import('./commands/ui.js');
        exitCode = await uiCommand(String(args.dir), args['ui']);
      },
    )
    .command(
      'export <run>',
      'write a run\'s default figures for other CI tools: --format bmf (Bencher) | github-action-benchmark',
      (y) => y
        .positional('run', { type: 'string', demandOption: true, describe: 'result dir' })
        .option('format', { type: 'string', demandOption: true, describe: 'bmf | github-action-benchmark' })
        .option('direction', { type: 'string', describe: 'github-action-benchmark: smaller (customSmallerIsBetter) | bigger (customBiggerIsBetter) [default: smaller]' })
        .option('prefix', { type: 'string', describe: 'prepended to every benchmark name, e.g. "quick/" [default: none]' })
        .option('out', { type: 'string', describe: 'write to this file (atomically) instead of stdout' }),
      async (args) => {
        const { exportCommand } = await import('./commands/export.js');
        exitCode = await exportCommand(args as Record<string, unknown>);
      },
    )
    .command(
      'recover <dir>',
      'rebuild a run dir whose load generator died mid-run (kill -9, OOM, eviction) from its streamed intervals; marked invalid',
      (y) => y
        .positional('dir', { type: 'string', demandOption: true, describe: 'result dir with run.json status "running"' })
        .option('url', { type: 'string', describe: 'the run\'s --url target (default: PG* variables): count the rows in the table' }),
      async (args) => {
        const { recoverCommand } = await import('./commands/recover.js');
        exitCode = await recoverCommand(args as Record<string, unknown>);
      },
    )
    .demandCommand(1, `name a command: ${COMMANDS.join(', ')} (rtbench --help lists them)`)
    .strict()
    .help()
    .version(RTBENCH_VERSION)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    })
    .parseAsync();
  return exitCode;
}

// A closed pipe (rtbench run | head) must not crash the run and skip its cleanup.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

// Every password the user gave (in a URL argument, --url=…, or PGPASSWORD) is redacted from
// whatever rtbench prints or writes, even from text no URL scanner would recognise.
for (const arg of hideBin(process.argv)) {
  const k = arg.indexOf('://');
  if (k < 0) continue;
  const eq = arg.indexOf('=');
  rememberSecretsOf(eq >= 0 && eq < k ? arg.slice(eq + 1) : arg);
}
if (process.env['PGPASSWORD']) rememberSecretsOf(process.env['PGPASSWORD'], 'password');

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      for (const p of err.problems) process.stderr.write(`rtbench: ${maskSecrets(p)}\n`);
      process.exit(ExitCode.usage);
    }
    if (err instanceof EnvironmentError) {
      process.stderr.write(`rtbench: ${maskSecrets(err.message)}\n`);
      process.exit(ExitCode.usage);
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`rtbench: internal error: ${maskSecrets(msg)}\n`);
    if (process.env['RTBENCH_DEBUG'] && err instanceof Error && err.stack) process.stderr.write(maskSecrets(err.stack) + '\n');
    process.exit(ExitCode.runErrors);
  },
);
