/**
 * A capacity search on one session: fixed-rate steps chosen by the pure search
 * (src/capacity/search.ts), each judged against the SLOs
 * (src/capacity/slo.ts), until the bracket is confirmed. Emits events and
 * returns the result; never prints and never writes files (the observers
 * given per step do).
 */
import type { RunRecord } from '../results/run-record.js';
import { nextStep, estimateStepsLeft, type SearchOptions, type SearchStep } from '../capacity/search.js';
import { judgeStep, type Slo } from '../capacity/slo.js';
import { harnessAdvice, bindingLimit, headline, CAPACITY_FORMAT_VERSION, type CapacityResult, type CapacityStep } from '../capacity/result.js';
import { connect } from '../targets/postgres.js';
import { maskUrl } from '../targets/url.js';
import type { RunObserver } from './observer.js';
import type { RunSession } from './session.js';
import { siteSlice } from '../config/types.js';
import { standardStepObservers } from './step-observers.js';
import { removeTrialRows, serverNow, type RetryCounts } from './trial-rows.js';

/** The capacity search's own settings (parsed from the command line by the CLI). */
export interface CapacitySettings {
  readonly slos: readonly Slo[];
  readonly sloSources: readonly string[];
  readonly search: SearchOptions;
  readonly stepDurationMs: number;
  readonly stepWarmupMs: number;
  /** `remove`: each step's rows are deleted after it (and the rollup rebuilt), so every step reads the same history; `keep`: they stay. */
  readonly betweenSteps: 'remove' | 'keep';
}

export interface CapacityOptions extends CapacitySettings {
  readonly session: RunSession;
  readonly capacityId: string;
  /** Run id of step i (unique, one path component). */
  readonly stepRunId: (index: number, rateHz: number) => string;
  /** Observers of every step (progress, the step's result writer…). */
  readonly observers?: (index: number) => readonly RunObserver[];
  /** Where each step's dir went, relative to the capacity dir (set by the writer observer). */
  readonly stepDir?: (record: RunRecord) => string;
  readonly signal?: AbortSignal;
  readonly events?: {
    /** A step is about to run: number (1-based), rate, why, estimated steps left after it. */
    onStepStart?(info: { readonly number: number; readonly rateHz: number; readonly why: string; readonly left: number; readonly elapsedMs: number; readonly meanStepMs: number | null }): void;
    onStepDone?(step: CapacityStep): void;
  };
}

/** http_request's rows and size with indexes (Citus: over its shards). Null figures when the server refuses. */
async function rawTableState(url: string, citus: boolean): Promise<{ rows: number | null; bytes: number | null }> {
  try {
    const c = await connect(url, 'rtbench-setup');
    try {
      const size = citus ? 'citus_total_relation_size(\'http_request\'::regclass)' : 'pg_total_relation_size(\'http_request\'::regclass)';
      const r = await c.query<{ rows: string; bytes: string }>(`SELECT (SELECT count(*) FROM http_request) AS rows, ${size} AS bytes`);
      return { rows: Number(r.rows[0]?.rows), bytes: Number(r.rows[0]?.bytes) };
    } finally {
      await c.end().catch(() => undefined);
    }
  } catch {
    return { rows: null, bytes: null };
  }
}

/** Run the search. Resolves with the result also when interrupted (steps done are kept). */
export async function runCapacity(o: CapacityOptions): Promise<CapacityResult> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const info = o.session.info;
  const outcomes: SearchStep[] = [];
  const steps: CapacityStep[] = [];
  const retries: RetryCounts = {};
  let end: CapacityResult['end'] = 'step-limit';
  let passHz: number | null = null;
  let failHz: number | null = null;
  let harnessHz: number | null = null;
  let noise: readonly string[] = [];
  for (;;) {
    const next = nextStep(outcomes, o.search);
    if (next.action === 'done') {
      end = next.end;
      passHz = next.passHz;
      failHz = next.failHz;
      harnessHz = next.harnessHz ?? null;
      noise = next.noise;
      break;
    }
    if (o.signal?.aborted) {
      end = 'interrupted';
      break;
    }
    const index = steps.length;
    const elapsedMs = Date.now() - started;
    o.events?.onStepStart?.({
      number: index + 1, rateHz: next.rateHz, why: next.why, left: estimateStepsLeft(outcomes, o.search), elapsedMs,
      meanStepMs: steps.length > 0 ? elapsedMs / steps.length : null,
    });
    const stepStarted = Date.now();
    const runId = o.stepRunId(index, next.rateHz);
    const since = o.betweenSteps === 'remove' ? await serverNow(info.url, retries) : null;
    const record = await o.session.step(
      { runId, rateHz: next.rateHz, durationMs: o.stepDurationMs, warmupMs: o.stepWarmupMs },
      { observers: [...standardStepObservers(o.session.dashboard, info.config), ...(o.observers?.(index) ?? [])], ...(o.signal ? { signal: o.signal } : {}) },
    );
    const s = record.summary;
    const j = judgeStep(s, o.slos);
    const state = await rawTableState(info.url, info.citus !== undefined);
    const removed = since === null ? null : await removeTrialRows(info.url, o.session.dashboard, since, siteSlice(info.config), retries, o.session.onProgress);
    const panels = Object.entries(s.probes?.byProbe ?? {}).flatMap(([p, ws]) => Object.entries(ws).map(([w, c]) => ({ figure: `probes.${p}.${w}.response.p95`, p95Us: c.response?.p95Us ?? null, count: c.count })));
    const worst = panels.filter((p) => p.p95Us !== null).sort((a, b) => b.p95Us! - a.p95Us!)[0];
    const step: CapacityStep = {
      index,
      runId,
      dir: o.stepDir?.(record) ?? runId,
      rateHz: next.rateHz,
      achievedHz: s.ingest.achievedRateHz,
      why: next.why,
      valid: s.valid,
      verdict: j.verdict,
      ingest: { p50Us: s.ingest.response.p50Us, p99Us: s.ingest.response.p99Us, count: s.ingest.response.count },
      worstPanel: worst ? { figure: worst.figure, p95Us: worst.p95Us!, count: worst.count } : null,
      slos: j.slos,
      misses: j.misses,
      harnessReasons: j.harnessReasons,
      rawRows: state.rows,
      rawBytes: state.bytes,
      ackedRows: s.ingest.acked,
      removedRows: removed?.rows ?? null,
      wallMs: Date.now() - stepStarted,
    };
    steps.push(step);
    o.events?.onStepDone?.(step);
    if (o.signal?.aborted) {
      end = 'interrupted';
      break;
    }
    outcomes.push({ rateHz: next.rateHz, verdict: j.verdict });
  }
  if (end === 'interrupted') {
    // The bracket so far, from the steps done.
    const passes = outcomes.filter((s) => s.verdict === 'pass').map((s) => s.rateHz);
    const fails = outcomes.filter((s) => s.verdict === 'fail').map((s) => s.rateHz);
    failHz = fails.length ? Math.min(...fails) : null;
    const below = passes.filter((p) => failHz === null || p < failHz);
    passHz = below.length ? Math.max(...below) : null;
  }
  const harnessStep = harnessHz === null ? undefined : steps.filter((s) => s.rateHz === harnessHz && s.verdict === 'harness').at(-1);
  const capacityHz = end === 'found' || end === 'max-passed' || end === 'harness-bound' || end === 'step-limit' ? passHz : null;
  const partial = {
    end,
    capacityHz,
    bracket: [passHz, end === 'harness-bound' ? (failHz ?? harnessHz) : failHz] as const,
    binding: bindingLimit(steps, failHz),
    harnessBound: {
      value: end === 'harness-bound',
      reason: harnessStep?.harnessReasons[0] ?? null,
      advice: end === 'harness-bound' ? harnessAdvice(harnessStep?.harnessReasons[0] ?? null) : null,
      atHz: harnessHz,
    },
    steps,
  };
  const cfg = info.config;
  return {
    formatVersion: CAPACITY_FORMAT_VERSION,
    capacityId: o.capacityId,
    startedAt,
    finishedAt: new Date().toISOString(),
    target: { kind: info.targetKind, url: maskUrl(info.url) },
    scenario: cfg.name,
    slos: o.sloSources,
    search: {
      startHz: o.search.startHz, maxHz: o.search.maxHz, minHz: o.search.minHz, growth: o.search.growth, precision: o.search.precision,
      stepDurationMs: o.stepDurationMs, stepWarmupMs: o.stepWarmupMs, maxSteps: o.search.maxSteps,
    },
    ...partial,
    noise,
    state: o.betweenSteps === 'remove'
      ? 'one session: every step reads the same preloaded history; after each step its rows are deleted, the raw table vacuumed and the rollup rebuilt from it ' +
        '(raw rows and size recorded at each step\'s end, before the removal); the rollup, audit, probes and freshness are per step'
      : 'one session: the preloaded history is shared; each step\'s rows are kept, so later steps read more (raw rows and size recorded per step); ' +
        'the rollup, audit, probes and freshness are per step',
    wallMs: Date.now() - started,
    headline: headline(partial),
  };
}
