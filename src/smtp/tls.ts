// TLS credentials for Posthorn's SMTP servers (submission STARTTLS, and any other listener that
// wants them): the configured PEM files, or a self-signed certificate generated at first start and
// kept in the data directory, so that every start (and every process of the installation on that
// machine) presents the same certificate. Node can make the key pair but not a certificate, so
// node-forge builds and signs it (one package, no dependencies; the key is made by Node's crypto).
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { ConfigError } from '../config/setting.ts';

export interface TlsCredentials {
  key: string;
  cert: string;
  /** Where the certificate came from, for the start-up message. */
  source: 'configured' | 'self-signed';
  file: string;
}

export interface TlsOptions {
  certFile: string | null;
  keyFile: string | null;
  dataDir: string;
  /** The name the certificate is made out to (and localhost). */
  hostname: string;
}

const SELF_SIGNED_FILE = path.join('tls', 'smtp-self-signed.pem');
/** A self-signed certificate this close to its end is replaced at start. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const VALID_YEARS = 10;

export function loadTlsCredentials(opts: TlsOptions): TlsCredentials {
  if (opts.certFile && opts.keyFile) return readConfigured(opts.certFile, opts.keyFile);
  const file = path.join(opts.dataDir, SELF_SIGNED_FILE);
  const existing = readSelfSigned(file);
  if (existing) return existing;
  const pem = generateSelfSigned(opts.hostname, new Date());
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written whole and renamed into place: two processes starting at once never read half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, pem.key + pem.cert, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return { ...pem, source: 'self-signed', file };
}

function readConfigured(certFile: string, keyFile: string): TlsCredentials {
  const read = (file: string, name: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `${name}: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
  };
  const cert = read(certFile, 'POSTHORN_SMTP_TLS_CERT');
  const key = read(keyFile, 'POSTHORN_SMTP_TLS_KEY');
  try {
    new X509Certificate(cert);
  } catch {
    throw new ConfigError(`POSTHORN_SMTP_TLS_CERT: "${certFile}" is not a PEM certificate`);
  }
  try {
    createPrivateKey(key);
  } catch {
    throw new ConfigError(`POSTHORN_SMTP_TLS_KEY: "${keyFile}" is not a PEM private key`);
  }
  return { key, cert, source: 'configured', file: certFile };
}

/** The kept certificate, unless it is missing, unreadable or near its end. */
function readSelfSigned(file: string): TlsCredentials | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\r?\n/.exec(text)?.[0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\r?\n/.exec(text)?.[0];
  if (!key || !cert) return null;
  try {
    if (Date.parse(new X509Certificate(cert).validTo) - Date.now() < RENEW_BEFORE_MS) return null;
    createPrivateKey(key);
  } catch {
    return null;
  }
  return { key, cert, source: 'self-signed', file };
}

/** An RSA-2048 key and a SHA-256 certificate for hostname and localhost, valid for ten years. */
export function generateSelfSigned(hostname: string, now: Date): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive serial: the first byte's high bit cleared.
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime());
  cert.validity.notAfter.setUTCFullYear(now.getUTCFullYear() + VALID_YEARS);
  const subject = [
    { name: 'commonName', value: hostname },
    { name: 'organizationName', value: 'Posthorn (self-signed)' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const names = [...new Set([hostname, 'localhost'])];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...names.map((value) => ({ type: 2, value })), { type: 7, ip: '127.0.0.1' }],
    },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { key: keyPem, cert: forge.pki.certificateToPem(cert) };
}
