/**
 * `rtbench compare-targets --a A --b B`: the same scenario, seed, preload and
 * rate on two targets (a URL, `local`, or `local-citus:N`), one after the
 * other; one side-by-side table with b/a per row; both result sets,
 * comparison.json and report.html (both runs on one page) written atomically
 * under results/<compare-id>/.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { compareRuns } from '../../compare/compare.js';
import { comparisonReportTable, comparisonRows, comparisonTable, withVerdicts } from '../../report/comparison.js';
import { htmlTable } from '../../report/html-parts.js';
import { pageHtml } from '../../report/page.js';
import { comparePageModel } from '../../report/run-page.js';
import { checkWritableDir, writeFileAtomic } from '../../results/atomic.js';
import type { RunRecord } from '../../results/run-record.js';
import { SignalGuard, executeRun, newRunId } from '../run-session.js';
import { emptyModel } from '../../report/page-model.js';
import { openUi } from '../ui-session.js';
import { openTarget, parseTargetSpec, type OpenTarget, type TargetSpec } from '../target-session.js';
import { loadRun } from './compare.js';
import { resolveConfig } from './run.js';

export async function compareTargetsCommand(args: Record<string, unknown>): Promise<number> {
  if (args['capacity'] === true) {
    const { capacityCommand } = await import('./capacity.js');
    return capacityCommand(args);
  }
  const { refuseCapacityFlags } = await import('./capacity.js');
  refuseCapacityFlags(args);
  const specA = parseTargetSpec(String(args['a']), '--a');
  const specB = parseTargetSpec(String(args['b']), '--b');
  if (args['url'] !== undefined) throw new UsageError('--url: compare-targets takes its targets from --a and --b');
  const config = await resolveConfig(args);
  await checkWritableDir(config.resultsDir);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const guard = new SignalGuard(log);
  const compareId = newRunId(`${config.name}-compare`);
  const tmp = path.join(config.resultsDir, `.tmp-${compareId}`);
  await mkdir(tmp, { recursive: true });
  const ui = await openUi(args['ui'], emptyModel('compare', `rtbench compare-targets ${compareId} (live)`), log);
  try {
    const records: RunRecord[] = [];
    const dirs: string[] = [];
    for (const [side, spec] of [['a', specA], ['b', specB]] as Array<['a' | 'b', TargetSpec]>) {
      let target: OpenTarget | undefined;
      try {
        target = await openTarget(spec, log);
        guard.track(target);
        log(`rtbench: compare-targets ${side} = ${target.label}`);
        ui?.hub.publish({ type: 'notice', text: `${side} = ${target.label}` });
        const { record, dir } = await executeRun(config, target, {
          log, guard, resultsDir: tmp, runId: `${side}-${newRunId(config.name)}`, ...(ui ? { page: { hub: ui.hub, step: records.length, side } } : {}),
        });
        records.push(record);
        dirs.push(dir);
      } finally {
        if (target) await guard.release(target);
      }
      if (guard.abort.signal.aborted) break;
    }
    const [a, b] = records;
    if (!a || !b) return ExitCode.interrupted;
    // The same bootstrap as `rtbench compare` over the two run dirs: an interval on b/a and a verdict per row.
    const [ra, rb] = await Promise.all(dirs.map((d) => loadRun(d)));
    const rows = withVerdicts(comparisonRows(a.summary, b.summary), compareRuns(ra!.input, rb!.input, { seed: config.seed }));
    const labelA = specLabel(specA);
    const labelB = specLabel(specB);
    await writeFileAtomic(path.join(tmp, 'comparison.json'), JSON.stringify({
      formatVersion: 1, compareId, a: { target: labelA, runId: a.run.runId, valid: a.summary.valid }, b: { target: labelB, runId: b.run.runId, valid: b.summary.valid },
      seed: config.seed, rows,
    }, null, 2) + '\n');
    // One page: both runs on the time charts, the table (the live page's final model and report.html alike).
    const page = comparePageModel(compareId, [{ side: 'a', label: labelA, record: a }, { side: 'b', label: labelB, record: b }], htmlTable(comparisonReportTable(rows)));
    await writeFileAtomic(path.join(tmp, 'report.html'), pageHtml(page));
    const finalDir = path.join(config.resultsDir, compareId);
    await rename(tmp, finalDir);
    ui?.hub.publish({ type: 'final', model: page });
    process.stdout.write(comparisonTable(rows, labelA, labelB) + '\n');
    for (const [side, r] of [['a', a], ['b', b]] as const) {
      if (!r.summary.valid) process.stdout.write(`note: run ${side} is invalid: ${r.summary.invalidReasons.join('; ')}\n`);
    }
    process.stdout.write(`results: ${path.relative(process.cwd(), finalDir) || finalDir}\n`);
    if (guard.abort.signal.aborted) return ExitCode.interrupted;
    return a.summary.ingest.errors + b.summary.ingest.errors > 0 ? ExitCode.runErrors : a.summary.valid && b.summary.valid ? ExitCode.ok : ExitCode.invalidRun;
  } finally {
    await rm(tmp, { recursive: true, force: true });
    guard.dispose();
    await ui?.close();
  }
}

function specLabel(s: TargetSpec): string {
  return s.kind === 'url' ? s.description : s.kind === 'embedded' ? 'local' : `local-citus:${s.workers}`;
}
