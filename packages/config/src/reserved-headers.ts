// Request headers a setting may not name as its own: HTTP's, the forwarding headers, and Vallum's identity headers.

/** Headers a claim header (or the client certificate's fingerprint header, but for X-Vallum-Client-Cert-*) may not replace. */
export const RESERVED_HEADER =
  /^(host|cookie|authorization|proxy-authorization|connection|content-length|content-type|transfer-encoding|upgrade|te|trailer|keep-alive|forwarded|x-forwarded-.*|x-real-ip|x-request-id|x-vallum-.*)$/i;
