// Direct delivery to the recipient domain's mail exchangers (POSTHORN_DELIVERY=mx). Per message:
//
//   politeness (may the domain take one more now?) → resolve (MX hosts and addresses; a null MX or
//   a domain that does not exist bounces here, a failing resolver defers) → MTA-STS policy → each
//   exchanger in preference order, each of its addresses, until one gives the message an answer.
//
// An exchanger that cannot be reached, refuses the session (a 4xx/5xx greeting or EHLO), answers
// 421 at any point, or fails TLS when TLS is required, is skipped for the next one. A reply to the
// message's own transaction (MAIL FROM, RCPT TO, DATA) is the answer and is not tried elsewhere,
// and neither is a connection lost mid-transaction (the exchanger may have the message already).
// TLS: STARTTLS whenever offered (opportunistic, any certificate; a failed handshake is retried in
// clear), except for domains whose MTA-STS policy we enforce: then only exchangers matching the
// policy, only over TLS 1.2+ with a certificate valid for the exchanger's name, never in clear.
import fs from 'node:fs';
import os from 'node:os';
import tls from 'node:tls';
import { isIP, type LookupFunction } from 'node:net';
import { domainToASCII } from 'node:url';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { MxConfig } from '../../config.ts';
import { parseSmtpReply, type SmtpReply } from '../../domain/bounce-classes.ts';
import { domainOf } from '../../domain/email-address.ts';
import { mxAllowedByPolicy, type StsPolicy } from '../../domain/mta-sts-policy.ts';
import { isThrottleReply } from '../../domain/throttle-replies.ts';
import type { Database } from '../../store/schema.ts';
import { findMtaStsPolicy, saveMtaStsPolicy } from '../../store/mta-sts-policies.ts';
import type { DeliveryDetails, Envelope, NotTried, SendResult, Transport } from './transport.ts';
import { createMxResolver, type MxHost, type MxResolver } from './mx-resolver.ts';
import { MxConnectionPool, type MxConnection, type Destination, type SmtpFailure, type TlsMode } from './mx-pool.ts';
import { Politeness } from './politeness.ts';
import { createStsPolicySource, fetchStsPolicyText, type PolicyStore, type StsPolicySource } from './mta-sts.ts';

export interface MxTransportOptions {
  mx: MxConfig;
  /** EHLO name. */
  hostname: string;
  dnsServers: string[];
  timeoutMs: number;
  /** The longest one message's transaction may take (socket timeouts miss an exchanger that trickles). */
  transactionTimeoutMs: number;
  log: Logger;
  /** Where MTA-STS policies are cached across restarts; memory only when absent. */
  db?: Kysely<Database>;
}

const TRANSACTION_COMMANDS = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);

/** One exchanger address tried: the message's answer, or why this exchanger did not give one. */
type Attempt =
  | { kind: 'answer'; reply: SmtpReply; details: DeliveryDetails }
  | {
      kind: 'failed';
      text: string;
      /** 421 or a "too many connections" refusal: the domain wants less from us. */
      throttled: boolean;
      /** The TLS handshake failed (opportunistic mode may retry in clear). */
      tlsFailed: boolean;
      /** Lost after the transaction began: the exchanger may hold the message; no other is tried. */
      midTransaction: boolean;
    };

/** Whether this host has a global IPv6 address (2000::/3) to send from. */
function hostHasIpv6(): boolean {
  return Object.values(os.networkInterfaces()).some((list) =>
    (list ?? []).some((a) => a.family === 'IPv6' && !a.internal && /^[23]/.test(a.address)),
  );
}

function readCaFile(file: string | null): string[] | undefined {
  if (!file) return undefined;
  // Extra CAs are added to the system's, not instead of them.
  return [...tls.rootCertificates, fs.readFileSync(file, 'utf8')];
}

function memoryPolicyStore(): PolicyStore {
  const map = new Map<string, Parameters<PolicyStore['save']>[1]>();
  return { load: async (d) => map.get(d) ?? null, save: async (d, p) => void map.set(d, p) };
}

function databasePolicyStore(db: Kysely<Database>): PolicyStore {
  return {
    async load(domain) {
      const row = await findMtaStsPolicy(db, domain);
      if (!row) return null;
      return {
        id: row.policy_id,
        policy: {
          mode: row.mode as StsPolicy['mode'],
          mx: JSON.parse(row.mx) as string[],
          maxAgeSeconds: Number(row.max_age),
        },
        fetchedAt: Number(row.fetched_at),
        expiresAt: Number(row.expires_at),
      };
    },
    async save(domain, c) {
      await saveMtaStsPolicy(db, {
        domain,
        policy_id: c.id,
        mode: c.policy.mode,
        mx: JSON.stringify(c.policy.mx),
        max_age: c.policy.maxAgeSeconds,
        fetched_at: c.fetchedAt,
        expires_at: c.expiresAt,
      });
    },
  };
}

/** A `lookup` for sockets that resolves through our resolver (the configured servers), not the system's. */
function lookupThrough(resolver: MxResolver): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    resolver.addresses(hostname).then(
      (list) => {
        if (list.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }));
          return;
        }
        const entries = list.map((address) => ({ address, family: isIP(address) }));
        if (options?.all) callback(null, entries);
        else callback(null, entries[0].address, entries[0].family);
      },
      (error: unknown) => callback(error),
    );
  }) as LookupFunction;
}

/** The From header's domain, for per-sending-domain local addresses (read from the header block only). */
function fromDomainOf(raw: Buffer): string | null {
  const head = raw.subarray(0, Math.min(raw.length, 16_384)).toString('latin1');
  const end = head.indexOf('\r\n\r\n');
  const m = /(?:^|\r\n)From:[^\r\n]*?@([A-Za-z0-9.-]+)/i.exec(end < 0 ? head : head.slice(0, end));
  return m ? m[1].toLowerCase() : null;
}

export function createMxTransport(opts: MxTransportOptions): Transport {
  const { mx, log } = opts;
  const useIpv6 = mx.ipv6 === 'on' || (mx.ipv6 === 'auto' && hostHasIpv6());
  const resolver = createMxResolver({ servers: opts.dnsServers, ipv6: useIpv6 });
  const ca = readCaFile(mx.caFile);
  const pool = new MxConnectionPool({ hostname: opts.hostname, timeoutMs: opts.timeoutMs, ca });
  const politeness = new Politeness(mx.domainLimits);
  const policies: StsPolicySource | null =
    mx.mtaSts === 'off'
      ? null
      : createStsPolicySource({
          txt: (name) => resolver.txt(name),
          fetchPolicy: (domain) =>
            fetchStsPolicyText(domain, { port: mx.mtaStsPort, ca, lookup: lookupThrough(resolver) }),
          store: opts.db ? databasePolicyStore(opts.db) : memoryPolicyStore(),
          log,
        });
  let roundRobin = 0;
  /** Connections carrying a message now: abort() cuts them. */
  const sending = new Set<MxConnection>();
  /** Set by abort(): every send in flight, and every later one, fails with it (and is retried later). */
  let abortedWith: string | null = null;

  function localAddressFor(address: string, senderDomain: string | null): string | undefined {
    const family = isIP(address);
    const fixed = senderDomain ? mx.localAddresses.bySender.get(senderDomain) : undefined;
    if (fixed && isIP(fixed) === family) return fixed;
    const candidates = mx.localAddresses.pool.filter((a) => isIP(a) === family);
    if (candidates.length === 0) return undefined;
    return candidates[roundRobin++ % candidates.length];
  }

  async function tryAddress(destination: Destination, envelope: Envelope, raw: Buffer): Promise<Attempt> {
    const where = `${destination.host}[${destination.address}]`;
    let connection;
    try {
      connection = await pool.acquire(destination);
    } catch (error) {
      const e = error as SmtpFailure;
      const reply = e.response ? parseSmtpReply(e.response, e.responseCode ?? 0) : null;
      return {
        kind: 'failed',
        text: `${where}: ${e.response ?? e.message}`.trim(),
        throttled: reply !== null && isThrottleReply(reply),
        tlsFailed: e.code === 'ETLS',
        midTransaction: false,
      };
    }
    const details: DeliveryDetails = {};
    const session = connection.tls();
    if (session) details.tls = session;
    let result: { response: string } | SmtpFailure;
    if (abortedWith !== null) result = Object.assign(new Error(`not sent: ${abortedWith}`), { code: 'EABORT' });
    else {
      sending.add(connection);
      result = await connection.send(envelope, raw, opts.transactionTimeoutMs);
      sending.delete(connection);
    }
    if (!(result instanceof Error)) {
      pool.release(connection, true);
      return { kind: 'answer', reply: parseSmtpReply(result.response, 250), details };
    }
    const e = result;
    if (e.responseCode && TRANSACTION_COMMANDS.has(e.command ?? '')) {
      const reply = { ...parseSmtpReply(e.response ?? `${e.responseCode}`, e.responseCode), code: e.responseCode };
      if (reply.code === 421) {
        // The exchanger is closing the session: not an answer about this message.
        pool.release(connection, false);
        return {
          kind: 'failed',
          text: `${where}: ${reply.text}`,
          throttled: true,
          tlsFailed: false,
          midTransaction: false,
        };
      }
      pool.release(connection, await connection.reset());
      return { kind: 'answer', reply, details };
    }
    pool.release(connection, false);
    if (e.code === 'EMESSAGE') return { kind: 'answer', reply: parseSmtpReply(`552 5.3.4 ${e.message}`), details };
    if (e.code === 'EENVELOPE' && !e.responseCode)
      return { kind: 'answer', reply: parseSmtpReply(`550 5.5.0 ${e.message}`), details };
    return { kind: 'failed', text: `${where}: ${e.message}`, throttled: false, tlsFailed: false, midTransaction: true };
  }

  /** The exchangers to try and how, given the domain's MTA-STS policy and our ceiling on it. */
  function plan(hosts: MxHost[], policy: StsPolicy | null) {
    const enforce = policy?.mode === 'enforce' && mx.mtaSts === 'enforce';
    const testing = !enforce && policy !== null && policy.mode !== 'none';
    const allowed = policy && policy.mode !== 'none' ? hosts.filter((h) => mxAllowedByPolicy(h.name, policy)) : hosts;
    return {
      enforce,
      testing,
      hosts: enforce ? allowed : hosts,
      /** Exchangers that the policy would not allow (reported in testing mode). */
      unlisted: hosts.filter((h) => !allowed.includes(h)).map((h) => h.name),
      tls: (enforce ? 'verify' : 'opportunistic') as TlsMode,
    };
  }

  async function deliver(
    domain: string,
    envelope: Envelope,
    raw: Buffer,
  ): Promise<SendResult & { throttled?: boolean }> {
    const route = await resolver.resolve(domain);
    if (route.kind !== 'hosts') return { reply: route.reply, via: 'dns' };
    const policy = policies ? await policies.policyFor(domain) : null;
    const p = plan(route.hosts, policy);
    const stsMode = p.enforce ? 'enforce' : 'testing';
    if (p.enforce && p.hosts.length === 0)
      return {
        reply: parseSmtpReply(
          `451 4.7.5 MTA-STS: no mail exchanger of ${domain} ` +
            `(${route.hosts.map((h) => h.name).join(', ')}) matches its policy`,
        ),
        via: 'mta-sts',
        details: { mtaSts: { mode: 'enforce', result: 'fail', reason: 'no MX matches the policy' } },
      };
    const senderDomain = mx.localAddresses.bySender.size > 0 ? fromDomainOf(raw) : null;
    const failures: string[] = [];
    let throttledEverywhere = true;
    for (const host of p.hosts) {
      for (const address of host.addresses) {
        const destination: Destination = {
          host: host.name,
          address,
          port: mx.port,
          localAddress: localAddressFor(address, senderDomain),
          tls: p.tls,
        };
        let attempt = await tryAddress(destination, envelope, raw);
        // Opportunistic TLS that fails in the handshake is retried in clear (RFC 7435), never under an enforced policy.
        if (attempt.kind === 'failed' && attempt.tlsFailed && p.tls === 'opportunistic')
          attempt = await tryAddress({ ...destination, tls: 'none' }, envelope, raw);
        const via = `${host.name}[${address}]:${mx.port}`;
        if (attempt.kind === 'answer') {
          const details = { ...attempt.details };
          if (p.enforce || p.testing) details.mtaSts = stsResult(stsMode, host.name, details, p.unlisted);
          return { reply: attempt.reply, via, details };
        }
        failures.push(attempt.text);
        if (!attempt.throttled) throttledEverywhere = false;
        if (attempt.midTransaction)
          return { reply: { code: 0, text: `transaction not finished: ${attempt.text}` }, via };
      }
    }
    const text = `no mail exchanger of ${domain} took the message (${failures.join('; ')})`;
    if (p.enforce)
      return {
        reply: parseSmtpReply(`451 4.7.5 MTA-STS policy of ${domain} (enforce): ${text}`),
        via: 'mta-sts',
        details: { mtaSts: { mode: 'enforce', result: 'fail', reason: failures.join('; ') } },
      };
    return { reply: { code: 0, text }, via: p.hosts.map((h) => h.name).join(','), throttled: throttledEverywhere };
  }

  /** How the delivery fared against the policy: TLS verified and an allowed exchanger, or not. */
  function stsResult(
    mode: 'enforce' | 'testing',
    host: string,
    details: DeliveryDetails,
    unlisted: string[],
  ): NonNullable<DeliveryDetails['mtaSts']> {
    if (unlisted.includes(host)) return { mode, result: 'fail', reason: `${host} is not in the policy` };
    if (!details.tls) return { mode, result: 'fail', reason: 'delivered without TLS' };
    if (!details.tls.verified) return { mode, result: 'fail', reason: 'certificate not valid for the exchanger' };
    return { mode, result: 'pass' };
  }

  return {
    name: 'mx',
    abort(reason) {
      abortedWith = reason;
      for (const connection of sending) connection.abort(`not sent: ${reason}`);
    },
    async send(envelope, raw, priority = 10): Promise<SendResult | NotTried> {
      const recipientDomain = domainOf(envelope.to[0] ?? '');
      if (envelope.to.some((r) => domainOf(r) !== recipientDomain))
        return { reply: parseSmtpReply('550 5.5.0 one message goes to the recipients of one domain'), via: 'mx' };
      // DNS and politeness work on the ASCII (punycode) form of an internationalised domain.
      const domain = domainToASCII(recipientDomain) || recipientDomain;
      const admission = await politeness.admit(domain, priority);
      if (admission.kind === 'busy') return { notTriedUntil: admission.until };
      if (admission.kind === 'suspended')
        return {
          reply: parseSmtpReply(`451 4.4.5 delivery to ${domain} suspended for a while: ${admission.reason}`),
          via: 'politeness',
          retryAt: admission.until,
        };
      let outcome: 'ok' | 'throttled' | 'failed' = 'failed';
      try {
        const result = await deliver(domain, envelope, raw);
        const { throttled, ...sendResult } = result;
        if (result.reply.code >= 200 && result.reply.code < 300) outcome = 'ok';
        else if (throttled || isThrottleReply(result.reply)) {
          outcome = 'throttled';
          const until = politeness.suspend(domain, result.reply.text);
          log.warn(
            { domain, until: new Date(until).toISOString(), reply: result.reply.text },
            'domain throttles us: backing off',
          );
          return { ...sendResult, retryAt: until };
        }
        return sendResult;
      } catch (error) {
        log.error({ err: error, domain }, 'MX delivery failed unexpectedly');
        return { reply: { code: 0, text: `MX delivery failed: ${(error as Error).message}` }, via: 'mx' };
      } finally {
        admission.done(outcome);
      }
    },
    async close() {
      await pool.close();
    },
  };
}
