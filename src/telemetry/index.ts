/** Server telemetry: the public surface the CLI and the reports use. */
import type { RunConfig } from '../config/types.js';
import type { RunObserver } from '../runner/observer.js';
import { dashboardPanels } from './explain.js';
import type { OnProgress } from '../schedule/progress.js';
import { ServerSampler, type LiveServerSecond } from './sampler.js';

export { ServerSampler, type LiveServerSecond, type ServerSamplerOptions } from './sampler.js';
export { dashboardPanels, type PanelTask } from './explain.js';
export { topWaits } from './waits.js';
export { describePlan } from './plans.js';
export { ROLES, SAMPLER_APPLICATION_NAME } from './roles.js';

/**
 * The sampler of a run (none with --sample-interval 0); unless `plans` is false it explains
 * the run's panels after the measure phase.
 */
export function serverSamplerFor(config: RunConfig, opts: { plans?: boolean; onProgress?: OnProgress; onSecond?: (s: LiveServerSecond) => void } = {}): RunObserver[] {
  if (config.sampleIntervalMs <= 0) return [];
  return [new ServerSampler({
    sampleIntervalMs: config.sampleIntervalMs,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.onSecond ? { onSecond: opts.onSecond } : {}),
    ...(opts.plans === false ? {} : { panels: (client, step) => dashboardPanels(client, step.config) }),
  })];
}
