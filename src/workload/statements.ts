/**
 * SQL text of the insert statements. The tutorial's INSERT lives in
 * sql/workload/tutorial-insert.sql with placeholders for the workload shape;
 * literals substituted here are built from validated numbers and quoted strings.
 */
import type { WorkloadShape } from '../config/types.js';
import { ROW_COLUMNS } from './rows.js';
import { quoteLiteral } from '../sql-quote.js';


/** An element of a PostgreSQL array literal: double-quoted with \ and " escaped. */
function arrayElement(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The VALUES tuple of the tutorial's INSERT, with the workload shape filled in.
 * `template` is the file's text (one VALUES tuple between the markers).
 */
export function tutorialValuesTuple(template: string, shape: WorkloadShape): string {
  const m = /--\s*values-begin\s*\n([\s\S]*?)\n\s*--\s*values-end/.exec(template);
  if (!m || m[1] === undefined) throw new Error('sql/workload/tutorial-insert.sql: missing "-- values-begin" / "-- values-end" markers');
  return m[1]
    .replace(/\{\{sites\}\}/g, String(shape.sites))
    .replace(/\{\{countries\}\}/g, quoteLiteral(`{${shape.countries.map(arrayElement).join(',')}}`))
    .replace(/\{\{countryCount\}\}/g, String(shape.countries.length))
    .replace(/\{\{statusCodes\}\}/g, quoteLiteral(`{${shape.statusCodes.join(',')}}`))
    .replace(/\{\{statusCount\}\}/g, String(shape.statusCodes.length))
    .trim();
}

const ALL_COLUMNS = 'site_id, ingest_time, url, request_country, ip_address, status_code, response_time_msec';

/** The tutorial INSERT with `rows` VALUES tuples (server-side randomness). */
export function tutorialInsert(template: string, shape: WorkloadShape, rows: number): string {
  const tuple = tutorialValuesTuple(template, shape);
  return `INSERT INTO http_request (${ALL_COLUMNS}) VALUES ${Array.from({ length: rows }, () => tuple).join(',\n')}`;
}

/**
 * The parameterized INSERT for `rows` client-generated rows; ingest_time is
 * clock_timestamp() like the tutorial's load loop.
 */
export function paramsInsert(rows: number): string {
  const n = ROW_COLUMNS.length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const b = r * n;
    tuples.push(`($${b + 1}, clock_timestamp(), $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6})`);
  }
  return `INSERT INTO http_request (${ALL_COLUMNS}) VALUES ${tuples.join(', ')}`;
}

/** COPY statement for client-generated rows (ingest_time takes its default, now()). */
export const COPY_SQL = `COPY http_request (${ROW_COLUMNS.join(', ')}) FROM STDIN`;
