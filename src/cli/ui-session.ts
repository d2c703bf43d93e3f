/**
 * `--ui [HOST:]PORT` of run, capacity, sweep and compare-targets: start the
 * live page before the work starts, print its URL once (the token is part of
 * it when the page listens beyond loopback), close it when the command ends.
 */
import { UsageError } from '../errors.js';
import type { PageModel } from '../report/page-model.js';
import { parseUiAddress } from '../ui/address.js';
import { PageHub } from '../ui/page-hub.js';
import { startPageServer, type PageServer } from '../ui/page-server.js';
import type { Log } from './run-session.js';

export interface UiSession {
  readonly hub: PageHub;
  readonly server: PageServer;
  close(): Promise<void>;
}

/** The live page asked for by `--ui`, or null without it. Bad input: a UsageError in one line. */
export async function openUi(value: unknown, initial: PageModel, log: Log): Promise<UiSession | null> {
  if (value === undefined) return null;
  const addr = parseUiAddress(value);
  if ('problem' in addr) throw new UsageError(addr.problem);
  const hub = new PageHub(initial);
  let server: PageServer;
  try {
    server = await startPageServer(hub, addr);
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : String(err);
    throw new UsageError(`--ui: cannot listen on ${addr.host}:${addr.port} (${code})`);
  }
  log(`rtbench: live page ${server.url}${server.tokenRequired ? ' (listening beyond this host: the token in the URL is required)' : ''}`);
  return { hub, server, close: () => server.close() };
}
