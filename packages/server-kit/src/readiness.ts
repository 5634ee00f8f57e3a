// Liveness and readiness. A process is live while it answers; it is ready while what it needs answers (config,
// store, IdP, peer services) and it is not draining. Checks run with a deadline each, so a hung dependency makes the
// probe fail rather than hang, and their result is kept briefly, so a flood of probes costs one round of checks.
import type { IncomingMessage, ServerResponse } from 'node:http';

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
}

/** Answers a probe it recognises and returns true; returns false for any other request. */
export type ProbeResponder = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createReadiness(checks: readonly ReadinessCheck[], options: ReadinessOptions = {}): Readiness {
  const timeoutMs = options.timeoutMs ?? 1500;
  const cacheMs = options.cacheMs ?? 1000;
  const now = options.now ?? Date.now;
  let draining = false;
  let last: { at: number; report: Promise<ReadinessReport> } | undefined;

  const runAll = async (): Promise<ReadinessReport> => {
    const results = await Promise.all(checks.map((c) => runCheck(c, timeoutMs)));
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
}

/** GET or HEAD `{prefix}/healthz` (200 while the process answers) and `{prefix}/readyz` (200 or 503, with the report). */
export function createProbeResponder(readiness: Readiness, options: ProbeResponderOptions): ProbeResponder {
  const live = `${options.prefix ?? ''}/healthz`;
  const ready = `${options.prefix ?? ''}/readyz`;
  const liveBody = JSON.stringify({ status: 'ok', service: options.service });
  const { accept, service } = options;
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
      (report) => sendJson(res, report.ready ? 200 : 503, JSON.stringify({ status: report.ready ? 'ready' : 'not ready', service, ...report })),
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
