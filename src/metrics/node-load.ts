/**
 * Ingest per Citus node. On a Citus target each row goes to the node that
 * holds the shard of its distribution key (site_id); when a worker is down,
 * the coordinator answers the statements for that worker's shards with an
 * error (08006 "connection to the remote node … failed") over a connection
 * that stays up, and serves the others. Attributing each operation to the
 * nodes of its rows' sites, by the shard placement read at set-up, shows
 * which node's shards failed, how long each node could not be written to,
 * and whether the other nodes' sites kept being served.
 *
 * A statement whose own connection to the coordinator was lost (FATAL, or the
 * socket closed) is counted on the nodes of its rows like any failure, and
 * also under `coordinator`: while a worker restarts, the coordinator itself
 * was seen here to terminate a few client sessions (57P01 at FATAL severity),
 * whichever node their rows were for. Pure: times are ms after the schedule
 * origin, passed in by the caller.
 */
import { OutageTracker, foldIntervalSpans, type OutageSpan } from './availability.js';

/** Where the sites live: node names, and the index into them of each site's node. */
export interface SitePlacement {
  /** `host:port` of each node that holds shards of http_request (Citus metadata). */
  readonly nodes: readonly string[];
  /** For site s, the index in `nodes` of the node holding its shard. */
  readonly nodeOfSite: readonly number[];
}

/** Name under which a statement that lost its own connection is counted. */
export const COORDINATOR = 'coordinator';

/** One node's figures over one interval of one load worker. */
export interface NodeInterval {
  /** Index into {@link SitePlacement.nodes}, or -1 for the coordinator. */
  readonly node: number;
  /** Operations that succeeded and wrote rows on the node. */
  readonly ok: number;
  /** Failed operations that touched the node, by SQLSTATE. */
  readonly errors: Readonly<Record<string, number>>;
  /** The node's outages that ended in the interval or are still open. */
  readonly outages: readonly OutageSpan[];
}

interface Tally {
  ok: number;
  errors: Record<string, number>;
  touched: boolean;
  readonly outages: OutageTracker;
}

/** A load worker's per-node counts. Operations are described by a bit mask of the nodes their rows went to. */
export class NodeTally {
  readonly #tallies: Tally[];
  readonly #coordinator: Tally;

  constructor(nodes: number) {
    if (nodes > 30) throw new RangeError(`per-node attribution handles up to 30 nodes, got ${nodes}`);
    const fresh = (): Tally => ({ ok: 0, errors: {}, touched: false, outages: new OutageTracker() });
    this.#tallies = Array.from({ length: nodes }, fresh);
    this.#coordinator = fresh();
  }

  /** An operation on the nodes of `mask` succeeded at `atMs`. */
  success(mask: number, atMs: number): void {
    this.#each(mask, (t) => {
      t.ok++;
      t.touched = true;
      if (t.outages.down) t.outages.success(atMs);
    });
    if (this.#coordinator.outages.down) this.#coordinator.outages.success(atMs);
  }

  /**
   * An operation on the nodes of `mask` failed at `atMs` with `sqlstate`. `connectionLost`:
   * its own connection is gone (counted under the coordinator); `outage`: a connection-class
   * failure that starts or extends the nodes' outage.
   */
  failure(mask: number, atMs: number, sqlstate: string, connectionLost: boolean, outage: boolean): void {
    const hit = (t: Tally): void => {
      t.errors[sqlstate] = (t.errors[sqlstate] ?? 0) + 1;
      t.touched = true;
      if (outage) t.outages.failure(atMs, sqlstate);
    };
    if (connectionLost || mask === 0) hit(this.#coordinator);
    if (mask !== 0) this.#each(mask, hit);
  }

  #each(mask: number, f: (t: Tally) => void): void {
    for (let i = 0, m = mask; m !== 0; i++, m >>>= 1) if (m & 1) f(this.#tallies[i]!);
  }

  /** The interval's figures of every node that had any (or an outage), resetting the counts. */
  takeInterval(startMs: number, endMs: number): NodeInterval[] {
    const out: NodeInterval[] = [];
    const take = (t: Tally, node: number): void => {
      const { spans } = t.outages.takeInterval(startMs, endMs);
      if (!t.touched && spans.length === 0) return;
      out.push({ node, ok: t.ok, errors: t.errors, outages: spans });
      t.ok = 0;
      t.errors = {};
      t.touched = false;
    };
    this.#tallies.forEach((t, i) => take(t, i));
    take(this.#coordinator, -1);
    return out;
  }
}

/** One node of the step as summary.json `ingest.byNode` reports it. */
export interface NodeFiguresOfLoad {
  /** `host:port`, or `coordinator` for statements that lost their own connection (also counted on their rows' nodes). */
  readonly node: string;
  /** Sites whose shard the node holds (none for the coordinator entry). */
  readonly sites: number;
  /** Successful operations on the node over the step (warm-up included). */
  readonly ok: number;
  readonly errors: number;
  readonly errorsBySqlstate: Readonly<Record<string, number>>;
  readonly outages: ReadonlyArray<OutageSpan & { readonly durationMs: number }>;
  readonly unavailableMs: number;
  /** The share of the target rate this node's sites should get, operations/s (null: closed loop). */
  readonly targetOpsHz: number | null;
  /**
   * Operations/s served on this node over the intervals at least half inside another node's
   * outage (else the one interval most inside it); null when no other node had an outage:
   * whether the other workers' sites kept being served.
   */
  readonly duringOtherOutagesOpsHz: number | null;
}

/** Per-interval node figures of all workers, merged on the main thread. */
export class NodeLoad {
  readonly #intervals = new Map<number, { startMs: number; endMs: number; byNode: Map<number, NodeInterval[]> }>();

  /** Add one worker's interval. */
  add(index: number, startMs: number, endMs: number, nodes: readonly NodeInterval[] | undefined): void {
    let iv = this.#intervals.get(index);
    if (!iv) this.#intervals.set(index, (iv = { startMs, endMs, byNode: new Map() }));
    iv.startMs = Math.min(iv.startMs, startMs);
    iv.endMs = Math.max(iv.endMs, endMs);
    for (const n of nodes ?? []) {
      const list = iv.byNode.get(n.node) ?? [];
      list.push(n);
      iv.byNode.set(n.node, list);
    }
  }

  /**
   * The step's figures per node. `targetOpsHz`: the step's target in operations/s (null for
   * a closed loop); each node's share is its sites' share of `placement.nodeOfSite`.
   */
  summarize(placement: SitePlacement, targetOpsHz: number | null, stepEndMs: number): NodeFiguresOfLoad[] {
    const intervals = [...this.#intervals.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    const siteCount = placement.nodeOfSite.length;
    const nodeIds = [...placement.nodes.keys(), -1];
    const perNode = nodeIds.map((id) => {
      let ok = 0;
      const errorsBySqlstate: Record<string, number> = {};
      const spans: Array<readonly OutageSpan[]> = [];
      for (const iv of intervals) {
        for (const n of iv.byNode.get(id) ?? []) {
          ok += n.ok;
          for (const [k, v] of Object.entries(n.errors)) errorsBySqlstate[k] = (errorsBySqlstate[k] ?? 0) + v;
          spans.push(n.outages);
        }
      }
      const outages = foldIntervalSpans(spans).map((o) => ({ ...o, durationMs: (o.endMs ?? Math.max(stepEndMs, o.startMs)) - o.startMs }));
      return { id, ok, errorsBySqlstate, outages };
    });
    return perNode
      .filter((n) => n.id >= 0 || n.ok > 0 || Object.keys(n.errorsBySqlstate).length > 0)
      .map((n): NodeFiguresOfLoad => {
        const sites = n.id < 0 ? 0 : placement.nodeOfSite.filter((x) => x === n.id).length;
        // The intervals mostly inside another node's outage: was this node served meanwhile?
        const others = perNode.filter((o) => o.id !== n.id && o.id >= 0).flatMap((o) => o.outages);
        const inside = intervalsInside(intervals, others);
        const seconds = inside.reduce((a, iv) => a + (iv.endMs - iv.startMs) / 1000, 0);
        const okInside = inside.reduce((a, iv) => a + (iv.byNode.get(n.id) ?? []).reduce((b, x) => b + x.ok, 0), 0);
        return {
          node: n.id < 0 ? COORDINATOR : placement.nodes[n.id]!,
          sites,
          ok: n.ok,
          errors: Object.values(n.errorsBySqlstate).reduce((a, b) => a + b, 0),
          errorsBySqlstate: n.errorsBySqlstate,
          outages: n.outages,
          unavailableMs: n.outages.reduce((a, o) => a + o.durationMs, 0),
          targetOpsHz: targetOpsHz === null || n.id < 0 || siteCount === 0 ? null : (targetOpsHz * sites) / siteCount,
          duringOtherOutagesOpsHz: n.id < 0 || seconds === 0 ? null : okInside / seconds,
        };
      });
  }
}

/** Intervals at least half inside `spans` (an open span reaches on), else the one most inside them; none without spans. */
function intervalsInside<T extends { startMs: number; endMs: number }>(intervals: readonly T[], spans: readonly OutageSpan[]): T[] {
  if (spans.length === 0) return [];
  const covered = (iv: T): number => spans.reduce((a, o) => a + Math.max(0, Math.min(iv.endMs, o.endMs ?? Infinity) - Math.max(iv.startMs, o.startMs)), 0);
  const mostly = intervals.filter((iv) => iv.endMs > iv.startMs && covered(iv) >= 0.5 * (iv.endMs - iv.startMs));
  if (mostly.length > 0) return mostly;
  let best: T | undefined;
  for (const iv of intervals) if (covered(iv) > 0 && (!best || covered(iv) > covered(best))) best = iv;
  return best ? [best] : [];
}

/** The notes a reader sees about the nodes: one line per node that failed, naming its outage and how the others fared. Pure. */
export function nodeNotes(nodes: readonly NodeFiguresOfLoad[]): string[] {
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  const notes: string[] = [];
  for (const n of nodes) {
    if (n.errors === 0) continue;
    const by = Object.entries(n.errorsBySqlstate).map(([k, v]) => `${k}=${v}`).join(', ');
    const when = n.outages.map((o) => (o.endMs === null ? `from ${s(o.startMs)} s to the end` : `${s(o.startMs)}–${s(o.endMs)} s`)).join(', ');
    const what = n.node === COORDINATOR ? 'statements that lost their own connection to the coordinator (also counted on their nodes)' : `node ${n.node} (${n.sites} sites)`;
    notes.push(`${what}: ${n.errors} failed operations (${by})${when ? `, unavailable ${when}` : ''}`);
  }
  const served = nodes.filter((n) => n.duringOtherOutagesOpsHz !== null && n.targetOpsHz !== null);
  if (served.length > 0) {
    notes.push(`during the other nodes' outages: ${served.map((n) => `${n.node} served ${n.duringOtherOutagesOpsHz!.toFixed(1)} ops/s (target share ${n.targetOpsHz!.toFixed(1)})`).join('; ')}`);
  }
  return notes;
}

/** A step's summary with its ingest per node (errors only on the nodes whose shards failed) and their notes. */
export function withNodeFigures<S extends { readonly ingest: object; readonly notes: readonly string[] }>(
  summary: S, byNode: NodeLoad, placement: SitePlacement,
  config: { readonly instance: { readonly count: number } | null; readonly rateHz: number | 'max'; readonly batch: number; readonly warmupMs: number; readonly durationMs: number },
): S {
  const share = config.instance ? config.instance.count : 1;
  // With several rows per statement an operation touches several nodes: no per-node target then.
  const targetOpsHz = config.rateHz === 'max' || config.batch !== 1 ? null : config.rateHz / share;
  const nodes = byNode.summarize(placement, targetOpsHz, config.warmupMs + config.durationMs);
  return { ...summary, ingest: { ...summary.ingest, byNode: nodes }, notes: [...summary.notes, ...nodeNotes(nodes)] };
}
