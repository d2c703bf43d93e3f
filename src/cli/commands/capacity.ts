/**
 * `rtbench capacity [run options] --slo EXPR …`: the highest ingest rate a
 * target sustains with its SLOs met, as a confirmed bracket with the binding
 * limit named; `--a A --b B` searches two targets and prints the ratio b/a.
 * Writes results/<capacity-id>/ (capacity.json, report.html, one result dir
 * per step beside them). Exit: 0 found, 99 no passing rate, 3 harness-bound
 * before any fail, 2 bad input, 130 interrupted (steps done are kept).
 */
import { serverSamplerFor } from '../../telemetry/index.js';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import type { RunConfig } from '../../config/types.js';
import { parseDurationMs } from '../../config/duration.js';
import { EnvironmentError, ExitCode, UsageError } from '../../errors.js';
import { DEFAULT_SEARCH, type SearchOptions } from '../../capacity/search.js';
import { defaultSlos, parseSlos, type Slo } from '../../capacity/slo.js';
import type { CapacityResult, CapacityStep } from '../../capacity/result.js';
import { capacityHtml, capacityPairHtml } from '../../report/capacity-report.js';
import { capacityPageModel, latencySlos, runningBracket, sideOf, trialOf } from '../../report/capacity-page.js';
import { emptyModel, type PageTrial } from '../../report/page-model.js';
import { maskSecrets } from '../../targets/url.js';
import { LiveObserver } from '../../ui/live-observer.js';
import { openUi, type UiSession } from '../ui-session.js';
import { checkWritableDir, writeFileAtomic } from '../../results/atomic.js';
import { completeRunDir, readRunDir } from '../../results/write.js';
import { ResultStream } from '../../results/stream.js';
import { runCapacity, type CapacitySettings } from '../../runner/capacity.js';
export type { CapacitySettings } from '../../runner/capacity.js';
import { RunSession } from '../../runner/session.js';
import { EXIT_THRESHOLD_FAILED } from './check.js';
import { SignalGuard, newRunId, progressObserver, type Log } from '../run-session.js';
import { openTarget, parseTargetSpec, runTargetSpec, type OpenTarget, type TargetSpec } from '../target-session.js';
import { parseCitusWorkers, resolveConfig } from './run.js';
import { progressPrinter } from '../../report/phase-progress.js';

const CAPACITY_FLAGS = ['betweenSteps', 'slo', 'start', 'max', 'min', 'growth', 'precision', 'stepDuration', 'stepWarmup', 'maxSteps'] as const;

/** compare-targets and sweep without --capacity: a capacity flag is a mistake, named in one line. */
export function refuseCapacityFlags(args: Record<string, unknown>): void {
  const given = CAPACITY_FLAGS.filter((k) => args[k] !== undefined);
  if (given.length > 0) throw new UsageError(`${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}: capacity search options; add --capacity`);
}


const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String));

function positive(problems: string[], flag: string, v: unknown, dflt: number, opts: { integer?: boolean; min?: number } = {}): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  const min = opts.min ?? 0;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= min || (opts.integer && !Number.isInteger(n))) {
    problems.push(`${flag}: must be ${opts.integer ? 'a whole number' : 'a number'} above ${min}, got ${JSON.stringify(v)}`);
    return dflt;
  }
  return n;
}

/**
 * The default step: long enough that every dashboard panel cell gets
 * --min-samples refreshes (viewers × duration / refresh), at least 20 s.
 */
export function defaultStepDurationMs(config: RunConfig): number {
  const d = config.dashboard;
  if (d.rollup === 'none' || !d.probes || d.viewers === 0) return 20_000;
  const needed = Math.ceil(d.minSamples / d.viewers) * d.refreshMs + d.refreshMs;
  return Math.max(20_000, Math.ceil(needed / 5000) * 5000);
}

/** Parse the capacity flags against the resolved config; every problem at once. */
export function capacitySettings(args: Record<string, unknown>, config: RunConfig): CapacitySettings {
  const problems: string[] = [];
  if (config.instance) problems.push('--instance: a capacity search runs its steps on one load generator; use --workers, or run rtbench run --instance for a fixed rate');
  const sources = list(args['slo']);
  const sloSources = sources.length > 0 ? sources : defaultSlos(config);
  const { slos, problems: sloProblems } = parseSlos(sloSources);
  problems.push(...sloProblems);
  const rate = config.rateHz;
  const startHz = positive(problems, '--start', args['start'], typeof rate === 'number' ? rate : 500);
  const maxHz = positive(problems, '--max', args['max'], 200_000);
  const minHz = positive(problems, '--min', args['min'], Math.max(1, startHz / 16));
  const precisionPct = positive(problems, '--precision', typeof args['precision'] === 'string' ? args['precision'].replace(/%$/, '') : args['precision'], DEFAULT_SEARCH.precision * 100);
  const growth = positive(problems, '--growth', args['growth'], DEFAULT_SEARCH.growth, { min: 1 });
  const maxSteps = positive(problems, '--max-steps', args['maxSteps'], DEFAULT_SEARCH.maxSteps, { integer: true, min: 2 });
  if (minHz > startHz) problems.push(`--min ${minHz} is above --start ${startHz}`);
  if (startHz > maxHz) problems.push(`--start ${startHz} is above --max ${maxHz}`);
  if (precisionPct >= 100) problems.push(`--precision: a percentage below 100, got ${JSON.stringify(args['precision'])}`);
  const durArg = args['stepDuration'];
  const stepDurationMs = durArg === undefined ? defaultStepDurationMs(config) : parseDurationMs(durArg);
  if (stepDurationMs === undefined || stepDurationMs <= 0) problems.push(`--step-duration: a duration such as 30s, got ${JSON.stringify(durArg)}`);
  const wuArg = args['stepWarmup'];
  const stepWarmupMs = wuArg === undefined ? Math.min(config.warmupMs, 5000) : parseDurationMs(wuArg);
  if (stepWarmupMs === undefined || stepWarmupMs < 0) problems.push(`--step-warmup: a duration such as 5s, got ${JSON.stringify(wuArg)}`);
  const d = config.dashboard;
  if (stepDurationMs !== undefined && d.rollup !== 'none' && d.probes && d.viewers > 0 && slos.some((s) => s.threshold.figure.startsWith('probes.'))) {
    const perCell = Math.floor((d.viewers * stepDurationMs) / d.refreshMs);
    if (perCell < d.minSamples) {
      problems.push(`--step-duration ${stepDurationMs / 1000}s: ${d.viewers} viewers refreshing every ${d.refreshMs / 1000}s give ${perCell} samples per panel cell, ` +
        `below --min-samples ${d.minSamples}; lengthen --step-duration (≥ ${Math.ceil((d.minSamples * d.refreshMs) / d.viewers / 1000)}s) or add --viewers`);
    }
  }
  const between = args['betweenSteps'] ?? 'remove';
  if (between !== 'remove' && between !== 'keep') problems.push(`--between-steps: remove or keep, got ${JSON.stringify(between)}`);
  if (problems.length > 0) throw new UsageError(problems);
  return {
    betweenSteps: between as 'remove' | 'keep',
    slos, sloSources,
    search: { startHz, maxHz, minHz, growth, precision: precisionPct / 100, confirmations: DEFAULT_SEARCH.confirmations, maxSteps },
    stepDurationMs: stepDurationMs!, stepWarmupMs: stepWarmupMs!,
  };
}

const n0 = (v: number | null): string => (v === null ? '—' : Math.round(v).toLocaleString('en-US'));
const ms = (us: number | null): string => (us === null ? '—' : us >= 1e6 ? `${(us / 1e6).toFixed(2)} s` : `${(us / 1000).toFixed(2)} ms`);

/** One line per step as it finishes (the console table grows with the search). */
export function stepLine(s: CapacityStep): string {
  const verdict = s.verdict === 'pass' ? 'PASS' : s.verdict === 'fail' ? 'FAIL' : 'HARNESS';
  const why = s.verdict === 'fail' ? `: ${s.misses.join('; ')}` : s.verdict === 'harness' ? `: ${s.harnessReasons.join('; ')}` : '';
  return `step ${s.index + 1}: ${n0(s.rateHz)} rows/s → achieved ${n0(s.achievedHz)}, ingest p50 ${ms(s.ingest.p50Us)} p99 ${ms(s.ingest.p99Us)}` +
    `${s.worstPanel ? `, worst panel p95 ${ms(s.worstPanel.p95Us)}` : ''}, raw rows ${n0(s.rawRows)}${s.removedRows === null ? '' : ` (${n0(s.removedRows)} removed after it)`}: ${verdict}${why}`;
}

/** The steps table, at the end. */
export function stepsTable(r: CapacityResult): string {
  const color = process.stdout.isTTY === true;
  const t = new Table({ style: color ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] }, head: ['#', 'target rows/s', 'achieved', 'ingest p50', 'ingest p99', 'worst panel p95', 'raw rows', 'verdict', 'misses / why'], wordWrap: true, colWidths: [4, 9, 10, 11, 11, 12, 12, 9, 48] });
  for (const s of r.steps) {
    t.push([s.index + 1, n0(s.rateHz), n0(s.achievedHz), ms(s.ingest.p50Us), ms(s.ingest.p99Us), s.worstPanel ? ms(s.worstPanel.p95Us) : '—', n0(s.rawRows), s.verdict, s.verdict === 'pass' ? s.why : [...s.misses, ...s.harnessReasons].join('; ')]);
  }
  return t.toString();
}

/** Search one target; writes results/<capacity-id>/. */
export async function capacityOn(
  config: RunConfig, target: OpenTarget, settings: CapacitySettings,
  o: { log: Log; guard: SignalGuard; resultsDir: string; capacityId: string; ui?: { session: UiSession; side: string; label: string; nextStep: { n: number } } },
): Promise<{ result: CapacityResult; dir: string }> {
  const { log } = o;
  const live = o.ui;
  const liveTrials: PageTrial[] = [];
  const dir = path.join(o.resultsDir, o.capacityId);
  await mkdir(dir, { recursive: true });
  const session = await RunSession.open({
    config, url: target.url, targetKind: target.recordKind,
    events: {
      onNotice: (l) => log(`rtbench: ${l}`),
      // A long phase (idle baseline, serial vs parallel, audit, between steps): a line every 3 s with the time left
      // and one with its cost at the end; --progress 0 turns these off with the per-second lines.
      ...(config.progressS > 0 ? { onProgress: progressPrinter((l) => log(`rtbench: ${l}`)) } : {}),
      onReady: (server) => {
        o.guard.loadStarted = true;
        if (target.spec.kind === 'url') log(`rtbench: target ${target.label}: ${server.version.split(' on ')[0] ?? server.version}`);
        log(`rtbench: capacity ${o.capacityId}: SLOs ${settings.sloSources.join(', ')}; steps of ${settings.stepWarmupMs / 1000} s warm-up + ${settings.stepDurationMs / 1000} s, ` +
          `from ${settings.search.startHz} rows/s (×${settings.search.growth}, precision ${(settings.search.precision * 100).toFixed(0)}%, max ${settings.search.maxHz})`);
      },
    },
  });
  let result: CapacityResult;
  try {
    const written = new Map<string, string>();
    result = await runCapacity({
      session,
      capacityId: o.capacityId,
      ...settings,
      stepRunId: (i, rate) => `step-${String(i + 1).padStart(2, '0')}-${Math.round(rate)}hz`,
      observers: (i) => {
        // Each step streams its intervals into its own dir as it runs (crash safety), then completes it.
        const stream = new ResultStream({ resultsDir: dir, onFailure: () => o.guard.abort.abort() });
        return [
          progressObserver({ ...config, warmupMs: settings.stepWarmupMs }, log, `step ${i + 1}: `),
          stream,
          // The server's view of each step; the panels' plans are not re-explained at every step.
          ...serverSamplerFor(config, { plans: false }),
          ...(live ? [new LiveObserver(live.session.hub, live.nextStep.n++, live.side)] : []),
          {
            name: 'step-writer',
            stepRecord: async (record) => {
              await stream.close();
              if (stream.failure) throw new EnvironmentError(stream.failure);
              if (stream.dir === null) throw new Error('the results stream never started');
              const status = o.guard.abort.signal.aborted ? 'interrupted' : 'finished';
              await completeRunDir(stream.dir, record, status, { owner: stream.startInfo?.owner, recovery: stream.startInfo?.recovery });
              written.set(record.run.runId, path.basename(stream.dir));
            },
          },
        ];
      },
      stepDir: (record) => written.get(record.run.runId) ?? record.run.runId,
      signal: o.guard.abort.signal,
      events: {
        onStepStart: (s) => {
          const left = s.meanStepMs === null ? '' : `, about ${Math.round((s.left + 1) * s.meanStepMs / 60_000 * 10) / 10} min left`;
          log(`rtbench: capacity step ${s.number} (about ${s.left} more after it${left}): ${n0(s.rateHz)} rows/s (${s.why})`);
        },
        onStepDone: (s) => {
          log(`rtbench: ${stepLine(s)}`);
          if (!live) return;
          const trial = trialOf(s, live.side);
          liveTrials.push(trial);
          live.session.hub.publish({ type: 'trial', trial });
          live.session.hub.publish({
            type: 'side',
            side: { side: live.side, label: maskSecrets(live.label), slos: latencySlos(s), bracket: runningBracket(liveTrials), capacityHz: null, headline: `${liveTrials.length} trials so far` },
          });
        },
      },
    });
  } finally {
    await session.close();
  }
  live?.session.hub.publish({ type: 'side', side: sideOf(result, live.side, live.label) });
  await writeFileAtomic(path.join(dir, 'capacity.json'), JSON.stringify(result, null, 2) + '\n');
  await writeFileAtomic(path.join(dir, 'report.html'), capacityHtml(result));
  await writeCapacityRunFiles(dir, result, settings);
  return { result, dir };
}

/**
 * run.json and summary.json of the capacity dir, so that check, history,
 * export and compare read it as a run: the summary is that of the step at the
 * capacity (the last step at the confirmed passing rate; without one, the
 * last step), with `capacity.capacityHz` (bigger is better) beside its
 * figures; the config carries the SLOs and the search, so the history
 * fingerprint changes when they do.
 */
async function writeCapacityRunFiles(dir: string, r: CapacityResult, settings: CapacitySettings): Promise<void> {
  const at = r.capacityHz === null ? r.steps.at(-1) : r.steps.filter((s) => s.rateHz === r.capacityHz && s.verdict === 'pass').at(-1);
  if (!at) return;
  const step = await readRunDir(path.join(dir, at.dir));
  const valid = (r.end === 'found' || r.end === 'max-passed' || (r.end === 'harness-bound' && capacityExitCode(r) === ExitCode.ok)) && r.capacityHz !== null;
  const run = {
    ...step.run,
    runId: r.capacityId,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    config: { ...step.run.config, rateHz: 'capacity', durationMs: settings.stepDurationMs, warmupMs: settings.stepWarmupMs, capacity: { slos: r.slos, search: r.search } },
  };
  const summary = {
    ...step.summary,
    runId: r.capacityId,
    valid: valid && step.summary.valid,
    invalidReasons: valid ? step.summary.invalidReasons : [r.headline, ...step.summary.invalidReasons],
    notes: [`capacity search: ${r.headline}; the other figures are those of step ${at.index + 1} (${at.rateHz} rows/s)`, ...step.summary.notes],
    capacity: {
      capacityHz: r.capacityHz, passHz: r.bracket[0], failHz: r.bracket[1], end: r.end, steps: r.steps.length, wallMs: r.wallMs,
      binding: r.binding?.line ?? null, harnessBound: r.harnessBound.value,
    },
  };
  await writeFileAtomic(path.join(dir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
  await writeFileAtomic(path.join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
}

/** Exit code of a search. */
export function capacityExitCode(r: CapacityResult): number {
  switch (r.end) {
    case 'found': case 'max-passed': case 'step-limit': return r.capacityHz === null ? EXIT_THRESHOLD_FAILED : ExitCode.ok;
    case 'no-pass': return EXIT_THRESHOLD_FAILED;
    // Harness-bound before any fail: no capacity of the database was found. After one, the bracket stands, unrefined.
    case 'harness-bound': return r.capacityHz !== null && r.bracket[1] !== null && r.bracket[1] !== r.harnessBound.atHz ? ExitCode.ok : ExitCode.invalidRun;
    case 'interrupted': return ExitCode.interrupted;
  }
}

function printResult(r: CapacityResult, dir: string, label?: string): void {
  process.stdout.write(stepsTable(r) + '\n');
  process.stdout.write(`${label ? `${label}: ` : ''}${r.headline}\n`);
  for (const x of r.noise) process.stdout.write(`note: ${x}\n`);
  process.stdout.write(`search: ${r.steps.length} steps in ${(r.wallMs / 1000).toFixed(0)} s\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), dir) || dir}\n`);
}

/** b/a of two capacities with its bracket: [passB / failA, failB / passA]. */
export function capacityRatio(a: CapacityResult, b: CapacityResult): { ratio: number | null; low: number | null; high: number | null } {
  const [pa, fa] = a.bracket;
  const [pb, fb] = b.bracket;
  const ratio = a.capacityHz && b.capacityHz ? b.capacityHz / a.capacityHz : null;
  return { ratio, low: pb !== null && fa ? pb / fa : null, high: fb !== null && pa ? fb / pa : null };
}

export async function capacityCommand(args: Record<string, unknown>): Promise<number> {
  const twoTargets = args['a'] !== undefined || args['b'] !== undefined;
  if (twoTargets && (args['a'] === undefined || args['b'] === undefined)) throw new UsageError('--a and --b: give both targets (a URL, local, or local-citus:N)');
  if (twoTargets && args['url'] !== undefined) throw new UsageError('--url: with --a/--b the targets come from --a and --b');
  const config = await resolveConfig(args);
  const settings = capacitySettings(args, config);
  await checkWritableDir(config.resultsDir);
  const specs: Array<[string | undefined, TargetSpec]> = twoTargets
    ? [['a', parseTargetSpec(String(args['a']), '--a')], ['b', parseTargetSpec(String(args['b']), '--b')]]
    : [[undefined, runTargetSpec(config.url, args['citusWorkers'] === undefined ? undefined : parseCitusWorkers(args['citusWorkers']), process.env)]];
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const guard = new SignalGuard(log);
  const id = newRunId(`${config.name}-capacity`);
  const results: Array<{ result: CapacityResult; label: string }> = [];
  const ui = await openUi(args['ui'], emptyModel('capacity', `rtbench capacity ${id} (live)`), log);
  const nextStep = { n: 0 };
  try {
    for (const [side, spec] of specs) {
      let target: OpenTarget | undefined;
      try {
        if (spec.kind === 'embedded' && !side) log('rtbench: no --url and no PG* variables');
        target = await openTarget(spec, log);
        guard.track(target, config.keep);
        if (side) log(`rtbench: capacity ${side} = ${target.label}`);
        const { result, dir } = await capacityOn(config, target, settings, {
          log, guard, resultsDir: side ? path.join(config.resultsDir, id) : config.resultsDir, capacityId: side ?? id,
          ...(ui ? { ui: { session: ui, side: side ?? '', label: target.label, nextStep } } : {}),
        });
        printResult(result, dir, side ? `${side} (${target.label})` : undefined);
        results.push({ result, label: target.label });
      } finally {
        if (target) await guard.release(target, config.keep);
      }
      if (guard.abort.signal.aborted) break;
    }
    const [a, b] = results;
    if (a && b) {
      const r = capacityRatio(a.result, b.result);
      const f = (v: number | null): string => (v === null ? '?' : `${v.toFixed(2)}×`);
      const line = r.ratio === null
        ? `capacity b/a: not computable (${a.result.capacityHz === null ? 'a' : 'b'} has no capacity: ${(a.result.capacityHz === null ? a : b).result.headline})`
        : `capacity b/a: ${f(r.ratio)} [${f(r.low)}–${f(r.high)}] (a ${n0(a.result.capacityHz)} rows/s, b ${n0(b.result.capacityHz)} rows/s)`;
      process.stdout.write(`${line}\n`);
      await writeFileAtomic(path.join(config.resultsDir, id, 'capacity-compare.json'), JSON.stringify({
        formatVersion: 1, id, a: { target: a.label, capacityHz: a.result.capacityHz, bracket: a.result.bracket, end: a.result.end },
        b: { target: b.label, capacityHz: b.result.capacityHz, bracket: b.result.bracket, end: b.result.end }, ratio: r,
      }, null, 2) + '\n');
      // Both curves on one chart with the ratio: results/<id>/report.html.
      await writeFileAtomic(path.join(config.resultsDir, id, 'report.html'), capacityPairHtml(a, b, r));
      process.stdout.write(`report: ${path.join(config.resultsDir, id, 'report.html')}\n`);
      ui?.hub.publish({ type: 'final', model: capacityPageModel([{ side: 'a', ...a }, { side: 'b', ...b }], r) });
    } else if (a && !b && !twoTargets) {
      ui?.hub.publish({ type: 'final', model: capacityPageModel([{ side: '', label: a.label, result: a.result }]) });
    }
    if (guard.abort.signal.aborted) return ExitCode.interrupted;
    const codes = results.map((x) => capacityExitCode(x.result));
    return codes.find((c) => c !== ExitCode.ok) ?? ExitCode.ok;
  } finally {
    guard.dispose();
    await ui?.close();
  }
}
