/**
 * report.html of a capacity search: the latency-vs-throughput curve (ingest
 * p50/p99 and the panels' SLO figure against the offered rate, in rate
 * order), the SLO lines, the capacity bracket shaded, and the trials table. Pure; one
 * self-contained file (no script, nothing fetched).
 */
import type { CapacityResult } from '../capacity/result.js';
import { lineChartSvg, type LineSeries } from './charts.js';
import { escapeHtml, htmlTable, pageHead } from './html.js';
import { maskSecrets } from '../targets/url.js';

const n0 = (v: number | null): string => (v === null ? '—' : Math.round(v).toLocaleString('en-US'));
const ms = (us: number | null): string => (us === null ? '—' : `${(us / 1000).toFixed(2)} ms`);

/** The curve as an SVG string. */
export function capacityCurveSvg(r: CapacityResult): string {
  const byX = [...r.trials].sort((a, b) => a.rateHz - b.rateHz || a.index - b.index);
  const pts = (f: (s: (typeof byX)[number]) => number | null): Array<readonly [number, number | null]> =>
    byX.map((s) => [s.rateHz, (() => { const v = f(s); return v === null ? null : v / 1000; })()] as const);
  const panel = (s: (typeof byX)[number]): number | null => s.slos.find((x) => x.figure.startsWith('probes.') && x.unit === 'us')?.value ?? null;
  const series: LineSeries[] = [
    { name: 'ingest response p50', points: pts((s) => s.ingest.p50Us) },
    { name: 'ingest response p99', points: pts((s) => s.ingest.p99Us) },
  ];
  if (byX.some((s) => panel(s) !== null)) series.push({ name: 'panels (the SLO figure)', points: pts(panel) });
  const xs = byX.map((s) => s.rateHz);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  // SLO lines: the latency SLOs drawn flat across the curve (limits in ms).
  for (const step of r.trials.slice(0, 1)) {
    for (const slo of step.slos) {
      if (slo.limit === null || (slo.unit !== 'us' && slo.unit !== 'ms')) continue;
      if (!/^ingest\.|^probes\./.test(slo.figure)) continue;
      const limitMs = slo.unit === 'us' ? slo.limit / 1000 : slo.limit;
      series.push({ name: `SLO ${slo.slo}`, points: [[x0, limitMs], [x1, limitMs]], dashed: true });
    }
  }
  const [p, f] = r.bracket;
  const bands = p !== null && f !== null ? [{ from: p, to: f, label: 'capacity bracket' }] : [];
  return lineChartSvg({
    title: 'Latency vs achieved throughput',
    series,
    x: { label: 'offered rows/s', domain: [x0, Math.max(x1, f ?? x1)] },
    y: { label: 'ms', scale: 'log' },
    bands,
    markers: true,
  });
}

export function capacityHtml(r: CapacityResult): string {
  const title = `rtbench capacity ${maskSecrets(r.capacityId)}`;
  const rows = r.trials.map((s) => [
    String(s.index + 1), n0(s.rateHz), n0(s.achievedHz), `${s.phase} ${(s.measuredMs / 1000).toFixed(1)} s`, ms(s.ingest.p50Us), ms(s.ingest.p99Us),
    s.verdict === 'pass' ? { text: 'pass', tone: 'good' as const } : s.verdict === 'fail' ? { text: 'fail', tone: 'bad' as const } : { text: s.verdict, tone: 'warn' as const },
    maskSecrets([...s.misses, ...s.harnessReasons, ...s.undecided].join('; ') || s.why), s.disturbed.join(', '),
  ]);
  const table = htmlTable({
    id: 'trials', title: 'Trials',
    head: ['#', 'offered rows/s', 'achieved', 'trial', 'ingest p50', 'ingest p99', 'verdict', 'misses / undecided / why', 'disturbed'], rows,
  });
  let svg: string;
  try {
    svg = capacityCurveSvg(r);
  } catch (err) {
    svg = `<p>chart not drawn: ${escapeHtml(err instanceof Error ? err.message : String(err))}</p>`;
  }
  return `${pageHead(title)}
<header>
<h1>${escapeHtml(title)}</h1>
<div><strong>${escapeHtml(maskSecrets(r.headline))}</strong></div>
<div>${escapeHtml(`${r.startedAt} → ${r.finishedAt}; target ${r.target.kind} ${maskSecrets(r.target.url)}; scenario ${r.scenario}; ${r.trials.length} trials in ${(r.wallMs / 1000).toFixed(0)} s`)}</div>
<div>SLOs: ${r.slos.map((s) => `<code>${escapeHtml(s)}</code>`).join(', ')} (and always: valid by the self-check, achieved within 1% of the target, no errors)</div>
</header>
<h2>Curve</h2>
<div class="charts"><figure id="c-capacity">${svg}<figcaption>${escapeHtml('Each point is one trial at its offered rate; dashed lines are the latency SLOs; the shaded band is the capacity bracket [pass, fail].')}</figcaption></figure></div>
<h2>Trials</h2>
<div class="tables">${table}</div>
<p>${escapeHtml(r.state)}</p>
</body>
</html>
`;
}
