// Liveness and readiness. A process is live while it answers; it is ready while what it needs answers (config,
// store, IdP, peer services) and it is not draining. Checks run with a deadline each, so a hung dependency makes the
// probe fail rather than hang, and their result is kept briefly, so a flood of probes costs one round of checks.
// Why a check fails is for operators: the process log (once per change) and the metrics listener's /readyz; a route
// host's /readyz, which anyone who reaches an app reaches, says only ready or not ready.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogSink } from '@vallum/telemetry';

export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency answers; throws (or rejects) when it does not. */
  check(): Promise<void>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why the check failed: the error's message, never its cause (which may hold a URL with credentials). */
  detail?: string;
}

export interface ReadinessReport {
  ready: boolean;
  draining: boolean;
  checks: CheckResult[];
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
  /** Readiness fails from now on, whatever the checks say. */
  startDraining(): void;
  readonly draining: boolean;
}

export interface ReadinessOptions {
  /** Deadline of each check (default 1500 ms). */
  timeoutMs?: number;
  /** How long a report is reused (default 1000 ms). */
  cacheMs?: number;
  now?: () => number;
  /** Told the first round's outcome, then each round that fails other checks than the last (a warning naming each and why). */
  log?: Pick<LogSink, 'info' | 'warn'> | undefined;
}

/** Answers a probe it recognises and returns true; returns false for any other request. */
export type ProbeResponder = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createReadiness(checks: readonly ReadinessCheck[], options: ReadinessOptions = {}): Readiness {
  const timeoutMs = options.timeoutMs ?? 1500;
  const cacheMs = options.cacheMs ?? 1000;
  const now = options.now ?? Date.now;
  let draining = false;
  let last: { at: number; report: Promise<ReadinessReport> } | undefined;
  const changes = options.log === undefined ? undefined : logChanges(options.log);

  const runAll = async (): Promise<ReadinessReport> => {
    const results = await Promise.all(checks.map((c) => runCheck(c, timeoutMs)));
    changes?.(results);
    return { ready: !draining && results.every((r) => r.ok), draining, checks: results };
  };
  return {
    get draining() {
      return draining;
    },
    startDraining() {
      draining = true;
    },
    async check() {
      if (draining) return { ready: false, draining: true, checks: [{ name: 'draining', ok: false, detail: 'shutting down' }] };
      const at = now();
      // A round still running is shared too: probes that arrive while a dependency is slow wait for the same answer.
      if (last === undefined || at - last.at >= cacheMs) last = { at, report: runAll() };
      const report = await last.report;
      return draining ? { ...report, ready: false, draining: true } : report;
    },
  };
}

/** Logs the first round's outcome, then each round whose failing checks are not the last round's: once per change, not per probe. */
function logChanges(log: Pick<LogSink, 'info' | 'warn'>): (results: CheckResult[]) => void {
  let failing: string | undefined;
  return (results) => {
    const failed = results.filter((r) => !r.ok);
    const now = failed.map((r) => r.name).join(',');
    if (now === failing) return;
    failing = now;
    if (failed.length === 0) log.info({ checks: results.map((r) => r.name) }, 'ready: every readiness check passes');
    else
      log.warn(
        { checks: failed.map(({ name, detail }) => ({ name, detail })) },
        `not ready: ${failed.map((r) => `${r.name} (${r.detail ?? 'failed'})`).join(', ')}`,
      );
  };
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([c.check(), late]);
    return { name: c.name, ok: true };
  } catch (err) {
    return { name: c.name, ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export interface ProbeResponderOptions {
  /** Named in the answers. */
  service: string;
  /** Put before /healthz and /readyz: '/.vallum' on the proxy, where route hosts keep their own /healthz (default ''). */
  prefix?: string;
  /** When given, only requests it accepts are answered (all-in-one: the authenticate host, not route hosts). */
  accept?: (req: IncomingMessage) => boolean;
  /**
   * /readyz adds each check's result and why it failed (error text: host names, ports). Only on a listener that
   * operators alone reach (the metrics listener); a route host's answer is `status` and `service` (default false).
   */
  details?: boolean;
}

/**
 * The one /healthz and /readyz of every listener. GET or HEAD `{prefix}/healthz`: 200 while the process answers;
 * `{prefix}/readyz`: 200 or 503, with the report's details only when `details` is set.
 */
export function createProbeResponder(readiness: Readiness, options: ProbeResponderOptions): ProbeResponder {
  const live = `${options.prefix ?? ''}/healthz`;
  const ready = `${options.prefix ?? ''}/readyz`;
  const liveBody = JSON.stringify({ status: 'ok', service: options.service });
  const { accept, service } = options;
  const readyBody = (report: ReadinessReport) => {
    const status = report.ready ? 'ready' : 'not ready';
    return JSON.stringify(options.details ? { status, service, ...report } : { status, service });
  };
  return (req, res) => {
    const url = req.url;
    if (url === undefined) return false;
    const isLive = isPath(url, live);
    if (!isLive && !isPath(url, ready)) return false;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (accept !== undefined && !accept(req))) return false;
    if (isLive) {
      sendJson(res, 200, liveBody);
      return true;
    }
    readiness.check().then(
      (report) => sendJson(res, report.ready ? 200 : 503, readyBody(report)),
      () => sendJson(res, 503, JSON.stringify({ status: 'not ready', service })),
    );
    return true;
  };
}

/** Tries each responder in turn: the first that answers wins. */
export function anyProbe(...responders: ProbeResponder[]): ProbeResponder {
  return (req, res) => responders.some((respond) => respond(req, res));
}

/** `url` is `path`, with or without a query. */
function isPath(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 63) /* ? */;
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
