/**
 * capacity.json: the answer of a capacity search, built from its trials and
 * the search's end. Pure.
 */
import type { Bracket, RateState, Resolution, SearchEnd, TrialVerdict } from './search.js';
import type { SloVerdict } from './verdict.js';

export const CAPACITY_FORMAT_VERSION = 2;

/** The server's side of one trial, digested from its sampler (summary.server). */
export interface TrialServer {
  /** Per role: its top wait (`IO:WALSync`, `CPU`), that wait's share of the role's active samples, and its average active sessions. */
  readonly waits: Partial<Record<string, { readonly top: string; readonly share: number; readonly aas: number }>>;
  /** Citus: the node where the binding role was busiest, with its active sessions and top wait. */
  readonly nodes?: ReadonlyArray<{ readonly node: string; readonly role: string; readonly aas: number; readonly top: string | null; readonly share: number | null }>;
  readonly checkpoints: number | null;
  readonly cpuPressureMax: number | null;
  readonly autovacuumAas: number | null;
}

/** One trial as capacity.json keeps it. */
export interface CapacityTrial {
  readonly index: number;
  readonly runId: string;
  /** The trial's result dir, relative to the capacity dir. */
  readonly dir: string;
  readonly rateHz: number;
  readonly achievedHz: number;
  /** Short (far from the bracket) or full (at its ends). */
  readonly phase: 'short' | 'full';
  /** Its duration class (short or full, as the search asked), ms. */
  readonly plannedMs: number;
  /** The length it was planned to run: the class, or longer when the rate is too low for its SLOs' samples in that time, ms. */
  readonly targetMs: number;
  /** What it ran (measure window), ms. */
  readonly measuredMs: number;
  readonly warmupMs: number;
  /** Looks the sequential test took (the confidence is split over them). */
  readonly looks: number;
  /** Why the trial ended before its plan or extended past it; null when it ran as planned. */
  readonly stop: string | null;
  readonly why: string;
  readonly valid: boolean;
  readonly verdict: TrialVerdict;
  /** Ingest response percentiles (µs), samples, and the database errors (by SQLSTATE) and reconnects of the trial. */
  readonly ingest: {
    readonly p50Us: number; readonly p99Us: number; readonly count: number;
    readonly errors: number; readonly errorsBySqlstate: Readonly<Record<string, number>>; readonly reconnects: number;
  };
  /** Every SLO's test: n, samples beyond the limit, verdict. */
  readonly slos: readonly SloVerdict[];
  readonly misses: readonly string[];
  readonly undecided: readonly string[];
  readonly harnessReasons: readonly string[];
  /** What may have disturbed it (checkpoints, autovacuum, CPU pressure), from the sampler. */
  readonly disturbed: readonly string[];
  readonly server: TrialServer | null;
  /** Rows in http_request (all sites) and its size with indexes after the trial. */
  readonly rawRows: number | null;
  readonly rawBytes: number | null;
  /** Rows this trial added (acked in warm-up and measure). */
  readonly ackedRows: number;
  /** Rows of its own removed after it (--between-trials remove), null when kept. */
  readonly removedRows: number | null;
  readonly wallMs: number;
}

/** The limit that set the capacity: at the bracket's fail end, the SLO missed most. */
export interface BindingLimit {
  readonly figure: string;
  readonly slo: string | null;
  readonly value: number | null;
  readonly limit: number | null;
  readonly unit: string;
  readonly atHz: number;
  /** Fail trials at that rate that missed it, of all fail trials there. */
  readonly missedIn: number;
  readonly failTrials: number;
  /** One line: `ingest.response.p99 1.20 s > 50.00 ms at 3,400 rows/s`. */
  readonly line: string;
  /** The server-side cause: the role's top wait and, on Citus, the busiest node. */
  readonly cause: string | null;
  /** Other misses at that rate. */
  readonly others: readonly string[];
}

/** How the binding figure moves with the rate near the bracket. */
export interface Conditioning {
  readonly figure: string;
  /** d log(figure) / d log(rate), least squares over the trials near the bracket; null with fewer than 3 rates. */
  readonly elasticity: number | null;
  readonly lowHz: number;
  readonly highHz: number;
  readonly lowValue: number;
  readonly highValue: number;
  readonly limit: number;
  /** The figure barely moves with the rate, or is near its limit already at the lowest rate. */
  readonly flat: boolean;
  /** One line for the headline when flat. */
  readonly line: string | null;
}

export interface CapacityResult {
  readonly formatVersion: number;
  readonly capacityId: string;
  /** `running` while the search goes on (rewritten after every trial), then `finished` or `interrupted`. */
  readonly status: 'running' | 'finished' | 'interrupted';
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly target: { readonly kind: string; readonly url: string };
  readonly scenario: string;
  /** What a resume must match: the resolved config, SLOs and search settings (hash). */
  readonly fingerprint: string;
  readonly slos: readonly string[];
  /** Confidence of each trial's tests (0.95). */
  readonly confidence: number;
  readonly search: {
    readonly startHz: number; readonly maxHz: number; readonly minHz: number; readonly growth: number; readonly precision: number;
    readonly shortMs: number; readonly fullMs: number; readonly stepMaxMs: number; readonly warmupMs: number;
    readonly goalTrials: number; readonly exceedRatio: number; readonly maxTrials: number;
  };
  readonly end: SearchEnd | 'interrupted' | null;
  /** The highest rate decided pass; with `lowerBound` the capacity is at least this. Null when none passed. */
  readonly capacityHz: number | null;
  /** The capacity is only known from below (--max passed, the trial limit, the client's ceiling). */
  readonly lowerBound: boolean;
  /** [passHz, failHz]: each end decided at the confidence; failHz null when nothing above failed. */
  readonly bracket: readonly [number | null, number | null];
  /** Rates inside the bracket whose trials disagreed or could not decide: [lowest, highest]. */
  readonly band: readonly [number, number] | null;
  /** Every rate tried: its verdict from all its trials, and what disturbed them. */
  readonly rates: ReadonlyArray<RateState & { readonly disturbed: readonly string[] }>;
  readonly binding: BindingLimit | null;
  readonly conditioning: Conditioning | null;
  /** How finely the trials near the limit told rates apart, and whether that, not --precision, ended the bisection. */
  readonly resolution: (Omit<Resolution, 'gap'> & {
    /** hi / lo − 1 below which rates cannot be told apart; null when the figure does not rise with the rate (nothing can). */
    readonly gap: number | null; readonly limitedSearch: boolean; readonly line: string;
  }) | null;
  readonly harnessBound: { readonly value: boolean; readonly reason: string | null; readonly advice: string | null; readonly atHz: number | null };
  /** Verdicts that contradict the bracket (a pass above a decided fail). */
  readonly noise: readonly string[];
  /** Errors retried between trials (a restart, a dropped connection), by SQLSTATE. */
  readonly retries: Readonly<Record<string, number>>;
  /** SLOs no trial could measure (no closed period, no sample), one line each. */
  readonly unmeasured: readonly string[];
  /** The state between trials: what the trials shared. */
  readonly state: string;
  readonly trials: readonly CapacityTrial[];
  readonly wallMs: number;
  /** One line for people. */
  readonly headline: string;
}

const n = (v: number): string => Math.round(v).toLocaleString('en-US');
const pct = (x: number): string => `${Math.round(x * 100)}%`;
const fmtValue = (v: number, unit: string): string =>
  unit === 'us' ? (v >= 1e6 ? `${(v / 1e6).toFixed(2)} s` : v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${Math.round(v)} µs`) : Number.isInteger(v) ? String(v) : v.toPrecision(3);

/** The server role whose work a figure measures. */
export function roleOf(figure: string): string {
  if (figure.startsWith('probes.')) return 'viewers';
  if (figure.startsWith('freshness') || figure.startsWith('audit') || figure.startsWith('rollup')) return 'rollup';
  return 'ingest';
}

/** The cause line of a role in a trial: its top wait and, on Citus, its busiest node. */
export function causeOf(server: TrialServer | null, role: string): string | null {
  if (!server) return null;
  const w = server.waits[role];
  const parts: string[] = [];
  if (w) parts.push(`${role}: ${w.top} ${pct(w.share)} of its active time (${w.aas.toFixed(2)} active sessions)`);
  const node = server.nodes?.filter((x) => x.role === role).sort((a, b) => b.aas - a.aas)[0];
  if (node) parts.push(`busiest node ${node.node} (${node.aas.toFixed(2)} active sessions${node.top ? `, ${node.top}${node.share === null ? '' : ` ${pct(node.share)}`}` : ''})`);
  if (server.cpuPressureMax !== null && server.cpuPressureMax >= 0.5) parts.push(`CPU pressure up to ${pct(server.cpuPressureMax)}`);
  return parts.length > 0 ? parts.join('; ') : null;
}

/** The binding limit: over the fail trials at the bracket's fail end, the SLO missed in most of them, furthest over its limit. */
export function bindingLimit(trials: readonly CapacityTrial[], failHz: number | null): BindingLimit | null {
  if (failHz === null) return null;
  const fails = trials.filter((t) => t.rateHz === failHz && t.verdict === 'fail');
  if (fails.length === 0) return null;
  const bySlo = new Map<string, { count: number; worst: SloVerdict; trial: CapacityTrial }>();
  for (const t of fails) {
    for (const v of t.slos.filter((s) => s.verdict === 'fail')) {
      const e = bySlo.get(v.slo);
      const ratio = (x: SloVerdict): number => (x.value !== null && x.limit ? x.value / x.limit : Number.POSITIVE_INFINITY);
      if (!e) bySlo.set(v.slo, { count: 1, worst: v, trial: t });
      else bySlo.set(v.slo, { count: e.count + 1, worst: ratio(v) > ratio(e.worst) ? v : e.worst, trial: ratio(v) > ratio(e.worst) ? t : e.trial });
    }
  }
  const ranked = [...bySlo.values()].sort((a, b) => b.count - a.count ||
    ((b.worst.value ?? Infinity) / (b.worst.limit ?? 1)) - ((a.worst.value ?? Infinity) / (a.worst.limit ?? 1)));
  const top = ranked[0];
  const others = [...new Set(fails.flatMap((t) => t.misses))];
  if (top) {
    const v = top.worst;
    const line = `${v.figure} ${v.value === null ? '—' : fmtValue(v.value, v.unit)} > ${v.limit === null ? '—' : fmtValue(v.limit, v.unit)} at ${n(failHz)} rows/s`;
    return {
      figure: v.figure, slo: v.slo, value: v.value, limit: v.limit, unit: v.unit, atHz: failHz, missedIn: top.count, failTrials: fails.length,
      line, cause: causeOf(top.trial.server, roleOf(v.figure)), others: others.filter((m) => !m.startsWith(v.figure)),
    };
  }
  // No SLO missed: an implied condition (errors, the rate, the self-check).
  const first = fails[0]!;
  const implied = first.misses[0] ?? 'failed';
  return {
    figure: implied.startsWith('errors') ? 'ingest.errors' : 'ingest.achievedRateHz', slo: null, value: first.achievedHz, limit: failHz, unit: 'hz', atHz: failHz,
    missedIn: fails.length, failTrials: fails.length, line: `${implied} at ${n(failHz)} rows/s`, cause: causeOf(first.server, 'ingest'), others: others.slice(1),
  };
}

/** What moves a figure besides the ingest rate. */
function movers(figure: string): string {
  if (figure.startsWith('probes.')) return 'what moves it: the viewers (--viewers, --refresh), the history the panels read (--preload-rows) and the rollup granularity';
  if (figure.startsWith('freshness')) return 'what moves it: the rollup interval and granularity';
  return 'what moves it: the server\'s own work per insert (triggers, indexes, WAL) and what else shares its CPU';
}

/**
 * The binding figure against the rate near the bracket (trials from a quarter
 * of the pass end to 1.5 × the fail end): its elasticity by least squares on
 * logs, and whether it is flat (|elasticity| < 0.3) or already within 70% of
 * its limit at the lowest rate tried.
 */
export function conditioning(trials: readonly CapacityTrial[], binding: BindingLimit | null, passHz: number | null): Conditioning | null {
  if (!binding?.slo || binding.limit === null || binding.limit <= 0) return null;
  const upper = binding.atHz * 1.5;
  const lower = (passHz ?? binding.atHz) / 4;
  const points = trials
    .filter((t) => t.rateHz >= lower && t.rateHz <= upper && t.verdict !== 'harness')
    .map((t) => ({ hz: t.rateHz, v: t.slos.find((s) => s.slo === binding.slo)?.value ?? null }))
    .filter((p): p is { hz: number; v: number } => p.v !== null && p.v > 0);
  if (points.length < 2) return null;
  const rates = [...new Set(points.map((p) => p.hz))];
  let elasticity: number | null = null;
  if (rates.length >= 3) {
    const xs = points.map((p) => Math.log(p.hz));
    const ys = points.map((p) => Math.log(p.v));
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    elasticity = sxx > 0 ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / sxx : null;
  }
  const lowHz = Math.min(...rates);
  const highHz = Math.max(...rates);
  const at = (hz: number): number[] => points.filter((p) => p.hz === hz).map((p) => p.v);
  const lowValue = Math.min(...at(lowHz));
  const highValue = Math.max(...at(highHz));
  const flatSlope = elasticity !== null && Math.abs(elasticity) < 0.3;
  const nearAtLow = lowValue >= 0.7 * binding.limit;
  const flat = flatSlope || nearAtLow;
  const range = (lo: number, hi: number): string => `${fmtValue(Math.min(lo, hi), binding.unit)}–${fmtValue(Math.max(lo, hi), binding.unit)}`;
  const what = binding.figure.split('.').slice(0, -1).join('.') || binding.figure;
  const why = flatSlope
    ? `${what} barely moves with the ingest rate: ${binding.figure} ${range(lowValue, highValue)} from ${n(lowHz)} to ${n(highHz)} rows/s (elasticity ${elasticity!.toFixed(2)})`
    : `${what} is already ${Math.round((lowValue / binding.limit) * 100)}% of its limit at the lowest rate tried: ${binding.figure} ${fmtValue(lowValue, binding.unit)} at ${n(lowHz)} rows/s, ` +
      `${fmtValue(highValue, binding.unit)} at ${n(highHz)}`;
  const line = flat
    ? `${why}, against a limit of ${fmtValue(binding.limit, binding.unit)}; it is set mostly by other things than the ingest rate (${movers(binding.figure)}), ` +
      'so read the rate as where that figure crosses its limit, not as a sharp capacity'
    : null;
  return { figure: binding.figure, elasticity, lowHz, highHz, lowValue, highValue, limit: binding.limit, flat, line };
}

/** The resolution as capacity.json keeps it: with whether it, not --precision, closed the gaps, and one line. */
export function resolutionResult(r: Resolution | null, precision: number): CapacityResult['resolution'] {
  if (!r) return null;
  const limitedSearch = r.gap > precision;
  const how = `the figure nearest its limit scatters ±${pct(Math.expm1(r.scatter))} between trials around its fit and moves with the rate at an elasticity of ` +
    `${r.elasticity.toFixed(2)} (${r.trials} trials at ${r.rates} rates near the limit)`;
  const line = !Number.isFinite(r.gap)
    ? `the figure nearest its limit does not rise with the rate (elasticity ${r.elasticity.toFixed(2)} over ${r.trials} trials at ${r.rates} rates): ` +
      'the trials cannot tell rates apart by it, so the search did not bisect further and another search may find a different bracket'
    : limitedSearch
      ? `${how}: verdicts at rates less than ${pct(r.gap)} apart can flip from trial to trial, so the search stopped bisecting at that gap, not at --precision ${pct(precision)}, ` +
        `and another search may find its bracket anywhere within about ×${(1 + r.gap).toFixed(1)} of this one`
      : `the trials tell rates ${pct(r.gap)} apart (${how}); bisected to --precision ${pct(precision)}`;
  return { ...r, gap: Number.isFinite(r.gap) ? r.gap : null, limitedSearch, line };
}

/** What to do when the client, not the database, stopped the search. */
export const HARNESS_ADVICE = 'add --workers (threads), use --mode multi (rows per statement), or split the load with --instance i/N on more hosts';

/** What to do, from the harness reason: a CPU shared with a local server is not helped by more threads. */
export function harnessAdvice(reason: string | null): string {
  return reason !== null && /shared the CPU with the server/.test(reason)
    ? 'run the load generator on another host than the server (rtbench run --url from there), or lighten the local server (fewer --viewers, fewer --citus-workers)'
    : HARNESS_ADVICE;
}

/** The result's figures from the search's end and bracket. */
export function resultFigures(end: SearchEnd | 'interrupted', b: Bracket): Pick<CapacityResult, 'capacityHz' | 'lowerBound' | 'bracket' | 'band'> {
  const lowerBound = end !== 'found' && b.passHz !== null;
  return { capacityHz: b.passHz, lowerBound, bracket: [b.passHz, b.failHz], band: b.band };
}

/** The headline line. */
export function headline(r: Pick<CapacityResult, 'end' | 'capacityHz' | 'bracket' | 'band' | 'binding' | 'harnessBound' | 'trials' | 'confidence' | 'conditioning' | 'search'> & { readonly resolution?: CapacityResult['resolution'] }): string {
  const [p, f] = r.bracket;
  const conf = `${Math.round(r.confidence * 100)}%`;
  const band = r.band
    ? `; noise band ${r.band[0] === r.band[1] ? `at ${n(r.band[0])}` : `${n(r.band[0])}–${n(r.band[1])}`} rows/s (trials there disagreed or could not decide)` : '';
  const bind = r.binding ? `; binding: ${r.binding.line}${r.binding.cause ? ` (cause: ${r.binding.cause})` : ''}` : '';
  const cond = r.conditioning?.flat && r.conditioning.line ? `. Note: ${r.conditioning.line}` : '';
  const res = r.resolution?.limitedSearch ? `; ${r.resolution.line}` : '';
  switch (r.end) {
    case 'found':
      return `capacity ${n(r.capacityHz!)} rows/s, bracket [${n(p!)}, ${n(f!)}] (each end decided at ${conf})${band}${res}${bind}${cond}`;
    case 'max-passed':
      return `capacity ≥ ${n(r.capacityHz!)} rows/s (lower bound: --max ${n(r.search.maxHz)} passed; raise --max to search further)${band}`;
    case 'no-pass': {
      const lowest = r.trials.filter((t) => t.rateHz === f).at(-1);
      return `no passing rate down to ${n(f ?? r.search.minHz)} rows/s: ${lowest?.misses.join('; ') || lowest?.undecided.join('; ') || 'failed'}`;
    }
    case 'harness-bound': {
      const at = n(r.harnessBound.atHz ?? 0);
      const why = `${r.harnessBound.reason ?? 'client-limited'}; ${r.harnessBound.advice ?? HARNESS_ADVICE}`;
      if (p === null) return `harness-bound: the client could not drive even ${at} rows/s (${why})`;
      const fail = f !== null ? `; the database failed at ${n(f)} rows/s, above the client's ceiling, so the bracket [${n(p)}, ${n(f)}] is not refined` : '';
      return `capacity ≥ ${n(p)} rows/s (lower bound: the client could not drive ${at} rows/s: ${why})${fail}${bind}`;
    }
    case 'trial-limit':
      return p === null
        ? `--max-trials ${r.search.maxTrials} reached before any rate passed${f === null ? '' : ` (lowest fail ${n(f)} rows/s)`}`
        : `capacity ≥ ${n(p)} rows/s (lower bound: --max-trials ${r.search.maxTrials} reached before the bracket was decided; so far [${n(p)}, ${f === null ? '?' : n(f)}])${band}`;
    case 'interrupted':
      return `interrupted after ${r.trials.length} trials; bracket so far [${p === null ? '?' : n(p)}, ${f === null ? '?' : n(f)}] rows/s (resume with --resume)`;
    case null:
      return `running: ${r.trials.length} trials so far; bracket [${p === null ? '?' : n(p)}, ${f === null ? '?' : n(f)}] rows/s`;
  }
}

/**
 * b/a of two capacities with its bracket [passB / failA, failB / passA].
 * A ratio is a value only when both searches found a bracket; with a lower
 * bound on either side it is only a bound (or nothing), never a value.
 */
export function capacityRatio(a: Pick<CapacityResult, 'capacityHz' | 'bracket' | 'lowerBound' | 'end'>, b: Pick<CapacityResult, 'capacityHz' | 'bracket' | 'lowerBound' | 'end'>): {
  ratio: number | null; low: number | null; high: number | null; kind: 'value' | 'at-least' | 'at-most' | 'none';
} {
  const [pa, fa] = a.bracket;
  const [pb, fb] = b.bracket;
  const low = pb !== null && fa !== null && fa > 0 ? pb / fa : null;
  const high = fb !== null && pa !== null && pa > 0 ? fb / pa : null;
  if (a.end === 'found' && b.end === 'found' && a.capacityHz && b.capacityHz) return { ratio: b.capacityHz / a.capacityHz, low, high, kind: 'value' };
  // b only from below and a decided: b/a is at least passB / failA.
  if (low !== null) return { ratio: null, low, high, kind: 'at-least' };
  if (high !== null) return { ratio: null, low, high, kind: 'at-most' };
  return { ratio: null, low, high, kind: 'none' };
}
