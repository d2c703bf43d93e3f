import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyNeeded, studyDuetResampled, studyGate, type DuetRound, type StudyInput } from '../../src/check/gate-study.js';
import { DEFAULT_PAIRED } from '../../src/check/paired.js';
import { DEFAULT_GATE } from '../../src/check/gate.js';

const lat = (p50Us: number): Record<string, number> => ({ count: 100, p50Us, p90Us: p50Us * 3, p95Us: p50Us * 3, p99Us: p50Us * 4, p999Us: p50Us * 4, maxUs: p50Us * 4, meanUs: p50Us });
const run = (p50Us: number, rate: number) => ({ valid: true, summary: { ingest: { achievedRateHz: rate, errors: 0, response: lat(p50Us) } } });

test('gate study: rolling window, false alarms on unchanged runs, detections per regression, history needed', () => {
  const wobble = [0, 3, -2, 1, -1, 2, -3, 0, 1, -2, 2, -1, 0, 3, -2, 1, -1, 2, -3, 0];
  const unchanged = wobble.map((w) => run(1000 + w * 10, 2000 - w * 20));
  const input: StudyInput = {
    unchanged, k: 10,
    regressions: {
      slow: unchanged.slice(10).map((_, i) => ({ run: run(4000, 600), after: 10 + i })),
      rate: unchanged.slice(10).map((_, i) => ({ run: run(1000, 1600), after: 10 + i })),
    },
  };
  const s = studyGate(input, 10, DEFAULT_GATE);
  assert.equal(s.m, 10);
  assert.equal(s.falseAlarms, 0);
  assert.deepEqual(s.detections, { slow: 10, rate: 10 });
  const rate = s.figures.find((f) => f.path === 'ingest.achievedRateHz')!;
  assert.equal(rate.detections['rate']!.detected, 10);
  assert.equal(rate.detections['rate']!.judged, 10);
  const p99 = s.figures.find((f) => f.path === 'ingest.response.p99Us')!;
  assert.equal(p99.insufficient, 10, 'a p99 on 100 samples is never judged');
  // Windows below the minimum history cannot fail anything: no detections there.
  assert.equal(studyGate(input, 4, DEFAULT_GATE).detections['slow'], 0);
  assert.equal(historyNeeded(input, DEFAULT_GATE, 1 / 20, 19 / 20, 1), 5);
});

test('duet study on random subsets of rounds: a drift shared by both sides of a round is no alarm, a 20% drop in b is found, seeded', () => {
  // The box drifts slowly over the study (±30%), the same for both runs of a round; each run adds ±2% of its own.
  const rounds: DuetRound[] = Array.from({ length: 20 }, (_, i) => {
    const box = 1 + 0.3 * Math.sin(i / 3);
    const own = (k: number): number => 1 + 0.02 * Math.sin(i * 7 + k);
    return {
      unchanged: run(1000 * box * own(0), 2000 / box / own(0)).summary,
      twin: run(1000 * box * own(1), 2000 / box / own(1)).summary,
      regressions: { rate: run(1000 * box * own(2), (0.8 * 2000) / box / own(2)).summary },
    };
  });
  const s = studyDuetResampled(rounds, 10, DEFAULT_PAIRED, 200, 1);
  assert.equal(s.draws, 200);
  assert.equal(s.falseAlarmShare, 0);
  assert.equal(s.detectionShare['rate'], 1);
  assert.deepEqual(studyDuetResampled(rounds, 10, DEFAULT_PAIRED, 200, 1), s);
  // Without the pairing the same drift is ±30%: the history gate on the unchanged runs alone cannot tell a 20% drop from it.
  const unchanged = rounds.map((r) => ({ valid: true, summary: r.unchanged }));
  const h = studyGate({ unchanged, k: 10, regressions: { rate: rounds.slice(10).map((r, i) => ({ run: { valid: true, summary: r.regressions['rate'] }, after: 10 + i })) } }, 10, DEFAULT_GATE);
  assert.ok(h.detections['rate']! < 10, `history gate detections ${h.detections['rate']}/10`);
});
