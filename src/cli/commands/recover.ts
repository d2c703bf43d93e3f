/**
 * `rtbench recover DIR [--url URL]`: rebuild a run dir whose load generator died while results
 * streamed into it (run.json `status: "running"`, its process gone). The summary, histograms
 * and reports come from the streamed intervals; the run is marked invalid with the reason. On a
 * `--url` target (the URL from --url or the PG* variables) the rows now in the table are held
 * against the rows acknowledged up to the last durable interval. Exit 0 when recovered, 2 when
 * the dir is not one to recover (finished, or still owned by a live process).
 */
import path from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { summaryTable } from '../../report/console.js';
import { recoverRunDir, type RecoverOptions } from '../../results/recover.js';
import { connect, countRows } from '../../targets/postgres.js';
import { maskUrl } from '../../targets/url.js';
import { readFile } from 'node:fs/promises';
import { runTargetSpec } from '../target-session.js';

export async function recoverCommand(args: Record<string, unknown>): Promise<number> {
  const dir = String(args['dir']);
  const urlArg = typeof args['url'] === 'string' ? args['url'] : undefined;
  let recordedTarget: { kind?: string; url?: string } | undefined;
  try {
    recordedTarget = (JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')) as { target?: { kind?: string; url?: string } }).target;
  } catch {
    recordedTarget = undefined; // recoverRunDir names the problem
  }
  const opts: { -readonly [K in keyof RecoverOptions]: RecoverOptions[K] } = {};
  if (recordedTarget?.kind === 'url') {
    const spec = runTargetSpec(urlArg, undefined, process.env);
    if (spec.kind !== 'url') {
      opts.rowsNote = 'no --url given (rtbench recover DIR --url URL counts them)';
    } else {
      if (recordedTarget.url !== undefined && maskUrl(spec.url) !== recordedTarget.url) {
        throw new UsageError(`--url ${maskUrl(spec.url)}: the run wrote to ${recordedTarget.url}; give that target`);
      }
      const url = spec.url;
      opts.countRows = async (sites) => {
        const c = await connect(url, 'rtbench-recover');
        try {
          return await countRows(c, sites);
        } finally {
          await c.end().catch(() => undefined);
        }
      };
    }
  } else if (urlArg !== undefined) {
    throw new UsageError(`--url: the run's target was a throwaway local cluster, gone with it; nothing to count there`);
  } else {
    opts.rowsNote = 'its throwaway database is gone';
  }
  const { record, line } = await recoverRunDir(dir, opts);
  process.stderr.write(`rtbench: ${line}\n`);
  process.stdout.write(summaryTable(record.summary) + '\n');
  for (const n of record.summary.notes) process.stdout.write(`note: ${n}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), dir) || dir}\n`);
  return ExitCode.ok;
}
