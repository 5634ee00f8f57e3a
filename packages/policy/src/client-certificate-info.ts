// The facts of a client certificate a policy may match, read from the certificate once (the proxy keeps them per
// TLS connection; `vallum policy explain --client-cert` reads a PEM file).
import { createHash, type X509Certificate } from 'node:crypto';
import type { ClientCertificateInfo } from './types.js';

/** `DNS:a.example, email:"a,b@example.com"`: Node quotes a value (JSON) when it holds a separator. */
const SAN_ENTRY = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;

export function clientCertificateInfo(cert: X509Certificate): ClientCertificateInfo {
  const sanEmail: string[] = [];
  const sanDns: string[] = [];
  for (const [, kind, raw] of (cert.subjectAltName ?? '').matchAll(SAN_ENTRY)) {
    const value = raw!.startsWith('"') ? (JSON.parse(raw!) as string) : raw!;
    if (kind === 'email') sanEmail.push(value);
    else if (kind === 'DNS') sanDns.push(value);
  }
  const info: ClientCertificateInfo = {
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    spkiHash: createHash('sha256').update(subjectPublicKeyInfo(cert.raw)).digest('base64'),
    sanEmail,
    sanDns,
    // Node lists the names in certificate order, one per line; RFC 4514 starts with the most specific.
    issuer: cert.issuer.split('\n').reverse().join(','),
  };
  const cn = cert.subject
    .split('\n')
    .reverse()
    .find((rdn) => rdn.startsWith('CN='));
  if (cn !== undefined) info.subjectCn = cn.slice(3);
  return info;
}

/**
 * The DER SubjectPublicKeyInfo inside a certificate's DER (RFC 5280: the seventh field of tbsCertificate, the sixth
 * without the optional version). Read here because exporting the public key through OpenSSL costs a hundred times more.
 */
export function subjectPublicKeyInfo(der: Buffer): Buffer {
  const tbs = derChildren(der, derItem(der, 0))[0]!;
  const fields = derChildren(der, tbs);
  const spki = fields[der[fields[0]!.start] === 0xa0 ? 6 : 5];
  if (spki === undefined) throw new TypeError('not an X.509 certificate');
  return der.subarray(spki.start, spki.end);
}

interface DerItem {
  /** Offset of the tag. */
  start: number;
  /** Offset of the contents. */
  content: number;
  end: number;
}

function derItem(der: Buffer, start: number): DerItem {
  let at = start + 1;
  let length = der[at++]!;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[at++]!;
  }
  const end = at + length;
  if (end > der.length) throw new TypeError('truncated DER');
  return { start, content: at, end };
}

function derChildren(der: Buffer, parent: DerItem): DerItem[] {
  const items: DerItem[] = [];
  for (let at = parent.content; at < parent.end; ) {
    const item = derItem(der, at);
    items.push(item);
    at = item.end;
  }
  return items;
}

/** `AB:CD:…` or `abcd…` as the lower-case hex the facts carry; undefined when it is not a SHA-256 fingerprint. */
export function normalFingerprint(value: string): string | undefined {
  const hex = value.replaceAll(':', '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/** A distinguished name without the spaces people put around `,` `=` `+` (`CN=a, O=b` is `CN=a,O=b`). */
export function normalDistinguishedName(value: string): string {
  return value.trim().replace(/\s*([,=+])\s*/g, '$1');
}
