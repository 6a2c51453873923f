import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, parseRelays } from '../../src/config.ts';

describe('configuration', () => {
  it('has working defaults for a fresh start', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8025);
    expect(c.delivery).toBe('capture');
    expect(c.databaseUrl).toMatch(/^sqlite:.*data\/posthorn\.db$/);
    expect(c.publicUrl).toBe('http://localhost:8025');
    expect(c.maxBodyBytes).toBe(20 * 1024 * 1024);
    expect(c.maxRecipients).toBe(1000);
    expect(c.suppression).toEqual({ hardBounces: true, complaints: true, unsubscribes: true, softBounceLimit: 5 });
  });

  it.each([
    [{ PORT: 'abc' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be between/],
    [{ POSTHORN_DELIVERY: 'pigeon' }, /POSTHORN_DELIVERY must be capture, relay or mx/],
    [{ POSTHORN_DELIVERY: 'relay' }, /needs POSTHORN_RELAYS/],
    [{ POSTHORN_DELIVERY: 'relay', POSTHORN_RELAYS: 'http://x' }, /must start with smtp:\/\/ or smtps:\/\//],
    [{ POSTHORN_RELAYS: 'not a url' }, /is not a URL/],
    [{ POSTHORN_RELAYS: 'smtp://h:25?starttls=maybe' }, /starttls must be/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must start with postgres:\/\/ or sqlite:/],
    [{ PUBLIC_URL: 'ftp://x' }, /PUBLIC_URL must be an http\(s\) URL/],
    [{ POSTHORN_DNS_SERVERS: 'dns.example.com' }, /is not an IP address/],
    [{ POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'maybe' }, /must be true or false/],
    [{ POSTHORN_RETRY_SCHEDULE: '1m,soon' }, /is not a duration/],
    [{ POSTHORN_SECRET: 'short' }, /at least 32 characters/],
    [{ POSTHORN_ROLE: 'boss' }, /POSTHORN_ROLE must be/],
    [{ POSTHORN_HOSTNAME: 'localhost' }, /POSTHORN_HOSTNAME must be a fully qualified host name/],
    [{ POSTHORN_HOSTNAME: 'bad_name.example.com' }, /POSTHORN_HOSTNAME must be/],
    [{ POSTHORN_MX_LOCAL_ADDRESSES: '198.51.100.7, nonsense' }, /"nonsense" is not an IP address/],
    [{ POSTHORN_MX_LOCAL_ADDRESSES: 'not a domain=198.51.100.7' }, /is not a domain name/],
    [{ POSTHORN_MX_DOMAIN_LIMITS: 'gmail.com:connections=0' }, /POSTHORN_MX_DOMAIN_LIMITS: .*connections must be/],
    [{ POSTHORN_MTA_STS: 'maybe' }, /POSTHORN_MTA_STS must be enforce, testing or off/],
    [{ POSTHORN_MX_PORT: '0' }, /POSTHORN_MX_PORT must be between 1 and 65535/],
    [{ POSTHORN_SOFT_BOUNCE_LIMIT: 'five' }, /POSTHORN_SOFT_BOUNCE_LIMIT must be a whole number/],
    [{ POSTHORN_SUPPRESS_COMPLAINTS: 'sometimes' }, /POSTHORN_SUPPRESS_COMPLAINTS must be true or false/],
  ])('refuses %o with a clear message', (env, message) => {
    expect(() => loadConfig(env as Record<string, string>)).toThrow(ConfigError);
    expect(() => loadConfig(env as Record<string, string>)).toThrow(message);
  });

  it('starts direct MX delivery with its settings', () => {
    const c = loadConfig({
      POSTHORN_DELIVERY: 'mx',
      POSTHORN_HOSTNAME: 'Mail.Example.com.',
      POSTHORN_MX_LOCAL_ADDRESSES: '198.51.100.7, [2001:db8::7], news.example.com=198.51.100.9',
      POSTHORN_MX_DOMAIN_LIMITS: 'gmail.com:connections=20,rate=50/s',
    });
    expect(c.delivery).toBe('mx');
    expect(c.hostname).toBe('mail.example.com');
    expect(c.mx.port).toBe(25);
    expect(c.mx.mtaSts).toBe('enforce');
    expect(c.mx.localAddresses.pool).toEqual(['198.51.100.7', '2001:db8::7']);
    expect(c.mx.localAddresses.bySender.get('news.example.com')).toBe('198.51.100.9');
    expect(c.mx.domainLimits.byDomain.get('gmail.com')).toEqual({ connections: 20, rate: { count: 50, perMs: 1000 } });
    expect(loadConfig({}).hostname).toMatch(/^[a-z0-9.-]+$/);
  });

  it('parses several relays with credentials and TLS options', () => {
    const relays = parseRelays(
      'smtp://us%40er:p%3Ass@relay1.example.com:2525?starttls=require, smtps://relay2.example.com?rejectUnauthorized=false',
    );
    expect(relays).toEqual([
      {
        url: 'smtp://relay1.example.com:2525',
        secure: false,
        host: 'relay1.example.com',
        port: 2525,
        user: 'us@er',
        pass: 'p:ss',
        starttls: 'require',
        rejectUnauthorized: true,
      },
      {
        url: 'smtps://relay2.example.com:465',
        secure: true,
        host: 'relay2.example.com',
        port: 465,
        user: undefined,
        pass: undefined,
        starttls: 'opportunistic',
        rejectUnauthorized: false,
      },
    ]);
  });

  it('parses durations', () => {
    expect(parseDuration('250ms', 'X')).toBe(0.25);
    expect(parseDuration('90', 'X')).toBe(90);
    expect(parseDuration('5m', 'X')).toBe(300);
    expect(parseDuration('2d', 'X')).toBe(172800);
  });
});
