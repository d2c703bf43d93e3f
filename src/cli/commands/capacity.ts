/**
 * `rtbench capacity [run options] --slo EXPR …`: the highest ingest rate a
 * target sustains with its SLOs met, as a confirmed bracket with the binding
 * limit named; `--a A --b B` searches two targets and prints the ratio b/a.
 * Writes results/<capacity-id>/ (capacity.json, report.html, one result dir
 * per step beside them). Exit: 0 found, 99 no passing rate, 3 harness-bound
 * before any fail, 2 bad input, 130 interrupted (steps done are kept).
 */
import { serverSamplerFor } from '../../telemetry/index.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import type { RunConfig } from '../../config/types.js';
import { parseDurationMs } from '../../config/duration.js';
import { EnvironmentError, ExitCode, UsageError } from '../../errors.js';
import { DEFAULT_SEARCH } from '../../capacity/search.js';
import { defaultSlos, parseSlos, type Slo } from '../../capacity/slo.js';
import { sloSpecs } from '../../capacity/verdict.js';
import { samplesForPass } from '../../capacity/binomial.js';
import { CAPACITY_FORMAT_VERSION, capacityRatio, type CapacityResult, type CapacityTrial } from '../../capacity/result.js';
import { capacityHtml, capacityPairHtml } from '../../report/capacity-report.js';
import { stepData, type PageStepData } from '../../report/run-page.js';
import { capacityPageModel, sideOf, trialOf } from '../../report/capacity-page.js';
import { emptyModel } from '../../report/page-model.js';
import { LiveObserver, teeSink } from '../../ui/live-observer.js';
import { PageEventFile } from '../../results/page-events.js';
import { openUi, type UiSession } from '../ui-session.js';
import { checkWritableDir, writeFileAtomic } from '../../results/atomic.js';
import { completeRunDir, readRunDir } from '../../results/write.js';
import { ResultStream } from '../../results/stream.js';
import { capacityFingerprint, runCapacity, type CapacitySettings } from '../../runner/capacity.js';
export type { CapacitySettings } from '../../runner/capacity.js';
import { RunSession } from '../../runner/session.js';
import { EXIT_THRESHOLD_FAILED } from './check.js';
import { SignalGuard, newRunId, progressObserver, type Log } from '../run-session.js';
import { openTarget, parseTargetSpec, runTargetSpec, type OpenTarget, type TargetSpec } from '../target-session.js';
import { parseCitusWorkers, resolveConfig } from './run.js';
import { progressPrinter } from '../../report/phase-progress.js';

const CAPACITY_FLAGS = ['betweenTrials', 'slo', 'start', 'max', 'min', 'growth', 'precision', 'trialDuration', 'shortDuration', 'stepMax', 'stepWarmup', 'maxTrials', 'confidence', 'goalTrials', 'exceedRatio', 'resume'] as const;

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
 * Default trial lengths from the scenario and the SLOs: a full trial is at
 * least 15 s, long enough for every panel cell's SLO to be passable at the
 * confidence (samples per cell = viewers / refresh), and for freshness at
 * least two rollup intervals. Where panels are judged, every trial is that
 * long and none extends: the panels read the rows the trial inserts (at
 * 1,000 rows/s a 20 s trial adds 20% to quick.json's 100,000-row history),
 * so a longer trial is a harder one, and a short trial far from the bracket
 * would pass what the full trial at the same rate fails for its length alone
 * (seen with quick.json: 750 rows/s passed a 20 s trial, then failed two
 * trials extended to 40 s). Otherwise a short trial is 5 s (the ingest decides
 * in it: thousands of samples a second), at least one rollup interval when a
 * rollup runs, and inconclusive trials extend up to --step-max (twice the
 * full length).
 */
export function defaultTrialLengths(config: RunConfig, slos: readonly Slo[], confidence: number): {
  shortMs: number; fullMs: number; stepMaxMs: number; panels: boolean;
} {
  const d = config.dashboard;
  let fullMs = 15_000;
  let panels = false;
  const alpha = (1 - confidence) / 2;
  for (const spec of sloSpecs(slos)) {
    if (spec.kind !== 'quantile') continue;
    if (spec.histograms.some((h) => h.startsWith('panel-response-')) && d.viewers > 0) {
      panels = true;
      // Per cell: viewers / refresh samples a second; pooled: at least a dozen cells.
      const perS = (d.viewers / (d.refreshMs / 1000)) * (spec.pooled ? 12 : 1);
      fullMs = Math.max(fullMs, (samplesForPass(spec.allowed, alpha) / perS) * 1000 + d.refreshMs);
    }
    if (spec.histograms.includes('freshness')) fullMs = Math.max(fullMs, 2 * d.rollupIntervalMs);
  }
  fullMs = Math.ceil(fullMs / 5000) * 5000;
  if (panels) return { shortMs: fullMs, fullMs, stepMaxMs: fullMs, panels };
  // A short trial sees at least one rollup run: the inserts compete with it, and a trial without one
  // passes rates a full-length trial then fails (seen with quick.json: 5 s trials passed 2,250 rows/s, 20 s ones failed 2,000).
  const shortMs = Math.min(fullMs, Math.max(5000, d.rollup === 'none' ? 0 : d.rollupIntervalMs));
  return { shortMs, fullMs, stepMaxMs: 2 * fullMs, panels };
}

/** Parse the capacity flags against the resolved config; every problem at once. */
export function capacitySettings(args: Record<string, unknown>, config: RunConfig): CapacitySettings {
  const problems: string[] = [];
  if (config.instance) problems.push('--instance: a capacity search runs its trials on one load generator; use --workers, or run rtbench run --instance for a fixed rate');
  const sources = list(args['slo']);
  const sloSources = sources.length > 0 ? sources : defaultSlos(config);
  const { slos, problems: sloProblems } = parseSlos(sloSources);
  problems.push(...sloProblems);
  const rate = config.rateHz;
  const startHz = positive(problems, '--start', args['start'], typeof rate === 'number' ? rate : 500);
  const maxHz = positive(problems, '--max', args['max'], 200_000);
  const minHz = positive(problems, '--min', args['min'], Math.max(1, startHz / 16));
  const pctArg = (v: unknown): unknown => (typeof v === 'string' ? v.replace(/%$/, '') : v);
  const precisionPct = positive(problems, '--precision', pctArg(args['precision']), DEFAULT_SEARCH.precision * 100);
  const confidencePct = positive(problems, '--confidence', pctArg(args['confidence']), 95);
  const exceedPct = positive(problems, '--exceed-ratio', pctArg(args['exceedRatio']), DEFAULT_SEARCH.exceedRatio * 100);
  const growth = positive(problems, '--growth', args['growth'], DEFAULT_SEARCH.growth, { min: 1 });
  const maxTrials = positive(problems, '--max-trials', args['maxTrials'], DEFAULT_SEARCH.maxTrials, { integer: true });
  const goalTrials = positive(problems, '--goal-trials', args['goalTrials'], DEFAULT_SEARCH.goalTrials, { integer: true });
  if (minHz > startHz) problems.push(`--min ${minHz} is above --start ${startHz}`);
  if (startHz > maxHz) problems.push(`--start ${startHz} is above --max ${maxHz}`);
  if (precisionPct >= 100) problems.push(`--precision: a percentage below 100, got ${JSON.stringify(args['precision'])}`);
  if (confidencePct < 50 || confidencePct >= 100) problems.push(`--confidence: a percentage from 50 to below 100, got ${JSON.stringify(args['confidence'])}`);
  if (exceedPct >= 100) problems.push(`--exceed-ratio: a percentage below 100, got ${JSON.stringify(args['exceedRatio'])}`);
  const confidence = confidencePct / 100;
  const dflt = defaultTrialLengths(config, slos, confidence);
  const duration = (flag: string, v: unknown, d: number, min = 1): number => {
    if (v === undefined) return d;
    const ms = parseDurationMs(v);
    if (ms === undefined || ms < min) {
      problems.push(`${flag}: a duration such as 20s${min > 1 ? ` of at least ${min / 1000}s` : ''}, got ${JSON.stringify(v)}`);
      return d;
    }
    return ms;
  };
  const fullMs = duration('--trial-duration', args['trialDuration'], dflt.fullMs, 1000);
  const shortMs = duration('--short-duration', args['shortDuration'], dflt.panels ? fullMs : Math.min(dflt.shortMs, fullMs), 1000);
  // Set --trial-duration: short trials stay the full length where panels are judged; --step-max follows it.
  const stepMaxMs = duration('--step-max', args['stepMax'], dflt.panels ? fullMs : Math.max(dflt.stepMaxMs, 2 * fullMs), 1000);
  const warmupMs = args['stepWarmup'] === undefined ? Math.min(config.warmupMs, 2000) : duration('--step-warmup', args['stepWarmup'], 2000, 0);
  if (shortMs > fullMs) problems.push(`--short-duration ${shortMs / 1000}s is longer than --trial-duration ${fullMs / 1000}s`);
  if (stepMaxMs < fullMs) problems.push(`--step-max ${stepMaxMs / 1000}s is shorter than --trial-duration ${fullMs / 1000}s`);
  const between = args['betweenTrials'] ?? 'remove';
  if (between !== 'remove' && between !== 'keep') problems.push(`--between-trials: remove or keep, got ${JSON.stringify(between)}`);
  if (problems.length > 0) throw new UsageError(problems);
  return {
    betweenTrials: between as 'remove' | 'keep',
    slos, sloSources, confidence, stepMaxMs, warmupMs,
    search: {
      startHz, maxHz, minHz, growth, precision: precisionPct / 100, shortMs, fullMs,
      goalTrials, exceedRatio: exceedPct / 100, maxTrials,
    },
  };
}

const n0 = (v: number | null): string => (v === null ? '—' : Math.round(v).toLocaleString('en-US'));
const ms = (us: number | null): string => (us === null ? '—' : us >= 1e6 ? `${(us / 1e6).toFixed(2)} s` : `${(us / 1000).toFixed(2)} ms`);

const verdictWord = (v: string): string => v.toUpperCase();
const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** One line per trial as it finishes (the console table grows with the search). */
export function trialLine(t: CapacityTrial): string {
  const why = t.verdict === 'fail' ? `: ${t.misses.join('; ')}` : t.verdict === 'harness' ? `: ${t.harnessReasons.join('; ')}`
    : t.verdict === 'inconclusive' ? `: ${t.undecided.join('; ')}` : '';
  return `trial ${t.index + 1}: ${n0(t.rateHz)} rows/s, ${t.phase} ${secs(t.measuredMs)} of ${secs(t.plannedMs)} → achieved ${n0(t.achievedHz)}, ingest p99 ${ms(t.ingest.p99Us)}` +
    `${t.disturbed.length > 0 ? ` [${t.disturbed.join(', ')}]` : ''}: ${verdictWord(t.verdict)}${why}`;
}

/** The trials table, at the end. */
export function trialsTable(r: CapacityResult): string {
  const color = process.stdout.isTTY === true;
  const t = new Table({
    style: color ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
    head: ['#', 'rows/s', 'achieved', 'trial', 'ingest p99', 'deciding SLO (n, beyond limit)', 'disturbed', 'verdict'],
    wordWrap: true, colWidths: [4, 9, 10, 12, 11, 50, 16, 14],
  });
  for (const x of r.trials) {
    const deciding = x.slos.find((s) => s.verdict === 'fail') ?? x.slos.find((s) => s.verdict === 'inconclusive') ?? x.slos.find((s) => s.verdict === 'pass');
    const decidingText = deciding ? `${deciding.figure}${deciding.n !== undefined ? ` (n ${deciding.n}, ${deciding.k})` : ''}` : x.misses[0] ?? '';
    t.push([x.index + 1, n0(x.rateHz), n0(x.achievedHz), `${x.phase} ${secs(x.measuredMs)}`, ms(x.ingest.p99Us), decidingText, x.disturbed.join(', ') || '—',
      x.verdict + (x.stop?.startsWith('certain') ? ' (early)' : '')]);
  }
  return t.toString();
}

/** A run id for trial i that does not exist yet in `dir` (a resumed search may find a killed trial's dir). */
function freshTrialId(dir: string, index: number, rateHz: number): string {
  const base = `trial-${String(index + 1).padStart(2, '0')}-${Math.round(rateHz)}hz`;
  for (let i = 0; ; i++) {
    const id = i === 0 ? base : `${base}-r${i}`;
    if (!existsSync(path.join(dir, id))) return id;
  }
}

/** Read a search to resume: DIR/capacity.json, refused with one line when it does not match these settings. */
export async function readResume(dir: string, config: RunConfig, settings: CapacitySettings): Promise<CapacityResult> {
  let r: CapacityResult;
  try {
    r = JSON.parse(await readFile(path.join(dir, 'capacity.json'), 'utf8')) as CapacityResult;
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : 'not JSON';
    throw new UsageError(`--resume ${dir}: no capacity.json to resume (${code})`);
  }
  if (r.formatVersion !== CAPACITY_FORMAT_VERSION || !Array.isArray(r.trials)) throw new UsageError(`--resume ${dir}: capacity.json is of another format (${String(r.formatVersion)}); it cannot be resumed`);
  if (r.status === 'finished') throw new UsageError(`--resume ${dir}: that search finished (${r.headline}); nothing to resume`);
  if (r.fingerprint !== capacityFingerprint(config, settings)) {
    throw new UsageError(`--resume ${dir}: the search was made with other settings (scenario, run options, SLOs or search options differ); resume it with the same command and --resume`);
  }
  return r;
}

/** Search one target (or continue `resume`); writes results/<capacity-id>/, capacity.json after every trial. */
export async function capacityOn(
  config: RunConfig, target: OpenTarget, settings: CapacitySettings,
  o: {
    log: Log; guard: SignalGuard; resultsDir: string; capacityId: string; resume?: CapacityResult;
    /** The live page (--ui): each trial's intervals, each trial as it ends, the bracket as it narrows. */
    ui?: { session: UiSession; side: string; label: string; nextStep: { n: number } };
  },
): Promise<{ result: CapacityResult; dir: string; steps: PageStepData[] }> {
  const { log } = o;
  // Each trial run here as page data: the page's time charts of the whole search.
  const steps: PageStepData[] = [];
  const live = o.ui;
  const dir = path.join(o.resultsDir, o.capacityId);
  await mkdir(dir, { recursive: true });
  const writeResult = (r: CapacityResult): Promise<void> => writeFileAtomic(path.join(dir, 'capacity.json'), JSON.stringify(r, null, 2) + '\n');
  const s = settings.search;
  const session = await RunSession.open({
    config, url: target.url, targetKind: target.recordKind,
    events: {
      onNotice: (l) => log(`rtbench: ${l}`),
      // A long phase (idle baseline, serial vs parallel, audit, between trials): a line every 3 s with the time left
      // and one with its cost at the end; --progress 0 turns these off with the per-second lines.
      ...(config.progressS > 0 ? { onProgress: progressPrinter((l) => log(`rtbench: ${l}`)) } : {}),
      onReady: (server) => {
        o.guard.loadStarted = true;
        if (target.spec.kind === 'url') log(`rtbench: target ${target.label}: ${server.version.split(' on ')[0] ?? server.version}`);
        log(`rtbench: capacity ${o.capacityId}${o.resume ? ` (resumed with ${o.resume.trials.length} kept trials)` : ''}: SLOs ${settings.sloSources.join(', ')} at ${Math.round(settings.confidence * 100)}% confidence; ` +
          `trials ${settings.warmupMs / 1000} s warm-up + ${s.shortMs / 1000} s far from the bracket, ${s.fullMs / 1000} s at its ends ` +
          `(${settings.stepMaxMs > s.fullMs ? `up to ${settings.stepMaxMs / 1000} s when inconclusive` : 'never extended: the panels read the rows a trial inserts, so a longer trial is a harder one'}; ` +
          `a fail may end a trial at half its length), ` +
          `from ${s.startHz} rows/s (×${s.growth}, precision ${(s.precision * 100).toFixed(0)}%, max ${s.maxHz})`);
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
      ...(o.resume ? { resume: o.resume } : {}),
      trialRunId: (i, rate) => freshTrialId(dir, i, rate),
      observers: (i) => {
        // Each trial streams its intervals into its own dir as it runs (crash safety), then completes it.
        const stream = new ResultStream({ resultsDir: dir, onFailure: () => o.guard.abort.abort() });
        // The trial's page events go into its dir (rtbench ui DIR follows them) and to the live page.
        const pageFile = new PageEventFile({ dir: () => stream.dir });
        const page = new LiveObserver(teeSink(pageFile, live?.session.hub), live ? live.nextStep.n++ : 0, live?.side ?? '', i);
        return [
          progressObserver({ ...config, warmupMs: settings.warmupMs }, log, `trial ${i + 1}: `),
          stream,
          // The server's view of each trial; the panels' plans are not re-explained at every trial.
          ...serverSamplerFor(config, { plans: false, onSecond: page.serverSecond }),
          page,
          pageFile,
          {
            name: 'trial-writer',
            stepRecord: async (record) => {
              await Promise.all([stream.close(), pageFile.close()]);
              if (stream.failure) throw new EnvironmentError(stream.failure);
              if (pageFile.failure) log(`rtbench: trial ${i + 1}: ${pageFile.failure}`);
              if (stream.dir === null) throw new Error('the results stream never started');
              const status = o.guard.abort.signal.aborted ? 'interrupted' : 'finished';
              await completeRunDir(stream.dir, record, status, { owner: stream.startInfo?.owner, recovery: stream.startInfo?.recovery });
              written.set(record.run.runId, path.basename(stream.dir));
              steps.push(stepData(record, steps.length, live?.side ?? '', i));
            },
          },
        ];
      },
      trialDir: (record) => written.get(record.run.runId) ?? record.run.runId,
      signal: o.guard.abort.signal,
      events: {
        onTrialStart: (t) => {
          const left = t.meanTrialMs === null ? '' : `, about ${Math.round(((t.left + 1) * t.meanTrialMs) / 6000) / 10} min left`;
          log(`rtbench: capacity trial ${t.number} (about ${t.left} more after it${left}): ${n0(t.rateHz)} rows/s for ${t.plannedMs / 1000} s (${t.why})`);
        },
        onTrialDone: (t) => {
          log(`rtbench: ${trialLine(t)}`);
          live?.session.hub.publish({ type: 'trial', trial: trialOf(t, live.side) });
        },
        onProgress: (r) => {
          // The search's own bracket so far (the same function as its end), for the page.
          live?.session.hub.publish({ type: 'side', side: sideOf(r, live.side, live.label) });
          return writeResult(r);
        },
        onNotice: (l) => log(`rtbench: ${l}`),
      },
    });
  } finally {
    await session.close();
  }
  live?.session.hub.publish({ type: 'side', side: sideOf(result, live.side, live.label) });
  await writeResult(result);
  await writeFileAtomic(path.join(dir, 'report.html'), capacityHtml(result, steps));
  await writeCapacityRunFiles(dir, result, settings);
  return { result, dir, steps };
}

/**
 * run.json and summary.json of the capacity dir, so that check, history,
 * export and compare read it as a run: the summary is that of the last trial
 * at the capacity (without one, the last trial), with `capacity.capacityHz`
 * (bigger is better) beside its figures; the config carries the SLOs and the
 * search, so the history fingerprint changes when they do.
 */
async function writeCapacityRunFiles(dir: string, r: CapacityResult, settings: CapacitySettings): Promise<void> {
  const at = r.capacityHz === null ? r.trials.at(-1) : r.trials.filter((t) => t.rateHz === r.capacityHz && t.verdict === 'pass').at(-1) ?? r.trials.at(-1);
  if (!at) return;
  const trial = await readRunDir(path.join(dir, at.dir));
  const valid = r.end === 'found' && r.capacityHz !== null;
  const run = {
    ...trial.run,
    runId: r.capacityId,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    config: { ...trial.run.config, rateHz: 'capacity', durationMs: settings.search.fullMs, warmupMs: settings.warmupMs, capacity: { slos: r.slos, search: r.search, confidence: r.confidence } },
  };
  const summary = {
    ...trial.summary,
    runId: r.capacityId,
    valid: valid && trial.summary.valid,
    invalidReasons: valid ? trial.summary.invalidReasons : [r.headline, ...trial.summary.invalidReasons],
    notes: [`capacity search: ${r.headline}; the other figures are those of trial ${at.index + 1} (${at.rateHz} rows/s)`, ...trial.summary.notes],
    capacity: {
      capacityHz: r.capacityHz, lowerBound: r.lowerBound, passHz: r.bracket[0], failHz: r.bracket[1], band: r.band, end: r.end, trials: r.trials.length, wallMs: r.wallMs,
      binding: r.binding?.line ?? null, cause: r.binding?.cause ?? null, harnessBound: r.harnessBound.value,
    },
  };
  await writeFileAtomic(path.join(dir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
  await writeFileAtomic(path.join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
}

/**
 * Exit code of a search: 0 a decided bracket; 4 a lower bound (--max passed,
 * the trial limit, the client's ceiling: `≥ R`); 99 no passing rate; 3 the
 * client could not drive even the lowest rate; 130 interrupted.
 */
export function capacityExitCode(r: CapacityResult): number {
  switch (r.end) {
    case 'found': return ExitCode.ok;
    case 'max-passed': return ExitCode.lowerBound;
    case 'trial-limit': return r.capacityHz === null ? EXIT_THRESHOLD_FAILED : ExitCode.lowerBound;
    case 'no-pass': return EXIT_THRESHOLD_FAILED;
    case 'harness-bound': return r.capacityHz === null ? ExitCode.invalidRun : ExitCode.lowerBound;
    case 'interrupted': case null: return ExitCode.interrupted;
  }
}

function printResult(r: CapacityResult, dir: string, label?: string): void {
  process.stdout.write(trialsTable(r) + '\n');
  process.stdout.write(`${label ? `${label}: ` : ''}${r.headline}\n`);
  for (const x of r.noise) process.stdout.write(`note: ${x}\n`);
  for (const x of r.unmeasured) process.stdout.write(`note: ${x}\n`);
  for (const rate of r.rates) if (rate.mixed && rate.disturbed.length > 0) process.stdout.write(`note: ${n0(rate.rateHz)} rows/s: trials disagreed; disturbed: ${rate.disturbed.join('; ')}\n`);
  const retried = Object.entries(r.retries);
  if (retried.length > 0) process.stdout.write(`note: database errors retried between trials: ${retried.map(([k, v]) => `${k}=${v}`).join(', ')}\n`);
  process.stdout.write(`search: ${r.trials.length} trials in ${(r.wallMs / 1000).toFixed(0)} s\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), dir) || dir}\n`);
}

export async function capacityCommand(args: Record<string, unknown>): Promise<number> {
  const twoTargets = args['a'] !== undefined || args['b'] !== undefined;
  if (twoTargets && (args['a'] === undefined || args['b'] === undefined)) throw new UsageError('--a and --b: give both targets (a URL, local, or local-citus:N)');
  if (twoTargets && args['url'] !== undefined) throw new UsageError('--url: with --a/--b the targets come from --a and --b');
  if (twoTargets && args['resume'] !== undefined) throw new UsageError('--resume: resumes one search; resume each side of a two-target search with its own dir');
  const config = await resolveConfig(args);
  const settings = capacitySettings(args, config);
  const resumeDir = args['resume'] === undefined ? null : path.resolve(String(args['resume']));
  const resume = resumeDir === null ? undefined : await readResume(resumeDir, config, settings);
  await checkWritableDir(resumeDir === null ? config.resultsDir : path.dirname(resumeDir));
  const specs: Array<[string | undefined, TargetSpec]> = twoTargets
    ? [['a', parseTargetSpec(String(args['a']), '--a')], ['b', parseTargetSpec(String(args['b']), '--b')]]
    : [[undefined, runTargetSpec(config.url, args['citusWorkers'] === undefined ? undefined : parseCitusWorkers(args['citusWorkers']), process.env)]];
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const guard = new SignalGuard(log);
  const id = resumeDir === null ? newRunId(`${config.name}-capacity`) : path.basename(resumeDir);
  const results: Array<{ result: CapacityResult; label: string; steps: PageStepData[] }> = [];
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
        const resultsDir = resumeDir !== null ? path.dirname(resumeDir) : side ? path.join(config.resultsDir, id) : config.resultsDir;
        const { result, dir, steps } = await capacityOn(config, target, settings, {
          log, guard, resultsDir, capacityId: side ?? id, ...(resume ? { resume } : {}),
          ...(ui ? { ui: { session: ui, side: side ?? '', label: target.label, nextStep } } : {}),
        });
        printResult(result, dir, side ? `${side} (${target.label})` : undefined);
        results.push({ result, label: target.label, steps });
      } finally {
        if (target) await guard.release(target, config.keep);
      }
      if (guard.abort.signal.aborted) break;
    }
    const [a, b] = results;
    if (a && b) {
      const r = capacityRatio(a.result, b.result);
      const f = (v: number | null): string => (v === null ? '?' : `${v.toFixed(2)}×`);
      const line = r.kind === 'value'
        ? `capacity b/a: ${f(r.ratio)} [${f(r.low)}–${f(r.high)}] (a ${n0(a.result.capacityHz)} rows/s, b ${n0(b.result.capacityHz)} rows/s)`
        : r.kind === 'at-least' ? `capacity b/a: ≥ ${f(r.low)} (a bound, not a value: ${a.result.end !== 'found' ? `a: ${a.result.headline}` : `b: ${b.result.headline}`})`
          : r.kind === 'at-most' ? `capacity b/a: ≤ ${f(r.high)} (a bound, not a value: ${a.result.end !== 'found' ? `a: ${a.result.headline}` : `b: ${b.result.headline}`})`
            : `capacity b/a: not computable (${a.result.capacityHz === null ? `a: ${a.result.headline}` : `b: ${b.result.headline}`})`;
      process.stdout.write(`${line}\n`);
      await writeFileAtomic(path.join(config.resultsDir, id, 'capacity-compare.json'), JSON.stringify({
        formatVersion: 2, id,
        a: { target: a.label, capacityHz: a.result.capacityHz, lowerBound: a.result.lowerBound, bracket: a.result.bracket, band: a.result.band, end: a.result.end },
        b: { target: b.label, capacityHz: b.result.capacityHz, lowerBound: b.result.lowerBound, bracket: b.result.bracket, band: b.result.band, end: b.result.end }, ratio: r,
      }, null, 2) + '\n');
      // Both curves on one chart with the ratio: results/<id>/report.html.
      await writeFileAtomic(path.join(config.resultsDir, id, 'report.html'), capacityPairHtml(a, b, r));
      process.stdout.write(`report: ${path.join(config.resultsDir, id, 'report.html')}\n`);
      ui?.hub.publish({ type: 'final', model: capacityPageModel([{ side: 'a', ...a }, { side: 'b', ...b }], r) });
    } else if (a && !b && !twoTargets) {
      ui?.hub.publish({ type: 'final', model: capacityPageModel([{ side: '', label: a.label, result: a.result, steps: a.steps }]) });
    }
    if (guard.abort.signal.aborted) return ExitCode.interrupted;
    const codes = results.map((x) => capacityExitCode(x.result));
    return codes.find((c) => c !== ExitCode.ok) ?? ExitCode.ok;
  } finally {
    guard.dispose();
    await ui?.close();
  }
}
