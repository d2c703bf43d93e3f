import type { Clock } from '../../src/schedule/open-loop.js';

/** A clock the test moves by hand (ns). */
export class FakeClock implements Clock {
  constructor(private t = 0) {}
  nowNs(): number {
    return this.t;
  }
  advance(ns: number): void {
    this.t += ns;
  }
}
