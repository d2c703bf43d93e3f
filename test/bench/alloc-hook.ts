/**
 * Preloaded by bench:budget (`node --import`) into every thread of an rtbench
 * run: in each thread it samples allocations (the V8 sampling heap
 * profiler with objects collected by minor and major GC included, so garbage
 * counts too) from ALLOC_START_MS to ALLOC_STOP_MS after the thread started,
 * and writes ALLOC_DIR/alloc.<pid>.<threadId>.heapprofile. Not part of rtbench.
 */
import { threadId } from 'node:worker_threads';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const dir = process.env['ALLOC_DIR'];
if (dir) {
  const s = new Session();
  s.connect();
  const startMs = Number(process.env['ALLOC_START_MS'] ?? 4000);
  const stopMs = Number(process.env['ALLOC_STOP_MS'] ?? 14000);
  setTimeout(() => {
    s.post('HeapProfiler.enable');
    s.post('HeapProfiler.startSampling', {
      samplingInterval: Number(process.env['ALLOC_INTERVAL'] ?? 8192),
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    } as object);
  }, startMs).unref();
  setTimeout(() => {
    s.post('HeapProfiler.stopSampling', (err, r) => {
      if (!err) writeFileSync(`${dir}/alloc.${process.pid}.${threadId}.heapprofile`, JSON.stringify(r.profile));
    });
  }, stopMs).unref();
}
