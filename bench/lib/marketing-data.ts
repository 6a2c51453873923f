// Deterministic subscriber data for the marketing benchmarks: the same seed gives the same rows,
// so runs compare like with like. Rows are written to a CSV file as a stream; a million rows
// never sit in memory at once.
import fs from 'node:fs';

export const SUBSCRIBER_CSV_HEADER = 'email,firstname,lastname,languageIso,genderId,city,postcode';

export interface GeneratedSubscriber {
  email: string;
  firstname: string;
  lastname: string;
  languageIso: 'de' | 'en';
  genderId: 1 | 2 | 3;
  city: string;
  postcode: string;
}

// Small fixed vocabularies: a realistic spread of selectivity for the list filters
// (city=Berlin is ~1/12 of the rows, email like 'anna%' ~1/20).
const FIRSTNAMES = [
  'anna',
  'ben',
  'clara',
  'david',
  'emma',
  'felix',
  'greta',
  'hannes',
  'ida',
  'jonas',
  'karla',
  'lukas',
  'mia',
  'noah',
  'olga',
  'paul',
  'rosa',
  'sven',
  'tina',
  'uwe',
];
const LASTNAMES = [
  'Müller',
  'Schmidt',
  'Schneider',
  'Fischer',
  'Weber',
  'Meyer',
  'Wagner',
  'Becker',
  'Schulz',
  'Hoffmann',
  'Smith',
  'Jones',
  'Brown',
  'Taylor',
  'Wilson',
  'Evans',
];
const CITIES = [
  'Berlin',
  'Hamburg',
  'München',
  'Köln',
  'Frankfurt',
  'Stuttgart',
  'Düsseldorf',
  'Leipzig',
  'Dresden',
  'London',
  'Manchester',
  'Wien',
];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example'];

/** mulberry32: a tiny, fast, seedable PRNG (Math.random cannot be seeded). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Subscriber number `i` (0-based) of a run. The index is part of the email, so emails are unique
 * for any seed; `offset` lets several batches of one run continue the numbering.
 */
export function makeSubscriberFactory(seed: number): (i: number) => GeneratedSubscriber {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  return (i) => {
    const firstname = pick(FIRSTNAMES);
    const lastname = pick(LASTNAMES);
    return {
      email: `${firstname}.${i}@${pick(DOMAINS)}`,
      firstname: firstname[0]!.toUpperCase() + firstname.slice(1),
      lastname,
      languageIso: rnd() < 0.6 ? 'de' : 'en',
      genderId: (1 + Math.floor(rnd() * 3)) as 1 | 2 | 3,
      city: pick(CITIES),
      postcode: String(10000 + Math.floor(rnd() * 89999)),
    };
  };
}

/** None of the generated values holds a comma, quote or line break, so no CSV quoting is needed. */
function csvRow(s: GeneratedSubscriber): string {
  return `${s.email},${s.firstname},${s.lastname},${s.languageIso},${s.genderId},${s.city},${s.postcode}\n`;
}

/** Writes `rows` subscribers to `file` (header first); resolves with the file's size in bytes. */
export async function writeSubscriberCsv(file: string, rows: number, seed = 1): Promise<number> {
  const make = makeSubscriberFactory(seed);
  const out = fs.createWriteStream(file, { highWaterMark: 1 << 20 });
  const done = new Promise<void>((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
  });
  // Rows are joined into ~1 MB chunks: one write call per row would cost more than making the row.
  let chunk = SUBSCRIBER_CSV_HEADER + '\n';
  for (let i = 0; i < rows; i++) {
    chunk += csvRow(make(i));
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await done;
  return fs.statSync(file).size;
}
