// The inputs and output of a policy decision. Shared by the proxy (which builds the input), the authorize service
// (which evaluates it) and the service client (which carries it over HTTP).

export interface Identity {
  sub: string;
  email: string;
  groups: string[];
  /** Every claim the IdP returned (ID token + userinfo), for `claim/<name>` criteria. */
  claims: Record<string, unknown>;
  /** When the user last authenticated at the IdP (its `auth_time`, else the session's start), epoch ms: for `auth_age`. */
  authTime?: number;
  /** The assurance the IdP signed the user in with (its `acr`), for `acr`. */
  acr?: string;
}

export interface RequestInfo {
  method: string;
  /** Lower-cased host with port when not the scheme's default, e.g. `app.localhost:8000`. */
  host: string;
  /** Normalised path without the query string. */
  path: string;
  /** Request headers by lower-case name, for `header/<name>`; the proxy never sends cookie or authorization. */
  headers?: Readonly<Record<string, string>>;
  /** The client's address as the proxy saw it (IPv4-mapped IPv6 included), for `source_ip`. */
  sourceIp?: string;
  /** The client certificate the listener verified (downstream_mtls), for `client_certificate`; absent when none was. */
  clientCertificate?: ClientCertificateInfo;
}

/** What a policy may match of a verified client certificate (see client-certificate-info.ts). */
export interface ClientCertificateInfo {
  /** SHA-256 of the certificate's DER, lower-case hex. */
  fingerprint: string;
  /** SHA-256 of its DER SubjectPublicKeyInfo, base64. */
  spkiHash: string;
  /** rfc822Name subject alternative names. */
  sanEmail: readonly string[];
  /** dNSName subject alternative names. */
  sanDns: readonly string[];
  /** The subject's common name, when it has one. */
  subjectCn?: string;
  /** The issuer's distinguished name, RFC 4514 (most specific first): `CN=Acme Client CA,O=Acme`. */
  issuer: string;
}

export interface Reason {
  /** kebab-case constant, e.g. `email-ok`, `groups-unauthorized`, `user-unauthenticated`. */
  code: string;
  /** A sentence safe to show the user on the 403 page, e.g. "requires group admins". */
  message: string;
}

export interface Decision {
  allow: boolean;
  reasons: Reason[];
  /** Shadow mode: allowed only because the denying policy has enforce: false. */
  shadow?: boolean;
  /** Epoch ms until which this decision cannot change for the same input (a time-based criterion's next boundary). */
  cacheableUntil?: number;
  /** Identifies the policies that made the decision; it changes with every reload that changes a policy. */
  policyVersion?: string;
}
