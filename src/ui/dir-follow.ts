/**
 * `rtbench ui DIR`: the page of a result dir. A finished dir (run or capacity)
 * is its report.html's embedded model; a dir still being streamed (run.json
 * `running`: a run, or a capacity search's step dirs) is followed: each
 * second the new complete lines of its timeseries.csv become interval events,
 * and when its report.html appears the page gets it as the final model.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readTimeseriesCsv } from '../results/timeseries-read.js';
import type { PageInterval, PageModel } from '../report/page-model.js';
import { maskSecrets } from '../targets/url.js';
import type { PageHub } from './page-hub.js';

/** The model embedded in a report.html, or null (an old report, a failed render). */
export function modelFromReport(html: string): PageModel | null {
  const m = /<script type="application\/json" id="rtbench-model">([^<]*)<\/script>/.exec(html);
  if (!m) return null;
  try {
    return JSON.parse(m[1]!) as PageModel;
  } catch {
    return null;
  }
}

const num = (v: string | undefined): number => (v === undefined || v === '' ? 0 : Number(v));

/** One timeseries.csv record as the page's interval. */
export function intervalFromCsv(r: Record<string, string>, step: number): PageInterval {
  return {
    step, t: num(r['end_s']), warmup: r['phase'] === 'warmup', targetHz: r['target_rows_per_s'] ? Number(r['target_rows_per_s']) : null,
    achievedHz: num(r['achieved_rows_per_s']), ops: num(r['ops']), p50Us: num(r['response_p50_us']), p99Us: num(r['response_p99_us']),
    serviceP99Us: num(r['service_p99_us']), lagP99Us: num(r['lag_p99_us']), errors: num(r['errors']), late: num(r['late']), dropped: num(r['dropped']),
  };
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/** Follows a result dir into a hub. */
export class DirFollower {
  private readonly seen = new Map<string, number>();
  private readonly steps: string[] = [];
  done = false;

  constructor(private readonly dir: string, private readonly hub: PageHub) {}

  /** The dirs that stream intervals: DIR itself, else its step dirs in name order. */
  private async streamDirs(): Promise<string[]> {
    if (await readText(path.join(this.dir, 'timeseries.csv')) !== null) return [this.dir];
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => path.join(this.dir, e.name)).sort();
  }

  /** One look at the dir: publish what is new. */
  async poll(): Promise<void> {
    if (this.done) return;
    for (const d of await this.streamDirs()) {
      const csv = await readText(path.join(d, 'timeseries.csv'));
      if (csv === null) continue;
      // Only complete lines: the writer may be in the middle of one.
      const complete = csv.slice(0, csv.lastIndexOf('\n') + 1);
      let rows: Array<Record<string, string>>;
      try {
        rows = readTimeseriesCsv(complete, ['end_s', 'achieved_rows_per_s']);
      } catch {
        continue;
      }
      let step = this.steps.indexOf(d);
      if (step < 0) {
        step = this.steps.push(d) - 1;
        const run = JSON.parse(await readText(path.join(d, 'run.json')) ?? '{}') as { config?: { rateHz?: unknown; warmupMs?: unknown; durationMs?: unknown } };
        const c = run.config ?? {};
        this.hub.publish({
          type: 'step',
          step: { index: step, runId: maskSecrets(path.basename(d)), side: '', rateHz: typeof c.rateHz === 'number' ? c.rateHz : null,
            warmupS: typeof c.warmupMs === 'number' ? c.warmupMs / 1000 : 0, durationS: typeof c.durationMs === 'number' ? c.durationMs / 1000 : 0 },
        });
      }
      const from = this.seen.get(d) ?? 0;
      for (const r of rows.slice(from)) this.hub.publish({ type: 'interval', row: intervalFromCsv(r, step) });
      this.seen.set(d, rows.length);
    }
    const run = JSON.parse(await readText(path.join(this.dir, 'run.json')) ?? '{}') as { status?: string };
    const report = await readText(path.join(this.dir, 'report.html'));
    if (report !== null && run.status !== 'running') {
      const model = modelFromReport(report);
      if (model) this.hub.publish({ type: 'final', model });
      this.done = true;
    }
  }
}

/** True when `dir` is a directory. */
export async function isDir(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}
