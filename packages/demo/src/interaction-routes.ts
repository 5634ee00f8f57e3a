// The IdP's own interaction pages (devInteractions is off): a login form, and consent granted automatically.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Interaction, Provider } from 'oidc-provider';
import { escapeHtml, renderPage } from './html.js';
import { readForm, sendHtml } from './http-server.js';
import { LOGIN_ERROR_MESSAGE, renderLoginPage } from './login-page.js';
import { findUserByCredentials, type DemoUser } from './users.js';

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/;

/** Handles `/interaction/*`; returns false for every other path so the provider can serve it. */
export async function handleInteraction(
  provider: Provider,
  users: readonly DemoUser[],
  req: IncomingMessage,
  res: ServerResponse,
  acr?: string,
): Promise<boolean> {
  const { pathname } = new URL(req.url ?? '/', 'http://idp.invalid');
  const match = INTERACTION_PATH.exec(pathname);
  if (match === null) return false;
  const uid = match[1] ?? '';
  const isLogin = match[2] !== undefined;
  const isAbort = match[2] === '/abort';
  if ((isLogin && req.method !== 'POST') || (!isLogin && req.method !== 'GET')) {
    res.setHeader('allow', isLogin ? 'POST' : 'GET');
    sendHtml(res, 405, renderMessage('Method not allowed'));
    return true;
  }

  let details: Interaction;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    // Expired or missing interaction cookie: the user must restart sign-in at the application.
    sendHtml(res, 400, renderMessage(`This sign-in attempt has expired or is unknown (${(err as Error).message}). Start again from the application.`));
    return true;
  }
  if (details.uid !== uid) {
    sendHtml(res, 400, renderMessage('This sign-in attempt does not match your browser session. Start again from the application.'));
    return true;
  }

  if (details.prompt.name === 'consent') {
    await grantConsent(provider, details, req, res);
    return true;
  }
  if (details.prompt.name !== 'login') {
    sendHtml(res, 400, renderMessage(`Unsupported prompt "${details.prompt.name}".`));
    return true;
  }

  if (isAbort) {
    // The user declined: the client gets `error=access_denied`, as from a real IdP's "cancel".
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user declined to sign in.' },
      { mergeWithLastSubmission: false },
    );
    return true;
  }
  const clientId = details.params.client_id;
  if (!isLogin) {
    sendHtml(res, 200, renderLoginPage({ uid, users, ...(clientId === undefined ? {} : { clientId }) }));
    return true;
  }
  const form = await readForm(req);
  const email = form.get('email') ?? '';
  const user = findUserByCredentials(users, email, form.get('password') ?? '');
  if (user === undefined) {
    // 200, not 401: the page is a form to try again, not a failed API call.
    sendHtml(res, 200, renderLoginPage({ uid, users, email, error: LOGIN_ERROR_MESSAGE, ...(clientId === undefined ? {} : { clientId }) }));
    return true;
  }
  await provider.interactionFinished(req, res, { login: { accountId: user.sub, ...(acr ? { acr } : {}) } }, { mergeWithLastSubmission: false });
  return true;
}

/** Grants whatever the consent prompt reports missing, as oidc-provider's express example does, with no screen. */
async function grantConsent(provider: Provider, details: Interaction, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (accountId === undefined || clientId === undefined) {
    sendHtml(res, 400, renderMessage('Consent requested without a signed-in user.'));
    return;
  }
  const existing = details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  const consent = existing === undefined ? { grantId } : {};
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

function renderMessage(message: string): string {
  return renderPage('Vallum demo IdP', `<h1>Vallum demo IdP</h1>\n<p id="message" class="error">${escapeHtml(message)}</p>`);
}
