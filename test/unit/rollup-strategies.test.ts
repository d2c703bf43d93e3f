import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { planRollup, parseGranularity, rollupSql, rollupTable, ROLLUP_STRATEGIES, type Granularity } from '../../src/rollup/strategies.js';
import { intervalSeconds, periodExpr, renderTemplate, sqlIdent, TemplateError } from '../../src/rollup/template.js';

// Compiled to dist/test/unit/, so the repo root is three levels up; ../shared sits next to it.
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SEED = `${REPO_ROOT}../shared/seeds/000_d65a2e5c9d2cea87.txt`;

describe('parseGranularity', () => {
  test('accepts minutes and hours in the usual spellings', () => {
    assert.equal(parseGranularity('1m'), 1);
    assert.equal(parseGranularity('5m'), 5);
    assert.equal(parseGranularity('15min'), 15);
    assert.equal(parseGranularity('60m'), 60);
    assert.equal(parseGranularity('1h'), 60);
    assert.equal(parseGranularity(' 5 minutes '), 5);
    assert.equal(parseGranularity('5'), 5);
    assert.equal(parseGranularity(15), 15);
  });
  test('rejects other periods with a UsageError naming the choices', () => {
    for (const bad of ['2m', '0', '', 'm', '5s', '1.5m', '2h', '-5m', 30]) {
      assert.throws(() => parseGranularity(bad), (e: Error) => e.name === 'UsageError' && /1m, 5m, 15m, 60m/.test(e.message), String(bad));
    }
  });
});

describe('rollupTable and planRollup', () => {
  test('table and function names per strategy and granularity', () => {
    assert.equal(rollupTable(1), 'http_request_1min');
    assert.equal(rollupTable(60), 'http_request_60min');
    assert.throws(() => rollupTable(2 as Granularity), { name: 'UsageError' });
    const t1 = planRollup({ strategy: 'tutorial', granularityMin: 1, hll: true }).installed;
    assert.equal(t1.functionName, 'rollup_http_request');
    assert.equal(t1.callSql, 'SELECT rollup_http_request()');
    assert.equal(planRollup({ strategy: 'tutorial', granularityMin: 5, hll: true }).installed.functionName, 'rollup_http_request_5min');
    const c = planRollup({ strategy: 'closed-minute', granularityMin: 15, hll: false });
    assert.equal(c.installed.functionName, 'rollup_http_request_closed_15min');
    assert.equal(c.installed.graceS, 10);
    assert.equal(c.input.values.grace, "interval '10 seconds'");
    assert.equal(c.input.values.rollup_name, "'closed-minute:http_request_15min'");
    const i = planRollup({ strategy: 'incremental', granularityMin: 60, hll: true }).installed;
    assert.equal(i.functionName, 'rollup_http_request_incremental_60min');
    assert.equal(i.table, 'http_request_60min');
  });
  test('collects every problem in one UsageError', () => {
    assert.throws(
      () => planRollup({ strategy: 'nightly' as 'tutorial', granularityMin: 7 as Granularity, graceS: -1, hll: true }),
      (e: Error & { problems?: string[] }) => e.name === 'UsageError' && e.problems?.length === 3,
    );
    assert.throws(() => planRollup({ strategy: 'tutorial', granularityMin: 1, graceS: 5, hll: true }), /grace applies to closed-minute only/);
  });
});

describe('renderTemplate', () => {
  const input = { periodMinutes: 1 as Granularity, flags: { hll: true }, values: { table: 'http_request_1min' } };
  test('sections: standalone tag lines vanish with their line; inline tags work too', () => {
    const text = 'a,\n{{#hll}}\n    h,\n{{/hll}}\n    c\n{{^hll}}no hll{{/hll}}';
    assert.equal(renderTemplate(text, input), 'a,\n    h,\n    c\n');
    assert.equal(renderTemplate(text, { ...input, flags: { hll: false } }), 'a,\n    c\nno hll');
  });
  test('period: date_trunc for 1 minute (the tutorial), date_bin from the epoch otherwise', () => {
    assert.equal(renderTemplate('{{period:now()}}', input), "date_trunc('minute', now())");
    assert.equal(renderTemplate('{{period: ingest_time }}', { ...input, periodMinutes: 5 }), "date_bin('5 minutes', ingest_time, TIMESTAMPTZ 'epoch')");
    assert.equal(periodExpr(60, 'x'), "date_bin('60 minutes', x, TIMESTAMPTZ 'epoch')");
    assert.throws(() => periodExpr(2 as Granularity, 'x'), TemplateError);
  });
  test('unknown placeholders and flags, nesting and leftovers are errors', () => {
    assert.throws(() => renderTemplate('{{tabel}}', input), /unknown placeholder \{\{tabel\}\}/);
    assert.throws(() => renderTemplate('{{#citus}}x{{/citus}}', input), /unknown section flag/);
    assert.throws(() => renderTemplate('{{#hll}}{{#hll}}x{{/hll}}{{/hll}}', input), TemplateError);
    assert.throws(() => renderTemplate('{{#hll}}never closed', input), /unrendered/);
    assert.throws(() => renderTemplate('{{toString}}', input), /unknown placeholder/);
  });
  test('values are inserted as given, once, not re-scanned', () => {
    assert.equal(renderTemplate('{{a}}{{b}}', { ...input, values: { a: '{{b', b: '}}' } }), '{{b}}');
  });
  test('identifiers stay bare only when plain; intervals from finite seconds only', () => {
    assert.equal(sqlIdent('http_request_1min'), 'http_request_1min');
    assert.equal(sqlIdent('Odd "name"'), '"Odd ""name"""');
    assert.equal(intervalSeconds(2.5), "interval '2.5 seconds'");
    assert.equal(intervalSeconds(0.0001), "interval '0 seconds'");
    assert.throws(() => intervalSeconds(Number.NaN), TemplateError);
    assert.throws(() => intervalSeconds(-1), TemplateError);
  });
});

describe('strategy files render', () => {
  test('every strategy, granularity and hll flag renders with nothing left over', async () => {
    for (const strategy of ROLLUP_STRATEGIES) {
      for (const g of [1, 5, 15, 60] as const) {
        for (const hll of [true, false]) {
          const { sql } = await rollupSql({ strategy, granularityMin: g, hll });
          const code = sql.replace(/--.*$/gm, '');
          assert.ok(!/\{\{|\}\}/.test(sql), `${strategy} ${g} ${hll}`);
          assert.equal(/\bhll\b/i.test(code), hll, `${strategy} ${g} hll=${hll}: hll only when asked`);
          assert.equal(code.includes('date_bin('), g !== 1, `${strategy} ${g}: date_bin for N minutes`);
          assert.ok(sql.includes(`http_request_${g}min`));
        }
      }
    }
  });

  test('the 1-minute tutorial with hll holds the seed\'s final rollup_http_request() verbatim', { skip: existsSync(SEED) ? false : `${SEED} not present` }, async () => {
    const seed = readFileSync(SEED, 'utf8');
    const starts = [...seed.matchAll(/CREATE OR REPLACE FUNCTION rollup_http_request\(\)/g)].map((m) => m.index);
    const from = starts[starts.length - 1];
    assert.ok(from !== undefined && starts.length === 3, 'the seed defines the function three times');
    const end = seed.indexOf('$$ LANGUAGE plpgsql;', from) + '$$ LANGUAGE plpgsql;'.length;
    const finalVersion = seed.slice(from, end);
    assert.match(finalVersion, /country_counters/);
    const { sql } = await rollupSql({ strategy: 'tutorial', granularityMin: 1, hll: true });
    assert.ok(sql.includes(finalVersion), 'rendered tutorial.sql contains the seed function character for character');
  });
});
