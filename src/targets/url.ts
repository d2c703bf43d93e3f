/**
 * Connection strings: parsing, validation and masking. Every place that shows
 * a URL to a person goes through {@link maskUrl}, so a password never reaches
 * the terminal, a log or results/.
 */
import { parse } from 'pg-connection-string';
import { UsageError } from '../errors.js';

/** Replace the password of a postgres URL (and any `password=` parameter) with `***`. */
export function maskUrl(url: string): string {
  // user:password@ — the password may itself hold '@' (pg-connection-string splits at the last one).
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:)([^/?#]*)@/i, (_m, head: string) => `${head}***@`);
  out = out.replace(/([?&]password=)[^&#]*/gi, '$1***');
  return out;
}

/** Mask every postgres URL and `password=...` pair inside free text (error messages). */
export function maskSecrets(text: string): string {
  return text
    .replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi, (m) => maskUrl(m))
    .replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
}

/**
 * Check that a user-given URL is a postgres URL we can use; throw a UsageError naming
 * the problem (with the password masked) otherwise.
 */
export function validateUrl(url: string): void {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new UsageError(`--url ${maskUrl(url)}: not a PostgreSQL URL (expected postgresql://user@host:port/db)`);
  }
  // The port first: both parsers below reject an out-of-range port as just "invalid URL".
  const portText = portOf(url);
  if (portText !== '') {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
      throw new UsageError(`--url ${maskUrl(url)}: port must be 1..65535`);
    }
  }
  try {
    parse(url);
  } catch {
    throw new UsageError(`--url ${maskUrl(url)}: malformed URL`);
  }
  try {
    // pg-connection-string is lenient; WHATWG URL catches malformed hosts.
    if (!/[?&]host=/.test(url)) new URL(url.replace(/^postgres(ql)?:/i, 'http:'));
  } catch {
    throw new UsageError(`--url ${maskUrl(url)}: malformed URL`);
  }
}

/** The port text of a URL's authority ('' when none): after the last '@', after an IPv6 ']', after the last ':'. */
function portOf(url: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const afterHost = hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']') + 1) : hostPort;
  const colon = afterHost.lastIndexOf(':');
  return colon < 0 ? '' : afterHost.slice(colon + 1);
}
