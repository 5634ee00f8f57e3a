/** `to: http://h/base` + `/dir` + `?q` → `/base/dir?q`: exactly one slash at the join, the query kept as sent. */
export function upstreamPath(upstream: URL, path: string, query: string): string {
  const base = upstream.pathname.endsWith('/') ? upstream.pathname.slice(0, -1) : upstream.pathname;
  return `${base}${path}${query}`;
}
