// DKIM signing (relaxed/relaxed, rsa-sha256) through nodemailer's signer. The private key is parsed
// once into a KeyObject, so signing a message does not re-read PEM text.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import DKIM from 'nodemailer/lib/dkim/index.js';

// Every header a receiver should be able to trust, including the bulk-mail ones (RFC 8058).
export const SIGNED_HEADERS = [
  'From', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'Cc', 'MIME-Version',
  'Content-Type', 'Content-Transfer-Encoding', 'Content-ID', 'In-Reply-To', 'References',
  'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'Feedback-ID', 'Precedence',
].join(':');

export interface DkimKey {
  domain: string;
  selector: string;
  privateKeyPem: string;
}

export type Signer = (raw: Buffer) => Promise<Buffer>;

export function createSigner(key: DkimKey): Signer {
  const privateKey: KeyObject = createPrivateKey(key.privateKeyPem);
  // nodemailer hands the key straight to crypto.sign, which takes a KeyObject as well as PEM text.
  const dkim = new DKIM({ domainName: key.domain, keySelector: key.selector, privateKey: privateKey as unknown as string, headerFieldNames: SIGNED_HEADERS });
  return (raw) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const out = dkim.sign(raw);
      out.on('data', (c: Buffer) => chunks.push(c));
      out.on('end', () => resolve(Buffer.concat(chunks)));
      out.on('error', reject);
    });
}
