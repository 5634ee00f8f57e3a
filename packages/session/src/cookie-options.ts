export interface SessionCookieOptions {
  httpOnly: true;
  sameSite: 'lax';
  secure: boolean;
  path: '/';
  maxAge?: number;
}

/** Host-only (no Domain attribute): a session never leaks to sibling hosts through a parent-domain cookie. */
export function sessionCookieOptions(secure: boolean, maxAgeSeconds?: number): SessionCookieOptions {
  const options: SessionCookieOptions = { httpOnly: true, sameSite: 'lax', secure, path: '/' };
  if (maxAgeSeconds !== undefined) options.maxAge = Math.max(0, Math.floor(maxAgeSeconds));
  return options;
}

/** The Set-Cookie value that removes a session cookie set with `sessionCookieOptions(secure)`. */
export function clearedSessionCookie(name: string, secure: boolean): string {
  return `${name}=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; ${secure ? 'Secure; ' : ''}SameSite=Lax`;
}
