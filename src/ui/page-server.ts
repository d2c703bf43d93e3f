/**
 * The live page's HTTP server (node:http; one page and one event stream need
 * no framework): GET / is the page, GET /events the server-sent events of the
 * hub. Read-only: every other method is refused. Bound to loopback unless the
 * caller names another host; then every request must carry the random token
 * (`?token=`), compared in constant time, and the page asks browsers to send
 * no Referer so the token does not leak to links.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pageHtml } from '../report/page.js';
import { isLoopback, type UiAddress } from './address.js';
import type { PageHub } from './page-hub.js';

export interface PageServer {
  /** The page's URL (with the token when there is one): what the user opens. */
  readonly url: string;
  readonly port: number;
  /** Whether a token guards the page. */
  readonly tokenRequired: boolean;
  close(): Promise<void>;
}

const PING_MS = 15_000;

function tokenMatches(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Serve the hub's page on `addr`; resolves once listening. */
export async function startPageServer(hub: PageHub, addr: UiAddress, opts: { token?: string } = {}): Promise<PageServer> {
  const token = opts.token ?? (isLoopback(addr.host) ? null : randomBytes(18).toString('base64url'));
  const query = token === null ? '' : `?token=${encodeURIComponent(token)}`;
  const server = http.createServer((req, res) => {
    const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('read-only\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://page.invalid');
    if (token !== null && !tokenMatches(url.searchParams.get('token'), token)) {
      res.writeHead(403, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('forbidden: the page\'s URL carries a token (printed by rtbench)\n');
      return;
    }
    if (url.pathname === '/' || url.pathname === '/index.html') {
      const body = pageHtml(hub.initial, { eventsUrl: `events${query}` });
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      res.socket?.setNoDelay(true);
      const lastId = Number(req.headers['last-event-id'] ?? 0);
      const detach = hub.attach(res, lastId);
      req.on('close', detach);
      return;
    }
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const ping = setInterval(() => hub.ping(), PING_MS);
  ping.unref();
  const port = (server.address() as AddressInfo).port;
  const hostText = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return {
    url: `http://${hostText}:${port}/${query}`,
    port,
    tokenRequired: token !== null,
    close: async () => {
      clearInterval(ping);
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
