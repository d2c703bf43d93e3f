/**
 * The client's own CPU and memory per interval, as an observer of the step:
 * it fills each interval row's `cpuCores` and `rssBytes` before the other
 * observers see the row, and sums the CPU of the measure phase.
 */
import type { IntervalRow } from '../metrics/aggregate.js';
import type { RunObserver } from './observer.js';

export class ClientMeter implements RunObserver {
  readonly name = 'client-meter';
  private cpuPrev = process.cpuUsage();
  private cpuPrevAt = process.hrtime.bigint();
  /** Client CPU over the measure phase, µs (user + system, whole process). */
  measureCpuUs = 0;
  /** RSS at the first measure interval, bytes (0 until then). */
  rssStartBytes = 0;

  interval(row: IntervalRow): void {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(this.cpuPrev);
    const cpuUs = cpu.user + cpu.system;
    row.cpuCores = cpuUs / Math.max(1, Number(now - this.cpuPrevAt) / 1000);
    this.cpuPrev = process.cpuUsage();
    this.cpuPrevAt = now;
    row.rssBytes = process.memoryUsage().rss;
    if (row.phase === 'measure') {
      this.measureCpuUs += cpuUs;
      if (this.rssStartBytes === 0) this.rssStartBytes = row.rssBytes;
    }
  }
}
