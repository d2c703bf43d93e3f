/**
 * Spawn the built CLI (dist/src/cli/main.js) the way a user would: no shell, real process,
 * real exit code. The child gets the parent's environment minus the PG* variables, so a
 * developer's PGHOST never turns an "embedded" test into a run against their database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI entry point (this file is dist/test/helpers/cli.js). */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliOptions {
  /** Overrides on top of the PG*-free parent environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Kill the process (SIGKILL, whole group) and reject after this long; default 60 s. */
  timeoutMs?: number;
  cwd?: string;
}

export interface CliResult {
  /** Exit code, or null if a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function childEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A running CLI process plus a promise of its end result (with everything it printed). */
export interface StartedCli {
  readonly child: ChildProcess;
  /** Resolves when the process exits; rejects on timeout (after killing it). */
  readonly done: Promise<CliResult>;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Send a signal to the CLI's process group, as a terminal's Ctrl-C would. */
  signal(sig: NodeJS.Signals): void;
}

/**
 * Start the CLI in its own process group (so {@link StartedCli.signal} reaches it and the
 * children it spawned, like a terminal's Ctrl-C). The caller must await `done`.
 */
export function startCli(args: readonly string[], opts: CliOptions = {}): StartedCli {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const signalGroup = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // Already gone.
    }
  };
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      signalGroup('SIGKILL');
      reject(new Error(`rtbench ${args.join(' ')}: still running after ${timeoutMs} ms; killed.\nstdout:\n${out}\nstderr:\n${err}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // 'close' (not 'exit'): all output has been read by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return { child, done, stdout: () => out, stderr: () => err, signal: signalGroup };
}

/** Run the CLI to completion. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** The non-empty lines of some output. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
