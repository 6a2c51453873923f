// Which file a worker thread starts from. In production the compiled .js beside the caller. From the
// TypeScript sources (tests, benchmarks): the build's copy when the build is newer than every
// source file (`npm test` builds first), else the thread's `-tsx.mjs` entry, which loads the .ts
// through tsx (slower to start: every module is transformed on load).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const srcDir = new URL('./', import.meta.url);
const runningFromSources = import.meta.url.endsWith('.ts');
let builtCurrent: boolean | null = null;

/** `name` is the thread's path under src/ without extension, e.g. `delivery/build-thread`. */
export function threadEntry(name: string): URL {
  if (!runningFromSources) return new URL(`./${name}.js`, srcDir);
  builtCurrent ??= builtIsCurrent(srcDir, new URL('../dist/.tsbuildinfo', srcDir));
  return builtCurrent ? new URL(`../dist/${name}.js`, srcDir) : new URL(`./${name}-tsx.mjs`, srcDir);
}

function builtIsCurrent(sources: URL, buildInfo: URL): boolean {
  let builtAt: number;
  try {
    builtAt = fs.statSync(buildInfo).mtimeMs;
  } catch {
    return false;
  }
  const newest = (dir: string): number => {
    let max = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      max = Math.max(max, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
    }
    return max;
  };
  return newest(fileURLToPath(sources)) <= builtAt;
}
