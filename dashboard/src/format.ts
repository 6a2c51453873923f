export const dateTime = (iso: string | number | null | undefined) =>
  iso === null || iso === undefined
    ? '—'
    : new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export const bytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`;

export const address = (a: { email: string; name: string | null } | null) =>
  a === null ? '—' : a.name ? `${a.name} <${a.email}>` : a.email;

/** The header block of a raw MIME message (up to the first empty line), unfolded into name/value pairs. */
export function headersOf(raw: string): Array<[string, string]> {
  const end = raw.search(/\r?\n\r?\n/);
  const block = (end < 0 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return block
    .split(/\r?\n/)
    .map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()] as [string, string];
    })
    .filter(([name]) => name.length > 0);
}
