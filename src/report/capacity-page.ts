/**
 * A capacity search as the page's model: the one place that reads
 * capacity.json's trials (the adapter), so the live page, report.html and the
 * two-target page draw the same trials. Pure.
 */
import type { CapacityResult, CapacityTrial } from '../capacity/result.js';
import { maskSecrets } from '../targets/url.js';
import { escapeHtml, htmlTable } from './html-parts.js';
import { emptyModel, type PageCapacitySide, type PageModel, type PageTrial } from './page-model.js';
import { renumberStep, type PageStepData } from './run-page.js';

/** The panels' SLO figure of a trial (µs): the pooled or worst cell's value, when a panel SLO ran. */
function panelFigure(t: CapacityTrial): number | null {
  return t.slos.find((x) => x.figure.startsWith('probes.') && x.unit === 'us' && x.value !== null)?.value ?? null;
}

/** One trial of capacity.json as a trial of the page. */
export function trialOf(s: CapacityTrial, side: string): PageTrial {
  return {
    side, index: s.index, rateHz: s.rateHz, achievedHz: s.achievedHz, p50Us: s.ingest.p50Us, p99Us: s.ingest.p99Us,
    worstP95Us: panelFigure(s), verdict: s.verdict,
    why: maskSecrets(s.verdict === 'pass' ? s.why : [...s.misses, ...s.harnessReasons, ...s.undecided].join('; ') || s.why),
  };
}

/** The latency SLO limits of a trial (µs), drawn as lines on the curve. */
export function latencySlos(s: CapacityTrial | undefined): PageCapacitySide['slos'] {
  return (s?.slos ?? []).flatMap((slo) => {
    if (slo.limit === null || (slo.unit !== 'us' && slo.unit !== 'ms')) return [];
    if (!/^ingest\.|^probes\./.test(slo.figure)) return [];
    return [{ name: slo.slo, limitUs: slo.unit === 'ms' ? slo.limit * 1000 : slo.limit }];
  });
}

/** A side of the search, finished. */
export function sideOf(r: CapacityResult, side: string, label: string): PageCapacitySide {
  return { side, label: maskSecrets(label), slos: latencySlos(r.trials[0]), bracket: r.bracket, capacityHz: r.capacityHz, headline: maskSecrets(r.headline) };
}

const n0 = (v: number | null): string => (v === null ? '—' : Math.round(v).toLocaleString('en-US'));

/**
 * The finished search's page: one target, or both of a two-target search with the ratio b/a. With each
 * side's trials as step data (`steps`, the trials this process ran), the time charts show the whole search,
 * trial after trial.
 */
export function capacityPageModel(
  sides: ReadonlyArray<{ readonly side: string; readonly label: string; readonly result: CapacityResult; readonly steps?: readonly PageStepData[] }>,
  ratio: { ratio: number | null; low: number | null; high: number | null; kind?: 'value' | 'at-least' | 'at-most' | 'none' } | null = null,
): PageModel {
  const first = sides[0]?.result;
  const id = maskSecrets(first?.capacityId ?? '');
  const title = sides.length > 1 ? `rtbench capacity ${sides.map((s) => `${s.side} (${maskSecrets(s.label)})`).join(' vs ')}` : `rtbench capacity ${id}`;
  const m = emptyModel('capacity', title);
  m.finished = true;
  for (const { side, label, result: r } of sides) {
    m.lines.push(`${side ? `${side}: ` : ''}${maskSecrets(r.headline)}`);
    m.lines.push(`${side ? `${side}: ` : ''}${r.startedAt} → ${r.finishedAt}; target ${r.target.kind} ${maskSecrets(r.target.url)}; scenario ${r.scenario}; ${r.trials.length} trials in ${(r.wallMs / 1000).toFixed(0)} s; SLOs ${r.slos.join(', ')} (and always: valid by the self-check, achieved within 1% of the target, no errors)`);
    m.capacity!.sides.push(sideOf(r, side, label));
    m.capacity!.trials.push(...r.trials.map((s) => trialOf(s, side)));
    for (const d of sides.find((x) => x.side === side)?.steps ?? []) {
      const n = renumberStep(d, m.steps.length, side);
      m.steps.push(n.step);
      m.intervals.push(...n.intervals);
      m.outages.push(...n.outages);
      m.server.push(...n.server);
      m.freshness.push(...n.freshness);
      if (n.panels.length > 0) m.panels = { step: n.step.index, cells: n.panels };
    }
  }
  if (ratio) {
    m.capacity!.ratio = ratio;
    const f = (v: number | null): string => (v === null ? '?' : `${v.toFixed(2)}×`);
    m.lines.unshift(ratio.ratio !== null ? `capacity b/a: ${f(ratio.ratio)} [${f(ratio.low)}–${f(ratio.high)}]`
      : ratio.kind === 'at-least' ? `capacity b/a: ≥ ${f(ratio.low)} (a bound: one side is a lower bound)`
        : ratio.kind === 'at-most' ? `capacity b/a: ≤ ${f(ratio.high)} (a bound: one side is a lower bound)`
          : 'capacity b/a: not computable (a side has no capacity)');
  }
  m.tablesHtml = sides.map(({ side, result: r }) => htmlTable({
    id: `trials${side ? `-${side}` : ''}`, title: `Trials${side ? ` of ${side}` : ''}: length, tests, what disturbed them`,
    head: ['#', 'offered rows/s', 'trial', 'verdict', 'misses / undecided / why', 'disturbed', 'raw rows'],
    rows: r.trials.map((s) => [String(s.index + 1), n0(s.rateHz), `${s.phase} ${(s.measuredMs / 1000).toFixed(1)} s`, s.verdict,
      maskSecrets([...s.misses, ...s.harnessReasons, ...s.undecided].join('; ') || s.why), s.disturbed.join(', ') || '—', n0(s.rawRows)]),
  })).join('\n') + sides.map(({ side, result: r }) => `<p>${escapeHtml(`${side ? `${side}: ` : ''}${r.state}`)}</p>`).join('');
  return m;
}
