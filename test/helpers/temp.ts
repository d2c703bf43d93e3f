/** A private temp area per e2e test file: `base` for results, `tmpDir` as the CLI's TMPDIR. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

export interface TempArea {
  /** Removed after the file's tests. */
  readonly base: string;
  /** The CLI's TMPDIR: embedded clusters (rtbench-pg-*) are created here. */
  readonly tmpDir: string;
}

/**
 * Registers before/after hooks that create and remove the area. As root the
 * clusters run as `postgres`, which must reach TMPDIR, hence the modes.
 * `beforeRemove` runs first in the after hook (e.g. to stop a left-over cluster).
 */
export function useTempArea(prefix: string, beforeRemove?: (area: TempArea) => Promise<void>): TempArea {
  const area = { base: '', tmpDir: '' };
  before(async () => {
    area.base = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    area.tmpDir = path.join(area.base, 'tmp');
    await fs.mkdir(area.tmpDir);
    await fs.chmod(area.base, 0o755);
    await fs.chmod(area.tmpDir, 0o1777);
  });
  after(async () => {
    if (beforeRemove) await beforeRemove(area);
    await fs.rm(area.base, { recursive: true, force: true });
  });
  return area;
}
