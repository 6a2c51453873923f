// A certificate authority made up for a test run (node-forge), and certificates it signs for host
// names: MTA-STS needs exchangers and policy hosts whose certificates validate, and Posthorn is
// told to trust this CA with POSTHORN_MX_CA_FILE. Keys come from node:crypto (forge's own RSA key
// generation is slow pure JavaScript).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface IssuedCertificate {
  key: string;
  cert: string;
}

export interface TestCa {
  certPem: string;
  issue(names: string[]): IssuedCertificate;
}

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey);
  return { pem: privateKey, key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

function validity(cert: forge.pki.Certificate) {
  cert.serialNumber = '01' + randomBytes(8).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 7 * 86400_000);
}

export function createTestCa(): TestCa {
  const caKey = newKey();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKey.publicKey;
  validity(ca);
  const caName = [{ name: 'commonName', value: 'Posthorn Test CA' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKey.key, forge.md.sha256.create());

  return {
    certPem: forge.pki.certificateToPem(ca),
    issue(names) {
      const leafKey = newKey();
      const cert = forge.pki.createCertificate();
      cert.publicKey = leafKey.publicKey;
      validity(cert);
      cert.setSubject([{ name: 'commonName', value: names[0]! }]);
      cert.setIssuer(caName);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2, value })) },
        { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
      ]);
      cert.sign(caKey.key, forge.md.sha256.create());
      return { key: leafKey.pem, cert: forge.pki.certificateToPem(cert) };
    },
  };
}
