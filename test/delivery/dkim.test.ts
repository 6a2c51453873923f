// The DKIM signer's canonicalisation (RFC 6376 relaxed/relaxed), and its output checked by an
// independent verifier (mailauth) for bodies that exercise every rule: trailing and doubled
// whitespace, tabs, bare LF line endings, trailing empty lines, an empty body, folded headers.
import { describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync } from 'node:crypto';
// @ts-ignore mailauth ships no type declarations
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { createSigner, relaxedBodyHash, relaxedHeaders } from '../../src/delivery/dkim.ts';

describe('relaxed body canonicalisation', () => {
  it.each([
    ['', ''],
    ['\r\n\r\n', ''],
    ['a\r\n', 'a\r\n'],
    ['a', 'a\r\n'],
    ['a  b \t\r\n\r\n\r\n', 'a b\r\n'],
    ['a\tb\r\n \r\nc  ', 'a b\r\n\r\nc\r\n'],
    [' x\r\n', ' x\r\n'],
    ['a\nb \n\n', 'a\r\nb\r\n'],
  ])('%j hashes as %j', (body, expected) => {
    expect(relaxedBodyHash(body)).toBe(createHash('sha256').update(expected, 'latin1').digest('base64'));
  });
});

describe('relaxed header canonicalisation', () => {
  it('unfolds, lower-cases names, collapses only spaces and tabs, and signs the last instance', () => {
    // "voilà" in raw UTF-8 read as latin1: its second byte 0xA0 is not whitespace for RFC 6376.
    const subject = Buffer.from('Subject:  Voilà\t le  reçu \r\n', 'utf8').toString('latin1');
    const to = 'To: first@example.org\r\nTo: x@example.org,\r\n  y@example.org\r\n';
    const head = `FROM: a@example.com\r\n${to}${subject}X-Other: no\r\n`;
    const { canonical, names } = relaxedHeaders(head);
    expect(names).toBe('from:subject:to');
    expect(Buffer.from(canonical, 'latin1').toString('utf8')).toBe(
      'from:a@example.com\r\nsubject:Voilà le reçu\r\nto:x@example.org, y@example.org\r\n',
    );
  });
});

describe('DKIM signer', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  const signer = createSigner({ domain: 'example.com', selector: 'sel', privateKeyPem: privateKey });
  const record = `v=DKIM1; k=rsa; p=${publicKey.toString('base64')}`;
  const resolver = async (name: string, type: string) => {
    if (type === 'TXT' && name === 'sel._domainkey.example.com') return [[record]];
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  const verify = async (raw: Buffer) => (await dkimVerify(raw, { resolver })).results[0];

  it.each([
    ['plain CRLF', 'From: A <a@example.com>\r\nTo: b@example.org\r\nSubject: Hi\r\n\r\nHello\r\n'],
    [
      'whitespace and trailing lines',
      'From: a@example.com\r\nSubject:   spaced\t out  \r\n\r\nHello  there \t\r\n\tindented\r\n\r\n\r\n',
    ],
    ['bare LF', 'From: a@example.com\nTo: b@example.org\nSubject: lf\n\nline one\nline two\n'],
    ['empty body', 'From: a@example.com\r\nSubject: nothing\r\n\r\n'],
    [
      'folded header, repeated field',
      'From: a@example.com\r\nTo: first@example.org\r\nTo: x@example.org,\r\n  y@example.org\r\nSubject: a very long subject\r\n\tcontinued\r\n\r\nbody',
    ],
  ])('signs %s so that a verifier passes it', async (_name, message) => {
    const signed = await signer(Buffer.from(message));
    expect(signed.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example.com;/);
    // Sent as signed: CRLF only.
    expect(signed.toString('latin1')).not.toMatch(/(?<!\r)\n/);
    const result = await verify(signed);
    expect(result.status.result, JSON.stringify(result.status)).toBe('pass');
  });

  it('fails verification when the body changes after signing', async () => {
    const signed = (await signer(Buffer.from('From: a@example.com\r\nSubject: x\r\n\r\nAmount: 10\r\n'))).toString(
      'latin1',
    );
    const result = await verify(Buffer.from(signed.replace('Amount: 10', 'Amount: 99')));
    // mailauth reports a body hash mismatch as "neutral" with a comment (RFC 6376 6.1.3: PERMFAIL).
    expect(result.status).toMatchObject({ result: 'neutral', comment: expect.stringMatching(/body hash/i) });
  });
});

describe('DKIM signer with an Ed25519 key next to the RSA key (RFC 8463)', () => {
  const rsa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  const ed = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  const records = new Map([
    ['rsa._domainkey.example.com', `v=DKIM1; k=rsa; p=${rsa.publicKey.toString('base64')}`],
    // RFC 8463 §4.2: p= is the bare 32-byte key, not its SPKI wrapping.
    ['ed._domainkey.example.com', `v=DKIM1; k=ed25519; p=${ed.publicKey.subarray(-32).toString('base64')}`],
  ]);
  const resolver = async (name: string, type: string) => {
    const record = type === 'TXT' ? records.get(name) : undefined;
    if (record) return [[record]];
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  const signer = createSigner([
    { domain: 'example.com', selector: 'rsa', privateKeyPem: rsa.privateKey },
    { domain: 'example.com', selector: 'ed', privateKeyPem: ed.privateKey, algorithm: 'ed25519' },
  ]);
  const message = 'From: a@example.com\r\nTo: b@example.org\r\nSubject:  two  keys\r\n\r\nHello \t there\r\n\r\n';

  it('adds two signatures that a verifier passes', async () => {
    const signed = await signer(Buffer.from(message));
    const { results } = await dkimVerify(signed, { resolver });
    expect(results.map((r: any) => [r.selector, r.algo, r.status.result])).toEqual([
      ['rsa', 'rsa-sha256', 'pass'],
      ['ed', 'ed25519-sha256', 'pass'],
    ]);
  });

  it('fails both when the body changes after signing', async () => {
    const signed = (await signer(Buffer.from(message))).toString('latin1').replace('Hello', 'Hallo');
    const { results } = await dkimVerify(Buffer.from(signed, 'latin1'), { resolver });
    expect(results.map((r: any) => r.status.result)).toEqual(['neutral', 'neutral']);
  });
});
