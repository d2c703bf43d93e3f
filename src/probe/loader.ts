/**
 * Load the probe files of a directory (default sql/probes): every `*.sql` is a
 * probe, so adding a probe is adding one file. All bad files are reported
 * together, one line per file.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { sqlPath } from '../paths.js';
import { checkPairs, parseProbeFile, type ProbeDef } from './definition.js';

/**
 * Read and validate every `*.sql` in `dir`, sorted by file name.
 * @throws UsageError listing one problem line per bad file (`<path>: <problems>`).
 */
export async function loadProbes(dir: string = sqlPath('probes')): Promise<ProbeDef[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile() && d.name.endsWith('.sql')).map((d) => d.name).sort();
  } catch (err) {
    throw new UsageError(`probe directory ${dir}: ${(err as Error).message}`);
  }
  if (names.length === 0) throw new UsageError(`probe directory ${dir} holds no *.sql probe files`);

  const problems = new Map<string, string[]>();
  const probes: ProbeDef[] = [];
  for (const name of names) {
    const parsed = parseProbeFile(name, await readFile(path.join(dir, name), 'utf8'));
    if (parsed.status === 'ok') probes.push(parsed.probe);
    else problems.set(name, [...parsed.problems]);
  }
  const invalid = new Set([...problems.keys()].map((f) => f.replace(/\.sql$/, '')));
  for (const [probe, list] of checkPairs(probes, invalid)) {
    const file = probes.find((p) => p.name === probe)?.file ?? `${probe}.sql`;
    problems.set(file, [...(problems.get(file) ?? []), ...list]);
  }
  if (problems.size > 0) {
    throw new UsageError([...problems].map(([file, list]) => `probe file ${path.join(dir, file)}: ${list.join('; ')}`));
  }
  return probes;
}
