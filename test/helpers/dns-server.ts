// A small authoritative DNS server (dns2) on 127.0.0.1 for tests: it answers TXT, CNAME, MX, A and
// AAAA queries from maps the test changes at will. Point Posthorn at it with
// POSTHORN_DNS_SERVERS=<server.address>. Names it does not know are NXDOMAIN; a known name without
// records of the asked type is an empty NOERROR answer (NODATA), as a real server answers.
// UDP and TCP listen on the same port: a long DKIM key can exceed a 512-byte UDP answer, and a
// resolver then retries over TCP.
import dns2 from 'dns2';
import type { AddressInfo, Socket } from 'node:net';

const { Packet } = dns2;
// RFC 1035 §4.1.1 response codes (dns2 has Packet.RCODE, its typings do not).
const FORMERR = 1;
const SERVFAIL = 2;
const NXDOMAIN = 3;

export interface DnsTestServer {
  port: number;
  /** `127.0.0.1:<port>`, the value for POSTHORN_DNS_SERVERS. */
  address: string;
  /** Name (lower case, no trailing dot) → TXT records, each one string however long. */
  txt: Map<string, string[]>;
  /** Name → CNAME target. */
  cname: Map<string, string>;
  /** Name → MX records (exchange "." is a null MX). */
  mx: Map<string, Array<{ priority: number; exchange: string }>>;
  /** Name → IPv4 addresses. */
  a: Map<string, string[]>;
  /** Name → IPv6 addresses. */
  aaaa: Map<string, string[]>;
  /** Names (lower case) answered with a format error: a lookup failure, not an absent record. */
  failing: Set<string>;
  /** Names answered SERVFAIL (a resolver's "try again later"). */
  servfail: Set<string>;
  /** Every question seen, as `TYPE name`. */
  queries: string[];
  setTxt(name: string, ...records: string[]): void;
  setCname(name: string, target: string): void;
  setMx(name: string, ...records: Array<[priority: number, exchange: string]>): void;
  setA(name: string, ...addresses: string[]): void;
  setAaaa(name: string, ...addresses: string[]): void;
  remove(name: string): void;
  close(): Promise<void>;
}

const key = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** A TXT record's character-strings hold at most 255 bytes each (RFC 1035 §3.3.14). */
function characterStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(bytes.subarray(i, i + 255));
  return parts.length ? parts : [Buffer.alloc(0)];
}

export async function startDnsServer(): Promise<DnsTestServer> {
  const txt = new Map<string, string[]>();
  const cname = new Map<string, string>();
  const failing = new Set<string>();
  const servfail = new Set<string>();
  const mx = new Map<string, Array<{ priority: number; exchange: string }>>();
  const a = new Map<string, string[]>();
  const aaaa = new Map<string, string[]>();
  const queries: string[] = [];
  const known = (name: string) => txt.has(name) || cname.has(name) || mx.has(name) || a.has(name) || aaaa.has(name);
  const typeName = (type: number) => Object.entries(Packet.TYPE).find(([, v]) => v === type)?.[0] ?? String(type);

  const handle: dns2.DnsHandler = (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const question = request.questions[0];
    if (!question) {
      response.header.rcode = FORMERR;
      void send(response);
      return;
    }
    const name = key(question.name);
    queries.push(`${typeName(question.type)} ${name}`);
    const target = cname.get(name);
    if (failing.has(name)) {
      response.header.rcode = FORMERR;
    } else if (servfail.has(name)) {
      response.header.rcode = SERVFAIL;
    } else if (question.type === Packet.TYPE.MX && mx.has(name)) {
      for (const r of mx.get(name)!)
        response.answers.push(
          Packet.createResourceFromQuestion(question, {
            type: Packet.TYPE.MX,
            ttl: 60,
            priority: r.priority,
            exchange: r.exchange,
          } as never),
        );
    } else if (question.type === Packet.TYPE.A && a.has(name)) {
      for (const address of a.get(name)!)
        response.answers.push(Packet.createResourceFromQuestion(question, { type: Packet.TYPE.A, ttl: 60, address }));
    } else if (question.type === Packet.TYPE.AAAA && aaaa.has(name)) {
      for (const address of aaaa.get(name)!)
        response.answers.push(
          Packet.createResourceFromQuestion(question, { type: Packet.TYPE.AAAA, ttl: 60, address }),
        );
    } else if (target !== undefined && (question.type === Packet.TYPE.CNAME || question.type === Packet.TYPE.TXT)) {
      // A CNAME answers every type at its name; this server does not chase the target.
      response.answers.push(
        Packet.createResourceFromQuestion(question, { type: Packet.TYPE.CNAME, ttl: 60, domain: target }),
      );
    } else if (question.type === Packet.TYPE.TXT && txt.has(name)) {
      for (const value of txt.get(name)!) {
        // dns2 writes Buffers as they are, one character-string each.
        response.answers.push(
          Packet.createResourceFromQuestion(question, {
            type: Packet.TYPE.TXT,
            ttl: 60,
            data: characterStrings(value) as unknown as string[],
          }),
        );
      }
    } else if (!known(name)) {
      response.header.rcode = NXDOMAIN;
    }
    void send(response);
  };

  // Bind UDP on a random port, then TCP on the same one; retry in the rare case TCP's is taken.
  for (let attempt = 0; ; attempt++) {
    const udp = dns2.createUDPServer(handle);
    await udp.listen(0, '127.0.0.1');
    const port = (udp.address() as AddressInfo).port;
    const tcp = dns2.createTCPServer(handle);
    // Resolvers may keep a TCP connection open; close() must not wait for them.
    const sockets = new Set<Socket>();
    tcp.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      udp.close();
      if (attempt < 5) continue;
      throw new Error('could not bind the test DNS server on UDP and TCP');
    }
    return {
      port,
      address: `127.0.0.1:${port}`,
      txt,
      cname,
      mx,
      a,
      aaaa,
      failing,
      servfail,
      queries,
      setTxt: (name, ...records) => void txt.set(key(name), records),
      setCname: (name, target) => void cname.set(key(name), target),
      setMx: (name, ...records) =>
        void mx.set(
          key(name),
          records.map(([priority, exchange]) => ({ priority, exchange })),
        ),
      setA: (name, ...addresses) => void a.set(key(name), addresses),
      setAaaa: (name, ...addresses) => void aaaa.set(key(name), addresses),
      remove(name) {
        for (const map of [txt, cname, mx, a, aaaa]) map.delete(key(name));
      },
      close: () =>
        Promise.all([
          (sockets.forEach((s) => s.destroy()), undefined),
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]).then(() => undefined),
    };
  }
}
