/**
 * The page's time series thinned so a page stays small and fast whatever the
 * run's length: report.html's embedded model, the history a late browser
 * gets, and a live page open for hours (the browser thins its own model too).
 * Consecutive points of a step are merged honestly: rates averaged by time,
 * counts summed, a percentile the worst (max) of the merged intervals', the
 * server's levels averaged; freshness keeps the worst reading of each bucket.
 * Nothing that marks trouble is thinned away: a merged interval keeps every
 * failed operation (its red mark), the outages it touched and the
 * unavailable ms; the summary's outages and the never-seen freshness markers
 * are kept whole. Pure and self-contained (its source is inlined into the
 * page, like page-script.ts's functions): no import is used at run time.
 */
import type { PageFreshPoint, PageInterval, PageModel, PageServerSecond } from './page-model.js';

/** At most about this many points per series by default (a few more: each step keeps its own first and last). */
export const THIN_MAX_POINTS = 2000;

/**
 * `model` with its intervals, server seconds and freshness readings merged to
 * at most about `maxPoints` each; `model.thinned` says how (seconds per point).
 * A model within the bound is returned as it is.
 */
export function thinModel(model: PageModel, maxPoints = 2000): PageModel {
  const nFresh = model.freshness.filter((p) => p.kind !== 'censored').length;
  if (model.intervals.length <= maxPoints && model.server.length <= maxPoints && nFresh <= maxPoints) return model;
  /** Consecutive items of the same step (and the same `same` key) in groups of at most k. */
  const groups = <T extends { readonly step: number; readonly t: number }>(items: readonly T[], k: number, same: (a: T, b: T) => boolean): T[][] => {
    const out: T[][] = [];
    let cur: T[] = [];
    for (const r of items) {
      const prev = cur[cur.length - 1];
      if (prev && (prev.step !== r.step || !same(prev, r) || cur.length >= k || r.t < prev.t)) {
        out.push(cur);
        cur = [];
      }
      cur.push(r);
    }
    if (cur.length > 0) out.push(cur);
    return out;
  };
  /** The median length of a point (s), per step from its previous point. */
  const medianLength = (items: ReadonlyArray<{ readonly step: number; readonly t: number }>): number => {
    const lengths: number[] = [];
    items.forEach((r, i) => {
      const prev = items[i - 1];
      if (prev && prev.step === r.step && r.t > prev.t) lengths.push(r.t - prev.t);
    });
    lengths.sort((a, b) => a - b);
    return lengths[Math.floor(lengths.length / 2)] ?? 1;
  };
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  const mean = (xs: ReadonlyArray<number | null>): number | null => {
    const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
    return v.length === 0 ? null : sum(v) / v.length;
  };

  let intervals = model.intervals;
  let pointS = 0;
  if (intervals.length > maxPoints) {
    const k = Math.ceil(intervals.length / maxPoints);
    const prevT = new Map<PageInterval, number>();
    intervals.forEach((r, i) => {
      const p = intervals[i - 1];
      prevT.set(r, p && p.step === r.step && p.t <= r.t ? p.t : Math.max(0, r.t - 1));
    });
    intervals = groups(intervals, k, (a, b) => a.warmup === b.warmup).map((g): PageInterval => {
      const first = g[0]!;
      const last = g[g.length - 1]!;
      if (g.length === 1) return first;
      const lengths = g.map((r) => Math.max(0, r.t - prevT.get(r)!));
      const span = sum(lengths);
      const byTime = (f: (r: PageInterval) => number | null): number | null => {
        let w = 0;
        let acc = 0;
        g.forEach((r, i) => {
          const v = f(r);
          if (v === null) return;
          acc += v * lengths[i]!;
          w += lengths[i]!;
        });
        return w > 0 ? acc / w : null;
      };
      // A percentile: the worst of the intervals that had operations.
      const worst = (f: (r: PageInterval) => number): number => Math.max(0, ...g.filter((r) => r.ops > 0).map(f));
      const outages = new Map<number, { startS: number; endS: number | null; causes: readonly string[] }>();
      for (const r of g) for (const o of r.outages ?? []) {
        const had = outages.get(o.startS);
        outages.set(o.startS, had && had.endS === null ? { ...o } : had && o.endS !== null && had.endS !== null && had.endS > o.endS ? had : { ...o });
      }
      const errs: Record<string, number> = {};
      for (const r of g) for (const [code, n] of Object.entries(r.errorsBySqlstate ?? {})) errs[code] = (errs[code] ?? 0) + n;
      const unavailable = g.some((r) => r.unavailableMs !== undefined) ? { unavailableMs: sum(g.map((r) => r.unavailableMs ?? 0)) } : {};
      return {
        step: first.step, t: last.t, warmup: first.warmup,
        targetHz: byTime((r) => r.targetHz),
        achievedHz: span > 0 ? byTime((r) => r.achievedHz) ?? 0 : last.achievedHz,
        ops: sum(g.map((r) => r.ops)),
        p50Us: worst((r) => r.p50Us), p99Us: worst((r) => r.p99Us), serviceP99Us: worst((r) => r.serviceP99Us), lagP99Us: worst((r) => r.lagP99Us),
        errors: sum(g.map((r) => r.errors)), late: sum(g.map((r) => r.late)), dropped: sum(g.map((r) => r.dropped)),
        ...unavailable,
        ...(outages.size > 0 ? { outages: [...outages.values()] } : {}),
        ...(Object.keys(errs).length > 0 ? { errorsBySqlstate: errs } : {}),
      };
    });
    pointS = medianLength(intervals);
  }

  let server = model.server;
  let serverS = 0;
  if (server.length > maxPoints) {
    const k = Math.ceil(server.length / maxPoints);
    server = groups(server, k, () => true).map((g): PageServerSecond => {
      const last = g[g.length - 1]!;
      if (g.length === 1) return last;
      const waits: Record<string, number> = {};
      for (const key of new Set(g.flatMap((r) => Object.keys(r.waits)))) waits[key] = sum(g.map((r) => r.waits[key] ?? 0)) / g.length;
      return {
        step: last.step, t: last.t, waits, walMBps: mean(g.map((r) => r.walMBps)), serverCores: mean(g.map((r) => r.serverCores)),
        clientCores: mean(g.map((r) => r.clientCores)), clientMainCores: mean(g.map((r) => r.clientMainCores)), cpuPressure: mean(g.map((r) => r.cpuPressure)),
      };
    });
    serverS = medianLength(server);
  }

  let freshness = model.freshness;
  let freshS = 0;
  if (nFresh > maxPoints) {
    // Buckets of equal time over every step's span: the worst (oldest) reading of each; never-seen markers all kept.
    const spanS = new Map<number, number>();
    for (const p of model.freshness) spanS.set(p.step, Math.max(spanS.get(p.step) ?? 0, p.t));
    freshS = Math.max(pointS, Math.ceil(sum([...spanS.values()]) / maxPoints));
    const worst = new Map<string, PageFreshPoint>();
    const kept: PageFreshPoint[] = [];
    for (const p of model.freshness) {
      if (p.kind === 'censored') {
        kept.push(p);
        continue;
      }
      const key = `${p.step} ${p.kind} ${Math.floor(p.t / freshS)}`;
      const had = worst.get(key);
      if (!had || p.us > had.us) worst.set(key, p);
    }
    freshness = [...worst.values(), ...kept].sort((a, b) => a.step - b.step || a.t - b.t);
  }
  return { ...model, intervals, server, freshness, thinned: { intervalS: pointS, serverS, freshnessS: freshS } };
}
