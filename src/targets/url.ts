/**
 * Connection strings: parsing, validation and masking. Every place that shows
 * a URL to a person goes through {@link maskUrl}, so a password never reaches
 * the terminal, a log or results/.
 *
 * No regular expression reads a connection string here: a password may hold
 * `/ # ? @ %` and spaces, which a pattern over the URL's grammar gets wrong
 * (the old regex left `postgresql://u:se/cret@h/db` unmasked). A URL that the
 * WHATWG parser accepts is split where that parser splits it; one it refuses
 * (an unencoded `/`, `#` or `?` in the password) is masked conservatively:
 * everything between `://` and its last `@` after the first `:` is hidden.
 * Passwords the CLI knows of ({@link rememberSecretsOf}) are also redacted
 * wherever they appear in free text, raw or percent-encoded.
 */
import { parse } from 'pg-connection-string';
import { UsageError } from '../errors.js';

const MASK = '***';

/** Passwords seen by the CLI (raw, decoded and encoded forms), redacted from any text by {@link maskSecrets}. */
const knownSecrets = new Set<string>();

/**
 * Remember the password of a connection string (and a bare password, e.g. PGPASSWORD) so
 * {@link maskSecrets} redacts it from any text, even text no URL scanner would recognise.
 * Forms shorter than 3 characters are not remembered (they would mask ordinary words).
 */
export function rememberSecretsOf(urlOrPassword: string, kind: 'url' | 'password' = 'url'): void {
  const add = (s: string): void => {
    if (s.length < 3) return;
    knownSecrets.add(s);
    knownSecrets.add(encodeURIComponent(s));
    knownSecrets.add(encodeURI(s));
  };
  if (kind === 'password') {
    add(urlOrPassword);
    return;
  }
  const p = credentialsOf(urlOrPassword);
  if (p !== undefined && p.password !== '') {
    add(p.password);
    try {
      add(decodeURIComponent(p.password));
    } catch {
      // not percent-encoded text: the raw form is remembered above
    }
  }
  const query = queryOf(urlOrPassword);
  for (const [k, v] of query) if (k.toLowerCase() === 'password') add(v);
  try {
    const parsed = parse(urlOrPassword);
    if (typeof parsed.password === 'string') add(parsed.password);
  } catch {
    // a URL pg-connection-string refuses is masked conservatively instead
  }
}

/** Where `scheme://` ends, or -1 when `text` has no scheme. */
function authorityStart(text: string): number {
  const i = text.indexOf('://');
  if (i <= 0) return -1;
  for (let k = 0; k < i; k++) {
    const c = text.charCodeAt(k);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    const other = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
    if (!alpha && !(k > 0 && other)) return -1;
  }
  return i + 3;
}

/** Is the text accepted by the WHATWG URL parser (as a non-special scheme)? */
function wellFormed(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/** The end of the authority of a well-formed URL: the first `/`, `?` or `#` after `start`. */
function authorityEnd(url: string, start: number): number {
  let end = url.length;
  for (const c of ['/', '?', '#']) {
    const k = url.indexOf(c, start);
    if (k >= 0 && k < end) end = k;
  }
  return end;
}

/**
 * The userinfo of a URL as written: `{ user, password, at }` where `at` is the index of the
 * `@` that ends it; undefined without one. A URL the WHATWG parser refuses is read
 * conservatively (the last `@` of the whole text), so a password holding `/ # ?` is found.
 */
function credentialsOf(url: string): { user: string; password: string; userStart: number; colon: number; at: number } | undefined {
  const start = authorityStart(url);
  if (start < 0) return undefined;
  const end = wellFormed(url) ? authorityEnd(url, start) : url.length;
  const at = url.lastIndexOf('@', end - 1);
  if (at < start) return undefined;
  const colon = url.indexOf(':', start);
  if (colon < 0 || colon > at) return { user: url.slice(start, at), password: '', userStart: start, colon: -1, at };
  return { user: url.slice(start, colon), password: url.slice(colon + 1, at), userStart: start, colon, at };
}

/** The query parameters of a URL as written (after the first `?`, before a `#`). */
function queryOf(url: string): Array<[string, string]> {
  const q = url.indexOf('?');
  if (q < 0) return [];
  const hash = url.indexOf('#', q);
  const text = url.slice(q + 1, hash < 0 ? url.length : hash);
  return text.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

/** Replace the password of a postgres URL (and any `password=` parameter) with `***`. */
export function maskUrl(url: string): string {
  const cred = credentialsOf(url);
  let out = url;
  let tail = 0;
  if (cred !== undefined && cred.colon >= 0) {
    out = `${url.slice(0, cred.colon + 1)}${MASK}${url.slice(cred.at)}`;
    tail = cred.colon + 1 + MASK.length + 1;
  } else if (cred !== undefined) {
    tail = cred.at + 1;
  }
  return out.slice(0, tail) + maskPasswordPairs(out.slice(tail));
}

const TEXT_STOPS = new Set([' ', '\t', '\n', '\r', '"', "'", '`', '<', '>', ',', ';', '(', ')']);

/**
 * Mask every URL's password, every `password=` value and every remembered secret inside
 * free text (error messages, notes). URLs are found by their `://`, not by a pattern.
 */
export function maskSecrets(text: string): string {
  let out = text;
  // Longest first, so a secret containing another is replaced whole.
  for (const s of [...knownSecrets].sort((a, b) => b.length - a.length)) out = out.split(s).join(MASK);
  out = maskUrlsIn(out);
  return maskPasswordPairs(out);
}

/** Each `scheme://…` token in `text` passed through {@link maskUrl}. */
function maskUrlsIn(text: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const sep = text.indexOf('://', from);
    if (sep < 0) break;
    let s = sep;
    while (s > from && /* scheme characters */ isSchemeChar(text.charCodeAt(s - 1))) s--;
    if (s === sep) {
      out += text.slice(from, sep + 3);
      from = sep + 3;
      continue;
    }
    let e = sep + 3;
    while (e < text.length && !TEXT_STOPS.has(text[e]!)) e++;
    out += text.slice(from, s) + maskUrl(text.slice(s, e));
    from = e;
  }
  return out + text.slice(from);
}

function isSchemeChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
}

/** `password=value` / `password = 'a b'` (any case) with the value replaced by `***`. */
function maskPasswordPairs(text: string): string {
  const lower = text.toLowerCase();
  let out = '';
  let from = 0;
  for (;;) {
    const k = lower.indexOf('password', from);
    if (k < 0) break;
    let i = k + 'password'.length;
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] !== '=') {
      out += text.slice(from, k + 'password'.length);
      from = k + 'password'.length;
      continue;
    }
    i++;
    while (text[i] === ' ' || text[i] === '\t') i++;
    let e = i;
    if (text[i] === "'" || text[i] === '"') {
      const close = text.indexOf(text[i]!, i + 1);
      e = close < 0 ? text.length : close + 1;
    } else {
      while (e < text.length && !TEXT_STOPS.has(text[e]!) && text[e] !== '&' && text[e] !== '#') e++;
    }
    out += text.slice(from, i) + (e > i ? MASK : '');
    from = e;
  }
  return out + text.slice(from);
}

/**
 * Check that a user-given URL is a postgres URL we can use; throw a UsageError naming
 * the problem (with the password masked) otherwise.
 */
export function validateUrl(url: string): void {
  const start = authorityStart(url);
  const scheme = start < 0 ? '' : url.slice(0, start - 3).toLowerCase();
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new UsageError(`--url ${maskUrl(url)}: not a PostgreSQL URL (expected postgresql://user@host:port/db)`);
  }
  // libpq takes an empty host with ?host=/socket/dir (postgresql://u@/db?host=/tmp), WHATWG URL does not.
  const socketHost = queryOf(url).some(([k]) => k === 'host');
  if (!wellFormed(url) && !socketHost) {
    // The port first: the parser rejects an out-of-range port as just "invalid URL".
    if (badPort(url)) throw new UsageError(`--url ${maskUrl(url)}: port must be 1..65535`);
    throw new UsageError(`--url ${maskUrl(url)}: malformed URL (a password holding / # ? @ % or a space must be percent-encoded)`);
  }
  if (badPort(url)) throw new UsageError(`--url ${maskUrl(url)}: port must be 1..65535`);
  try {
    parse(url);
  } catch {
    throw new UsageError(`--url ${maskUrl(url)}: malformed URL`);
  }
}

/** Is there a port in the authority that is not 1..65535? (after the userinfo's '@', after an IPv6 ']', after the last ':') */
function badPort(url: string): boolean {
  const cred = credentialsOf(url);
  const hostStart = cred === undefined ? authorityStart(url) : cred.at + 1;
  const hostPort = url.slice(hostStart, authorityEnd(url, hostStart));
  const afterHost = hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']') + 1) : hostPort;
  const colon = afterHost.lastIndexOf(':');
  if (colon < 0) return false;
  const text = afterHost.slice(colon + 1);
  if (text === '') return false;
  const digits = [...text].every((c) => c >= '0' && c <= '9');
  const port = Number(text);
  return !digits || port < 1 || port > 65535;
}
