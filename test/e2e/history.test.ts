/**
 * Regression tracking end to end, from real short runs of the built CLI
 * against one test cluster: `history add` five runs into a store, `history
 * list`, `check --history` passes a run with the history's median figures (an unchanged run's verdict is printed: its rate is bench:gate's to count) and fails (99) one against
 * a server made slower (a trigger that sleeps 20 ms per inserted row), too
 * little history is neutral, a corrupt or foreign store file is one clear
 * line (exit 2) with the store untouched, `history report` renders in
 * headless Chromium, and `export` writes the documented shapes. The README's
 * sample workflow is .github/workflows/bench.yml.
 * Set RTBENCH_HISTORY_REPORT=<dir> to keep the trend report.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Summary } from '../../src/results/run-record.js';
import type { LocalCluster } from '../../src/targets/local-cluster.js';
import { MIN_HISTORY } from '../../src/check/gate.js';
import type { PageModel } from '../../src/report/page-model.js';
import { CHROMIUM, drawnCharts, launchBrowser, untilCharts } from '../helpers/browser.js';
import { lines, runCli, type CliResult } from '../helpers/cli.js';
import { pgAvailable, startTestCluster } from '../helpers/cluster.js';
import { withClient } from '../helpers/db.js';
import { useTempArea } from '../helpers/temp.js';

const skip = pgAvailable() ? false : 'PostgreSQL server binaries not installed';
const area = useTempArea('rtbench-e2e-history-');
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** History runs: the gate's minimum history. */
const HISTORY_RUNS = MIN_HISTORY;

const out = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

function cli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { env: { TMPDIR: area.tmpDir, GITHUB_STEP_SUMMARY: undefined, ...env }, timeoutMs: 90_000 });
}

/** Every file of a directory with its bytes, to prove a failed command left it untouched. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const f of (await fs.readdir(dir)).sort()) m.set(f, await fs.readFile(path.join(dir, f), 'utf8'));
  return m;
}

async function readRecordFingerprint(store: string): Promise<string> {
  const [file] = (await fs.readdir(store)).sort();
  return (JSON.parse(await fs.readFile(path.join(store, file!), 'utf8')) as { fingerprint: string }).fingerprint;
}

describe('history store, check --history, report and export from real runs', { skip }, () => {
  let cluster: LocalCluster | undefined;
  let store: string;
  const history: string[] = [];
  let unchanged = '';
  /** The history's median run (by p50) under a new run id. */
  let middle = '';
  const same = (): string => unchanged;
  let slower = '';
  let dashboardRun = '';
  /** Checked runs this machine left invalid. */
  const invalid = new Set<string>();
  const notes: string[] = [];

  /**
   * One short run (4 s at 200 rows/s, the same seed and settings: one
   * fingerprint; a 20 ms late threshold, as timers on this shared 2-core
   * machine run late). A run the machine marks invalid is re-run once. If it
   * is still invalid: a history run (`forHistory`) cannot join the store, so
   * its figures (real ones) are used from a copy marked valid; a run to be
   * checked stays invalid, and the check must then say so (exit 3). The test
   * reports either.
   */
  async function realRun(label: string, extra: readonly string[] = [], forHistory = false): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const resultsDir = await fs.mkdtemp(path.join(area.base, `results-${label}-`));
      const r = await cli(['run', '--url', cluster!.url, '--duration', '4', '--warmup', '1', '--rate', '200', '--seed', '7', '--name', 'hist',
        '--late-threshold-ms', '20', '--progress', '0', '--results-dir', resultsDir, ...extra]);
      assert.ok(r.code === 0 || r.code === 3, `run ${label}: ${out(r)}`);
      const [id] = await fs.readdir(resultsDir);
      const dir = path.join(resultsDir, id!);
      const file = path.join(dir, 'summary.json');
      const s = JSON.parse(await fs.readFile(file, 'utf8')) as Summary & { valid: boolean; invalidReasons: string[] };
      if (s.valid) return dir;
      if (attempt === 2 && !forHistory) {
        notes.push(`run ${label} invalid twice (${s.invalidReasons.join('; ')}): its check must exit 3`);
        invalid.add(dir);
        return dir;
      }
      if (attempt === 2) {
        notes.push(`run ${label} invalid twice (${s.invalidReasons.join('; ')}); its figures are used from a copy marked valid`);
        s.valid = true;
        s.invalidReasons = [];
        await fs.writeFile(file, JSON.stringify(s, null, 2) + '\n');
        return dir;
      }
    }
  }

  /** The run itself, or (when this machine left it invalid) a copy marked valid, for tests about shapes and drawing, not verdicts. */
  async function validCopy(dir: string): Promise<string> {
    if (!invalid.has(dir)) return dir;
    const copy = `${dir}-as-valid`;
    await fs.cp(dir, copy, { recursive: true });
    const file = path.join(copy, 'summary.json');
    const s = JSON.parse(await fs.readFile(file, 'utf8')) as Summary & { valid: boolean; invalidReasons: string[] };
    s.valid = true;
    s.invalidReasons = [];
    await fs.writeFile(file, JSON.stringify(s, null, 2) + '\n');
    return copy;
  }

  before(async () => {
    cluster = await startTestCluster({ baseDir: area.tmpDir });
    store = path.join(area.base, 'store');
    // Five: the gate's minimum history (src/check/gate.ts MIN_HISTORY); below it no figure can fail.
    for (let i = 0; i < HISTORY_RUNS; i++) history.push(await realRun(`h${i}`, [], true));
    unchanged = await realRun('same');
    // The verdict on an unchanged run is a statistic of this box (npm run bench:gate measures its false-alarm rate:
    // on a loaded 2-core box a fresh run's p50 lands off the history's whenever the load moved between them). What a
    // test can hold on any box: a run whose figures are the history's median run passes. It is that run's dir under
    // a new run id (a record is never held against itself).
    const p50s = await Promise.all(history.map(async (d) => (JSON.parse(await fs.readFile(path.join(d, 'summary.json'), 'utf8')) as Summary).ingest.response.p50Us));
    const mid = [...p50s].sort((x, y) => x - y)[Math.floor(p50s.length / 2)]!;
    const medianRun = history[p50s.indexOf(mid)]!;
    middle = `${medianRun}-again`;
    await fs.cp(medianRun, middle, { recursive: true });
    for (const f of ['run.json', 'summary.json']) {
      const file = path.join(middle, f);
      await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replaceAll(path.basename(medianRun), path.basename(middle)));
    }
    // The dashboard side too (rollup, freshness markers, probes, audit), for the figures a run has "where present".
    dashboardRun = await realRun('dash', ['--rollup', 'incremental', '--rollup-interval', '1s', '--preload-rows', '2000', '--viewers', '1', '--refresh', '1s', '--min-samples', '3'], true);
    // The server made slower: every inserted row waits 20 ms. The p50 of an unchanged run was 1 ms on a quiet box and
    // 2.6 ms ± 1.05 ms (median ± 1.4826·MAD of five) at load 12, where a 5 ms sleep (p50 6.5 ms) stayed under the robust
    // limit (6.9 ms): the regression must stand well clear of what this box does to an unchanged run.
    await withClient(cluster.url, async (c) => {
      await c.query(`CREATE FUNCTION rtbench_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$`);
      await c.query('CREATE TRIGGER rtbench_test_slow BEFORE INSERT ON http_request FOR EACH ROW EXECUTE FUNCTION rtbench_test_slow()');
    });
    slower = await realRun('slow');
  }, { timeout: 300_000 });
  after(async () => {
    await cluster?.stop();
  });

  test('history add: five runs appended, one record each; adding again keeps one', async (t) => {
    for (const n of notes) t.diagnostic(n);
    const r = await cli(['history', 'add', store, ...history, '--branch', 'main', '--testbed', 'e2e']);
    assert.equal(r.code, 0, out(r));
    assert.equal(lines(r.stdout).filter((l) => l.startsWith('added ')).length, HISTORY_RUNS, r.stdout);
    const again = await cli(['history', 'add', store, history[0]!, '--branch', 'main', '--testbed', 'e2e']);
    assert.equal(again.code, 0, out(again));
    assert.match(again.stdout, /^kept .*: already in the store/m);
    const files = (await fs.readdir(store)).sort();
    assert.equal(files.length, HISTORY_RUNS, files.join(', '));
    const rec = JSON.parse(await fs.readFile(path.join(store, files[0]!), 'utf8')) as Record<string, unknown>;
    assert.equal(rec['kind'], 'rtbench-history-record');
    assert.equal(rec['branch'], 'main');
    assert.equal(rec['testbed'], 'e2e');
    assert.match(String(rec['revision']), /^[0-9a-f]{40}$/);
    const fps = new Set(await Promise.all(files.map(async (f) => (JSON.parse(await fs.readFile(path.join(store, f), 'utf8')) as { fingerprint: string }).fingerprint)));
    assert.equal(fps.size, 1, 'same settings, one fingerprint (the seed and results dir are not part of it)');
  });

  test('history list prints one row per record', async () => {
    const r = await cli(['history', 'list', store]);
    assert.equal(r.code, 0, out(r));
    for (const dir of history) assert.ok(r.stdout.includes(path.basename(dir)), `${path.basename(dir)} listed:\n${r.stdout}`);
    assert.match(r.stdout, new RegExp(`│ ${HISTORY_RUNS} +│`));
  });

  test('check --history on an unchanged run: a verdict and the table (which verdict is the box\'s, counted by bench:gate)', async (t) => {
    for (const n of notes) t.diagnostic(n);
    const r = await cli(['check', '--history', store, '--testbed', 'e2e', unchanged]);
    t.diagnostic(r.stdout);
    if (invalid.has(unchanged)) {
      // The client, not the server, set the figures: no verdict on them, exit 3.
      assert.equal(r.code, 3, out(r));
      assert.match(r.stdout, /^### rtbench check --history: INVALID RUN/);
      return;
    }
    assert.ok(r.code === 0 || r.code === 99, out(r));
    assert.match(r.stdout, /\| `ingest.response.p50` \| smaller \| 5 \| [^|]+ ± [^|]+ \| [^|]+ \(n=\d+\)[^|]* \| [^|]+ \| <= [^|]+ \| (PASS|\*\*FAIL\*\*) \|/);
  });

  test('check --history passes a run with the history\'s median figures (exit 0) and writes the step summary', async (t) => {
    const summaryFile = path.join(area.base, 'step-summary.md');
    const r = await cli(['check', '--history', store, '--testbed', 'e2e', middle], { GITHUB_STEP_SUMMARY: summaryFile });
    t.diagnostic(r.stdout);
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, /^### rtbench check --history: PASS/);
    assert.match(r.stdout, /\| `ingest.response.p50` \| smaller \| 5 \| [^|]+ ± [^|]+ \| [^|]+ \(n=\d+\)[^|]* \| [^|]+ \| <= [^|]+ \| PASS \|/);
    // A p99 of a 4 s run against five others is noise on a shared 2-core box: it needs 10 records and 299 samples to be judged.
    assert.match(r.stdout, /\| `ingest.response.p99` \| smaller \| 5 \|.*\| insufficient history \(n=5 < 10 for a tail percentile\) \|/);
    assert.match(r.stdout, /\| `ingest.errors` \| = 0 \| 5 \|.*\| == 0 \| PASS \|/);
    assert.ok((await fs.readFile(summaryFile, 'utf8')).includes(r.stdout));
  });

  test('check --history fails a run against a server made slower (exit 99)', async (t) => {
    const r = await cli(['check', '--history', store, '--testbed', 'e2e', slower]);
    t.diagnostic(r.stdout);
    for (const n of notes) t.diagnostic(n);
    if (invalid.has(slower)) {
      assert.equal(r.code, 3, out(r));
      return;
    }
    assert.equal(r.code, 99, out(r));
    assert.match(r.stdout, /^### rtbench check --history: FAIL/);
    assert.match(r.stdout, /\| `ingest.response.p50` \| smaller \| 5 \|.*\| \*\*FAIL\*\* \|/);
    assert.match(r.stderr, /regressed against the history: .*ingest\.response\.p50/);
  });

  test('too little history is neutral: four records, or another testbed or branch, cannot fail', async () => {
    const small = path.join(area.base, 'store-small');
    assert.equal((await cli(['history', 'add', small, ...history.slice(0, HISTORY_RUNS - 1), '--branch', 'main', '--testbed', 'e2e'])).code, 0);
    const slow = await validCopy(slower);
    const r = await cli(['check', '--history', small, '--testbed', 'e2e', slow]);
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, /\| `ingest.response.p50` \| smaller \| 4 \|.*\| insufficient history \(n=4 < 5\) \|/);
    assert.match(r.stderr, /insufficient history/);
    const other = await cli(['check', '--history', store, '--testbed', 'elsewhere', slow]);
    assert.equal(other.code, 0, out(other));
    assert.match(other.stdout, /insufficient history \(n=0 < 5\)/);
  });

  test('a corrupt or a foreign file in the store: one line naming it, exit 2, store untouched', async () => {
    const broken = path.join(area.base, 'store-broken');
    await fs.cp(store, broken, { recursive: true });
    const [first] = (await fs.readdir(broken)).sort();
    const text = await fs.readFile(path.join(broken, first!), 'utf8');
    await fs.writeFile(path.join(broken, first!), text.slice(0, text.length / 2));
    const before = await snapshot(broken);
    for (const args of [['history', 'add', broken, unchanged, '--branch', 'main'], ['history', 'list', broken], ['check', '--history', broken, unchanged]]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args[0]} ${args[1]}: ${out(r)}`);
      const errLines = lines(r.stderr);
      assert.equal(errLines.length, 1, r.stderr);
      assert.match(errLines[0]!, new RegExp(`^rtbench: history store .*store-broken: ${first!.replace(/\./g, '\\.')}: not valid JSON \\(corrupt record\\)$`));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.deepEqual(await snapshot(broken), before, 'nothing added, nothing rewritten');

    const foreign = path.join(area.base, 'store-foreign');
    await fs.cp(store, foreign, { recursive: true });
    await fs.writeFile(path.join(foreign, 'package.json'), '{"name": "x"}\n');
    const fr = await cli(['history', 'add', foreign, unchanged, '--branch', 'main']);
    assert.equal(fr.code, 2, out(fr));
    assert.match(fr.stderr, /^rtbench: history store .*store-foreign: package\.json: not an rtbench history record/);
    assert.equal((await fs.readdir(foreign)).length, HISTORY_RUNS + 1, 'the unchanged run was not added');
  });

  test('history report: a chart per figure with the band and the regression, rendered by headless Chromium', { timeout: 120_000 }, async (t) => {
    const withSlow = path.join(area.base, 'store-report');
    await fs.cp(store, withSlow, { recursive: true });
    assert.equal((await cli(['history', 'add', withSlow, await validCopy(unchanged), await validCopy(slower), '--branch', 'main', '--testbed', 'e2e'])).code, 0);
    const outDir = path.join(area.base, 'trend');
    const r = await cli(['history', 'report', withSlow, '--out', outDir]);
    assert.equal(r.code, 0, out(r));
    assert.match(r.stdout, new RegExp(`${HISTORY_RUNS + 2} runs, \\d+ figures, [1-9]\\d* regressions? flagged`));
    // Without --out the report goes beside the store, so the store still holds only records.
    const beside = await cli(['history', 'report', withSlow]);
    assert.equal(beside.code, 0, out(beside));
    assert.ok((await fs.stat(`${withSlow}-report/report.html`)).isFile());
    assert.equal((await cli(['history', 'list', withSlow])).code, 0);
    const keep = process.env['RTBENCH_HISTORY_REPORT'];
    if (keep) await fs.cp(outDir, keep, { recursive: true });
    const html = await fs.readFile(path.join(outDir, 'report.html'), 'utf8');
    const md = await fs.readFile(path.join(outDir, 'report.md'), 'utf8');
    assert.match(md, new RegExp(`\\| ingest\\.response\\.p50 \\| smaller is better \\| ${HISTORY_RUNS + 2} \\|.*\\| \\*\\*regression\\*\\* \\|`));
    const model = JSON.parse(/<script type="application\/json" id="rtbench-model">([^<]*)<\/script>/.exec(html)![1]!) as PageModel;
    const charts = model.charts.length;
    assert.ok(charts >= 4, `${charts} charts`);
    assert.ok(model.charts.some((c) => c.series.some((x) => x.name === 'gate limit')), 'the gate limit drawn');
    assert.ok(model.charts.some((c) => c.fills?.some((f) => f.upper === 'gate limit')), 'the gate band filled');
    assert.ok(model.charts.some((c) => c.series.some((x) => x.name === 'regression' && x.values.some((v) => v !== null))), 'a regression marked');
    if (!CHROMIUM) {
      t.skip('headless Chromium not installed (Debian: apt-get install -y chromium)');
      return;
    }
    const browser = await launchBrowser();
    try {
      const ctx = await browser.browser.newContext({ offline: true });
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(path.join(outDir, 'report.html')).href);
      await untilCharts(page);
      const drawn = await drawnCharts(page);
      assert.equal(drawn.length, charts, 'every chart drawn');
      for (const d of drawn) assert.ok(d.painted > 2000, `${d.id}: ${d.painted} painted pixels`);
      assert.deepEqual(errors, [], 'no console error (CSP violation, script error)');
    } finally {
      await browser.close();
    }
  });

  test('export: BMF and github-action-benchmark shapes, stdout or --out', async () => {
    const unchanged = await validCopy(same());
    const r = await cli(['export', '--format', 'bmf', unchanged]);
    assert.equal(r.code, 0, out(r));
    const bmf = JSON.parse(r.stdout) as Record<string, Record<string, { value: number }>>;
    // BMF: an object of benchmarks, each an object of measures, each with a numeric "value" (lower_value / upper_value optional).
    for (const [bench, measures] of Object.entries(bmf)) {
      for (const [measure, m] of Object.entries(measures)) {
        assert.equal(typeof m.value, 'number', `${bench}.${measure}`);
        assert.deepEqual(Object.keys(m).filter((k) => !['value', 'lower_value', 'upper_value'].includes(k)), []);
      }
    }
    assert.ok(bmf['ingest.response.p99']!['latency']!.value > 0, 'latency in ns');
    assert.ok(bmf['ingest.achievedRateHz']!['throughput']!.value > 100);
    const file = path.join(area.base, 'gab-smaller.json');
    const g = await cli(['export', '--format', 'github-action-benchmark', '--out', file, unchanged]);
    assert.equal(g.code, 0, out(g));
    assert.equal(g.stdout, '');
    const smaller = JSON.parse(await fs.readFile(file, 'utf8')) as Array<Record<string, unknown>>;
    assert.ok(Array.isArray(smaller) && smaller.length >= 3);
    for (const e of smaller) {
      assert.equal(typeof e['name'], 'string');
      assert.equal(typeof e['unit'], 'string');
      assert.equal(typeof e['value'], 'number');
    }
    assert.ok(!smaller.some((e) => e['name'] === 'ingest.achievedRateHz'), 'the rate is bigger-is-better');
    const big = await cli(['export', '--format', 'github-action-benchmark', '--direction', 'bigger', unchanged]);
    assert.deepEqual((JSON.parse(big.stdout) as Array<{ name: string }>).map((e) => e.name), ['ingest.achievedRateHz']);
    const bad = await cli(['export', '--format', 'csv', unchanged]);
    assert.equal(bad.code, 2);
    assert.equal(lines(bad.stderr).length, 1, bad.stderr);
  });

  test('a run with a rollup and probes: its record and exports hold rollup, freshness, every probe cell and the audit', async () => {
    const dashStore = path.join(area.base, 'store-dash');
    const r = await cli(['history', 'add', dashStore, dashboardRun, '--branch', 'main']);
    assert.equal(r.code, 0, out(r));
    const [file] = await fs.readdir(dashStore);
    const rec = JSON.parse(await fs.readFile(path.join(dashStore, file!), 'utf8')) as { fingerprint: string; figures: Record<string, { direction: string; samples: number | null }> };
    const paths = Object.keys(rec.figures);
    for (const p of ['rollup.duration.p99Us', 'freshness.p99Us', 'audit.lostEvents', 'audit.duplicatedEvents']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    assert.equal(rec.figures['audit.lostEvents']!.direction, 'zero');
    const probeCells = paths.filter((p) => /^probes\.byProbe\.[\w-]+\.\w+\.p50Us$/.test(p));
    const summary = JSON.parse(await fs.readFile(path.join(dashboardRun, 'summary.json'), 'utf8')) as { probes: { byProbe: Record<string, Record<string, { count: number; insufficient?: boolean }>> } };
    const measured = Object.values(summary.probes.byProbe).flatMap((w) => Object.values(w)).filter((c) => c.count > 0 && c.insufficient !== true).length;
    assert.ok(measured > 0, 'the probes ran');
    assert.equal(probeCells.length, measured, 'one figure per measured probe cell');
    const home = await readRecordFingerprint(store);
    assert.notEqual(rec.fingerprint, home, 'a rollup run is another scenario');
    const bmf = JSON.parse((await cli(['export', '--format', 'bmf', dashboardRun])).stdout) as Record<string, Record<string, { value: number }>>;
    assert.ok(bmf['rollup.duration.p99']?.['latency'] && bmf['freshness.p99']?.['latency'] && bmf['audit.lostEvents']?.['count'], Object.keys(bmf).join(', '));
  });

  test('check --baseline with no thresholds uses the default figures (no exit 2)', async () => {
    const r = await cli(['check', '--baseline', unchanged, '--min-effect', '99%', unchanged]);
    assert.ok(r.code === 0 || r.code === 3, out(r));
    assert.match(r.stdout, /`ingest.response.p99 <= \+99%`/);
    assert.match(r.stdout, /`ingest.achievedRateHz >= -99%`/);
    assert.match(r.stdout, /`ingest.errors == 0`/);
  });

  test("the docs' sample workflow (docs/ci-gating.md) is .github/workflows/bench.yml", async () => {
    const workflow = await fs.readFile(path.join(REPO, '.github/workflows/bench.yml'), 'utf8');
    const readme = await fs.readFile(path.join(REPO, 'docs', 'ci-gating.md'), 'utf8');
    const m = /```yaml\n(# \.github\/workflows\/bench\.yml\n[\s\S]*?)```/.exec(readme);
    assert.ok(m, 'a yaml block starting with # .github/workflows/bench.yml');
    assert.equal(m[1], workflow);
  });
});
