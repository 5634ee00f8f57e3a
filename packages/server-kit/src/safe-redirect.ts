// Redirect targets come from the query string, so they are attacker-controlled until proven otherwise.

/** The target as a URL when it is an absolute http(s) URL on one of the allowed origins; null otherwise. */
export function safeRedirectTarget(target: unknown, allowedOrigins: ReadonlySet<string>): URL | null {
  if (typeof target !== 'string' || target.length === 0 || target.length > 4096) return null;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return null;
  return allowedOrigins.has(url.origin) ? url : null;
}
