/**
 * Which database a run targets: an explicit URL, else the PG* variables
 * (libpq's), else the embedded throwaway cluster.
 */
import { maskUrl } from '../targets/url.js';

export type Target =
  | { readonly kind: 'url'; readonly url: string; readonly description: string }
  | { readonly kind: 'embedded' };

const SELECTING = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGSERVICE'];

/** Resolve the target. PG* variables are turned into a URL (masked wherever shown). */
export function resolveTarget(url: string | undefined, env: NodeJS.ProcessEnv): Target {
  if (url !== undefined) return { kind: 'url', url, description: maskUrl(url) };
  if (!SELECTING.some((k) => env[k])) return { kind: 'embedded' };
  const enc = encodeURIComponent;
  const user = env['PGUSER'] ? enc(env['PGUSER']) : '';
  const pass = env['PGPASSWORD'] ? `:${enc(env['PGPASSWORD'])}` : '';
  const host = env['PGHOST'] ?? env['PGHOSTADDR'] ?? 'localhost';
  const socket = host.startsWith('/');
  const hostPart = socket ? 'localhost' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = env['PGPORT'] ? `:${env['PGPORT']}` : '';
  const db = enc(env['PGDATABASE'] ?? env['PGUSER'] ?? '');
  const params = new URLSearchParams();
  if (socket) params.set('host', host);
  if (env['PGSSLMODE']) params.set('sslmode', env['PGSSLMODE']);
  const q = params.toString();
  const u = `postgresql://${user}${pass}${user || pass ? '@' : ''}${hostPart}${port}/${db}${q ? `?${q}` : ''}`;
  return { kind: 'url', url: u, description: `${maskUrl(u)} (from PG* variables)` };
}
