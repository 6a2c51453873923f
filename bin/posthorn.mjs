#!/usr/bin/env node
// Entry point for `npm start`, `npx posthorn …` and `npm run posthorn -- …`.
// TypeScript sources are loaded through tsx's ESM loader, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
