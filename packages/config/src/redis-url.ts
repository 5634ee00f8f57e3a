// `cache.redis_url`: one Redis, a Sentinel-watched master, or a Cluster, in the URL schemes Pomerium used. Parsed
// once here (config load checks it, the cache service builds its client from the result); messages never repeat
// the URL, so a password in it is never echoed.

export interface RedisNode {
  host: string;
  port: number;
}

export type RedisTarget =
  /** `redis://` or `rediss://`, handed to ioredis as written. */
  | { kind: 'standalone'; url: string }
  /** `redis+sentinel://[:password@]host:port[,host:port…]/MASTER_NAME[/DB]`: the password is the master's. */
  | { kind: 'sentinel'; sentinels: readonly RedisNode[]; masterName: string; db: number; username?: string; password?: string }
  /** `redis+cluster://[:password@]host:port[,host:port…]`: any reachable nodes; the others are discovered. */
  | { kind: 'cluster'; nodes: readonly RedisNode[]; username?: string; password?: string };

const SCHEMES = 'redis://, rediss://, redis+sentinel:// or redis+cluster://';
const MULTI_HOST = /^(redis\+sentinel|redis\+cluster):\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?$/;
const DEFAULT_PORT = { sentinel: 26379, cluster: 6379 } as const;

/** The target, or what is wrong with the URL (without repeating it). */
export function parseRedisUrl(value: string): { target: RedisTarget } | { error: string } {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return parseStandalone(value);
  if (scheme !== 'redis+sentinel' && scheme !== 'redis+cluster') {
    return { error: `expected a ${SCHEMES} URL${scheme ? `, got scheme '${scheme}'` : ''}` };
  }
  const match = MULTI_HOST.exec(value);
  if (!match) return { error: `expected ${scheme}://[:password@]host:port[,host:port…]${scheme === 'redis+sentinel' ? '/MASTER_NAME[/DB]' : ''}` };
  const kind = scheme === 'redis+sentinel' ? 'sentinel' : 'cluster';
  const credentials = parseCredentials(match[2]);
  if ('error' in credentials) return credentials;
  const nodes: RedisNode[] = [];
  for (const [i, hostPort] of (match[3] ?? '').split(',').entries()) {
    const node = parseNode(hostPort.trim(), DEFAULT_PORT[kind], i + 1);
    if ('error' in node) return node;
    nodes.push(node);
  }
  const segments = (match[4] ?? '').split('/').filter(Boolean);
  if (kind === 'cluster') {
    if (segments.length > 0) return { error: 'a redis+cluster:// URL has no path: a cluster has only database 0' };
    return { target: { kind, nodes, ...credentials } };
  }
  const [masterName, db = '0', ...extra] = segments.map(decodeURIComponent);
  if (!masterName) return { error: 'a redis+sentinel:// URL names the master after the hosts: redis+sentinel://host:26379/MASTER_NAME[/DB]' };
  if (extra.length > 0 || !/^\d{1,2}$/.test(db))
    return { error: `the database after the master name must be a number 0-99, got '${[db, ...extra].join('/')}'` };
  return { target: { kind, sentinels: nodes, masterName, db: Number(db), ...credentials } };
}

function parseStandalone(value: string): { target: RedisTarget } | { error: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: 'not a valid URL: expected redis://[[user]:password@]host[:port][/db]' };
  }
  if (!url.hostname) return { error: 'the URL has no host: expected redis://[[user]:password@]host[:port][/db]' };
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) return { error: `the path must be a database number 0-99, got '${db}'` };
  return { target: { kind: 'standalone', url: value } };
}

function parseCredentials(userinfo: string | undefined): { username?: string; password?: string } | { error: string } {
  if (userinfo === undefined || userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  try {
    const username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    const password = colon < 0 ? '' : decodeURIComponent(userinfo.slice(colon + 1));
    // Like redis://, a name alone is the password (Redis before ACLs has no user names).
    if (colon < 0) return { password: username };
    return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
  } catch {
    return { error: 'the user name or password is not valid percent-encoding' };
  }
}

/** Errors name the node by position: a password with an unencoded `@` would otherwise show up as a host. */
function parseNode(hostPort: string, defaultPort: number, position: number): RedisNode | { error: string } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s@]+)(?::(\d{1,5}))?$/.exec(hostPort);
  const expected = 'expected host[:port] (percent-encode @ and / in a password)';
  if (!match?.[1]) return { error: `node ${position} of the list: ${expected}` };
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) return { error: `node ${position} of the list: port ${port} is out of range 1-65535` };
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}
