/**
 * `rtbench db start|stop|status [--citus-workers N]`: a long-lived local
 * PostgreSQL (or Citus coordinator + N workers) for repeated runs. `start`
 * prints the URL on stdout and nothing else there.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ExitCode } from '../../errors.js';
import { writeFileAtomic } from '../../results/atomic.js';
import { startCitusCluster } from '../../targets/citus-cluster.js';
import { persistentDbStatus, startPersistentDb, stateDir, stopPersistentDb } from '../../targets/db-state.js';
import { isClusterRunning, stopClusterAt } from '../../targets/local-cluster.js';
import { parseCitusWorkers } from './run.js';

interface CitusState {
  readonly url: string;
  readonly workers: number;
  /** Parent directory of every node. */
  readonly rootDir: string;
  /** Coordinator first. */
  readonly nodes: Array<{ rootDir: string; dataDir: string; port: number }>;
  readonly startedAt: string;
}

const citusStateFile = (): string => path.join(stateDir(), 'citus.json');

async function readCitusState(): Promise<CitusState | undefined> {
  try {
    return JSON.parse(await fs.readFile(citusStateFile(), 'utf8')) as CitusState;
  } catch {
    return undefined;
  }
}

async function citusRunning(s: CitusState): Promise<boolean> {
  const first = s.nodes[0];
  return first !== undefined && (await isClusterRunning(first.dataDir).catch(() => false));
}

export async function dbCommand(action: string, citusWorkersArg?: unknown): Promise<number> {
  const log = (l: string): void => void process.stderr.write(`${l}\n`);
  const citusWorkers = citusWorkersArg === undefined ? undefined : parseCitusWorkers(citusWorkersArg);
  switch (action) {
    case 'start': {
      if (citusWorkers !== undefined) {
        const existing = await readCitusState();
        if (existing && (await citusRunning(existing))) {
          log('rtbench: local Citus cluster already running');
          process.stdout.write(`${existing.url}\n`);
          return ExitCode.ok;
        }
        await fs.mkdir(stateDir(), { recursive: true });
        const c = await startCitusCluster({ workers: citusWorkers, log: (l) => log(`  ${l}`) });
        const state: CitusState = {
          url: c.url,
          workers: citusWorkers,
          rootDir: c.rootDir,
          nodes: [c.coordinator, ...c.workers].map((n) => ({ rootDir: n.rootDir, dataDir: n.dataDir, port: n.port })),
          startedAt: new Date().toISOString(),
        };
        await writeFileAtomic(citusStateFile(), JSON.stringify(state, null, 2) + '\n');
        log(`rtbench: local Citus coordinator on port ${c.coordinator.port} with ${citusWorkers} workers`);
        process.stdout.write(`${c.url}\n`);
        return ExitCode.ok;
      }
      const db = await startPersistentDb((l) => log(`  ${l}`));
      log(db.reused ? 'rtbench: local PostgreSQL already running' : `rtbench: local PostgreSQL started on port ${db.port}`);
      process.stdout.write(`${db.url}\n`);
      return ExitCode.ok;
    }
    case 'stop': {
      const stopped = await stopPersistentDb();
      const citus = await readCitusState();
      if (citus) {
        for (const n of [...citus.nodes].reverse()) await stopClusterAt(n.rootDir);
        if (citus.rootDir) await fs.rm(citus.rootDir, { recursive: true, force: true });
        await fs.rm(citusStateFile(), { force: true });
      }
      log(stopped || citus ? 'rtbench: local databases stopped and removed' : 'rtbench: no local database was running');
      return ExitCode.ok;
    }
    default: {
      const s = await persistentDbStatus();
      const citus = await readCitusState();
      const citusUp = citus ? await citusRunning(citus) : false;
      if (s.running) process.stdout.write(`running ${s.url}\n`);
      if (citus && citusUp) process.stdout.write(`running citus (${citus.workers} workers) ${citus.url}\n`);
      if (!s.running && !citusUp) process.stdout.write('not running\n');
      return s.running || citusUp ? ExitCode.ok : 3;
    }
  }
}
