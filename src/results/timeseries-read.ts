/**
 * Reading timeseries.csv back (compare, merge): csv-parse, the parser of the
 * same project as the csv-stringify that writes it, so quoting round-trips.
 */
import { parse } from 'csv-parse/sync';

/** The file's rows keyed by header name; an Error naming the missing columns. */
export function readTimeseriesCsv(text: string, required: readonly string[]): Array<Record<string, string>> {
  let header: string[] = [];
  const records = parse(text, {
    columns: (h: string[]) => (header = h),
    skip_empty_lines: true,
    trim: true,
  }) as Array<Record<string, string>>;
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) throw new Error(`timeseries.csv: no column ${missing.join(', ')}`);
  return records;
}
