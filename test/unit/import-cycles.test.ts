/**
 * No import cycle among the sources, type-only imports included (tsc erases
 * those from dist/, so the .ts files are read). Imports are listed by the
 * TypeScript compiler's own pre-processor, not by a regular expression.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { PACKAGE_ROOT } from '../../src/paths.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of one file, resolved to .ts paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

/** One cycle (as a list of files, first repeated last), or null. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

test('findCycle finds a three-file cycle and accepts a DAG', () => {
  assert.deepEqual(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), null);
});

test('src/ has no import cycle, type-only imports included', () => {
  const root = path.join(PACKAGE_ROOT, 'src');
  const graph = new Map(sourceFiles(root).map((f) => [f, importsOf(f)]));
  assert.ok(graph.size > 50, `expected the sources under ${root}`);
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import cycle: ${cycle?.map((f) => path.relative(root, f)).join(' → ')}`);
});

test('src/results/run-record.ts imports only metrics types', () => {
  const file = path.join(PACKAGE_ROOT, 'src', 'results', 'run-record.ts');
  for (const dep of importsOf(file)) assert.match(path.relative(path.join(PACKAGE_ROOT, 'src'), dep), /^metrics\//);
});
