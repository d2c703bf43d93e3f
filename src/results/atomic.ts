/**
 * Durable, all-or-nothing file writes for results/: a reader (or a crash)
 * sees either the old file or the complete new one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** A short random suffix for temp names, so concurrent writers never collide. */
export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Create `path` (it must not exist), write `data`, fsync, close. On failure the
 * partial file is removed.
 */
export async function writeFileSynced(path: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(path, { force: true }).catch(() => undefined);
    throw err;
  }
  await fh.close();
}

/**
 * fsync a directory so a rename inside it survives a crash. Best effort: some
 * platforms and file systems refuse to open or sync directories.
 */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not supported here (e.g. Windows); the rename itself is still atomic.
  }
}

/**
 * Write `data` to `path` atomically: write `<path>.tmp-<pid>-<random>` in the
 * same directory, fsync it, then rename it over `path`. The temp file is
 * removed if anything fails.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${basename(path)}.tmp-${process.pid}-${randomSuffix()}`);
  try {
    await writeFileSynced(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

function errCode(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}

/**
 * `mkdir -p` one component at a time, from the nearest existing ancestor down.
 * Node's own `mkdir(dir, { recursive: true })` spins forever on paths such as
 * `/proc/nope` (the kernel answers ENOENT for a parent that exists); here the
 * first failing component fails at once with its error code.
 */
async function mkdirParents(dir: string): Promise<void> {
  const missing: string[] = [];
  let cur = resolve(dir);
  for (;;) {
    const st = await stat(cur).catch((err: unknown) => {
      if (errCode(err) === 'ENOENT') return null;
      throw err;
    });
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${cur}: not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(cur);
    const parent = dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (err) {
      // Another process may create the same directory meanwhile.
      if (errCode(err) !== 'EEXIST' || !(await stat(d)).isDirectory()) throw err;
    }
  }
}

/**
 * Make sure `dir` exists (created recursively) and that we can create files in
 * it, by creating and removing a temp file. Throws a {@link UsageError} with a
 * one-line message such as `results dir /x: not writable (EACCES)` otherwise.
 * Meant to run before a long benchmark, so a bad path fails in a second, not
 * after an hour.
 */
export async function checkWritableDir(dir: string): Promise<void> {
  try {
    await mkdirParents(dir);
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOTDIR' || code === 'EEXIST') throw new UsageError(`results dir ${dir}: not a directory (${code})`);
    throw new UsageError(`results dir ${dir}: not writable (${code})`);
  }
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new UsageError(`results dir ${dir}: not a directory`);
  const probe = join(dir, `.write-check-${process.pid}-${randomSuffix()}`);
  try {
    const fh = await open(probe, 'wx');
    await fh.close();
  } catch (err) {
    throw new UsageError(`results dir ${dir}: not writable (${errCode(err)})`);
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}
