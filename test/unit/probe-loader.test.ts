import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkPairs, parseProbeFile, probeParams, renderProbe, runOrder, type ProbeDef } from '../../src/probe/definition.js';
import { loadProbes } from '../../src/probe/loader.js';
import { UsageError } from '../../src/errors.js';

const GOOD_RAW = `-- probe: good-raw
-- reads: raw
-- pair: good-rollup
-- result: scalar

-- free comment: not part of the header
SELECT count(*) FROM http_request WHERE ingest_time > now() - $1::interval;
`;
const GOOD_ROLLUP = `-- probe: good-rollup
-- reads: rollup
-- requires: hll
-- pair: good-raw
-- result: scalar

SELECT hll_cardinality(hll_union_agg(distinct_ip_addresses))::bigint
FROM {{rollup_table}} WHERE ingest_time > now() - $1::interval;
`;

async function withDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rtbench-probes-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

async function loadError(dir: string): Promise<UsageError> {
  try {
    await loadProbes(dir);
  } catch (err) {
    assert.ok(err instanceof UsageError, `UsageError expected, got ${String(err)}`);
    return err;
  }
  assert.fail('loadProbes should have thrown');
}

describe('loadProbes', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('reads a good pair', async () => {
    const dir = await withDir({ 'good-raw.sql': GOOD_RAW, 'good-rollup.sql': GOOD_ROLLUP, 'notes.txt': 'ignored' });
    dirs.push(dir);
    const probes = await loadProbes(dir);
    assert.deepEqual(
      probes.map((p) => [p.name, p.reads, p.requires, p.pair, p.result]),
      [
        ['good-raw', 'raw', [], 'good-rollup', 'scalar'],
        ['good-rollup', 'rollup', ['hll'], 'good-raw', 'scalar'],
      ],
    );
    assert.match(probes[0]?.sqlTemplate ?? '', /^-- free comment/);
  });

  test('a file without header: one error naming the file; good files do not hide it', async () => {
    const dir = await withDir({ 'good-raw.sql': GOOD_RAW, 'good-rollup.sql': GOOD_ROLLUP, 'bare.sql': 'SELECT 1 WHERE $1::interval IS NOT NULL;\n' });
    dirs.push(dir);
    const err = await loadError(dir);
    assert.equal(err.problems.length, 1);
    assert.match(err.problems[0] ?? '', /bare\.sql: missing header/);
    assert.ok(err.problems[0]?.includes(path.join(dir, 'bare.sql')), 'the full path is named');
  });

  test('every bad file reported at once, one line each, all its problems on that line', async () => {
    const dir = await withDir({
      'good-raw.sql': GOOD_RAW,
      'good-rollup.sql': GOOD_ROLLUP,
      'typo.sql': '-- probe: typo\n-- reads: raw\n-- require: hll\n-- result: table\nSELECT 1 WHERE now() > now() - $1::interval;\n',
      'wrong-name.sql': '-- probe: other\n-- reads: rollup\n-- result: rows\nSELECT * FROM http_request_1min WHERE $2 > 0;\n',
    });
    dirs.push(dir);
    const err = await loadError(dir);
    assert.equal(err.problems.length, 2);
    const [typo, wrong] = [err.problems.find((p) => p.includes('typo.sql')) ?? '', err.problems.find((p) => p.includes('wrong-name.sql')) ?? ''];
    assert.match(typo, /unknown header key "require"/);
    assert.match(typo, /"result: table" must be rows or scalar/);
    assert.match(wrong, /differs from the file name "wrong-name"/);
    assert.match(wrong, /\$1/);
    assert.match(wrong, /\{\{rollup_table\}\}/);
  });

  test('pairs must exist, point back, and join raw with rollup', async () => {
    const lonely = GOOD_RAW.replace('good-rollup', 'missing-one');
    const dir = await withDir({ 'good-raw.sql': lonely, 'good-rollup.sql': GOOD_ROLLUP });
    dirs.push(dir);
    const err = await loadError(dir);
    assert.equal(err.problems.length, 2);
    assert.match(err.problems.join('\n'), /good-raw\.sql: pair "missing-one" is not a probe/);
    assert.match(err.problems.join('\n'), /good-rollup\.sql: pair "good-raw" does not name "good-rollup"/);
  });

  test('a pair whose partner file is invalid reports only the invalid file', async () => {
    const dir = await withDir({ 'good-raw.sql': GOOD_RAW, 'good-rollup.sql': 'SELECT 1;\n' });
    dirs.push(dir);
    const err = await loadError(dir);
    assert.equal(err.problems.length, 1);
    assert.match(err.problems[0] ?? '', /good-rollup\.sql: missing header/);
  });

  test('an empty or missing directory is an error', async () => {
    const dir = await withDir({});
    dirs.push(dir);
    assert.match((await loadError(dir)).message, /no \*\.sql probe files/);
    assert.match((await loadError(path.join(dir, 'nope'))).message, /probe directory/);
  });

  test("the repository's own probes load, in pairs", async () => {
    const probes = await loadProbes();
    const names = probes.map((p) => p.name).sort();
    const fleet = ['country-raw', 'country-rollup', 'distinct-exact', 'distinct-hll', 'raw-minutes', 'rollup-minutes'];
    assert.deepEqual(names, [...fleet, ...fleet.map((n) => `tenant-${n}`)]);
    for (const p of probes) assert.equal(p.tenant, p.name.startsWith('tenant-'), p.name);
    assert.deepEqual(probes.find((p) => p.name === 'distinct-hll')?.requires, ['hll']);
    for (const p of probes) assert.ok(p.pair, `${p.name} has a pair`);
    for (const p of probes.filter((x) => x.reads === 'raw')) assert.ok(!/\bLIMIT\b/i.test(p.sqlTemplate.replace(/--[^\n]*/g, '')), `${p.name} has no LIMIT`);
  });
});

describe('tenant panels', () => {
  const head = (name: string): string => `-- probe: ${name}\n-- reads: raw\n-- result: scalar\n\n`;
  test('a tenant-* probe takes the site as $2 and must filter on it; other probes may not use $2', () => {
    const ok = parseProbeFile('tenant-x.sql', `${head('tenant-x')}SELECT count(*) FROM http_request WHERE site_id = $2 AND ingest_time > now() - $1::interval;`);
    assert.equal(ok.status, 'ok');
    if (ok.status === 'ok') {
      assert.equal(ok.probe.tenant, true);
      assert.deepEqual(probeParams(ok.probe, '1 hour', 7), ['1 hour', 7]);
    }
    const noSite = parseProbeFile('tenant-y.sql', `${head('tenant-y')}SELECT count(*) FROM http_request WHERE ingest_time > now() - $1::interval;`);
    assert.equal(noSite.status, 'invalid');
    if (noSite.status === 'invalid') assert.deepEqual(noSite.problems, ['a tenant probe must read one site with site_id = $2']);
    const fleet = parseProbeFile('fleet.sql', `${head('fleet')}SELECT count(*) FROM http_request WHERE site_id = $2 AND ingest_time > now() - $1::interval;`);
    assert.equal(fleet.status, 'invalid');
    if (fleet.status === 'invalid') assert.match(fleet.problems.join('; '), /may use only \$1 .*tenant-<name> also takes the site as \$2/);
    const three = parseProbeFile('tenant-z.sql', `${head('tenant-z')}SELECT $3::int FROM http_request WHERE site_id = $2 AND ingest_time > now() - $1::interval;`);
    assert.equal(three.status, 'invalid');
  });
});

describe('probe definitions', () => {
  let raw: ProbeDef;
  let rollup: ProbeDef;
  before(() => {
    const a = parseProbeFile('good-raw.sql', GOOD_RAW);
    const b = parseProbeFile('good-rollup.sql', GOOD_ROLLUP);
    assert.equal(a.status, 'ok');
    assert.equal(b.status, 'ok');
    if (a.status !== 'ok' || b.status !== 'ok') return;
    raw = a.probe;
    rollup = b.probe;
  });

  test('renderProbe substitutes the quoted rollup table', () => {
    assert.match(renderProbe(rollup, 'http_request_5min'), /FROM "http_request_5min" WHERE/);
    assert.match(renderProbe(rollup, 'we"ird'), /FROM "we""ird"/);
    assert.equal(renderProbe(raw, 'x'), raw.sqlTemplate);
  });

  test('runOrder puts each partner right after its probe', () => {
    const c = { ...raw, name: 'c', pair: undefined };
    assert.deepEqual(runOrder([rollup, c, raw]).map((p) => p.name), ['good-rollup', 'good-raw', 'c']);
  });

  test('checkPairs rejects two raw probes paired', () => {
    const p = checkPairs([raw, { ...rollup, reads: 'raw' }]);
    assert.match(p.get('good-raw')?.[0] ?? '', /reads raw too/);
  });

  test('header stops at the first line not of key: value form; placeholders checked in code only', () => {
    const r = parseProbeFile('x.sql', '-- probe: x\n-- reads: raw\n-- result: rows\n\n-- note {{whatever}} in a comment\nSELECT $1::interval;\n');
    assert.equal(r.status, 'ok');
    const bad = parseProbeFile('x.sql', '-- probe: x\n-- reads: raw\n-- result: rows\nSELECT {{whatever}}, $1::interval;\n');
    assert.equal(bad.status, 'invalid');
    if (bad.status === 'invalid') assert.match(bad.problems.join(), /unknown placeholder \{\{whatever\}\}/);
  });
});
