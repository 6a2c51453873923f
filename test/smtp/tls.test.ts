// TLS credentials of the SMTP servers: a self-signed certificate made once and kept, or the
// configured PEM files, checked at start.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSelfSigned, loadTlsCredentials } from '../../src/smtp/tls.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-tls-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('SMTP TLS credentials', () => {
  it('generates a self-signed certificate at first start and keeps it for the next', () => {
    const first = loadTlsCredentials({ certFile: null, keyFile: null, dataDir: dir, hostname: 'mail.example.test' });
    expect(first.source).toBe('self-signed');
    const cert = new X509Certificate(first.cert);
    expect(cert.subjectAltName).toBe('DNS:mail.example.test, DNS:localhost, IP Address:127.0.0.1');
    expect(cert.checkPrivateKey(createPrivateKey(first.key))).toBe(true);
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(9 * 365 * 24 * 3600 * 1000);
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    const again = loadTlsCredentials({ certFile: null, keyFile: null, dataDir: dir, hostname: 'other' });
    expect(again.cert).toBe(first.cert);
  });

  it('replaces a kept certificate that is about to expire', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'old-'));
    const old = generateSelfSigned('old.example.test', new Date(Date.now() - 3650 * 24 * 3600 * 1000 + 3600_000));
    fs.mkdirSync(path.join(sub, 'tls'));
    fs.writeFileSync(path.join(sub, 'tls', 'smtp-self-signed.pem'), old.key + old.cert);
    const loaded = loadTlsCredentials({ certFile: null, keyFile: null, dataDir: sub, hostname: 'new.example.test' });
    expect(new X509Certificate(loaded.cert).subject).toContain('CN=new.example.test');
  });

  it('reads configured PEM files and says which one is wrong', () => {
    const pem = generateSelfSigned('configured.example.test', new Date());
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    fs.writeFileSync(certFile, pem.cert);
    fs.writeFileSync(keyFile, pem.key);
    const loaded = loadTlsCredentials({ certFile, keyFile, dataDir: dir, hostname: 'x' });
    expect(loaded).toMatchObject({ source: 'configured', cert: pem.cert, key: pem.key });
    expect(() => loadTlsCredentials({ certFile: keyFile, keyFile, dataDir: dir, hostname: 'x' })).toThrow(
      /POSTHORN_SMTP_TLS_CERT: ".*key\.pem" is not a PEM certificate/,
    );
    expect(() =>
      loadTlsCredentials({ certFile, keyFile: path.join(dir, 'missing.pem'), dataDir: dir, hostname: 'x' }),
    ).toThrow(/POSTHORN_SMTP_TLS_KEY: cannot read ".*missing\.pem" \(ENOENT\)/);
  });
});
