/**
 * `rtbench merge DIR…`: combine the result dirs of `--instance 1/N … N/N`
 * runs into one result dir with the same files as a single run. Reads the
 * dirs, checks them (every problem at once, exit 2), merges, writes, prints
 * the summary. Returns the exit code (as `run`: 1 errors, 3 invalid, else 0).
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { mergeRuns, type MergeInput } from '../../merge/merge.js';
import { readInstanceIntervals } from '../../merge/intervals.js';
import { checkInstances, instanceOf } from '../../merge/validate.js';
import { checkWritableDir } from '../../results/atomic.js';
import { readHistograms, writeRunDir } from '../../results/write.js';

/** The server sampler's files of a run dir (server.csv, plans/*.json), by relative path; none when absent. */
async function serverFilesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const csv = await readFile(path.join(dir, 'server.csv'), 'utf8').catch(() => null);
  if (csv !== null) out['server.csv'] = csv;
  const plans = await readdir(path.join(dir, 'plans')).catch(() => [] as string[]);
  for (const f of plans) {
    if (!f.endsWith('.json')) continue;
    const text = await readFile(path.join(dir, 'plans', f), 'utf8').catch(() => null);
    if (text !== null) out[`plans/${f}`] = text;
  }
  return out;
}
import { readRunDirForTool } from '../run-dir.js';
import { summaryTable } from '../../report/console.js';
import { dashboardTable } from '../../report/dashboard-table.js';
import { newRunId, runExitCode } from '../run-session.js';

const errCode = (err: unknown): string => (err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err));

/** Read one instance's directory; problems go to `problems` (one line each), never thrown. */
async function readInstance(dir: string, problems: string[]): Promise<(MergeInput & { kinds: readonly string[] }) | null> {
  let head;
  try {
    head = await readRunDirForTool(dir);
  } catch (err) {
    if (err instanceof UsageError) {
      problems.push(...err.problems);
      return null;
    }
    throw err;
  }
  try {
    const [hlog, csv] = await Promise.all(['intervals.hlog', 'timeseries.csv'].map(async (f) => {
      try {
        return await readFile(path.join(dir, f), 'utf8');
      } catch (err) {
        throw new Error(`${f}: ${errCode(err)}`);
      }
    }));
    const { intervals, startEpochMs, kinds } = readInstanceIntervals(hlog ?? '', csv ?? '');
    return { dir, ...head, histograms: await readHistograms(dir), intervals, startEpochMs, kinds };
  } catch (err) {
    problems.push(`${dir}: ${err instanceof Error ? err.message : String(err)}`);
    return { dir, ...head, histograms: null, intervals: [], startEpochMs: null, kinds: [] };
  }
}

export async function mergeCommand(args: Record<string, unknown>): Promise<number> {
  const raw = args['dirs'];
  const dirs = (Array.isArray(raw) ? raw : [raw]).filter((d) => d !== undefined).map(String);
  const resultsDir = typeof args['resultsDir'] === 'string' ? args['resultsDir'] : 'results';
  if (dirs.length === 0) throw new UsageError('merge: name the result dirs of the instances');

  const problems: string[] = [];
  const inputs: Array<MergeInput & { kinds: readonly string[] }> = [];
  for (const dir of dirs) {
    const input = await readInstance(dir, problems);
    if (input) inputs.push(input);
  }
  const { problems: instanceProblems, warnings } = checkInstances(inputs);
  problems.push(...instanceProblems);
  const kindSets = new Set(inputs.filter((i) => i.kinds.length > 0).map((i) => [...i.kinds].sort().join(',')));
  if (kindSets.size > 1) {
    problems.push(`the instances logged different histogram kinds (different rtbench versions?): ${inputs.map((i) => `${i.dir}: ${i.kinds.join(', ')}`).join('; ')}`);
  }
  if (problems.length > 0) throw new UsageError(problems);
  await checkWritableDir(resultsDir);

  const first = inputs.find((i) => instanceOf(i.run)?.index === 1) ?? inputs[0]!;
  const name = typeof first.run.config['name'] === 'string' ? first.run.config['name'] : 'adhoc';
  const merged = mergeRuns(inputs, { runId: newRunId(`merged-${name}`), warnings });
  // The instances shared one server: its view (server.csv, plans/) is carried over as instance 1 sampled it.
  const files = await serverFilesOf(first.dir);
  const record = Object.keys(files).length > 0 ? { ...merged, files } : merged;
  const dir = await writeRunDir(resultsDir, record);
  process.stderr.write(`rtbench: merged ${inputs.length} instances: ${record.summary.merged.instances.map((i) => i.runId).join(', ')}\n`);
  for (const i of inputs) {
    const rec = i.run.recovered;
    if (rec) {
      process.stderr.write(`rtbench: merge: ${i.run.runId} was recovered (${rec.measureS.toFixed(0)} s of its ${rec.plannedMeasureS.toFixed(0)} s measure phase): the merged run is marked invalid\n`);
    }
  }
  process.stdout.write(summaryTable(record.summary) + '\n');
  const dash = dashboardTable(record.summary);
  if (dash) process.stdout.write(dash + '\n');
  for (const n of record.summary.notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), dir) || dir}\n`);
  return runExitCode(record, false);
}
