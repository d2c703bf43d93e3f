/**
 * The lines that go with a run's verdict (VALID / INVALID): what cost the
 * run its service (the outages, their causes, the recovery, each
 * connection's share) and what the percentiles do not hold (operations never
 * sent or never answered, dashboard refreshes that never ran). Nothing a
 * reader must know is left to the notes alone. Pure.
 */
import { describeConnections, describeOutage } from '../metrics/availability.js';
import type { Summary } from '../results/run-record.js';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** "cause: …" lines (one per outage) and one "not in the percentiles: …" line; empty for a clean run. */
export function verdictLines(s: Summary): string[] {
  const lines: string[] = [];
  const av = s.availability;
  const outages = av?.outages ?? [];
  outages.forEach((o, i) => {
    const back = o.recoveryMs === null ? (o.endMs === null ? '' : '; the rate did not come back to target') : `; the rate was back at target ${(o.recoveryMs / 1000).toFixed(1)} s after`;
    const each = av?.connections && i === outages.length - 1 ? `; ${describeConnections(av.connections)}` : '';
    lines.push(`cause: ${describeOutage(o)}${back}${each}`);
  });
  const missing: string[] = [];
  const ing = s.ingest;
  if (ing.dropped > 0) {
    const atEnd = ing.droppedAtEnd ?? 0;
    const why = [...(ing.dropped - atEnd > 0 ? [`${int(ing.dropped - atEnd)} while no connection was up`] : []), ...(atEnd > 0 ? [`${int(atEnd)} still queued when the schedule ended`] : [])];
    missing.push(`${int(ing.dropped)} operations never sent${why.length > 0 ? ` (${why.join(', ')})` : ''}`);
  }
  if (ing.unfinished > 0) missing.push(`${int(ing.unfinished)} operations unanswered 30 s after the schedule ended`);
  const p = s.probes;
  if (p) {
    let missed = 0;
    for (const byWindow of Object.values(p.byProbe)) for (const c of Object.values(byWindow)) missed += c.missed ?? 0;
    const v = p.viewers;
    if (missed > 0) {
      const why = [
        ...((v?.neverStarted ?? 0) > 0 ? [`${int(v!.neverStarted!)} refreshes never started`] : []),
        ...((v?.withoutConnection ?? 0) > 0 ? [`${int(v!.withoutConnection)} ran without a connection`] : []),
        ...((v?.unfinished ?? 0) > 0 ? [`${int(v!.unfinished)} stopped before their last panel`] : []),
      ];
      missing.push(`${int(missed)} dashboard panel executions missed${why.length > 0 ? ` (${why.join(', ')})` : ''}`);
    }
  }
  if (missing.length > 0) lines.push(`not in the percentiles: ${missing.join('; ')}`);
  return lines;
}
