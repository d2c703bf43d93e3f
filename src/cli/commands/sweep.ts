/**
 * `rtbench sweep`: the same scenario over a list of values of one setting —
 * `--granularity 1m,5m,15m,60m`, `--rate 500,1000,2000` or `--shard-count 8,16,32`
 * — on one target, each point starting from the same state (the embedded
 * cluster is reset between points; a user's database only with --reset).
 * Writes results/<sweep-id>/ atomically: each point's run, sweep.csv,
 * sweep.json, report.md and report.html (the page: uPlot charts and tables).
 */
import { randomInt } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import type { RunConfig } from '../../config/types.js';
import { ExitCode, UsageError } from '../../errors.js';
import { checkWritableDir, writeFileAtomic } from '../../results/atomic.js';
import { SWEEPABLE, sweepCsv, sweepMarkdown, sweepPageModel, sweepRow, sweepTableCells, type SweepParameter, type SweepRow } from '../../sweep/sweep.js';
import { scaleCharts, scaleCostTable, scaleLatencyTable, scaleMarkdown, scalePoint, type ScalePoint } from '../../sweep/scale.js';
import { pageHtml } from '../../report/page.js';
import type { ReportTable } from '../../report/tables.js';
import { SignalGuard, executeRun, newRunId } from '../run-session.js';
import { openTarget, runTargetSpec, type OpenTarget } from '../target-session.js';
import { parseCitusWorkers, resolveConfig } from './run.js';
import { capacityOn, capacitySettings, refuseCapacityFlags } from './capacity.js';
import { emptyModel } from '../../report/page-model.js';
import { openUi } from '../ui-session.js';
import { EXIT_THRESHOLD_FAILED } from './check.js';
import { stringify } from 'csv-stringify/sync';

/** One value of a `sweep --capacity`. */
export interface CapacitySweepRow {
  readonly value: string;
  readonly capacityId: string;
  readonly capacityHz: number | null;
  readonly passHz: number | null;
  readonly failHz: number | null;
  readonly end: string;
  readonly binding: string | null;
  readonly headline: string;
}

function capacitySweepCsv(rows: readonly CapacitySweepRow[]): string {
  return stringify([['value', 'capacity_rows_per_s', 'pass_rows_per_s', 'fail_rows_per_s', 'end', 'binding'],
    ...rows.map((r) => [r.value, r.capacityHz ?? '', r.passHz ?? '', r.failHz ?? '', r.end, r.binding ?? ''])]);
}

/** The one swept setting and its values, from whichever flag holds a comma list. */
export function sweepPlan(args: Record<string, unknown>): { parameter: SweepParameter; key: string; values: string[] } {
  const lists = (Object.keys(SWEEPABLE) as SweepParameter[])
    .map((p) => ({ parameter: p, key: SWEEPABLE[p], raw: args[SWEEPABLE[p]] }))
    .filter((x) => typeof x.raw === 'string' && x.raw.includes(','));
  if (lists.length === 0) throw new UsageError('sweep: give a comma-separated list to one of --granularity, --rate, --shard-count or --preload-rows (e.g. --granularity 1m,5m,15m,60m)');
  if (lists.length > 1) throw new UsageError(`sweep: only one setting can vary per sweep, got lists for ${lists.map((l) => `--${l.parameter}`).join(' and ')}`);
  const { parameter, key, raw } = lists[0]!;
  const values = String(raw).split(',').map((v) => v.trim());
  if (values.some((v) => v === '')) throw new UsageError(`--${parameter}: empty value in the list ${JSON.stringify(raw)}`);
  if (new Set(values).size !== values.length) throw new UsageError(`--${parameter}: a value appears twice in ${JSON.stringify(raw)}`);
  return { parameter, key, values };
}

export async function sweepCommand(args: Record<string, unknown>): Promise<number> {
  const plan = sweepPlan(args);
  // A granularity sweep is about rollups: default to the exactly-once strategy.
  const base = {
    ...args,
    ...(args['rollup'] === undefined ? { rollup: 'incremental' } : {}),
    // One seed for every point: the same rows and the same preload at each value.
    ...(args['seed'] === undefined ? { seed: String(randomInt(0, 2 ** 32 - 1)) } : {}),
  };
  // Validate every point before running any, listing every problem.
  const configs: RunConfig[] = [];
  const problems: string[] = [];
  for (const v of plan.values) {
    try {
      configs.push(await resolveConfig({ ...base, [plan.key]: v, name: `${String(args['name'] ?? 'sweep')}-${plan.parameter}-${v.replace(/[^A-Za-z0-9._-]/g, '_')}` }));
    } catch (err) {
      if (err instanceof UsageError) problems.push(...err.problems.map((p) => `${plan.parameter} ${v}: ${p}`));
      else throw err;
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  const first = configs[0]!;
  await checkWritableDir(first.resultsDir);
  const citusWorkers = args['citusWorkers'] === undefined ? undefined : parseCitusWorkers(args['citusWorkers']);
  const spec = runTargetSpec(first.url, citusWorkers, process.env);
  const throwaway = spec.kind !== 'url';
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  if (!throwaway && !first.reset) log('rtbench: note: without --reset each point adds to the same tables; later points see more data');

  if (args['capacity'] !== true) refuseCapacityFlags(args);
  const capacity = args['capacity'] === true ? configs.map((c) => capacitySettings(args, c)) : null;
  if (capacity && plan.parameter === 'rate') throw new UsageError('sweep --capacity: the search sets the rate itself; sweep --granularity or --shard-count');
  const guard = new SignalGuard(log);
  const sweepId = newRunId(`${String(args['name'] ?? 'sweep')}-${plan.parameter}${capacity ? '-capacity' : ''}`);
  const tmp = path.join(first.resultsDir, `.tmp-${sweepId}`);
  await mkdir(tmp, { recursive: true });
  let target: OpenTarget | undefined;
  const ui = await openUi(args['ui'], emptyModel(capacity ? 'capacity' : 'run', `rtbench sweep ${sweepId} (live)`), log);
  const nextStep = { n: 0 };
  try {
    target = await openTarget(spec, log);
    guard.track(target);
    if (capacity) {
      const caps: CapacitySweepRow[] = [];
      for (const [i, value] of plan.values.entries()) {
        const config: RunConfig = { ...configs[i]!, reset: throwaway || configs[i]!.reset };
        log(`rtbench: sweep ${plan.parameter} = ${value} (${i + 1} of ${plan.values.length}): capacity search`);
        const capacityId = `${plan.parameter}-${value.replace(/[^A-Za-z0-9._-]/g, '_')}`;
        ui?.hub.publish({ type: 'notice', text: `${plan.parameter} = ${value} (${i + 1} of ${plan.values.length})` });
        const { result } = await capacityOn(config, target, capacity[i]!, {
          log, guard, resultsDir: tmp, capacityId, ...(ui ? { ui: { session: ui, side: value, label: target.label, nextStep } } : {}),
        });
        caps.push({ value, capacityId, capacityHz: result.capacityHz, passHz: result.bracket[0], failHz: result.bracket[1], end: result.end ?? 'interrupted', binding: result.binding?.line ?? null, headline: result.headline });
        if (guard.abort.signal.aborted) break;
      }
      await writeFileAtomic(path.join(tmp, 'sweep.json'), JSON.stringify({ formatVersion: 1, sweepId, parameter: plan.parameter, values: plan.values, capacity: caps }, null, 2) + '\n');
      await writeFileAtomic(path.join(tmp, 'sweep.csv'), capacitySweepCsv(caps));
      const finalDir = path.join(first.resultsDir, sweepId);
      await rename(tmp, finalDir);
      const t = new Table({ head: [plan.parameter, 'capacity rows/s', 'bracket', 'end', 'binding limit'], style: { head: [], border: [] }, wordWrap: true, colWidths: [14, 12, 20, 15, 60] });
      const f = (v: number | null): string => (v === null ? '—' : Math.round(v).toLocaleString('en-US'));
      for (const c of caps) t.push([c.value, f(c.capacityHz), `[${f(c.passHz)}, ${f(c.failHz)}]`, c.end, c.binding ?? c.headline]);
      process.stdout.write(`${t.toString()}\n`);
      process.stdout.write(`results: ${path.relative(process.cwd(), finalDir) || finalDir}\n`);
      if (guard.abort.signal.aborted) return ExitCode.interrupted;
      return caps.every((c) => c.capacityHz !== null) ? ExitCode.ok : EXIT_THRESHOLD_FAILED;
    }
    const rows: SweepRow[] = [];
    // --preload-rows: how each panel's cost grows with history (src/sweep/scale.ts).
    const scalePoints: ScalePoint[] = [];
    for (const [i, value] of plan.values.entries()) {
      // Every point starts from the same state: same preload, same seed, empty tables.
      const config: RunConfig = { ...configs[i]!, reset: throwaway || configs[i]!.reset };
      log(`rtbench: sweep ${plan.parameter} = ${value} (${i + 1} of ${plan.values.length})`);
      ui?.hub.publish({ type: 'notice', text: `${plan.parameter} = ${value} (${i + 1} of ${plan.values.length})` });
      const { record } = await executeRun(config, target, { log, guard, resultsDir: tmp, ...(ui ? { page: { hub: ui.hub, step: i, side: value } } : {}) });
      rows.push(sweepRow(value, record.run.runId, record.summary));
      if (plan.parameter === 'preload-rows') scalePoints.push(scalePoint(config.dashboard.preloadRows, record.run.runId, record.summary, record.histograms));
      if (guard.abort.signal.aborted) break;
    }
    // One page: the sweep's charts and tables (and the scale sweep's); the live page's final model and report.html alike.
    const page = sweepPageModel(sweepId, plan.parameter, rows, scalePoints.length > 0
      ? { charts: scaleCharts(scalePoints), tables: [tableOf('scale-latency', 'How each panel\'s cost grows with history', scaleLatencyTable(scalePoints)), tableOf('scale-cost', 'What the history costs', scaleCostTable(scalePoints))] }
      : {});
    const md = sweepMarkdown(plan.parameter, rows) + (scalePoints.length > 0 ? `\n${scaleMarkdown(scalePoints)}` : '');
    await writeFileAtomic(path.join(tmp, 'sweep.csv'), sweepCsv(rows));
    await writeFileAtomic(path.join(tmp, 'sweep.json'), JSON.stringify({ formatVersion: 1, sweepId, parameter: plan.parameter, values: plan.values, rows, ...(scalePoints.length > 0 ? { scale: scalePoints } : {}) }, null, 2) + '\n');
    await writeFileAtomic(path.join(tmp, 'report.md'), md);
    await writeFileAtomic(path.join(tmp, 'report.html'), pageHtml(page));
    const finalDir = path.join(first.resultsDir, sweepId);
    await rename(tmp, finalDir);
    ui?.hub.publish({ type: 'final', model: page });
    const { head, body } = sweepTableCells(rows);
    const t = new Table({ head, style: { head: [], border: [] } });
    for (const r of body) t.push(r);
    process.stdout.write(`${t.toString()}\n`);
    for (const tab of scalePoints.length > 0 ? [scaleLatencyTable(scalePoints), scaleCostTable(scalePoints)] : []) {
      const st = new Table({ head: tab.head, style: { head: [], border: [] } });
      for (const r of tab.body) st.push(r);
      process.stdout.write(`${st.toString()}\n`);
    }
    process.stdout.write(`results: ${path.relative(process.cwd(), finalDir) || finalDir}\n`);
    if (guard.abort.signal.aborted) return ExitCode.interrupted;
    return rows.every((r) => r.valid) ? ExitCode.ok : ExitCode.invalidRun;
  } finally {
    if (target) await guard.release(target);
    await rm(tmp, { recursive: true, force: true });
    guard.dispose();
    await ui?.close();
  }
}

/** A table of the scale sweep as a page table. */
function tableOf(id: string, title: string, t: { head: string[]; body: string[][] }): ReportTable {
  return { id, title, head: t.head, rows: t.body };
}
