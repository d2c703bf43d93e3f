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

/** An event renumbered as step `step` of the follower's page (a dir's file numbers its own steps). */
export function withStep(ev: PageEvent, step: number): PageEvent {
  switch (ev.type) {
    case 'step': return { ...ev, step: { ...ev.step, index: step } };
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

/**
 * Follows a result dir into a hub: each step dir's page-events.jsonl (every
 * event the live page got: intervals, panels, freshness, the server's
 * seconds, phases and progress) or, in a dir written by an older rtbench, its
 * timeseries.csv; a capacity search's trials and bracket from its
 * capacity.json as it is rewritten after each trial.
 */
export class DirFollower {
  private readonly followed = new Map<string, Followed>();
  private capacityText = '';
  private trialsSent = 0;
  done = false;

  constructor(private readonly dir: string, private readonly hub: PageSink) {}

  /** The dirs that stream intervals: DIR itself, else its step dirs in name order. */
  private async streamDirs(): Promise<string[]> {
    if (await readText(path.join(this.dir, 'timeseries.csv')) !== null) return [this.dir];
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => path.join(this.dir, e.name)).sort();
  }

  /** One look at the dir: publish what is new. */
  async poll(): Promise<void> {
    if (this.done) return;
    for (const d of await this.streamDirs()) await this.pollStep(d);
    await this.pollCapacity();
    const run = JSON.parse(await readText(path.join(this.dir, 'run.json')) ?? '{}') as { status?: string };
    const report = await readText(path.join(this.dir, 'report.html'));
    if (report !== null && run.status !== 'running') {
      const model = modelFromReport(report);
      if (model) this.hub.publish({ type: 'final', model });
      this.done = true;
    }
  }

  private async pollStep(d: string): Promise<void> {
    let f = this.followed.get(d);
    if (f?.mode !== 'csv') {
      const read = await readEventLines(path.join(d, PAGE_EVENTS_FILE), f?.taken ?? 0);
      if (read !== null) {
        if (!f) this.followed.set(d, f = { step: this.followed.size, mode: 'events', taken: 0 });
        f.mode = 'events';
        f.taken = read.offset;
        for (const ev of read.events) this.hub.publish(withStep(ev, f.step));
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
        step: { index: f.step, runId: maskSecrets(path.basename(d)), side: '', rateHz: typeof c.rateHz === 'number' ? c.rateHz : null,
          warmupS: typeof c.warmupMs === 'number' ? c.warmupMs / 1000 : 0, durationS: typeof c.durationMs === 'number' ? c.durationMs / 1000 : 0 },
      });
    }
    for (const r of rows.slice(f.taken)) this.hub.publish({ type: 'interval', row: intervalFromCsv(r, f.step) });
    f.taken = rows.length;
  }

  /** A capacity search's capacity.json (rewritten after each trial): the new trials and the bracket. */
  private async pollCapacity(): Promise<void> {
    const text = await readText(path.join(this.dir, 'capacity.json'));
    if (text === null || text === this.capacityText) return;
    let r: CapacityResult;
    try {
      r = JSON.parse(text) as CapacityResult;
    } catch {
      return;
    }
    if (!Array.isArray(r.trials)) return;
    this.capacityText = text;
    for (const t of r.trials.slice(this.trialsSent)) this.hub.publish({ type: 'trial', trial: trialOf(t, '') });
    this.trialsSent = r.trials.length;
    this.hub.publish({ type: 'side', side: sideOf(r, '', r.target ? `${r.target.kind} ${r.target.url}` : path.basename(this.dir)) });
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
