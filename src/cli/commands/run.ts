/**
 * `rtbench run`: resolve settings (scenario + flags), pick the target (URL,
 * PG* variables or a throwaway local cluster), run, write results atomically,
 * print the summary. Returns the exit code.
 */
import { randomBytes, randomInt } from 'node:crypto';
import path from 'node:path';
import { validateConfig, CONFIG_KEYS } from '../../config/validate.js';
import type { RunConfig } from '../../config/types.js';
import { ExitCode, UsageError } from '../../errors.js';
import { checkWritableDir } from '../../results/atomic.js';
import { writeRunDir } from '../../results/write.js';
import { summaryTable } from '../../report/console.js';
import { dashboardTable } from '../../report/dashboard-table.js';
import { progressLine } from '../../report/progress.js';
import { runIngest } from '../../runner/ingest.js';
import { startLocalCluster, type LocalCluster } from '../../targets/local-cluster.js';
import { maskUrl, validateUrl } from '../../targets/url.js';
import { readScenario } from '../scenario.js';
import { resolveTarget } from '../target.js';

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Build the RunConfig from a scenario file and flags, naming where each problem came from. */
export async function resolveConfig(args: Record<string, unknown>): Promise<RunConfig> {
  const scenarioFile = typeof args['scenario'] === 'string' ? args['scenario'] : undefined;
  const scenario = scenarioFile ? await readScenario(scenarioFile) : {};
  const fromFlags: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    if (args[key] !== undefined) fromFlags[key] = args[key];
  }
  const raw = { ...scenario, ...fromFlags };
  const { config, problems } = validateConfig(raw, { seed: randomInt(0, 2 ** 32 - 1), resultsDir: 'results' });
  if (!config) {
    throw new UsageError(problems.map((p) => {
      const key = p.slice(0, p.indexOf(':'));
      return key in fromFlags ? `--${kebab(key)}${p.slice(key.length)}` : `scenario ${scenarioFile ?? ''}: ${p}`;
    }));
  }
  return config;
}

function newRunId(name: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${name}-${randomBytes(2).toString('hex')}`;
}

export async function runCommand(args: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(args);
  await checkWritableDir(config.resultsDir);
  if (config.url !== undefined) validateUrl(config.url);
  const target = resolveTarget(config.url, process.env);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  let cluster: LocalCluster | undefined;
  const abort = new AbortController();
  let signals = 0;
  let loadStarted = false;
  // Whatever ends the process (an uncaught error, a closed terminal), the throwaway cluster goes with it.
  const onExit = (): void => {
    if (cluster && !config.keep) cluster.stopSync();
  };
  process.on('exit', onExit);
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1 && loadStarted) {
      log(`rtbench: ${sig}: stopping the load; results of the partial run will be written (again to quit at once)`);
      abort.abort();
      return;
    }
    log(`rtbench: ${sig}: quitting${loadStarted ? '' : ' (the load had not started)'}`);
    const done = cluster ? cluster.stop() : Promise.resolve();
    void done.finally(() => process.exit(ExitCode.interrupted));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    let url: string;
    if (target.kind === 'embedded') {
      log('rtbench: no --url and no PG* variables: starting a throwaway local PostgreSQL');
      cluster = await startLocalCluster({ log: (l) => log(`  ${l}`) });
      url = cluster.url;
      log(`rtbench: local PostgreSQL on port ${cluster.port} (${cluster.pgBinDir})`);
      if (abort.signal.aborted) return ExitCode.interrupted;
    } else {
      url = target.url;
    }

    const runId = newRunId(config.name);
    const rateText = config.rateHz === 'max' ? 'closed loop' : `${config.rateHz} rows/s`;
    let lastProgress = 0;
    const record = await runIngest({
      config,
      url,
      targetKind: target.kind === 'embedded' ? 'embedded' : 'url',
      runId,
      signal: abort.signal,
      events: {
        onNotice: (l) => log(`rtbench: ${l}`),
        // Printed once connected, so a connection failure stays a single line.
        onReady: (server) => {
          loadStarted = true;
          if (target.kind !== 'embedded') log(`rtbench: target ${target.description}: ${server.version.split(' on ')[0] ?? server.version}`);
          log(`rtbench: run ${runId}: ${config.workers} workers x ${config.connections} connections, ${rateText}, ` +
            `mode ${config.mode}${config.mode === 'single' ? '' : ` batch ${config.batch}`}, statement ${config.statement}, seed ${config.seed}`);
        },
        onInterval: (row) => {
          if (config.progressS > 0 && row.endMs - lastProgress >= config.progressS * 1000 - 1) {
            lastProgress = row.endMs;
            log(progressLine(row, config.warmupMs, config.workers * config.connections));
          }
        },
      },
    });
    const dir = await writeRunDir(config.resultsDir, record);
    process.stdout.write(summaryTable(record.summary) + '\n');
    const dash = dashboardTable(record.summary);
    if (dash) process.stdout.write(dash + '\n');
    for (const n of record.summary.notes) process.stdout.write(`note: ${n}\n`);
    process.stdout.write(`results: ${path.relative(process.cwd(), dir) || dir}\n`);
    if (config.keep && cluster) {
      process.stdout.write(`local PostgreSQL left running: ${maskUrl(cluster.url)}\n`);
      process.stdout.write(`stop it with: pg_ctl -D ${cluster.dataDir} stop && rm -rf ${cluster.rootDir}\n`);
    }
    if (abort.signal.aborted) return ExitCode.interrupted;
    if (record.summary.ingest.errors > 0) return ExitCode.runErrors;
    if (!record.summary.valid) return ExitCode.invalidRun;
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (cluster && !config.keep) await cluster.stop();
    process.off('exit', onExit);
  }
}
