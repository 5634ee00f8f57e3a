/** `host:port`, `:port` (all interfaces) or `[v6]:port` → what `listen()` takes. */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  if (!m) throw new Error(`address: expected host:port, :port or [v6]:port, got '${address}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`address: port out of range in '${address}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
