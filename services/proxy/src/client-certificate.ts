// The client certificate of a TLS connection (downstream_mtls): verified or not, how deep its chain, and what a
// policy may match of it. Worked out once per connection and kept on the socket, so a keep-alive request costs a
// property read; the CA certificates the chain depth is measured against are parsed once per config.
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { clientCertificateRequired, type DownstreamMtlsConfig, type RouteConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { clientCertificateInfo, type ClientCertificateInfo } from '@vallum/policy';

export type PeerCertificate =
  | { kind: 'none' }
  /** Presented but refused by the listener's CA or CRL (OpenSSL's reason), or too deep a chain. */
  | { kind: 'invalid'; error: string }
  | { kind: 'verified'; info: ClientCertificateInfo; depth: number };

export interface ClientCertificates {
  /** The connection's client certificate: none without downstream_mtls or on a plain connection. */
  peer(socket: Socket): PeerCertificate;
  /** The 495 for a route that requires a verified certificate the connection does not have; undefined when it may pass. */
  refusal(route: RouteConfig, peer: PeerCertificate): VallumError | undefined;
}

/** What the socket's handshake said, kept before `max_verify_depth` (which a reload may change) is applied. */
const HANDSHAKE = Symbol('vallum.clientCertificate');
type Remembering = Socket & { [HANDSHAKE]?: PeerCertificate };

const NONE: PeerCertificate = Object.freeze({ kind: 'none' });
const TOO_DEEP = 'CHAIN_TOO_DEEP';
/** Longer chains than this are not followed (OpenSSL's own default limit is 100). */
const MAX_CHAIN = 32;

export function createClientCertificates(mtls: DownstreamMtlsConfig | undefined): ClientCertificates {
  const anchors = (mtls?.caCertificates ?? []).map((pem) => new X509Certificate(pem));
  const peer = (socket: Socket): PeerCertificate => {
    if (mtls === undefined || !(socket as TLSSocket).encrypted) return NONE;
    const remembering = socket as Remembering;
    const handshake = (remembering[HANDSHAKE] ??= readHandshake(socket as TLSSocket, anchors));
    if (handshake.kind === 'verified' && mtls.maxVerifyDepth > 0 && handshake.depth > mtls.maxVerifyDepth) return { kind: 'invalid', error: TOO_DEEP };
    return handshake;
  };
  return { peer, refusal: (route, p) => refusal(route, mtls, p) };
}

function readHandshake(socket: TLSSocket, anchors: readonly X509Certificate[]): PeerCertificate {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return NONE;
  if (!socket.authorized) return { kind: 'invalid', error: String(socket.authorizationError ?? 'UNABLE_TO_VERIFY') };
  return { kind: 'verified', info: clientCertificateInfo(cert), depth: chainDepth(cert, anchors) };
}

/**
 * Certificates from the client's up to one a CA in ca_file issued, both counted: 1 when such a CA issued it
 * directly. OpenSSL has verified the chain already; this only measures it. The chain is what the client sent.
 */
function chainDepth(leaf: X509Certificate, anchors: readonly X509Certificate[]): number {
  let depth = 0;
  for (let cert: X509Certificate | undefined = leaf; cert !== undefined && depth < MAX_CHAIN; cert = cert.issuerCertificate) {
    if (anchors.some((a) => a.fingerprint256 === cert!.fingerprint256)) return depth;
    depth++;
    if (anchors.some((a) => cert!.checkIssued(a))) return depth;
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

function refusal(route: RouteConfig, mtls: DownstreamMtlsConfig | undefined, peer: PeerCertificate): VallumError | undefined {
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
