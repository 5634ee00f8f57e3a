// The client certificate of a TLS connection (downstream_mtls): verified or not, and what a policy may match of
// it. Worked out once per connection and kept on the socket, so a keep-alive request costs a property read.
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket, DetailedPeerCertificate } from 'node:tls';
import { clientCertificateRequired, type DownstreamMtlsConfig, type RouteConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { clientCertificateInfo, type ClientCertificateInfo } from '@vallum/policy';

export type PeerCertificate =
  | { kind: 'none' }
  /** Presented but refused by the listener's CA or CRL (OpenSSL's reason), or too deep a chain. */
  | { kind: 'invalid'; error: string }
  | { kind: 'verified'; info: ClientCertificateInfo; depth: number };

/** What the socket's handshake said, kept before `max_verify_depth` (which a reload may change) is applied. */
const HANDSHAKE = Symbol('vallum.clientCertificate');
type Remembering = Socket & { [HANDSHAKE]?: PeerCertificate };

const NONE: PeerCertificate = Object.freeze({ kind: 'none' });
const TOO_DEEP = 'CHAIN_TOO_DEEP';

/** The connection's client certificate under `mtls` (none without downstream_mtls or on a plain connection). */
export function peerCertificate(socket: Socket, mtls: DownstreamMtlsConfig | undefined): PeerCertificate {
  if (mtls === undefined || !(socket as TLSSocket).encrypted) return NONE;
  const remembering = socket as Remembering;
  const handshake = (remembering[HANDSHAKE] ??= readHandshake(socket as TLSSocket));
  if (handshake.kind === 'verified' && mtls.maxVerifyDepth > 0 && handshake.depth > mtls.maxVerifyDepth) return { kind: 'invalid', error: TOO_DEEP };
  return handshake;
}

function readHandshake(socket: TLSSocket): PeerCertificate {
  // The detailed chain first: after getPeerX509Certificate() Node no longer links the certificate to its issuers.
  const detailed = socket.getPeerCertificate(true);
  if (detailed.raw === undefined) return NONE;
  if (!socket.authorized) return { kind: 'invalid', error: String(socket.authorizationError ?? 'UNABLE_TO_VERIFY') };
  return { kind: 'verified', info: clientCertificateInfo(new X509Certificate(detailed.raw)), depth: chainDepth(detailed) };
}

/**
 * Certificates from the client's up to the self-signed CA that verified it, that CA not counted: 1 when the CA
 * issued it directly. A chain that does not reach a self-signed certificate counts as endless.
 */
function chainDepth(leaf: DetailedPeerCertificate): number {
  let depth = 0;
  for (let cert: DetailedPeerCertificate | undefined = leaf; cert !== undefined && depth <= 32; cert = cert.issuerCertificate) {
    if (cert.issuerCertificate === cert) return depth;
    depth++;
  }
  return Number.POSITIVE_INFINITY;
}

const WHY: Readonly<Record<string, string>> = {
  CERT_REVOKED: 'it has been revoked',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  UNABLE_TO_GET_CRL: 'its revocation status cannot be checked',
  CRL_HAS_EXPIRED: 'its revocation status cannot be checked',
  [TOO_DEEP]: 'it is issued through more intermediate CAs than allowed',
};

/** The 495 for a route that requires a verified certificate the connection does not have; undefined when it may pass. */
export function clientCertificateRefusal(route: RouteConfig, mtls: DownstreamMtlsConfig | undefined, peer: PeerCertificate): VallumError | undefined {
  if (peer.kind === 'verified' || !clientCertificateRequired(route, mtls)) return undefined;
  if (peer.kind === 'none') {
    return new VallumError(ErrorCodes.CLIENT_CERTIFICATE_REQUIRED, 'This application requires a client certificate, and none was presented.', {
      status: 495,
      expose: true,
    });
  }
  const why = WHY[peer.error] ?? 'it is not issued by a certificate authority this site trusts';
  return new VallumError(ErrorCodes.CLIENT_CERTIFICATE_INVALID, `The client certificate was not accepted: ${why}.`, {
    status: 495,
    expose: true,
    details: { reason: peer.error },
  });
}
