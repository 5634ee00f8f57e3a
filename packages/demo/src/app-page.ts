// The demo upstream's page: what identity Vallum forwarded, and whether the signed assertion checks out.
import type { IncomingHttpHeaders } from 'node:http';
import type { AssertionResult } from './assertion.js';
import { escapeHtml, renderPage } from './html.js';

export interface WhoAmI {
  /** `x-vallum-claim-email`, or null when absent. */
  email: string | null;
  /** `x-vallum-claim-groups` as received (Vallum sends a comma-separated list), or null when absent. */
  groups: string | null;
  jwt: AssertionResult;
  /** Every request header the upstream received. */
  headers: IncomingHttpHeaders;
}

export function renderAppPage(whoami: WhoAmI, method: string, path: string): string {
  const claims = whoami.jwt.status === 'verified' ? whoami.jwt.claims : 'unverifiedClaims' in whoami.jwt ? whoami.jwt.unverifiedClaims : null;
  const claimsLabel = whoami.jwt.status === 'verified' ? 'Claims' : 'Claims (NOT verified)';
  return renderPage(
    'Vallum demo app',
    `<h1>Vallum demo app</h1>
<p>This upstream sits behind Vallum. It shows the identity Vallum forwarded with the request.</p>
<table>
<tr><th>Email</th><td id="email">${escapeHtml(whoami.email ?? '')}</td></tr>
<tr><th>Groups</th><td id="groups">${escapeHtml(whoami.groups ?? '')}</td></tr>
<tr><th>JWT assertion</th><td id="jwt-status">${escapeHtml(whoami.jwt.status)}</td></tr>
<tr><th>Request</th><td><span id="method">${escapeHtml(method)}</span> <code id="path">${escapeHtml(path)}</code></td></tr>
</table>
<h2>${claimsLabel}</h2>
<pre id="jwt-claims">${escapeHtml(JSON.stringify(claims, null, 2))}</pre>
<p><a id="sign-out" href="/.vallum/sign_out">Sign out</a></p>`,
  );
}
