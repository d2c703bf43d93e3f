/**
 * `rtbench ui DIR [--ui [HOST:]PORT]`: serve the page of a result dir, a
 * finished one (its report.html's model) or one still being written by a
 * running `rtbench run` or `capacity` (followed each second), until Ctrl-C.
 */
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { emptyModel } from '../../report/page-model.js';
import { DirFollower, isDir, modelFromReport } from '../../ui/dir-follow.js';
import { maskSecrets } from '../../targets/url.js';
import { openUi } from '../ui-session.js';
import { readFile } from 'node:fs/promises';

const POLL_MS = 1000;

export async function uiCommand(dir: string, listen: unknown): Promise<number> {
  if (!(await isDir(dir))) throw new UsageError(`${dir}: not a result directory`);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const report = await readFile(path.join(dir, 'report.html'), 'utf8').catch(() => null);
  const running = await readFile(path.join(dir, 'run.json'), 'utf8').then((t) => (JSON.parse(t) as { status?: string }).status === 'running').catch(() => false);
  const finished = report !== null && !running ? modelFromReport(report) : null;
  if (report !== null && !running && !finished) throw new UsageError(`${dir}: its report.html is from an older rtbench (no page model); open it directly`);
  // A search's dir, or a two-target search's (its sides a/ and b/ each a search's dir).
  const has = (file: string): Promise<boolean> => readFile(file, 'utf8').then(() => true, () => false);
  const capacity = (await has(path.join(dir, 'capacity.json'))) || (await has(path.join(dir, 'a', 'capacity.json')));
  const initial = finished ?? emptyModel(capacity ? 'capacity' : 'run', `rtbench ${maskSecrets(path.basename(path.resolve(dir)))} (following)`);
  const ui = await openUi(listen ?? '0', initial, log);
  if (!ui) return 0;
  const follower = finished ? null : new DirFollower(dir, ui.hub);
  const timer = follower ? setInterval(() => void follower.poll().catch((e: unknown) => log(`rtbench: ui: ${maskSecrets(e instanceof Error ? e.message : String(e))}`)), POLL_MS) : null;
  await follower?.poll();
  log('rtbench: serving until Ctrl-C');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (timer) clearInterval(timer);
  await ui.close();
  return 0;
}
