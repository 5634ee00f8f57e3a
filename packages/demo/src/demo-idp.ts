// A real OpenID Connect provider (oidc-provider) on loopback, with the demo users and our own login page.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import Provider, { interactionPolicy } from 'oidc-provider';
import { DemoOptionsError } from './errors.js';
import { closeServer, listen, originOf, sendHtml } from './http-server.js';
import { logoutSource, postLogoutSuccessSource, renderError } from './idp-pages.js';
import { handleInteraction } from './interaction-routes.js';
import { loopbackFetch } from './loopback-fetch.js';
import { createMemoryAdapter } from './memory-adapter.js';
import { claimsOf, DEMO_USERS, type DemoUser } from './users.js';

export interface DemoClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  /** Where the IdP POSTs logout tokens (OIDC Back-Channel Logout) when a user signs out at the IdP. */
  backchannel_logout_uri?: string;
}

export interface DemoIdpOptions {
  port?: number;
  host?: string;
  /**
   * The issuer URL clients and browsers use, when it differs from the bound address (e.g. `http://idp.localhost:8010`
   * in compose, where the IdP binds 0.0.0.0). Defaults to `http://HOST:PORT`. No trailing slash, no query.
   */
  issuer?: string;
  clients: DemoClient[];
  users?: readonly DemoUser[];
  /** Lifetime of access tokens (default 1 hour); tests of token refresh use a few seconds. */
  accessTokenTtlSeconds?: number;
  /**
   * Claims laid over a user's own, per use (`id_token` or `userinfo`); a claim set to undefined is left out. Tests
   * use it for distributed claims (`_claim_names`, `_claim_sources`) and for groups only one of the two carries.
   */
  extraClaims?: (user: DemoUser, use: string) => Record<string, unknown>;
  /**
   * Authentication context classes the IdP offers (`acr_values_supported`). A login is recorded with the class
   * `setLoginAcr` chose (default the first), and a request whose `acr_values` the IdP session does not meet gets the
   * login prompt, as a real IdP steps up.
   */
  acrValues?: readonly string[];
}

export interface DemoIdp {
  /** e.g. `http://127.0.0.1:PORT` (or the `issuer` option), no trailing slash. */
  issuer: string;
  port: number;
  users: DemoUser[];
  /** Deletes an account: its refresh tokens and userinfo are refused from now on, as for a user who left. */
  removeUser(sub: string): void;
  /** Replaces an account's groups (e.g. a user removed from a group at the IdP). */
  setGroups(sub: string, groups: string[]): void;
  /** A JWT signed with the IdP's own key (e.g. a logout token the IdP would never send), for tests of what Vallum accepts. */
  signJwt(claims: Record<string, unknown>, typ?: string): Promise<string>;
  /** The `acr` the next logins are made with (one of `acrValues`), e.g. after the user "set up" a second factor. */
  setLoginAcr(acr: string): void;
  close(): Promise<void>;
}

const SCOPES = ['openid', 'offline_access', 'email', 'profile', 'groups'];
const HOUR = 60 * 60;
const DAY = 24 * HOUR;

export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  validateOptions(options);
  const users = [...(options.users ?? DEMO_USERS)];
  const host = options.host ?? '127.0.0.1';

  // The issuer must contain the port, so listen first and attach the provider once it exists.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const { server, port } = await listen(
    (req, res) => {
      if (handler === undefined) sendHtml(res, 503, 'starting');
      else handler(req, res);
    },
    host,
    options.port ?? 0,
  );

  try {
    const issuer = options.issuer ?? originOf(host, port);
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const signingKey = { ...(await exportJWK(privateKey)), kid: `demo-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
    const login = { acr: options.acrValues?.[0] };
    const provider = new Provider(issuer, providerConfiguration(options, users, port, signingKey));
    provider.on('server_error', (_ctx, err) => {
      process.stderr.write(`[demo-idp] server_error: ${String((err as Error)?.stack ?? err)}\n`);
    });
    const callback = provider.callback();
    handler = (req, res) => {
      handleInteraction(provider, users, req, res, login.acr)
        .then((handled) => {
          if (!handled) callback(req, res);
        })
        .catch((err: unknown) => {
          process.stderr.write(`[demo-idp] interaction error: ${String((err as Error)?.stack ?? err)}\n`);
          if (!res.headersSent) sendHtml(res, 500, 'demo IdP interaction failed');
          else res.destroy();
        });
    };
    const indexOf = (sub: string) => {
      const i = users.findIndex((u) => u.sub === sub);
      if (i < 0) throw new DemoOptionsError(`no demo user ${sub}`);
      return i;
    };
    return {
      issuer,
      port,
      users,
      removeUser: (sub) => void users.splice(indexOf(sub), 1),
      setGroups: (sub, groups) => void (users[indexOf(sub)] = Object.freeze({ ...users[indexOf(sub)]!, groups: [...groups] })),
      setLoginAcr: (acr) => {
        if (!options.acrValues?.includes(acr)) throw new DemoOptionsError(`acr ${acr} is not one of the demo IdP's acrValues`);
        login.acr = acr;
      },
      signJwt: (claims, typ = 'JWT') => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signingKey.kid, typ }).sign(privateKey),
      close: () => closeServer(server),
    };
  } catch (err) {
    await closeServer(server);
    throw err;
  }
}

function providerConfiguration(options: DemoIdpOptions, users: readonly DemoUser[], port: number, signingKey: JWK): Record<string, unknown> {
  const { clients } = options;
  return {
    adapter: createMemoryAdapter(),
    clients: clients.map((client) => ({
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: client.redirect_uris,
      post_logout_redirect_uris: client.post_logout_redirect_uris ?? [],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...(client.backchannel_logout_uri ? { backchannel_logout_uri: client.backchannel_logout_uri, backchannel_logout_session_required: true } : {}),
    })),
    jwks: { keys: [signingKey] },
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // Browsers share cookies across ports: a per-port prefix keeps two demo IdPs (and Vallum's `_vallum*`
      // cookies) on 127.0.0.1 from overwriting each other.
      names: {
        session: `_demo_idp_${port}_session`,
        interaction: `_demo_idp_${port}_interaction`,
        resume: `_demo_idp_${port}_interaction_resume`,
      },
    },
    scopes: SCOPES,
    claims: {
      // acr and auth_time in every ID token, as most IdPs send them, not only when asked for.
      openid: ['sub', 'acr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    // Put the scope-granted claims (email, name, groups) in the ID token too, not only in userinfo.
    conformIdTokenClaims: false,
    findAccount: async (_ctx: unknown, sub: string) => {
      const user = users.find((candidate) => candidate.sub === sub);
      if (user === undefined) return undefined;
      return { accountId: user.sub, claims: async (use: string) => ({ ...claimsOf(user), ...options.extraClaims?.(user, use) }) };
    },
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }, code: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`, policy: interactionPolicyWithAcr() },
    ...(options.acrValues ? { acrValues: [...options.acrValues] } : {}),
    features: {
      devInteractions: { enabled: false },
      // A client may revoke only its own tokens (the default's rule, minus its "you SHOULD change" notice).
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      resourceIndicators: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
    },
    renderError,
    fetch: loopbackFetch,
    clientBasedCORS: () => true,
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? HOUR,
      AuthorizationCode: 60,
      IdToken: HOUR,
      RefreshToken: 14 * DAY,
      Interaction: HOUR,
      Session: 14 * DAY,
      Grant: 14 * DAY,
    },
  };
}

/** oidc-provider's default policy, plus: requested `acr_values` the IdP session does not meet need a new login. */
function interactionPolicyWithAcr() {
  const { Check, base } = interactionPolicy;
  const policy = base();
  policy.get('login')?.checks.add(
    new Check('acr_values_unmet', 'the requested authentication context needs a new login', (ctx) => {
      const requested = ctx.oidc.params.acr_values;
      if (typeof requested !== 'string' || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
      return requested.split(' ').includes(ctx.oidc.acr ?? '') ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}

function validateOptions(options: DemoIdpOptions): void {
  if (!Array.isArray(options.clients) || options.clients.length === 0) {
    throw new DemoOptionsError('startDemoIdp needs at least one client');
  }
  for (const client of options.clients) {
    if (!client.client_id || !client.client_secret || client.redirect_uris.length === 0) {
      throw new DemoOptionsError(`demo IdP client "${client.client_id}" needs client_id, client_secret and redirect_uris`);
    }
  }
  if (options.issuer !== undefined && !isIssuerUrl(options.issuer)) {
    throw new DemoOptionsError(`demo IdP issuer "${options.issuer}" must be an http(s) URL without a trailing slash, query or fragment`);
  }
  const users = options.users ?? DEMO_USERS;
  if (new Set(users.map((user) => user.sub)).size !== users.length) {
    throw new DemoOptionsError('demo IdP users need distinct sub values');
  }
}

function isIssuerUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && !value.endsWith('/') && url.search === '' && url.hash === '';
}
