/**
 * The live page's events as the run goes, in the run's dir: page-events.jsonl,
 * one JSON event a line (page-model.ts's PageEvent), appended and fsynced at
 * least every `syncEveryMs` like the other streamed files (stream.ts). Written
 * whether or not `--ui` is given, so `rtbench ui DIR` on a running run, or on a
 * dir left by a killed one, shows what `--ui` would have: the panels ×
 * windows, freshness, the server's seconds, outages, the phase and the time
 * left. A crash leaves at most a partial last line, which readers ignore.
 *
 * The panels × windows (every cell, each second live) are written at most
 * every `panelsEveryMs` (the latest is always written at the step's end): the
 * page shows only the latest, so the file need not carry every second of them.
 * Events published before the dir exists (the set-up phases' progress) are
 * written once it does. A failed write ends the file (`failure` says why,
 * `onFailure` is told once); the run goes on (its other files are the record).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { PageEvent, PageSink } from '../report/page-model.js';
import type { RunObserver } from '../runner/observer.js';
import { fsyncDir } from './atomic.js';
import { DEFAULT_SYNC_EVERY_MS, writeAll } from './stream.js';

/** The file's name in a run dir. */
export const PAGE_EVENTS_FILE = 'page-events.jsonl';
/** The panels × windows are written at most this often by default, ms. */
export const DEFAULT_PANELS_EVERY_MS = 5000;

export interface PageEventFileOptions {
  /** The run's dir, once it exists (ResultStream.dir: this observer comes after the stream). */
  readonly dir: () => string | null;
  readonly syncEveryMs?: number;
  readonly panelsEveryMs?: number;
  readonly onFailure?: (message: string) => void;
  /** Clock, ms (tests). */
  readonly now?: () => number;
}

/** A page sink and step observer that appends the step's page events to its dir. */
export class PageEventFile implements RunObserver, PageSink {
  readonly name = 'page-events';
  failure: string | null = null;
  /** Bytes and events written so far. */
  bytes = 0;
  events = 0;
  private fh: FileHandle | null = null;
  private pending: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private closed = false;
  private lastSyncMs = 0;
  private lastPanelsMs = -Infinity;
  private heldPanels: PageEvent | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: PageEventFileOptions) {
    this.now = opts.now ?? Date.now;
  }

  publish(ev: PageEvent): void {
    // The finished model is report.html's; a reader takes it from there.
    if (this.closed || this.failure || ev.type === 'final') return;
    if (ev.type === 'panels') {
      const t = this.now();
      if (t - this.lastPanelsMs < (this.opts.panelsEveryMs ?? DEFAULT_PANELS_EVERY_MS)) {
        this.heldPanels = ev;
        return;
      }
      this.lastPanelsMs = t;
      this.heldPanels = null;
    }
    this.pending.push(`${JSON.stringify(ev)}\n`);
    if (this.fh) this.flushSoon();
  }

  async stepStart(): Promise<void> {
    const dir = this.opts.dir();
    if (dir === null || this.fh) return;
    try {
      this.fh = await open(join(dir, PAGE_EVENTS_FILE), 'wx');
      await fsyncDir(dir);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.lastSyncMs = this.now();
    this.flushSoon();
  }

  /** Write what is held and close the file (the step ended; later events are dropped). */
  async stepEnd(): Promise<void> {
    await this.close();
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.heldPanels) {
      this.pending.push(`${JSON.stringify(this.heldPanels)}\n`);
      this.heldPanels = null;
    }
    if (this.fh) this.flushSoon(true);
    this.closed = true;
    await this.chain;
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
  }

  private flushSoon(sync = false): void {
    if (this.scheduled && !sync) return;
    this.scheduled = true;
    this.chain = this.chain.then(async () => {
      this.scheduled = false;
      const text = this.pending.join('');
      const n = this.pending.length;
      this.pending = [];
      const fh = this.fh;
      if (!fh || this.failure) return;
      try {
        if (text !== '') await writeAll(fh, text);
        this.bytes += Buffer.byteLength(text);
        this.events += n;
        if (sync || this.now() - this.lastSyncMs >= (this.opts.syncEveryMs ?? DEFAULT_SYNC_EVERY_MS) - 50) {
          await fh.sync();
          this.lastSyncMs = this.now();
        }
      } catch (err) {
        this.fail(err);
      }
    });
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err);
    this.failure = `${PAGE_EVENTS_FILE}: not written further (${code}); the live page of this dir ends here, the run goes on`;
    this.opts.onFailure?.(this.failure);
  }
}
