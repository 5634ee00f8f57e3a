// What a service run on its own needs of the config: the URLs of the services it calls, and whether it may run as
// several worker processes. Loading checks them for the file's `services`; start checks them for --service too.
import type { ServiceName } from './schema.js';

export type PeerUrlKey = 'authorize_service_url' | 'cache_service_url';

/** The URLs of the services each one calls when it runs on its own (the all-in-one process calls none). */
export const PEER_URLS: Readonly<Record<ServiceName | 'all', readonly PeerUrlKey[]>> = Object.freeze({
  all: [],
  proxy: ['authorize_service_url', 'cache_service_url'],
  authenticate: ['cache_service_url'],
  authorize: [],
  cache: [],
});

/** The services a worker may run; the others keep state (cache) or have not been checked with several processes. */
export const WORKER_SERVICES: ReadonlySet<ServiceName | 'all'> = new Set(['all', 'proxy']);
