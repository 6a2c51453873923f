// Parsers of the direct-MX settings: the EHLO host name and the local addresses to send from.
import os from 'node:os';
import { isIP } from 'node:net';
import { ConfigError } from './setting.ts';

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function isHostname(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => HOST_LABEL.test(label));
}

/** EHLO name: a fully qualified domain name (RFC 5321 §4.1.1.1). */
export function parseHostname(raw: string): string {
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!isHostname(name) || !name.includes('.'))
    throw new ConfigError(`POSTHORN_HOSTNAME must be a fully qualified host name like mail.example.com, got "${raw}"`);
  return name;
}

/** The machine's name, when it can stand in an EHLO. */
export function machineHostname(): string {
  const machine = os.hostname().toLowerCase();
  return isHostname(machine) ? machine : 'localhost';
}

export interface LocalAddresses {
  /** Used in turn (round robin) for every sending domain not named below. */
  pool: string[];
  /** A fixed local address per sending (From) domain. */
  bySender: Map<string, string>;
}

/** "198.51.100.7, 2001:db8::7, news.example.com=198.51.100.9": a pool, and per-sending-domain addresses. */
export function parseLocalAddresses(raw: string): LocalAddresses {
  const pool: string[] = [];
  const bySender = new Map<string, string>();
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const address = (eq < 0 ? entry : entry.slice(eq + 1)).trim().replace(/^\[|\]$/g, '');
    if (!isIP(address))
      throw new ConfigError(`POSTHORN_MX_LOCAL_ADDRESSES: "${entry}" is not an IP address (or domain=IP)`);
    if (eq < 0) pool.push(address);
    else {
      const domain = entry.slice(0, eq).trim().toLowerCase();
      if (!isHostname(domain) || !domain.includes('.'))
        throw new ConfigError(`POSTHORN_MX_LOCAL_ADDRESSES: "${domain}" in "${entry}" is not a domain name`);
      bySender.set(domain, address);
    }
  }
  return { pool, bySender };
}
