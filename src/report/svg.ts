/**
 * SVG building blocks for the report charts: escaping, scales (linear, log,
 * categorical), tick choice and legend layout. Pure string building, no DOM,
 * no I/O, so every chart is a deterministic string a unit test can read.
 */

/** Escape text for HTML/SVG text nodes and double- or single-quoted attributes. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A coordinate rounded to 0.1 px, without a trailing ".0" (keeps the SVG small). */
export function px(n: number): string {
  const r = Math.round(n * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Colour-blind-safe categorical palette (Okabe–Ito, with black last). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'] as const;

/** The i-th palette colour, cycling; further cycles are dashed by the caller. */
export function colorAt(i: number): string {
  return PALETTE[i % PALETTE.length] ?? '#000000';
}

/** Smallest of many numbers (Math.min(...xs) overflows the stack on long runs); Infinity if none. */
export function minOf(xs: readonly number[]): number {
  let m = Infinity;
  for (const x of xs) if (x < m) m = x;
  return m;
}

/** Largest of many numbers; -Infinity if none. */
export function maxOf(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  return m;
}

export interface Tick {
  readonly value: number;
  readonly label: string;
}

/** Maps data values to pixels along one axis. */
export interface Scale {
  readonly kind: 'linear' | 'log' | 'band';
  /** Pixel position of a value; for log scales only positive values are meaningful. */
  map(value: number): number;
  readonly ticks: readonly Tick[];
  /** Whether a value can be drawn on this scale (log: > 0; all: finite). */
  accepts(value: number): boolean;
  /** Band scales: the width available to one category. */
  readonly bandwidth: number;
  /** The data value at the axis origin (where bars start). */
  readonly base: number;
}

/** A step of 1, 2, 2.5 or 5 times a power of ten, close to span/target. */
function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return m * mag;
}

/**
 * A linear scale over [min, max] extended to whole ticks, onto [from, to] pixels.
 * A degenerate domain (min = max) is widened so the line sits mid-chart.
 */
export function linearScale(min: number, max: number, from: number, to: number, format: (v: number) => string, opts: { readonly tight?: boolean } = {}): Scale {
  let lo = min;
  let hi = max;
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.5;
    lo -= pad;
    hi += pad;
    if (min >= 0 && lo < 0) lo = 0;
  }
  const step = niceStep(hi - lo, 5);
  // Tight: keep the data's domain (time axes); otherwise extend it to whole ticks.
  const first = Math.ceil(lo / step - 1e-9) * step;
  if (!opts.tight) {
    lo = Math.floor(lo / step + 1e-9) * step;
    hi = Math.ceil(hi / step - 1e-9) * step;
  }
  const ticks: Tick[] = [];
  for (let i = 0, v = opts.tight ? first : lo; v <= hi + step * 1e-6 && i < 50; i++, v = (opts.tight ? first : lo) + i * step) {
    const value = Math.abs(v) < step * 1e-9 ? 0 : v;
    ticks.push({ value, label: value === 0 ? '0' : format(value) });
  }
  const map = (v: number): number => from + ((v - lo) / (hi - lo)) * (to - from);
  return { kind: 'linear', map, ticks, accepts: Number.isFinite, bandwidth: 0, base: lo };
}

/**
 * A log10 scale over [min, max] (both > 0) extended to whole decades. Ticks at
 * each decade; with few decades also at 2× and 5×.
 */
export function logScale(min: number, max: number, from: number, to: number, format: (v: number) => string): Scale {
  let loExp = Math.floor(Math.log10(min) + 1e-9);
  let hiExp = Math.ceil(Math.log10(max) - 1e-9);
  if (hiExp <= loExp) hiExp = loExp + 1;
  if (hiExp - loExp > 12) loExp = hiExp - 12;
  const ticks: Tick[] = [];
  const decades = hiExp - loExp;
  for (let e = loExp; e <= hiExp; e++) {
    ticks.push({ value: 10 ** e, label: format(10 ** e) });
    if (decades <= 2 && e < hiExp) for (const m of [2, 5]) ticks.push({ value: m * 10 ** e, label: format(m * 10 ** e) });
  }
  const l0 = loExp;
  const l1 = hiExp;
  const map = (v: number): number => from + ((Math.log10(v) - l0) / (l1 - l0)) * (to - from);
  return { kind: 'log', map, ticks, accepts: (v) => Number.isFinite(v) && v > 0, bandwidth: 0, base: 10 ** loExp };
}

/** Categories evenly spaced across [from, to]; map(i) is the centre of the i-th band. */
export function bandScale(labels: readonly string[], from: number, to: number): Scale {
  const n = Math.max(1, labels.length);
  const bandwidth = (to - from) / n;
  return {
    kind: 'band',
    map: (i) => from + bandwidth * (i + 0.5),
    ticks: labels.map((label, i) => ({ value: i, label })),
    accepts: Number.isFinite,
    bandwidth,
    base: 0,
  };
}

export type YScaleChoice = 'linear' | 'log' | 'auto';

/**
 * Pick and build the value scale. `auto` is log when the values span more than
 * `autoRatio` (the tail would squash everything else to the axis on a linear
 * scale), linear from zero otherwise.
 */
export function valueScale(values: readonly number[], choice: YScaleChoice, from: number, to: number, format: (v: number) => string, autoRatio = 30): Scale {
  const finite = values.filter(Number.isFinite);
  const positive = finite.filter((v) => v > 0);
  const posMin = positive.length > 0 ? minOf(positive) : 0;
  const max = finite.length > 0 ? maxOf(finite) : 1;
  const useLog = choice === 'log' ? positive.length > 0 : choice === 'auto' && positive.length > 0 && max / posMin > autoRatio;
  if (useLog) return logScale(posMin, maxOf(positive), from, to, format);
  const min = Math.min(0, minOf(finite));
  return linearScale(min, Math.max(max, min), from, to, format);
}

/** Rough text width in px of a 12 px sans-serif label (no font metrics server-side). */
export function textWidth(s: string, fontPx = 12): number {
  return s.length * fontPx * 0.6;
}

export interface LegendItem {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  /** Draw a filled square (bars) instead of a line sample. */
  readonly swatch?: 'line' | 'box';
}

/** Legend items laid out left to right, wrapping at `width`; returns the markup and its height. */
export function legend(items: readonly LegendItem[], x: number, y: number, width: number): { svg: string; height: number } {
  if (items.length === 0) return { svg: '', height: 0 };
  const rowH = 18;
  let cx = 0;
  let row = 0;
  const parts: string[] = [];
  for (const it of items) {
    const w = 26 + textWidth(it.name) + 16;
    if (cx > 0 && cx + w > width) {
      cx = 0;
      row++;
    }
    const ly = y + row * rowH + 9;
    const sample = it.swatch === 'box'
      ? `<rect x="${px(x + cx)}" y="${px(ly - 5)}" width="18" height="10" fill="${it.color}"/>`
      : `<line x1="${px(x + cx)}" y1="${px(ly)}" x2="${px(x + cx + 18)}" y2="${px(ly)}" stroke="${it.color}" stroke-width="2.5"${it.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
    parts.push(`${sample}<text x="${px(x + cx + 24)}" y="${px(ly + 4)}">${escapeXml(it.name)}</text>`);
    cx += w;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: (row + 1) * rowH };
}

/** The opening tag of a standalone, scalable chart, with its accessible title. */
export function svgOpen(width: number, height: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${px(height)}" width="${width}" height="${px(height)}" role="img" aria-label="${escapeXml(title)}"` +
    ` font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="12" fill="#222">` +
    `<title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="12" y="20" font-size="14" font-weight="600">${escapeXml(title)}</text>`
  );
}
