/**
 * The data of the live page and of report.html (the same page): a JSON model
 * that the page draws, and the events that grow it while a run or a capacity
 * search goes. The live server sends the events; report.html embeds the final
 * model. Types only, so the browser code (page-script.ts) and the builders
 * share them.
 */

/** How a value is shown on an axis or in a legend. */
export type PageUnit = 's' | 'us' | 'rows/s' | 'n' | 'pct-x' | 'MB/s' | 'cores' | 'sessions' | 'cat';

export interface PageSeries {
  readonly name: string;
  /** One value per x (null: a gap). */
  readonly values: ReadonlyArray<number | null>;
  readonly color?: string;
  readonly dashed?: boolean;
  /** Points only, no line (failed trials, achieved rate). */
  readonly pointsOnly?: boolean;
  /** Drawn as bars (categorical x). */
  readonly bars?: boolean;
  /** Drawn against the right-hand axis (`y2`). */
  readonly right?: boolean;
  /** Larger markers, e.g. failed trials. */
  readonly big?: boolean;
  /** Join the line across nulls (a line whose points sit at other series' x values). */
  readonly span?: boolean;
}

/** A shaded x range: warm-up, an outage, a capacity bracket. */
export interface PageBand {
  readonly from: number;
  readonly to: number;
  readonly label: string;
  readonly kind: 'warmup' | 'outage' | 'bracket' | 'step';
}

/** A point in time marked on a chart (an interval with failed operations). */
export interface PageMark {
  readonly x: number;
  readonly label: string;
}

/** One chart: columnar data for uPlot (`xs` and one `values` per series). */
export interface PageChart {
  /** Stable anchor: the figure is `#c-<id>`. */
  readonly id: string;
  readonly title: string;
  /** One sentence on how to read it. */
  readonly caption: string;
  /** Time charts share the cursor (lined up in time). */
  readonly time?: boolean;
  /** The x range to show (time charts: the whole timeline, so every time chart spans the same seconds). */
  readonly xRange?: readonly [number, number];
  readonly x: { readonly label: string; readonly unit: PageUnit; readonly log?: boolean; readonly categories?: readonly string[] };
  readonly y: { readonly label: string; readonly unit: PageUnit; readonly log?: boolean };
  readonly y2?: { readonly label: string; readonly unit: PageUnit };
  readonly xs: readonly number[];
  readonly series: readonly PageSeries[];
  readonly bands?: readonly PageBand[];
  /** Areas filled between two series (by name), e.g. a gate's band from the window mean to its limit. */
  readonly fills?: ReadonlyArray<{ readonly upper: string; readonly lower: string; readonly color: string }>;
  /** Instants marked with a red tick under the plot: intervals with errors. */
  readonly marks?: readonly PageMark[];
  /** Horizontal lines (SLO limits) in y units. */
  readonly hlines?: ReadonlyArray<{ readonly value: number; readonly label: string }>;
}

/** One interval of the stream (1 s by default); latencies in µs, t at the interval's end in s after the step's origin. */
export interface PageInterval {
  readonly step: number;
  readonly t: number;
  readonly warmup: boolean;
  readonly targetHz: number | null;
  readonly achievedHz: number;
  readonly ops: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly serviceP99Us: number;
  readonly lagP99Us: number;
  readonly errors: number;
  readonly late: number;
  readonly dropped: number;
  /** Time within the interval the target could not serve, ms (runs of older rtbench: absent). */
  readonly unavailableMs?: number;
  /** The outages that touched the interval, s after the step's origin (endS null: not over at the interval's end). */
  readonly outages?: ReadonlyArray<{ readonly startS: number; readonly endS: number | null; readonly causes: readonly string[] }>;
  /** Failed operations and reconnects of the interval by SQLSTATE. */
  readonly errorsBySqlstate?: Readonly<Record<string, number>>;
}

/** One second of the server sampler (server.csv's row), t at the second's end in s after the step's origin. */
export interface PageServerSecond {
  readonly step: number;
  readonly t: number;
  /** Mean active sessions by "role wait-class" (e.g. "ingest CPU", "rollup Lock"). */
  readonly waits: Readonly<Record<string, number>>;
  readonly walMBps: number | null;
  readonly serverCores: number | null;
  readonly clientCores: number | null;
  readonly clientMainCores: number | null;
  /** Share of the second runnable tasks waited for a CPU (0..1). */
  readonly cpuPressure: number | null;
}

/** One dashboard panel × window: its response latency (refresh due time → result) so far in the step, µs. */
export interface PagePanelCell {
  readonly probe: string;
  readonly window: string;
  readonly p50Us: number | null;
  readonly p95Us: number | null;
  readonly n: number;
}

/**
 * A freshness reading, t in s after the step's origin: a marker seen in the
 * rollup (`seen`: its commit-to-visible time), one never seen by the step's end
 * (`censored`: its age then, a lower bound), or live, the oldest marker not seen
 * yet (`pending`: its age at that second).
 */
export interface PageFreshPoint {
  readonly step: number;
  readonly t: number;
  readonly us: number;
  readonly kind: 'seen' | 'censored' | 'pending';
}

/** A step of a session (one run, or one capacity trial). */
export interface PageStep {
  readonly index: number;
  readonly runId: string;
  /** Which target of a two-target search ('a', 'b'), else ''. */
  readonly side: string;
  readonly rateHz: number | null;
  readonly warmupS: number;
  readonly durationS: number;
  /** A capacity trial's number within its target's search (0-based), when it differs from `index`. */
  readonly trial?: number;
}

/** One finished capacity trial (latencies in µs). */
export interface PageTrial {
  readonly side: string;
  readonly index: number;
  readonly rateHz: number;
  readonly achievedHz: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly worstP95Us: number | null;
  /** pass, fail, or anything else the search calls it (harness, inconclusive). */
  readonly verdict: string;
  readonly why: string;
}

/** One target of a capacity search, as known so far. */
export interface PageCapacitySide {
  readonly side: string;
  /** The target, masked. */
  readonly label: string;
  /** Latency SLO limits, µs. */
  readonly slos: ReadonlyArray<{ readonly name: string; readonly limitUs: number }>;
  readonly bracket: readonly [number | null, number | null];
  readonly capacityHz: number | null;
  readonly headline: string;
}

export interface PageModel {
  /** compare: two runs (compare-targets), drawn end to end on the time charts like a search's trials. */
  readonly kind: 'run' | 'capacity' | 'history' | 'compare' | 'sweep';
  title: string;
  /** Lines under the title (plain text). */
  lines: string[];
  verdict: { valid: boolean; reasons: string[] } | null;
  steps: PageStep[];
  intervals: PageInterval[];
  /** Outages (issue 22's summary.availability.outages), s after the step's origin. */
  outages: Array<{ step: number; startS: number; endS: number; causes: string[] }>;
  /** The phase now (live), e.g. "measure" of step 3, and when it started (s after the step's origin). */
  phase: { name: string; step: number; atS: number } | null;
  finished: boolean;
  /** Charts built from the finished run (server, distributions, probe bars). */
  charts: PageChart[];
  capacity: { sides: PageCapacitySide[]; trials: PageTrial[]; ratio: { ratio: number | null; low: number | null; high: number | null } | null } | null;
  /** The tables of the finished run, as escaped HTML (tables.ts). */
  tablesHtml: string;
  /** run.json's configuration, masked, for a <details>. */
  configText: string;
  /** Notices as they came (live). */
  notices: string[];
  /** The server sampler's seconds (waits by role, CPU, WAL). */
  server: PageServerSecond[];
  /** The panels of the latest step with viewers, updated each second live. */
  panels: { step: number; cells: PagePanelCell[] } | null;
  /** Freshness readings as they came. */
  freshness: PageFreshPoint[];
  /** A long set-up phase under way (preload, probes' idle baseline…): how far, the time left in ms; null when none. */
  progress?: { phase: string; done: number; total: number | null; unit: string; etaMs: number | null } | null;
  /** Set when the time series were thinned (thin.ts): seconds per point of the intervals, the server's seconds and freshness (0: not thinned). */
  thinned?: { intervalS: number; serverS: number; freshnessS: number } | null;
}

/** What the live server streams; `final` replaces the model with the finished run's. */
export type PageEvent =
  | { readonly type: 'step'; readonly step: PageStep }
  | { readonly type: 'phase'; readonly name: string; readonly step: number; readonly atS: number }
  | { readonly type: 'interval'; readonly row: PageInterval }
  | { readonly type: 'side'; readonly side: PageCapacitySide }
  | { readonly type: 'trial'; readonly trial: PageTrial }
  | { readonly type: 'notice'; readonly text: string }
  | { readonly type: 'server'; readonly row: PageServerSecond }
  | { readonly type: 'panels'; readonly step: number; readonly cells: PagePanelCell[] }
  | { readonly type: 'freshness'; readonly points: PageFreshPoint[] }
  | { readonly type: 'progress'; readonly phase: string; readonly done: number; readonly total: number | null; readonly unit: string; readonly etaMs: number | null; readonly end: boolean }
  | { readonly type: 'final'; readonly model: PageModel }
  /** A late browser's start: the model so far (thinned), then the events after it. */
  | { readonly type: 'history'; readonly model: PageModel };

/** Where page events go: the live page's hub, the result dir's page-events.jsonl, or both. */
export interface PageSink {
  publish(ev: PageEvent): void;
}

/** An empty model to start a live page with. */
export function emptyModel(kind: PageModel['kind'], title: string, lines: string[] = []): PageModel {
  return {
    kind, title, lines, verdict: null, steps: [], intervals: [], outages: [], phase: null, finished: false, charts: [], server: [], panels: null, freshness: [],
    capacity: kind === 'capacity' ? { sides: [], trials: [], ratio: null } : null, tablesHtml: '', configText: '', notices: [],
  };
}
