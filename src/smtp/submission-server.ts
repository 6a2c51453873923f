// The SMTP submission surface, on Posthorn's own SMTP server (smtp-listener.ts): protocol only.
// AUTH PLAIN/LOGIN with an API key as the password (after STARTTLS unless insecure auth is
// allowed), or an SMTP-IP key for the client's address; each command's checks and the accept are
// services (services/smtp-submission.ts), and their ServiceErrors become SMTP replies here. Replies
// carry their own enhanced status codes (RFC 3463), e.g. `250 2.0.0 Ok: queued as <transmissionId>`,
// sent only after the commit.
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { SmtpListener } from './smtp-listener.ts';
import type { Config } from '../config.ts';
import type { ApiKeyInfo } from '../services/api-keys.ts';
import { ServiceError } from '../services/errors.ts';
import { checkSmtpSender, type SubmissionService } from '../services/smtp-submission.ts';
import { loadTlsCredentials, type TlsCredentials } from './tls.ts';

export interface SubmissionServer {
  /** smtp://host:port of the listening server. */
  url: string;
  port: number;
  tls: TlsCredentials;
  stats: SubmissionStats;
  close(): Promise<void>;
}

/** Counters of this server since it started (for metrics and for tests that look at memory use). */
export interface SubmissionStats {
  accepted: number;
  refusedOversized: number;
  /** The most bytes of one message held in memory at once: never much over the size limit. */
  peakMessageBytesHeld: number;
}

/** An SMTP reply: code, enhanced status code and text become `code enhanced text`. */
export function smtpReply(code: number, enhanced: string, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(`${enhanced} ${text}`), { responseCode: code });
}

/** How each refusal of a use case reads on this surface. */
export function replyFor(error: ServiceError): Error & { responseCode: number } {
  switch (error.reason) {
    case 'invalid_email':
      // X.1.7: bad sender address syntax; X.1.3: bad destination address syntax.
      return smtpReply(553, error.field === 'MAIL FROM' ? '5.1.7' : '5.1.3', error.detail);
    case 'too_many_recipients':
      return smtpReply(452, '4.5.3', `Too many recipients: ${error.detail}`);
    case 'limit_exceeded':
      return smtpReply(451, '4.7.1', `Sending limit reached: ${error.detail}`);
    case 'domain_unverified':
      return smtpReply(550, '5.7.1', `${error.field ?? 'From'}: ${error.detail}`);
    case 'account_suspended':
      return smtpReply(550, '5.7.1', `Sending not allowed: ${error.detail}`);
    default:
      // Header and content problems: the detail names the header.
      return smtpReply(550, '5.6.0', error.detail);
  }
}

/** What a connection knows of its keys. */
interface SessionKeys {
  /** The key of an AUTH; its password is kept to see a revocation at the next MAIL FROM. */
  auth?: { key: ApiKeyInfo; password: string };
  /** The key the current transaction sends with (AUTH or SMTP-IP). */
  key?: ApiKeyInfo;
}

/** Starts the server; `service` answers its checks and accepts. */
export async function startSubmissionServer(
  env: { config: Config; log: Logger },
  service: SubmissionService,
  opts: { onAccepted?: () => void } = {},
): Promise<SubmissionServer> {
  const { smtp } = env.config;
  if (smtp.port === null) throw new Error('the SMTP submission server is off (POSTHORN_SMTP_PORT=0)');
  const log: Logger = env.log.child({ component: 'smtp-submission' });
  const hostname = new URL(env.config.publicUrl).hostname;
  const tls = loadTlsCredentials({
    certFile: smtp.tlsCertFile,
    keyFile: smtp.tlsKeyFile,
    dataDir: env.config.dataDir,
    hostname,
  });
  const stats: SubmissionStats = { accepted: 0, refusedOversized: 0, peakMessageBytesHeld: 0 };
  /** A use case's refusal (ServiceError) becomes its reply; anything else reaches the client as a 451. */
  const refusing =
    <A extends unknown[], R>(handler: (...args: A) => Promise<R>) =>
    (...args: A) =>
      handler(...args).catch((error: unknown) => {
        throw error instanceof ServiceError ? replyFor(error) : error;
      });

  const listener = new SmtpListener<SessionKeys>({
    hostname,
    banner: 'Posthorn submission',
    tls,
    allowInsecureAuth: smtp.allowInsecureAuth,
    maxMessageBytes: smtp.maxMessageBytes,
    closeTimeoutMs: 3000,
    handlers: {
      locals: () => ({}),
      auth: refusing(async ({ password }, session) => {
        const ip = session.remoteAddress;
        const result = await service.authenticate(password, ip);
        if (!result.ok) {
          if (result.reason === 'locked')
            throw smtpReply(
              454,
              '4.7.0',
              `Too many failed authentications from ${ip}; try again in ${Math.ceil(result.retryAfterMs / 1000)} s`,
            );
          throw smtpReply(535, '5.7.8', AUTH_REFUSED[result.reason](ip));
        }
        session.locals.auth = { key: result.key, password };
      }),
      mailFrom: refusing(async (address, session) => {
        const s = session.locals;
        s.key = undefined;
        if (s.auth) {
          // A key revoked (or changed) since AUTH stops working at the next message.
          const key = await service.currentKey(s.auth.password, session.remoteAddress);
          if (!key) throw smtpReply(535, '5.7.8', 'The API key of this session is no longer valid');
          s.key = key;
        } else {
          const key = await service.keyForAddress(session.remoteAddress);
          if (!key) throw smtpReply(530, '5.7.0', 'Authentication required');
          s.key = key;
        }
        checkSmtpSender(address);
      }),
      rcptTo: refusing(async (address, session) => {
        await service.checkRecipient(session.locals.key!, address, session.envelope.rcptTo.length);
      }),
      data: refusing(async (message, session) => {
        stats.peakMessageBytesHeld = Math.max(stats.peakMessageBytesHeld, message.peakHeld);
        if (message.raw === null) {
          stats.refusedOversized++;
          throw smtpReply(
            552,
            '5.3.4',
            `Message size exceeds the fixed maximum message size of ${smtp.maxMessageBytes} bytes`,
          );
        }
        const transmissionId = await service.accept(session.locals.key!, {
          mailFrom: session.envelope.mailFrom ?? '',
          rcptTo: session.envelope.rcptTo,
          raw: message.raw,
        });
        stats.accepted++;
        opts.onAccepted?.();
        return `2.0.0 Ok: queued as ${transmissionId}`;
      }),
      unexpected: (error) => log.error({ err: error }, 'SMTP submission failed'),
    },
  });
  await listener.listen(smtp.port, smtp.host);
  const port = (listener.server.address() as AddressInfo).port;
  const host = smtp.host === '0.0.0.0' || smtp.host === '::' ? 'localhost' : smtp.host;
  return {
    url: `smtp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    tls,
    stats,
    close: () => listener.close(),
  };
}

const AUTH_REFUSED: Record<'invalid' | 'ip_not_allowed' | 'permission', (ip: string) => string> = {
  invalid: () => 'Authentication credentials invalid (the password must be a valid API key)',
  ip_not_allowed: (ip) => `Connections from ${ip} are not allowed for this API key`,
  permission: () => 'This API key lacks the "Send via SMTP" permission',
};
