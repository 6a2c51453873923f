// The inbound SMTP receiver of the return path (smtp-server): protocol only. It takes mail for the
// return-path addresses (services/inbound-recipients.ts) and refuses everything else at RCPT with
// 550 5.7.1 (no relaying, no AUTH). DATA is read up to the size limit and handed to the inbound
// service, which records what the report means; 250 is sent after that commit. A store outage is
// a 451, so the reporting MTA tries again; nothing in a report can be answered with a crash.
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { Context } from '../context.ts';
import { acceptsInboundRecipient } from '../services/inbound-recipients.ts';
import { receiveInbound } from '../services/inbound.ts';
import { readLimited } from './message-reader.ts';
import { smtpReply } from './submission-server.ts';
import { loadTlsCredentials } from './tls.ts';

export interface InboundServer {
  /** smtp://host:port of the listening receiver. */
  url: string;
  port: number;
  stats: InboundStats;
  close(): Promise<void>;
}

export interface InboundStats {
  received: number;
  refusedRecipients: number;
  refusedOversized: number;
  /** The most bytes of one message held in memory at once: never much over the size limit. */
  peakMessageBytesHeld: number;
}

/** Recipients one transaction may have: a report goes to one return-path address. */
const MAX_RECIPIENTS = 50;

export async function startInboundServer(ctx: Context): Promise<InboundServer> {
  const { inbound } = ctx.config;
  if (inbound.port === null) throw new Error('the inbound SMTP receiver is off (POSTHORN_INBOUND_PORT=0)');
  const log: Logger = ctx.log.child({ component: 'smtp-inbound' });
  const hostname = ctx.config.hostname;
  // Mail systems deliver over STARTTLS when offered (opportunistic): the submission server's certificate.
  const tls = loadTlsCredentials({
    certFile: ctx.config.smtp.tlsCertFile,
    keyFile: ctx.config.smtp.tlsKeyFile,
    dataDir: ctx.config.dataDir,
    hostname: new URL(ctx.config.publicUrl).hostname,
  });
  const stats: InboundStats = { received: 0, refusedRecipients: 0, refusedOversized: 0, peakMessageBytesHeld: 0 };

  const handle = (
    work: () => Promise<string | undefined>,
    callback: (err?: Error | null, message?: string) => void,
  ) => {
    work().then(
      (message) => callback(null, message ?? undefined),
      (error: unknown) => {
        if ((error as { responseCode?: number }).responseCode) {
          callback(error as Error);
          return;
        }
        log.error({ err: error }, 'inbound message could not be processed');
        callback(smtpReply(451, '4.3.0', 'Local error in processing; try again later'));
      },
    );
  };

  const server = new SMTPServer({
    name: hostname,
    banner: 'Posthorn inbound',
    secure: false,
    key: tls.key,
    cert: tls.cert,
    disabledCommands: ['AUTH'],
    authOptional: true,
    size: inbound.maxMessageBytes,
    disableReverseLookup: true,
    closeTimeout: 3000,
    logger: false,
    onRcptTo(address, session, callback) {
      handle(async () => {
        if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) throw smtpReply(452, '4.5.3', 'Too many recipients');
        if (!(await acceptsInboundRecipient(ctx, address.address))) {
          stats.refusedRecipients++;
          throw smtpReply(
            550,
            '5.7.1',
            `Relaying denied: ${address.address} is not a return-path address of this host`,
          );
        }
        return undefined;
      }, callback);
    },
    onData(stream, session, callback) {
      handle(async () => {
        const read = await readLimited(stream, inbound.maxMessageBytes);
        stats.peakMessageBytesHeld = Math.max(stats.peakMessageBytesHeld, read.peakHeld);
        if (read.raw === null || stream.sizeExceeded) {
          stats.refusedOversized++;
          throw smtpReply(552, '5.3.4', `Message size exceeds the maximum of ${inbound.maxMessageBytes} bytes`);
        }
        const result = await receiveInbound(
          ctx,
          {
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
          },
          read.raw,
        );
        stats.received++;
        return `2.0.0 Ok: report ${result.reportId} (${result.kind}, ${result.outcome})`;
      }, callback);
    },
  });
  server.on('error', (error) => log.debug({ err: error }, 'inbound SMTP connection error'));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(inbound.port!, inbound.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  const host = inbound.host === '0.0.0.0' || inbound.host === '::' ? 'localhost' : inbound.host;
  return {
    url: `smtp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
