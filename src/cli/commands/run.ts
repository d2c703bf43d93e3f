/**
 * `rtbench run`: resolve settings (scenario + flags), pick the target (URL,
 * PG* variables or a throwaway local cluster), run, write results atomically,
 * print the summary. Returns the exit code.
 */
import os from 'node:os';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { autoInstance } from '../../config/instance-auto.js';
import { validateConfig, CONFIG_KEYS } from '../../config/validate.js';
import type { RunConfig } from '../../config/types.js';
import { ExitCode, UsageError } from '../../errors.js';
import { checkWritableDir } from '../../results/atomic.js';
import { summaryTable } from '../../report/console.js';
import { dashboardTable } from '../../report/dashboard-table.js';
import { serverBlock } from '../../report/server-block.js';
import { readScenario } from '../scenario.js';
import { SignalGuard, executeRun, runExitCode } from '../run-session.js';
import { openTarget, runTargetSpec, type OpenTarget } from '../target-session.js';
import { emptyModel } from '../../report/page-model.js';
import { runPageModel } from '../../report/run-page.js';
import { openUi } from '../ui-session.js';
import { FaultObserver } from '../../runner/fault-observer.js';
import { localServerAt, parseFault, type LocalServer } from '../../targets/faults.js';
import { findPgBinDir } from '../../targets/pg-process.js';
import { connect } from '../../targets/postgres.js';
import { parseDurationMs } from '../../config/duration.js';
import type { RunObserver } from '../../runner/observer.js';

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Build the RunConfig from a scenario file and flags, naming where each problem came from.
 * `env` is read for `--instance auto` only (Kubernetes Indexed Job variables).
 */
export async function resolveConfig(args: Record<string, unknown>, env: Readonly<Record<string, string | undefined>> = process.env): Promise<RunConfig> {
  const scenarioFile = typeof args['scenario'] === 'string' ? args['scenario'] : undefined;
  const scenario = scenarioFile ? await readScenario(scenarioFile) : {};
  const fromFlags: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (args[key] !== undefined) fromFlags[key] = args[key];
  }
  if (args['probeCadence'] !== undefined) fromFlags['probeCadence'] = args['probeCadence'];
  const raw: Record<string, unknown> = { ...scenario, ...fromFlags };
  if (raw['instance'] === 'auto') {
    const auto = autoInstance(env);
    if ('problem' in auto) throw new UsageError(`${'instance' in fromFlags ? '--' : `scenario ${scenarioFile ?? ''}: `}${auto.problem}`);
    raw['instance'] = auto.value;
  }
  const { config, problems } = validateConfig(raw, { seed: randomInt(0, 2 ** 32 - 1), resultsDir: 'results', cores: os.availableParallelism() });
  if (!config) {
    throw new UsageError(problems.map((p) => {
      const key = p.slice(0, p.indexOf(':'));
      return key in fromFlags ? `--${kebab(key)}${p.slice(key.length)}` : `scenario ${scenarioFile ?? ''}: ${p}`;
    }));
  }
  return config;
}

export async function runCommand(args: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(args);
  const faultPlan = faultPlanOf(args);
  await checkWritableDir(config.resultsDir);
  const citusWorkers = args['citusWorkers'] === undefined ? undefined : parseCitusWorkers(args['citusWorkers']);
  const spec = runTargetSpec(config.url, citusWorkers, process.env);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const guard = new SignalGuard(log);
  let target: OpenTarget | undefined;
  const ui = await openUi(args['ui'], emptyModel('run', `rtbench run ${config.name} (live)`), log);
  try {
    if (spec.kind === 'embedded') log('rtbench: no --url and no PG* variables');
    target = await openTarget(spec, log);
    guard.track(target, config.keep);
    if (guard.abort.signal.aborted) return ExitCode.interrupted;
    ui?.hub.publish({ type: 'notice', text: `target ${target.label}` });
    const observers: RunObserver[] = [];
    if (faultPlan) {
      const servers = target.servers;
      observers.push(new FaultObserver({ ...faultPlan, servers: async (session) => servers ?? (await serverBehindUrl(session.url)) }));
      if (faultPlan.fault) log(`rtbench: fault ${String(args['fault'])} planned`);
      if (faultPlan.command !== undefined) log(`rtbench: --fault-cmd planned at ${faultPlan.commandAtMs === null ? 'the middle of the measure window' : `${(faultPlan.commandAtMs / 1000).toFixed(1)} s`}`);
    }
    const { record, dir } = await executeRun(config, target, {
      log, guard, resultsDir: config.resultsDir, observers,
      ...(ui ? { page: { hub: ui.hub, step: 0 } } : {}),
    });
    ui?.hub.publish({ type: 'final', model: runPageModel(record) });
    process.stdout.write(summaryTable(record.summary) + '\n');
    const dash = dashboardTable(record.summary);
    if (dash) process.stdout.write(dash + '\n');
    const server = serverBlock(record.summary);
    if (server) process.stdout.write(server + '\n');
    for (const n of record.summary.notes) process.stdout.write(`note: ${n}\n`);
    process.stdout.write(`results: ${path.relative(process.cwd(), dir) || dir}\n`);
    process.stdout.write(`report: ${path.join(path.relative(process.cwd(), dir) || dir, 'report.html')}\n`);
    if (config.keep) for (const l of target.keptLines()) process.stdout.write(`${l}\n`);
    return runExitCode(record, guard.abort.signal.aborted);
  } finally {
    if (target) await guard.release(target, config.keep);
    guard.dispose();
    await ui?.close();
  }
}

/** --citus-workers: 1..16. */
export function parseCitusWorkers(v: unknown): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 16) {
    throw new UsageError(`--citus-workers: must be a whole number from 1 to 16, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** --fault / --fault-cmd / --fault-at, checked before anything starts; undefined when none is given. */
function faultPlanOf(args: Record<string, unknown>): { fault?: ReturnType<typeof parseFault>; command?: string; commandAtMs: number | null } | undefined {
  const fault = typeof args['fault'] === 'string' ? parseFault(args['fault']) : undefined;
  const command = typeof args['faultCmd'] === 'string' ? args['faultCmd'] : undefined;
  if (command !== undefined && command.trim() === '') throw new UsageError('--fault-cmd: give the command to run');
  let commandAtMs: number | null = null;
  if (args['faultAt'] !== undefined) {
    if (command === undefined) throw new UsageError('--fault-at times --fault-cmd; for --fault write KIND@T (e.g. restart@10s)');
    const t = parseDurationMs(args['faultAt']);
    if (t === undefined) throw new UsageError(`--fault-at ${String(args['faultAt'])}: expected a duration such as 10s`);
    commandAtMs = t;
  }
  if (!fault && command === undefined) return undefined;
  return { ...(fault ? { fault } : {}), ...(command !== undefined ? { command } : {}), commandAtMs };
}

/** A --url server whose data directory is on this host (rtbench db's, or the user's own): the one a --fault acts on. */
async function serverBehindUrl(url: string): Promise<LocalServer[]> {
  const client = await connect(url, 'rtbench-setup');
  try {
    const r = await client.query<{ d: string }>(`SELECT current_setting('data_directory') AS d`);
    const dir = r.rows[0]?.d;
    const server = dir ? localServerAt(dir, findPgBinDir()) : null;
    return server ? [server] : [];
  } finally {
    await client.end().catch(() => undefined);
  }
}
