/**
 * Scenario files: JSON objects whose keys are run settings (see
 * src/config/validate.ts). Reading is here; validation is pure and elsewhere.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

export async function readScenario(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unreadable';
    throw new UsageError(`scenario ${file}: cannot read it (${code})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    // Node's message quotes the file's text (newlines included): keep only where it broke.
    const pos = /position (\d+)/.exec((err as Error).message)?.[1];
    let where = '';
    if (pos !== undefined) {
      const before = text.slice(0, Number(pos));
      const line = before.split('\n').length;
      where = ` at line ${line}, column ${Number(pos) - before.lastIndexOf('\n')}`;
    }
    throw new UsageError(`scenario ${file}: not valid JSON${where}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError(`scenario ${file}: must be a JSON object of settings`);
  }
  return data as Record<string, unknown>;
}
