/**
 * The shared pieces of the HTML pages (the run's page, the capacity page, the
 * history report): stylesheet, head, tables. Every text is escaped. Pure.
 */
import { escapeText } from './page-script.js';
import type { Cell, ReportTable } from './tables.js';

/** Escape text for HTML (text nodes and quoted attributes). */
export const escapeHtml = escapeText;

/** The stylesheet of the HTML reports (run and history). */
export const REPORT_CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222; margin: 0 auto; padding: 16px 24px 48px; max-width: 1400px; background: #fafafa; }
h1 { font-size: 22px; margin: 8px 0 4px; word-break: break-all; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 6px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; font-weight: 700; color: #fff; }
.verdict.valid { background: #1a7f37; } .verdict.invalid { background: #c62828; }
ul.reasons { color: #c62828; margin: 6px 0; }
nav { margin: 8px 0 0; font-size: 13px; } nav a { margin-right: 10px; color: #0b57d0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
figcaption { font-size: 12px; color: #555; margin-top: 4px; }
.tables { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 16px; align-items: start; }
section.table { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; overflow-wrap: break-word; }
section.wide { grid-column: 1 / -1; } section.wide td, section.wide th { white-space: nowrap; }
th { background: #f3f3f3; font-weight: 600; }
td.good { color: #1a7f37; } td.bad { color: #c62828; font-weight: 600; } td.warn { color: #b26a00; font-weight: 600; }
details { margin-top: 16px; } pre { background: #fff; border: 1px solid #ddd; padding: 10px; overflow-x: auto; font-size: 12px; }
`;

/**
 * The start of a self-contained report page up to `<body>`: the CSP allows
 * inline styles and data: images only, so no script runs and nothing is fetched.
 */
export function pageHead(title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>`;
}

function cellHtml(c: Cell): string {
  return typeof c === 'string' ? `<td>${escapeHtml(c)}</td>` : `<td class="${c.tone}">${escapeHtml(c.text)}</td>`;
}

/** One summary table as an HTML section. */
export function htmlTable(t: ReportTable): string {
  const head = t.head.some((h) => h !== '') ? `<thead><tr>${t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` : '';
  const body = t.rows.map((r) => `<tr>${r.map(cellHtml).join('')}</tr>`).join('\n');
  // Tables of many columns (latency, probes) take the full width and never wrap a figure.
  const cls = t.head.length >= 5 ? 'table wide' : 'table';
  return `<section class="${cls}" id="t-${escapeHtml(t.id)}"><h3>${escapeHtml(t.title)}</h3><table>${head}<tbody>\n${body}\n</tbody></table></section>`;
}

