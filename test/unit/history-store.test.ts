import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.js';
import { buildRecord } from '../../src/history/record.js';
import { addRecords, readStore } from '../../src/history/store.js';
import type { RunInfo, Summary } from '../../src/results/run-record.js';

function rec(runId: string, minute: number): ReturnType<typeof buildRecord> {
  const run = { runId, startedAt: `2026-12-01T10:0${minute}:00.000Z`, config: { rateHz: 200 }, gitRevision: null, gitBranch: 'main', machine: { hostname: 'box' } } as unknown as RunInfo;
  const summary = { runId, valid: true, ingest: { achievedRateHz: 200, errors: 0, response: { count: 10, p50Us: 100, p99Us: 200 } } } as unknown as Summary;
  return buildRecord(run, summary);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rtbench-store-'));
  try {
    await fn(join(dir, 'store'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('addRecords creates the store, keeps a present run as it is, readStore returns records oldest first', () => withDir(async (store) => {
  assert.deepEqual(await addRecords(store, [rec('b', 2), rec('a', 1)]), [{ runId: 'b', status: 'added' }, { runId: 'a', status: 'added' }]);
  const before = await readFile(join(store, 'a.json'), 'utf8');
  const changed = { ...rec('a', 1), testbed: 'other' };
  assert.deepEqual(await addRecords(store, [changed]), [{ runId: 'a', status: 'present' }]);
  assert.equal(await readFile(join(store, 'a.json'), 'utf8'), before, 'not rewritten');
  assert.deepEqual((await readStore(store)).map((r) => r.runId), ['a', 'b']);
  assert.deepEqual((await readdir(store)).sort(), ['a.json', 'b.json'], 'no temp file left');
}));

test('readStore ignores dotfiles and a killed writer\'s temp file; names foreign entries and mismatched names', () => withDir(async (store) => {
  await addRecords(store, [rec('a', 1)]);
  await writeFile(join(store, '.DS_Store'), 'x');
  await writeFile(join(store, 'a.json.tmp-123-0badf00d'), '{"half');
  assert.equal((await readStore(store)).length, 1);
  await mkdir(join(store, 'sub.json'));
  await writeFile(join(store, 'notes.txt'), 'hi');
  await writeFile(join(store, 'c.json'), JSON.stringify(rec('d', 3)));
  await assert.rejects(readStore(store), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.deepEqual(e.problems.map((p) => p.replace(store, 'S')), [
      'history store S: c.json: holds run d, not c',
      'history store S: notes.txt: not a history record (a store holds only <run-id>.json records)',
      'history store S: sub.json: not a file',
    ]);
    return true;
  });
  await assert.rejects(addRecords(store, [rec('e', 4)]), UsageError);
  assert.ok(!(await readdir(store)).includes('e.json'), 'a bad store gets nothing new');
}));

test('a missing store: an error, or empty when allowed; a file in its place is named', () => withDir(async (store) => {
  await assert.rejects(readStore(store), /history store .*: cannot read it \(ENOENT\)/);
  assert.deepEqual(await readStore(store, { allowMissing: true }), []);
  await writeFile(store, 'x');
  await assert.rejects(readStore(store), /not a directory/);
}));
