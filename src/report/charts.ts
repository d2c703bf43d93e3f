/**
 * Charts as inline SVG strings, for the files a sweep writes beside its
 * results (sweep.svg, sweep-size.svg, sweep-scale.svg, sweep-history.svg)
 * and its report: line charts over a swept setting. The run, capacity and
 * history pages draw with uPlot (page.ts). Pure.
 */
import {
  bandScale, colorAt, escapeXml, legend, linearScale, logScale, maxOf, minOf, px, svgOpen, valueScale,
  type LegendItem, type Scale, type Tick, type YScaleChoice,
} from './svg.js';

const WIDTH = 880;
const PLOT_HEIGHT = 260;
const MARGIN = { left: 76, right: 24, bottom: 48 } as const;

/** Default number format: up to three significant digits, thousands separated. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v !== 0 && Math.abs(v) < 0.01) return v.toExponential(1);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export interface LineSeries {
  readonly name: string;
  /** [x, y] pairs in x order; a null y (or one the scale cannot show) leaves a gap. */
  readonly points: ReadonlyArray<readonly [number, number | null]>;
  readonly color?: string;
  readonly dashed?: boolean;
}

export interface ValueAxis {
  readonly label: string;
  readonly scale?: YScaleChoice;
  readonly format?: (v: number) => string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly series: readonly LineSeries[];
  readonly x: {
    readonly label: string;
    /** linear (default), log (values > 0), or band: x values are indexes into `categories`. */
    readonly scale?: 'linear' | 'log' | 'band';
    readonly categories?: readonly string[];
    readonly format?: (v: number) => string;
    /** Linear x: the range to show (default: the data's), without extending it to whole ticks. */
    readonly domain?: readonly [number, number];
    /** Replace the computed ticks (e.g. percentile labels on a log axis). */
    readonly ticks?: (scale: Scale) => readonly Tick[];
  };
  readonly y: ValueAxis;
  /** Shaded x ranges, e.g. the warm-up. */
  readonly bands?: ReadonlyArray<{ readonly from: number; readonly to: number; readonly label: string }>;
  /** Shaded y ranges that vary along x (e.g. a gate's band between a mean and a limit); null ends leave a gap. */
  readonly areas?: ReadonlyArray<{ readonly name: string; readonly points: ReadonlyArray<readonly [number, number | null, number | null]>; readonly color: string }>;
  /** Dots at the points: always, never, or (auto) when no series has more than 40 points. */
  readonly markers?: boolean | 'auto';
  readonly width?: number;
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly head: string;
  /** Baseline of the x axis title. */
  readonly xLabelY: number;
}

/** Title, legend and plot rectangle of a chart; `extraBottom` px more below the tick labels. */
function frame(title: string, items: readonly LegendItem[], width: number, extraBottom = 0): Frame {
  const lg = legend(items, MARGIN.left, 30, width - MARGIN.left - MARGIN.right);
  const top = 30 + lg.height + 12;
  const bottom = top + PLOT_HEIGHT;
  const height = bottom + MARGIN.bottom + extraBottom;
  return {
    width, height, left: MARGIN.left, right: width - MARGIN.right, top, bottom, xLabelY: bottom + 38 + extraBottom,
    head: svgOpen(width, height, title) + lg.svg,
  };
}

/** Grid lines, tick labels and axis titles. */
function axes(f: Frame, xs: Scale, ys: Scale, xLabel: string, yLabel: string): string {
  const out: string[] = ['<g class="axes">'];
  for (const t of ys.ticks) {
    const y = px(ys.map(t.value));
    out.push(`<line x1="${f.left}" x2="${f.right}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${f.left - 6}" y="${y}" dy="4" text-anchor="end" fill="#555">${escapeXml(t.label)}</text>`);
  }
  for (const t of xs.ticks) {
    const x = px(xs.map(t.value));
    if (xs.kind !== 'band') out.push(`<line x1="${x}" x2="${x}" y1="${f.top}" y2="${f.bottom}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${f.bottom + 16}" text-anchor="middle" fill="#555">${escapeXml(t.label)}</text>`);
  }
  out.push(`<rect x="${f.left}" y="${f.top}" width="${px(f.right - f.left)}" height="${px(f.bottom - f.top)}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${px((f.left + f.right) / 2)}" y="${px(f.xLabelY)}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  const cy = px((f.top + f.bottom) / 2);
  out.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${escapeXml(yLabel)}</text>`);
  out.push('</g>');
  return out.join('');
}

function noData(f: Frame): string {
  return `<text x="${px((f.left + f.right) / 2)}" y="${px((f.top + f.bottom) / 2)}" text-anchor="middle" fill="#888">no data</text>`;
}

/** Split a series into runs of drawable points (gaps at nulls and at values the scales reject). */
function segments(points: LineSeries['points'], xs: Scale, ys: Scale): Array<Array<readonly [number, number]>> {
  const out: Array<Array<readonly [number, number]>> = [];
  let cur: Array<readonly [number, number]> = [];
  for (const [x, y] of points) {
    if (y === null || !xs.accepts(x) || !ys.accepts(y)) {
      if (cur.length > 0) out.push(cur);
      cur = [];
    } else cur.push([x, y]);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Thin a polyline to what one pixel column can show: in each column only the
 * first, lowest, highest and last points (in their order), so spikes survive
 * and a day-long run at 1 s intervals stays a few thousand points. Input and
 * output are pixel coordinates in x order.
 */
export function thin(pts: ReadonlyArray<readonly [number, number]>): Array<readonly [number, number]> {
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (!first || !last || pts.length <= 4 * Math.max(1, last[0] - first[0])) return [...pts];
  const out: Array<readonly [number, number]> = [];
  let i = 0;
  while (i < pts.length) {
    const col = Math.floor(pts[i]![0]);
    let j = i;
    let lo = i;
    let hi = i;
    while (j < pts.length && Math.floor(pts[j]![0]) === col) {
      if (pts[j]![1] < pts[lo]![1]) lo = j;
      if (pts[j]![1] > pts[hi]![1]) hi = j;
      j++;
    }
    for (const k of [...new Set([i, lo, hi, j - 1])].sort((a, b) => a - b)) out.push(pts[k]!);
    i = j;
  }
  return out;
}

/**
 * A line chart. Each series is a `<g class="series">` holding one `<polyline>`
 * per run of non-null points (a lone point is a dot), so gaps stay visible.
 */
export function lineChartSvg(o: LineChartOptions): string {
  const width = o.width ?? WIDTH;
  const items = o.series.map((s, i) => ({ name: s.name, color: s.color ?? colorAt(i), dashed: s.dashed ?? i >= 8 }));
  const f = frame(o.title, items, width);
  const xFormat = o.x.format ?? formatNumber;
  const yFormat = o.y.format ?? formatNumber;
  const xVals = o.series.flatMap((s) => s.points.map((p) => p[0])).filter(Number.isFinite);
  const yVals = o.series.flatMap((s) => s.points.map((p) => p[1])).filter((v): v is number => v !== null && Number.isFinite(v));
  if (yVals.length === 0 || xVals.length === 0) return `${f.head}${axes(f, linearScale(0, 1, f.left, f.right, xFormat), linearScale(0, 1, f.bottom, f.top, yFormat), o.x.label, o.y.label)}${noData(f)}</svg>`;

  let xs: Scale;
  if (o.x.scale === 'band') xs = bandScale(o.x.categories ?? [], f.left, f.right);
  else if (o.x.scale === 'log') {
    const pos = xVals.filter((v) => v > 0);
    xs = logScale(minOf(pos), maxOf(pos), f.left, f.right, xFormat);
  } else {
    const [lo, hi] = o.x.domain ?? [minOf(xVals), maxOf(xVals)];
    xs = linearScale(lo, hi, f.left, f.right, xFormat, { tight: true });
  }
  if (o.x.ticks) xs = { ...xs, ticks: o.x.ticks(xs) };
  const ys = valueScale(yVals, o.y.scale ?? 'linear', f.bottom, f.top, yFormat);

  const out: string[] = [f.head];
  for (const b of o.bands ?? []) {
    const x0 = Math.max(f.left, xs.map(b.from));
    const x1 = Math.min(f.right, xs.map(b.to));
    if (x1 <= x0) continue;
    out.push(`<g class="band"><rect x="${px(x0)}" y="${f.top}" width="${px(x1 - x0)}" height="${px(f.bottom - f.top)}" fill="#888" fill-opacity="0.15"/>` +
      `<text x="${px((x0 + x1) / 2)}" y="${f.top + 14}" text-anchor="middle" fill="#666" font-style="italic">${escapeXml(b.label)}</text></g>`);
  }
  out.push(axes(f, xs, ys, o.x.label, o.y.label));
  for (const a of o.areas ?? []) {
    // One polygon per run of points with both ends drawable: along the upper edge, back along the lower.
    const runs: Array<Array<readonly [number, number, number]>> = [[]];
    for (const [x, lo, hi] of a.points) {
      if (lo === null || hi === null || !xs.accepts(x) || !ys.accepts(lo) || !ys.accepts(hi)) runs.push([]);
      else runs[runs.length - 1]!.push([x, lo, hi]);
    }
    const polys = runs.filter((r) => r.length > 1).map((r) => {
      const upper = r.map(([x, , hi]) => `${px(xs.map(x))},${px(ys.map(hi))}`);
      const lower = [...r].reverse().map(([x, lo]) => `${px(xs.map(x))},${px(ys.map(lo))}`);
      return `<polygon points="${[...upper, ...lower].join(' ')}" fill="${a.color}" fill-opacity="0.15" stroke="none"><title>${escapeXml(a.name)}</title></polygon>`;
    });
    if (polys.length > 0) out.push(`<g class="area" data-area="${escapeXml(a.name)}">${polys.join('')}</g>`);
  }
  const maxPoints = maxOf(o.series.map((s) => s.points.length));
  const markers = o.markers === true || ((o.markers ?? 'auto') === 'auto' && maxPoints <= 40);
  o.series.forEach((s, i) => {
    const item = items[i]!;
    const label = escapeXml(s.name);
    out.push(`<g class="series" data-series="${label}" fill="none" stroke="${item.color}" stroke-width="2"${item.dashed ? ' stroke-dasharray="6 4"' : ''}>`);
    for (const seg of segments(s.points, xs, ys)) {
      const coords = thin(seg.map(([x, y]) => [xs.map(x), ys.map(y)] as const)).map(([x, y]) => `${px(x)},${px(y)}`);
      if (seg.length > 1) out.push(`<polyline points="${coords.join(' ')}" stroke-linejoin="round"><title>${label}</title></polyline>`);
      if (markers || seg.length === 1) {
        for (const [x, y] of seg) {
          const at = o.x.scale === 'band' ? (o.x.categories?.[x] ?? String(x)) : xFormat(x);
          out.push(`<circle cx="${px(xs.map(x))}" cy="${px(ys.map(y))}" r="3" fill="${item.color}" stroke="none"><title>${label}: ${escapeXml(at)} → ${escapeXml(yFormat(y))}</title></circle>`);
        }
      }
    }
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('');
}

export interface SweepPoint {
  /** The swept setting, e.g. a granularity ("1m", "5m", …). */
  readonly x: string;
  /** Series name → value at this setting; null (or missing) where it was not measured. */
  readonly series: Record<string, number | null>;
}

export interface SweepOptions {
  readonly title: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly scale?: YScaleChoice;
  /** Value format for ticks and tooltips (e.g. formatUs for latencies). */
  readonly format?: (v: number) => string;
  readonly width?: number;
}

/**
 * Curves over a swept setting, e.g. rollup duration and per-window probe p50s
 * against granularity: x is categorical in the given order, one series per key
 * seen in any point (first-seen order), each a polyline per run of non-null
 * values with a dot at every value.
 */
export function sweepCurvesSvg(points: ReadonlyArray<SweepPoint>, opts: SweepOptions): string {
  const names: string[] = [];
  for (const p of points) for (const k of Object.keys(p.series)) if (!names.includes(k)) names.push(k);
  return lineChartSvg({
    title: opts.title,
    series: names.map((name) => ({
      name,
      points: points.map((p, i) => {
        const v = p.series[name];
        return [i, v === undefined || v === null || !Number.isFinite(v) ? null : v] as const;
      }),
    })),
    x: { label: opts.xLabel ?? 'setting', scale: 'band', categories: points.map((p) => p.x) },
    y: { label: opts.yLabel ?? '', scale: opts.scale ?? 'auto', ...(opts.format && { format: opts.format }) },
    markers: true,
    ...(opts.width !== undefined && { width: opts.width }),
  });
}
