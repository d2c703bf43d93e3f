/**
 * A day-long run's page model (1 s intervals, the sampler's seconds, a
 * freshness marker every 2 s) with a 1 s outage at 50,000 s, a p99 spike at
 * 70,000 s and errors at 30,000 s: the thinning's tests and the day-long
 * report in Chromium.
 */
import { emptyModel, type PageInterval, type PageModel } from '../../src/report/page-model.js';

export function interval(step: number, t: number, extra: Partial<PageInterval> = {}): PageInterval {
  return { step, t, warmup: t <= 5, targetHz: 2000, achievedHz: 1990 + (t % 7), ops: 1990 + (t % 7), p50Us: 800, p99Us: 4000 + (t % 13), serviceP99Us: 3900, lagP99Us: 140, errors: 0, late: t % 3, dropped: 0, ...extra };
}

/** A day of 1 s intervals with a 1 s outage at 50,000 s, a p99 spike at 70,000 s and errors at 30,000 s; the sampler's seconds; freshness every 2 s. */
export function day(): PageModel {
  const m = emptyModel('run', 'a day');
  m.finished = true;
  m.steps.push({ index: 0, runId: 'r', side: '', rateHz: 2000, warmupS: 5, durationS: 86_395 });
  for (let t = 1; t <= 86_400; t++) {
    const extra: Partial<PageInterval> = t === 50_000
      ? { unavailableMs: 1000, errors: 3, errorsBySqlstate: { '57P01': 3 }, outages: [{ startS: 49_999.2, endS: 50_000.1, causes: ['connection refused'] }] }
      : t === 70_000 ? { p99Us: 2_500_000 } : t === 30_000 ? { errors: 1, errorsBySqlstate: { '40001': 1 } } : { unavailableMs: 0 };
    m.intervals.push(interval(0, t, extra));
    m.server.push({ step: 0, t, waits: { 'ingest CPU': t % 2 === 0 ? 1 : 0, ...(t === 60_000 ? { 'rollup Lock': 5 } : {}) }, walMBps: 1, serverCores: 0.5, clientCores: 0.25, clientMainCores: 0.1, cpuPressure: 0.1 });
    if (t % 2 === 0) m.freshness.push({ step: 0, t: t + 0.25, us: t === 40_000 ? 90_000_000 : 1_000_000, kind: 'seen' });
  }
  m.freshness.push({ step: 0, t: 86_400, us: 3_000_000, kind: 'censored' });
  return m;
}

