/**
 * Where a record comes from: the git revision and branch of rtbench, the
 * versions of Node and the libraries that measure, and the machine. Computed
 * once per process (git is asked once, not at every step of a search).
 */
import os from 'node:os';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { PACKAGE_ROOT, RTBENCH_VERSION } from '../paths.js';
import type { RunInfo } from '../results/run-record.js';

/** The parts of a RunInfo that do not depend on the run. */
export type Provenance = Pick<RunInfo, 'gitRevision' | 'gitBranch' | 'versions' | 'machine'>;

const require = createRequire(import.meta.url);
const versionOf = (pkg: string): string => {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

function gitOutput(args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd: PACKAGE_ROOT, timeout: 5000 }, (err, out) => {
      resolve(err ? null : out.trim() || null);
    });
  });
}

async function compute(): Promise<Provenance> {
  const [gitRevision, branch] = await Promise.all([gitOutput(['rev-parse', 'HEAD']), gitOutput(['rev-parse', '--abbrev-ref', 'HEAD'])]);
  const cpus = os.cpus();
  return {
    gitRevision,
    // A detached HEAD has no branch.
    gitBranch: branch === 'HEAD' ? null : branch,
    versions: { rtbench: RTBENCH_VERSION, node: process.version, pg: versionOf('pg'), hdrHistogramJs: versionOf('hdr-histogram-js') },
    machine: {
      hostname: os.hostname(),
      platform: os.platform(),
      release: os.release(),
      arch: os.arch(),
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryBytes: os.totalmem(),
    },
  };
}

let cached: Promise<Provenance> | null = null;

/** This process's provenance (computed on first use, then shared). */
export function provenance(): Promise<Provenance> {
  cached ??= compute();
  return cached;
}
