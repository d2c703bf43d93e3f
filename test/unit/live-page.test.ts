/**
 * The live page's pieces without a browser: `--ui` parsing, the event hub's
 * replay (a late or reconnecting browser gets what it missed), the server's
 * safety (loopback by default, a token beyond it, read-only), and the page's
 * own functions over a model (the capacity curve in rate order).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyModel, type PageEvent, type PageInterval, type PageTrial } from '../../src/report/page-model.js';
import { applyEvent, capacityCharts, panelsTableHtml, statusLine, timeCharts, timeline, trialsTableHtml } from '../../src/report/page-script.js';
import { newHistogram } from '../../src/metrics/histogram.js';
import { LiveObserver } from '../../src/ui/live-observer.js';
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
  assert.equal(late.match(/^data: /gm)?.length, 1, 'the history first, as one event');
  const history = JSON.parse(/^data: (.*)$/m.exec(late)![1]!) as PageEvent;
  assert.ok(history.type === 'history' && history.model.intervals.length === 2, 'the model so far');
  assert.match(late, /^id: 2$/m, 'numbered as the last event it holds');
  hub.publish(interval(0, 3));
  assert.equal(late.match(/^data: /gm)?.length, 2, 'then the stream');
  let resumed = '';
  hub.attach({ write: (s: string) => (resumed += s), end: () => undefined }, 2);
  assert.deepEqual([...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]), ['3'], 'only what it missed');
  let ended = false;
  hub.close();
  hub.attach({ write: () => undefined, end: () => (ended = true) });
  assert.ok(ended, 'a closed hub ends a new stream after the replay');
});

test('a late browser of a day-long run gets the history thinned to ~2,000 points; a reconnect older than the kept events gets it too', () => {
  const hub = new PageHub(emptyModel('run', 't'));
  for (let t = 1; t <= 86_400; t++) hub.publish(interval(0, t));
  let late = '';
  hub.attach({ write: (s: string) => (late += s), end: () => undefined });
  const frames = [...late.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as PageEvent);
  assert.equal(frames.length, 1);
  const h = frames[0]!;
  assert.ok(h.type === 'history' && h.model.intervals.length <= 2000 && h.model.intervals.length >= 1900, 'thinned');
  assert.ok(Buffer.byteLength(late) < 1_000_000, `${Buffer.byteLength(late)} bytes`);
  let resumed = '';
  hub.attach({ write: (s: string) => (resumed += s), end: () => undefined }, 10);
  assert.match(resumed, /"type":"history"/, 'event 10 is no longer kept: the history');
  let recent = '';
  hub.attach({ write: (s: string) => (recent += s), end: () => undefined }, 86_398);
  assert.deepEqual([...recent.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]), ['86399', '86400'], 'a recent one: only what it missed');
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

test('a search\'s time charts: every trial end to end, outages and failed intervals marked on every time axis', () => {
  let m = emptyModel('capacity', 'c');
  for (const step of [0, 1]) {
    m = applyEvent(m, { type: 'step', step: { index: step, runId: `r${step}`, side: '', rateHz: 100 * (step + 1), warmupS: 1, durationS: 3, trial: step } });
    for (const t of [1, 2, 3, 4]) m = applyEvent(m, interval(step, t));
  }
  // Trial 2's third second: the target down for 400 ms, two operations failed.
  const down: PageEvent = {
    type: 'interval',
    row: { ...(interval(1, 3) as { row: PageInterval }).row, errors: 2, errorsBySqlstate: { '57P01': 2 }, unavailableMs: 400, outages: [{ startS: 2.5, endS: 2.9, causes: ['57P01 admin_shutdown'] }] },
  };
  m.intervals.splice(m.intervals.findIndex((r) => r.step === 1 && r.t === 3), 1);
  m = applyEvent(m, down);
  m = applyEvent(m, { type: 'server', row: { step: 1, t: 2, waits: { 'ingest CPU': 0.5, 'ingest Lock': 0.2 }, walMBps: 1.5, serverCores: 0.4, clientCores: 0.2, clientMainCores: 0.1, cpuPressure: 0.3 } });
  m = applyEvent(m, { type: 'freshness', points: [{ step: 0, t: 3, us: 900_000, kind: 'seen' }, { step: 1, t: 4, us: 1_500_000, kind: 'pending' }] });
  const tl = timeline(m);
  // Each trial after the one before: trial 1 lasts 4 s (warm-up 1 + 3), then 1 s apart.
  assert.deepEqual([...tl.offsets.entries()], [[0, 0], [1, 5]]);
  const charts = timeCharts(m);
  assert.deepEqual(charts.map((c) => c.id), ['rate', 'latency-over-time', 'problems-over-time', 'server-waits', 'server-cpu', 'server-wal', 'freshness-over-time']);
  // A gap (null) at trial 2's start: no line joins one trial to the next.
  assert.deepEqual(charts[0]!.xs, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(charts[0]!.series[0]!.values, [99, 99, 99, 99, null, 99, 99, 99, 99]);
  for (const c of charts) {
    const outage = c.bands!.filter((b) => b.kind === 'outage');
    assert.deepEqual(outage.map((b) => [b.from, b.to]), [[7.5, 7.9]], `${c.id}: the outage, on the search's time axis`);
    assert.match(outage[0]!.label, /57P01/);
    assert.deepEqual(c.marks!.map((k) => k.x), [8], `${c.id}: the failed interval marked`);
    assert.deepEqual(c.bands!.filter((b) => b.kind === 'step').map((b) => b.label), ['trial 1 100/s', 'trial 2 200/s']);
  }
  const problems = charts.find((c) => c.id === 'problems-over-time')!;
  assert.ok(problems.series.some((x) => x.name === 'errors 57P01'), 'errors by SQLSTATE');
  assert.deepEqual(charts.find((c) => c.id === 'server-waits')!.xs, [7]);
  const fresh = charts.find((c) => c.id === 'freshness-over-time')!;
  assert.deepEqual(fresh.xs, [3, 9]);
  // A run shows its one step from its origin.
  const run = emptyModel('run', 'r');
  run.intervals.push(...m.intervals.filter((r) => r.step === 1));
  assert.deepEqual(timeCharts(run)[0]!.xs, [1, 2, 3, 4]);
});

test('the panels so far: the latest step\'s cells, a table of p50 / p95 (n) per window', () => {
  let m = emptyModel('run', 'r');
  assert.equal(panelsTableHtml(m), '');
  m = applyEvent(m, { type: 'panels', step: 0, cells: [{ probe: 'raw-minutes', window: '1h', p50Us: 1200, p95Us: 5000, n: 42 }, { probe: 'rollup-minutes', window: '1h', p50Us: 300, p95Us: null, n: 0 }] });
  const html = panelsTableHtml(m);
  assert.match(html, /raw-minutes<\/td><td>1\.2 ms \/ 5 ms \(n=42\)/);
  assert.match(html, /rollup-minutes<\/td><td>300 µs \/ — \(n=0\)/);
  assert.match(html, /so far/);
});

test('the live observer: each interval brings the panels so far and new freshness readings; the sampler\'s seconds become server rows', () => {
  const hub = new PageHub(emptyModel('run', 'r'));
  const events: PageEvent[] = [];
  hub.attach({ write: (s: string) => { for (const m of s.matchAll(/^data: (.*)$/gm)) events.push(JSON.parse(m[1]!) as PageEvent); }, end: () => undefined });
  const h = newHistogram();
  for (const v of [1000, 2000, 3000, 4000, 100_000]) h.recordValue(v);
  const readings: Array<readonly [number, number, 0 | 1]> = [];
  const live = { panels: () => ({ 'panel-response-raw-minutes-1h': h, 'probe-x-1h': h }), freshness: () => ({ readings, oldestUnseenUs: 700_000 }) };
  const o = new LiveObserver(hub, 3, 'b');
  o.stepStart({ index: 0, runId: 'x', config: { rateHz: 50, warmupMs: 1000, durationMs: 5000 } } as never, { live } as never);
  o.phase('warmup', 0);
  readings.push([Date.now() + 2000, 800_000, 0]);
  o.interval({ ...intervalRow(1000), endMs: 1000 } as never);
  o.interval({ ...intervalRow(2000), endMs: 2000 } as never);
  o.serverSecond({ second: 1, waits: { 'ingest CPU': 0.7 }, walBytesPerS: 2e6, serverCores: 0.5, clientCores: null, clientMainCores: null, cpuPressure: null });
  const panels = events.filter((e) => e.type === 'panels');
  assert.equal(panels.length, 2);
  assert.deepEqual(panels[0], { type: 'panels', step: 3, cells: [{ probe: 'raw-minutes', window: '1h', p50Us: h.getValueAtPercentile(50), p95Us: h.getValueAtPercentile(95), n: 5 }] });
  const fresh = events.flatMap((e) => (e.type === 'freshness' ? e.points : []));
  // The one reading once, and the oldest unseen marker's age at each interval.
  assert.deepEqual(fresh.filter((p) => p.kind === 'seen').map((p) => [p.step, p.us]), [[3, 800_000]]);
  assert.ok(Math.abs(fresh.find((p) => p.kind === 'seen')!.t - 2) < 0.5);
  assert.deepEqual(fresh.filter((p) => p.kind === 'pending').map((p) => [p.t, p.us]), [[1, 700_000], [2, 700_000]]);
  const server = events.find((e) => e.type === 'server');
  assert.deepEqual(server && server.type === 'server' ? [server.row.step, server.row.t, server.row.walMBps] : null, [3, 2, 2]);
  const step = events.find((e) => e.type === 'step');
  assert.deepEqual(step && step.type === 'step' ? [step.step.index, step.step.side, step.step.rateHz] : null, [3, 'b', 50]);
});

function intervalRow(endMs: number): Record<string, unknown> {
  return { index: endMs / 1000, startMs: endMs - 1000, endMs, phase: 'measure', targetRowsHz: 50, rows: 50, achievedRowsHz: 50, ops: 50, responseP50Us: 1, responseP99Us: 2, serviceP99Us: 2, lagP99Us: 0, errors: 0, late: 0, dropped: 0 };
}
