import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Prng } from '../../src/workload/prng.js';
import { ROW_COLUMNS, RowGenerator, rowToCopyLine, type Row } from '../../src/workload/rows.js';
import { COPY_SQL, paramsInsert, tutorialInsert, tutorialValuesTuple } from '../../src/workload/statements.js';
import { quoteLiteral } from '../../src/sql-quote.js';
import { TUTORIAL_WORKLOAD, type WorkloadShape } from '../../src/config/types.js';

// Compiled to dist/test/unit/, so the repo root is three levels up.
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TEMPLATE = readFileSync(`${REPO_ROOT}sql/workload/tutorial-insert.sql`, 'utf8');

function rows(gen: RowGenerator, n: number): Row[] {
  return Array.from({ length: n }, () => gen.next());
}

function counts<T>(xs: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function assertRoughlyUniform<T>(seen: Map<T, number>, values: readonly T[], total: number): void {
  assert.deepEqual([...seen.keys()].sort(), [...values].sort(), 'only (and every) listed value');
  const expected = total / values.length;
  for (const v of values) {
    const n = seen.get(v) ?? 0;
    assert.ok(Math.abs(n - expected) <= 0.15 * expected, `${String(v)}: ${n} vs expected ${expected}`);
  }
}

describe('Prng', () => {
  test('same seed and stream give the same sequence', () => {
    const a = new Prng(7, 3);
    const b = new Prng(7, 3);
    for (let i = 0; i < 1000; i++) assert.equal(a.nextUint32(), b.nextUint32());
  });

  test('ranges', () => {
    const p = new Prng(1);
    for (let i = 0; i < 10_000; i++) {
      const u = p.nextUint32();
      assert.ok(Number.isInteger(u) && u >= 0 && u < 2 ** 32);
      const f = p.next();
      assert.ok(f >= 0 && f < 1);
      const k = p.below(10);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
    }
  });

  test('nearby seeds and streams differ from the first value', () => {
    const firsts = new Set<number>();
    for (let seed = 0; seed < 4; seed++) for (let stream = 0; stream < 4; stream++) firsts.add(new Prng(seed, stream).nextUint32());
    assert.equal(firsts.size, 16);
  });
});

describe('RowGenerator', () => {
  test('same seed and stream give identical rows (first 1000)', () => {
    assert.deepEqual(rows(new RowGenerator(TUTORIAL_WORKLOAD, 42, 0), 1000), rows(new RowGenerator(TUTORIAL_WORKLOAD, 42, 0), 1000));
  });

  test('a different stream or seed gives different rows', () => {
    const base = rows(new RowGenerator(TUTORIAL_WORKLOAD, 42, 0), 1000);
    const otherStream = rows(new RowGenerator(TUTORIAL_WORKLOAD, 42, 1), 1000);
    const otherSeed = rows(new RowGenerator(TUTORIAL_WORKLOAD, 43, 0), 1000);
    assert.notDeepEqual(otherStream, base);
    assert.notDeepEqual(otherSeed, base);
    // Not merely shifted: the URLs (128 random bits each) share nothing.
    const urls = new Set(base.map((r) => r[1]));
    assert.equal(otherStream.filter((r) => urls.has(r[1])).length, 0);
    assert.equal(otherSeed.filter((r) => urls.has(r[1])).length, 0);
  });

  describe('distributions over 20k rows', () => {
    const N = 20_000;
    const sample = rows(new RowGenerator(TUTORIAL_WORKLOAD, 12345, 2), N);

    test('site_id within [0, 32) and every site seen', () => {
      const sites = counts(sample.map((r) => r[0]));
      for (const s of sites.keys()) assert.ok(Number.isInteger(s) && s >= 0 && s < 32, `site ${s}`);
      assert.equal(sites.size, 32);
    });

    test('countries and status codes only from the lists, roughly uniform', () => {
      assertRoughlyUniform(counts(sample.map((r) => r[2])), TUTORIAL_WORKLOAD.countries, N);
      assertRoughlyUniform(counts(sample.map((r) => r[4])), TUTORIAL_WORKLOAD.statusCodes, N);
    });

    test('IP octets in 2..251, both ends reached, stored with /32 as the tutorial stores inet in TEXT', () => {
      let min = Infinity;
      let max = -Infinity;
      for (const r of sample) {
        assert.match(r[3], /\/32$/);
        const octets = r[3].slice(0, -3).split('.');
        assert.equal(octets.length, 4, r[3]);
        for (const o of octets) {
          assert.match(o, /^\d+$/);
          const n = Number(o);
          min = Math.min(min, n);
          max = Math.max(max, n);
        }
      }
      assert.equal(min, 2);
      assert.equal(max, 251);
    });

    test('response_time_msec in 5..154, both ends reached', () => {
      const rts = sample.map((r) => r[5]);
      assert.ok(rts.every((v) => Number.isInteger(v)));
      assert.equal(Math.min(...rts), 5);
      assert.equal(Math.max(...rts), 154);
    });

    test('url is http://example.com/ and 32 hex digits', () => {
      for (const r of sample) assert.match(r[1], /^http:\/\/example\.com\/[0-9a-f]{32}$/);
      assert.equal(new Set(sample.map((r) => r[1])).size, N, 'urls do not repeat');
    });
  });

  test('a site slice stays within [offset, offset + count)', () => {
    const sites = counts(rows(new RowGenerator(TUTORIAL_WORKLOAD, 1, 0, { offset: 8, count: 8 }), 5000).map((r) => r[0]));
    for (const s of sites.keys()) assert.ok(s >= 8 && s < 16, `site ${s}`);
    assert.equal(sites.size, 8);
  });

  test('custom shape', () => {
    const shape: WorkloadShape = { sites: 3, countries: ['X'], statusCodes: [503] };
    for (const r of rows(new RowGenerator(shape, 5, 0), 500)) {
      assert.ok(r[0] >= 0 && r[0] < 3);
      assert.equal(r[2], 'X');
      assert.equal(r[4], 503);
    }
  });
});

describe('rowToCopyLine', () => {
  test('six tab-separated fields ending in a newline', () => {
    const row = new RowGenerator(TUTORIAL_WORKLOAD, 9, 0).next();
    const line = rowToCopyLine(row);
    assert.ok(line.endsWith('\n'));
    assert.equal(line.indexOf('\n'), line.length - 1, 'one newline only');
    const fields = line.slice(0, -1).split('\t');
    assert.equal(fields.length, 6);
    assert.equal(fields.length, ROW_COLUMNS.length);
    assert.deepEqual(fields, row.map(String));
  });

  test('COPY column list matches the row order', () => {
    assert.equal(COPY_SQL, 'COPY http_request (site_id, url, request_country, ip_address, status_code, response_time_msec) FROM STDIN');
  });
});

describe('paramsInsert', () => {
  test('3 rows: $1..$18 in order and 3 clock_timestamp()', () => {
    const sql = paramsInsert(3);
    const placeholders = [...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(placeholders, Array.from({ length: 18 }, (_, i) => i + 1));
    assert.equal(sql.match(/clock_timestamp\(\)/g)?.length, 3);
    assert.ok(sql.startsWith('INSERT INTO http_request (site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec) VALUES '));
    assert.ok(sql.includes('($7, clock_timestamp(), $8, $9, $10, $11, $12)'));
  });

  test('1 row', () => {
    assert.ok(paramsInsert(1).endsWith('VALUES ($1, clock_timestamp(), $2, $3, $4, $5, $6)'));
  });
});

describe('tutorial INSERT', () => {
  test('default shape, two VALUES tuples', () => {
    const sql = tutorialInsert(TEMPLATE, TUTORIAL_WORKLOAD, 2);
    assert.ok(sql.startsWith('INSERT INTO http_request (site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec) VALUES ('));
    assert.equal(sql.match(/clock_timestamp\(\)/g)?.length, 2);
    assert.equal(sql.match(/trunc\(random\(\)\*32\)/g)?.length, 2);
    assert.equal(sql.match(/'\{"China","India","USA","Indonesia"\}'::text\[\]/g)?.length, 2);
    assert.equal(sql.match(/ceil\(random\(\)\*4\)/g)?.length, 2);
    assert.equal(sql.match(/'\{200,404\}'::int\[\]/g)?.length, 2);
    assert.equal(sql.match(/ceil\(random\(\)\*2\)/g)?.length, 2);
    const tuple = tutorialValuesTuple(TEMPLATE, TUTORIAL_WORKLOAD);
    assert.equal(sql, `INSERT INTO http_request (site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec) VALUES ${tuple},\n${tuple}`);
    assert.ok(!sql.includes('{{'), 'no placeholder left');
    assert.ok(!sql.includes('--'), 'no comment or marker copied');
    assert.ok(!sql.includes(';'));
  });

  test('custom shape is substituted and quoted', () => {
    const shape: WorkloadShape = { sites: 100, countries: ["Côte d'Ivoire", 'Say "hi"', 'USA'], statusCodes: [200, 500, 503] };
    const sql = tutorialInsert(TEMPLATE, shape, 1);
    assert.ok(sql.includes('trunc(random()*100)'));
    assert.ok(!sql.includes('random()*32'));
    assert.ok(sql.includes(`'{"Côte d''Ivoire","Say \\"hi\\"","USA"}'::text[]`), sql);
    assert.ok(sql.includes('ceil(random()*3)'));
    assert.ok(sql.includes(`'{200,500,503}'::int[]`));
    // Every single quote is part of a '' pair or delimits a literal: an even count overall.
    assert.equal((sql.match(/'/g)?.length ?? 0) % 2, 0);
  });

  test('a template without markers is an error', () => {
    assert.throws(() => tutorialValuesTuple('INSERT INTO t VALUES (1);', TUTORIAL_WORKLOAD), /values-begin/);
  });

  test('quoteLiteral doubles single quotes', () => {
    assert.equal(quoteLiteral("d'Ivoire"), "'d''Ivoire'");
    assert.equal(quoteLiteral("''"), "''''''");
  });
});
