/**
 * A run dir's page-events.jsonl (results/page-events.ts) and `rtbench ui DIR`
 * following it (ui/dir-follow.ts): what the live page got reaches a follower,
 * renumbered as its step; a torn last line (a crash mid-write) is ignored; the
 * panels × windows are kept to one event per few seconds; a capacity search's
 * trials and bracket come from its capacity.json.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { applyEvent } from '../../src/report/page-script.js';
import { emptyModel, type PageEvent, type PageModel } from '../../src/report/page-model.js';
import { PAGE_EVENTS_FILE, PageEventFile } from '../../src/results/page-events.js';
import { DirFollower, readEventLines, withStep } from '../../src/ui/dir-follow.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rtbench-page-events-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const interval = (step: number, t: number): PageEvent => ({
  type: 'interval',
  row: { step, t, warmup: false, targetHz: 100, achievedHz: 99, ops: 99, p50Us: 800, p99Us: 2000, serviceP99Us: 1500, lagP99Us: 100, errors: 0, late: 0, dropped: 0 },
});
const server = (step: number, t: number): PageEvent => ({
  type: 'server', row: { step, t, waits: { 'ingest CPU': 0.5 }, walMBps: 1, serverCores: 0.5, clientCores: 0.2, clientMainCores: 0.1, cpuPressure: 0 },
});
const panels = (step: number, n: number): PageEvent => ({ type: 'panels', step, cells: [{ probe: 'top-paths', window: '5m', p50Us: 900, p95Us: 1500, n }] });

/** A follower into a model, as a browser would apply the events. */
function follower(d: string): { f: DirFollower; model: () => PageModel } {
  let m = emptyModel('run', 'x');
  const f = new DirFollower(d, { publish: (ev) => void (m = applyEvent(m, ev)) });
  return { f, model: () => m };
}

test('page-events.jsonl: events published before the dir exists are written once it does; panels at most every 5 s, the latest at the end', async () => {
  let now = 0;
  const file = new PageEventFile({ dir: () => dir, now: () => now });
  file.publish({ type: 'progress', phase: 'preload', done: 10, total: 100, unit: 'rows', etaMs: 900, end: false });
  await file.stepStart();
  file.publish({ type: 'step', step: { index: 3, runId: 'r', side: 'a', rateHz: 100, warmupS: 1, durationS: 5 } });
  for (let t = 1; t <= 12; t++) {
    now = t * 1000;
    file.publish(interval(3, t));
    file.publish(server(3, t));
    file.publish(panels(3, t));
  }
  file.publish({ type: 'final', model: emptyModel('run', 'final') });
  await file.close();
  file.publish(interval(3, 13));
  const lines = (await readFile(join(dir, PAGE_EVENTS_FILE), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as PageEvent);
  assert.equal(lines[0]!.type, 'progress', 'the set-up phase first');
  assert.equal(lines.filter((e) => e.type === 'interval').length, 12, 'every interval, none after the close');
  assert.equal(lines.filter((e) => e.type === 'server').length, 12);
  // Seconds 1, 6, 11 and the held one of second 12 at the close.
  assert.deepEqual(lines.filter((e) => e.type === 'panels').map((e) => (e.type === 'panels' ? e.cells[0]!.n : -1)), [1, 6, 11, 12]);
  assert.ok(!lines.some((e) => e.type === 'final'), 'the finished model is report.html\'s');
  assert.equal(file.events, lines.length);
});

test('a torn last line (the run killed mid-write) is ignored; the lines before it are followed, renumbered as the follower\'s step', async () => {
  const step = join(dir, 'trial-01-100hz');
  await mkdir(step);
  await writeFile(join(dir, 'run.json'), JSON.stringify({ status: 'running' }));
  const full = [interval(7, 1), server(7, 1), panels(7, 40), { type: 'freshness', points: [{ step: 7, t: 1.5, us: 800_000, kind: 'seen' }] }].map((e) => JSON.stringify(e)).join('\n');
  const torn = JSON.stringify(interval(7, 2)).slice(0, 30);
  await writeFile(join(step, PAGE_EVENTS_FILE), `${full}\n${torn}`);
  const { f, model } = follower(dir);
  await f.poll();
  const m = model();
  assert.deepEqual(m.intervals.map((r) => [r.step, r.t]), [[0, 1]], 'the torn second interval is not read');
  assert.deepEqual(m.server.map((r) => r.step), [0]);
  assert.equal(m.panels?.cells[0]?.n, 40);
  assert.deepEqual(m.freshness.map((p) => [p.step, p.us]), [[0, 800_000]]);
  // A second poll re-reads nothing; the dir stays as the killed run left it.
  await f.poll();
  assert.equal(model().intervals.length, 1);
  assert.equal(f.done, false);
  // Had the writer only been slow: the rest of the line completes it.
  await appendFile(join(step, PAGE_EVENTS_FILE), `${JSON.stringify(interval(7, 2)).slice(30)}\n`);
  await f.poll();
  assert.deepEqual(model().intervals.map((r) => r.t), [1, 2]);
});

test('readEventLines: only whole lines, a line that is not an event skipped, the offset after the last whole line', async () => {
  const file = join(dir, PAGE_EVENTS_FILE);
  assert.equal(await readEventLines(file, 0), null, 'no file yet');
  const a = `${JSON.stringify(interval(0, 1))}\n`;
  await writeFile(file, `${a}{"type":"interv\n${JSON.stringify(interval(0, 2))}\n{"typ`);
  const r = await readEventLines(file, 0);
  assert.deepEqual(r?.events.map((e) => (e.type === 'interval' ? e.row.t : -1)), [1, 2]);
  assert.equal(r?.offset, Buffer.byteLength(`${a}{"type":"interv\n${JSON.stringify(interval(0, 2))}\n`));
  assert.deepEqual((await readEventLines(file, r!.offset))?.events, []);
});

test('withStep renumbers every kind of event that carries a step, and leaves the others', () => {
  assert.equal((withStep(interval(4, 1), 1) as { row: { step: number } }).row.step, 1);
  assert.equal((withStep(server(4, 1), 2) as { row: { step: number } }).row.step, 2);
  assert.equal((withStep(panels(4, 1), 0) as { step: number }).step, 0);
  assert.equal((withStep({ type: 'phase', name: 'measure', step: 4, atS: 1 }, 5) as { step: number }).step, 5);
  assert.equal((withStep({ type: 'step', step: { index: 4, runId: 'r', side: '', rateHz: 1, warmupS: 0, durationS: 1 } }, 6) as { step: { index: number } }).step.index, 6);
  const notice: PageEvent = { type: 'notice', text: 'n' };
  assert.equal(withStep(notice, 9), notice);
});

test('a capacity search\'s dir: each step dir in name order, and the trials and bracket from capacity.json as it is rewritten', async () => {
  for (const [name, t] of [['trial-01-100hz', 1], ['trial-02-200hz', 2]] as const) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, PAGE_EVENTS_FILE), `${JSON.stringify(interval(0, t))}\n`);
  }
  const trial = (index: number, rateHz: number) => ({
    index, rateHz, achievedHz: rateHz, ingest: { p50Us: 500, p99Us: 900 }, verdict: 'pass', why: 'all SLOs met', misses: [], harnessReasons: [], undecided: [], slos: [],
  });
  const result = { trials: [trial(0, 100)], bracket: [100, null], capacityHz: null, headline: 'searching', target: { kind: 'postgres', url: 'postgres://u:secret@h/db' } };
  await writeFile(join(dir, 'capacity.json'), JSON.stringify(result));
  let m = emptyModel('capacity', 'c');
  const f = new DirFollower(dir, { publish: (ev) => void (m = applyEvent(m, ev)) });
  await f.poll();
  assert.deepEqual(m.intervals.map((r) => [r.step, r.t]), [[0, 1], [1, 2]]);
  assert.deepEqual(m.capacity?.trials.map((t) => t.rateHz), [100]);
  assert.doesNotMatch(m.capacity?.sides[0]?.label ?? '', /secret/, 'the target masked');
  await writeFile(join(dir, 'capacity.json'), JSON.stringify({ ...result, trials: [trial(0, 100), trial(1, 200)], bracket: [200, null] }));
  await f.poll();
  assert.deepEqual(m.capacity?.trials.map((t) => t.rateHz), [100, 200], 'each trial once');
  assert.deepEqual(m.capacity?.sides.map((s) => s.bracket), [[200, null]]);
});

test('a two-target search\'s dir: each side\'s trials numbered after the other\'s, with their side; each side\'s capacity.json', async () => {
  const trial = (index: number, rateHz: number) => ({
    index, rateHz, achievedHz: rateHz, ingest: { p50Us: 500, p99Us: 900 }, verdict: 'pass', why: 'all SLOs met', misses: [], harnessReasons: [], undecided: [], slos: [],
  });
  for (const side of ['a', 'b']) {
    await mkdir(join(dir, side, 'trial-01-100hz'), { recursive: true });
    const stepEv = { type: 'step', step: { index: 0, runId: 'trial-01-100hz', side: '', rateHz: 100, warmupS: 1, durationS: 5, trial: 0 } };
    await writeFile(join(dir, side, 'trial-01-100hz', PAGE_EVENTS_FILE), `${JSON.stringify(stepEv)}\n${JSON.stringify(interval(0, 1))}\n`);
    await writeFile(join(dir, side, 'capacity.json'), JSON.stringify({ trials: [trial(0, 100)], bracket: [100, null], capacityHz: null, headline: 'searching', target: { kind: 'postgres', url: `postgres://h/${side}` } }));
  }
  let m = emptyModel('capacity', 'c');
  const f = new DirFollower(dir, { publish: (ev) => void (m = applyEvent(m, ev)) });
  await f.poll();
  assert.deepEqual(m.steps.map((s) => [s.index, s.side]), [[0, 'a'], [1, 'b']]);
  assert.deepEqual(m.intervals.map((r) => r.step), [0, 1]);
  assert.deepEqual(m.capacity?.trials.map((t) => t.side), ['a', 'b']);
  assert.deepEqual(m.capacity?.sides.map((s) => s.side).sort(), ['a', 'b']);
});

test('a page-events.jsonl that cannot be written is said once and ends the file; the caller goes on', async () => {
  const told: string[] = [];
  const file = new PageEventFile({ dir: () => join(dir, 'gone'), onFailure: (m) => told.push(m) });
  await file.stepStart();
  file.publish(interval(0, 1));
  await file.close();
  assert.equal(told.length, 1);
  assert.match(file.failure ?? '', /page-events\.jsonl: not written further \(ENOENT\)/);
  assert.equal(file.events, 0);
});
