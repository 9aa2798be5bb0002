/**
 * Every relative link in the docs a newcomer walks (README.md, CONTRIBUTING.md,
 * docs/*.md) leads somewhere: the file or folder exists, and a `#anchor` names
 * a heading of the page it points at. Pure file reads, no broker: it runs in
 * the unit tier, so a page moved or a heading renamed fails before a reader
 * meets the dead link.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';

/** The pages a reader walks, relative to `root`. */
function docPages(root: string): string[] {
  const docs = join(root, 'docs');
  const pages = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith('.md'))
        .map((name) => join('docs', name))
    : [];
  return ['README.md', 'CONTRIBUTING.md', ...pages].filter((page) => existsSync(join(root, page)));
}

/** The text outside fenced code blocks and inline code spans, where a link is a link. */
function proseOf(markdown: string): string {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (fence === undefined && marker) {
      fence = marker;
      lines.push('');
    } else if (fence !== undefined) {
      if (marker?.startsWith(fence)) fence = undefined;
      lines.push('');
    } else {
      lines.push(line.replace(/(`+)[\s\S]*?\1/g, ''));
    }
  }
  return lines.join('\n');
}

/** Inline links and images, `[text](target)` and `![alt](target "title")`, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown);
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
  const references = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map(
    (m) => m[1] ?? '',
  );
  return [...inline, ...references];
}

/** GitHub's anchor for a heading: its text lower-cased, punctuation dropped (`_` and `-` stay), each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text stays, its target goes
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page offers: its headings (a repeated one gets -1, -2, …) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of headingsOf(markdown)) {
    const base = slug(line);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) if (match[1]) anchors.add(match[1]);
  return anchors;
}

/** ATX headings (`## Title`) outside code blocks, their text with any closing #s removed. */
function headingsOf(markdown: string): string[] {
  const headings: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (fence === undefined && marker) fence = marker;
    else if (fence !== undefined && marker?.startsWith(fence)) fence = undefined;
    else if (fence === undefined) {
      const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
      if (heading !== undefined) headings.push(heading);
    }
  }
  return headings;
}

/** What is wrong with each relative link of the pages under `root`, one line each; empty when all resolve. */
function brokenLinks(root: string): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    let anchors = anchorCache.get(file);
    if (!anchors) {
      anchors = anchorsOf(readFileSync(file, 'utf8'));
      anchorCache.set(file, anchors);
    }
    return anchors;
  };
  for (const page of docPages(root)) {
    const source = join(root, page);
    for (const target of linkTargets(readFileSync(source, 'utf8'))) {
      // Other sites, mail, and protocol-relative links are not ours to check.
      if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
      const hash = target.indexOf('#');
      const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const file = path === '' ? source : resolve(dirname(source), path);
      if (!existsSync(file)) {
        problems.push(`${page}: ${target}: ${relative(root, file)} does not exist`);
        continue;
      }
      if (anchor !== undefined && anchor !== '' && file.endsWith('.md') && !anchorsIn(file).has(anchor)) {
        problems.push(`${page}: ${target}: no heading in ${relative(root, file)} makes #${anchor}`);
      }
    }
  }
  return problems;
}

describe('the docs', () => {
  it('walk the README, CONTRIBUTING and every page in docs/', () => {
    const pages = docPages(repoRoot);
    expect(pages).toContain('README.md');
    expect(pages).toContain('CONTRIBUTING.md');
    expect(pages.filter((page) => page.startsWith('docs'))).not.toHaveLength(0);
  });

  it('have no relative link to a missing file, and no #anchor that names no heading', () => {
    expect(brokenLinks(repoRoot)).toEqual([]);
  });
});

describe('the link check', () => {
  const root = mkdtempSync(join(tmpdir(), 'pizza-links-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds a missing file, a missing anchor, and passes over code and other sites', () => {
    mkdirSync(join(root, 'docs'));
    writeFileSync(
      join(root, 'README.md'),
      [
        '# Pizza',
        '## `npm run bench`: the shop',
        '## Again',
        '## Again',
        '[ok](docs/a.md#whats-here) [own](#npm-run-bench-the-shop) [second](#again-1) [img](docs/a.md)',
        '[gone](docs/missing.md) [no heading](docs/a.md#nowhere) [web](https://example.com/x.md)',
        '`[code](docs/missing-in-code.md)`',
        '```md',
        '[fenced](docs/missing-in-fence.md)',
        '```',
      ].join('\n'),
    );
    writeFileSync(join(root, 'CONTRIBUTING.md'), '[back](README.md#pizza)\n');
    writeFileSync(
      join(root, 'docs', 'a.md'),
      "# What's here?\n[up](../README.md#again)\n[bad up](../README.md#nope)\n",
    );
    expect(brokenLinks(root)).toEqual([
      'README.md: docs/missing.md: docs/missing.md does not exist',
      'README.md: docs/a.md#nowhere: no heading in docs/a.md makes #nowhere',
      'docs/a.md: ../README.md#nope: no heading in README.md makes #nope',
    ]);
  });
});
