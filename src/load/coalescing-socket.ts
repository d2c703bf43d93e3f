/**
 * A net.Socket that turns pg's cork()/write()…/uncork() of one extended-query
 * message group (Bind, Describe, Execute, Sync) into a single write of one
 * buffer. pg corks so the group leaves in one writev(); on this class of
 * machine a writev of several small buffers to a loopback socket costs several
 * times a single write() (measured: ~66 µs vs ~17 µs per operation for
 * pgbench's single send()), and that cost is client CPU taken from a
 * co-located server. Plugged in through pg's documented `stream` option.
 */
import net from 'node:net';

export class CoalescingSocket extends net.Socket {
  private corkedParts: Buffer[] | null = null;

  override cork(): void {
    if (this.corkedParts === null) this.corkedParts = [];
  }

  override uncork(): void {
    const parts = this.corkedParts;
    this.corkedParts = null;
    if (parts === null || parts.length === 0) return;
    super.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  // pg only writes Buffers while corked; anything else goes straight through.
  override write(chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean {
    if (this.corkedParts !== null && Buffer.isBuffer(chunk) && encodingOrCb === undefined && cb === undefined) {
      this.corkedParts.push(chunk);
      return true;
    }
    return (super.write as (...a: unknown[]) => boolean)(chunk, encodingOrCb, cb);
  }
}
