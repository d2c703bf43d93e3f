/**
 * README.md and docs/*.md: every relative link resolves to a file that exists
 * (and to a heading when it names an anchor), and every doc is reachable from
 * the README. No network: external links are not fetched.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { anchorsOf, brokenLinks, linksOf } from '../helpers/md-links.js';

const README = path.join(PACKAGE_ROOT, 'README.md');
const DOCS = path.join(PACKAGE_ROOT, 'docs');
const docs = (): string[] => readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(DOCS, f));

test('every relative link in README.md and docs/*.md resolves (file and anchor)', () => {
  const files = [README, ...docs()];
  assert.ok(files.length >= 10, `README and at least 9 docs, found ${files.length}`);
  const links = files.flatMap(linksOf);
  assert.ok(links.length > 20, `links found: ${links.length}`);
  assert.deepEqual(brokenLinks(files), []);
});

test('every docs/*.md is linked from the README', () => {
  const linked = new Set(linksOf(README).map((l) => path.resolve(PACKAGE_ROOT, l.href.split('#')[0] ?? '')));
  assert.deepEqual(docs().filter((d) => !linked.has(d)).map((d) => path.relative(PACKAGE_ROOT, d)), []);
});


test('the checker finds a missing file, a missing anchor, and passes a good link, a code span and an external one', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rtbench-md-links-'));
  try {
    mkdirSync(path.join(dir, 'docs'));
    writeFileSync(path.join(dir, 'docs', 'a.md'), '# A title\n\n## The `x` part: one\n\n## The `x` part: one\n');
    writeFileSync(
      path.join(dir, 'README.md'),
      [
        '[ok](docs/a.md) [ok anchor](docs/a.md#the-x-part-one) [dup](docs/a.md#the-x-part-one-1) [self](#r)',
        '[gone](docs/b.md) [bad anchor](docs/a.md#nope) ![img](docs/img/none.png)',
        '`[not a link](nowhere.md)` [web](https://example.invalid/x.md)',
        '',
        '```',
        '[in a block](nowhere.md)',
        '```',
        '',
        '# R',
      ].join('\n'),
    );
    const problems = brokenLinks([path.join(dir, 'README.md')]);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0] ?? '', /docs\/b\.md: no such file/);
    assert.match(problems[1] ?? '', /no heading with the anchor #nope/);
    assert.match(problems[2] ?? '', /docs\/img\/none\.png: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the README keeps its Quick start heading', () => {
  assert.ok(anchorsOf(README).includes('quick-start'), anchorsOf(README).join(', '));
});
