// The forward step of a tcp route: once CONNECT is let in, dial the route's upstream (bounded by connect_timeout),
// answer 200 and pipe bytes both ways until both sides have ended, either side fails, or nothing moved for
// tcp_idle_timeout. pipe() carries backpressure and half-closes (each side's end is passed on, not a close).
import { connect, type Socket } from 'node:net';
import type { RouteConfig } from '@vallum/config';
import { closeAfter, rawResponse } from './upgrade.js';

export interface TunnelEnd {
  /** 200 once the tunnel was open; else 502 (upstream refused or failed), 504 (connect timed out), 499 (client left). */
  status: number;
  /** Bytes the client sent the upstream, and the upstream sent the client. */
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  /** Why it ended: both sides ended or one closed, nothing moved for tcp_idle_timeout, or a socket failed. */
  reason: 'closed' | 'idle' | 'error' | 'refused';
}

/** Dials `route`'s upstream for `client` (the CONNECT socket, `head` what it sent after the request); `ended` once. */
export function openTunnel(route: RouteConfig, client: Socket, head: Buffer, ended: (end: TunnelEnd) => void): void {
  const started = performance.now();
  const target = route.to[route.to.length === 1 ? 0 : Math.floor(Math.random() * route.to.length)]!;
  const upstream = connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port), allowHalfOpen: true });
  let open = false;
  let reason: TunnelEnd['reason'] = 'closed';
  let answered = false;
  const connectTimer = setTimeout(() => {
    upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
  }, route.connectTimeoutMs);
  const finish = (status: number) =>
    ended({ status, bytesUp: upstream.bytesWritten, bytesDown: upstream.bytesRead, durationMs: Math.round(performance.now() - started), reason });

  upstream.on('error', (err: Error & { code?: string }) => {
    clearTimeout(connectTimer);
    if (open) reason = 'error';
    if (open || answered) {
      client.destroy();
      return;
    }
    answered = true;
    const status = err.code === 'ETIMEDOUT' ? 504 : 502;
    const message = status === 504 ? 'The upstream did not accept the connection in time.' : 'The upstream refused the connection or is down.';
    closeAfter(
      client,
      rawResponse(
        status,
        [
          ['content-type', 'text/plain; charset=utf-8'],
          ['connection', 'close'],
        ],
        `${message}\n`,
      ),
    );
    reason = 'refused';
    finish(status);
  });
  // A client gone before the upstream answered: nothing to tunnel (499, as nginx logs it).
  const clientGone = () => {
    clearTimeout(connectTimer);
    answered = true;
    upstream.destroy();
    finish(499);
  };
  client.once('close', clientGone);

  upstream.once('connect', () => {
    clearTimeout(connectTimer);
    client.off('close', clientGone);
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    open = true;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    // Every byte either way passes through `upstream` (read or written), so its timer sees all activity.
    upstream.setTimeout(route.tcpIdleTimeoutMs, () => {
      reason = 'idle';
      upstream.destroy();
    });
    client.setTimeout(0);
    upstream.pipe(client);
    client.pipe(upstream);
    client.on('error', () => {
      reason = 'error';
      upstream.destroy();
    });
    const closeBoth = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.once('close', closeBoth);
    client.once('close', closeBoth);
    let reported = false;
    const report = () => {
      if (reported) return;
      reported = true;
      finish(200);
    };
    upstream.once('close', report);
  });
}
