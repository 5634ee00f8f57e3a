// Signs in through an OpenID Connect code flow over plain HTTP, without a browser: follows the redirects from a
// relying party to the demo IdP, submits its login form (consent is granted without a screen) and follows the
// redirects back, keeping cookies per host name whatever the port, as a browser does (paths aside: every cookie not
// yet deleted goes to every path of its host). For benchmarks and load generators that need a real session cookie
// from a relying party (Vallum, Apache + mod_auth_openidc, …).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DEMO_PASSWORD } from '@vallum/demo';

const MAX_STEPS = 30;
const STEP_TIMEOUT_MS = 15_000;
const LOGIN_FORM = /<form id="login" method="post" action="([^"]+)"/;
const LOGIN_ERROR = /<p id="error"[^>]*>([^<]*)</;

export interface HttpSignIn {
  /** Where the redirects ended: the relying party's page after sign-in. */
  url: string;
  status: number;
  body: string;
  /** The `Cookie` header a browser would now send to this URL's host (e.g. the relying party's session cookie). */
  cookieHeader(url: string): string;
  /** One cookie's value for this URL's host, or undefined. */
  cookie(url: string, name: string): string | undefined;
}

/**
 * Starts at `startUrl` (a protected page of a relying party, or an IdP authorization URL) and signs in at the demo
 * IdP as `email`. Resolves with the final response once the redirects end outside the login form; rejects with the
 * IdP's message when the credentials are refused, or when the flow takes more than 30 steps.
 */
export async function signInOverHttp(startUrl: string, email: string, password: string = DEMO_PASSWORD): Promise<HttpSignIn> {
  const jar = new Map<string, Map<string, string>>();
  const cookiesOf = (url: string) => {
    const host = new URL(url).hostname;
    let cookies = jar.get(host);
    if (cookies === undefined) jar.set(host, (cookies = new Map()));
    return cookies;
  };
  const cookieHeader = (url: string) => [...cookiesOf(url)].map(([name, value]) => `${name}=${value}`).join('; ');

  let url = startUrl;
  let form: string | undefined;
  let submitted = false;
  for (let step = 0; step < MAX_STEPS; step++) {
    // A top-level navigation, as a browser sends it (fetch would send `sec-fetch-mode: cors`, and relying parties
    // such as mod_auth_openidc then answer 401 instead of redirecting to the IdP).
    const headers: Record<string, string> = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
    const cookie = cookieHeader(url);
    if (cookie !== '') headers.cookie = cookie;
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await send(url, form === undefined ? 'GET' : 'POST', headers, form);
    for (const line of res.setCookie) keepCookie(cookiesOf(url), line);
    const { body, location } = res;
    form = undefined;
    if (res.status >= 300 && res.status < 400 && location !== undefined) {
      url = new URL(location, url).href;
      continue;
    }
    const login = LOGIN_FORM.exec(body);
    if (res.status === 200 && login !== null) {
      if (submitted) throw new Error(`the IdP refused the sign-in of ${email}: ${LOGIN_ERROR.exec(body)?.[1]?.trim() ?? 'the login form came back'}`);
      submitted = true;
      url = new URL(login[1] ?? '', url).href;
      form = new URLSearchParams({ email, password }).toString();
      continue;
    }
    return { url, status: res.status, body, cookieHeader, cookie: (at, name) => cookiesOf(at).get(name) };
  }
  throw new Error(`the sign-in from ${startUrl} did not end within ${MAX_STEPS} requests (last: ${url})`);
}

/** Stores or, when it is expired, deletes the cookie of one `Set-Cookie` line. */
function keepCookie(cookies: Map<string, string>, line: string): void {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return;
  const name = pair.slice(0, eq).trim();
  const expired = attributes.some((attribute) => {
    const [key = '', value = ''] = attribute.trim().split('=');
    if (key.toLowerCase() === 'max-age') return Number(value) <= 0;
    if (key.toLowerCase() === 'expires') return Date.parse(attribute.slice(attribute.indexOf('=') + 1)) <= Date.now();
    return false;
  });
  if (expired) cookies.delete(name);
  else cookies.set(name, pair.slice(eq + 1).trim());
}

interface Answer {
  status: number;
  location: string | undefined;
  setCookie: string[];
  body: string;
}

function send(url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: STEP_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          setCookie: res.headers['set-cookie'] ?? [],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} got no answer within ${STEP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
