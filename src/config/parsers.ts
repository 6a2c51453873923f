// Parsers of the settings whose values have structure: relay URLs, resolver addresses, Redis URLs.
import { ConfigError } from './setting.ts';

export interface RelayConfig {
  url: string;
  secure: boolean; // smtps:// (implicit TLS)
  host: string;
  port: number;
  user?: string;
  pass?: string;
  /** STARTTLS policy for smtp:// relays: require it, use it when offered, or never. */
  starttls: 'require' | 'opportunistic' | 'off';
  rejectUnauthorized: boolean;
}

export function parseRelays(raw: string | undefined): RelayConfig[] {
  if (!raw || !raw.trim()) return [];
  return raw.split(',').map((part) => {
    const text = part.trim();
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError(`POSTHORN_RELAYS: "${text}" is not a URL like smtp://user:pass@host:587`);
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
      throw new ConfigError(`POSTHORN_RELAYS: "${text}" must start with smtp:// or smtps://`);
    }
    if (!url.hostname) throw new ConfigError(`POSTHORN_RELAYS: "${text}" has no host`);
    const secure = url.protocol === 'smtps:';
    const port = url.port ? Number(url.port) : secure ? 465 : 587;
    const starttls = url.searchParams.get('starttls') ?? 'opportunistic';
    if (!['require', 'opportunistic', 'off'].includes(starttls)) {
      throw new ConfigError(`POSTHORN_RELAYS: starttls must be require, opportunistic or off in "${text}"`);
    }
    const reject = url.searchParams.get('rejectUnauthorized');
    return {
      url: `${url.protocol}//${url.hostname}:${port}`,
      secure,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      pass: url.password ? decodeURIComponent(url.password) : undefined,
      starttls: starttls as RelayConfig['starttls'],
      rejectUnauthorized: reject === null ? true : !/^(0|false|no)$/i.test(reject),
    };
  });
}

export function parseDnsServers(raw: string): string[] {
  if (!raw.trim()) return [];
  return raw.split(',').map((s) => {
    const v = s.trim();
    if (!/^(\d{1,3}(\.\d{1,3}){3}(:\d+)?|\[[0-9a-fA-F:]+\](:\d+)?|[0-9a-fA-F:]+)$/.test(v)) {
      throw new ConfigError(`POSTHORN_DNS_SERVERS: "${v}" is not an IP address (optionally with :port)`);
    }
    return v;
  });
}

export function parseRedisUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`REDIS_URL: "${raw}" is not a URL like redis://127.0.0.1:6379`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got "${raw}"`);
  }
  if (!/^\/?\d*$/.test(url.pathname)) {
    throw new ConfigError(`REDIS_URL: the path must be a database number, got "${url.pathname}"`);
  }
  return url.toString();
}
