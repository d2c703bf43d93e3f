/**
 * The history store on disk: a directory of `<run-id>.json` records (made to
 * be kept as a CI cache or artifact). Reading checks every file: a corrupt or
 * foreign one is named, one line each, and nothing is written. Adding never
 * rewrites a record: each new file appears whole (temp file, fsync, then a
 * hard link that fails if the name exists) and a run already present is kept
 * as it is.
 */
import { link, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { fsyncDir, randomSuffix, writeFileSynced } from '../results/atomic.js';
import { byStart, parseRecord, type HistoryRecord } from './record.js';

/** What writeFileAtomic or {@link addRecords} leaves behind if killed mid-write; ignored when reading. */
const LEFTOVER_TEMP = /\.tmp-\d+-[0-9a-f]{8}$/;

function errCode(err: unknown): string {
  return err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.message : String(err);
}

/**
 * Read every record of a store, oldest first. A missing store is an error
 * unless `allowMissing` (then it is empty). Throws a {@link UsageError} naming
 * each file that is not a record of this store.
 */
export async function readStore(dir: string, opts: { readonly allowMissing?: boolean } = {}): Promise<HistoryRecord[]> {
  let names: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new UsageError(`history store ${dir}: not a directory`);
    names = await readdir(dir);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (errCode(err) === 'ENOENT' && opts.allowMissing) return [];
    throw new UsageError(`history store ${dir}: cannot read it (${errCode(err)})`);
  }
  const records: HistoryRecord[] = [];
  const problems: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.') || LEFTOVER_TEMP.test(name)) continue;
    const file = join(dir, name);
    const bad = (why: string): void => {
      problems.push(`history store ${dir}: ${name}: ${why}`);
    };
    if (!name.endsWith('.json')) {
      bad('not a history record (a store holds only <run-id>.json records)');
      continue;
    }
    let text: string;
    try {
      const st = await stat(file);
      if (!st.isFile()) {
        bad('not a file');
        continue;
      }
      text = await readFile(file, 'utf8');
    } catch (err) {
      bad(`cannot read it (${errCode(err)})`);
      continue;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      bad('not valid JSON (corrupt record)');
      continue;
    }
    const r = parseRecord(data);
    if (typeof r === 'string') {
      bad(r);
      continue;
    }
    if (`${r.runId}.json` !== name) {
      bad(`holds run ${r.runId}, not ${name.slice(0, -'.json'.length)}`);
      continue;
    }
    records.push(r);
  }
  if (problems.length > 0) throw new UsageError(problems);
  return records.sort(byStart);
}

export type AddOutcome = { readonly runId: string; readonly status: 'added' | 'present' };

/**
 * Add records to a store (created if missing). The store is read first, so a
 * corrupt store gets nothing new. A record whose run is already there is
 * kept, not replaced.
 */
export async function addRecords(dir: string, records: readonly HistoryRecord[]): Promise<AddOutcome[]> {
  const existing = await readStore(dir, { allowMissing: true });
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`history store ${dir}: cannot create it (${errCode(err)})`);
  }
  const present = new Set(existing.map((r) => r.runId));
  const out: AddOutcome[] = [];
  for (const r of records) {
    if (present.has(r.runId)) {
      out.push({ runId: r.runId, status: 'present' });
      continue;
    }
    const final = join(dir, `${r.runId}.json`);
    const tmp = `${final}.tmp-${process.pid}-${randomSuffix()}`;
    try {
      await writeFileSynced(tmp, JSON.stringify(r, null, 2) + '\n');
      await link(tmp, final);
      out.push({ runId: r.runId, status: 'added' });
    } catch (err) {
      // EEXIST: another writer added the same run meanwhile; theirs is kept.
      if (errCode(err) === 'EEXIST') out.push({ runId: r.runId, status: 'present' });
      else throw new UsageError(`history store ${dir}: cannot write ${r.runId}.json (${errCode(err)})`);
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
    present.add(r.runId);
  }
  await fsyncDir(dir);
  return out;
}
