/**
 * `rtbench ui DIR`: the page of a result dir. A finished dir (run or capacity)
 * is its report.html's embedded model; a dir still being streamed (run.json
 * `running`: a run, or a capacity search's step dirs) is followed: each
 * second the new complete lines of its page-events.jsonl (or, from an older
 * rtbench, its timeseries.csv) become the page's events, and when its
 * report.html appears the page gets it as the final model.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readTimeseriesCsv } from '../results/timeseries-read.js';
import type { PageEvent, PageInterval, PageModel, PageSink } from '../report/page-model.js';
import { sideOf, trialOf } from '../report/capacity-page.js';
import type { CapacityResult } from '../capacity/result.js';
import { PAGE_EVENTS_FILE } from '../results/page-events.js';
import { maskSecrets } from '../targets/url.js';

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

/** An event renumbered as step `step` of the follower's page (a dir's file numbers its own steps); `side`: a two-target search's 'a' or 'b'. */
export function withStep(ev: PageEvent, step: number, side?: string): PageEvent {
  switch (ev.type) {
    case 'step': return { ...ev, step: { ...ev.step, index: step, ...(side !== undefined ? { side } : {}) } };
    case 'phase': case 'panels': return { ...ev, step };
    case 'interval': return { ...ev, row: { ...ev.row, step } };
    case 'server': return { ...ev, row: { ...ev.row, step } };
    case 'freshness': return { ...ev, points: ev.points.map((p) => ({ ...p, step })) };
    default: return ev;
  }
}

/**
 * The complete lines of `file` after byte `offset`, parsed (a line that is not
 * an event is skipped), and the offset after the last complete line: a partial
 * last line (the writer in the middle of it, or a crash) is left for later.
 */
export async function readEventLines(file: string, offset: number): Promise<{ events: PageEvent[]; offset: number } | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = (await fh.stat()).size;
    if (size <= offset) return { events: [], offset };
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    const end = buf.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
    const events: PageEvent[] = [];
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (line === '') continue;
      try {
        const ev = JSON.parse(line) as PageEvent;
        if (ev && typeof ev === 'object' && typeof ev.type === 'string' && ev.type !== 'final' && ev.type !== 'history') events.push(ev);
      } catch {
        // Not an event (a torn line after a crash, followed by a restart's): skipped.
      }
    }
    return { events, offset: offset + end };
  } finally {
    await fh.close();
  }
}

/** How a step dir is read: its page events (this rtbench), or only its timeseries.csv (a dir of an older one). */
interface Followed {
  readonly step: number;
  mode: 'events' | 'csv' | null;
  /** Bytes of page-events.jsonl or rows of timeseries.csv taken. */
  taken: number;
}

/** Whether `file` exists: a stat, not a read (the layout is looked at every second, a day's timeseries.csv is megabytes). */
async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

/**
 * Follows a result dir into a hub: each step dir's page-events.jsonl (every
 * event the live page got: intervals, panels, freshness, the server's
 * seconds, phases and progress) or, in a dir written by an older rtbench, its
 * timeseries.csv; a capacity search's trials and bracket from its
 * capacity.json as it is rewritten after each trial.
 */
export class DirFollower {
  private readonly followed = new Map<string, Followed>();
  /** Per capacity.json: its text last read and the trials sent. */
  private readonly searches = new Map<string, { text: string; trials: number }>();
  done = false;

  constructor(private readonly dir: string, private readonly hub: PageSink) {}

  /**
   * The dirs that stream intervals, with their side: DIR itself, else its step dirs in name order; a
   * two-target search's side dirs (a/, b/: a capacity.json, no timeseries.csv) with their own step dirs.
   * And the capacity.json files to follow, with their side.
   */
  private async layout(): Promise<{ steps: Array<{ dir: string; side: string }>; searches: Array<{ dir: string; side: string }> }> {
    if (await exists(path.join(this.dir, 'timeseries.csv'))) return { steps: [{ dir: this.dir, side: '' }], searches: [] };
    const subdirs = async (d: string): Promise<string[]> => (await readdir(d, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => path.join(d, e.name)).sort();
    const steps: Array<{ dir: string; side: string }> = [];
    const searches = [{ dir: this.dir, side: '' }];
    for (const d of await subdirs(this.dir)) {
      const isSide = (await exists(path.join(d, 'capacity.json'))) && !(await exists(path.join(d, 'timeseries.csv')));
      if (!isSide) {
        steps.push({ dir: d, side: '' });
        continue;
      }
      const side = path.basename(d);
      searches.push({ dir: d, side });
      for (const t of await subdirs(d)) steps.push({ dir: t, side });
    }
    return { steps, searches };
  }

  /** One look at the dir: publish what is new. */
  async poll(): Promise<void> {
    if (this.done) return;
    const { steps, searches } = await this.layout();
    for (const s of steps) await this.pollStep(s.dir, s.side);
    for (const s of searches) await this.pollCapacity(s.dir, s.side);
    const run = JSON.parse(await readText(path.join(this.dir, 'run.json')) ?? '{}') as { status?: string };
    const report = await readText(path.join(this.dir, 'report.html'));
    if (report !== null && run.status !== 'running') {
      const model = modelFromReport(report);
      if (model) this.hub.publish({ type: 'final', model });
      this.done = true;
    }
  }

  private async pollStep(d: string, side: string): Promise<void> {
    let f = this.followed.get(d);
    if (f?.mode !== 'csv') {
      const read = await readEventLines(path.join(d, PAGE_EVENTS_FILE), f?.taken ?? 0);
      if (read !== null) {
        if (!f) this.followed.set(d, f = { step: this.followed.size, mode: 'events', taken: 0 });
        f.mode = 'events';
        f.taken = read.offset;
        for (const ev of read.events) this.hub.publish(withStep(ev, f.step, side || undefined));
        return;
      }
      // The stream creates timeseries.csv just before page-events.jsonl: wait for a row before taking the csv.
    }
    const csv = await readText(path.join(d, 'timeseries.csv'));
    if (csv === null) return;
    // Only complete lines: the writer may be in the middle of one.
    const complete = csv.slice(0, csv.lastIndexOf('\n') + 1);
    let rows: Array<Record<string, string>>;
    try {
      rows = readTimeseriesCsv(complete, ['end_s', 'achieved_rows_per_s']);
    } catch {
      return;
    }
    if (rows.length === 0 && !f) return;
    if (!f) {
      this.followed.set(d, f = { step: this.followed.size, mode: 'csv', taken: 0 });
      const run = JSON.parse(await readText(path.join(d, 'run.json')) ?? '{}') as { config?: { rateHz?: unknown; warmupMs?: unknown; durationMs?: unknown } };
      const c = run.config ?? {};
      this.hub.publish({
        type: 'step',
        step: { index: f.step, runId: maskSecrets(path.basename(d)), side, rateHz: typeof c.rateHz === 'number' ? c.rateHz : null,
          warmupS: typeof c.warmupMs === 'number' ? c.warmupMs / 1000 : 0, durationS: typeof c.durationMs === 'number' ? c.durationMs / 1000 : 0 },
      });
    }
    for (const r of rows.slice(f.taken)) this.hub.publish({ type: 'interval', row: intervalFromCsv(r, f.step) });
    f.taken = rows.length;
  }

  /** A capacity search's capacity.json (rewritten after each trial): the new trials and the bracket. */
  private async pollCapacity(dir: string, side: string): Promise<void> {
    const text = await readText(path.join(dir, 'capacity.json'));
    const seen = this.searches.get(dir) ?? { text: '', trials: 0 };
    if (text === null || text === seen.text) return;
    let r: CapacityResult;
    try {
      r = JSON.parse(text) as CapacityResult;
    } catch {
      return;
    }
    // Not a search's (a two-target search's own capacity-compare, a partial write of an older rtbench).
    if (!Array.isArray(r.trials)) return;
    for (const t of r.trials.slice(seen.trials)) this.hub.publish({ type: 'trial', trial: trialOf(t, side) });
    this.searches.set(dir, { text, trials: r.trials.length });
    this.hub.publish({ type: 'side', side: sideOf(r, side, r.target ? `${r.target.kind} ${r.target.url}` : path.basename(dir)) });
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
