/**
 * uPlot's minified script and stylesheet, read once from node_modules (the
 * installed package, never a network) to be inlined into every page. The one
 * file read of src/report: the page is one self-contained file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let cached: { js: string; css: string } | null = null;

/** uPlot's iife build (defines `uPlot`) and its CSS. Throws if the package is not installed. */
export function uplotAsset(): { js: string; css: string } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  // The package's exports map hides its files; its main entry sits in dist/.
  const dist = dirname(require.resolve('uplot'));
  cached = {
    js: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8'),
  };
  return cached;
}
