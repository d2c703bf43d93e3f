/**
 * capacity.json: the answer of a capacity search, built from its steps and
 * the search's end. Pure.
 */
import type { SearchEnd } from './search.js';
import type { SloResult, StepVerdict } from './slo.js';

export const CAPACITY_FORMAT_VERSION = 1;

/** One step as capacity.json keeps it. */
export interface CapacityStep {
  readonly index: number;
  readonly runId: string;
  /** The step's result dir, relative to the capacity dir. */
  readonly dir: string;
  readonly rateHz: number;
  readonly achievedHz: number;
  readonly why: string;
  readonly valid: boolean;
  readonly verdict: StepVerdict;
  readonly ingest: { readonly p50Us: number; readonly p99Us: number; readonly count: number };
  /** The worst dashboard panel cell by response p95 (µs), when viewers ran. */
  readonly worstPanel: { readonly figure: string; readonly p95Us: number; readonly count: number } | null;
  readonly slos: readonly SloResult[];
  readonly misses: readonly string[];
  readonly harnessReasons: readonly string[];
  /** Rows in http_request (all sites) and its size with indexes after the step. */
  readonly rawRows: number | null;
  readonly rawBytes: number | null;
  /** Rows this step added (acked in warm-up and measure). */
  readonly ackedRows: number;
  /** Rows deleted after the step (--between-steps remove), null when kept. */
  readonly removedRows: number | null;
  readonly wallMs: number;
}

/** The limit that set the capacity: the miss at the lowest confirmed failing rate. */
export interface BindingLimit {
  readonly figure: string;
  readonly value: number | null;
  readonly limit: number | null;
  readonly unit: string;
  readonly atHz: number;
  /** One line: `freshness.p99 17.20 s > 15.00 s at 3,400 rows/s`. */
  readonly line: string;
  /** Other misses at that rate. */
  readonly others: readonly string[];
}

export interface CapacityResult {
  readonly formatVersion: number;
  readonly capacityId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly target: { readonly kind: string; readonly url: string };
  readonly scenario: string;
  readonly slos: readonly string[];
  readonly search: {
    readonly startHz: number; readonly maxHz: number; readonly minHz: number; readonly growth: number; readonly precision: number;
    readonly stepDurationMs: number; readonly stepWarmupMs: number; readonly maxSteps: number;
  };
  readonly end: SearchEnd | 'interrupted';
  /** The highest rate that passed, confirmed; null when none did (or the client bound the search before any). */
  readonly capacityHz: number | null;
  /** [passHz, failHz]: the capacity lies between them. */
  readonly bracket: readonly [number | null, number | null];
  readonly binding: BindingLimit | null;
  readonly harnessBound: { readonly value: boolean; readonly reason: string | null; readonly advice: string | null; readonly atHz: number | null };
  /** Verdicts that disagreed with their neighbours (passes above a confirmed fail). */
  readonly noise: readonly string[];
  /** The state between steps (README "Capacity"): what the steps shared. */
  readonly state: string;
  readonly steps: readonly CapacityStep[];
  readonly wallMs: number;
  /** One line for people: `capacity 3,300 rows/s [3,300–3,450] (binding: …)`. */
  readonly headline: string;
}

const n = (v: number): string => Math.round(v).toLocaleString('en-US');

/** How far over its limit a miss is (for choosing the binding one). */
function excess(r: SloResult): number {
  if (r.value === null || r.limit === null || r.limit === 0) return Number.POSITIVE_INFINITY;
  return Math.abs(r.value / r.limit - 1);
}

/** The binding limit: at the lowest failing rate, the step's miss furthest over its limit; implied misses when no SLO missed. */
export function bindingLimit(steps: readonly CapacityStep[], failHz: number | null): BindingLimit | null {
  if (failHz === null) return null;
  const failing = steps.find((s) => s.rateHz === failHz && s.verdict === 'fail');
  if (!failing) return null;
  const missed = failing.slos.filter((s) => !s.pass).sort((a, b) => excess(b) - excess(a));
  const first = missed[0];
  if (first) {
    const line = failing.misses.find((m) => m.startsWith(first.figure)) ?? first.figure;
    return {
      figure: first.figure, value: first.value, limit: first.limit, unit: first.unit, atHz: failHz,
      line: `${line} at ${n(failHz)} rows/s`, others: failing.misses.filter((m) => m !== line),
    };
  }
  const implied = failing.misses[0] ?? 'failed';
  return { figure: implied.startsWith('errors') ? 'ingest.errors' : 'ingest.achievedRateHz', value: failing.achievedHz, limit: failHz, unit: 'hz', atHz: failHz, line: `${implied} at ${n(failHz)} rows/s`, others: failing.misses.slice(1) };
}

/** What to do when the client, not the database, stopped the search. */
export const HARNESS_ADVICE = 'add --workers (threads), use --mode multi (rows per statement), or split the load with --instance i/N on more hosts';

/** What to do, from the harness reason: a CPU shared with a local server is not helped by more threads. */
export function harnessAdvice(reason: string | null): string {
  return reason !== null && /shared the CPU with the server/.test(reason)
    ? 'run the load generator on another host than the server (rtbench run --url from there), or lighten the local server (fewer --viewers, fewer --citus-workers)'
    : HARNESS_ADVICE;
}

/** The headline line. */
export function headline(r: Pick<CapacityResult, 'end' | 'capacityHz' | 'bracket' | 'binding' | 'harnessBound' | 'steps'>): string {
  const [p, f] = r.bracket;
  switch (r.end) {
    case 'found':
      return `capacity ${n(r.capacityHz!)} rows/s, bracket [${n(p!)}, ${n(f!)}]` + (r.binding ? `; binding limit: ${r.binding.line}` : '');
    case 'max-passed':
      return `capacity ≥ ${n(r.capacityHz!)} rows/s: --max passed (raise --max to search further)`;
    case 'no-pass': {
      const lowest = r.steps.filter((s) => s.rateHz === f).at(-1);
      return `no passing rate down to ${n(f!)} rows/s: ${lowest?.misses.join('; ') ?? 'failed'}`;
    }
    case 'harness-bound':
      if (f !== null && p !== null && f !== r.harnessBound.atHz) {
        return `capacity ${n(p)} rows/s, bracket [${n(p)}, ${n(f)}] not refined: the client could not drive ${n(r.harnessBound.atHz ?? 0)} rows/s ` +
          `(${r.harnessBound.reason ?? 'client-limited'})${r.binding ? `; binding limit: ${r.binding.line}` : ''}`;
      }
      if (p === null) return `harness-bound: the client could not drive even ${n(r.harnessBound.atHz ?? 0)} rows/s (${r.harnessBound.reason ?? 'client-limited'}); ${r.harnessBound.advice ?? HARNESS_ADVICE}`;
      return `≥ ${n(p)} rows/s (harness-bound at ${n(r.harnessBound.atHz ?? 0)} rows/s: ${r.harnessBound.reason ?? 'client-limited'}); ${r.harnessBound.advice ?? HARNESS_ADVICE}`;
    case 'step-limit':
      return `--max-steps reached before the bracket closed: [${p === null ? '?' : n(p)}, ${f === null ? '?' : n(f)}] rows/s`;
    case 'interrupted':
      return `interrupted after ${r.steps.length} steps; bracket so far [${p === null ? '?' : n(p)}, ${f === null ? '?' : n(f)}] rows/s`;
  }
}
