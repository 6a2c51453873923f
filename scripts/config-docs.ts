// Rewrites the configuration table in README.md from src/config/settings.ts: `npm run docs:config`.
import fs from 'node:fs';
import { withSettingsTable } from '../src/config/docs.ts';

const file = new URL('../README.md', import.meta.url);
const before = fs.readFileSync(file, 'utf8');
const after = withSettingsTable(before);
if (after !== before) fs.writeFileSync(file, after);
console.log(after === before ? 'README.md: settings table is up to date' : 'README.md: settings table rewritten');
