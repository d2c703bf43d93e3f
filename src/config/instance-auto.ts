/**
 * `--instance auto`: which load generator this is, from the environment a
 * Kubernetes Indexed Job gives its pods. Pure: the caller passes the environment.
 */

/** Set by Kubernetes in every pod of an Indexed Job: the pod's completion index, 0-based. */
export const COMPLETION_INDEX_VAR = 'JOB_COMPLETION_INDEX';
/** Set by the manifest (deploy/kubernetes/): how many instances the Job runs (its completions). */
export const INSTANCE_COUNT_VAR = 'RTBENCH_INSTANCE_COUNT';

/**
 * Map the 0-based completion index and the count to rtbench's 1-based `i/N`.
 * Returns the `i/N` text, or a problem naming the variable that is missing or wrong.
 */
export function autoInstance(env: Readonly<Record<string, string | undefined>>): { value: string } | { problem: string } {
  const rawIndex = env[COMPLETION_INDEX_VAR];
  const rawCount = env[INSTANCE_COUNT_VAR];
  const whole = (v: string | undefined): number | null => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null);
  const index = whole(rawIndex);
  const count = whole(rawCount);
  if (rawIndex === undefined) return { problem: `instance: auto reads ${COMPLETION_INDEX_VAR} (set by a Kubernetes Indexed Job), which is not set` };
  if (index === null) return { problem: `instance: auto: ${COMPLETION_INDEX_VAR} must be a whole number, got ${JSON.stringify(rawIndex)}` };
  if (rawCount === undefined) return { problem: `instance: auto reads the number of instances from ${INSTANCE_COUNT_VAR}, which is not set` };
  if (count === null || count < 1) return { problem: `instance: auto: ${INSTANCE_COUNT_VAR} must be a whole number of at least 1, got ${JSON.stringify(rawCount)}` };
  if (index >= count) return { problem: `instance: auto: ${COMPLETION_INDEX_VAR}=${index} is not below ${INSTANCE_COUNT_VAR}=${count} (indices are 0-based)` };
  return { value: `${index + 1}/${count}` };
}
