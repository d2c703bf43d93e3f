import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  refreshDueNs, refreshesDue, runViewer, viewerOffsetNs,
  type PanelTiming, type RefreshTiming, type SleepingClock,
} from '../../src/schedule/viewers.js';

const MS = 1e6;

/** A clock that only moves when told to: sleeping jumps to the wake-up time, a panel adds its duration. */
class FakeClock implements SleepingClock {
  t = 0;
  nowNs(): number {
    return this.t;
  }
  async sleepUntilNs(ns: number): Promise<void> {
    this.t = Math.max(this.t, ns);
  }
}

interface Run {
  panels: PanelTiming[];
  refreshes: RefreshTiming[];
}

/** One viewer until the clock passes `untilNs`; panel p of refresh k takes durMs(p, k) ms. */
async function simulate(opts: { viewer?: number; viewers?: number; refreshMs: number; panels: number; untilMs: number; durMs: (p: number, k: number) => number; lateMs?: number }): Promise<Run> {
  const clock = new FakeClock();
  const run: Run = { panels: [], refreshes: [] };
  await runViewer({
    clock,
    viewer: opts.viewer ?? 0,
    viewers: opts.viewers ?? 1,
    refreshNs: opts.refreshMs * MS,
    startNs: 0,
    panels: opts.panels,
    lateThresholdNs: (opts.lateMs ?? 0) * MS,
    runPanel: async (p, k) => {
      clock.t += opts.durMs(p, k) * MS;
      return true;
    },
    stopped: () => clock.t >= opts.untilMs * MS,
    onPanel: (t) => run.panels.push(t),
    onRefresh: (t) => run.refreshes.push(t),
  });
  return run;
}

test('offsets spread viewers evenly over the refresh period', () => {
  assert.deepEqual([0, 1, 2, 3].map((v) => viewerOffsetNs(v, 4, 2000 * MS) / MS), [0, 500, 1000, 1500]);
  assert.equal(refreshDueNs(10 * MS, 1, 4, 2000 * MS, 3) / MS, 10 + 500 + 3 * 2000);
  assert.throws(() => viewerOffsetNs(4, 4, 1), /viewer must be in/);
  assert.throws(() => viewerOffsetNs(0, 0, 1), /viewers must be/);
});

test('refreshesDue: 4 viewers, 2 s refresh, 30 s is 60 refreshes', () => {
  assert.equal(refreshesDue(0, 30_000 * MS, 4, 2000 * MS), 60);
  assert.equal(refreshesDue(0, 1 * MS, 4, 2000 * MS), 1);
});

test('fast panels: every refresh starts on time, response = lag + service', async () => {
  const run = await simulate({ refreshMs: 1000, panels: 3, untilMs: 10_000, durMs: () => 10 });
  assert.equal(run.refreshes.length, 10);
  assert.ok(run.refreshes.every((r) => !r.late && r.startNs === r.dueNs && r.doneNs !== null));
  assert.deepEqual(run.refreshes.map((r) => r.dueNs / MS), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
  // Panel 2 of each refresh waited for panels 0 and 1: its response from the due time is 30 ms, its service 10 ms.
  const third = run.panels.filter((p) => p.panel === 2);
  assert.ok(third.every((p) => (p.doneNs - p.dueNs) / MS === 30 && (p.doneNs - p.sentNs) / MS === 10 && (p.sentNs - p.dueNs) / MS === 20));
});

test('a slow panel delays the rest of its refresh and the next refresh: late, counted, never skipped', async () => {
  // Refresh 1's first panel takes 2.5 s with R = 1 s: refreshes 2 and 3 are due while it runs.
  const run = await simulate({ refreshMs: 1000, panels: 2, untilMs: 6000, durMs: (p, k) => (k === 1 && p === 0 ? 2500 : 10), lateMs: 5 });
  const byK = new Map(run.refreshes.map((r) => [r.refresh, r]));
  assert.deepEqual([...byK.keys()], [0, 1, 2, 3, 4, 5], 'no refresh index skipped');
  assert.equal(byK.get(1)!.late, false);
  // Refresh 1 ends at 1000 + 2500 + 10 = 3510 ms; refresh 2 (due 2000) and 3 (due 3000) start late, back to back.
  assert.equal(byK.get(2)!.startNs / MS, 3510);
  assert.equal(byK.get(2)!.late, true);
  assert.equal(byK.get(3)!.startNs / MS, 3530);
  assert.equal(byK.get(3)!.late, true);
  assert.equal(byK.get(4)!.late, false, 'caught up by refresh 4 (due 4000)');
  assert.equal(run.refreshes.filter((r) => r.late).length, 2);
  // Refresh 1's second panel: response from the due time (1000) includes the slow first panel.
  const p = run.panels.find((x) => x.refresh === 1 && x.panel === 1)!;
  assert.equal((p.doneNs - p.dueNs) / MS, 2510);
  assert.equal((p.doneNs - p.sentNs) / MS, 10);
  // Refresh 2's first panel: its response counts the 1510 ms it started late.
  const q = run.panels.find((x) => x.refresh === 2 && x.panel === 0)!;
  assert.equal((q.doneNs - q.dueNs) / MS, 1520);
});

test('a refresh stopped before its last panel is unfinished; viewer 1 of 2 starts half a period in', async () => {
  const run = await simulate({ viewer: 1, viewers: 2, refreshMs: 1000, panels: 4, untilMs: 1620, durMs: () => 100 });
  assert.equal(run.refreshes[0]!.dueNs / MS, 500);
  assert.equal(run.refreshes[0]!.doneNs !== null, true);
  const last = run.refreshes.at(-1)!;
  assert.equal(last.dueNs / MS, 1500);
  assert.equal(last.doneNs, null);
  assert.equal(last.panelsRun, 2);
});
