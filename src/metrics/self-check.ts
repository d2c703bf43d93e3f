/**
 * The harness watches itself: a run is invalid when the client, not the
 * database, limited it, or when the achieved rate missed the target by more
 * than the tolerance. Pure: takes numbers, returns reasons.
 */
import { CLIENT_SHARE_LIMIT, type ClientTail } from './client-tail.js';

export interface SelfCheckInput {
  /** Total target rate (rows/s), or null for a closed loop. */
  readonly targetRowsHz: number | null;
  readonly achievedRowsHz: number;
  /** Per worker: event-loop utilisation samples (0..1) of the measure intervals. */
  readonly workerElu: readonly (readonly number[])[];
  /** Per worker: p99 event-loop delay over the whole measure phase, µs. */
  readonly loopDelayP99Us: readonly number[];
  /**
   * Per worker: p50 of the same, µs. With the response percentiles it says whether the delay set
   * the figures the user reads: a delayed loop holds back every reply it should have taken, so a
   * response percentile moved by at most the delay at about that percentile. Absent (older runs):
   * the p99 over the limit alone makes the run invalid.
   */
  readonly loopDelayP50Us?: readonly number[];
  /** Response p50 and p99 of the run, µs (null without samples). */
  readonly responseP50Us?: number | null;
  readonly responseP99Us?: number | null;
  /** Mean client-process CPU over the measure phase, in cores. */
  readonly cpuCoresMean: number;
  /** Cores the machine has. */
  readonly cores: number;
  /** True when the measure phase was cut short (Ctrl-C). */
  readonly interrupted: boolean;
  /**
   * p99 of the harness's own timer lateness over the measure phase, µs (the lag
   * less the wait for a free connection); null when nothing was sent.
   */
  readonly timerLagP99Us?: number | null;
  /** --late-threshold-ms in µs: timer lateness p99 above it makes the run invalid. */
  readonly lateThresholdUs?: number;
  /**
   * The step's warm-up, ms. Under 1 s the measure phase starts with cold workers (JIT, first
   * connections), and a timer-lateness verdict names that cause.
   */
  readonly warmupMs?: number;
  /**
   * When the server runs on this host: the share of the measure phase runnable tasks waited
   * for a CPU (/proc/pressure/cpu `some`, 0..1). A client-limited run then names that cause.
   */
  readonly localServerCpuPressure?: number | null;
  /**
   * How much of the response p50 and p99 the client's lateness set (client-tail.ts); null for a
   * closed loop. When given, timer lateness over the threshold makes the run invalid only if the
   * client set the p50 (more than CLIENT_SHARE_LIMIT of it, or moved it by more than the threshold): a tail the client only partly set is a note and a figure the gate holds on
   * service time, not a failed run. Absent: the fixed threshold alone decides (runs of older rtbench).
   */
  readonly clientTail?: ClientTail | null;
}

/** Warm-ups shorter than this leave a worker's first second (JIT, first connections) in the measure phase. */
export const COLD_START_WARMUP_MS = 1000;

export interface SelfCheckLimits {
  /** Allowed shortfall of the achieved rate (fraction). */
  readonly rateTolerance: number;
  /** Mean worker event-loop utilisation above which the worker is the bottleneck. */
  readonly maxElu: number;
  /** A worker's measure-phase p99 event-loop delay above which its timers fire too late to keep the schedule. */
  readonly maxLoopDelayUs: number;
  /** Share of the machine's cores the client may use before it competes with a local server. */
  readonly maxCpuShare: number;
  /** CPU pressure from which a client-limited run on a local server is put down to the shared CPU. */
  readonly sharedCpuPressure: number;
}

export const DEFAULT_LIMITS: SelfCheckLimits = { rateTolerance: 0.01, maxElu: 0.9, maxLoopDelayUs: 50_000, maxCpuShare: 0.9, sharedCpuPressure: 0.1 };

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** monitorEventLoopDelay's sampling timer (worker.ts): its histogram holds the time between callbacks, so this much is no delay. */
export const LOOP_DELAY_RESOLUTION_US = 10_000;

/**
 * Whether worker w's event-loop delay set the response median: its p50 delay (less the
 * sampling period) over the response p50 above CLIENT_SHARE_LIMIT. Null when the run
 * lacks the figures (older runs; no samples).
 */
export function loopDelayJudged(input: SelfCheckInput, w: number): { p50DelayUs: number; p50Share: number; p99DelayUs: number; p99Share: number; setMedian: boolean } | null {
  const p50 = input.loopDelayP50Us?.[w];
  const r50 = input.responseP50Us;
  const r99 = input.responseP99Us;
  if (p50 === undefined || r50 == null || r99 == null || r50 <= 0 || r99 <= 0) return null;
  const p50DelayUs = Math.max(0, p50 - LOOP_DELAY_RESOLUTION_US);
  const p99DelayUs = Math.max(0, (input.loopDelayP99Us[w] ?? 0) - LOOP_DELAY_RESOLUTION_US);
  const p50Share = Math.min(1, p50DelayUs / r50);
  return { p50DelayUs, p50Share, p99DelayUs, p99Share: Math.min(1, p99DelayUs / r99), setMedian: p50Share > CLIENT_SHARE_LIMIT };
}

/**
 * Notes for a run whose tail the client's event loop may have set but whose median it did
 * not (the run stays valid): by how much, per figure.
 */
export function loopDelayNotes(input: SelfCheckInput, limits: SelfCheckLimits = DEFAULT_LIMITS): string[] {
  const out: string[] = [];
  input.loopDelayP99Us.forEach((delay, w) => {
    const j = delay > limits.maxLoopDelayUs ? loopDelayJudged(input, w) : null;
    if (j === null || j.setMedian) return;
    out.push(`the client's event loop (worker ${w}) was late by ${(j.p99DelayUs / 1000).toFixed(1)} ms at its p99 and ${(j.p50DelayUs / 1000).toFixed(1)} ms at its p50: ` +
      `up to ${(j.p99Share * 100).toFixed(0)}% of the response p99 and ${(j.p50Share * 100).toFixed(0)}% of the p50 may be the client's (the median is the server's; ingest.response.p99 is watched, not gated)`);
  });
  return out;
}

/** Reasons the run is invalid; empty when it is valid. */
export function selfCheck(input: SelfCheckInput, limits: SelfCheckLimits = DEFAULT_LIMITS): string[] {
  const reasons: string[] = [];
  if (input.interrupted) reasons.push('the run was interrupted before the end of the measure phase');
  if (input.targetRowsHz !== null) {
    const ratio = input.achievedRowsHz / input.targetRowsHz;
    // A tiny epsilon so that exactly 1% off (0.010000000000000009 in floating point) is within tolerance.
    if (Math.abs(ratio - 1) > limits.rateTolerance + 1e-9) {
      reasons.push(
        `achieved ${input.achievedRowsHz.toFixed(1)} rows/s is ${((ratio - 1) * 100).toFixed(2)}% off the target ${input.targetRowsHz} rows/s (tolerance ±${limits.rateTolerance * 100}%)`,
      );
    }
  }
  input.workerElu.forEach((samples, w) => {
    const m = mean(samples);
    if (m > limits.maxElu) {
      reasons.push(`client-limited: worker ${w} event loop busy ${(m * 100).toFixed(0)}% of the time (limit ${limits.maxElu * 100}%); add --workers or lower the rate`);
    }
  });
  input.loopDelayP99Us.forEach((delay, w) => {
    if (delay <= limits.maxLoopDelayUs) return;
    const judged = loopDelayJudged(input, w);
    if (judged === null || judged.setMedian) {
      reasons.push(`client-limited: worker ${w} event-loop delay p99 ${(delay / 1000).toFixed(1)} ms over the measure phase (limit ${limits.maxLoopDelayUs / 1000} ms)` +
        (judged ? `, and its p50 ${(judged.p50DelayUs / 1000).toFixed(1)} ms is ${(judged.p50Share * 100).toFixed(0)}% of the response p50: the client set the median` : ''));
    }
  });
  // The harness, not the server, set the tail: its own lateness. Waiting for a busy connection
  // (a stalled server) is not counted here; it shows in connection wait and response time.
  const tail = input.clientTail;
  // The client set the median: more than CLIENT_SHARE_LIMIT of it, or more than the threshold itself.
  const clientSetMedian = tail == null || tail.p50.clientSet || (input.lateThresholdUs !== undefined && tail.p50.clientUs > input.lateThresholdUs);
  if (input.timerLagP99Us != null && input.lateThresholdUs !== undefined && input.timerLagP99Us > input.lateThresholdUs && clientSetMedian) {
    const cold = input.warmupMs !== undefined && input.warmupMs < COLD_START_WARMUP_MS;
    reasons.push(cold
      ? `client-limited (cold start): timer lateness p99 ${(input.timerLagP99Us / 1000).toFixed(2)} ms exceeds --late-threshold-ms ${input.lateThresholdUs / 1000}; ` +
        `with --warmup ${input.warmupMs! / 1000}s the measure phase holds the workers' first second (JIT, first connections); give --warmup 2s or more`
      : `client-limited: timer lateness p99 ${(input.timerLagP99Us / 1000).toFixed(2)} ms exceeds --late-threshold-ms ${input.lateThresholdUs / 1000} ` +
        `(the harness, not the server, set the tail${tail ? `: ${(tail.p50.clientShare * 100).toFixed(0)}% of the response p50` : ''}); add --workers, lower the rate, or run the client on a quieter machine`);
  }
  if (input.cpuCoresMean > limits.maxCpuShare * input.cores) {
    reasons.push(`client-limited: the client used ${input.cpuCoresMean.toFixed(2)} of ${input.cores} cores (limit ${(limits.maxCpuShare * 100).toFixed(0)}%)`);
  }
  // On a shared host the cause is usually the server's own CPU, not the client's work.
  const pressure = input.localServerCpuPressure;
  if (pressure != null && pressure >= limits.sharedCpuPressure) {
    const cause = `the client shared the CPU with the server: cpu pressure ${(pressure * 100).toFixed(0)}%`;
    return reasons.map((r) => (r.startsWith('client-limited: ') ? `client-limited: ${cause}; ${r.slice('client-limited: '.length)}` : r));
  }
  return reasons;
}
