/** Paths that are Vallum's own on every route host, answered by its own pages (own-pages.ts), never forwarded. */
export function isOwnPath(path: string): boolean {
  return path.startsWith('/.vallum/') || path === '/.vallum' || path.startsWith('/.well-known/vallum/');
}

/** The path of a request target as sent, before any normalisation. */
export function rawPathOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}
