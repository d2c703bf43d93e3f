import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyNeeded, studyGate, type StudyInput } from '../../src/check/gate-study.js';
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
