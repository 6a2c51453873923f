// Benchmark settings from `--name value` arguments or BENCH_* environment variables (arguments win).
import { parseArgs } from 'node:util';

export interface OptionSpec {
  [name: string]: { env: string; default: string };
}

export function readOptions<S extends OptionSpec>(spec: S, argv = process.argv.slice(2)): { [K in keyof S]: string } {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(spec).map((name) => [name, { type: 'string' as const }])),
    strict: true,
    allowPositionals: false,
  });
  const out = {} as { [K in keyof S]: string };
  for (const [name, s] of Object.entries(spec) as Array<[keyof S & string, S[keyof S]]>) {
    out[name] = (values[name] as string | undefined) ?? process.env[s.env] ?? s.default;
  }
  return out;
}

export function positiveInt(value: string, name: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new Error(`${name} must be a positive whole number, got "${value}"`);
  return Number(value);
}

export function flag(value: string): boolean {
  return /^(1|true|yes|on)$/i.test(value);
}
