/**
 * The live page's event log: every event of the run so far, in order, with
 * an id; a browser that connects (or reconnects with Last-Event-ID) gets the
 * ones it has not seen, then each new one as it is published. Kept in memory
 * (an interval event is ~300 bytes: an hour's run is ~1 MB).
 */
import type { PageEvent, PageModel } from '../report/page-model.js';

/** Where the hub sends: a server-sent-events response, or a test's collector. */
export interface HubClient {
  write(chunk: string): unknown;
  end(): unknown;
}

export class PageHub {
  private readonly log: string[] = [];
  private readonly clients = new Set<HubClient>();
  private closed = false;

  /** `initial`: the model the page starts from before any event (title, kind). */
  constructor(readonly initial: PageModel) {}

  /** Events published so far. */
  get size(): number {
    return this.log.length;
  }

  /** Append an event and send it to every connected browser. */
  publish(ev: PageEvent): void {
    if (this.closed) return;
    const frame = `id: ${this.log.length + 1}\ndata: ${JSON.stringify(ev)}\n\n`;
    this.log.push(frame);
    for (const c of this.clients) c.write(frame);
  }

  /** Send the events after `lastId` (0: all), then every new one. Returns a detach function. */
  attach(client: HubClient, lastId = 0): () => void {
    const from = Number.isInteger(lastId) && lastId > 0 ? Math.min(lastId, this.log.length) : 0;
    // Tell the browser to retry soon after a drop; the replay makes a retry lossless.
    client.write(`retry: 2000\n\n${this.log.slice(from).join('')}`);
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
