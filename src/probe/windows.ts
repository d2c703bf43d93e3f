/**
 * Probe windows and rollup granularities: the vocabulary shared by the probe
 * loader, runner, accuracy check and figures. Pure.
 */

/** A dashboard window: a label for results and the interval passed to the probe as `$1::interval`. */
export interface ProbeWindow {
  /** Short label used as a key in results: '5m', '1h', '1d'. */
  readonly label: string;
  /** A PostgreSQL interval literal, e.g. '5 minutes'. Must be a whole number of minutes. */
  readonly interval: string;
}

/** The windows of the issue: 5 minutes, 1 hour, 1 day. */
export const DEFAULT_WINDOWS: readonly ProbeWindow[] = [
  { label: '5m', interval: '5 minutes' },
  { label: '1h', interval: '1 hour' },
  { label: '1d', interval: '1 day' },
];

/** Rollup granularities (period lengths) rtbench knows. */
export type Granularity = '1m' | '5m' | '15m' | '60m';

export const GRANULARITY_MINUTES: Readonly<Record<Granularity, number>> = { '1m': 1, '5m': 5, '15m': 15, '60m': 60 };

/** The rollup table of a granularity: http_request_1min, _5min, _15min, _60min. */
export function rollupTableFor(g: Granularity): string {
  return `http_request_${GRANULARITY_MINUTES[g]}min`;
}

/** The granularity a rollup table name stands for, or undefined when the name follows no convention. */
export function granularityOfTable(table: string): Granularity | undefined {
  const m = /^http_request_(\d+)min$/.exec(table);
  if (!m) return undefined;
  const minutes = Number(m[1]);
  return (Object.keys(GRANULARITY_MINUTES) as Granularity[]).find((g) => GRANULARITY_MINUTES[g] === minutes);
}

/** The period of a granularity as a PostgreSQL interval literal ('5 minutes'). */
export function periodInterval(g: Granularity): string {
  return `${GRANULARITY_MINUTES[g]} minutes`;
}
