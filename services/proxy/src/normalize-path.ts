// Paths are compared (route prefixes, policy) only after normalisation, so `/x/../admin`, `//admin` and `/%61dmin`
// all mean `/admin`. The normalised path is also what the upstream receives, so it sees what was authorised.

const UNRESERVED = /%(2[DdEe]|3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]|5[Ff]|6[1-9A-Fa-f]|7[0-9Aa]|7[Ee])/g;

/** Returns the normalised path, or null when it cannot be a valid request path. */
export function normalizePath(rawPath: string): string | null {
  if (!rawPath.startsWith('/')) return null;
  // Nothing to decode, no empty, `.` or `..` segment: already normal (most requests).
  if (!rawPath.includes('%') && !rawPath.includes('//') && !rawPath.includes('/.')) return rawPath;
  let path: string;
  try {
    path = rawPath.replace(UNRESERVED, (m) => String.fromCharCode(parseInt(m.slice(1), 16)));
  } catch {
    return null;
  }
  // Escapes that stay escaped are upper-cased so two spellings of one path compare equal.
  path = path.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());
  if (/%(?![0-9A-F]{2})/.test(path)) return null;
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '' && !last) continue;
    if (segment === '.') {
      if (last) out.push('');
      continue;
    }
    if (segment === '..') {
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

export function splitPathAndQuery(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q) };
}
