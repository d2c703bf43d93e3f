/**
 * `rtbench history add STORE RUN…`, `history list STORE`, `history report STORE`:
 * the history store for CI (src/history). `add` appends one record per run
 * (kept as it is when the run is already there; invalid runs are refused);
 * `list` prints the records as a table; `report` writes a trend report.html
 * and report.md. Returns the exit code: 0, 3 when `add` refused an invalid
 * run, 2 bad input (a corrupt or foreign file in the store is named).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { errCode, once } from '../args.js';
import { buildRecord, labelProblems, type HistoryRecord } from '../../history/record.js';
import { addRecords, readStore } from '../../history/store.js';
import { historyTable, trends } from '../../history/trend.js';
import { writeFileAtomic } from '../../results/atomic.js';
import { readRunDirForTool } from '../run-dir.js';
import { historyReportHtml, historyReportMarkdown } from '../../report/history-report.js';
import { gateOptions } from './check.js';

async function add(store: string, runDirs: readonly string[], args: Record<string, unknown>): Promise<number> {
  if (runDirs.length === 0) throw new UsageError('history add: name at least one result dir');
  const labels = { revision: once(args['revision'], '--revision'), branch: once(args['branch'], '--branch'), testbed: once(args['testbed'], '--testbed') };
  const problems = labelProblems(labels);
  if (problems.length > 0) throw new UsageError(problems);
  // The store first (a corrupt one is the only message), then every run: one bad directory and nothing is added.
  await readStore(store, { allowMissing: true });
  const records: HistoryRecord[] = [];
  let refused = 0;
  for (const dir of runDirs) {
    const { run, summary } = await readRunDirForTool(dir);
    if (!summary.valid) {
      process.stderr.write(`rtbench: history add: run ${run.runId} is invalid (${summary.invalidReasons.join('; ')}); not added\n`);
      refused++;
      continue;
    }
    records.push(buildRecord(run, summary, labels));
  }
  const outcomes = await addRecords(store, records);
  for (const o of outcomes) {
    const r = records.find((x) => x.runId === o.runId)!;
    process.stdout.write(o.status === 'added'
      ? `added ${o.runId} (branch ${r.branch ?? 'unknown'}, testbed ${r.testbed}, fingerprint ${r.fingerprint}, ${Object.keys(r.figures).length} figures)\n`
      : `kept ${o.runId}: already in the store\n`);
    for (const s of r.skipped) process.stdout.write(`  skipped ${s}\n`);
  }
  return refused > 0 ? ExitCode.invalidRun : ExitCode.ok;
}

async function report(store: string, args: Record<string, unknown>): Promise<number> {
  const g = gateOptions(args);
  const fingerprintArg = once(args['fingerprint'], '--fingerprint');
  // Beside the store, not in it: a store holds only records.
  const outDir = once(args['out'], '--out') ?? `${store.replace(/[\\/]+$/, '')}-report`;
  const all = await readStore(store);
  const onBranch = all.filter((r) => r.branch === g.branch && (g.testbed === undefined || r.testbed === g.testbed) && (fingerprintArg === undefined || r.fingerprint === fingerprintArg));
  const newest = onBranch[onBranch.length - 1];
  if (!newest) {
    throw new UsageError(`history report ${store}: no record on branch ${g.branch}${g.testbed ? `, testbed ${g.testbed}` : ''}${fingerprintArg ? `, fingerprint ${fingerprintArg}` : ''} (${all.length} records in the store; --branch, --testbed and --fingerprint choose others)`);
  }
  const selection = { fingerprint: fingerprintArg ?? newest.fingerprint, testbed: g.testbed ?? newest.testbed, branch: g.branch };
  const records = onBranch.filter((r) => r.fingerprint === selection.fingerprint && r.testbed === selection.testbed);
  const input = { store, selection, records, trends: trends(records, g.window, g.options), window: g.window, options: g.options, storeRecords: all.length };
  try {
    await mkdir(outDir, { recursive: true });
    await writeFileAtomic(join(outDir, 'report.md'), historyReportMarkdown(input));
    await writeFileAtomic(join(outDir, 'report.html'), historyReportHtml(input));
  } catch (err) {
    throw new UsageError(`history report: cannot write ${outDir} (${errCode(err)})`);
  }
  const flagged = input.trends.reduce((n, t) => n + t.points.filter((p) => p.verdict === 'regression').length, 0);
  process.stdout.write(`${records.length} runs, ${input.trends.length} figures, ${flagged} regression${flagged === 1 ? '' : 's'} flagged\n`);
  process.stdout.write(`report: ${join(outDir, 'report.html')}\nreport: ${join(outDir, 'report.md')}\n`);
  return ExitCode.ok;
}

export async function historyCommand(args: Record<string, unknown>): Promise<number> {
  const action = String(args['action']);
  const store = String(args['store']);
  const runs = Array.isArray(args['runs']) ? args['runs'].map(String) : [];
  if (action !== 'add' && runs.length > 0) throw new UsageError(`history ${action}: takes no result dirs (got ${runs.join(' ')})`);
  switch (action) {
    case 'add': return add(store, runs, args);
    case 'list': {
      const records = await readStore(store);
      if (records.length === 0) process.stdout.write(`history store ${store}: no records\n`);
      else process.stdout.write(historyTable(records) + '\n');
      return ExitCode.ok;
    }
    case 'report': return report(store, args);
    default: throw new UsageError(`history: unknown action ${JSON.stringify(action)} (add, list, report)`);
  }
}
