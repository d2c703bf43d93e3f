/**
 * The relative links of markdown files, and whether each resolves: the target
 * file exists and, when the link names an anchor, the target has a heading
 * with that GitHub slug. Parsed with markdown-it (links in code blocks and
 * code spans are not links), slugs from github-slugger (GitHub's own rules,
 * duplicates numbered per file). External links (a scheme: http:, mailto:)
 * are left alone; nothing here touches the network.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import MarkdownIt from 'markdown-it';

type Token = ReturnType<MarkdownIt['parse']>[number];

const md = new MarkdownIt({ html: true });

/** One link found in a markdown file. */
export interface MdLink {
  /** The file the link is in (absolute). */
  readonly from: string;
  /** The link's target as written (href or image src). */
  readonly href: string;
  /** 1-based line of the block that holds the link. */
  readonly line: number;
}

function htmlTargets(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)) out.push(m[1] ?? '');
  return out;
}

/** Every link and image target in the markdown file `file`. */
export function linksOf(file: string): MdLink[] {
  const tokens = md.parse(readFileSync(file, 'utf8'), {});
  const out: MdLink[] = [];
  const walk = (ts: readonly Token[], line: number): void => {
    for (const t of ts) {
      const at = t.map ? t.map[0] + 1 : line;
      if (t.type === 'link_open') out.push({ from: file, href: t.attrGet('href') ?? '', line: at });
      else if (t.type === 'image') out.push({ from: file, href: t.attrGet('src') ?? '', line: at });
      else if (t.type === 'html_block' || t.type === 'html_inline') for (const h of htmlTargets(t.content)) out.push({ from: file, href: h, line: at });
      if (t.children) walk(t.children, at);
    }
  };
  walk(tokens, 1);
  return out;
}

/** The GitHub anchors of a markdown file's headings, in order. */
export function anchorsOf(file: string): string[] {
  const tokens = md.parse(readFileSync(file, 'utf8'), {});
  const slugger = new GithubSlugger();
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]?.type !== 'heading_open') continue;
    const inline = tokens[i + 1];
    const text = (inline?.children ?? []).filter((c) => c.type === 'text' || c.type === 'code_inline').map((c) => c.content).join('');
    out.push(slugger.slug(text));
  }
  return out;
}

/** A link is external when it has a URL scheme (`https:`, `mailto:`): parsed, never fetched. */
function isExternal(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(href);
}

/**
 * The problems of the relative links in `files`: one line each, empty when
 * every link resolves. A link `#x` points into its own file.
 */
export function brokenLinks(files: readonly string[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const l of linksOf(file)) {
      if (l.href === '' ) { problems.push(`${file}:${l.line}: empty link`); continue; }
      if (isExternal(l.href)) continue;
      const hash = l.href.indexOf('#');
      const rel = decodeURIComponent(hash < 0 ? l.href : l.href.slice(0, hash));
      const anchor = hash < 0 ? null : decodeURIComponent(l.href.slice(hash + 1));
      const target = rel === '' ? file : path.resolve(path.dirname(file), rel);
      if (!existsSync(target)) { problems.push(`${file}:${l.line}: ${l.href}: no such file ${target}`); continue; }
      if (anchor === null) continue;
      if (!statSync(target).isFile() || !target.endsWith('.md')) { problems.push(`${file}:${l.line}: ${l.href}: an anchor into a file that is not markdown`); continue; }
      if (!anchorsOf(target).includes(anchor)) problems.push(`${file}:${l.line}: ${l.href}: no heading with the anchor #${anchor} in ${target}`);
    }
  }
  return problems;
}
