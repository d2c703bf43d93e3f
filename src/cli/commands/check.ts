/**
 * `rtbench check [--baseline DIR|FILE] [--threshold EXPR]… [--thresholds FILE] RUN_DIR`:
 * the CI gate. Evaluates thresholds (src/check, pure) on a run's summary.json,
 * relative ones against a baseline; prints a markdown table and appends it to
 * $GITHUB_STEP_SUMMARY when set. Returns the exit code: 0 pass, 99 a
 * threshold failed, 3 the run is invalid; bad input (including a threshold on
 * a figure that does not exist) is a UsageError, exit 2.
 */
import { appendFile, readFile, stat } from 'node:fs/promises';
import { ExitCode, UsageError } from '../../errors.js';
import { checkMarkdown, checkStatus } from '../../check/markdown.js';
import { evaluateThresholds, parseThresholds } from '../../check/threshold.js';
import { RESULT_FORMAT_VERSION, type Summary } from '../../results/run-record.js';
import { readRunDir } from '../../results/write.js';

/** A threshold failed (k6's code for the same). */
export const EXIT_THRESHOLD_FAILED = 99;

function errCode(err: unknown): string {
  return err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err);
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${what} ${file}: cannot read it (${errCode(err)})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${what} ${file}: not valid JSON`);
  }
}

/** `--thresholds FILE`: a JSON array of expressions, or an object with a `thresholds` array. */
export async function readThresholdsFile(file: string): Promise<string[]> {
  const data = await readJson(file, '--thresholds');
  const list = Array.isArray(data) ? data : data && typeof data === 'object' ? (data as Record<string, unknown>)['thresholds'] : undefined;
  if (!Array.isArray(list) || !list.every((x): x is string => typeof x === 'string')) {
    throw new UsageError(`--thresholds ${file}: expected a JSON array of threshold strings, or an object with one under "thresholds"`);
  }
  return list;
}

/** `--baseline`: a run directory, or a summary.json file. */
async function readBaseline(p: string): Promise<Summary> {
  let isDir: boolean;
  try {
    isDir = (await stat(p)).isDirectory();
  } catch (err) {
    throw new UsageError(`--baseline ${p}: ${errCode(err)}`);
  }
  if (isDir) return (await readRunDir(p)).summary;
  const data = await readJson(p, '--baseline');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`--baseline ${p}: not a JSON object`);
  const o = data as Record<string, unknown>;
  if (typeof o['formatVersion'] !== 'number' || typeof o['runId'] !== 'string' || typeof o['valid'] !== 'boolean' || o['ingest'] === null || typeof o['ingest'] !== 'object') {
    throw new UsageError(`--baseline ${p}: not an rtbench summary.json (needs formatVersion, runId, valid, ingest)`);
  }
  if (o['formatVersion'] > RESULT_FORMAT_VERSION) {
    throw new UsageError(`--baseline ${p}: format version ${o['formatVersion']} is newer than this rtbench understands (${RESULT_FORMAT_VERSION})`);
  }
  return data as Summary;
}

function asList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export async function checkCommand(args: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const runDir = String(args['run']);
  const exprs = asList(args['threshold']);
  for (const f of asList(args['thresholds'])) exprs.push(...(await readThresholdsFile(f)));
  const parsed = parseThresholds(exprs);
  if (parsed.problems.length > 0) throw new UsageError(parsed.problems);
  if (parsed.thresholds.length === 0) throw new UsageError('no thresholds: give --threshold EXPR (repeatable) or --thresholds FILE');
  const baselineArgs = asList(args['baseline']);
  if (baselineArgs.length > 1) throw new UsageError('--baseline: give it once');

  const { summary: run } = await readRunDir(runDir);
  const baseline = baselineArgs[0] === undefined ? null : await readBaseline(baselineArgs[0]);
  const evaluation = evaluateThresholds(parsed.thresholds, run, baseline);
  if (evaluation.problems.length > 0) throw new UsageError(evaluation.problems);

  const md = checkMarkdown({
    results: evaluation.results,
    run: { runId: run.runId, valid: run.valid, invalidReasons: run.invalidReasons },
    ...(baseline ? { baseline: { runId: baseline.runId, valid: baseline.valid } } : {}),
  });
  process.stdout.write(md);
  const summaryFile = env['GITHUB_STEP_SUMMARY'];
  if (summaryFile) {
    try {
      await appendFile(summaryFile, `${md}\n`);
    } catch (err) {
      process.stderr.write(`rtbench: check: could not append to GITHUB_STEP_SUMMARY ${summaryFile} (${errCode(err)})\n`);
    }
  }

  const status = checkStatus(evaluation.results, run.valid);
  if (status === 'invalid') {
    process.stderr.write(`rtbench: check: run ${run.runId} is invalid: ${run.invalidReasons.join('; ')}\n`);
    return ExitCode.invalidRun;
  }
  if (status === 'fail') {
    const failed = evaluation.results.filter((r) => !r.pass).map((r) => r.threshold.source);
    process.stderr.write(`rtbench: check: ${failed.length} threshold${failed.length === 1 ? '' : 's'} failed: ${failed.join('; ')}\n`);
    return EXIT_THRESHOLD_FAILED;
  }
  return ExitCode.ok;
}
