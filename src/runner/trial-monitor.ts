/**
 * A capacity trial as a sequential test: an observer of the step that ends
 * it as soon as its verdict is known.
 *
 * - A certain fail at any time after the first measure second: an error, or an ingest quantile SLO already
 *   missed by at least the count that fails at the longest the trial may run
 *   (curtailment: the verdict of the full plan, known early).
 * - At half the planned length, a look that can only fail it (an interim
 *   look): where the figures worsen as a trial goes on (the panels read the
 *   rows the trial inserts), an early pass would not hold at the planned
 *   length, an early fail does.
 * - At the planned length, and at twice and four times it up to --step-max
 *   (the looks): every SLO it can see live (ingest, panels) tested at
 *   α / looks, the interim look counted (Bonferroni over the looks, so
 *   extending a trial never raises the false-verdict rate); the trial ends
 *   once they are all decided.
 * - An inconclusive trial extends up to --step-max and ends there.
 * Freshness and the audit are judged at the trial's end from its record.
 */
import { certainFail } from '../capacity/binomial.js';
import { judgeTrial, matchNames, type QuantileSpec, type SampleSource, type SloSpec } from '../capacity/verdict.js';
import { countBeyond, decodeHistogram, newHistogram, type Histogram } from '../metrics/histogram.js';
import type { IntervalRow } from '../metrics/aggregate.js';
import type { RunObserver, StepInfo } from './observer.js';

/** The look points of a trial: its plan, doubled until --step-max, and --step-max itself. */
export function looksOf(plannedMs: number, stepMaxMs: number): number[] {
  const out: number[] = [];
  for (let t = plannedMs; t < stepMaxMs; t *= 2) out.push(t);
  out.push(stepMaxMs);
  return out;
}

/** Every look a trial may take, the fail-only interim look at half its plan included: the count its confidence is split over. */
export function lookCount(plannedMs: number, stepMaxMs: number): number {
  return looksOf(plannedMs, stepMaxMs).length + 1;
}

/** A SampleSource over named histograms. */
export function histogramSource(hs: Record<string, Histogram>): SampleSource {
  return {
    names: Object.keys(hs),
    counts: (name, limitUs, below) => {
      const h = hs[name];
      return h ? { n: h.totalCount, k: countBeyond(h, limitUs, below) } : { n: 0, k: 0 };
    },
    valueAt: (names, percentile) => {
      const present = names.map((n) => hs[n]).filter((h): h is Histogram => h !== undefined && h.totalCount > 0);
      if (present.length === 0) return null;
      if (present.length === 1) return percentile >= 100 ? present[0]!.maxValue : present[0]!.getValueAtPercentile(percentile);
      const pooled = newHistogram();
      for (const h of present) pooled.add(h);
      return percentile >= 100 ? pooled.maxValue : pooled.getValueAtPercentile(percentile);
    },
  };
}

export interface TrialMonitorOptions {
  readonly specs: readonly SloSpec[];
  /** Level of each test: (1 − confidence) / looks. */
  readonly alpha: number;
  readonly plannedMs: number;
  readonly stepMaxMs: number;
  /** Operations per second the trial is offered (for the most samples it can have). */
  readonly opsPerS: number;
  /** The panels' live response histograms (empty without viewers). */
  readonly livePanels: () => Record<string, Histogram>;
  /** Called once when the trial is decided: it ends the step. */
  readonly stop: (why: string) => void;
  /** A short trial (far from the bracket): an SLO with too few samples for any pass does not hold it open. */
  readonly short?: boolean;
}

const INGEST_KINDS = { 'ingest-response': 'response', 'ingest-service': 'service', 'ingest-lag': 'lag' } as const;

export class TrialMonitor implements RunObserver {
  readonly name = 'trial-monitor';
  /** Why the trial ended when it did (null: it ran its schedule). */
  stopReason: string | null = null;
  /** Looks taken (the interim look not counted). */
  looksTaken = 0;
  private interimTaken = false;
  private readonly looks: number[];
  private measureStartMs: number | null = null;
  private readonly ingest: Record<string, Histogram> = {};

  constructor(private readonly o: TrialMonitorOptions) {
    this.looks = looksOf(o.plannedMs, o.stepMaxMs);
  }

  private decide(why: string): void {
    if (this.stopReason !== null) return;
    this.stopReason = why;
    this.o.stop(why);
  }

  interval(row: IntervalRow, _step: StepInfo): void {
    if (row.phase !== 'measure' || this.stopReason !== null) return;
    if (this.measureStartMs === null) {
      // The first measure second also holds warm-up operations that finished late (intervals go by completion,
      // the summary by due time): left out, so the live test never sees what the trial's verdict does not.
      this.measureStartMs = row.startMs;
      return;
    }
    for (const [name, kind] of Object.entries(INGEST_KINDS)) {
      const enc = row.encoded[kind];
      if (!enc) continue;
      const h = decodeHistogram(enc);
      if (this.ingest[name]) this.ingest[name]!.add(h);
      else this.ingest[name] = h;
    }
    if (row.errors > 0) {
      this.decide(`decided at ${((row.endMs - this.measureStartMs) / 1000).toFixed(0)} s: ${row.errors} operations failed`);
      return;
    }
    const elapsedMs = row.endMs - this.measureStartMs;
    const src = histogramSource(this.ingest);
    // The most samples the trial may have, with a margin (a late schedule catches up).
    const nMax = Math.ceil(this.o.opsPerS * (this.o.stepMaxMs / 1000) * 1.1) + 10;
    for (const spec of this.o.specs) {
      if (spec.kind !== 'quantile' || !spec.histograms.every((p) => p.startsWith('ingest-'))) continue;
      const c = src.counts(spec.histograms[0]!, spec.limitUs, spec.below);
      if (certainFail(c.k, nMax, spec.allowed, this.o.alpha)) {
        this.decide(`certain fail at ${(elapsedMs / 1000).toFixed(0)} s: ${spec.slo.threshold.figure} already has ${c.k} of ${c.n} samples beyond ${spec.limitUs / 1000} ms, ` +
          `more than a trial of up to ${Math.round(nMax)} samples may have and pass`);
        return;
      }
    }
    const next = this.looks[this.looksTaken];
    const interim = !this.interimTaken && elapsedMs + 1 >= this.o.plannedMs / 2 && (next === undefined || elapsedMs + 1 < next);
    if (!interim && (next === undefined || elapsedMs + 1 < next)) return;
    if (interim) this.interimTaken = true;
    else this.looksTaken++;
    const live = this.o.specs.filter((s): s is QuantileSpec => s.kind === 'quantile' && s.histograms.every((p) => p.startsWith('ingest-') || p.startsWith('panel-response-')));
    const panels = this.o.livePanels();
    const all = histogramSource({ ...this.ingest, ...panels });
    const j = judgeTrial(live, { valid: true, invalidReasons: [], ingest: { errors: 0, errorsBySqlstate: {} } }, all, this.o.alpha, { short: this.o.short === true });
    // Panels not started yet count as undecided.
    const missingPanels = live.some((s) => matchNames(all.names, s.histograms).length === 0);
    const look = interim ? 'interim look, which can only fail it' : `look ${this.looksTaken}`;
    if (j.verdict === 'fail') this.decide(`decided at ${(elapsedMs / 1000).toFixed(0)} s (${look}): ${j.misses.join('; ')}`);
    else if (interim) return;
    else if (j.verdict === 'pass' && !missingPanels) this.decide(`decided at ${(elapsedMs / 1000).toFixed(0)} s (look ${this.looksTaken}): every SLO seen live passed`);
  }
}
