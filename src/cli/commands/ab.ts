/**
 * `rtbench check --ab --a BASE --b CANDIDATE [run options]`: duet
 * benchmarking in one CI job. Both targets stay open; each of --rounds rounds
 * runs the scenario once on each, the order alternating (a b, b a, a b, …)
 * so drift over the job falls on both sides alike; the default figures are
 * paired by round and judged from the paired ratios (src/check/ab.ts). Every
 * run's result dir and ab.json land atomically under results/<ab-id>/.
 * `--a-runs DIR --b-runs DIR` instead judges runs the job made itself in
 * alternating rounds (two builds of a tool, two servers it set up): the same
 * pairing and verdict, nothing measured or written.
 * Exit 0 pass, 99 a gated figure regressed, 2 bad input, 130 interrupted.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { abFails, abMarkdown, abRows, type AbRound, type AbRow } from '../../check/ab.js';
import { pairMadeRuns, type MadeRun } from '../../check/ab-rounds.js';
import { DEFAULT_PAIRED, minPairs } from '../../check/paired.js';
import { checkWritableDir, writeFileAtomic } from '../../results/atomic.js';
import { errCode, once } from '../args.js';
import { readRunDirForTool } from '../run-dir.js';
import { SignalGuard, executeRun, newRunId } from '../run-session.js';
import { openTarget, parseTargetSpec, type OpenTarget, type TargetSpec } from '../target-session.js';
import { resolveConfig } from './run.js';

/** The A/B options; every bad one is reported. */
export function abOptions(args: Record<string, unknown>, parseMinEffect: (v: string | undefined) => number): { rounds: number; confidence: number; minEffect: number } {
  const problems: string[] = [];
  const roundsArg = once(args['rounds'], '--rounds');
  const rounds = roundsArg === undefined ? 10 : Number(roundsArg);
  const confArg = once(args['confidence'], '--confidence');
  const confidence = confArg === undefined ? DEFAULT_PAIRED.confidence : Number(confArg);
  if (!(confidence > 0.5 && confidence < 1)) problems.push(`--confidence: a two-sided confidence between 0.5 and 1 (e.g. 0.95), got ${JSON.stringify(confArg)}`);
  else if (!Number.isInteger(rounds) || rounds < minPairs(confidence) || rounds > 1000) {
    problems.push(`--rounds: a whole number from ${minPairs(confidence)} (the fewest pairs for a ${confidence * 100}% interval) to 1000, got ${JSON.stringify(roundsArg)}`);
  }
  let minEffect = DEFAULT_PAIRED.minEffect;
  try {
    minEffect = parseMinEffect(once(args['minEffect'], '--min-effect'));
  } catch (err) {
    if (err instanceof UsageError) problems.push(...err.problems);
    else throw err;
  }
  for (const flag of ['history', 'baseline', 'threshold', 'thresholds', 'run']) {
    if (args[flag] !== undefined) problems.push(`--ab measures both sides itself: give no ${flag === 'run' ? 'result dir' : `--${flag}`} with it`);
  }
  if (args['url'] !== undefined) problems.push('--url: check --ab takes its targets from --a and --b');
  const made = args['aRuns'] !== undefined || args['bRuns'] !== undefined;
  if (made) {
    if (args['aRuns'] === undefined || args['bRuns'] === undefined) problems.push('--a-runs and --b-runs go together: the dirs holding the base\'s and the candidate\'s runs');
    if (args['a'] !== undefined || args['b'] !== undefined) problems.push('--a-runs/--b-runs judge runs already made: give no --a or --b target with them');
    if (roundsArg !== undefined) problems.push('--rounds: with --a-runs/--b-runs the rounds are the runs in the dirs');
  } else if (args['a'] === undefined || args['b'] === undefined) problems.push('--ab needs --a BASE and --b CANDIDATE (a URL, local, or local-citus:N), or --a-runs DIR --b-runs DIR');
  if (problems.length > 0) throw new UsageError(problems);
  return { rounds, confidence, minEffect };
}

/** Every run dir directly under `dir` (a --results-dir), read for the duet. */
async function madeRuns(dir: string, flag: string): Promise<MadeRun[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch (err) {
    throw new UsageError(`${flag} ${dir}: cannot read it (${errCode(err)})`);
  }
  const out: MadeRun[] = [];
  for (const name of names) {
    const d = path.join(dir, name);
    const { run, summary } = await readRunDirForTool(d);
    out.push({ dir: d, startMs: Date.parse(run.startedAt), endMs: Date.parse(run.finishedAt), summary, valid: summary.valid, invalidReasons: summary.invalidReasons });
  }
  return out;
}

/** `check --ab --a-runs DIR --b-runs DIR`: the duet's verdict on runs made by the job itself, in alternating rounds. */
async function abMadeCommand(args: Record<string, unknown>, o: { confidence: number; minEffect: number }, publish: (md: string) => Promise<void>): Promise<number> {
  const aDir = String(once(args['aRuns'], '--a-runs'));
  const bDir = String(once(args['bRuns'], '--b-runs'));
  const { rounds, invalid, problems } = pairMadeRuns(await madeRuns(aDir, '--a-runs'), await madeRuns(bDir, '--b-runs'));
  if (rounds.length < minPairs(o.confidence)) problems.push(`${rounds.length} rounds: the duet needs at least ${minPairs(o.confidence)} (the fewest pairs for a ${o.confidence * 100}% interval)`);
  if (problems.length > 0) throw new UsageError(problems);
  const options = { confidence: o.confidence, minEffect: o.minEffect };
  const rows = abRows(rounds, options);
  await publish(abMarkdown({ rows, labelA: aDir, labelB: bDir, rounds: rounds.length, options, invalid, runs: rounds.length * 2 }));
  return verdictExit(rows);
}

function verdictExit(rows: readonly AbRow[]): number {
  const failed = rows.filter(abFails);
  if (failed.length > 0) {
    process.stderr.write(`rtbench: check --ab: ${failed.length} figure${failed.length === 1 ? '' : 's'} regressed in b against a: ${failed.map((r) => r.name).join(', ')}\n`);
    return 99;
  }
  return ExitCode.ok;
}

export async function abCommand(args: Record<string, unknown>, parseMinEffect: (v: string | undefined) => number, publish: (md: string) => Promise<void>): Promise<number> {
  const o = abOptions(args, parseMinEffect);
  if (args['aRuns'] !== undefined) return abMadeCommand(args, o, publish);
  const specs: Record<'a' | 'b', TargetSpec> = { a: parseTargetSpec(String(args['a']), '--a'), b: parseTargetSpec(String(args['b']), '--b') };
  const config = await resolveConfig(args);
  await checkWritableDir(config.resultsDir);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const guard = new SignalGuard(log);
  const abId = newRunId(`${config.name}-ab`);
  const tmp = path.join(config.resultsDir, `.tmp-${abId}`);
  await mkdir(tmp, { recursive: true });
  const targets: Partial<Record<'a' | 'b', OpenTarget>> = {};
  try {
    for (const side of ['a', 'b'] as const) {
      const t = await openTarget(specs[side], log);
      targets[side] = t;
      guard.track(t);
      log(`rtbench: check --ab ${side} = ${t.label}`);
    }
    const rounds: AbRound[] = [];
    const invalid: string[] = [];
    const runIds: Array<{ round: number; a: string; b: string; first: 'a' | 'b' }> = [];
    for (let i = 0; i < o.rounds && !guard.abort.signal.aborted; i++) {
      const first = i % 2 === 0 ? 'a' : 'b';
      const got: Partial<Record<'a' | 'b', { summary: unknown; runId: string }>> = {};
      for (const side of first === 'a' ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
        log(`rtbench: check --ab round ${i + 1}/${o.rounds}: ${side}`);
        const { record } = await executeRun(config, targets[side]!, { log, guard, resultsDir: tmp, runId: `${side}${i + 1}-${newRunId(config.name)}` });
        got[side] = { summary: record.summary, runId: record.run.runId };
        if (!record.summary.valid) invalid.push(`round ${i + 1} ${side}: ${record.summary.invalidReasons.join('; ')}`);
        if (guard.abort.signal.aborted) break;
      }
      if (!got.a || !got.b) break;
      rounds.push({ a: got.a.summary, b: got.b.summary, first });
      runIds.push({ round: i + 1, a: got.a.runId, b: got.b.runId, first });
    }
    if (guard.abort.signal.aborted) return ExitCode.interrupted;
    const options = { confidence: o.confidence, minEffect: o.minEffect };
    const rows = abRows(rounds, options);
    const labelA = targets.a!.label;
    const labelB = targets.b!.label;
    await writeFileAtomic(path.join(tmp, 'ab.json'), JSON.stringify({
      formatVersion: 1, abId, a: labelA, b: labelB, options, rounds: runIds, invalid,
      figures: rows.map((r) => ({ path: r.path, direction: r.direction, gated: r.gated, onServiceRounds: r.onService, ...r.result })),
    }, null, 2) + '\n');
    const finalDir = path.join(config.resultsDir, abId);
    await rename(tmp, finalDir);
    await publish(abMarkdown({ rows, labelA, labelB, rounds: rounds.length, options, invalid, runs: rounds.length * 2 }));
    process.stdout.write(`results: ${path.relative(process.cwd(), finalDir) || finalDir}\n`);
    return verdictExit(rows);
  } finally {
    for (const t of Object.values(targets)) if (t) await guard.release(t);
    await rm(tmp, { recursive: true, force: true });
    guard.dispose();
  }
}
