#!/usr/bin/env -S node --max-old-space-size=160
// Entry point for `npm start`, `npx posthorn …` and `npm run posthorn -- …`.
// TypeScript sources are loaded through tsx's ESM loader, so there is no build step to forget.
// The V8 heap is capped at 160 MB (here and in `npm start`): Posthorn streams lists and batches
// its work, so its live heap stays under ~100 MB, but uncapped V8 lets garbage pile up to several
// hundred MB before collecting it (a million-recipient mailing peaked at ~400 MB RSS, ~280 MB capped,
// at the same speed). NODE_OPTIONS=--max-old-space-size=N with `node bin/posthorn.mjs` sets another.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
