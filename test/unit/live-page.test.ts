/**
 * The live page's pieces without a browser: `--ui` parsing, the event hub's
 * replay (a late or reconnecting browser gets what it missed), the server's
 * safety (loopback by default, a token beyond it, read-only), and the page's
 * own functions over a model (the capacity curve in rate order).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyModel, type PageEvent, type PageTrial } from '../../src/report/page-model.js';
import { applyEvent, capacityCharts, statusLine, timeCharts, trialsTableHtml } from '../../src/report/page-script.js';
import { isLoopback, parseUiAddress } from '../../src/ui/address.js';
import { PageHub } from '../../src/ui/page-hub.js';
import { startPageServer } from '../../src/ui/page-server.js';

test('--ui: PORT, HOST:PORT, [IPv6]:PORT; anything else is one clear problem', () => {
  assert.deepEqual(parseUiAddress('8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseUiAddress('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseUiAddress('[::1]:0'), { host: '::1', port: 0 });
  for (const bad of ['', 'x', '::1:80', 'host:', 'a b:1', '1:2:3', '$(id):80', undefined]) {
    assert.ok('problem' in parseUiAddress(bad), `refused: ${String(bad)}`);
  }
  assert.match((parseUiAddress('70000') as { problem: string }).problem, /above 65535/);
  assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('127.3.2.1'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('10.0.0.1'));
});

const interval = (step: number, t: number): PageEvent => ({
  type: 'interval',
  row: { step, t, warmup: t <= 1, targetHz: 100, achievedHz: 99, ops: 99, p50Us: 800, p99Us: 2000, serviceP99Us: 1500, lagP99Us: 100, errors: 0, late: 0, dropped: 0 },
});

test('the hub replays the history to a late client, then streams; Last-Event-ID resumes', () => {
  const hub = new PageHub(emptyModel('run', 't'));
  hub.publish(interval(0, 1));
  hub.publish(interval(0, 2));
  let late = '';
  hub.attach({ write: (s: string) => (late += s), end: () => undefined });
  assert.equal(late.match(/^data: /gm)?.length, 2, 'the history first');
  hub.publish(interval(0, 3));
  assert.equal(late.match(/^data: /gm)?.length, 3, 'then the stream');
  let resumed = '';
  hub.attach({ write: (s: string) => (resumed += s), end: () => undefined }, 2);
  assert.deepEqual([...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]), ['3'], 'only what it missed');
  let ended = false;
  hub.close();
  hub.attach({ write: () => undefined, end: () => (ended = true) });
  assert.ok(ended, 'a closed hub ends a new stream after the replay');
});

test('the page server: loopback without a token; beyond loopback the token is required; read-only', async () => {
  const hub = new PageHub(emptyModel('run', 'rtbench run x (live)'));
  hub.publish(interval(0, 1));
  const local = await startPageServer(hub, { host: '127.0.0.1', port: 0 });
  try {
    assert.equal(local.tokenRequired, false);
    assert.match(local.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(local.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>rtbench run x \(live\)<\/title>/);
    assert.equal((await fetch(local.url, { method: 'POST', body: 'x' })).status, 405);
    assert.equal((await fetch(new URL('nope', local.url))).status, 404);
    const ctl = new AbortController();
    const ev = await fetch(new URL('events', local.url), { signal: ctl.signal });
    assert.match(ev.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = ev.body!.getReader();
    let text = '';
    while (!text.includes('"t":1')) text += new TextDecoder().decode((await reader.read()).value);
    ctl.abort();
  } finally {
    await local.close();
  }
  // A token given (as one made for another address): every request must carry it.
  const guarded = await startPageServer(new PageHub(emptyModel('run', 't')), { host: '127.0.0.1', port: 0 }, { token: 'sekret-token' });
  try {
    assert.equal(guarded.tokenRequired, true);
    assert.match(guarded.url, /\?token=sekret-token$/);
    const bare = guarded.url.replace(/\?.*$/, '');
    assert.equal((await fetch(bare)).status, 403);
    assert.equal((await fetch(`${bare}?token=sekret-tokeX`)).status, 403);
    assert.equal((await fetch(`${bare}events`)).status, 403);
    const ok = await fetch(guarded.url);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /"events\?token=sekret-token"/, 'the page streams with its token');
  } finally {
    await guarded.close();
  }
});

test('a server bound beyond loopback makes its own random token', async () => {
  const s = await startPageServer(new PageHub(emptyModel('run', 't')), { host: '0.0.0.0', port: 0 });
  try {
    assert.equal(s.tokenRequired, true);
    const token = /\?token=([\w-]+)$/.exec(s.url)?.[1];
    assert.ok(token && token.length >= 20, s.url);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/`)).status, 403);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/?token=${token}`)).status, 200);
  } finally {
    await s.close();
  }
});

const trial = (index: number, rateHz: number, verdict: string, side = ''): PageTrial => ({
  side, index, rateHz, achievedHz: verdict === 'pass' ? rateHz : rateHz * 0.9, p50Us: rateHz, p99Us: rateHz * 10, worstP95Us: null, verdict, why: 'test',
});

test('the capacity curve is in offered-rate order, failed trials marked, achieved on the right axis', () => {
  let m = emptyModel('capacity', 'cap');
  // Run order of a bisection: 100, 400, 200, 300, 250.
  for (const t of [trial(0, 100, 'pass'), trial(1, 400, 'fail'), trial(2, 200, 'pass'), trial(3, 300, 'fail'), trial(4, 250, 'pass')]) m = applyEvent(m, { type: 'trial', trial: t });
  m = applyEvent(m, { type: 'side', side: { side: '', label: 'local', slos: [{ name: 'ingest.p99<3ms', limitUs: 3000 }], bracket: [250, 300], capacityHz: 250, headline: 'capacity 250' } });
  const [c] = capacityCharts(m);
  assert.ok(c);
  assert.deepEqual(c.xs, [100, 200, 250, 300, 400]);
  const s = (name: string) => c.series.find((x) => x.name === name)!;
  assert.deepEqual(s('ingest p99').values, [1000, 2000, 2500, 3000, 4000]);
  assert.deepEqual(s('failed trial (p99)').values, [null, null, null, 3000, 4000]);
  assert.equal(s('failed trial (p99)').pointsOnly, true);
  assert.deepEqual(s('achieved rows/s').values, [100, 200, 250, 270, 360]);
  assert.equal(s('achieved rows/s').right, true);
  assert.deepEqual(c.bands, [{ from: 250, to: 300, label: 'capacity bracket', kind: 'bracket' }]);
  assert.deepEqual(c.hlines, [{ value: 3000, label: 'SLO ingest.p99<3ms' }]);
  assert.equal(trialsTableHtml(m).match(/<tr>/g)?.length, 6, 'a header and five trials');
});

test('two targets on one chart, with the ratio and its bracket in the title', () => {
  let m = emptyModel('capacity', 'cap');
  for (const t of [trial(0, 100, 'pass', 'a'), trial(1, 200, 'fail', 'a'), trial(2, 150, 'pass', 'b'), trial(3, 300, 'fail', 'b')]) m = applyEvent(m, { type: 'trial', trial: t });
  m.capacity!.ratio = { ratio: 1.5, low: 0.75, high: 3 };
  const [c] = capacityCharts(m);
  assert.deepEqual(c!.xs, [100, 150, 200, 300]);
  assert.deepEqual(c!.series.find((x) => x.name === 'a: ingest p99')!.values, [1000, null, 2000, null]);
  assert.deepEqual(c!.series.find((x) => x.name === 'b: ingest p99')!.values, [null, 1500, null, 3000]);
  assert.match(c!.title, /b\/a 1\.50× \[0\.75–3\.00\]/);
  assert.match(trialsTableHtml(m), /<th>target<\/th>/);
});

test('the live model: intervals grow the time charts of the current step; the status says the time left', () => {
  let m = emptyModel('run', 'r');
  m = applyEvent(m, { type: 'step', step: { index: 0, runId: 'x', side: '', rateHz: 100, warmupS: 1, durationS: 10 } });
  m = applyEvent(m, { type: 'phase', name: 'measure', step: 0, atS: 1 });
  for (let t = 1; t <= 4; t++) m = applyEvent(m, interval(0, t));
  assert.equal(timeCharts(m)[0]!.xs.length, 4);
  assert.equal(statusLine(m), 'phase: measure · 7 s left in this run');
  m = applyEvent(m, { type: 'final', model: { ...emptyModel('run', 'done'), finished: true } });
  assert.equal(m.title, 'done');
  assert.equal(statusLine(m), 'finished');
});

test('rtbench ui DIR follows a dir being streamed: new complete lines become intervals, report.html the final model', async () => {
  const { mkdtemp, writeFile, appendFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { DirFollower } = await import('../../src/ui/dir-follow.js');
  const { TIMESERIES_COLUMNS } = await import('../../src/results/write.js');
  const { pageHtml } = await import('../../src/report/page.js');
  const dir = await mkdtemp(join(tmpdir(), 'rtbench-ui-follow-'));
  try {
    await writeFile(join(dir, 'run.json'), JSON.stringify({ status: 'running', config: { rateHz: 100, warmupMs: 1000, durationMs: 5000 } }));
    const line = (i: number): string => TIMESERIES_COLUMNS.map((c) => ({ index: i, phase: i === 1 ? 'warmup' : 'measure', end_s: i, achieved_rows_per_s: 99, target_rows_per_s: 100, ops: 99 } as Record<string, number | string>)[c] ?? 0).join(',');
    await writeFile(join(dir, 'timeseries.csv'), `${TIMESERIES_COLUMNS.join(',')}\n${line(1)}\n${line(2)}\n${line(3).slice(0, 5)}`);
    const hub = new PageHub(emptyModel('run', 'x'));
    let m = emptyModel('run', 'x');
    hub.attach({ write: (s: string) => { for (const d of s.matchAll(/^data: (.*)$/gm)) m = applyEvent(m, JSON.parse(d[1]!) as PageEvent); }, end: () => undefined });
    const f = new DirFollower(dir, hub);
    await f.poll();
    assert.deepEqual(m.intervals.map((r) => r.t), [1, 2], 'the half-written third line waits');
    assert.equal(m.steps[0]?.durationS, 5);
    await appendFile(join(dir, 'timeseries.csv'), `${line(3).slice(5)}\n`);
    await f.poll();
    assert.deepEqual(m.intervals.map((r) => r.t), [1, 2, 3]);
    assert.equal(m.intervals[0]!.warmup, true);
    await writeFile(join(dir, 'run.json'), JSON.stringify({ status: 'finished' }));
    await writeFile(join(dir, 'report.html'), pageHtml({ ...emptyModel('run', 'the finished run'), finished: true }));
    await f.poll();
    assert.equal(m.title, 'the finished run');
    assert.equal(f.done, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a long set-up phase shows on the status line with the time left, and leaves it when it ends', () => {
  let m = emptyModel('run', 'r');
  m = applyEvent(m, { type: 'progress', phase: 'probes: idle baseline', done: 12, total: 40, unit: 'executions', etaMs: 30_400, end: false });
  assert.equal(statusLine(m), 'probes: idle baseline: 12 of 40 executions, about 30 s left');
  m = applyEvent(m, { type: 'progress', phase: 'preload', done: 5000, total: null, unit: 'rows', etaMs: null, end: false });
  assert.equal(statusLine(m), 'preload: 5,000 rows');
  m = applyEvent(m, { type: 'progress', phase: 'preload', done: 9000, total: null, unit: 'rows', etaMs: null, end: true });
  assert.equal(statusLine(m), 'waiting for the first interval');
});
