// SMTP command lines (RFC 5321 4.1): the verb, and the path and parameters of MAIL FROM and
// RCPT TO. Only syntax here; whether an address may send or receive is the service's to say.

export interface CommandLine {
  /** Upper-cased: `MAIL`, `RCPT`, `EHLO`, … */
  verb: string;
  /** What follows the verb and one space, as sent. */
  args: string;
}

export function parseCommandLine(line: string): CommandLine {
  const space = line.indexOf(' ');
  if (space < 0) return { verb: line.toUpperCase(), args: '' };
  return { verb: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
}

export interface PathArgument {
  /** The address between the angle brackets; '' for the null path `<>`. */
  address: string;
  /** ESMTP parameters, keys upper-cased; a parameter without `=` has the value true. */
  params: Map<string, string | true>;
}

/**
 * Parses `FROM:<address> PARAM=value …` (or `TO:…`). Returns null when the line is not of that shape.
 * A space after the colon and a path without brackets are taken, as most servers do.
 */
export function parsePathArgument(args: string, keyword: 'FROM' | 'TO'): PathArgument | null {
  const colon = args.indexOf(':');
  if (colon < 0 || args.slice(0, colon).trim().toUpperCase() !== keyword) return null;
  const rest = args.slice(colon + 1).trimStart();
  let address: string;
  let tail: string;
  if (rest.startsWith('<')) {
    const close = rest.indexOf('>');
    if (close < 0) return null;
    address = rest.slice(1, close);
    tail = rest.slice(close + 1);
    if (tail !== '' && !tail.startsWith(' ')) return null;
  } else {
    const space = rest.indexOf(' ');
    address = space < 0 ? rest : rest.slice(0, space);
    tail = space < 0 ? '' : rest.slice(space);
    if (address === '') return null;
  }
  // A source route (`<@relay:user@host>`, RFC 5321 4.1.2) is obsolete: its hops are dropped.
  if (address.startsWith('@')) {
    const routeEnd = address.indexOf(':');
    if (routeEnd < 0) return null;
    address = address.slice(routeEnd + 1);
  }
  if (/[\s<>]/.test(address)) return null;
  const params = new Map<string, string | true>();
  for (const param of tail.split(' ')) {
    if (param === '') continue;
    const eq = param.indexOf('=');
    if (eq === 0) return null;
    if (eq < 0) params.set(param.toUpperCase(), true);
    else params.set(param.slice(0, eq).toUpperCase(), param.slice(eq + 1));
  }
  return { address, params };
}
