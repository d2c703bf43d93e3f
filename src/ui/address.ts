/**
 * `--ui [HOST:]PORT`: where the live page listens. Loopback (127.0.0.1) unless
 * a host is given; any other host gets a random token that the page's URL
 * must carry. Pure.
 */

/** Where to listen; `token` is required in every request when set. */
export interface UiAddress {
  readonly host: string;
  readonly port: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** True when only this host can reach `host`. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Parse `PORT`, `HOST:PORT` or `[IPV6]:PORT` (PORT 0: any free port). Returns
 * a problem in one line instead of throwing.
 */
export function parseUiAddress(value: unknown): UiAddress | { problem: string } {
  const v = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const bad = { problem: `--ui: expected PORT or HOST:PORT (e.g. 8080, 0.0.0.0:8080, [::1]:8080), got ${JSON.stringify(value)}` };
  if (v === '') return bad;
  const i = v.lastIndexOf(':');
  let host = i < 0 ? '127.0.0.1' : v.slice(0, i);
  const portText = i < 0 ? v : v.slice(i + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) return bad;
  if (host === '' || !/^[A-Za-z0-9.:_-]+$/.test(host)) return bad;
  if (!/^\d{1,5}$/.test(portText)) return bad;
  const port = Number(portText);
  if (port > 65535) return { problem: `--ui: port ${port} is above 65535` };
  return { host, port };
}
