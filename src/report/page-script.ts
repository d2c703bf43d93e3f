/**
 * The page's own code: the functions below run in the browser (embedded into
 * the page by their source text, page.ts) and in Node (unit tests). They take
 * a PageModel and give chart specs, tables and status lines; `pageMain` alone
 * touches the DOM and uPlot. So every function here is self-contained: it
 * refers to no import and to no module-level name except the other functions
 * listed in PAGE_FUNCTIONS (page.ts), which the page defines under the same
 * names.
 */
import type { PageChart, PageEvent, PageModel, PageSeries } from './page-model.js';

/** Apply one streamed event to the model (mutates it; returns the model to use from now on). */
export function applyEvent(model: PageModel, ev: PageEvent): PageModel {
  switch (ev.type) {
    case 'final':
      return ev.model;
    case 'step':
      model.steps = model.steps.filter((s) => !(s.index === ev.step.index && s.side === ev.step.side));
      model.steps.push(ev.step);
      return model;
    case 'phase':
      model.phase = { name: ev.name, step: ev.step, atS: ev.atS };
      return model;
    case 'interval':
      model.intervals.push(ev.row);
      return model;
    case 'side': {
      const cap = model.capacity ?? (model.capacity = { sides: [], trials: [], ratio: null });
      cap.sides = cap.sides.filter((s) => s.side !== ev.side.side);
      cap.sides.push(ev.side);
      return model;
    }
    case 'trial': {
      const cap = model.capacity ?? (model.capacity = { sides: [], trials: [], ratio: null });
      cap.trials.push(ev.trial);
      return model;
    }
    case 'progress':
      model.progress = ev.end ? null : { phase: ev.phase, done: ev.done, total: ev.total, unit: ev.unit, etaMs: ev.etaMs };
      return model;
    case 'notice':
      model.notices.push(ev.text);
      if (model.notices.length > 50) model.notices.shift();
      return model;
    default:
      return model;
  }
}

/** A value in its unit, for axes and legends. */
export function formatValue(unit: string, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const num = (x: number): string => {
    const a = Math.abs(x);
    const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
    return x.toLocaleString('en-US', { maximumFractionDigits: digits });
  };
  switch (unit) {
    case 'us':
      return v >= 1e6 ? `${num(v / 1e6)} s` : v >= 1000 ? `${num(v / 1000)} ms` : `${num(v)} µs`;
    case 's':
      return `${num(v)} s`;
    case 'rows/s':
      return `${num(v)} rows/s`;
    case 'MB/s':
      return `${num(v)} MB/s`;
    case 'pct-x': {
      const k = Math.log10(v);
      return k <= 0 ? '0%' : `${(100 * (1 - 10 ** -k)).toFixed(Math.max(0, Math.round(k) - 2))}%`;
    }
    default:
      return num(v);
  }
}

/** Escape text for HTML. */
export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The step the time charts show: the last one that has intervals (a run has one). */
export function currentStep(model: PageModel): number | null {
  const last = model.intervals[model.intervals.length - 1];
  return last ? last.step : model.steps.length > 0 ? model.steps[model.steps.length - 1]!.index : null;
}

/**
 * The time charts of the current step, from its intervals: achieved vs target
 * rate, percentiles over time, late/dropped/errors. Warm-up and outages are
 * shaded on every one. The short last interval of a step (cut at the schedule's
 * end) is left out, as a handful of operations would show a false rate.
 */
export function timeCharts(model: PageModel): PageChart[] {
  const step = currentStep(model);
  if (step === null) return [];
  let rows = model.intervals.filter((r) => r.step === step);
  if (rows.length === 0) return [];
  if (model.finished && rows.length > 2) {
    const lengths = rows.map((r, i) => r.t - (i > 0 ? rows[i - 1]!.t : 0)).sort((a, b) => a - b);
    const median = lengths[Math.floor(lengths.length / 2)] ?? 0;
    rows = rows.filter((r, i) => r.t - (i > 0 ? rows[i - 1]!.t : 0) >= median / 5);
  }
  const xs = rows.map((r) => r.t);
  const bands: Array<{ from: number; to: number; label: string; kind: 'warmup' | 'outage' | 'bracket' }> = [];
  const warm = rows.filter((r) => r.warmup);
  if (warm.length > 0) bands.push({ from: 0, to: warm[warm.length - 1]!.t, label: 'warm-up', kind: 'warmup' });
  for (const o of model.outages) if (o.step === step) bands.push({ from: o.startS, to: o.endS, label: `outage: ${o.causes.join(', ')}`, kind: 'outage' });
  // Intervals marked as in an outage, when the run has no outage list.
  if (!model.outages.some((o) => o.step === step)) {
    rows.forEach((r, i) => {
      if (r.outage) bands.push({ from: i > 0 ? rows[i - 1]!.t : r.t - 1, to: r.t, label: 'outage', kind: 'outage' });
    });
  }
  const lat = (f: (r: (typeof rows)[number]) => number): Array<number | null> => rows.map((r) => (r.ops > 0 && f(r) > 0 ? f(r) : null));
  const info = model.steps.find((s) => s.index === step);
  const suffix = model.kind === 'capacity' && info ? ` — trial ${step + 1}${info.side ? ` (${info.side})` : ''} at ${formatValue('rows/s', info.rateHz)}` : '';
  const rate: PageSeries[] = [{ name: 'achieved rows/s', values: rows.map((r) => r.achievedHz) }];
  if (rows.some((r) => r.targetHz !== null)) rate.push({ name: 'target rows/s', values: rows.map((r) => r.targetHz), dashed: true, color: '#555' });
  return [
    {
      id: 'rate', title: `Achieved vs target rate${suffix}`, time: true,
      caption: 'Rows acknowledged per second in each interval, at the interval end; shaded: the warm-up (grey) and outages (red).',
      x: { label: 'time since start, s', unit: 's' }, y: { label: 'rows/s', unit: 'rows/s' }, xs, series: rate, bands,
    },
    {
      id: 'latency-over-time', title: `Response, service and lag percentiles over time${suffix}`, time: true,
      caption: 'Per-interval percentiles from the merged interval histograms (log scale; intervals without operations are gaps).',
      x: { label: 'time since start, s', unit: 's' }, y: { label: 'latency', unit: 'us', log: true }, xs, bands,
      series: [
        { name: 'response p50', values: lat((r) => r.p50Us) },
        { name: 'response p99', values: lat((r) => r.p99Us) },
        { name: 'service p99', values: lat((r) => r.serviceP99Us), dashed: true },
        { name: 'lag p99', values: lat((r) => r.lagP99Us) },
      ],
    },
    {
      id: 'problems-over-time', title: `Late, dropped and failed operations over time${suffix}`, time: true,
      caption: 'Operations started later than the lateness threshold, dropped by the schedule, or answered with an error, per interval.',
      x: { label: 'time since start, s', unit: 's' }, y: { label: 'operations per interval', unit: 'n' }, xs, bands,
      series: [
        { name: 'late', values: rows.map((r) => r.late) },
        { name: 'dropped', values: rows.map((r) => r.dropped) },
        { name: 'errors', values: rows.map((r) => r.errors), color: '#c62828' },
      ],
    },
  ];
}

/**
 * The latency-vs-throughput curve of a capacity search: x is the offered
 * rate, points in rate order (never in run order, so repeats and bisection do
 * not zigzag); failed trials marked; the achieved rate against the right-hand
 * axis; the SLO limits as lines and each target's bracket shaded. Both targets
 * of a two-target search on one chart.
 */
export function capacityCharts(model: PageModel): PageChart[] {
  const cap = model.capacity;
  if (!cap || cap.trials.length === 0) return [];
  const xs = [...new Set(cap.trials.map((t) => t.rateHz))].sort((a, b) => a - b);
  const sides = [...new Set(cap.trials.map((t) => t.side))].sort();
  const two = sides.length > 1;
  const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];
  const series: PageSeries[] = [];
  sides.forEach((side, si) => {
    const trials = cap.trials.filter((t) => t.side === side);
    // Repeats at one rate: the last trial there is the one the search kept.
    const at = (x: number): (typeof trials)[number] | undefined => trials.filter((t) => t.rateHz === x).pop();
    const pos = (v: number | null | undefined): number | null => (v === null || v === undefined || v <= 0 ? null : v);
    const tag = two ? `${side}: ` : '';
    const c = (k: number): string => palette[(si * 3 + k) % palette.length]!;
    series.push({ name: `${tag}ingest p50`, values: xs.map((x) => pos(at(x)?.p50Us)), color: c(0), dashed: true });
    series.push({ name: `${tag}ingest p99`, values: xs.map((x) => pos(at(x)?.p99Us)), color: c(1) });
    if (trials.some((t) => t.worstP95Us !== null)) series.push({ name: `${tag}worst panel p95`, values: xs.map((x) => pos(at(x)?.worstP95Us)), color: c(2) });
    series.push({ name: `${tag}failed trial (p99)`, values: xs.map((x) => (at(x) && at(x)!.verdict !== 'pass' ? pos(at(x)!.p99Us) : null)), color: '#c62828', pointsOnly: true, big: true });
    series.push({ name: `${tag}achieved rows/s`, values: xs.map((x) => at(x)?.achievedHz ?? null), color: c(0), pointsOnly: true, right: true });
  });
  const bands = cap.sides.flatMap((s) => {
    const [p, f] = s.bracket;
    return p !== null && f !== null ? [{ from: p, to: f, label: `${two ? `${s.side}: ` : ''}capacity bracket`, kind: 'bracket' as const }] : [];
  });
  const seen = new Set<string>();
  const hlines = cap.sides.flatMap((s) => s.slos).filter((l) => (seen.has(l.name) ? false : (seen.add(l.name), true))).map((l) => ({ value: l.limitUs, label: `SLO ${l.name}` }));
  const r = cap.ratio;
  const ratio = r && r.ratio !== null ? ` — capacity b/a ${r.ratio.toFixed(2)}× [${r.low === null ? '?' : r.low.toFixed(2)}–${r.high === null ? '?' : r.high.toFixed(2)}]` : '';
  return [{
    id: 'capacity', title: `Latency vs offered rate${ratio}`,
    caption: 'One point per offered rate, in rate order (the last trial at a rate is shown); red: failed trials; the achieved rate against the right-hand axis; dashed lines: latency SLOs; shaded: the capacity bracket [pass, fail].',
    x: { label: 'offered rows/s', unit: 'rows/s' }, y: { label: 'latency', unit: 'us', log: true }, y2: { label: 'achieved rows/s', unit: 'rows/s' },
    xs, series, bands, hlines,
  }];
}

/** The trials table of a capacity search, as HTML (grows as trials end). */
export function trialsTableHtml(model: PageModel): string {
  const cap = model.capacity;
  if (!cap || cap.trials.length === 0) return '';
  const two = new Set(cap.trials.map((t) => t.side)).size > 1;
  const head = [...(two ? ['target'] : []), '#', 'offered rows/s', 'achieved', 'ingest p50', 'ingest p99', 'worst panel p95', 'verdict', 'why'];
  const rows = cap.trials.map((t) => {
    const tone = t.verdict === 'pass' ? 'good' : t.verdict === 'fail' ? 'bad' : 'warn';
    const cells = [...(two ? [t.side] : []), String(t.index + 1), formatValue('n', t.rateHz), formatValue('n', t.achievedHz), formatValue('us', t.p50Us), formatValue('us', t.p99Us),
      t.worstP95Us === null ? '—' : formatValue('us', t.worstP95Us)];
    return `<tr>${cells.map((c) => `<td>${escapeText(c)}</td>`).join('')}<td class="${tone}">${escapeText(t.verdict)}</td><td>${escapeText(t.why)}</td></tr>`;
  });
  const brackets = cap.sides.map((s) => `<p>${escapeText(`${s.side ? `${s.side} (${s.label}): ` : ''}${s.headline}`)}</p>`).join('');
  return `<section class="table wide" id="t-trials"><h3>Trials</h3>${brackets}<table><thead><tr>${head.map((h) => `<th>${escapeText(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

/** The live status: phase, step and time left (seconds, from the last interval). */
export function statusLine(model: PageModel): string {
  if (model.finished) return 'finished';
  const step = currentStep(model);
  const info = model.steps.find((s) => s.index === step);
  const last = model.intervals.filter((r) => r.step === step).pop();
  const parts: string[] = [];
  const p = model.progress;
  if (p) parts.push(`${p.phase}: ${formatValue('n', p.done)}${p.total === null ? '' : ` of ${formatValue('n', p.total)}`} ${p.unit}${p.etaMs === null ? '' : `, about ${Math.round(p.etaMs / 1000)} s left`}`);
  if (model.kind === 'capacity' && info) parts.push(`trial ${info.index + 1}${info.side ? ` (${info.side})` : ''} at ${formatValue('rows/s', info.rateHz)}`);
  if (model.phase) parts.push(`phase: ${model.phase.name}`);
  if (info && last) {
    const left = Math.max(0, info.warmupS + info.durationS - last.t);
    parts.push(`${Math.round(left)} s left in this ${model.kind === 'capacity' ? 'trial' : 'run'}`);
  }
  if (model.notices.length > 0) parts.push(model.notices[model.notices.length - 1]!);
  return parts.length > 0 ? parts.join(' · ') : 'waiting for the first interval';
}

/**
 * Draw the page: every chart with uPlot (created once, then fed new data),
 * the tables and the status; with `eventsUrl`, apply the server's events as
 * they come (a late browser gets the history first). Browser only.
 */
export function pageMain(uPlotCtor: unknown, initial: PageModel, eventsUrl: string | null): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const w = globalThis as any;
  const doc = w.document;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const U = uPlotCtor as any;
  let model = initial;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const charts = new Map<string, { plot: any; key: string; fig: any }>();
  const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#7a5195', '#000000'];
  w.__rtbench = { charts, get model() { return model; }, events: 0 };

  const chartKey = (c: PageChart): string => JSON.stringify([c.title, c.series.map((s) => s.name), c.x, c.y, c.y2 ?? null]);
  const dataOf = (c: PageChart): Array<Array<number | null>> => {
    const logOk = (v: number | null): number | null => (v === null || v <= 0 ? null : v);
    return [c.xs.slice(), ...c.series.map((s) => (s.right ? s.values.slice() : c.y.log ? s.values.map(logOk) : s.values.slice()))];
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const optionsOf = (c: PageChart, width: number): any => {
    const cats = c.x.categories;
    // Ticks of seconds and rates are bare numbers (the axis label names the unit); latencies keep theirs (µs, ms, s).
    const axisFmt = (unit: string) => (_u: unknown, vals: number[]) => vals.map((v) => (cats ? cats[Math.round(v)] ?? '' : formatValue(unit === 'us' || unit === 'pct-x' ? unit : 'n', v)));
    const nBars = c.series.filter((s) => s.bars).length;
    let barIndex = 0;
    return {
      width, height: 280,
      cursor: c.time ? { sync: { key: 'time' } } : {},
      scales: {
        x: cats ? { time: false, range: [-0.5, cats.length - 0.5] } : { time: false, distr: c.x.log ? 3 : 1 },
        y: { distr: c.y.log ? 3 : 1, ...(c.y.log ? {} : { range: (_u: unknown, _min: number, max: number) => [0, max > 0 ? max * 1.05 : 1] }) },
        ...(c.y2 ? { y2: { range: (_u: unknown, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] } } : {}),
      },
      axes: [
        // At most about 20 category labels: every k-th (and the last).
        { label: c.x.label, values: axisFmt(c.x.unit), ...(cats ? { splits: () => cats.map((_, i) => i).filter((i) => i % Math.max(1, Math.ceil(cats.length / 20)) === 0 || i === cats.length - 1) } : {}) },
        { label: c.y.label, values: axisFmt(c.y.unit), size: 70 },
        ...(c.y2 ? [{ scale: 'y2', side: 1, label: c.y2.label, values: axisFmt(c.y2.unit), grid: { show: false }, size: 70 }] : []),
      ],
      series: [
        { label: c.x.label, value: (_u: unknown, v: number | null) => (cats ? (v === null ? '—' : cats[Math.round(v)] ?? '') : formatValue(c.x.unit, v)) },
        ...c.series.map((s, i) => {
          const color = s.color ?? palette[i % palette.length];
          const unit = s.right && c.y2 ? c.y2.unit : c.y.unit;
          const base = { label: s.name, stroke: color, width: 2, spanGaps: false, scale: s.right ? 'y2' : 'y', value: (_u: unknown, v: number | null) => formatValue(unit, v) };
          if (s.bars) {
            const align = nBars <= 1 ? 0 : barIndex++ === 0 ? -1 : 1;
            return { ...base, fill: color, paths: U.paths.bars({ size: [0.35, 80], align }), points: { show: false } };
          }
          if (s.pointsOnly) return { ...base, paths: () => null, points: { show: true, size: s.big ? 12 : 7, fill: color, stroke: color } };
          return { ...base, dash: s.dashed ? [6, 4] : undefined, points: { show: c.xs.length <= 40 } };
        }),
      ],
      bands: (c.fills ?? []).flatMap((f) => {
        const hi = c.series.findIndex((x) => x.name === f.upper);
        const lo = c.series.findIndex((x) => x.name === f.lower);
        return hi < 0 || lo < 0 ? [] : [{ series: [hi + 1, lo + 1], fill: f.color }];
      }),
      hooks: {
        draw: [(u: any) => {
          const ctx = u.ctx;
          const { left, top, width: bw, height: bh } = u.bbox;
          ctx.save();
          for (const b of c.bands ?? []) {
            const x0 = Math.max(left, u.valToPos(b.from, 'x', true));
            const x1 = Math.min(left + bw, u.valToPos(b.to, 'x', true));
            if (!(x1 > x0)) continue;
            ctx.fillStyle = b.kind === 'outage' ? 'rgba(198,40,40,0.18)' : b.kind === 'bracket' ? 'rgba(26,127,55,0.14)' : 'rgba(0,0,0,0.06)';
            ctx.fillRect(x0, top, x1 - x0, bh);
            ctx.fillStyle = '#444';
            ctx.font = `${Math.round(11 * devicePixelRatioOf(w))}px sans-serif`;
            ctx.fillText(b.label, x0 + 4, top + 14 * devicePixelRatioOf(w));
          }
          for (const h of c.hlines ?? []) {
            const y = u.valToPos(h.value, 'y', true);
            if (!(y >= top && y <= top + bh)) continue;
            ctx.strokeStyle = '#c62828';
            ctx.setLineDash([8, 5]);
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + bw, y);
            ctx.stroke();
            ctx.fillStyle = '#c62828';
            ctx.fillText(h.label, left + bw - ctx.measureText(h.label).width - 4, y - 4);
          }
          ctx.restore();
        }],
      },
    };
    function devicePixelRatioOf(win: { devicePixelRatio?: number }): number {
      return win.devicePixelRatio ?? 1;
    }
  };

  const render = (): void => {
    doc.getElementById('title').textContent = model.title;
    doc.getElementById('lines').innerHTML = model.lines.map((l) => `<div>${escapeText(l)}</div>`).join('');
    const verdict = doc.getElementById('verdict');
    verdict.innerHTML = model.verdict
      ? `<span class="verdict ${model.verdict.valid ? 'valid' : 'invalid'}">${model.verdict.valid ? 'VALID' : 'INVALID'}</span>` +
        (model.verdict.reasons.length > 0 ? `<ul class="reasons">${model.verdict.reasons.map((r) => `<li>${escapeText(r)}</li>`).join('')}</ul>` : '')
      : '';
    doc.getElementById('status').textContent = eventsUrl ? statusLine(model) : '';
    const specs = [...capacityCharts(model), ...timeCharts(model), ...model.charts];
    const box = doc.getElementById('charts');
    const wanted = new Set(specs.map((c) => c.id));
    for (const [id, entry] of charts) {
      if (!wanted.has(id)) {
        entry.plot.destroy();
        entry.fig.remove();
        charts.delete(id);
      }
    }
    for (const c of specs) {
      const key = chartKey(c);
      const have = charts.get(c.id);
      if (have && have.key === key) {
        have.plot.setData(dataOf(c));
        continue;
      }
      if (have) {
        have.plot.destroy();
        have.fig.remove();
      }
      const fig = doc.createElement('figure');
      fig.id = `c-${c.id}`;
      const h3 = doc.createElement('h3');
      h3.textContent = c.title;
      fig.appendChild(h3);
      const holder = doc.createElement('div');
      fig.appendChild(holder);
      const cap = doc.createElement('figcaption');
      cap.textContent = c.caption;
      fig.appendChild(cap);
      box.appendChild(fig);
      const width = Math.max(320, (fig.clientWidth || 700) - 20);
      const plot = new U(optionsOf(c, width), dataOf(c), holder);
      charts.set(c.id, { plot, key, fig });
    }
    // Keep the figures in spec order.
    for (const c of specs) box.appendChild(charts.get(c.id)!.fig);
    doc.getElementById('trials').innerHTML = trialsTableHtml(model);
    const tables = doc.getElementById('tables');
    if (tables.dataset.html !== model.tablesHtml) {
      tables.innerHTML = model.tablesHtml;
      tables.dataset.html = model.tablesHtml;
    }
    const cfg = doc.getElementById('config');
    cfg.hidden = model.configText === '';
    doc.getElementById('config-text').textContent = model.configText;
  };

  let pending = false;
  const schedule = (): void => {
    if (pending) return;
    pending = true;
    w.setTimeout(() => {
      pending = false;
      render();
    }, 100);
  };
  render();
  w.addEventListener('resize', () => {
    for (const { plot, fig } of charts.values()) plot.setSize({ width: Math.max(320, fig.clientWidth - 20), height: 280 });
  });
  if (eventsUrl) {
    const es = new w.EventSource(eventsUrl);
    es.onmessage = (e: { data: string }) => {
      const ev = JSON.parse(e.data) as PageEvent;
      w.__rtbench.events++;
      model = applyEvent(model, ev);
      if (ev.type === 'final') es.close();
      schedule();
    };
    es.onerror = () => {
      if (!model.finished) doc.getElementById('status').textContent = `${statusLine(model)} · connection lost, retrying`;
    };
  }
}
