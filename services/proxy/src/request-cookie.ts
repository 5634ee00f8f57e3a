// One cookie's value from a Cookie header, read without parsing the others: the proxy asks for its session cookie
// (and a ring_hash cookie) on every request. Same reading as the `cookie` package: first occurrence wins, spaces
// trimmed, surrounding quotes dropped, %XX decoded.

export function requestCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const h = Array.isArray(header) ? header.join('; ') : header;
  let at = 0;
  while (at < h.length) {
    let end = h.indexOf(';', at);
    if (end === -1) end = h.length;
    const eq = h.indexOf('=', at);
    if (eq !== -1 && eq < end && h.slice(at, eq).trim() === name) return decode(h.slice(eq + 1, end).trim());
    at = end + 1;
  }
  return undefined;
}

function decode(value: string): string {
  if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1);
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
