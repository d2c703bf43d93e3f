/**
 * The A/A and detection study of the history gate (npm run bench:gate): pure
 * analysis of run summaries the benchmark collected. Each checked run is held
 * against a rolling window of the unchanged runs before it (the history CI
 * would hold: main appends each run), figure by figure, with the same
 * defaults and gate `check --history` uses.
 *
 * - false alarms: unchanged runs the gate failed (any gated figure);
 * - detections: runs of a known regression the gate failed;
 * - history needed: the smallest window meeting both targets;
 * - invalid: runs the self-check marked invalid (CI exits 3 on those).
 */
import { abFails, abRows, type AbRow } from './ab.js';
import { defaultFigures } from './figures.js';
import { gateFigure, type GateOptions, type GateVerdict } from './gate.js';
import type { PairedOptions } from './paired.js';
import { Prng } from '../workload/prng.js';

/** What the study needs of a run's summary.json: the figures and the self-check verdict. */
export interface StudyRun {
  readonly summary: unknown;
  readonly valid: boolean;
}

export interface StudyInput {
  /** Unchanged runs, in the order they ran (the first `k` are the initial history). */
  readonly unchanged: readonly StudyRun[];
  /** The initial history length K: unchanged[0..K) are history only; unchanged[K..] are checked. */
  readonly k: number;
  /** Regressed runs per regression, each with the index of the unchanged runs that preceded it. */
  readonly regressions: Readonly<Record<string, ReadonlyArray<{ readonly run: StudyRun; readonly after: number }>>>;
}

export interface FigureStudy {
  readonly path: string;
  readonly name: string;
  readonly gated: boolean;
  /** Unchanged checks whose verdict on this figure was a regression / all checks where the figure could be judged. */
  readonly falseAlarms: number;
  readonly judged: number;
  /** Checks where the figure was insufficient (history or samples). */
  readonly insufficient: number;
  /** Per regression: detections / judged. */
  readonly detections: Readonly<Record<string, { readonly detected: number; readonly judged: number }>>;
}

export interface GateStudy {
  readonly m: number;
  readonly window: number;
  /** The default gate: any gated figure failing fails the run. */
  readonly falseAlarms: number;
  readonly detections: Readonly<Record<string, number>>;
  readonly regressionRuns: Readonly<Record<string, number>>;
  readonly figures: FigureStudy[];
  /** Every false alarm: the unchanged run's index (in `unchanged`) and the gated figures that failed it. */
  readonly alarms: ReadonlyArray<{ readonly index: number; readonly figures: readonly string[] }>;
}

type Values = Map<string, number>;

function figureValues(s: unknown): { values: Values; meta: Map<string, { name: string; gated: boolean; samples: number | null; direction: 'smaller' | 'bigger' | 'zero' }> } {
  const values: Values = new Map();
  const meta = new Map<string, { name: string; gated: boolean; samples: number | null; direction: 'smaller' | 'bigger' | 'zero' }>();
  for (const f of defaultFigures(s).figures) {
    values.set(f.path, f.value);
    meta.set(f.path, { name: f.name, gated: f.gated, samples: f.samples, direction: f.direction });
  }
  return { values, meta };
}

/** Verdict per figure of one run against the last `window` of `history` (oldest first). */
export function verdicts(run: unknown, history: readonly unknown[], window: number, o: GateOptions): Map<string, { verdict: GateVerdict; gated: boolean; name: string }> {
  const { values, meta } = figureValues(run);
  const past = history.slice(Math.max(0, history.length - window)).map((h) => figureValues(h).values);
  const out = new Map<string, { verdict: GateVerdict; gated: boolean; name: string }>();
  for (const [path, value] of values) {
    const m = meta.get(path)!;
    const hv = past.map((p) => p.get(path)).filter((v): v is number => v !== undefined);
    const r = gateFigure(value, hv, m.direction, o, { path, samples: m.samples });
    out.set(path, { verdict: r.verdict, gated: m.gated, name: m.name });
  }
  return out;
}

/** Whether the default gate fails a run (any gated figure regressed). */
export const gateFails = (v: ReadonlyMap<string, { verdict: GateVerdict; gated: boolean }>): boolean => [...v.values()].some((x) => x.gated && x.verdict === 'regression');

/** The study with a rolling window of `window` unchanged runs. */
export function studyGate(input: StudyInput, window: number, o: GateOptions): GateStudy {
  const hist = input.unchanged.map((r) => r.summary);
  const figs = new Map<string, { name: string; gated: boolean; fa: number; judged: number; insufficient: number; det: Map<string, { detected: number; judged: number }> }>();
  const fig = (path: string, name: string, gated: boolean) => {
    let f = figs.get(path);
    if (!f) figs.set(path, (f = { name, gated, fa: 0, judged: 0, insufficient: 0, det: new Map() }));
    return f;
  };
  let falseAlarms = 0;
  let m = 0;
  const alarms: Array<{ index: number; figures: string[] }> = [];
  for (let i = input.k; i < hist.length; i++) {
    const v = verdicts(hist[i], hist.slice(0, i), window, o);
    m++;
    if (gateFails(v)) {
      falseAlarms++;
      alarms.push({ index: i, figures: [...v.values()].filter((x) => x.gated && x.verdict === 'regression').map((x) => x.name) });
    }
    for (const [path, x] of v) {
      const f = fig(path, x.name, x.gated);
      if (x.verdict === 'insufficient') f.insufficient++;
      else f.judged++;
      if (x.verdict === 'regression') f.fa++;
    }
  }
  const detections: Record<string, number> = {};
  const regressionRuns: Record<string, number> = {};
  for (const [name, runs] of Object.entries(input.regressions)) {
    detections[name] = 0;
    regressionRuns[name] = runs.length;
    for (const { run, after } of runs) {
      const v = verdicts(run.summary, hist.slice(0, after), window, o);
      if (gateFails(v)) detections[name]!++;
      for (const [path, x] of v) {
        const f = fig(path, x.name, x.gated);
        const d = f.det.get(name) ?? { detected: 0, judged: 0 };
        if (x.verdict !== 'insufficient') d.judged++;
        if (x.verdict === 'regression') d.detected++;
        f.det.set(name, d);
      }
    }
  }
  const figures = [...figs.entries()].map(([path, f]): FigureStudy => ({
    path, name: f.name, gated: f.gated, falseAlarms: f.fa, judged: f.judged, insufficient: f.insufficient,
    detections: Object.fromEntries(Object.keys(input.regressions).map((n) => [n, f.det.get(n) ?? { detected: 0, judged: 0 }])),
  }));
  return { m, window, falseAlarms, detections, regressionRuns, figures, alarms };
}

/** The smallest window (from `from` up to K) whose default gate meets the targets, or null. */
export function historyNeeded(input: StudyInput, o: GateOptions, maxFalseAlarmShare: number, minDetectionShare: number, from = 1): number | null {
  for (let w = from; w <= input.k; w++) {
    const s = studyGate(input, w, o);
    const okFa = s.m > 0 && s.falseAlarms / s.m <= maxFalseAlarmShare;
    const okDet = Object.entries(s.detections).every(([n, d]) => (s.regressionRuns[n] ?? 0) > 0 && d / s.regressionRuns[n]! >= minDetectionShare);
    if (okFa && okDet) return w;
  }
  return null;
}

/** One round of the study as the duet sees it: an unchanged run, its twin (a second unchanged run), and each regression's run. */
export interface DuetRound {
  readonly unchanged: unknown;
  readonly twin: unknown;
  readonly regressions: Readonly<Record<string, unknown>>;
}

export interface DuetStudy {
  /** Rounds per A/B check. */
  readonly perCheck: number;
  /** Checks: every run of `perCheck` consecutive rounds (they overlap: not independent). */
  readonly checks: number;
  /** A/A checks (unchanged against its twin) that failed. */
  readonly falseAlarms: number;
  /** Per regression: checks (unchanged as a, the regression as b) that failed. */
  readonly detections: Readonly<Record<string, number>>;
}

/**
 * `check --ab` judged on the study's own rounds: each window of `perCheck`
 * consecutive rounds is one A/B check, pairing the round's unchanged run
 * with its twin (false alarms) or with a regression's run (detections), the
 * runs of a round being minutes apart at most on the same server.
 */
export function studyDuet(rounds: readonly DuetRound[], perCheck: number, o: PairedOptions): DuetStudy {
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r.regressions)))];
  const detections: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  let falseAlarms = 0;
  let checks = 0;
  for (let i = 0; i + perCheck <= rounds.length; i++) {
    const w = rounds.slice(i, i + perCheck);
    checks++;
    if (abRows(w.map((r, j) => ({ a: r.unchanged, b: r.twin, first: j % 2 === 0 ? 'a' : 'b' })), o).some(abFails)) falseAlarms++;
    for (const n of names) {
      const pairs = w.filter((r) => r.regressions[n] !== undefined).map((r, j) => ({ a: r.unchanged, b: r.regressions[n], first: j % 2 === 0 ? 'a' as const : 'b' as const }));
      if (abRows(pairs, o).some(abFails)) detections[n]!++;
    }
  }
  return { perCheck, checks, falseAlarms, detections };
}

export interface DuetResampled {
  readonly perCheck: number;
  /** Random subsets drawn (each `perCheck` distinct rounds of the study, in their order). */
  readonly draws: number;
  /** Share of A/A subsets (unchanged against its twin) that failed. */
  readonly falseAlarmShare: number;
  /** Per regression: share of subsets (unchanged as a, the regression as b) that failed. */
  readonly detectionShare: Readonly<Record<string, number>>;
  /** Per default figure (by name): whether it is gated, and the same shares for that figure alone. */
  readonly figures: ReadonlyArray<{ readonly name: string; readonly gated: boolean; readonly falseAlarmShare: number; readonly detectionShare: Readonly<Record<string, number>> }>;
}

/**
 * `check --ab` on random subsets of the study's rounds: each draw takes
 * `perCheck` distinct rounds (a check's worth) at random and judges them as
 * one A/B check, so the shares estimate what one check of `perCheck` rounds
 * does on this box, from every way the study's rounds could have fallen into
 * a check, not only the few non-overlapping windows M rounds hold. It takes
 * the rounds as exchangeable: drift over the study is not in a round's ratio
 * (both sides of a round ran minutes apart at most), which is the duet's point.
 * Seeded: the same rounds and seed give the same shares.
 */
export function studyDuetResampled(rounds: readonly DuetRound[], perCheck: number, o: PairedOptions, draws: number, seed: number): DuetResampled {
  const prng = new Prng(seed);
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r.regressions)))];
  const detected: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const judged: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  let falseAlarms = 0;
  const idx = rounds.map((_, i) => i);
  const figs = new Map<string, { gated: boolean; fa: number; det: Record<string, number> }>();
  const tally = (rows: readonly AbRow[], kind: string | null): void => {
    for (const r of rows) {
      let f = figs.get(r.name);
      if (!f) figs.set(r.name, (f = { gated: r.gated, fa: 0, det: Object.fromEntries(names.map((n) => [n, 0])) }));
      if (r.result.verdict !== 'regression') continue;
      if (kind === null) f.fa++;
      else f.det[kind]!++;
    }
  };
  for (let d = 0; d < draws; d++) {
    // A partial Fisher–Yates shuffle: the first perCheck are a uniform subset.
    for (let i = 0; i < perCheck; i++) {
      const j = i + prng.below(idx.length - i);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const w = idx.slice(0, perCheck).sort((x, y) => x - y).map((i) => rounds[i]!);
    const aa = abRows(w.map((r, j) => ({ a: r.unchanged, b: r.twin, first: j % 2 === 0 ? 'a' as const : 'b' as const })), o);
    tally(aa, null);
    if (aa.some(abFails)) falseAlarms++;
    for (const n of names) {
      const pairs = w.filter((r) => r.regressions[n] !== undefined).map((r, j) => ({ a: r.unchanged, b: r.regressions[n], first: j % 2 === 0 ? 'a' as const : 'b' as const }));
      if (pairs.length < perCheck) continue;
      judged[n]!++;
      const rows = abRows(pairs, o);
      tally(rows, n);
      if (rows.some(abFails)) detected[n]!++;
    }
  }
  return {
    perCheck, draws, falseAlarmShare: draws > 0 ? falseAlarms / draws : 0,
    detectionShare: Object.fromEntries(names.map((n) => [n, judged[n]! > 0 ? detected[n]! / judged[n]! : 0])),
    figures: [...figs.entries()].map(([name, f]) => ({
      name, gated: f.gated, falseAlarmShare: draws > 0 ? f.fa / draws : 0,
      detectionShare: Object.fromEntries(names.map((n) => [n, judged[n]! > 0 ? f.det[n]! / judged[n]! : 0])),
    })),
  };
}
