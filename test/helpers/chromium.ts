/**
 * Headless Chromium for the report tests: render a local file with a fresh
 * profile and no way to reach the network (every host name resolves to
 * nothing), and read the console messages from Chromium's own log
 * (--enable-logging=stderr): the reports have no script, so a DevTools client
 * would add a WebSocket client for nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Chromium binary, if one is installed. */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let profiles = 0;

/** Run Chromium headless on a file; profiles go under `base`. Output is collected whole. */
export function chromium(binary: string, file: string, base: string, extra: readonly string[], timeoutMs = 60_000): Promise<Ran> {
  const profile = path.join(base, `chromium-profile-${process.pid}-${++profiles}`);
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND',
    '--enable-logging=stderr', '--v=0', `--user-data-dir=${profile}`, ...extra, pathToFileURL(file).href,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`chromium ${extra.join(' ')}: still running after ${timeoutMs} ms; killed.\n${stderr}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Console messages Chromium logged for a page (`INFO:CONSOLE…] "…", source: file://…`). */
export function consoleLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /:CONSOLE[:(\]]|Uncaught/.test(l));
}

/** Parse and lay out a page (--dump-dom): the DOM Chromium built, its <svg> count and console messages. */
export async function renderInChromium(binary: string, file: string, base: string): Promise<{ dom: string; svgs: number; console: string[] }> {
  const r = await chromium(binary, file, base, ['--dump-dom']);
  if (r.code !== 0) throw new Error(`chromium --dump-dom exited ${r.code}\n${r.stderr}`);
  return { dom: r.stdout, svgs: r.stdout.match(/<svg\b/g)?.length ?? 0, console: consoleLines(r.stderr) };
}
