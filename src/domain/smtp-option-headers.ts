// `X-MT-*` option headers: how a message submitted over SMTP asks for what an HTTP transmission
// sets in its JSON body. They are read at submission and removed before the message is stored.
// An unknown X-MT- header, a repeated one or a value that cannot be used refuses the message and
// names the header: a misspelt option silently ignored would send mail the sender did not mean.

export interface SubmissionOptions {
  openTracking?: boolean;
  clickTracking?: boolean;
  sandbox?: boolean;
  transactional?: boolean;
  metadata?: Record<string, string>;
  campaignId?: string;
  labels?: string[];
}

export class OptionHeaderError extends Error {
  constructor(
    readonly header: string,
    why: string,
  ) {
    super(`${header} ${why}`);
  }
}

const PREFIX = 'x-mt-';
const MAX_METADATA_BYTES = 10 * 1024;
const MAX_LINE = 256;
const MAX_LABELS = 50;

export function isOptionHeader(name: string): boolean {
  return name.toLowerCase().startsWith(PREFIX);
}

type Apply = (options: SubmissionOptions, value: string, header: string) => void;

const flag =
  (set: (options: SubmissionOptions, on: boolean) => void): Apply =>
  (options, value, header) =>
    set(options, parseFlag(value, header));

/** Every option header, by lower-cased name, with the name as documented. */
const HEADERS: Partial<Record<string, { name: string; apply: Apply }>> = {
  'x-mt-tracking': {
    name: 'X-MT-Tracking',
    apply: flag((o, on) => {
      o.openTracking ??= on;
      o.clickTracking ??= on;
    }),
  },
  'x-mt-open-tracking': { name: 'X-MT-Open-Tracking', apply: flag((o, on) => (o.openTracking = on)) },
  'x-mt-click-tracking': { name: 'X-MT-Click-Tracking', apply: flag((o, on) => (o.clickTracking = on)) },
  'x-mt-sandbox': { name: 'X-MT-Sandbox', apply: flag((o, on) => (o.sandbox = on)) },
  'x-mt-transactional': { name: 'X-MT-Transactional', apply: flag((o, on) => (o.transactional = on)) },
  'x-mt-metadata': { name: 'X-MT-Metadata', apply: (o, value, header) => (o.metadata = parseMetadata(value, header)) },
  'x-mt-campaign-id': {
    name: 'X-MT-Campaign-Id',
    apply: (o, value, header) => (o.campaignId = parseLine(value, header)),
  },
  'x-mt-labels': {
    name: 'X-MT-Labels',
    apply: (o, value, header) => {
      const labels = value
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean);
      if (labels.length > MAX_LABELS) throw new OptionHeaderError(header, `has more than ${MAX_LABELS} labels`);
      o.labels = labels.map((l) => parseLine(l, header));
    },
  },
};

/** The documented option header names. */
export const OPTION_HEADER_NAMES = Object.values(HEADERS).map((h) => h!.name);

/**
 * Reads the X-MT-* fields among `fields` (values unfolded, as raw bytes in a latin1 string; UTF-8
 * is decoded). The specific tracking headers win over X-MT-Tracking whatever their order.
 */
export function parseOptionHeaders(fields: Array<{ name: string; value: string }>): SubmissionOptions {
  const options: SubmissionOptions = {};
  const seen = new Set<string>();
  const ours = fields.filter((f) => isOptionHeader(f.name));
  // The general switch last, so that it only fills what the specific ones left open.
  ours.sort(
    (a, b) => Number(a.name.toLowerCase() === 'x-mt-tracking') - Number(b.name.toLowerCase() === 'x-mt-tracking'),
  );
  for (const field of ours) {
    const key = field.name.toLowerCase();
    const known = HEADERS[key];
    if (!known)
      throw new OptionHeaderError(
        field.name,
        `is not a known option header (known: ${OPTION_HEADER_NAMES.join(', ')})`,
      );
    if (seen.has(key)) throw new OptionHeaderError(known.name, 'is given more than once');
    seen.add(key);
    known.apply(options, Buffer.from(field.value, 'latin1').toString('utf8').trim(), known.name);
  }
  return options;
}

function parseFlag(value: string, header: string): boolean {
  if (/^(on|true|yes|1)$/i.test(value)) return true;
  if (/^(off|false|no|0)$/i.test(value)) return false;
  throw new OptionHeaderError(header, `must be on or off (true/false), got "${value.slice(0, 40)}"`);
}

function parseLine(value: string, header: string): string {
  if (value === '') throw new OptionHeaderError(header, 'must not be empty');
  if (value.length > MAX_LINE) throw new OptionHeaderError(header, `must be at most ${MAX_LINE} characters`);
  return value;
}

function parseMetadata(value: string, header: string): Record<string, string> {
  if (Buffer.byteLength(value) > MAX_METADATA_BYTES)
    throw new OptionHeaderError(header, `must be at most ${MAX_METADATA_BYTES / 1024} KB`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new OptionHeaderError(header, 'must be a JSON object, e.g. {"orderId":"1234"}');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new OptionHeaderError(header, 'must be a JSON object, e.g. {"orderId":"1234"}');
  for (const [key, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw new OptionHeaderError(header, `value of "${key.slice(0, 40)}" must be a string`);
  }
  return parsed as Record<string, string>;
}
