// Throwaway Redis topologies on loopback for failover tests: a Cluster of three masters and three replicas, and a
// master with two replicas watched by three sentinels. Real processes in temp dirs, bounded waits, each one ended by
// its PID (stop), one killed with SIGKILL on demand (a master dying).
import { execFile } from 'node:child_process';
import { getFreePort } from './free-port.js';
import { findRedisExecutable, spawnRedis, signal, terminate, type Running, type SpawnOptions } from './redis-server.js';

const SETTLE_TIMEOUT_MS = 30_000;
/** A node missing this long is failed: failovers take a few seconds, not the default 15 s. */
const NODE_TIMEOUT_MS = 1000;
export const SENTINEL_MASTER_NAME = 'vallum-test';

export interface RedisProcess {
  port: number;
  pid: number;
  role: 'master' | 'replica' | 'sentinel';
  alive(): boolean;
  /** SIGKILL, as a crash: no shutdown, no save, no goodbye to the cluster; resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface RedisTopology {
  /** `cache.redis_url` for it: `redis+cluster://…` or `redis+sentinel://…/MASTER_NAME`. */
  url: string;
  processes: RedisProcess[];
  /** The live master holding `key` now (as the topology itself says: CLUSTER NODES, or the sentinels). */
  masterOf(key: string): Promise<RedisProcess>;
  /** Resolves once a master other than `old` serves `key` and accepts writes, or throws after `timeoutMs`. */
  waitForFailover(key: string, old: RedisProcess, timeoutMs?: number): Promise<RedisProcess>;
  /** Every process ended by its PID (SIGTERM, SIGKILL after 5 s) and its temp dir removed. */
  stop(): Promise<void>;
}

/** `redis-cli -p PORT args…` on loopback, bounded; resolves to its output. */
export function redisCli(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(findRedisExecutable('redis-cli'), ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout),
    );
  });
}

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

class Processes {
  readonly all: Array<{ running: Running; process: RedisProcess }> = [];
  private readonly killOnExit = (): void => {
    for (const { running } of this.all) signal(running.child, 'SIGKILL');
  };

  constructor() {
    process.on('exit', this.killOnExit);
  }

  async start(role: RedisProcess['role'], options: (port: number) => SpawnOptions = () => ({})): Promise<RedisProcess> {
    const port = await getFreePort();
    const running = await spawnRedis(findRedisExecutable(role === 'sentinel' ? 'redis-sentinel' : 'redis-server'), port, options(port));
    const process: RedisProcess = {
      port,
      pid: running.child.pid ?? -1,
      role,
      alive: () => running.child.exitCode === null && running.child.signalCode === null,
      async kill() {
        signal(running.child, 'SIGKILL');
        await running.exited;
      },
    };
    this.all.push({ running, process });
    return process;
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map(({ running }) => terminate(running)));
    process.off('exit', this.killOnExit);
  }
}

/** Three masters, three replicas (`redis-cli --cluster create … --cluster-replicas 1`), all slots covered. */
export async function startRedisCluster(): Promise<RedisTopology> {
  const procs = new Processes();
  try {
    const nodes = await Promise.all(
      Array.from({ length: 6 }, () =>
        procs.start('master', () => ({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(NODE_TIMEOUT_MS),
            // A loaded test machine must not leave a replica too stale to take over.
            '--cluster-replica-validity-factor',
            '0',
          ],
        })),
      ),
    );
    await redisCli(nodes[0]!.port, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes');
    const byPort = new Map(nodes.map((n) => [n.port, n]));
    const clusterView = async (port: number) =>
      (await redisCli(port, 'cluster', 'nodes'))
        .trim()
        .split('\n')
        .map((line) => {
          const [, address = '', flags = '', , , , , , ...slots] = line.split(' ');
          return { port: Number(address.split('@')[0]?.split(':')[1]), flags: flags.split(','), slots };
        });
    await poll('the cluster did not settle (every node cluster_state:ok, replicas in sync)', SETTLE_TIMEOUT_MS, async () => {
      for (const n of nodes) if (!(await redisCli(n.port, 'cluster', 'info')).includes('cluster_state:ok')) return undefined;
      const view = await clusterView(nodes[0]!.port);
      for (const entry of view) {
        const node = byPort.get(entry.port);
        if (node) node.role = entry.flags.includes('master') ? 'master' : 'replica';
        if (entry.flags.includes('slave') && !(await redisCli(entry.port, 'info', 'replication')).includes('master_link_status:up')) return undefined;
      }
      return view.filter((e) => e.flags.includes('master')).length === 3 ? true : undefined;
    });
    const masterOf = async (key: string): Promise<RedisProcess> => {
      const alive = nodes.filter((n) => n.alive());
      const slot = Number((await redisCli(alive[0]!.port, 'cluster', 'keyslot', key)).trim());
      for (const n of alive) {
        try {
          for (const entry of await clusterView(n.port)) {
            const holds = entry.slots.some((range) => {
              const [from, to = from] = range.split('-').map(Number);
              return from !== undefined && to !== undefined && slot >= from && slot <= to;
            });
            const node = byPort.get(entry.port);
            if (holds && node?.alive() && entry.flags.includes('master') && !entry.flags.includes('fail')) return node;
          }
        } catch {
          // ask the next node
        }
      }
      throw new Error(`no live master serves slot ${slot}`);
    };
    return {
      url: `redis+cluster://${nodes
        .slice(0, 3)
        .map((n) => `127.0.0.1:${n.port}`)
        .join(',')}`,
      processes: nodes,
      masterOf,
      async waitForFailover(key, old, timeoutMs = SETTLE_TIMEOUT_MS) {
        return poll(`no replica took over from the master on port ${old.port}`, timeoutMs, async () => {
          const master = await masterOf(key);
          if (master === old) return undefined;
          const info = await redisCli(master.port, 'cluster', 'info');
          return info.includes('cluster_state:ok') ? master : undefined;
        });
      },
      stop: () => procs.stop(),
    };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}

/** One master, two replicas, three sentinels (quorum 2), all of them knowing each other before it resolves. */
export async function startRedisSentinel(): Promise<RedisTopology> {
  const procs = new Processes();
  try {
    const master = await procs.start('master');
    const replicas = await Promise.all([0, 1].map(() => procs.start('replica', () => ({ args: ['--replicaof', '127.0.0.1', String(master.port)] }))));
    const sentinels = await Promise.all(
      [0, 1, 2].map(() =>
        procs.start('sentinel', (port) => ({
          sentinelConfig: (dir) =>
            [
              `port ${port}`,
              'bind 127.0.0.1',
              `dir ${dir}`,
              'daemonize no',
              'logfile ""',
              `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.port} 2`,
              `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${NODE_TIMEOUT_MS}`,
              `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
              `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
              '',
            ].join('\n'),
        })),
      ),
    );
    const dataNodes = [master, ...replicas];
    await poll('the sentinels did not discover the replicas and each other', SETTLE_TIMEOUT_MS, async () => {
      for (const r of replicas) if (!(await redisCli(r.port, 'info', 'replication')).includes('master_link_status:up')) return undefined;
      for (const s of sentinels) {
        const info = await redisCli(s.port, 'info', 'sentinel');
        if (!new RegExp(`name=${SENTINEL_MASTER_NAME},status=ok,address=[^,]+,slaves=2,sentinels=3`).test(info)) return undefined;
      }
      return true;
    });
    const masterOf = async (): Promise<RedisProcess> => {
      for (const s of sentinels) {
        try {
          const [, port] = (await redisCli(s.port, 'sentinel', 'get-master-addr-by-name', SENTINEL_MASTER_NAME)).trim().split('\n');
          const found = dataNodes.find((n) => n.port === Number(port));
          if (found) return found;
        } catch {
          // ask the next sentinel
        }
      }
      throw new Error('no sentinel names a master');
    };
    return {
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SENTINEL_MASTER_NAME}`,
      processes: [...dataNodes, ...sentinels],
      masterOf,
      async waitForFailover(_key, old, timeoutMs = SETTLE_TIMEOUT_MS) {
        return poll(`the sentinels did not promote a replica in place of port ${old.port}`, timeoutMs, async () => {
          const now = await masterOf();
          if (now === old) return undefined;
          return (await redisCli(now.port, 'role')).startsWith('master') ? now : undefined;
        });
      },
      stop: () => procs.stop(),
    };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}
