// `vallum --workers N`: a primary process forks N workers (node:cluster) that share its listening socket, each running
// what a single process would. The primary serves no requests. It restarts a worker that dies (backing off), tells
// the workers to reload when the config changes, and on shutdown signals them and waits until they have drained.
// Without Redis, the sessions of an all-in-one Vallum live in the primary, and workers reach them over IPC
// (shared-store.ts; the README's "Workers" section says why this and not the cache service over loopback HTTP).
// With metrics_address, the primary alone listens there and answers each scrape with its own metrics and every
// worker's, asked for over IPC and summed (prom-client's AggregatorRegistry).
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { WORKER_SERVICES, type ServiceName, type VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import type { CacheApi } from '@vallum/service-client';
import { createLogger, type VallumMetrics } from '@vallum/telemetry';
import type { MetricsSnapshot } from '@vallum/telemetry/metrics';
import { createProbeResponder, createReadiness } from '@vallum/server-kit';
import { UsageError } from './cli-usage.js';
import { startMetricsListener } from './metrics-listener.js';
import { createIpcCacheClient, serveStore } from './shared-store.js';
import type { ReloadResult } from './start-vallum.js';

/** How long a worker that dies is waited for before its replacement starts: doubled per quick death, at most this. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that ran this long before dying resets the back-off: it was a crash, not a crash loop. */
const STABLE_AFTER_MS = 30_000;
/** Workers still running this long after drain_delay + shutdown_grace (which they keep themselves) are killed. */
const STOP_MARGIN_MS = 10_000;

/** A worker that has not sent its metrics by then is left out of that scrape. */
const METRICS_WAIT_MS = 2_000;

/** Messages between the primary and its workers (`vallum` tags them so cluster's own are never mistaken for them). */
type ToWorker = { vallum: 'setup'; workers: number; sharedStore: boolean } | { vallum: 'reload' } | { vallum: 'metrics?'; id: number };
type ToPrimary = { vallum: 'hello' } | { vallum: 'listening'; url: string } | { vallum: 'metrics'; id: number; snapshot: MetricsSnapshot };

/** The worker count from --workers (else the `workers` setting, which VALLUM_WORKERS overrides); `auto` is one per core. */
export function resolveWorkers(flag: string | undefined, configured: number | 'auto', service: ServiceName | 'all'): number {
  let workers: number;
  if (flag === undefined) workers = configured === 'auto' ? availableParallelism() : configured;
  else if (flag === 'auto') workers = availableParallelism();
  else if (/^[1-9]\d{0,3}$/.test(flag)) workers = Number(flag);
  else throw new UsageError('', `--workers must be a number of processes (1 or more) or auto; got '${flag}'`);
  if (workers > 1 && !WORKER_SERVICES.has(service)) {
    throw new UsageError('', `--workers applies to the all-in-one and proxy services; the ${service} service runs as one process`);
  }
  return workers;
}

export const isWorker = (): boolean => cluster.isWorker;

export interface RunningWorkers {
  service: ServiceName | 'all';
  url: string;
  /** Reloads the primary's own part (the shared session store) and tells every worker to load the file again. */
  reload(config: VallumConfig): Promise<ReloadResult>;
  /** Sends SIGTERM to every worker, waits for them to exit (each drains), then closes the shared store. */
  shutdown(): Promise<void>;
  /** The same: the workers are told to stop as on SIGTERM, and waited for. */
  close(): Promise<void>;
}

export interface PrimaryOptions {
  service: ServiceName | 'all';
  workers: number;
  log: ReturnType<typeof createLogger>;
}

export async function startWorkers(config: VallumConfig, options: PrimaryOptions): Promise<RunningWorkers> {
  const { service, workers, log } = options;
  const metricsService = config.metricsAddress === undefined ? undefined : await import('@vallum/telemetry/metrics');
  // The primary's own: its process metrics, and the store's and token refresher's when it keeps the sessions.
  const metrics = metricsService?.createMetrics({ service });
  const store = service === 'all' && !config.redisUrl ? await startSharedStore(config, metrics) : undefined;
  const answers = new Map<number, (snapshot: MetricsSnapshot) => void>();
  let asked = 0;
  const setup: ToWorker = { vallum: 'setup', workers, sharedStore: store !== undefined };
  let current = config;
  let stopping = false;
  let url: string | undefined;
  const restarts = new Set<NodeJS.Timeout>();
  let quickDeaths = 0;

  let allStarted!: () => void;
  let startFailed!: (err: unknown) => void;
  const allListening = new Promise<void>((resolve, reject) => {
    allStarted = resolve;
    startFailed = reject;
  });
  let listening = 0;

  const fork = () => {
    const worker = cluster.fork();
    store?.serve.attach(worker);
    const bornAt = Date.now();
    let listened = false;
    worker.on('message', (message: ToPrimary) => {
      if (message?.vallum === 'hello') worker.send(setup);
      else if (message?.vallum === 'metrics') answers.get(message.id)?.(message.snapshot);
      else if (message?.vallum === 'listening') {
        listened = true;
        url = message.url;
        if (++listening === workers) allStarted();
      }
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!listened && listening < workers) {
        // Still starting: a worker that cannot listen (a port in use, a file it cannot read) fails the start.
        startFailed(new VallumError(ErrorCodes.WORKER_EXITED, `worker ${worker.process.pid} exited with ${how} before it listened`, { status: 500 }));
        return;
      }
      if (Date.now() - bornAt >= STABLE_AFTER_MS) quickDeaths = 0;
      const delay = Math.min(RESTART_MIN_MS * 2 ** quickDeaths, RESTART_MAX_MS);
      quickDeaths++;
      log.error({ worker: worker.process.pid, code, signal }, `worker exited with ${how}; a new one starts in ${delay} ms`);
      const timer = setTimeout(() => {
        restarts.delete(timer);
        if (!stopping) fork();
      }, delay);
      restarts.add(timer);
    });
  };

  let stopped: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopped ??= (async () => {
      stopping = true;
      readiness.startDraining();
      for (const timer of restarts) clearTimeout(timer);
      const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
      const exited = alive.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
      for (const w of alive) w.process.kill('SIGTERM');
      const kill = setTimeout(
        () => {
          for (const w of alive) if (!w.isDead()) w.process.kill('SIGKILL');
        },
        current.drainDelayMs + current.shutdownGraceMs + STOP_MARGIN_MS,
      );
      await Promise.all(exited);
      clearTimeout(kill);
      await metricsListener?.close();
      await store?.close();
    })());

  /** Every running worker's metrics, each asked over IPC; a worker that does not answer in time is left out. */
  const workerSnapshots = () =>
    Promise.all(
      connectedWorkers().map(
        (w) =>
          new Promise<MetricsSnapshot | undefined>((resolve) => {
            const id = ++asked;
            const done = (snapshot: MetricsSnapshot | undefined) => {
              clearTimeout(timer);
              answers.delete(id);
              resolve(snapshot);
            };
            const timer = setTimeout(() => done(undefined), METRICS_WAIT_MS);
            answers.set(id, done);
            w.send({ vallum: 'metrics?', id } satisfies ToWorker);
          }),
      ),
    );
  // The primary's probes (on the metrics listener): alive while it runs, ready while a worker serves.
  const readiness = createReadiness([
    {
      name: 'workers',
      check: async () => {
        if (connectedWorkers().length === 0) throw new Error('no worker is running');
      },
    },
  ]);

  for (let i = 0; i < workers; i++) fork();
  let metricsListener: { url: string; close(): Promise<void> } | undefined;
  try {
    await allListening;
    if (metricsService && metrics) {
      metricsListener = await startMetricsListener(
        config.metricsAddress!,
        {
          scrape: async () => {
            const snapshots = [await metrics.registry.getMetricsAsJSON(), ...(await workerSnapshots())];
            return metricsService.aggregateMetrics(snapshots.filter((s): s is MetricsSnapshot => s !== undefined));
          },
        },
        { probes: createProbeResponder(readiness, { service: service === 'all' ? 'vallum' : service, details: true }) },
      );
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    service,
    url: url!,
    async reload(next) {
      const notApplied: string[] = [];
      if (next.workers !== current.workers) {
        notApplied.push(`workers changed from ${current.workers} to ${next.workers}: ${workers} workers run until a restart`);
      }
      current = next;
      store?.reload(next);
      const reload: ToWorker = { vallum: 'reload' };
      for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(reload);
      return { notApplied };
    },
    shutdown: stopAll,
    close: stopAll,
  };
}

const connectedWorkers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());

/** The in-memory session store, served to the workers, and its token refresher (rebuilt with each config). */
async function startSharedStore(config: VallumConfig, metrics: VallumMetrics | undefined) {
  const cacheService = await import('@vallum/cache');
  const log = createLogger({ service: 'cache', level: config.logLevel, format: config.logFormat });
  const store = cacheService.createSessionStore(config, { log, metrics });
  const serve = serveStore(store, connectedWorkers);
  let refresher = cacheService.startTokenRefresher(config, store, { log, metrics });
  return {
    serve,
    reload(next: VallumConfig) {
      refresher.close();
      refresher = cacheService.startTokenRefresher(next, store, {
        log: createLogger({ service: 'cache', level: next.logLevel, format: next.logFormat }),
        metrics,
      });
    },
    async close() {
      refresher.close();
      serve.close();
      await store.close();
    },
  };
}

export interface WorkerLink {
  /** How many workers share the listener (rate limits are divided among them). */
  workers: number;
  /** The primary's session store (all-in-one without Redis). */
  sharedCache: CacheApi | undefined;
  /** Tells the primary this worker serves requests at `url`. */
  listening(url: string): void;
  /** Called when the primary saw the config change (or got SIGHUP): the worker loads the file again. */
  onReload(reload: () => void): void;
  /** Answers the primary's requests for this worker's metrics (for its aggregated /metrics). */
  serveMetrics(metrics: VallumMetrics): void;
}

/** In a worker: asks the primary for what it shares (the session store's address, the worker count). */
export function joinPrimary(): Promise<WorkerLink> {
  const send = (message: ToPrimary) => process.send?.(message);
  return new Promise((resolve) => {
    const onSetup = (message: ToWorker) => {
      if (message?.vallum !== 'setup') return;
      process.off('message', onSetup);
      resolve({
        workers: message.workers,
        sharedCache: message.sharedStore ? createIpcCacheClient() : undefined,
        listening: (url) => send({ vallum: 'listening', url }),
        onReload: (reload) => process.on('message', (m: ToWorker) => m?.vallum === 'reload' && reload()),
        serveMetrics: (metrics) =>
          process.on('message', (m: ToWorker) => {
            if (m?.vallum === 'metrics?') void metrics.registry.getMetricsAsJSON().then((snapshot) => send({ vallum: 'metrics', id: m.id, snapshot }));
          }),
      });
    };
    process.on('message', onSetup);
    send({ vallum: 'hello' });
  });
}
