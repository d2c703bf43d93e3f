/** SQL quoting for the few places that must put a name or a value into SQL text. Pure. */

/** Quote an identifier: "name" with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quote a string as a SQL literal: 'text' with embedded quotes doubled. */
export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
