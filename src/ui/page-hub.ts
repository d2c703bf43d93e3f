/**
 * The live page's event stream: every event of the run so far with an id; a
 * browser that connects gets the model so far as one `history` event (built
 * from every event by the page's own applyEvent, thinned as report.html is:
 * thin.ts), then each new event as it is published; one that reconnects with
 * Last-Event-ID gets the events it missed while they are still kept (the last
 * KEPT_FRAMES), else the history again. So a late browser of a day-long run
 * gets a page of ~2,000 points per series, not 86,400 events.
 */
import type { PageEvent, PageModel } from '../report/page-model.js';
import { applyEvent } from '../report/page-script.js';
import { thinModel } from '../report/thin.js';

/** Frames kept for a reconnect with Last-Event-ID (several minutes of events). */
const KEPT_FRAMES = 2000;

/** Where the hub sends: a server-sent-events response, or a test's collector. */
export interface HubClient {
  write(chunk: string): unknown;
  end(): unknown;
}

export class PageHub {
  /** The last frames, the first of them numbered `firstId`. */
  private frames: string[] = [];
  private firstId = 1;
  private published = 0;
  private model: PageModel;
  private readonly clients = new Set<HubClient>();
  private closed = false;

  /** `initial`: the model the page starts from before any event (title, kind). */
  constructor(readonly initial: PageModel) {
    this.model = applyEvent(structuredClone(initial), { type: 'final', model: structuredClone(initial) });
  }

  /** Events published so far. */
  get size(): number {
    return this.published;
  }

  /** Append an event and send it to every connected browser. */
  publish(ev: PageEvent): void {
    if (this.closed) return;
    this.published++;
    const frame = `id: ${this.published}\ndata: ${JSON.stringify(ev)}\n\n`;
    this.model = applyEvent(this.model, ev.type === 'final' || ev.type === 'history' ? { type: ev.type, model: structuredClone(ev.model) } : ev);
    this.frames.push(frame);
    if (this.frames.length > KEPT_FRAMES * 2) {
      this.frames = this.frames.slice(-KEPT_FRAMES);
      this.firstId = this.published - this.frames.length + 1;
    }
    for (const c of this.clients) c.write(frame);
  }

  /** Send the events after `lastId` (0, or older than the kept ones: the history), then every new one. Returns a detach function. */
  attach(client: HubClient, lastId = 0): () => void {
    const from = Number.isInteger(lastId) && lastId > 0 ? Math.min(lastId, this.published) : 0;
    // Tell the browser to retry soon after a drop; the replay makes a retry lossless.
    let replay: string;
    if (from > 0 && from + 1 >= this.firstId) replay = this.frames.slice(from + 1 - this.firstId).join('');
    else if (this.published === 0) replay = '';
    else replay = `id: ${this.published}\ndata: ${JSON.stringify({ type: 'history', model: thinModel(this.model) } satisfies PageEvent)}\n\n`;
    client.write(`retry: 2000\n\n${replay}`);
    if (this.closed) {
      client.end();
      return () => undefined;
    }
    this.clients.add(client);
    return () => void this.clients.delete(client);
  }

  /** A comment line to every browser (keeps proxies from closing an idle stream). */
  ping(): void {
    for (const c of this.clients) c.write(': ping\n\n');
  }

  /** End every stream; later publishes are dropped. */
  close(): void {
    this.closed = true;
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
