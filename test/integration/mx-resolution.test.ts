// Direct MX delivery, resolution and fallback: real SMTP servers on several loopback addresses, a
// real DNS server publishing their MX and address records, and Posthorn's mx transport choosing
// between them as RFC 5321 §5 (and RFC 7505 for null MX) says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { eventsOf, sendTo, startMxWorld, waitForStatus, type MxServer, type MxWorld } from '../helpers/mx-world.ts';
import { dialectName } from '../helpers/database.ts';

describe(`mx delivery: resolution and fallback (${dialectName})`, () => {
  let world: MxWorld;
  let server: TestServer;
  let primary: MxServer; // 127.0.0.3
  let backup: MxServer; // 127.0.0.2
  let busy: MxServer; // 127.0.0.4, greets with 421

  const connectionsEverywhere = () => [...world.servers.values()].reduce((n, s) => n + s.connections, 0);

  beforeAll(async () => {
    world = await startMxWorld();
    backup = await world.addServer('127.0.0.2');
    primary = await world.addServer('127.0.0.3');
    busy = await world.addServer('127.0.0.4', {
      onConnect(_session, callback) {
        callback(Object.assign(new Error('Too many connections, try again later'), { responseCode: 421 }));
      },
    });
    server = await startTestServer({ ...world.env(), POSTHORN_RETRY_SCHEDULE: '300ms' });
  });
  afterAll(async () => {
    await server?.close();
    await world?.close();
  });

  it('delivers to the most preferred exchanger', async () => {
    world.route('pref.example', [20, 'mx-b.pref.example', '127.0.0.2'], [10, 'mx-a.pref.example', '127.0.0.3']);
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'ada@pref.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(primary.messages.map((r) => r.to)).toContainEqual(['ada@pref.example']);
    expect(backup.messages.some((r) => r.to.includes('ada@pref.example'))).toBe(false);
    const [delivery] = (await eventsOf(server, m.id)).filter((e) => e.type === 'delivery');
    expect(delivery!.data.via).toBe(`mx-a.pref.example[127.0.0.3]:${world.port}`);
    // Our EHLO name is POSTHORN_HOSTNAME.
    expect([...primary.heloNames]).toEqual(['posthorn.test.example']);
  });

  it('falls back to the next exchanger when the preferred one refuses the connection', async () => {
    // Nothing listens on 127.0.0.9.
    world.route('down.example', [10, 'mx-dead.down.example', '127.0.0.9'], [20, 'mx-b.down.example', '127.0.0.2']);
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'bob@down.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(backup.messages.map((r) => r.to)).toContainEqual(['bob@down.example']);
  });

  it('falls back to the next exchanger when the preferred one answers 421', async () => {
    world.route('busy.example', [10, 'mx-busy.busy.example', '127.0.0.4'], [20, 'mx-b.busy.example', '127.0.0.2']);
    const before = busy.connections;
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'cy@busy.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(busy.connections).toBeGreaterThan(before);
    expect(backup.messages.map((r) => r.to)).toContainEqual(['cy@busy.example']);
  });

  it('delivers to the domain itself when it has no MX (implicit MX)', async () => {
    world.dns.setA('implicit.example', '127.0.0.3');
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'dee@implicit.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(primary.messages.map((r) => r.to)).toContainEqual(['dee@implicit.example']);
    expect(world.dns.queries).toContain('MX implicit.example');
  });

  it('bounces a null-MX domain at once, without a connection (class 10)', async () => {
    world.dns.setMx('nomail.example', [0, '.']);
    const before = connectionsEverywhere();
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'eve@nomail.example'));
    expect(m).toMatchObject({ status: 'bounced', bounceClass: 10, attempts: 1 });
    expect(m.lastResponse).toMatch(/^556 5\.1\.10 .*null MX/);
    expect(connectionsEverywhere()).toBe(before);
    const [bounce] = (await eventsOf(server, m.id)).filter((e) => e.type === 'bounce');
    expect(bounce!.data).toMatchObject({ bounceClass: 10, via: 'dns' });
  });

  it('bounces a domain that does not exist at once, without a connection (class 21)', async () => {
    const before = connectionsEverywhere();
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'fay@nowhere.example'));
    expect(m).toMatchObject({ status: 'bounced', bounceClass: 21, attempts: 1 });
    expect(m.lastResponse).toMatch(/NXDOMAIN/);
    expect(connectionsEverywhere()).toBe(before);
  });

  it('defers when the resolver fails (SERVFAIL) and delivers once it answers again', async () => {
    world.dns.servfail.add('flaky.example');
    const id = await sendTo(server, 'gus@flaky.example');
    const deferred = await waitForStatus(server, id, 'deferred');
    expect(deferred).toMatchObject({ bounceClass: 21 });
    expect(deferred.lastResponse).toMatch(/^451 4\.4\.3 /);
    world.route('flaky.example', [10, 'mx-a.flaky.example', '127.0.0.3']);
    world.dns.servfail.delete('flaky.example');
    const m = await waitForStatus(server, id, 'delivered');
    expect(m.attempts).toBeGreaterThan(1);
    expect(primary.messages.map((r) => r.to)).toContainEqual(['gus@flaky.example']);
  });

  it('reuses one connection for consecutive messages to the same exchanger', async () => {
    world.route('reuse.example', [10, 'mx-a.reuse.example', '127.0.0.3']);
    const before = primary.connections;
    for (let i = 0; i < 5; i++) {
      const [m] = await waitForTransmission(server.api, await sendTo(server, `r${i}@reuse.example`));
      expect(m.status).toBe('delivered');
    }
    expect(primary.connections - before).toBe(1);
  });
});

describe(`mx delivery over IPv6 and from chosen local addresses (${dialectName})`, () => {
  let world: MxWorld;
  let server: TestServer;
  let v6: MxServer;

  beforeAll(async () => {
    world = await startMxWorld();
    v6 = await world.addServer('::1');
    await world.addServer('127.0.0.2');
    server = await startTestServer({
      ...world.env(),
      POSTHORN_MX_IPV6: 'on',
      POSTHORN_MX_LOCAL_ADDRESSES: '127.0.0.7, 127.0.0.8, ::1, bound.posthorn.example=127.0.0.9',
    });
  });
  afterAll(async () => {
    await server?.close();
    await world?.close();
  });

  it('delivers to an exchanger that has only an IPv6 address', async () => {
    world.route('six.example', [10, 'mx.six.example', '::1']);
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'ivy@six.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(v6.messages.map((r) => r.to)).toContainEqual(['ivy@six.example']);
    const [delivery] = (await eventsOf(server, m.id)).filter((e) => e.type === 'delivery');
    expect(delivery!.data.via).toBe(`mx.six.example[::1]:${world.port}`);
  });

  it('tries the IPv6 address first and falls back to IPv4 when it does not answer', async () => {
    // ::2 is not on this host: the connection fails and the exchanger's IPv4 address takes it.
    world.dns.setAaaa('mx.dual.example', '::2');
    world.dns.setA('mx.dual.example', '127.0.0.2');
    world.dns.setMx('dual.example', [10, 'mx.dual.example']);
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'jo@dual.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(world.servers.get('127.0.0.2')!.messages.map((r) => r.to)).toContainEqual(['jo@dual.example']);
  });

  it('sends from the local addresses in turn, and from the one bound to a sending domain', async () => {
    world.route('pool.example', [10, 'mx.pool.example', '127.0.0.2']);
    const inbox = world.servers.get('127.0.0.2')!;
    const before = inbox.remoteAddresses.length;
    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'sender@posthorn-mx.example' },
      to: Array.from({ length: 6 }, (_, i) => ({ email: `p${i}@pool.example` })),
      subject: 'Hello',
      bodyText: 'From several addresses',
    });
    const all = await waitForTransmission(server.api, res.body.transmissionId);
    expect(all.every((m) => m.status === 'delivered')).toBe(true);
    const used = new Set(inbox.remoteAddresses.slice(before).map((a) => a.replace(/^::ffff:/, '')));
    expect([...used].every((a) => a === '127.0.0.7' || a === '127.0.0.8')).toBe(true);
    expect(used.size).toBe(2);

    const mark = inbox.remoteAddresses.length;
    const [m] = await waitForTransmission(
      server.api,
      await sendTo(server, 'q@pool.example', 'news@bound.posthorn.example'),
    );
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(inbox.remoteAddresses.slice(mark).map((a) => a.replace(/^::ffff:/, ''))).toEqual(['127.0.0.9']);
  });
});
