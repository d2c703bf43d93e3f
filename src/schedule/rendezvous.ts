/**
 * The arithmetic of a rendezvous of several load generators (`--instance i/N
 * --group G`): the clock offset to the database from timed round trips, the
 * common start in this host's clock, who is missing, and how far apart the
 * instances of a group actually started. Pure: callers pass the clock readings.
 */

/** One timed round trip: this host's clock before and after, the database's clock in between (ms since the epoch). */
export interface ClockSample {
  readonly sentEpochMs: number;
  readonly dbEpochMs: number;
  readonly receivedEpochMs: number;
}

/** The database clock relative to this host's: `dbEpochMs = localEpochMs + offsetMs`. */
export interface ClockOffset {
  /** Database clock minus this host's clock, ms. */
  readonly offsetMs: number;
  /** Round trip of the sample the offset comes from, ms; the offset is known to within half of it. */
  readonly roundTripMs: number;
  readonly samples: number;
}

/**
 * NTP's rule: the database read its clock somewhere inside the round trip, so
 * the sample with the smallest round trip bounds the offset most tightly; its
 * midpoint is the estimate, its half round trip the uncertainty.
 */
export function estimateClockOffset(samples: readonly ClockSample[]): ClockOffset {
  let best: ClockSample | undefined;
  for (const s of samples) {
    const rtt = s.receivedEpochMs - s.sentEpochMs;
    if (!Number.isFinite(rtt) || rtt < 0 || !Number.isFinite(s.dbEpochMs)) continue;
    if (!best || rtt < best.receivedEpochMs - best.sentEpochMs) best = s;
  }
  if (!best) throw new RangeError('estimateClockOffset: no usable sample');
  const roundTripMs = best.receivedEpochMs - best.sentEpochMs;
  return { offsetMs: best.dbEpochMs - (best.sentEpochMs + roundTripMs / 2), roundTripMs, samples: samples.length };
}

/** An instant of the database's clock in this host's clock. */
export function toLocalEpochMs(dbEpochMs: number, clock: Pick<ClockOffset, 'offsetMs'>): number {
  return dbEpochMs - clock.offsetMs;
}

/** An instant of this host's clock in the database's clock. */
export function toDbEpochMs(localEpochMs: number, clock: Pick<ClockOffset, 'offsetMs'>): number {
  return localEpochMs + clock.offsetMs;
}

/** Indices 1..count not among `registered`, ascending. */
export function missingInstances(registered: Iterable<number>, count: number): number[] {
  const have = new Set(registered);
  const out: number[] = [];
  for (let i = 1; i <= count; i++) if (!have.has(i)) out.push(i);
  return out;
}

/** "2/3, 3/3" */
export function instanceList(indices: readonly number[], count: number): string {
  return indices.map((i) => `${i}/${count}`).join(', ');
}

/** The one line a timed-out instance prints. */
export function timeoutMessage(group: string, count: number, missing: readonly number[], timeoutMs: number): string {
  const s = missing.length > 1 ? 's' : '';
  return `rendezvous: group ${group}: instance${s} ${instanceList(missing, count)} did not register within ${formatSeconds(timeoutMs)} ` +
    `(--rendezvous-timeout); nothing was run`;
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/** What one instance of a group recorded about its start (run.json `instance`). */
export interface InstanceStart {
  readonly index: number;
  /** The common start, database clock, ms since the epoch (equal in every instance of a launch). */
  readonly startEpochMs: number;
  /** This instance told its workers to start this long after the common start (0 when it was ready in time). */
  readonly lateStartMs: number;
  /** Its first operation was sent this long after the common start: when its schedule really began (null: none sent, or an older record). */
  readonly firstSentMs?: number | null;
  /** Round trip of the clock offset measurement: the start is known to within half of it. */
  readonly clockRoundTripMs: number;
  /** When this instance registered, database clock. */
  readonly registeredAtEpochMs: number;
}

/** How far apart the instances of one group started and registered. */
export interface StartSpread {
  /** Latest minus earliest actual schedule start (first operation sent), database clock, ms. */
  readonly startSpreadMs: number;
  /** The spread is known to within this (the largest half round trip), ms. */
  readonly uncertaintyMs: number;
  /** Latest minus earliest registration, ms: how far apart they were launched (plus set-up time). */
  readonly registeredSpreadMs: number;
}

/**
 * Spread of the actual schedule starts (common start + when each sent its first
 * operation, or, in a record without that, its late start) and of the registrations.
 */
export function startSpread(starts: readonly InstanceStart[]): StartSpread {
  if (starts.length === 0) throw new RangeError('startSpread: no instances');
  // Relative to the earliest common start, so epoch-sized numbers do not eat the sub-millisecond lateness.
  const base = Math.min(...starts.map((s) => s.startEpochMs));
  const actual = starts.map((s) => s.startEpochMs - base + (s.firstSentMs ?? s.lateStartMs));
  const reg = starts.map((s) => s.registeredAtEpochMs - base);
  return {
    startSpreadMs: Math.max(...actual) - Math.min(...actual),
    uncertaintyMs: Math.max(...starts.map((s) => s.clockRoundTripMs / 2)),
    registeredSpreadMs: Math.max(...reg) - Math.min(...reg),
  };
}
