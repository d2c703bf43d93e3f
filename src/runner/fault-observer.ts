/**
 * Faults on purpose, as an observer of a step: at T after the schedule's origin it restarts,
 * crashes, pauses the server (or a local Citus worker), or runs the user's `--fault-cmd`, while
 * the load, the rollup, the viewers and the sampler go on; when the step ends it adds
 * `summary.fault` (what, planned and actual times in ms after the origin, exit code) and a note.
 * The outage the fault caused is measured by the load itself (summary.availability).
 */
import type { RunObserver, SessionInfo, StepContribution, StepInfo, StepPhase, StepTiming } from './observer.js';
import { injectFault, runFaultCommand, type FaultOutcome, type FaultSpec, type LocalServer } from '../targets/faults.js';

/** What to do and where. */
export interface FaultPlan {
  /** `--fault`; absent with only `--fault-cmd`. */
  readonly fault?: FaultSpec;
  /** `--fault-cmd`: the user's own shell command, run as given. */
  readonly command?: string;
  /** `--fault-at` for the command, ms after the origin; null: the middle of the measure window. */
  readonly commandAtMs?: number | null;
  /**
   * The local servers a `--fault` can act on (the throwaway cluster's nodes; for a URL, the
   * server found behind it); resolved when the step starts. Empty: a `--fault` cannot run (noted).
   */
  readonly servers: (session: SessionInfo) => Promise<readonly LocalServer[]>;
  /** Epoch ms clock (tests). */
  readonly nowMs?: () => number;
}

/** summary.fault */
export interface FaultRecord {
  /** `restart`, `crash`, `pause`, `worker-restart`, or `command`. */
  readonly kind: string;
  /** The server acted on ('server', 'coordinator', 'worker 1'…); absent for a command. */
  readonly target?: string;
  /** A Citus node's `host:port` as in summary.ingest.byNode. */
  readonly node?: string;
  readonly pauseMs?: number;
  /** When it was planned and when it ran, ms after the schedule origin. */
  readonly plannedAtMs: number;
  readonly startMs: number | null;
  readonly endMs: number | null;
  /** When it ran, ms since the epoch (to compare with the server's log). */
  readonly startEpochMs: number | null;
  /** pg_ctl's or the command's exit code; null when it never ran or ended on a signal. */
  readonly exitCode: number | null;
  readonly error?: string;
}

/** See the module comment. */
export class FaultObserver implements RunObserver {
  readonly name = 'fault';
  readonly #plan: FaultPlan;
  readonly #now: () => number;
  #servers: readonly LocalServer[] = [];
  #timers: NodeJS.Timeout[] = [];
  #running: Array<Promise<void>> = [];
  #records: Array<{ kind: string; target?: string; node?: string; pauseMs?: number; plannedAtMs: number; outcome: FaultOutcome | null }> = [];
  #originEpochMs = 0;
  #step: StepInfo | null = null;

  constructor(plan: FaultPlan) {
    this.#plan = plan;
    this.#now = plan.nowMs ?? Date.now;
  }

  async stepStart(step: StepInfo, session: SessionInfo): Promise<void> {
    this.#step = step;
    this.#records = [];
    this.#servers = this.#plan.fault ? await this.#plan.servers(session).catch(() => []) : [];
  }

  phase(phase: StepPhase, atMs: number, step: StepInfo): void {
    if (phase !== 'warmup') return;
    this.#originEpochMs = this.#now() - atMs;
    const middle = step.config.warmupMs + step.config.durationMs / 2;
    const f = this.#plan.fault;
    if (f) {
      const server = f.kind === 'worker-restart'
        ? this.#servers.find((s) => s.name === `worker ${f.worker ?? 1}`)
        : this.#servers.find((s) => s.name === 'server' || s.name === 'coordinator');
      const plannedAtMs = f.atMs ?? middle;
      const rec = { kind: f.kind, ...(server ? { target: server.name } : {}), ...(server?.node ? { node: server.node } : {}), ...(f.pauseMs ? { pauseMs: f.pauseMs } : {}), plannedAtMs, outcome: null as FaultOutcome | null };
      this.#records.push(rec);
      this.#at(plannedAtMs, async () => {
        rec.outcome = server
          ? await injectFault(f, server, this.#now)
          : { startEpochMs: this.#now(), endEpochMs: this.#now(), exitCode: null, error: f.kind === 'worker-restart' ? `no local Citus worker ${f.worker ?? 1} to restart (worker-restart needs --citus-workers N)` : 'no local server to act on: --fault needs the throwaway cluster, rtbench db, or a --url server whose data directory is on this host' };
      });
    }
    if (this.#plan.command !== undefined) {
      const command = this.#plan.command;
      const rec = { kind: 'command', plannedAtMs: this.#plan.commandAtMs ?? middle, outcome: null as FaultOutcome | null };
      this.#records.push(rec);
      this.#at(rec.plannedAtMs, async () => {
        rec.outcome = await runFaultCommand(command, this.#now);
      });
    }
  }

  /** Run `fn` at `atMs` after the origin (at once when that is past). */
  #at(atMs: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.#running.push(fn().catch(() => undefined));
    }, Math.max(0, this.#originEpochMs + atMs - this.#now()));
    this.#timers.push(t);
  }

  async stepEnd(_step: StepInfo, timing: StepTiming): Promise<StepContribution> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    // A fault still under way (a server coming back) is waited for: the next step needs the server.
    await Promise.all(this.#running);
    this.#running = [];
    const rel = (epochMs: number): number => Math.round(epochMs - timing.startEpochMs);
    const faults: FaultRecord[] = this.#records.map((r) => ({
      kind: r.kind,
      ...(r.target ? { target: r.target } : {}),
      ...(r.node ? { node: r.node } : {}),
      ...(r.pauseMs ? { pauseMs: r.pauseMs } : {}),
      plannedAtMs: r.plannedAtMs,
      startMs: r.outcome ? rel(r.outcome.startEpochMs) : null,
      endMs: r.outcome ? rel(r.outcome.endEpochMs) : null,
      startEpochMs: r.outcome?.startEpochMs ?? null,
      exitCode: r.outcome?.exitCode ?? null,
      ...(r.outcome?.error ? { error: r.outcome.error } : r.outcome ? {} : { error: 'not run: the step ended first' }),
    }));
    const s = (ms: number | null): string => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);
    const notes = faults.map((f) => `fault: ${f.kind}${f.pauseMs ? ` ${(f.pauseMs / 1000).toFixed(1)} s` : ''}${f.target ? ` of the ${f.target}` : ''} planned at ${s(f.plannedAtMs)}, ran ${s(f.startMs)}–${s(f.endMs)}, exit ${f.exitCode ?? '—'}${f.error ? `: ${f.error}` : ''}`);
    this.#step = null;
    return { summary: { fault: faults }, notes };
  }
}
