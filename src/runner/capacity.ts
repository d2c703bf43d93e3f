/**
 * A capacity search on one session: fixed-rate trials chosen by the pure
 * search (src/capacity/search.ts), each a sequential test of the SLOs
 * (src/capacity/verdict.ts, ended early by src/runner/trial-monitor.ts when
 * decided), until both ends of the bracket are decided. Between trials it
 * removes only the trial's own rows (src/runner/trial-rows.ts), retrying
 * across a restart. After every trial the result so far is handed to the
 * caller (which writes capacity.json with `status: running`), and a search
 * resumes from those kept trials. Emits events and returns the result; never
 * prints and never writes files.
 */
import { createHash } from 'node:crypto';
import type { RunConfig } from '../config/types.js';
import { siteSlice } from '../config/types.js';
import type { RunRecord, ServerSummary } from '../results/run-record.js';
import { bracketOf, estimateTrialsLeft, nextTrial, type SearchEnd, type SearchOptions, type TrialOutcome } from '../capacity/search.js';
import type { Slo } from '../capacity/slo.js';
import { judgeTrial, sloSpecs, worstRatio, type QuantileSpec, type SloSpec } from '../capacity/verdict.js';
import { samplesForPass } from '../capacity/binomial.js';
import {
  bindingLimit, CAPACITY_FORMAT_VERSION, conditioning, harnessAdvice, headline, resolutionResult, resultFigures,
  type CapacityResult, type CapacityTrial, type TrialServer,
} from '../capacity/result.js';
import { isConnectionLost } from '../targets/sqlstate.js';
import { maskUrl } from '../targets/url.js';
import type { RunObserver } from './observer.js';
import type { RunSession } from './session.js';
import { standardStepObservers } from './step-observers.js';
import { histogramSource, lookCount, TrialMonitor } from './trial-monitor.js';
import { removeTrialRows, retrying, serverNow, stateOf, withReconnect, type RetryCounts } from './trial-rows.js';

/** The capacity search's own settings (parsed from the command line by the CLI). */
export interface CapacitySettings {
  readonly slos: readonly Slo[];
  readonly sloSources: readonly string[];
  readonly search: SearchOptions;
  /** The longest a trial runs when its verdict stays inconclusive, ms. */
  readonly stepMaxMs: number;
  readonly warmupMs: number;
  /** Confidence of each trial's tests (0.95). */
  readonly confidence: number;
  /** `remove`: each trial's own rows are deleted after it (and the rollup rebuilt), so every trial reads the same history; `keep`: they stay. */
  readonly betweenTrials: 'remove' | 'keep';
}

export interface CapacityOptions extends CapacitySettings {
  readonly session: RunSession;
  readonly capacityId: string;
  /** Run id of trial i (unique, one path component). */
  readonly trialRunId: (index: number, rateHz: number) => string;
  /** Observers of every trial (progress, the trial's result writer…), after the standard ones. */
  readonly observers?: (index: number) => readonly RunObserver[];
  /** Where each trial's dir went, relative to the capacity dir (set by the writer observer). */
  readonly trialDir?: (record: RunRecord) => string;
  readonly signal?: AbortSignal;
  /** A search to continue: its kept trials are reused (same fingerprint, checked by the caller). */
  readonly resume?: CapacityResult;
  readonly events?: {
    /** A trial is about to run: number (1-based), rate, planned length, why, estimated trials left after it. */
    onTrialStart?(info: { readonly number: number; readonly rateHz: number; readonly plannedMs: number; readonly why: string; readonly left: number; readonly elapsedMs: number; readonly meanTrialMs: number | null }): void;
    onTrialDone?(trial: CapacityTrial): void;
    /** The result so far, after every trial (`status: running`): write it. */
    onProgress?(result: CapacityResult): Promise<void> | void;
    /** Something the user should read (a retry between trials). */
    onNotice?(line: string): void;
  };
}

/** What a resume must match: the config (less what may differ between invocations), the SLOs and the search. */
export function capacityFingerprint(config: RunConfig, settings: CapacitySettings): string {
  const { url: _u, resultsDir: _r, seed: _s, progressS: _p, keep: _k, ...rest } = config as RunConfig & { keep?: unknown };
  const body = JSON.stringify({ config: rest, slos: settings.sloSources, search: settings.search, stepMaxMs: settings.stepMaxMs, warmupMs: settings.warmupMs, confidence: settings.confidence, between: settings.betweenTrials });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/** http_request's rows and size with indexes (Citus: over its shards), retried while the server is away; null figures when it refuses. */
async function rawTableState(url: string, citus: boolean, retries: RetryCounts): Promise<{ rows: number | null; bytes: number | null }> {
  try {
    return await withReconnect(url, async (c) => {
      const size = citus ? 'citus_total_relation_size(\'http_request\'::regclass)' : 'pg_total_relation_size(\'http_request\'::regclass)';
      const r = await c.query<{ rows: string; bytes: string }>(`SELECT (SELECT count(*) FROM http_request) AS rows, ${size} AS bytes`);
      return { rows: Number(r.rows[0]?.rows), bytes: Number(r.rows[0]?.bytes) };
    }, retries);
  } catch {
    return { rows: null, bytes: null };
  }
}

/** The server's side of a trial, from its sampler: each role's top wait, Citus nodes, checkpoints, CPU pressure. */
export function digestServer(s: ServerSummary | undefined): TrialServer | null {
  if (!s) return null;
  const top = (shares: Record<string, number>): [string, number] | null =>
    Object.entries(shares).sort((a, b) => b[1] - a[1])[0] ?? null;
  const waits: Record<string, { top: string; share: number; aas: number }> = {};
  for (const [role, w] of Object.entries(s.waits)) {
    const t = w ? top(w.shares) : null;
    if (w && t && w.avgActiveSessions > 0) waits[role] = { top: t[0], share: t[1], aas: w.avgActiveSessions };
  }
  const nodes = (s.nodes ?? []).flatMap((n) => Object.entries(n.waits ?? {}).map(([role, w]) => {
    const t = w ? top(w.shares) : null;
    return { node: n.node, role, aas: w?.avgActiveSessions ?? 0, top: t?.[0] ?? null, share: t?.[1] ?? null };
  })).filter((x) => x.aas > 0);
  const c = s.counters;
  return {
    waits,
    ...(nodes.length > 0 ? { nodes } : {}),
    checkpoints: c && c.checkpointsTimed !== null && c.checkpointsRequested !== null ? c.checkpointsTimed + c.checkpointsRequested : null,
    cpuPressureMax: s.machine?.cpuPressureMax ?? null,
    autovacuumAas: s.waits.autovacuum?.avgActiveSessions ?? null,
  };
}

/** What may have disturbed a trial, one phrase each. */
export function disturbances(server: TrialServer | null): string[] {
  if (!server) return [];
  const out: string[] = [];
  if (server.checkpoints !== null && server.checkpoints > 0) out.push(`${server.checkpoints} checkpoint${server.checkpoints > 1 ? 's' : ''}`);
  if (server.autovacuumAas !== null && server.autovacuumAas >= 0.05) out.push(`autovacuum (${server.autovacuumAas.toFixed(2)} active sessions)`);
  if (server.cpuPressureMax !== null && server.cpuPressureMax >= 0.5) out.push(`CPU pressure up to ${Math.round(server.cpuPressureMax * 100)}%`);
  return out;
}

/** A kept trial as the search sees it (its worst figure / limit from its SLOs' values, so resumed trials have it too). */
const outcomeOf = (specs: readonly SloSpec[]) => (t: CapacityTrial): TrialOutcome =>
  ({ rateHz: t.rateHz, verdict: t.verdict, plannedMs: t.plannedMs, phase: t.phase, worst: worstRatio(specs, t.slos) });

/** The result of the trials so far (`end` null while running). */
function buildResult(o: CapacityOptions, x: {
  startedAt: string; started: number; trials: readonly CapacityTrial[]; end: SearchEnd | 'interrupted' | null; retries: RetryCounts; status: CapacityResult['status'];
}): CapacityResult {
  const info = o.session.info;
  const b = bracketOf(x.trials.map(outcomeOf(sloSpecs(o.slos))), o.search);
  const figures = resultFigures(x.end ?? 'interrupted', b);
  const binding = bindingLimit(x.trials, b.failHz);
  const harnessTrial = b.ceilingHz === null ? undefined : x.trials.filter((t) => t.rateHz === b.ceilingHz && t.verdict === 'harness').at(-1);
  const reason = harnessTrial?.harnessReasons[0] ?? null;
  const measured = new Set(x.trials.flatMap((t) => t.slos.filter((s) => s.verdict !== 'unmeasured').map((s) => s.slo)));
  const unmeasured = o.sloSources.filter((s) => x.trials.length > 0 && !measured.has(s)).map((s) => `${s}: not measured in any trial (no samples: lengthen --trial-duration)`);
  const cfg = info.config;
  const partial = {
    end: x.end,
    ...figures,
    lowerBound: x.end === null ? false : figures.lowerBound,
    binding,
    conditioning: conditioning(x.trials, binding, b.passHz),
    resolution: resolutionResult(b.resolution, o.search.precision),
    harnessBound: {
      value: b.ceilingHz !== null && (x.end === 'harness-bound' || (b.failHz === null && b.passHz !== null)),
      reason, advice: b.ceilingHz === null ? null : harnessAdvice(reason), atHz: b.ceilingHz,
    },
    trials: x.trials,
    confidence: o.confidence,
    search: {
      startHz: o.search.startHz, maxHz: o.search.maxHz, minHz: o.search.minHz, growth: o.search.growth, precision: o.search.precision,
      shortMs: o.search.shortMs, fullMs: o.search.fullMs, stepMaxMs: o.stepMaxMs, warmupMs: o.warmupMs,
      goalTrials: o.search.goalTrials, exceedRatio: o.search.exceedRatio, maxTrials: o.search.maxTrials,
    },
  };
  return {
    formatVersion: CAPACITY_FORMAT_VERSION,
    capacityId: o.capacityId,
    status: x.status,
    startedAt: x.startedAt,
    finishedAt: x.status === 'running' ? null : new Date().toISOString(),
    target: { kind: info.targetKind, url: maskUrl(info.url) },
    scenario: cfg.name,
    fingerprint: capacityFingerprint(cfg, o),
    slos: o.sloSources,
    ...partial,
    rates: b.states.map((s) => ({
      ...s,
      disturbed: x.trials.filter((t) => t.rateHz === s.rateHz && t.disturbed.length > 0).map((t) => `trial ${t.index + 1} (${t.verdict}): ${t.disturbed.join(', ')}`),
    })),
    noise: b.noise,
    retries: x.retries,
    unmeasured,
    state: o.betweenTrials === 'remove'
      ? 'one session: every trial reads the same preloaded history; after each trial its own rows (its sites since it began, and its freshness markers) are deleted, ' +
        'the raw table vacuumed and the rollup rebuilt from it (raw rows and size recorded at each trial\'s end, before the removal); the rollup, audit, probes and freshness are per trial'
      : 'one session: the preloaded history is shared; each trial\'s rows are kept, so later trials read more (raw rows and size recorded per trial); ' +
        'the rollup, audit, probes and freshness are per trial',
    wallMs: (o.resume?.wallMs ?? 0) + Date.now() - x.started,
    headline: headline(partial),
  };
}

/** The planned length of a trial, its longest extension and the level of each of its tests. */
export function trialPlan(
  next: { readonly rateHz: number; readonly plannedMs: number; readonly phase?: 'short' | 'full' }, o: Pick<CapacitySettings, 'confidence' | 'stepMaxMs' | 'search'>,
  specs: readonly SloSpec[], opsPerHz: number,
): { targetMs: number; stepMaxMs: number; alpha: number; short: boolean; opsPerS: number } {
  // Long enough that a clean rate can pass: every ingest quantile SLO gets the samples a pass needs
  // (a p99 at 95% over 3 looks needs 408), up to 4 full trials' length.
  const opsPerS = next.rateHz * opsPerHz;
  const neededMs = Math.max(0, ...specs.filter((x): x is QuantileSpec => x.kind === 'quantile' && x.histograms.every((h) => h.startsWith('ingest-')))
    .map((x) => (samplesForPass(x.allowed, (1 - o.confidence) / 3) / opsPerS) * 1000 * 1.1));
  const targetMs = Math.min(Math.max(next.plannedMs, Math.ceil(neededMs / 1000) * 1000), 4 * o.search.fullMs);
  const short = next.phase !== undefined ? next.phase === 'short' : next.plannedMs < o.search.fullMs;
  // Extensions only where the search allows them (--step-max above --trial-duration): by default not where the panels
  // are judged, since they read the rows the trial inserts and a longer trial is a harder one.
  const extend = o.stepMaxMs > o.search.fullMs;
  const stepMaxMs = !extend ? targetMs : short ? 2 * targetMs : Math.max(o.stepMaxMs, 2 * targetMs);
  return { targetMs, stepMaxMs, alpha: (1 - o.confidence) / lookCount(targetMs, stepMaxMs), short, opsPerS };
}

/** Run one trial at `next` (retried when it cannot start), judge it, remove its rows: its record for capacity.json. */
async function runTrial(
  o: CapacityOptions, next: { readonly rateHz: number; readonly plannedMs: number; readonly phase?: 'short' | 'full'; readonly why: string }, index: number,
  specs: readonly SloSpec[], retries: RetryCounts,
): Promise<CapacityTrial> {
  const info = o.session.info;
  const trialStarted = Date.now();
  const runId = o.trialRunId(index, next.rateHz);
  const since = o.betweenTrials === 'remove' ? await serverNow(info.url, retries) : null;
  const plan = trialPlan(next, o, specs, 1 / info.config.batch);
  let monitor: TrialMonitor | null = null;
  // A trial that cannot start (the server restarting) is retried; one that ran is never run again.
  const record = await retrying(async () => {
    const until = new AbortController();
    monitor = new TrialMonitor({
      specs, alpha: plan.alpha, plannedMs: plan.targetMs, stepMaxMs: plan.stepMaxMs, opsPerS: plan.opsPerS, short: plan.short,
      livePanels: () => o.session.dashboard?.livePanelResponses() ?? {},
      stop: () => until.abort(),
    });
    return o.session.step(
      { runId, rateHz: next.rateHz, durationMs: plan.stepMaxMs, warmupMs: o.warmupMs },
      {
        observers: [...standardStepObservers(o.session.dashboard, info.config), monitor, ...(o.observers?.(index) ?? [])],
        until: until.signal, ...(o.signal ? { signal: o.signal } : {}),
        onRetry: (err) => {
          const state = stateOf(err);
          retries[state] = (retries[state] ?? 0) + 1;
        },
      },
    );
  }, retries, 60_000, undefined, (err) => isConnectionLost(stateOf(err)));
  const m = monitor as TrialMonitor | null;
  const s = record.summary;
  const j = judgeTrial(specs, s, histogramSource(record.histograms), plan.alpha, { short: plan.short });
  const state = await rawTableState(info.url, info.citus !== undefined, retries);
  const removed = since === null ? null : await removeTrialRows(info.url, o.session.dashboard, since, siteSlice(info.config), retries, o.session.onProgress);
  const server = digestServer(s.server);
  const measuredMs = s.durationMs;
  return {
    index,
    runId,
    dir: o.trialDir?.(record) ?? runId,
    rateHz: next.rateHz,
    achievedHz: s.ingest.achievedRateHz,
    phase: plan.short ? 'short' : 'full',
    plannedMs: next.plannedMs,
    targetMs: plan.targetMs,
    measuredMs,
    warmupMs: o.warmupMs,
    looks: m?.looksTaken ?? 0,
    stop: m?.stopReason ?? (measuredMs > plan.targetMs ? `inconclusive: extended to --step-max ${plan.stepMaxMs / 1000} s` : null),
    why: next.why,
    valid: s.valid,
    verdict: j.verdict,
    ingest: {
      p50Us: s.ingest.response.p50Us, p99Us: s.ingest.response.p99Us, count: s.ingest.response.count,
      errors: s.ingest.errors, errorsBySqlstate: s.ingest.errorsBySqlstate, reconnects: s.ingest.reconnects,
    },
    slos: j.slos,
    misses: j.misses,
    undecided: j.undecided,
    harnessReasons: j.harnessReasons,
    disturbed: disturbances(server),
    server,
    rawRows: state.rows,
    rawBytes: state.bytes,
    ackedRows: s.ingest.acked,
    removedRows: removed?.rows ?? null,
    wallMs: Date.now() - trialStarted,
  };
}

/** Run the search (or continue a kept one). Resolves with the result also when interrupted (trials done are kept). */
export async function runCapacity(o: CapacityOptions): Promise<CapacityResult> {
  const started = Date.now();
  const startedAt = o.resume?.startedAt ?? new Date(started).toISOString();
  const trials: CapacityTrial[] = [...(o.resume?.trials ?? [])];
  const retries: RetryCounts = { ...(o.resume?.retries ?? {}) };
  const specs = sloSpecs(o.slos);
  const total = (): number => Object.values(retries).reduce((a, b) => a + b, 0);
  let end: SearchEnd | 'interrupted' = 'trial-limit';
  let sessionMs = 0;
  let sessionTrials = 0;
  // Written before the first trial too, so a search killed during it can be resumed.
  await o.events?.onProgress?.(buildResult(o, { startedAt, started, trials, end: null, retries, status: 'running' }));
  for (;;) {
    const next = nextTrial(trials.map(outcomeOf(specs)), o.search);
    if (next.action === 'done') {
      end = next.end;
      break;
    }
    if (o.signal?.aborted) {
      end = 'interrupted';
      break;
    }
    const index = trials.length;
    o.events?.onTrialStart?.({
      number: index + 1, rateHz: next.rateHz, plannedMs: next.plannedMs, why: next.why,
      left: estimateTrialsLeft(trials.map(outcomeOf(specs)), o.search), elapsedMs: Date.now() - started, meanTrialMs: sessionTrials > 0 ? sessionMs / sessionTrials : null,
    });
    const retriesBefore = total();
    const trial = await runTrial(o, next, index, specs, retries);
    if (total() > retriesBefore) {
      o.events?.onNotice?.(`capacity: ${total() - retriesBefore} database errors retried around trial ${index + 1} ` +
        `(by SQLSTATE so far: ${Object.entries(retries).map(([k, v]) => `${k}=${v}`).join(', ')}); the search goes on`);
    }
    if (o.signal?.aborted) {
      // Cut short by the user: its verdict was not reached, so it is not kept (a resume runs it again).
      end = 'interrupted';
      break;
    }
    trials.push(trial);
    sessionMs += trial.wallMs;
    sessionTrials++;
    o.events?.onTrialDone?.(trial);
    await o.events?.onProgress?.(buildResult(o, { startedAt, started, trials, end: null, retries, status: 'running' }));
  }
  return buildResult(o, { startedAt, started, trials, end, retries, status: end === 'interrupted' ? 'interrupted' : 'finished' });
}
