/**
 * How much of a response percentile the client set: the self-check judged on
 * what it claims. Pure: takes the ingest summary's latency summaries.
 *
 * Response time runs from an operation's due time, service time from its
 * send, so response − service at a percentile is how far the lag moved that
 * percentile. The lag has two causes: the harness's own timer lateness (the
 * client's) and the wait for a free connection (every connection busy: the
 * server's backpressure). The client's part of a percentile is the smaller of
 * the timer lateness at that percentile and response − service (lateness that
 * did not move the response percentile set nothing), and its share is that
 * part over the response percentile.
 *
 * A figure is `clientSet` when that share exceeds {@link CLIENT_SHARE_LIMIT}.
 * The self-check makes the run invalid only when the client set the p50 (the
 * figure is then the client's, not the database's); a client-set p99 leaves
 * the run valid with a note saying by how much, and `check --history` holds
 * that percentile on service time instead of failing the whole run. In a
 * closed loop there is no due time: response equals service, the share is 0.
 */
import type { LatencySummary } from './histogram.js';

/**
 * Share of a response percentile the client's lateness may set before the
 * figure is the client's rather than the database's. Chosen from the A/A study
 * (npm run bench:gate) on the shared 2-core machine: see docs.
 */
export const CLIENT_SHARE_LIMIT = 0.25;

export interface ClientPart {
  /** Response percentile, µs. */
  readonly responseUs: number;
  /** Service percentile, µs. */
  readonly serviceUs: number;
  /** How far the client's timer lateness moved the response percentile, µs (≥ 0). */
  readonly clientUs: number;
  /** clientUs / responseUs, 0..1 (0 without samples). */
  readonly clientShare: number;
  /** clientShare > CLIENT_SHARE_LIMIT: the figure is the client's. */
  readonly clientSet: boolean;
}

export interface ClientTail {
  readonly p50: ClientPart;
  readonly p99: ClientPart;
}

/** What client-tail needs of `summary.ingest` (older runs have no timer split: then the whole lag counts as the client's). */
export interface IngestLatencies {
  readonly response: LatencySummary;
  readonly service: LatencySummary;
  readonly lag: LatencySummary;
  readonly timerLag?: LatencySummary;
}

function part(response: number, service: number, timer: number, limit: number): ClientPart {
  const moved = Math.max(0, response - service);
  const clientUs = Math.min(Math.max(0, timer), moved);
  const clientShare = response > 0 ? clientUs / response : 0;
  return { responseUs: response, serviceUs: service, clientUs, clientShare, clientSet: clientShare > limit };
}

/** The client's part of the response p50 and p99. */
export function clientTail(ingest: IngestLatencies, limit = CLIENT_SHARE_LIMIT): ClientTail {
  const timer = ingest.timerLag ?? ingest.lag;
  return {
    p50: part(ingest.response.p50Us, ingest.service.p50Us, timer.p50Us, limit),
    p99: part(ingest.response.p99Us, ingest.service.p99Us, timer.p99Us, limit),
  };
}

const ms = (us: number): string => `${(us / 1000).toFixed(2)} ms`;

/** One note per percentile the client's lateness moved by more than the limit (empty when none). */
export function clientTailNotes(t: ClientTail, limit = CLIENT_SHARE_LIMIT): string[] {
  const out: string[] = [];
  for (const [name, p] of [['p50', t.p50], ['p99', t.p99]] as const) {
    if (p.clientShare > limit) {
      out.push(`the client's timer lateness set ${(p.clientShare * 100).toFixed(0)}% of the response ${name} (${ms(p.clientUs)} of ${ms(p.responseUs)}; service ${name} ${ms(p.serviceUs)}): ` +
        `check --history holds ingest.response.${name} on service time`);
    }
  }
  return out;
}
