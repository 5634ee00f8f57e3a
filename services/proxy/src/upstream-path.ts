/**
 * `to: http://h/base` + `/dir` + `?q` → `/base/dir?q`: exactly one slash at the join, the query kept as sent.
 * With `prefix_rewrite`, the matched prefix of the path is replaced first.
 */
export function upstreamPath(upstream: URL, path: string, query: string, rewrite?: { prefix: string; to: string }): string {
  if (rewrite && path.startsWith(rewrite.prefix)) path = joinPath(rewrite.to, path.slice(rewrite.prefix.length));
  const base = upstream.pathname.endsWith('/') ? upstream.pathname.slice(0, -1) : upstream.pathname;
  return `${base}${path}${query}`;
}

function joinPath(a: string, b: string): string {
  if (b === '') return a;
  const aSlash = a.endsWith('/');
  const bSlash = b.startsWith('/');
  if (aSlash && bSlash) return a + b.slice(1);
  if (!aSlash && !bSlash) return `${a}/${b}`;
  return a + b;
}
