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
    [{ POSTHORN_SOFT_BOUNCE_LIMIT: 'five' }, /POSTHORN_SOFT_BOUNCE_LIMIT must be a whole number/],
    [{ POSTHORN_SUPPRESS_COMPLAINTS: 'sometimes' }, /POSTHORN_SUPPRESS_COMPLAINTS must be true or false/],
  ])('refuses %o with a clear message', (env, message) => {
    expect(() => loadConfig(env as Record<string, string>)).toThrow(ConfigError);
    expect(() => loadConfig(env as Record<string, string>)).toThrow(message);
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
