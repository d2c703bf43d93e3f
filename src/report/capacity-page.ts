/**
 * A capacity search as the page's model: the one place that reads
 * capacity.json's steps (the adapter; the result format is still moving, issue
 * 21), so the live page, report.html and the two-target page draw the same
 * trials. Pure.
 */
import type { CapacityResult, CapacityStep } from '../capacity/result.js';
import { maskSecrets } from '../targets/url.js';
import { escapeHtml, htmlTable } from './html-parts.js';
import { emptyModel, type PageCapacitySide, type PageModel, type PageTrial } from './page-model.js';

/** One step of capacity.json as a trial of the page. */
export function trialOf(s: CapacityStep, side: string): PageTrial {
  return {
    side, index: s.index, rateHz: s.rateHz, achievedHz: s.achievedHz, p50Us: s.ingest.p50Us, p99Us: s.ingest.p99Us,
    worstP95Us: s.worstPanel?.p95Us ?? null, verdict: s.verdict,
    why: maskSecrets(s.verdict === 'pass' ? s.why : [...s.misses, ...s.harnessReasons].join('; ') || s.why),
  };
}

/** The latency SLO limits of a step (µs), drawn as lines on the curve. */
export function latencySlos(s: CapacityStep | undefined): PageCapacitySide['slos'] {
  return (s?.slos ?? []).flatMap((slo) => {
    if (slo.limit === null || (slo.unit !== 'us' && slo.unit !== 'ms')) return [];
    if (!/^ingest\.|^probes\./.test(slo.figure)) return [];
    return [{ name: slo.slo, limitUs: slo.unit === 'ms' ? slo.limit * 1000 : slo.limit }];
  });
}

/**
 * The bracket as the trials so far show it: the lowest failing rate and the
 * highest pass below it (the search's own bracket, confirmed, is in the result).
 */
export function runningBracket(trials: readonly PageTrial[]): readonly [number | null, number | null] {
  const fails = trials.filter((t) => t.verdict === 'fail').map((t) => t.rateHz);
  const fail = fails.length > 0 ? Math.min(...fails) : null;
  const passes = trials.filter((t) => t.verdict === 'pass' && (fail === null || t.rateHz < fail)).map((t) => t.rateHz);
  return [passes.length > 0 ? Math.max(...passes) : null, fail];
}

/** A side of the search, finished. */
export function sideOf(r: CapacityResult, side: string, label: string): PageCapacitySide {
  return { side, label: maskSecrets(label), slos: latencySlos(r.steps[0]), bracket: r.bracket, capacityHz: r.capacityHz, headline: maskSecrets(r.headline) };
}

const n0 = (v: number | null): string => (v === null ? '—' : Math.round(v).toLocaleString('en-US'));

/** The finished search's page: one target, or both of a two-target search with the ratio b/a. */
export function capacityPageModel(
  sides: ReadonlyArray<{ readonly side: string; readonly label: string; readonly result: CapacityResult }>,
  ratio: { ratio: number | null; low: number | null; high: number | null } | null = null,
): PageModel {
  const first = sides[0]?.result;
  const id = maskSecrets(first?.capacityId ?? '');
  const title = sides.length > 1 ? `rtbench capacity ${sides.map((s) => `${s.side} (${maskSecrets(s.label)})`).join(' vs ')}` : `rtbench capacity ${id}`;
  const m = emptyModel('capacity', title);
  m.finished = true;
  for (const { side, label, result: r } of sides) {
    m.lines.push(`${side ? `${side}: ` : ''}${maskSecrets(r.headline)}`);
    m.lines.push(`${side ? `${side}: ` : ''}${r.startedAt} → ${r.finishedAt}; target ${r.target.kind} ${maskSecrets(r.target.url)}; scenario ${r.scenario}; ${r.steps.length} trials in ${(r.wallMs / 1000).toFixed(0)} s; SLOs ${r.slos.join(', ')} (and always: valid by the self-check, achieved within 1% of the target, no errors)`);
    m.capacity!.sides.push(sideOf(r, side, label));
    m.capacity!.trials.push(...r.steps.map((s) => trialOf(s, side)));
  }
  if (ratio) {
    m.capacity!.ratio = ratio;
    const f = (v: number | null): string => (v === null ? '?' : `${v.toFixed(2)}×`);
    m.lines.unshift(ratio.ratio === null ? 'capacity b/a: not computable (a side has no capacity)' : `capacity b/a: ${f(ratio.ratio)} [${f(ratio.low)}–${f(ratio.high)}]`);
  }
  m.tablesHtml = sides.map(({ side, result: r }) => htmlTable({
    id: `steps${side ? `-${side}` : ''}`, title: `Steps${side ? ` of ${side}` : ''}: raw rows and misses`,
    head: ['#', 'target rows/s', 'raw rows', 'verdict', 'misses / why'],
    rows: r.steps.map((s) => [String(s.index + 1), n0(s.rateHz), n0(s.rawRows), s.verdict, maskSecrets([...s.misses, ...s.harnessReasons].join('; ') || s.why)]),
  })).join('\n') + sides.map(({ side, result: r }) => `<p>${escapeHtml(`${side ? `${side}: ` : ''}${r.state}`)}</p>`).join('');
  return m;
}
