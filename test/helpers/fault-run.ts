/**
 * Reading a fault run's results in e2e tests: the one run dir, its summary, and the bounds a
 * fault leaves on acked vs rows in the table.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Summary } from '../../src/results/run-record.js';
import { sleep } from './cli.js';

/** summary.fault as the e2e tests read it. */
export interface FaultRecord {
  kind: string;
  target?: string;
  node?: string;
  plannedAtMs: number;
  startMs: number | null;
  endMs: number | null;
  startEpochMs: number | null;
  exitCode: number | null;
  error?: string;
}

/** The only run dir under `resultsDir`, its summary and its schedule origin (epoch ms). */
export async function readFaultRun(resultsDir: string, context: string): Promise<{ dir: string; s: Summary & { fault?: FaultRecord[] }; startEpochMs: number }> {
  const entries = await fs.readdir(resultsDir).catch(() => [] as string[]);
  assert.equal(entries.length, 1, `one run dir in ${resultsDir}: ${entries.join(', ')}\n${context}`);
  const dir = path.join(resultsDir, entries[0]!);
  const s = JSON.parse(await fs.readFile(path.join(dir, 'summary.json'), 'utf8')) as Summary & { fault?: FaultRecord[] };
  const lines = (await fs.readFile(path.join(dir, 'intervals.hlog'), 'utf8').catch(() => '')).split('\n');
  const start = lines.find((l) => l.startsWith('#[StartTime: '));
  const startEpochMs = start ? Number.parseFloat(start.slice('#[StartTime: '.length)) * 1000 : Number.NaN;
  return { dir, s, startEpochMs };
}

/**
 * A statement ended by 57P01/57P02 (its backend terminated) may have committed before the
 * error reached the client: its row is in the table but was never acknowledged. Asserts
 * acked ≤ rows in the table ≤ acked + those in-doubt failures.
 */
export function assertAckedWithinDoubt(s: Summary, context: string): void {
  const e = s.ingest.errorsBySqlstate;
  const inDoubt = (e['57P01'] ?? 0) + (e['57P02'] ?? 0);
  const extra = (s.ingest.rowsInTable ?? Number.NaN) - s.ingest.acked;
  assert.ok(extra >= 0 && extra <= inDoubt, `rows in the table ${s.ingest.rowsInTable}, acked ${s.ingest.acked}, in doubt ${inDoubt}\n${context}`);
}

/**
 * Wait until the wall clock's second within the minute is `second` (0–59), so that a run
 * started now crosses a minute boundary and the 1-minute rollup has a closed period to audit.
 */
export async function untilSecondOfMinute(second: number): Promise<void> {
  const now = new Date();
  const waitS = (second - now.getUTCSeconds() + 60) % 60;
  await sleep(waitS * 1000 - now.getUTCMilliseconds());
}
