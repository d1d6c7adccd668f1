/**
 * Every relative link in the repository's Markdown points at a file that exists, and every
 * `#anchor` at a heading of its target, computed the way GitHub (and npm) make them. Pages
 * move; a link into a page that no longer holds the section fails here, not for a reader.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '../../..');
const PAGES = [
  'README.md',
  'proxy/README.md',
  'bench/README.md',
  'nodes/README.md',
  'credentials/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The text of a page outside fenced code blocks, where links and headings live. */
function prose(file: string): string[] {
  let fenced = false;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => {
      if (line.trimStart().startsWith('```')) fenced = !fenced;
      return !fenced;
    });
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, repeats numbered. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(file)) {
    const heading = /^#{1,6} (.+)$/.exec(line);
    if (heading === null) continue;
    const base = heading[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

describe('Markdown links', () => {
  it.each(PAGES)('%s links only to files and headings that exist', (page) => {
    const file = join(ROOT, page);
    const broken: string[] = [];
    for (const line of prose(file)) {
      for (const match of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = match[1];
        if (/^[a-z]+:/i.test(link)) continue;
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? file : resolve(dirname(file), path);
        if (!existsSync(target)) {
          broken.push(`${link}: ${relative(ROOT, target)} does not exist`);
        } else if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor)) {
          broken.push(`${link}: ${relative(ROOT, target)} has no heading #${anchor}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
