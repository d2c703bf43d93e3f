/**
 * The tutorial's HTTP-request rows, generated client-side from a seeded PRNG.
 * Distributions follow the tutorial's INSERT: site_id uniform in [0, sites),
 * url http://example.com/<32 hex digits> (an md5 is 32 hex digits), a country
 * and a status code uniform over their lists, each IP octet uniform in 2..251
 * (stored as the tutorial stores it: 'a.b.c.d/32'),
 * response_time_msec uniform in 5..154. Pure.
 */
import type { WorkloadShape } from '../config/types.js';
import { Prng } from './prng.js';

/** Column order of a generated row, matching INSERT/COPY column lists. */
export const ROW_COLUMNS = ['site_id', 'url', 'request_country', 'ip_address', 'status_code', 'response_time_msec'] as const;

export type Row = [siteId: number, url: string, country: string, ip: string, statusCode: number, responseTimeMsec: number];

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class RowGenerator {
  private readonly prng: Prng;
  private readonly shape: WorkloadShape;
  /** Sites this generator draws from: [siteOffset, siteOffset + siteCount). */
  private readonly siteOffset: number;
  private readonly siteCount: number;

  /**
   * @param seed run seed; @param stream per-worker stream id, so workers produce different rows;
   * @param sites optional slice of sites (for several load-generator instances).
   */
  constructor(shape: WorkloadShape, seed: number, stream: number, sites?: { offset: number; count: number }) {
    this.prng = new Prng(seed, stream);
    this.shape = shape;
    this.siteOffset = sites?.offset ?? 0;
    this.siteCount = sites?.count ?? shape.sites;
  }

  /** The next row. */
  next(): Row {
    const p = this.prng;
    const siteId = this.siteOffset + p.below(this.siteCount);
    let hex = '';
    for (let i = 0; i < 4; i++) {
      const w = p.nextUint32();
      hex += HEX[w >>> 24]! + HEX[(w >>> 16) & 255]! + HEX[(w >>> 8) & 255]! + HEX[w & 255]!;
    }
    const countries = this.shape.countries;
    const codes = this.shape.statusCodes;
    const country = countries[p.below(countries.length)]!;
    // The tutorial casts its address to inet and stores it in a TEXT column, which
    // keeps the mask: '1.2.3.4/32'. Same text here, so distinct counts agree across forms.
    const ip = `${2 + p.below(250)}.${2 + p.below(250)}.${2 + p.below(250)}.${2 + p.below(250)}/32`;
    const status = codes[p.below(codes.length)]!;
    const rt = 5 + p.below(150);
    return [siteId, 'http://example.com/' + hex, country, ip, status, rt];
  }
}

/** One row as a line of COPY text format (tab-separated, no escaping needed: validated values hold no tabs, newlines or backslashes). */
export function rowToCopyLine(row: Row): string {
  return `${row[0]}\t${row[1]}\t${row[2]}\t${row[3]}\t${row[4]}\t${row[5]}\n`;
}
