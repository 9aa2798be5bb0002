import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The arrows between layers point one way: roles wire adapters and the
 * domain together, adapters never reach up into roles, and the domain knows
 * no I/O at all. Read from the sources themselves, so a new import that
 * points the wrong way fails here rather than in a review.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Every module specifier a file names: static imports and re-exports, side-effect imports, and `import()`. */
function importSpecifiers(source: string): string[] {
  const patterns = [
    /\bfrom\s+(['"])([^'"]+)\1/g,
    /\bimport\s+(['"])([^'"]+)\1/g,
    /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[2] as string));
}

interface Arrow {
  /** The importing file, relative to src/ with forward slashes. */
  from: string;
  /** The imported file, relative to src/ with forward slashes. */
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The imports between files of src/ (packages and node: modules left out). */
function arrows(): Arrow[] {
  const toSrcPath = (path: string) => relative(SRC, path).split(sep).join('/');
  return sourceFiles(SRC).flatMap((file) =>
    importSpecifiers(readFileSync(file, 'utf8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => ({ from: toSrcPath(file), to: toSrcPath(resolve(dirname(file), specifier)) })),
  );
}

const within = (folder: string) => (path: string) => path.startsWith(`${folder}/`);

describe('architecture: arrows that point one way', () => {
  const all = arrows();

  it('reads the imports of src/ (the checks below are not vacuous)', () => {
    expect(all.filter((arrow) => within('adapters')(arrow.from)).length).toBeGreaterThan(50);
    expect(all.filter((arrow) => within('domain')(arrow.from)).length).toBeGreaterThan(5);
  });

  it('finds static, re-exported, side-effect and dynamic imports', () => {
    const source = [
      "import type { A } from '../roles/role.js';",
      "export { B } from './b.js';",
      "import './side-effect.js';",
      "const { c } = await import('../roles/shop.js');",
      'import {\n  d,\n  e,\n} from "../roles/double-quoted.js";',
    ].join('\n');
    expect(importSpecifiers(source).sort()).toEqual(
      ['../roles/role.js', './b.js', '../roles/double-quoted.js', './side-effect.js', '../roles/shop.js'].sort(),
    );
  });

  it('no module in src/adapters imports from src/roles or src/cli', () => {
    const upward = all.filter(
      (arrow) => within('adapters')(arrow.from) && (within('roles')(arrow.to) || within('cli')(arrow.to)),
    );
    expect(upward).toEqual([]);
  });

  it('src/domain imports nothing from adapters, roles, cli, config or lineage: only itself and src/errors.ts', () => {
    const outward = all.filter(
      (arrow) => within('domain')(arrow.from) && !within('domain')(arrow.to) && arrow.to !== 'errors.js',
    );
    expect(outward).toEqual([]);
  });

  it('src/lineage (the model and its page) imports nothing from adapters, roles or cli: adapters read it, not the reverse', () => {
    const outward = all.filter(
      (arrow) =>
        within('lineage')(arrow.from) &&
        (within('adapters')(arrow.to) || within('roles')(arrow.to) || within('cli')(arrow.to)),
    );
    expect(outward).toEqual([]);
  });
});
