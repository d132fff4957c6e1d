import { connect, type DetailedPeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Evidence } from '../../../domain/readiness/evidence';

export interface CertificateCheck {
  host: string;
  port: number;
  servername: string;
  /** Extra trusted CAs (PEM), for a private CA. */
  ca?: string;
  minDaysValid: number;
  timeoutMs: number;
}

const DAY_MS = 86_400_000;

/** The leaf and whether Node could verify the chain to a trusted root (and why not). */
function handshake(
  c: CertificateCheck,
): Promise<{ leaf: DetailedPeerCertificate; authorized: boolean; authorizationError?: string; chainLength: number }> {
  return new Promise((resolve, reject) => {
    // Verification is judged below, item by item, instead of refusing the connection on the first flaw.
    const socket = connect({
      host: c.host,
      port: c.port,
      servername: c.servername,
      ca: c.ca ? readFileSync(c.ca) : undefined,
      rejectUnauthorized: false,
    });
    socket.setTimeout(c.timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${c.host}:${c.port} within ${c.timeoutMs} ms`));
    });
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const leaf = socket.getPeerCertificate(true);
      let chainLength = 0;
      const seen = new Set<string>();
      for (
        let cert: DetailedPeerCertificate | undefined = leaf;
        cert && !seen.has(cert.fingerprint256);
        cert = cert.issuerCertificate
      ) {
        seen.add(cert.fingerprint256);
        chainLength++;
      }
      const authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
      resolve({ leaf, authorized: socket.authorized, authorizationError, chainLength });
      socket.end();
    });
  });
}

/**
 * A named endpoint's certificate, judged on four facts: the chain verifies to a trusted root, the
 * certificate is valid now, it is for the name clients use, and it outlives the minimum.
 */
export async function checkCertificate(c: CertificateCheck, now = new Date()): Promise<Evidence[]> {
  const { leaf, authorized, authorizationError, chainLength } = await handshake(c);
  if (!leaf?.raw) throw new Error(`${c.host}:${c.port} sent no certificate`);
  const x509 = new X509Certificate(leaf.raw);
  const target = `${c.host}:${c.port}`;
  const at = now.toISOString();
  const validTo = new Date(x509.validTo);
  const validFrom = new Date(x509.validFrom);
  const daysLeft = Math.floor((validTo.getTime() - now.getTime()) / DAY_MS);
  const matched = x509.checkHost(c.servername);
  // An expired or not-yet-valid leaf is reported by its own fact below, not as a broken chain.
  const chainError =
    authorizationError && !['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'].includes(authorizationError)
      ? authorizationError
      : undefined;
  return [
    {
      what: 'certificate chain',
      value: chainError
        ? `${chainError} (${chainLength} certificate(s) sent)`
        : `verified (${chainLength} certificate(s))`,
      threshold: 'complete to a trusted root',
      target,
      at,
      ok: authorized || !chainError,
    },
    {
      what: 'validity period',
      value: `${validFrom.toISOString()} → ${validTo.toISOString()}`,
      threshold: 'now inside it',
      target,
      at,
      ok: validFrom <= now && now < validTo,
    },
    {
      what: 'host name',
      value: matched ? `matches ${matched}` : `${c.servername} not in ${x509.subjectAltName ?? x509.subject}`,
      threshold: c.servername,
      target,
      at,
      ok: matched !== undefined,
    },
    {
      what: 'days to expiry',
      value: `${daysLeft} days (${validTo.toISOString()})`,
      threshold: `> ${c.minDaysValid} days`,
      target,
      at,
      ok: daysLeft > c.minDaysValid,
    },
  ];
}
