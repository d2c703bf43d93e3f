/** Dashboard probes: the public surface the runner and reports use. */
export { loadProbes } from './loader.js';
export { parseProbeFile, checkPairs, renderProbe, runOrder, type ProbeDef, type ProbeReads } from './definition.js';
export { ProbeRunner, type ProbeRunnerOptions, type ProbeResults, type ProbeTaskResult, type ProbeTaskSummary } from './runner.js';
export { idleBaseline, type IdleBaseline, type IdleBaselineOptions, type IdleTaskResult } from './idle.js';
export { measureHllError, type HllErrorMeasurement, type HllErrorOptions } from './accuracy.js';
export { tableSizes } from './sizes.js';
export { probeRouting } from './routing.js';
export { probeFigures, ratio, relativeError, NAMED_SPEEDUPS, type FiguresInput } from './figures.js';
export { selectRunnable, installHint, skippedLine, type ProbeSelection } from './requirements.js';
export { DEFAULT_WINDOWS, rollupTableFor, granularityOfTable, periodInterval, type Granularity, type ProbeWindow } from './windows.js';
export { measureParallelSpeedup, parallelFigures, type ParallelOptions } from './parallel.js';
