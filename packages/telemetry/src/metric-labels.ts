// Label values for request metrics, and the per-route recorder the proxy keeps in its state. No prom-client here:
// processes without metrics never load it (see metrics.ts).
import type { VallumMetrics } from './metrics.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

/** A method label: the standard ones as sent, anything else `OTHER` (a client cannot make up series). */
export function methodLabel(method: string | undefined): string {
  return method !== undefined && METHODS.has(method) ? method : 'OTHER';
}

/** `2xx`, `4xx`, …; anything outside 100–599 is `other`. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

/** Records one route's requests: its children are made on first use and kept, so a request costs a Map lookup. */
export interface RouteRequestRecorder {
  observe(method: string | undefined, status: number, seconds: number): void;
}

const METHOD_INDEX = new Map([...METHODS].map((m, i) => [m, i]));
const CLASSES = 6;

export function routeRequestRecorder(metrics: VallumMetrics, route: string): RouteRequestRecorder {
  const children: Array<ReturnType<VallumMetrics['requests']['child']> | undefined> = [];
  return {
    observe(method, status, seconds) {
      const m = (method === undefined ? undefined : METHOD_INDEX.get(method)) ?? METHODS.size;
      const c = status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
      const i = m * CLASSES + c;
      let child = children[i];
      if (child === undefined) {
        child = children[i] = metrics.requests.child({ route, method: methodLabel(method), status_class: statusClass(status) });
      }
      child.observe(seconds);
    },
  };
}
