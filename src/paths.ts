/** Locations of the package's own files, independent of the working directory. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { readFileSync } from 'node:fs';

/** Repository / package root (this file compiles to dist/src/paths.js). */
export const PACKAGE_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** A file under sql/. */
export function sqlPath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, 'sql', ...parts);
}

/** rtbench's own version, from package.json. */
export const RTBENCH_VERSION: string = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
