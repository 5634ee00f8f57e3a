/**
 * `to: http://h/base` + `/dir` + `?q` → `/base/dir?q`: exactly one slash at the join, the query kept as sent.
 * With `prefix_rewrite`, the matched prefix of the path is replaced first.
 */
export function upstreamPath(upstream: URL, path: string, query: string, rewrite?: { prefix: string; to: string }): string {
  return `${basePathOf(upstream)}${rewrittenPath(path, rewrite)}${query}`;
}

/** The upstream URL's path without its trailing slash: what every request path is appended to. */
export function basePathOf(upstream: URL): string {
  const p = upstream.pathname;
  return p.endsWith('/') ? p.slice(0, -1) : p;
}

/** The request path with the route's matched prefix replaced (`prefix_rewrite`), if any. */
export function rewrittenPath(path: string, rewrite: { prefix: string; to: string } | undefined): string {
  return rewrite && path.startsWith(rewrite.prefix) ? joinPath(rewrite.to, path.slice(rewrite.prefix.length)) : path;
}

function joinPath(a: string, b: string): string {
  if (b === '') return a;
  const aSlash = a.endsWith('/');
  const bSlash = b.startsWith('/');
  if (aSlash && bSlash) return a + b.slice(1);
  if (!aSlash && !bSlash) return `${a}/${b}`;
  return a + b;
}
