/**
 * The page's own code: the functions below run in the browser (embedded into
 * the page by their source text, page.ts) and in Node (unit tests). They take
 * a PageModel and give chart specs, tables and status lines; `pageMain` alone
 * touches the DOM and uPlot. So every function here is self-contained: it
 * refers to no import and to no module-level name except the other functions
 * listed in PAGE_FUNCTIONS (page.ts), which the page defines under the same
 * names.
 */
import type { PageBand, PageChart, PageEvent, PageInterval, PageMark, PageModel, PageSeries, PageServerSecond } from './page-model.js';
import { thinModel } from './thin.js';

/** Apply one streamed event to the model (mutates it; returns the model to use from now on). */
export function applyEvent(model: PageModel, ev: PageEvent): PageModel {
  switch (ev.type) {
    case 'history':
    case 'final': {
      // A model from an older report lacks the newer lists.
      const m = ev.model;
      m.server ??= [];
      m.freshness ??= [];
      m.panels ??= null;
      m.outages ??= [];
      return m;
    }
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
    case 'server':
      model.server.push(ev.row);
      return model;
    case 'panels':
      model.panels = { step: ev.step, cells: ev.cells };
      return model;
    case 'freshness':
      // The oldest-unseen line is live only: a newer reading of the same step replaces nothing, it adds a point.
      model.freshness.push(...ev.points);
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

/** The shared time axis of the time charts (see `timeline`). */
export interface Timeline {
  /** Step index → seconds added to its intervals' t. */
  readonly offsets: Map<number, number>;
  readonly bands: PageBand[];
  readonly marks: PageMark[];
  /** The seconds every time chart spans. */
  readonly range: [number, number];
  readonly label: string;
}

/**
 * Where each shown step sits on the time axis: a run shows its one step from
 * its origin; a capacity search and a comparison show every step end to end
 * (each trial after the one before, by its own length), so the whole search is
 * one timeline. Bands name each step, warm-ups and outages are shaded, and the
 * intervals with failed operations are marked: on every time chart alike.
 */
export function timeline(model: PageModel): Timeline {
  const all = model.kind === 'capacity' || model.kind === 'compare';
  const cur = currentStep(model);
  const ids = all ? [...new Set([...model.steps.map((s) => s.index), ...model.intervals.map((r) => r.step)])].sort((a, b) => a - b) : cur === null ? [] : [cur];
  const offsets = new Map<number, number>();
  const bands: PageBand[] = [];
  const marks: PageMark[] = [];
  let at = 0;
  for (const step of ids) {
    const rows = model.intervals.filter((r) => r.step === step);
    const info = model.steps.find((s) => s.index === step);
    offsets.set(step, at);
    const end = rows.length > 0 ? rows[rows.length - 1]!.t : 0;
    if (all && rows.length > 0) {
      const what = model.kind === 'capacity' ? `trial ${(info?.trial ?? step) + 1}${info?.side ? ` (${info.side})` : ''}${info && info.rateHz !== null ? ` ${formatValue('n', info.rateHz)}/s` : ''}` : info?.side || `run ${step + 1}`;
      bands.push({ from: at, to: at + end, label: what, kind: 'step' });
    }
    const warm = rows.filter((r) => r.warmup);
    if (warm.length > 0) bands.push({ from: at, to: at + warm[warm.length - 1]!.t, label: 'warm-up', kind: 'warmup' });
    const listed = model.outages.filter((o) => o.step === step);
    const spans: Array<{ startS: number; endS: number; causes: readonly string[] }> = listed.map((o) => ({ startS: o.startS, endS: o.endS, causes: o.causes }));
    if (listed.length === 0) {
      // Live (or a run without a summary yet): the outages the intervals carry, each once, open ones to the last interval.
      const byStart = new Map<number, { startS: number; endS: number; causes: readonly string[] }>();
      for (const r of rows) for (const o of r.outages ?? []) byStart.set(o.startS, { startS: o.startS, endS: o.endS ?? r.t, causes: o.causes });
      spans.push(...byStart.values());
      if (byStart.size === 0) rows.forEach((r, i) => {
        if ((r.unavailableMs ?? 0) > 0) spans.push({ startS: (i > 0 ? rows[i - 1]!.t : r.t - 1), endS: r.t, causes: [] });
      });
    }
    for (const o of spans) bands.push({ from: at + o.startS, to: at + Math.max(o.endS, o.startS + 0.05), label: `outage${o.causes.length > 0 ? `: ${o.causes.map((c) => c.split(' ')[0]).join(', ')}` : ''}`, kind: 'outage' });
    for (const r of rows) {
      if (r.errors > 0) {
        const by = Object.entries(r.errorsBySqlstate ?? {}).map(([k, v]) => `${k}×${v}`).join(', ');
        marks.push({ x: at + r.t, label: `${r.errors} failed${by ? ` (${by})` : ''}` });
      }
    }
    // A trial decided early ends before its plan: the next one starts where it really ended.
    at += Math.max(1, rows.length > 0 ? end : info ? info.warmupS + info.durationS : 0) + (all ? 1 : 0);
  }
  let last = 0;
  for (const p of [...model.intervals, ...model.server, ...model.freshness]) if (offsets.has(p.step)) last = Math.max(last, p.t + (offsets.get(p.step) ?? 0));
  const range: [number, number] = [0, Math.max(1, last)];
  return { offsets, bands, marks, range, label: all ? (model.kind === 'capacity' ? 'search time (trials end to end), s' : 'time (runs end to end), s') : 'time since start, s' };
}

/**
 * Items of several steps in time order with a gap (null, at the next step's
 * start) between steps, so no line joins one step's end to the next one's
 * start. `x` places an item on the time axis.
 */
export function stepSlots<T extends { readonly step: number; readonly t: number }>(items: readonly T[], tl: Timeline): { slots: Array<T | null>; xs: number[] } {
  const sorted = items.map((r) => ({ r, x: r.t + (tl.offsets.get(r.step) ?? 0) })).sort((p, q) => p.x - q.x);
  const slots: Array<T | null> = [];
  const xs: number[] = [];
  sorted.forEach((p, i) => {
    const prev = sorted[i - 1];
    if (prev && prev.r.step !== p.r.step) {
      slots.push(null);
      xs.push(Math.max(prev.x, Math.min(p.x, tl.offsets.get(p.r.step) ?? p.x)));
    }
    slots.push(p.r);
    xs.push(p.x);
  });
  return { slots, xs };
}

/**
 * The time charts, from the intervals: achieved vs target rate, percentiles
 * over time, late/dropped/errors (by SQLSTATE). The short last interval of a
 * step (cut at the schedule's end) is left out, as a handful of operations
 * would show a false rate.
 */
export function timeCharts(model: PageModel): PageChart[] {
  const tl = timeline(model);
  let rows = model.intervals.filter((r) => tl.offsets.has(r.step));
  if (rows.length === 0) return [];
  if (model.finished) {
    // Per step: drop an interval far shorter than the step's median.
    const keep = new Set<PageInterval>();
    for (const step of tl.offsets.keys()) {
      const own = rows.filter((r) => r.step === step);
      const lengths = own.map((r, i) => r.t - (i > 0 ? own[i - 1]!.t : 0)).sort((a, b) => a - b);
      const median = lengths[Math.floor(lengths.length / 2)] ?? 0;
      own.forEach((r, i) => {
        if (own.length <= 2 || r.t - (i > 0 ? own[i - 1]!.t : 0) >= median / 5) keep.add(r);
      });
    }
    rows = rows.filter((r) => keep.has(r));
  }
  // uPlot wants x in order: by the step's place on the axis, then time; a gap between steps.
  const { slots, xs } = stepSlots(rows, tl);
  const col = <V>(f: (r: PageInterval) => V): Array<V | null> => slots.map((r) => (r === null ? null : f(r)));
  const { bands, marks } = tl;
  const lat = (f: (r: PageInterval) => number): Array<number | null> => col((r) => (r.ops > 0 && f(r) > 0 ? f(r) : null));
  const cur = currentStep(model);
  const info = model.steps.find((s) => s.index === cur);
  const suffix = model.kind === 'capacity' && !model.finished && info ? ` — now: trial ${(info.trial ?? info.index) + 1}${info.side ? ` (${info.side})` : ''} at ${formatValue('rows/s', info.rateHz)}` : '';
  const x = { label: tl.label, unit: 's' as const };
  // A thinned model (a long run): say what one point is.
  const per = model.thinned && model.thinned.intervalS > 0 ? `1 point = ${formatValue('n', model.thinned.intervalS)} s` : '';
  const perNote = per ? ` Thinned: ${per} (rates averaged by time, counts summed, percentiles the worst of the merged intervals; failed intervals and outages all kept).` : '';
  const rate: PageSeries[] = [{ name: 'achieved rows/s', values: col((r) => r.achievedHz) }];
  if (rows.some((r) => r.targetHz !== null)) rate.push({ name: 'target rows/s', values: col((r) => r.targetHz), dashed: true, color: '#555' });
  const states = [...new Set(rows.flatMap((r) => Object.keys(r.errorsBySqlstate ?? {})))].sort();
  const common = { time: true, x, xs, bands, marks, xRange: tl.range };
  return [
    {
      ...common, id: 'rate', title: `Achieved vs target rate${per ? ` (${per}, averaged by time)` : ''}${suffix}`,
      caption: `Rows acknowledged per second in each interval, at the interval end; shaded: warm-ups (grey), outages (red); red ticks under the axis: intervals with failed operations.${perNote}`,
      y: { label: 'rows/s', unit: 'rows/s' }, series: rate,
    },
    {
      ...common, id: 'latency-over-time', title: `Response, service and lag percentiles over time${per ? ` (${per}, the worst p99 of each)` : ''}${suffix}`,
      caption: `Per-interval percentiles from the merged interval histograms (log scale; intervals without operations are gaps).${perNote}`,
      y: { label: 'latency', unit: 'us', log: true },
      series: [
        { name: 'response p50', values: lat((r) => r.p50Us) },
        { name: 'response p99', values: lat((r) => r.p99Us) },
        { name: 'service p99', values: lat((r) => r.serviceP99Us), dashed: true },
        { name: 'lag p99', values: lat((r) => r.lagP99Us) },
      ],
    },
    {
      ...common, id: 'problems-over-time', title: `Late, dropped and failed operations over time${per ? ` (${per}, summed)` : ''}${suffix}`,
      caption: `Operations started later than the lateness threshold, dropped by the schedule, or answered with an error (in all, and by SQLSTATE), per interval; the time the target could not serve, ms.${perNote}`,
      y: { label: 'operations per interval', unit: 'n' }, y2: { label: 'unavailable, ms', unit: 'n' },
      series: [
        { name: 'late', values: col((r) => r.late) },
        { name: 'dropped', values: col((r) => r.dropped) },
        { name: 'errors', values: col((r) => r.errors), color: '#c62828' },
        ...states.map((k): PageSeries => ({ name: `errors ${k}`, values: col((r) => r.errorsBySqlstate?.[k] ?? 0), dashed: true })),
        { name: 'unavailable ms', values: col((r) => r.unavailableMs ?? null), right: true, color: '#7a0000', dashed: true },
      ],
    },
    ...serverTimeCharts(model, tl),
    ...freshnessCharts(model, tl),
  ];
}

/** The server sampler's seconds on the time axis: active sessions by role and wait class, CPU, WAL. */
export function serverTimeCharts(model: PageModel, tl: Timeline): PageChart[] {
  const rows = model.server.filter((r) => tl.offsets.has(r.step));
  if (rows.length === 0) return [];
  const { slots, xs } = stepSlots(rows, tl);
  const col = (f: (r: PageServerSecond) => number | null): Array<number | null> => slots.map((r) => (r === null ? null : f(r)));
  const common = { time: true, x: { label: tl.label, unit: 's' as const }, xs, bands: tl.bands, marks: tl.marks, xRange: tl.range };
  const per = model.thinned && model.thinned.serverS > 0 ? ` (1 point = ${formatValue('n', model.thinned.serverS)} s, the mean)` : '';
  const total = new Map<string, number>();
  for (const r of rows) for (const [k, v] of Object.entries(r.waits)) total.set(k, (total.get(k) ?? 0) + v);
  const shown = [...total.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k]) => k);
  const charts: PageChart[] = [];
  if (shown.length > 0) {
    charts.push({
      ...common, id: 'server-waits', title: `Active sessions by role and wait class${per}`,
      caption: 'Mean active sessions per second in pg_stat_activity samples, by role and wait class (CPU: active, waiting on nothing instrumented); read it under the response-time chart: a Lock line rising with the ingest p99 names the cause.',
      y: { label: 'active sessions', unit: 'sessions' },
      series: shown.map((k) => ({ name: k, values: col((r) => r.waits[k] ?? 0) })),
    });
  }
  if (rows.some((r) => r.serverCores !== null || r.clientCores !== null)) {
    charts.push({
      ...common, id: 'server-cpu', title: `CPU of server and client on this host${per}`,
      caption: 'Cores used per second by the server\'s processes and by the client (its main thread apart), and the share of time runnable tasks waited for a CPU (/proc/pressure/cpu).',
      y: { label: 'cores', unit: 'cores' },
      series: [
        { name: 'server cores', values: col((r) => r.serverCores) },
        { name: 'client cores', values: col((r) => r.clientCores) },
        { name: 'client main thread cores', values: col((r) => r.clientMainCores), dashed: true },
        { name: 'cpu pressure (0..1)', values: col((r) => r.cpuPressure), dashed: true, color: '#a33' },
      ],
    });
  }
  if (rows.some((r) => r.walMBps !== null)) {
    charts.push({
      ...common, id: 'server-wal', title: `WAL written per second${per}`,
      caption: 'The WAL insert position moved per second (the whole server), in MB/s.',
      y: { label: 'MB/s', unit: 'MB/s' },
      series: [{ name: 'WAL MB/s', values: col((r) => r.walMBps) }],
    });
  }
  return charts;
}

/** Freshness on the time axis: each marker when the rollup showed it, the ones it never showed (age at the end, a lower bound) and, live, the oldest one still unseen. */
export function freshnessCharts(model: PageModel, tl: Timeline): PageChart[] {
  const pts = model.freshness.filter((p) => tl.offsets.has(p.step)).map((p) => ({ ...p, x: p.t + (tl.offsets.get(p.step) ?? 0) }));
  if (pts.length === 0) return [];
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  const col = (kind: string): Array<number | null> => {
    const m = new Map<number, number>();
    for (const p of pts) if (p.kind === kind) m.set(p.x, Math.max(m.get(p.x) ?? 0, p.us));
    return xs.map((x) => m.get(x) ?? null);
  };
  const per = model.thinned && model.thinned.freshnessS > 0 ? `; 1 point = ${formatValue('n', model.thinned.freshnessS)} s, the worst of each` : '';
  const seen = pts.filter((p) => p.kind === 'seen').length;
  const censored = pts.filter((p) => p.kind === 'censored').length;
  return [{
    time: true, x: { label: tl.label, unit: 's' }, xs, bands: tl.bands, marks: tl.marks, xRange: tl.range,
    id: 'freshness-over-time', title: `Freshness: commit to visible in the rollup (${per ? 'thinned' : `${seen} markers seen`}${censored > 0 ? `, ${censored} never seen` : ''}${per})`,
    caption: 'Each freshness marker at the time the rollup first counted it (its commit-to-visible time); red: markers never seen by the end of the step, at their age then (a lower bound); live, grey: the age of the oldest marker not seen yet, each second (a rollup that stalls shows as a rising trail).',
    y: { label: 'freshness', unit: 'us', log: true },
    series: [
      { name: 'marker seen', values: col('seen'), pointsOnly: true },
      { name: 'never seen (age at the end)', values: col('censored'), pointsOnly: true, big: true, color: '#c62828' },
      ...(pts.some((p) => p.kind === 'pending') ? [{ name: 'oldest unseen so far', values: col('pending'), color: '#999', pointsOnly: true }] : []),
    ],
  }];
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

/** The dashboard panels × windows so far: response p50 / p95 and n (grows each second live). */
export function panelsTableHtml(model: PageModel): string {
  const p = model.panels;
  if (!p || p.cells.length === 0) return '';
  const windows = [...new Set(p.cells.map((c) => c.window))];
  const probes = [...new Set(p.cells.map((c) => c.probe))];
  const cell = (probe: string, w: string): string => {
    const c = p.cells.find((x) => x.probe === probe && x.window === w);
    return c ? `${formatValue('us', c.p50Us)} / ${formatValue('us', c.p95Us)} (n=${formatValue('n', c.n)})` : '—';
  };
  const info = model.steps.find((s) => s.index === p.step);
  const which = model.kind === 'capacity' && info ? ` — trial ${(info.trial ?? p.step) + 1}${info.side ? ` (${info.side})` : ''}` : info?.side ? ` — ${info.side}` : '';
  return `<section class="table wide" id="t-panels"><h3>${escapeText(`Dashboard panels: response p50 / p95 (n) per window${which}${model.finished ? '' : ', so far'}`)}</h3>` +
    `<table><thead><tr><th>panel</th>${windows.map((w) => `<th>${escapeText(w)}</th>`).join('')}</tr></thead><tbody>` +
    probes.map((pr) => `<tr><td>${escapeText(pr)}</td>${windows.map((w) => `<td>${escapeText(cell(pr, w))}</td>`).join('')}</tr>`).join('') + '</tbody></table></section>';
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
  if (model.kind === 'capacity' && info) parts.push(`trial ${(info.trial ?? info.index) + 1}${info.side ? ` (${info.side})` : ''} at ${formatValue('rows/s', info.rateHz)}`);
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
  let model = applyEvent(initial, { type: 'final', model: initial });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const charts = new Map<string, { plot: any; key: string; fig: any; spec: PageChart }>();
  const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#7a5195', '#000000'];
  w.__rtbench = { charts, get model() { return model; }, events: 0 };

  const dpr = (): number => (w.devicePixelRatio as number | undefined) ?? 1;
  /** Bands (warm-up, outages, steps, the bracket), error marks and SLO lines, over uPlot's drawing. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const drawExtras = (u: any, c: PageChart): void => {
    const ctx = u.ctx;
    const { left, top, width: bw, height: bh } = u.bbox;
    ctx.save();
    ctx.font = `${Math.round(11 * dpr())}px sans-serif`;
    for (const b of c.bands ?? []) {
      const x0 = Math.max(left, u.valToPos(b.from, 'x', true));
      let x1 = Math.min(left + bw, u.valToPos(b.to, 'x', true));
      // An outage of 1 s in a day is narrower than a pixel: still 2 px wide.
      if (b.kind === 'outage' && x0 <= left + bw && x1 - x0 < 2 * dpr()) x1 = x0 + 2 * dpr();
      if (!(x1 > x0)) continue;
      if (b.kind === 'step') {
        // A step's start: a thin line, its name at the top.
        ctx.fillStyle = 'rgba(0,0,0,0.3)';
        ctx.fillRect(x0, top, Math.max(1, dpr()), bh);
        ctx.fillStyle = '#444';
        if (x1 - x0 > ctx.measureText(b.label).width + 6) ctx.fillText(b.label, x0 + 3, top + 12 * dpr());
        continue;
      }
      ctx.fillStyle = b.kind === 'outage' ? 'rgba(198,40,40,0.18)' : b.kind === 'bracket' ? 'rgba(26,127,55,0.14)' : 'rgba(0,0,0,0.06)';
      ctx.fillRect(x0, top, x1 - x0, bh);
      ctx.fillStyle = b.kind === 'outage' ? '#8b0000' : '#444';
      ctx.fillText(b.label, x0 + 4, top + (b.kind === 'outage' ? 40 : 26) * dpr());
    }
    // Intervals with failed operations: a red tick under the plot.
    ctx.fillStyle = '#c62828';
    for (const m of c.marks ?? []) {
      const x = u.valToPos(m.x, 'x', true);
      if (!(x >= left && x <= left + bw)) continue;
      ctx.fillRect(x - 1.5 * dpr(), top + bh - 10 * dpr(), 3 * dpr(), 10 * dpr());
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
  };

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
        x: cats ? { time: false, range: [-0.5, cats.length - 0.5] } : { time: false, distr: c.x.log ? 3 : 1, ...(c.xRange ? { range: (): [number, number] => {
          // The spec of the chart now (render updates it): live, the time axis grows.
          const r = charts.get(c.id)?.spec.xRange ?? c.xRange!;
          return [r[0], r[1]];
        } } : {}) },
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
          const base = { label: s.name, stroke: color, width: 2, spanGaps: s.span === true, scale: s.right ? 'y2' : 'y', value: (_u: unknown, v: number | null) => formatValue(unit, v) };
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
      hooks: { draw: [(u: any) => drawExtras(u, c)] },
    };
  };

  const render = (): void => {
    // Open for hours: the model thinned as report.html's is, when a series doubles the bound.
    if (model.intervals.length > 4000 || model.server.length > 4000 || model.freshness.length > 4000) model = thinModel(model);
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
        have.spec = c;
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
      // The draw hook reads the entry's spec, so new bands and marks show with new data.
      const entry = { plot: null as any, key, fig, spec: c };
      const opts = optionsOf(c, width);
      opts.hooks.draw = [(u: any) => drawExtras(u, entry.spec)];
      entry.plot = new U(opts, dataOf(c), holder);
      charts.set(c.id, entry);
    }
    // Keep the figures in spec order.
    for (const c of specs) box.appendChild(charts.get(c.id)!.fig);
    doc.getElementById('trials').innerHTML = trialsTableHtml(model);
    doc.getElementById('panels').innerHTML = panelsTableHtml(model);
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
