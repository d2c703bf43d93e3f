/**
 * `rtbench export --format bmf|github-action-benchmark RUN [--out FILE]`: a
 * run's default figures as Bencher Metric Format or github-action-benchmark
 * custom JSON (src/export, pure). stdout by default; `--out` is written
 * atomically. Skipped figures (too few samples) are named on stderr. Exit 0,
 * or 3 when the run is invalid (the file is written all the same), 2 bad input.
 */
import { ExitCode, UsageError } from '../../errors.js';
import { errCode, once } from '../args.js';
import { defaultFigures } from '../../check/figures.js';
import { EXPORT_FORMATS, toBmf, toGithubActionBenchmark, type ExportFormat, type GabDirection } from '../../export/formats.js';
import { writeFileAtomic } from '../../results/atomic.js';
import { readRunDirForTool } from '../run-dir.js';

export async function exportCommand(args: Record<string, unknown>): Promise<number> {
  const problems: string[] = [];
  const format = once(args['format'], '--format') ?? '';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) problems.push(`--format: one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  const direction = once(args['direction'], '--direction');
  if (direction !== undefined && format === 'bmf') problems.push('--direction: only for --format github-action-benchmark (BMF holds both directions)');
  if (direction !== undefined && direction !== 'smaller' && direction !== 'bigger') problems.push(`--direction: smaller or bigger, got ${JSON.stringify(direction)}`);
  const prefix = once(args['prefix'], '--prefix') ?? '';
  if (/[\n\r]/.test(prefix) || prefix.length > 200) problems.push('--prefix: at most 200 characters on one line');
  const out = once(args['out'], '--out');
  if (out === '') problems.push('--out: empty file name');
  if (problems.length > 0) throw new UsageError(problems);

  const { run, summary } = await readRunDirForTool(String(args['run']));
  const { figures, skipped } = defaultFigures(summary);
  for (const s of skipped) process.stderr.write(`rtbench: export: skipped ${s}\n`);
  const data = (format as ExportFormat) === 'bmf'
    ? toBmf(figures, prefix)
    : toGithubActionBenchmark(figures, (direction ?? 'smaller') as GabDirection, { runId: run.runId, revision: run.gitRevision }, prefix);
  const text = JSON.stringify(data, null, 2) + '\n';
  if (out === undefined) process.stdout.write(text);
  else {
    try {
      await writeFileAtomic(out, text);
    } catch (err) {
      throw new UsageError(`--out ${out}: cannot write it (${errCode(err)})`);
    }
  }
  if (!summary.valid) {
    process.stderr.write(`rtbench: export: run ${run.runId} is invalid (${summary.invalidReasons.join('; ')}); its figures were written all the same\n`);
    return ExitCode.invalidRun;
  }
  return ExitCode.ok;
}
