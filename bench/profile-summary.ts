// Summarises one or more .cpuprofile files: `node bin/run-ts.mjs bench/profile-summary.ts FILE… [--top N]`.
import { printProfileSummary } from './lib/cpu-profile.ts';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
if (args.length === 0) {
  console.error('usage: node bin/run-ts.mjs bench/profile-summary.ts FILE.cpuprofile… [--top N]');
  process.exit(2);
}
for (const file of args) printProfileSummary(file, top);
