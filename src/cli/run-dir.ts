/**
 * Reading a run dir from the tools (compare, check, merge, history add, export): one whose
 * load generator died while it streamed (run.json `status: "running"`, owner gone) is
 * recovered first, with one line on stderr saying so; one still being written is refused.
 */
import { readRunDirRecovering } from '../results/recover.js';
import type { RunInfo, Summary } from '../results/run-record.js';

/** readRunDir, recovering an abandoned streamed dir first (one stderr line). @throws UsageError */
export async function readRunDirForTool(dir: string): Promise<{ run: RunInfo; summary: Summary }> {
  const { run, summary, recoveredLine } = await readRunDirRecovering(dir);
  if (recoveredLine) process.stderr.write(`rtbench: ${recoveredLine}\n`);
  return { run, summary };
}
