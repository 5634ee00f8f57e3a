// The proxy service: the data plane (proxy-handler.ts) over one state snapshot (proxy-state.ts), and Vallum's own
// pages (own-pages.ts). The composition root (cmd/vallum) serves `request` and `upgrade`, and swaps the whole
// service on reload.
import type { FastifyInstance } from 'fastify';
import type { VallumConfig } from '@vallum/config';
import { createRepeatedLog } from '@vallum/telemetry';
import { buildOwnPages } from './own-pages.js';
import { createProxyHandler, type RequestHandler, type UpgradeHandler } from './proxy-handler.js';
import { closeProxyState, createProxyState, type ProxyState, type ProxyStateDeps } from './proxy-state.js';

export interface ProxyDeps extends ProxyStateDeps {
  logger?: boolean;
}

export interface ProxyService {
  /** Requests on route hosts, Vallum's own paths included (they go to `pages`). */
  request: RequestHandler;
  upgrade: UpgradeHandler;
  /** Vallum's own pages and APIs; `ready()` before serving. */
  pages: FastifyInstance;
  state: ProxyState;
  close(): Promise<void>;
}

export async function buildApp(config: VallumConfig, deps: ProxyDeps): Promise<ProxyService> {
  const state = await createProxyState(config, deps);
  const pages = buildOwnPages(state, { logger: deps.logger });
  const errors = createRepeatedLog(pages.log);
  const handler = createProxyHandler(state, { ownPages: (req, res) => pages.routing(req, res), log: pages.log, errors });
  return {
    ...handler,
    pages,
    state,
    async close() {
      errors.close();
      await pages.close();
      await closeProxyState(state);
    },
  };
}
