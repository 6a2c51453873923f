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
