/**
 * Test certificates made with openssl at test time: a CA, and a certificate it signs for
 * 127.0.0.1 / localhost in a PKCS#12 keystore the brokers load. Nothing is checked in, nothing
 * outlives the directory it is written to.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MissingToolError } from '../kafka-install.ts';

export interface TestCa {
  dir: string;
  /** The CA certificate, PEM: what clients trust. */
  certPem: string;
  certFile: string;
  keyFile: string;
}

export interface TestServerCertificate {
  /** PKCS#12 keystore with the key and the chain (certificate, CA). */
  keystoreFile: string;
  keystorePassword: string;
  certPem: string;
  keyPem: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new MissingToolError(
        'openssl is needed to make test certificates (apt-get install openssl)',
      );
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? e.message}`, {
      cause: err,
    });
  }
}

/** A new self-signed CA in `dir` (EC P-256: quick to make, and every TLS stack here takes it). */
export function createTestCa(dir: string, name = 'streamtx test CA'): TestCa {
  mkdirSync(dir, { recursive: true });
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '7',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return {
    dir,
    certPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    certFile: join(dir, 'ca.pem'),
    keyFile: join(dir, 'ca.key'),
  };
}

/**
 * A certificate signed by `ca` for the loopback broker: subjectAltName IP:127.0.0.1 and
 * DNS:localhost (clients check the address they dialled against it), usable as server and as
 * client (brokers are clients of each other on the inter-broker listener).
 */
export function createServerCertificate(ca: TestCa, name = 'broker'): TestServerCertificate {
  const dir = ca.dir;
  const password = randomBytes(12).toString('hex');
  writeFileSync(
    join(dir, `${name}.ext`),
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'extendedKeyUsage=serverAuth,clientAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'basicConstraints=CA:FALSE',
    ].join('\n') + '\n',
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      '/CN=localhost',
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '7',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
  openssl(
    [
      'pkcs12',
      '-export',
      '-in',
      `${name}.pem`,
      '-inkey',
      `${name}.key`,
      '-certfile',
      'ca.pem',
      '-name',
      name,
      '-out',
      `${name}.p12`,
      '-passout',
      `pass:${password}`,
    ],
    dir,
  );
  return {
    keystoreFile: join(dir, `${name}.p12`),
    keystorePassword: password,
    certPem: readFileSync(join(dir, `${name}.pem`), 'utf8'),
    keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'),
  };
}
