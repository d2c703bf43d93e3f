/**
 * report.md: the run's summary tables as GitHub-flavoured Markdown, for pull
 * requests and terminals. Charts live in report.html. Pure.
 */
import type { RunRecord } from '../results/run-record.js';
import { maskSecrets } from '../targets/url.js';
import { reportTables, type Cell, type ReportTable } from './tables.js';

/**
 * Escape text for a Markdown table cell: HTML-significant characters become
 * entities (no raw tags reach a renderer), Markdown punctuation is
 * backslash-escaped, and line breaks become spaces (a cell is one line).
 */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
    .replace(/[\\`*_[\]|~]/g, '\\$&')
    .replace(/\r?\n|\r/g, ' ');
}

function cell(c: Cell): string {
  if (typeof c === 'string') return escapeMarkdown(c);
  return c.tone === 'good' ? escapeMarkdown(c.text) : `**${escapeMarkdown(c.text)}**`;
}

/** One table in pipe syntax; numeric-looking columns stay left-aligned (values carry units). */
export function markdownTable(t: ReportTable): string {
  const head = t.head.map((h) => escapeMarkdown(h) || ' ');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of t.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** A fenced code block whose fence is longer than any backtick run inside. */
function fenced(lang: string, text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

/** run.json's config, pretty-printed with every string masked (as the JSON writer does). */
export function configJson(record: RunRecord): string {
  return JSON.stringify(record.run.config, (_k, v: unknown) => (typeof v === 'string' ? maskSecrets(v) : v), 2);
}

/**
 * The whole report.md for a run. Never throws (a rendering bug must not cost
 * the run's data): on failure it returns a short note naming the error.
 */
export function reportMarkdown(record: RunRecord): string {
  try {
    return renderMarkdown(record);
  } catch (err) {
    const msg = maskSecrets(err instanceof Error ? err.message : String(err));
    return `# rtbench report failed\n\nThe report could not be rendered (${escapeMarkdown(msg)}); the run's data is in summary.json and the other files.\n`;
  }
}

function renderMarkdown(record: RunRecord): string {
  const s = record.summary;
  const out: string[] = [
    `# rtbench run ${escapeMarkdown(maskSecrets(record.run.runId))}`,
    '',
    s.valid ? '**VALID**' : `**INVALID**: ${s.invalidReasons.map((r) => escapeMarkdown(maskSecrets(r))).join('; ')}`,
    '',
    'Charts (rate and latency over time, percentile distributions, probe comparisons) are in `report.html` next to this file.',
  ];
  for (const t of reportTables(record)) {
    if (t.rows.length === 0) continue;
    out.push('', `## ${escapeMarkdown(t.title)}`, '', markdownTable(t));
  }
  out.push('', '## Configuration', '', fenced('json', configJson(record)), '');
  return out.join('\n');
}
