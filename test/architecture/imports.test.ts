// The direction of imports (README "Layout"): domain ← store, services ← http, smtp. The surfaces
// reach the store only through services, the domain depends on nothing of ours, and nothing below
// the surfaces imports them. Read from the source, so a new import the wrong way fails here.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The top-level folders of src/ that a file imports from (relative imports only). */
function importedLayers(file: string): Array<{ layer: string; specifier: string }> {
  const text = fs.readFileSync(file, 'utf8');
  const found: Array<{ layer: string; specifier: string }> = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = path.relative(src, path.resolve(path.dirname(file), match[1]));
    found.push({ layer: target.split(path.sep)[0], specifier: match[1] });
  }
  return found;
}

function violations(folders: string[], forbidden: string[]): string[] {
  return folders.flatMap((folder) =>
    sourceFiles(path.join(src, folder)).flatMap((file) =>
      importedLayers(file)
        .filter((i) => forbidden.includes(i.layer))
        .map((i) => `${path.relative(src, file)} imports ${i.specifier}`),
    ),
  );
}

describe('import direction', () => {
  it('finds the imports it checks', () => {
    // Guards the reader above: a surface file that imports services is seen as doing so.
    expect(importedLayers(path.join(src, 'http/limits.ts')).map((i) => i.layer)).toContain('services');
  });

  it('keeps the surfaces (http, smtp) away from the store', () => {
    expect(violations(['http', 'smtp'], ['store'])).toEqual([]);
  });

  it('keeps the domain free of every other layer', () => {
    expect(violations(['domain'], ['store', 'services', 'http', 'smtp', 'delivery', 'events'])).toEqual([]);
  });

  it('keeps services and the store from importing the surfaces', () => {
    expect(violations(['services', 'store'], ['http', 'smtp'])).toEqual([]);
  });
});
