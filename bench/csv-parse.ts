// Our CSV code against csv-parse / csv-stringify on the same data, to decide whether the libraries
// may replace it (`node bin/run-ts.mjs bench/csv-parse.ts FILE.csv`; results in BENCHMARKS.md):
// parsing records of FILE, and writing the same records back as CSV lines.
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { CsvParser, type CsvRecord } from '../src/domain/csv.ts';
import { csvLine } from '../src/domain/subscriber-csv.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: bench/csv-parse.ts FILE.csv');

async function parseOurs(): Promise<string[][]> {
  const parser = new CsvParser();
  const out: CsvRecord[] = [];
  const records: string[][] = [];
  for await (const chunk of fs.createReadStream(file!, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
    parser.push(chunk as string, out);
    for (const r of out) records.push(r.fields);
    out.length = 0;
  }
  parser.end(out);
  for (const r of out) records.push(r.fields);
  return records;
}

async function parseLibrary(): Promise<string[][]> {
  const records: string[][] = [];
  const parser = fs
    .createReadStream(file!, { highWaterMark: 256 * 1024 })
    .pipe(parse({ bom: true, skip_empty_lines: true, relax_column_count: true, delimiter: ',' }));
  for await (const record of parser) records.push(record as string[]);
  return records;
}

const sink = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

async function writeOurs(records: string[][]): Promise<void> {
  const out = sink();
  for (const r of records) if (!out.write(csvLine(r))) await new Promise((resolve) => out.once('drain', resolve));
  out.end();
}

async function writeLibrary(records: string[][]): Promise<void> {
  const stringifier = stringify({ record_delimiter: '\r\n' });
  const done = pipeline(stringifier, sink());
  for (const r of records)
    if (!stringifier.write(r)) await new Promise((resolve) => stringifier.once('drain', resolve));
  stringifier.end();
  await done;
}

async function time<T>(name: string, count: () => number, run: () => Promise<T>): Promise<T> {
  const start = process.hrtime.bigint();
  const result = await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const n = count() || (result as unknown[]).length;
  console.log(`${name.padEnd(22)} ${n} records in ${seconds.toFixed(2)} s: ${Math.round(n / seconds)} records/s`);
  return result;
}

for (let round = 0; round < 2; round++) {
  const records = await time('parse: ours', () => 0, parseOurs);
  await time('parse: csv-parse', () => 0, parseLibrary);
  await time(
    'write: ours',
    () => records.length,
    () => writeOurs(records),
  );
  await time(
    'write: csv-stringify',
    () => records.length,
    () => writeLibrary(records),
  );
}
