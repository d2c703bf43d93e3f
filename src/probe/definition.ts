/**
 * Probe definitions: parsing and validating one probe file's header, checking
 * a set of probes against each other (pairs), and rendering the SQL for a
 * rollup table. Pure: the loader reads the files.
 *
 * A probe file starts with a header of `-- key: value` lines; the header ends
 * at the first line that is not of that form (leave a blank line before free
 * comments). Keys:
 *
 *   -- probe: <name>        required; equals the file name without `.sql`
 *   -- reads: raw|rollup    required; which table the probe reads
 *   -- requires: hll        optional; extensions, comma-separated
 *   -- pair: <probe name>   optional; the partner it is compared with
 *   -- result: rows|scalar  required; one row of one value, or a row set
 *
 * The body takes the window as `$1::interval` and names the rollup table as
 * `{{rollup_table}}`, replaced by the quoted table name of the granularity in use.
 * A tenant panel (a probe named `tenant-<name>`) reads one site: it also takes
 * `site_id = $2`, the site drawn for each refresh; other probes use only $1.
 */
import { quoteIdent } from '../sql-quote.js';

/** Which side of the raw/rollup comparison a probe reads. */
export type ProbeReads = 'raw' | 'rollup';

/** One probe: a named SQL file with its parsed header. */
export interface ProbeDef {
  /** Name from the header, equal to the file's base name ('raw-minutes'). */
  readonly name: string;
  /** The file it came from (for messages). */
  readonly file: string;
  readonly reads: ProbeReads;
  /** Extensions that must be installed in the database (`pg_extension`), e.g. ['hll']. */
  readonly requires: readonly string[];
  /** The partner probe (raw ↔ rollup, exact ↔ hll), if any. */
  readonly pair: string | undefined;
  /** 'scalar': one row, one value; 'rows': a row set. */
  readonly result: 'rows' | 'scalar';
  /** A tenant panel (name `tenant-…`): one site, `site_id = $2`; on Citus a router query. */
  readonly tenant: boolean;
  /** The SQL with its placeholders still in place; render with {@link renderProbe}. */
  readonly sqlTemplate: string;
}

/** Name prefix of tenant panels (one site per refresh, `site_id = $2`). */
export const TENANT_PREFIX = 'tenant-';

/** Query parameters of a probe: the window, and for a tenant panel the site. */
export function probeParams(probe: Pick<ProbeDef, 'tenant'>, interval: string, siteId: number): unknown[] {
  return probe.tenant ? [interval, siteId] : [interval];
}

/** Placeholders a probe may use. */
export const PLACEHOLDERS = ['rollup_table'] as const;

const KEYS = ['probe', 'reads', 'requires', 'pair', 'result'] as const;
type Key = (typeof KEYS)[number];
const HEADER_LINE = /^--\s*([A-Za-z][A-Za-z_-]*)\s*:\s*(.*?)\s*$/;
const NAME = /^[a-z0-9][a-z0-9-]*$/;
const IDENT = /^[a-z_][a-z0-9_]*$/;

/** Parse result of one file: the probe, or the problems found (each a short phrase). */
export type ParsedProbe = { readonly status: 'ok'; readonly probe: ProbeDef } | { readonly status: 'invalid'; readonly problems: readonly string[] };

/** `--` line comments removed, so checks on the body ignore what comments mention. */
function stripLineComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '');
}

/**
 * Parse one probe file. `fileName` is its base name (`raw-minutes.sql`); the
 * header's `probe` must match it, so adding a probe is adding one file.
 */
export function parseProbeFile(fileName: string, text: string): ParsedProbe {
  const problems: string[] = [];
  const header = new Map<Key, string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let bodyStart = 0;
  for (; bodyStart < lines.length; bodyStart++) {
    const m = HEADER_LINE.exec(lines[bodyStart] ?? '');
    if (!m) break;
    const key = (m[1] ?? '').toLowerCase();
    const value = m[2] ?? '';
    if (!(KEYS as readonly string[]).includes(key)) {
      problems.push(`unknown header key "${key}" (known: ${KEYS.join(', ')})`);
      continue;
    }
    if (header.has(key as Key)) problems.push(`header key "${key}" given twice`);
    header.set(key as Key, value);
  }
  if (bodyStart === 0) {
    return { status: 'invalid', problems: ['missing header: the file must start with "-- probe: <name>", "-- reads: raw|rollup" and "-- result: rows|scalar" lines'] };
  }

  const expectedName = fileName.replace(/\.sql$/, '');
  const name = header.get('probe');
  if (name === undefined || name === '') problems.push('missing "-- probe: <name>"');
  else if (!NAME.test(name)) problems.push(`probe name "${name}" must be lower-case letters, digits and dashes`);
  else if (name !== expectedName) problems.push(`probe name "${name}" differs from the file name "${expectedName}"`);

  const reads = header.get('reads');
  if (reads === undefined) problems.push('missing "-- reads: raw|rollup"');
  else if (reads !== 'raw' && reads !== 'rollup') problems.push(`"reads: ${reads}" must be raw or rollup`);

  const result = header.get('result');
  if (result === undefined) problems.push('missing "-- result: rows|scalar"');
  else if (result !== 'rows' && result !== 'scalar') problems.push(`"result: ${result}" must be rows or scalar`);

  const requiresRaw = header.get('requires');
  const requires = requiresRaw === undefined ? [] : requiresRaw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (requiresRaw !== undefined && requires.length === 0) problems.push('"requires:" names no extension');
  for (const ext of requires) if (!IDENT.test(ext)) problems.push(`"requires: ${ext}" is not an extension name`);

  const pair = header.get('pair');
  if (pair !== undefined && !NAME.test(pair)) problems.push(`"pair: ${pair}" is not a probe name`);
  if (pair !== undefined && pair === name) problems.push('a probe cannot be its own pair');

  const sqlTemplate = lines.slice(bodyStart).join('\n').trim();
  const code = stripLineComments(sqlTemplate);
  if (code.trim() === '') problems.push('no SQL after the header');
  else {
    if (!/\$1(?!\d)/.test(code)) problems.push('the SQL must take the window as $1 (e.g. now() - $1::interval)');
    const tenant = name?.startsWith(TENANT_PREFIX) ?? false;
    const extra = code.match(tenant ? /\$([3-9]|\d{2,})/ : /\$([2-9]|\d{2,})/);
    if (extra) problems.push(tenant ? `a tenant probe may use only $1 (the window) and $2 (the site), not $${extra[1] ?? ''}` : `the SQL may use only $1 (the window), not $${extra[1] ?? ''} (a probe named ${TENANT_PREFIX}<name> also takes the site as $2)`);
    if (tenant && !/site_id\s*=\s*\$2(?!\d)/.test(code)) problems.push('a tenant probe must read one site with site_id = $2');
    for (const m of code.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1] ?? '')) problems.push(`unknown placeholder {{${m[1] ?? ''}}} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`);
    }
    if (reads === 'rollup' && !/\{\{\s*rollup_table\s*\}\}/.test(code)) problems.push('a probe that reads the rollup must name it as {{rollup_table}}');
  }

  if (problems.length > 0) return { status: 'invalid', problems };
  return {
    status: 'ok',
    probe: {
      name: name as string,
      file: fileName,
      reads: reads as ProbeReads,
      requires,
      pair,
      result: result as 'rows' | 'scalar',
      tenant: (name as string).startsWith(TENANT_PREFIX),
      sqlTemplate,
    },
  };
}

/**
 * Problems between probes, by probe name: a pair must exist, point back, and
 * join a raw probe with a rollup probe (its ratio is raw / rollup). Names in
 * `invalidNames` (files that failed to parse) are not reported again here.
 */
export function checkPairs(probes: readonly ProbeDef[], invalidNames: ReadonlySet<string> = new Set()): Map<string, string[]> {
  const byName = new Map(probes.map((p) => [p.name, p]));
  const problems = new Map<string, string[]>();
  const add = (name: string, problem: string): void => {
    problems.set(name, [...(problems.get(name) ?? []), problem]);
  };
  for (const p of probes) {
    if (p.pair === undefined) continue;
    const other = byName.get(p.pair);
    if (!other && invalidNames.has(p.pair)) continue;
    if (!other) add(p.name, `pair "${p.pair}" is not a probe in this directory`);
    else if (other.pair !== p.name) add(p.name, `pair "${p.pair}" does not name "${p.name}" as its pair`);
    else if (other.reads === p.reads) add(p.name, `pair "${p.pair}" reads ${other.reads} too; a pair is one raw and one rollup probe`);
  }
  return problems;
}

/** The probe's SQL with `{{rollup_table}}` replaced by the quoted table name. */
export function renderProbe(probe: ProbeDef, rollupTable: string): string {
  return probe.sqlTemplate.replace(/\{\{\s*rollup_table\s*\}\}/g, quoteIdent(rollupTable));
}

/**
 * Probes in run order: file order, each pair's partner right after it, so the
 * two sides of a comparison run close together in time (under the same load).
 */
export function runOrder(probes: readonly ProbeDef[]): ProbeDef[] {
  const byName = new Map(probes.map((p) => [p.name, p]));
  const out: ProbeDef[] = [];
  const seen = new Set<string>();
  for (const p of probes) {
    if (seen.has(p.name)) continue;
    out.push(p);
    seen.add(p.name);
    const partner = p.pair === undefined ? undefined : byName.get(p.pair);
    if (partner && !seen.has(partner.name)) {
      out.push(partner);
      seen.add(partner.name);
    }
  }
  return out;
}
