#!/usr/bin/env -S node --max-old-space-size=160
// Entry point for `npm start`, `npx posthorn …` and `npm run posthorn -- …`.
// Runs the compiled JavaScript in dist/ (built by `npm ci` through `prepare`, or `npm run build`);
// no TypeScript loader at run time.
// The V8 heap is capped at 160 MB (here and in `npm start`): Posthorn streams lists and batches
// its work, so its live heap stays under ~100 MB, but uncapped V8 lets garbage pile up to several
// hundred MB before collecting it (a million-recipient mailing peaked at ~400 MB RSS, ~280 MB capped,
// at the same speed). NODE_OPTIONS=--max-old-space-size=N with `node bin/posthorn.mjs` sets another.
import fs from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!fs.existsSync(main)) {
  console.error('posthorn: dist/ is missing; run `npm run build` (npm ci does it through `prepare`).');
  process.exit(1);
}
await import(main.href);
