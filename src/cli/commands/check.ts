/**
 * `rtbench check [--baseline DIR|FILE] [--threshold EXPR]… [--thresholds FILE] RUN_DIR`
 * and `rtbench check --history STORE RUN_DIR`: the CI gate. Evaluates
 * thresholds (src/check, pure) on a run's summary.json, relative ones against
 * a baseline — with no threshold given, the default figure set
 * (src/check/figures.ts) — or holds the default figures against a history
 * store with the statistical gate (src/check/gate.ts). Prints a markdown table
 * and appends it to $GITHUB_STEP_SUMMARY when set. Returns the exit code: 0
 * pass, 99 a threshold failed / a regression, 3 the run is invalid; bad input
 * (including a threshold on a figure that does not exist) is a UsageError, exit 2.
 */
import { appendFile, readFile, stat } from 'node:fs/promises';
import { ExitCode, UsageError } from '../../errors.js';
import { asList, errCode, once } from '../args.js';
import { defaultFigures, type TrackedFigure } from '../../check/figures.js';
import { DEFAULT_GATE, GATE_TESTS, MIN_HISTORY, type GateOptions, type GateTest } from '../../check/gate.js';
import { failsRun, gateRun, historyMarkdown, historyStatus } from '../../check/history-gate.js';
import { checkMarkdown, checkStatus } from '../../check/markdown.js';
import { evaluateThresholds, parseThresholds } from '../../check/threshold.js';
import { scenarioFingerprint } from '../../history/fingerprint.js';
import { labelProblems, selectRecords, testbedOf } from '../../history/record.js';
import { readStore } from '../../history/store.js';
import { RESULT_FORMAT_VERSION, type Summary } from '../../results/run-record.js';
import { readRunDirForTool } from '../run-dir.js';

/** A threshold failed (k6's code for the same). */
export const EXIT_THRESHOLD_FAILED = 99;

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
  if (isDir) return (await readRunDirForTool(p)).summary;
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

/** `--min-effect 5%` or `5` → 0.05. */
export function parseMinEffect(v: string | undefined): number {
  if (v === undefined) return DEFAULT_GATE.minEffect;
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$/.exec(v);
  const pct = m ? Number(m[1]) : NaN;
  // Below 100%: a bigger-is-better figure's limit is mean × (1 − min effect), which must stay above 0.
  if (!Number.isFinite(pct) || pct >= 100) throw new UsageError(`--min-effect: a percentage from 0 up to (not including) 100 (e.g. 5%), got ${JSON.stringify(v)}`);
  return pct / 100;
}

/** The gate's options from the command line; every bad one is reported. */
export function gateOptions(args: Record<string, unknown>): { options: GateOptions; window: number; branch: string; testbed: string | undefined } {
  const problems: string[] = [];
  const testArg = once(args['test'], '--test') ?? DEFAULT_GATE.test;
  if (!(GATE_TESTS as readonly string[]).includes(testArg)) problems.push(`--test: one of ${GATE_TESTS.join(', ')}, got ${JSON.stringify(testArg)}`);
  const windowArg = once(args['window'], '--window');
  const window = windowArg === undefined ? 10 : Number(windowArg);
  if (!Number.isInteger(window) || window < 1 || window > 1000) problems.push(`--window: a whole number of records from 1 to 1000, got ${JSON.stringify(windowArg)}`);
  const boundaryArg = once(args['boundary'], '--boundary');
  const boundary = boundaryArg === undefined ? DEFAULT_GATE.boundary : Number(boundaryArg);
  if (!(boundary > 0.5 && boundary < 1)) problems.push(`--boundary: a one-sided confidence between 0.5 and 1 (e.g. 0.99), got ${JSON.stringify(boundaryArg)}`);
  let minEffect = DEFAULT_GATE.minEffect;
  try {
    minEffect = parseMinEffect(once(args['minEffect'], '--min-effect'));
  } catch (err) {
    if (err instanceof UsageError) problems.push(...err.problems);
    else throw err;
  }
  const branch = once(args['branch'], '--branch') ?? 'main';
  const testbed = once(args['testbed'], '--testbed');
  problems.push(...labelProblems({ branch, testbed }));
  if (problems.length > 0) throw new UsageError(problems);
  return { options: { test: testArg as GateTest, boundary, minEffect }, window, branch, testbed };
}

/** Print the markdown and append it to $GITHUB_STEP_SUMMARY when set. */
async function publish(md: string, env: NodeJS.ProcessEnv): Promise<void> {
  process.stdout.write(md);
  const summaryFile = env['GITHUB_STEP_SUMMARY'];
  if (summaryFile) {
    try {
      await appendFile(summaryFile, `${md}\n`);
    } catch (err) {
      process.stderr.write(`rtbench: check: could not append to GITHUB_STEP_SUMMARY ${summaryFile} (${errCode(err)})\n`);
    }
  }
}

/**
 * Thresholds for the default figures against one baseline: smaller-is-better
 * figures may grow by at most the minimum effect, bigger-is-better ones
 * shrink by at most it, must-be-zero ones must be 0. Only figures both runs hold.
 */
export function defaultThresholds(run: readonly TrackedFigure[], baseline: Summary, minEffect: number): string[] {
  const inBaseline = new Set(defaultFigures(baseline).figures.map((f) => f.path));
  const pct = `${Number((minEffect * 100).toPrecision(6))}%`;
  return run
    .filter((f) => f.direction === 'zero' || inBaseline.has(f.path))
    .map((f) => (f.direction === 'zero' ? `${f.name} == 0` : f.direction === 'bigger' ? `${f.name} >= -${pct}` : `${f.name} <= +${pct}`));
}

async function historyCheck(args: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<number> {
  const store = once(args['history'], '--history')!;
  if (asList(args['threshold']).length + asList(args['thresholds']).length > 0 || args['baseline'] !== undefined) {
    throw new UsageError('--history holds the default figures against the store: give no --baseline, --threshold or --thresholds with it');
  }
  const g = gateOptions(args);
  const { run, summary } = await readRunDirForTool(String(args['run']));
  // No store yet (the first pull request of a repository): every figure has insufficient history.
  const records = await readStore(store, { allowMissing: true });
  const selection = { fingerprint: scenarioFingerprint(run.config), testbed: testbedOf(run, g.testbed), branch: g.branch };
  const selected = selectRecords(records, selection, run.runId);
  const { figures, skipped } = defaultFigures(summary);
  const rows = gateRun(figures, selected, g.window, g.options);
  await publish(historyMarkdown({
    rows, run: { runId: run.runId, valid: summary.valid, invalidReasons: summary.invalidReasons }, store, selection,
    matching: selected.length, window: g.window, options: g.options, skipped,
  }), env);
  const status = historyStatus(rows, summary.valid);
  if (status === 'invalid') {
    process.stderr.write(`rtbench: check: run ${run.runId} is invalid: ${summary.invalidReasons.join('; ')}\n`);
    return ExitCode.invalidRun;
  }
  if (status === 'fail') {
    const failed = rows.filter(failsRun).map((r) => r.figure.name);
    process.stderr.write(`rtbench: check: ${failed.length} figure${failed.length === 1 ? '' : 's'} regressed against the history: ${failed.join(', ')}\n`);
    return EXIT_THRESHOLD_FAILED;
  }
  if (selected.length < MIN_HISTORY) {
    const others = records.length - selected.length;
    process.stderr.write(`rtbench: check: only ${selected.length} matching history record${selected.length === 1 ? '' : 's'}: insufficient history, nothing can fail yet` +
      (others > 0 ? ` (${others} other record${others === 1 ? '' : 's'} in the store differ in fingerprint, testbed or branch: see rtbench history list)` : '') + '\n');
  }
  return ExitCode.ok;
}

export async function checkCommand(args: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (args['ab'] === true) {
    const { abCommand } = await import('./ab.js');
    return abCommand(args, parseMinEffect, (md) => publish(md, env));
  }
  for (const flag of ['a', 'b', 'rounds', 'confidence', 'aRuns', 'bRuns']) {
    if (args[flag] !== undefined) throw new UsageError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} belongs to check --ab`);
  }
  if (args['run'] === undefined) throw new UsageError('check: name the result dir to check (or give --ab --a BASE --b CANDIDATE)');
  if (args['history'] !== undefined) return historyCheck(args, env);
  const runDir = String(args['run']);
  const exprs = asList(args['threshold']);
  for (const f of asList(args['thresholds'])) exprs.push(...(await readThresholdsFile(f)));
  const parsed = parseThresholds(exprs);
  if (parsed.problems.length > 0) throw new UsageError(parsed.problems);
  const baselineArg = once(args['baseline'], '--baseline');
  const minEffect = parseMinEffect(once(args['minEffect'], '--min-effect'));
  if (parsed.thresholds.length === 0 && baselineArg === undefined) {
    throw new UsageError('nothing to check: give --threshold EXPR (repeatable), --thresholds FILE, --baseline DIR (default figures) or --history STORE');
  }

  const { summary: run } = await readRunDirForTool(runDir);
  const baseline = baselineArg === undefined ? null : await readBaseline(baselineArg);
  let thresholds = parsed.thresholds;
  if (thresholds.length === 0 && baseline) {
    const d = parseThresholds(defaultThresholds(defaultFigures(run).figures, baseline, minEffect));
    if (d.problems.length > 0) throw new Error(`default thresholds: ${d.problems.join('; ')}`);
    thresholds = d.thresholds;
  }
  const evaluation = evaluateThresholds(thresholds, run, baseline);
  if (evaluation.problems.length > 0) throw new UsageError(evaluation.problems);

  await publish(checkMarkdown({
    results: evaluation.results,
    run: { runId: run.runId, valid: run.valid, invalidReasons: run.invalidReasons },
    ...(baseline ? { baseline: { runId: baseline.runId, valid: baseline.valid } } : {}),
  }), env);

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
