// DKIM key material: an RSA-2048 pair whose public half is published as the p= value, and the
// optional Ed25519 pair (RFC 8463), whose p= is the bare 32-byte public key in base64.
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export async function generateDkimKey(): Promise<{ privateKeyPem: string; publicKeyBase64: string }> {
  const { privateKey, publicKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    privateKeyPem: privateKey,
    publicKeyBase64: (publicKey as unknown as Buffer).toString('base64'),
  };
}

export async function generateEd25519DkimKey(): Promise<{ privateKeyPem: string; publicKeyBase64: string }> {
  const { privateKey, publicKey } = await generate('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  // The SPKI DER of an Ed25519 key is a fixed 12-byte prefix and the 32-byte key itself.
  const spki = publicKey as unknown as Buffer;
  return {
    privateKeyPem: privateKey,
    publicKeyBase64: spki.subarray(spki.length - 32).toString('base64'),
  };
}

export function dkimRecordValue(publicKeyBase64: string, algorithm: 'rsa' | 'ed25519' = 'rsa'): string {
  return `v=DKIM1; k=${algorithm}; p=${publicKeyBase64}`;
}
