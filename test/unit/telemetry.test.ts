import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { roleOf, waitLabel, waitClass, SAMPLER_APPLICATION_NAME } from '../../src/telemetry/roles.js';
import { WaitAggregator, topWaits } from '../../src/telemetry/waits.js';
import { diffStatements, noteQueryRole, roleByText, type QueryRoles, type StatementRow } from '../../src/telemetry/statements.js';
import { counterSeconds, diffCounters, diffTables, lsnToBytes, perRow, type CounterSnapshot } from '../../src/telemetry/counters.js';
import { describePlan, planShape } from '../../src/telemetry/plans.js';
import { parsePressureTotalUs, parseProcStat, serverTicks } from '../../src/telemetry/proc-stat.js';
import { serverCsv } from '../../src/telemetry/server-csv.js';

describe('roles', () => {
  test('application names map to the roles of the workload', () => {
    assert.equal(roleOf('rtbench-w1', 'client backend'), 'ingest');
    assert.equal(roleOf('rtbench-w12', 'client backend'), 'ingest');
    assert.equal(roleOf('rtbench-rollup', 'client backend'), 'rollup');
    assert.equal(roleOf('pg_cron', 'client backend'), 'rollup');
    assert.equal(roleOf('rtbench-probe', 'client backend'), 'viewers');
    assert.equal(roleOf('rtbench-probe', 'parallel worker'), 'viewers');
    assert.equal(roleOf('rtbench-freshness', 'client backend'), 'freshness');
    assert.equal(roleOf('rtbench-setup', 'client backend'), 'harness');
    assert.equal(roleOf('psql', 'client backend'), 'other');
    assert.equal(roleOf('', 'client backend'), 'other');
    assert.equal(roleOf(null, 'autovacuum worker'), 'autovacuum');
  });
  test('the sampler and the server\'s own processes are not counted', () => {
    assert.equal(roleOf(SAMPLER_APPLICATION_NAME, 'client backend'), null);
    assert.equal(roleOf('', 'checkpointer'), null);
    assert.equal(roleOf('', 'walwriter'), null);
  });
  test('a session waiting on nothing instrumented is on CPU', () => {
    assert.equal(waitLabel(null, null), 'CPU');
    assert.equal(waitLabel('Lock', 'relation'), 'Lock:relation');
    assert.equal(waitClass('LWLock:WALWrite'), 'LWLock');
    assert.equal(waitClass('CPU'), 'CPU');
  });
});

describe('wait aggregation', () => {
  test('average active sessions and shares per role over a window', () => {
    const w = new WaitAggregator();
    // Second 0: 2 samples; second 1: 2 samples; second 2 outside the window.
    w.add(0, [{ role: 'ingest', wait: 'CPU' }, { role: 'ingest', wait: 'Lock:relation' }]);
    w.add(500, [{ role: 'ingest', wait: 'CPU' }]);
    w.add(1000, [{ role: 'ingest', wait: 'LWLock:WALWrite' }, { role: 'viewers', wait: 'CPU' }]);
    w.add(1500, []);
    w.add(2000, [{ role: 'ingest', wait: 'Lock:relation' }]);
    const s = w.summary(0, 2000);
    assert.equal(s.ingest?.samples, 4);
    assert.equal(s.ingest?.avgActiveSessions, 4 / 4);
    assert.deepEqual(s.ingest?.shares, { CPU: 0.5, 'Lock:relation': 0.25, 'LWLock:WALWrite': 0.25 });
    assert.equal(s.viewers?.avgActiveSessions, 0.25);
    assert.equal(s.rollup, undefined);
    assert.equal(topWaits(s.ingest!, 2), '50% CPU, 25% Lock:relation');
    const secs = w.seconds();
    assert.deepEqual(secs.map((x) => x.second), [0, 1, 2]);
    assert.deepEqual(secs[0]?.active.ingest, { CPU: 1, 'Lock:relation': 0.5 });
    assert.equal(secs[1]?.samples, 2);
  });
  test('no samples: no roles', () => {
    assert.deepEqual(new WaitAggregator().summary(), {});
  });
});

const stmt = (over: Partial<StatementRow> & Pick<StatementRow, 'key' | 'queryId' | 'query'>): StatementRow => ({
  calls: 0, totalTimeMs: 0, rows: 0, sharedBlksHit: 0, sharedBlksRead: 0, walBytes: 0, ...over,
});

describe('statements by role', () => {
  test('text fallback knows each role\'s statements', () => {
    assert.equal(roleByText('INSERT INTO http_request (site_id, ingest_time) VALUES ($1, $2)'), 'ingest');
    assert.equal(roleByText('COPY http_request (site_id) FROM STDIN'), 'ingest');
    assert.equal(roleByText('INSERT INTO http_request (site_id) VALUES ($1, clock_timestamp()) RETURNING ingest_time'), 'freshness');
    assert.equal(roleByText('SELECT "rollup_http_request_incremental_1min"()'), 'rollup');
    assert.equal(roleByText('INSERT INTO http_request_1min SELECT 1'), null);
    assert.equal(roleByText('SELECT count(*) FROM http_request WHERE ingest_time > now() - $1::interval'), 'viewers');
  });
  test('after − before, roles from samples first, then text; new statements count from zero', () => {
    const roles: QueryRoles = new Map();
    noteQueryRole(roles, '11', 'ingest');
    noteQueryRole(roles, '33', 'viewers');
    noteQueryRole(roles, '33', 'harness');
    noteQueryRole(roles, '0', 'other');
    const before = [stmt({ key: 'a', queryId: '11', query: 'x', calls: 10, totalTimeMs: 5, rows: 10, walBytes: 1000 })];
    const after = [
      stmt({ key: 'a', queryId: '11', query: 'x', calls: 110, totalTimeMs: 55, rows: 110, sharedBlksHit: 7, walBytes: 21000 }),
      stmt({ key: 'b', queryId: '22', query: 'SELECT 1 FROM t WHERE x > now() - $1::interval', calls: 3, totalTimeMs: 90 }),
      stmt({ key: 'c', queryId: '33', query: 'SELECT 2', calls: 1, totalTimeMs: 1 }),
      stmt({ key: 'd', queryId: '44', query: 'SELECT 3', calls: 0, totalTimeMs: 0 }),
    ];
    const d = diffStatements(before, after, roles);
    assert.deepEqual(d.map((s) => [s.queryId, s.role, s.roleBy]), [['22', 'viewers', 'text'], ['11', 'ingest', 'samples'], ['33', 'viewers', 'samples']]);
    const ins = d.find((s) => s.queryId === '11')!;
    assert.equal(ins.calls, 100);
    assert.equal(ins.meanTimeMs, 0.5);
    assert.equal(ins.walBytes, 20000);
    assert.equal(ins.rows, 100);
    assert.equal(roles.has('0'), false);
  });
});

const snap = (atMs: number, over: Partial<CounterSnapshot> = {}): CounterSnapshot => ({
  atMs, lsnBytes: 0, wal: null, bgwriter: null, database: null, tables: {}, ...over,
});

describe('server counters', () => {
  test('LSN text to bytes', () => {
    assert.equal(lsnToBytes('0/0'), 0);
    assert.equal(lsnToBytes('0/16B3748'), 0x16b3748);
    assert.equal(lsnToBytes('1/0'), 2 ** 32);
    assert.equal(lsnToBytes('16/B374D848'), 0x16 * 2 ** 32 + 0xb374d848);
    assert.throws(() => lsnToBytes('nope'));
  });
  test('per-row figures over the measure phase', () => {
    const b = snap(1000, { lsnBytes: 1_000_000, wal: { records: 10, fpi: 2, bytes: 900 }, bgwriter: { checkpointsTimed: 1, checkpointsReq: 0, buffersWritten: 50 },
      database: { commits: 5, rollbacks: 0, blksHit: 100, blksRead: 10, tempBytes: 0 }, tables: { http_request: { ins: 10, upd: 0, del: 0, dead: 0, autovacuum: 1, autoanalyze: 0 } } });
    const a = snap(11_000, { lsnBytes: 3_000_000, wal: { records: 2010, fpi: 102, bytes: 1_950_900 }, bgwriter: { checkpointsTimed: 2, checkpointsReq: 1, buffersWritten: 1050 },
      database: { commits: 1005, rollbacks: 1, blksHit: 4100, blksRead: 10, tempBytes: 0 }, tables: { http_request: { ins: 2010, upd: 0, del: 0, dead: 3, autovacuum: 2, autoanalyze: 1 }, http_request_1min: { ins: 5, upd: 7, del: 0, dead: 7, autovacuum: 0, autoanalyze: 0 } } });
    const c = diffCounters(b, a, 2000);
    assert.equal(c.walBytes, 2_000_000);
    assert.equal(c.walMbPerS, 0.2);
    assert.equal(c.checkpointsTimed, 1);
    assert.equal(c.checkpointsRequested, 1);
    const p = perRow(c);
    assert.equal(p.walBytes, 1000);
    assert.equal(p.statWalBytes, 975);
    assert.equal(p.fpi, 0.05);
    assert.equal(p.buffersWritten, 0.5);
    assert.equal(p.blocksTouched, 2);
    assert.deepEqual(diffTables(b, a).http_request, { inserted: 2000, updated: 0, deleted: 0, deadTuplesEnd: 3, autovacuumRuns: 1, autoanalyzeRuns: 1 });
    assert.equal(diffTables(b, a).http_request_1min?.updated, 7);
    assert.equal(perRow(diffCounters(b, a, 0)).walBytes, null);
    const secs = counterSeconds([b, snap(2000, { lsnBytes: 1_500_000 })]);
    assert.deepEqual(secs, [{ second: 2, walBytesPerS: 500_000, fpiPerS: null, buffersWrittenPerS: null, commitsPerS: null }]);
  });
});

describe('plan shapes', () => {
  test('top node, scans, rows and buffers of a plain plan', () => {
    const explain = [{ Plan: { 'Node Type': 'Aggregate', 'Actual Rows': 5, 'Actual Loops': 1, 'Shared Hit Blocks': 52, 'Shared Read Blocks': 3,
      Plans: [{ 'Node Type': 'Index Scan', 'Relation Name': 'http_request_1min', 'Index Name': 'x' }, { 'Node Type': 'Seq Scan', 'Relation Name': 'http_request' }] },
      'Execution Time': 1.25 }];
    const p = planShape(explain, 'rollup-minutes', '1h', 'plans/rollup-minutes-1h.json');
    assert.equal(p.topNode, 'Aggregate');
    assert.deepEqual(p.scans, ['Index Scan on http_request_1min', 'Seq Scan on http_request']);
    assert.equal(p.rows, 5);
    assert.equal(p.sharedHit, 52);
    assert.equal(p.executionMs, 1.25);
    assert.equal(p.citusTasks, undefined);
    assert.equal(describePlan(p), 'Aggregate ← Index Scan on http_request_1min, Seq Scan on http_request; 5 rows; 52 hit/3 read');
  });
  test('Citus: task count and router vs multi-shard', () => {
    const task = (n: number) => [{ Plan: { 'Node Type': 'Custom Scan', 'Custom Plan Provider': 'Citus Adaptive', 'Actual Rows': 1, 'Actual Loops': 1,
      'Distributed Query': { Job: { 'Task Count': n, Tasks: [{ 'Remote Plan': [[{ Plan: { 'Node Type': 'Seq Scan', 'Relation Name': 'http_request_102008' } }]] }] } } } }];
    const multi = planShape(task(32), 'raw-minutes', '1d', 'f');
    assert.equal(multi.topNode, 'Custom Scan (Citus Adaptive)');
    assert.equal(multi.citusTasks, 32);
    assert.equal(multi.citusRouter, false);
    assert.deepEqual(multi.scans, ['Seq Scan on http_request_102008']);
    assert.match(describePlan(multi), /32 tasks, multi-shard/);
    assert.equal(planShape(task(1), 'tenant-raw-minutes', '1d', 'f').citusRouter, true);
  });
});

describe('/proc parsing', () => {
  test('stat fields follow the last parenthesis', () => {
    const line = '4242 (postgres: rtbench (w1)) S 100 4242 4242 0 -1 4194560 100 0 0 0 70 30 5 6 20 0 1 0 123 0 0';
    assert.deepEqual(parseProcStat(line), { pid: 4242, ppid: 100, ticks: 100, childTicks: 11 });
    assert.equal(parseProcStat('garbage'), null);
  });
  test('a server\'s ticks: the postmaster, its ended children, its live children', () => {
    const stats = [
      { pid: 100, ppid: 1, ticks: 10, childTicks: 40 },
      { pid: 101, ppid: 100, ticks: 5, childTicks: 0 },
      { pid: 102, ppid: 100, ticks: 7, childTicks: 0 },
      { pid: 200, ppid: 1, ticks: 1000, childTicks: 0 },
    ];
    assert.equal(serverTicks(100, stats), 62);
  });
  test('PSI some total', () => {
    assert.equal(parsePressureTotalUs('some avg10=83.11 avg60=72.93 avg300=40.38 total=175532163\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n'), 175532163);
    assert.equal(parsePressureTotalUs(''), null);
  });
});

describe('server.csv', () => {
  test('one row per second with role × wait class columns', () => {
    const w = new WaitAggregator();
    w.add(0, [{ role: 'ingest', wait: 'CPU' }]);
    w.add(1000, [{ role: 'ingest', wait: 'Lock:relation' }, { role: 'ingest', wait: 'Lock:tuple' }]);
    const csv = serverCsv({
      waits: w.seconds(),
      counters: [{ second: 1, walBytesPerS: 1234.4, fpiPerS: 1, buffersWrittenPerS: null, commitsPerS: 200 }],
      machine: [],
      measureStartMs: 1000,
      measureEndMs: 2000,
    });
    const [header, r0, r1] = csv.trim().split('\n');
    assert.equal(header?.split(',').slice(0, 5).join(','), 'second,phase,samples,ingest_CPU,ingest_Lock');
    assert.equal(r0?.split(',').slice(0, 5).join(','), '0,warmup,1,1,0');
    assert.equal(r1?.split(',').slice(0, 8).join(','), '1,measure,1,0,2,1234,1,');
  });
});

describe('statement text', () => {
  test('probe headers are dropped before the role is read from the text', async () => {
    const { displayText } = await import('../../src/telemetry/statements.js');
    const probe = `-- probe: raw-minutes\n-- reads: raw\n-- ${'x'.repeat(400)}\nSELECT site_id, count(*)\n  FROM http_request WHERE ingest_time > now() - $1::interval GROUP BY 1`;
    assert.equal(displayText(probe), 'SELECT site_id, count(*) FROM http_request WHERE ingest_time > now() - $1::interval GROUP BY 1');
    assert.equal(roleByText(probe), 'viewers');
    assert.equal(displayText('x'.repeat(400)).length, 300);
    // The window parameter far into a long statement still names the viewers.
    assert.equal(roleByText(`SELECT ${'a, '.repeat(200)} b FROM http_request WHERE x > now() - $1::interval`), 'viewers');
  });
});

describe('server in the reports', () => {
  const server = {
    sampleIntervalMs: 100, samplesSkipped: 0,
    waits: { ingest: { samples: 100, avgActiveSessions: 0.5, shares: { CPU: 0.41, 'Lock:relation': 0.33, 'LWLock:WALWrite': 0.12, 'IO:WALSync': 0.14 } }, rollup: { samples: 4, avgActiveSessions: 0.04, shares: { CPU: 1 } } },
    statements: [{ queryId: '1', query: 'INSERT INTO http_request (site_id) VALUES ($1)', role: 'ingest', roleBy: 'samples', calls: 1000, totalTimeMs: 50, meanTimeMs: 0.05, rows: 1000, sharedBlksHit: 3000, sharedBlksRead: 0, walBytes: 240000 }],
    perRow: { walBytes: 323.4, statWalBytes: 321, walRecords: 3.16, fpi: 0.01, buffersWritten: 0.2, blocksTouched: 7.6 },
    counters: { measureMs: 10000, rowsIngested: 2000, walBytes: 646800, walMbPerS: 0.0647, statWalBytes: 642000, walRecords: 6320, walFpi: 20, checkpointsTimed: 0, checkpointsRequested: 1, buffersWritten: 400, commits: 2100, rollbacks: 0, blksHit: 15000, blksRead: 200, tempBytes: 0 },
    tables: {}, rollupWalBytesPerRun: 29526,
    plans: [{ probe: 'raw-minutes', window: '1d', file: 'plans/raw-minutes-1d.json', topNode: 'Sort', scans: ['Seq Scan on http_request'], rows: 5, sharedHit: 40, sharedRead: 0, executionMs: 1.2 }],
    unavailable: ['pg_stat_statements not installed: statements by role skipped (add pg_stat_statements to shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements)'],
  } as const;
  test('the console block names the top waits per role, WAL/row and checkpoints; too few samples say insufficient', async () => {
    const { serverBlock } = await import('../../src/report/server-block.js');
    const text = serverBlock({ server } as never);
    assert.match(text, /ingest {5}0\.50 active: 41% CPU, 33% Lock:relation, 14% IO:WALSync/);
    assert.match(text, /rollup {5}insufficient \(n=4 samples\)/);
    assert.match(text, /WAL {8}323 B\/row \(pg_stat_wal 321\), 0\.06 MB\/s/);
    assert.match(text, /rollup {5}28\.8 kB WAL per run/);
    assert.match(text, /checkpoints 0 timed, 1 requested/);
    assert.match(text, /raw-minutes 1d +Sort ← Seq Scan on http_request/);
    assert.match(text, /unavailable: pg_stat_statements not installed/);
    assert.equal(serverBlock({} as never), '');
  });
  test('plan shape changes between two runs are notes', async () => {
    const { planChanges } = await import('../../src/compare/compare.js');
    const other = { ...server, plans: [{ ...server.plans[0], topNode: 'Sort', scans: ['Index Scan on http_request'] }] };
    assert.deepEqual(planChanges({ server } as never, { server: other } as never),
      ['plan of raw-minutes 1d differs: A Sort ← Seq Scan on http_request; B Sort ← Index Scan on http_request']);
    assert.deepEqual(planChanges({ server } as never, { server } as never), []);
  });
  test('compare-targets rows: work per row and wait shares per role side by side', async () => {
    const { comparisonRows, comparisonTable } = await import('../../src/report/comparison.js');
    const ingest = { achievedRateHz: 200, response: { p50Us: 1, p99Us: 2 }, service: { p99Us: 2 }, errors: 0 };
    const other = { ...server, perRow: { ...server.perRow, walBytes: 646.8 }, waits: { ingest: { samples: 100, avgActiveSessions: 1, shares: { 'Lock:relation': 0.6, CPU: 0.4 } } } };
    const rows = comparisonRows({ ingest, server } as never, { ingest, server: other } as never);
    const wal = rows.find((r) => r.path === 'server.perRow.walBytes')!;
    assert.equal(wal.ratio, 646.8 / 323.4);
    const lock = rows.find((r) => r.path === 'server.waits.ingest.shares.Lock:relation')!;
    assert.deepEqual([lock.a, lock.b], [0.33, 0.6]);
    assert.equal(rows.find((r) => r.path === 'server.waits.rollup.avgActiveSessions')?.b, null);
    assert.match(comparisonTable(rows, 'pg', 'citus'), /server ingest Lock:relation share\s*│\s*33\.0%\s*│\s*60\.0%/);
  });
  test('report tables and the page\'s server charts from summary.server and server.csv', async () => {
    const { serverTables, serverSeconds, parseServerCsv } = await import('../../src/report/server-report.js');
    const { serverTimeCharts, timeline } = await import('../../src/report/page-script.js');
    const { emptyModel } = await import('../../src/report/page-model.js');
    const ids = serverTables(server as never).map((t) => t.id);
    assert.deepEqual(ids, ['server-work', 'server-waits', 'server-statements', 'server-plans', 'server-unavailable']);
    const csv = 'second,phase,samples,ingest_CPU,ingest_Lock,wal_bytes_per_s,wal_fpi_per_s,buffers_written_per_s,commits_per_s,server_cores,client_cores,client_main_cores,cpu_pressure,sampler_server_cores\n' +
      '0,warmup,10,0.1,0,50000,0,0,100,0.1,0.2,0.05,0.3,0.01\n1,measure,10,0.2,2,60000,,,,0.1,0.2,0.05,0.4,0.01\n2,after,10,0,0,1,,,,,,,,\n';
    assert.equal(parseServerCsv(csv).rows[1]!.ingest_Lock, 2);
    assert.equal(parseServerCsv(csv).rows[1]!.wal_fpi_per_s, null);
    const seconds = serverSeconds(csv, 0);
    // The 'after' second is left out; t is the end of each second.
    assert.deepEqual(seconds.map((x) => x.t), [1, 2]);
    const model = emptyModel('run', 't');
    model.steps.push({ index: 0, runId: 'r', side: '', rateHz: 10, warmupS: 1, durationS: 1 });
    model.server = seconds;
    const charts = serverTimeCharts(model, timeline(model));
    assert.deepEqual(charts.map((c) => c.id), ['server-waits', 'server-cpu', 'server-wal']);
    assert.deepEqual(charts[0]!.series.map((x) => x.name), ['ingest Lock', 'ingest CPU']);
    assert.deepEqual(charts[0]!.xs, [1, 2]);
    assert.deepEqual(charts[2]!.series[0]!.values, [0.05, 0.06]);
    assert.deepEqual(serverSeconds(undefined, 0), []);
  });
});

describe('statement roles seen with the harness', () => {
  test('a rollup function also run by the set-up and the audit is the rollup\'s', () => {
    const roles: QueryRoles = new Map();
    noteQueryRole(roles, '7', 'rollup');
    noteQueryRole(roles, '7', 'harness');
    noteQueryRole(roles, '8', 'viewers');
    noteQueryRole(roles, '8', 'ingest');
    const after = [stmt({ key: 'a', queryId: '7', query: 'SELECT f()', calls: 2 }), stmt({ key: 'b', queryId: '8', query: 'SELECT 1', calls: 1 })];
    assert.deepEqual(diffStatements([], after, roles).map((s) => s.role).sort(), ['mixed', 'rollup']);
  });
});
