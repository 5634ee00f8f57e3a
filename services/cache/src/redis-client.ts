// The ioredis clients for a `cache.redis_url` target: one Redis, a master found through Sentinel, or a Cluster.
// Commands fail fast while no master answers (no offline queue), so callers answer 503 at once instead of hanging;
// ioredis keeps reconnecting (and, on Sentinel and Cluster, finding the new master) in the background.
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisNode, RedisTarget } from '@vallum/config';

export type RedisClient = Redis | Cluster;

const backoff = (attempt: number) => Math.min(attempt * 200, 2000);
const COMMAND_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 2000,
} satisfies RedisOptions;
/** Pub/sub waits for its connection instead: a subscribe made while reconnecting is sent once connected. */
const SUBSCRIBER_OPTIONS = {
  enableOfflineQueue: true,
  maxRetriesPerRequest: null,
  commandTimeout: undefined,
  connectTimeout: 2000,
  // ioredis's own resubscribe after a reconnection leaves its promise unhandled; a connection that drops again
  // before the reply would raise an unhandled rejection, so every (re)subscribe is made on 'ready', handled.
  autoResubscribe: false,
} satisfies RedisOptions;
const NEXT_NODE_DELAY_MS = 200;

export function createRedisClient(target: RedisTarget): RedisClient {
  const client = build(target);
  // Without a listener ioredis reports connection errors as unhandled; the state is visible through 503s instead.
  client.on('error', () => {});
  return client;
}

function build(target: RedisTarget): RedisClient {
  switch (target.kind) {
    case 'standalone':
      return new Redis(target.url, { ...COMMAND_OPTIONS, retryStrategy: backoff });
    case 'sentinel':
      return new Redis({
        ...COMMAND_OPTIONS,
        ...credentials(target),
        sentinels: target.sentinels.map((n) => ({ ...n })),
        name: target.masterName,
        db: target.db,
        retryStrategy: backoff,
        sentinelRetryStrategy: backoff,
        // Not ioredis's failoverDetector: its +switch-master handler disconnects a client that is reconnecting at
        // that moment for good ('end', seen in the failover test). Without it the reconnection asks the sentinels.
        // A master demoted in place (a manual failover) answers writes with READONLY: ask the sentinels again.
        reconnectOnError: (err) => err.message.startsWith('READONLY'),
      });
    case 'cluster':
      return new Cluster(
        target.nodes.map((n) => ({ ...n })),
        {
          enableOfflineQueue: false,
          clusterRetryStrategy: backoff,
          retryDelayOnFailover: 100,
          retryDelayOnClusterDown: 100,
          retryDelayOnTryAgain: 100,
          slotsRefreshTimeout: 1000,
          redisOptions: { ...COMMAND_OPTIONS, ...credentials(target) },
        },
      );
  }
}

function credentials(target: { username?: string; password?: string }): Pick<RedisOptions, 'username' | 'password'> {
  return { ...(target.username === undefined ? {} : { username: target.username }), ...(target.password === undefined ? {} : { password: target.password }) };
}

/** Replicas a write waits for (WAIT): one where a failover can promote a replica, none on a lone `redis://`. */
export function replicasToWaitFor(target: RedisTarget): number {
  return target.kind === 'standalone' ? 0 : 1;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * Listens on a PUBLISH channel. On one Redis and on Sentinel it is the client's twin (Sentinel's follows the master);
 * on a Cluster, PUBLISH reaches every node (masters and replicas), so it is a plain connection to any node, moving
 * to the next known node whenever its node goes away.
 */
export function subscribeChannel(client: RedisClient, target: RedisTarget, channel: string, onMessage: (message: string) => void): Subscription {
  const prepare = (connection: Redis) => {
    connection.on('error', () => {});
    connection.on('ready', () => void connection.subscribe(channel).catch(() => {}));
    connection.on('message', (_channel: string, message: string) => onMessage(message));
    return connection;
  };
  if (client instanceof Redis) {
    const connection = prepare(client.duplicate(SUBSCRIBER_OPTIONS));
    return { close: () => closeConnection(connection) };
  }

  let closed = false;
  let connection: Redis | undefined;
  let next = Math.floor(Math.random() * 1000);
  const seeds = target.kind === 'cluster' ? target.nodes : [];
  const auth = target.kind === 'cluster' ? credentials(target) : {};
  const open = () => {
    if (closed) return;
    const known = client.nodes('all').map((n) => ({ host: n.options.host ?? '127.0.0.1', port: n.options.port ?? 6379 }));
    const candidates = known.length > 0 ? known : seeds;
    const node = candidates[next++ % candidates.length] as RedisNode;
    const current = prepare(new Redis({ ...SUBSCRIBER_OPTIONS, ...auth, host: node.host, port: node.port, retryStrategy: () => null }));
    current.once('end', () => {
      if (!closed) setTimeout(open, NEXT_NODE_DELAY_MS).unref();
    });
    connection = current;
  };
  open();
  return {
    async close() {
      closed = true;
      if (connection) await closeConnection(connection);
    },
  };
}

/** Which master a key's commands go to: its slot's master on a Cluster, the one master otherwise. */
export function masterOf(client: RedisClient, key: string): string {
  return client instanceof Cluster ? (client.slots[calculateSlot(key)]?.[0] ?? 'unknown') : 'master';
}

/**
 * A Cluster's slot map read again, after a pipeline was answered MOVED: ioredis follows MOVED for single commands but
 * not for a pipeline that ends in WAIT, and would keep sending it to the old master after a failover.
 */
export function refreshClusterSlots(client: RedisClient): Promise<void> {
  if (!(client instanceof Cluster)) return Promise.resolve();
  return new Promise((resolve) => client.refreshSlotsCache(() => resolve()));
}

/** Every key matching the pattern, up to `limit`: SCAN on each master of a Cluster, on the one Redis otherwise. */
export async function scanKeys(client: RedisClient, match: string, limit: number): Promise<string[]> {
  const keys: string[] = [];
  for (const node of client instanceof Cluster ? client.nodes('master') : [client]) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0' && keys.length < limit);
  }
  return keys;
}

/**
 * QUIT when connected, so commands still in flight (a resubscribe after a reconnection) are answered rather than
 * rejected with "Connection is closed" after their caller is gone; a QUIT that takes more than a second is cut short.
 * Then disconnect either way: it also ends the connections a Sentinel client keeps to the sentinels.
 */
export async function closeConnection(connection: RedisClient): Promise<void> {
  if (connection.status === 'ready') {
    const quit = connection.quit().then(
      () => {},
      () => {},
    );
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([quit, timer]);
  }
  connection.disconnect();
}
