/**
 * Plans of the dashboard: each panel (probe × window) explained once with the
 * run's parameters, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`, after the
 * measure phase. The JSON is kept as plans/<probe>-<window>.json.
 */
import type pg from 'pg';
import { siteSlice, type RunConfig } from '../config/types.js';
import type { PlanShape } from '../results/run-record.js';
import { DEFAULT_WINDOWS, loadProbes, renderProbe, selectRunnable } from '../probe/index.js';
import { probeParams } from '../probe/definition.js';
import { rollupTableFor } from '../probe/windows.js';
import { maskSecrets } from '../targets/url.js';
import { planShape } from './plans.js';
import { PhaseProgress, type OnProgress } from '../schedule/progress.js';

/** One panel to explain. */
export interface PanelTask {
  readonly probe: string;
  /** Window label ('5m', '1h', '1d'). */
  readonly window: string;
  /** The rendered SQL (the rollup table filled in). */
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * The run's panels: its runnable probes × the default windows, with the
 * parameters the viewers bind (the window; a tenant panel's site is the
 * first site of this instance's slice).
 */
export async function dashboardPanels(client: pg.ClientBase, config: RunConfig): Promise<PanelTask[]> {
  if (!config.dashboard.probes) return [];
  const table = rollupTableFor(`${config.dashboard.granularityMin}m` as '1m' | '5m' | '15m' | '60m');
  const { runnable } = await selectRunnable(client, await loadProbes(), table);
  const site = siteSlice(config).offset;
  const out: PanelTask[] = [];
  for (const p of runnable) {
    const sql = renderProbe(p, table);
    for (const w of DEFAULT_WINDOWS) out.push({ probe: p.name, window: w.label, sql, params: probeParams(p, w.interval, site) });
  }
  return out;
}

/** File name of a panel's plan in the run dir. */
export const planFile = (probe: string, window: string): string => `plans/${probe}-${window}.json`;

/**
 * Explain every task; a panel the server refuses costs one line and the others go on.
 * Progress goes to `onProgress` as the phase `plans: EXPLAIN ANALYZE`, in panels.
 */
export async function explainPanels(
  client: pg.ClientBase,
  tasks: readonly PanelTask[],
  onUnavailable: (line: string) => void,
  onProgress?: OnProgress,
): Promise<{ shapes: PlanShape[]; files: Record<string, string> }> {
  const shapes: PlanShape[] = [];
  const files: Record<string, string> = {};
  if (tasks.length === 0) return { shapes, files };
  const progress = new PhaseProgress({ phase: 'plans: EXPLAIN ANALYZE', unit: 'panels', total: tasks.length, onProgress, nowMs: () => performance.now() });
  // A raw panel over a day on Citus runs for seconds: tick meanwhile so the phase still reports.
  const beat = setInterval(() => progress.tick(), 1000);
  beat.unref();
  try {
    await explainEach(client, tasks, onUnavailable, shapes, files, progress);
  } finally {
    clearInterval(beat);
    progress.finish();
  }
  return { shapes, files };
}

async function explainEach(
  client: pg.ClientBase, tasks: readonly PanelTask[], onUnavailable: (line: string) => void,
  shapes: PlanShape[], files: Record<string, string>, progress: PhaseProgress,
): Promise<void> {
  await client.query(`SET statement_timeout = '60s'`).catch(() => undefined);
  for (const t of tasks) {
    const file = planFile(t.probe, t.window);
    try {
      const r = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${t.sql}`, [...t.params]);
      const plan = r.rows[0]?.['QUERY PLAN'];
      files[file] = `${JSON.stringify(plan, null, 2)}\n`;
      shapes.push(planShape(plan, t.probe, t.window, file));
    } catch (err) {
      onUnavailable(`plan of ${t.probe} ${t.window} not explained: ${maskSecrets(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
    }
    progress.advance();
  }
  await client.query(`SET statement_timeout = '10s'`).catch(() => undefined);
}
