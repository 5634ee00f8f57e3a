// undici's Pool without the rest of undici. `import { Pool } from 'undici'` evaluates all of it (fetch, WebSocket,
// caches, mocks: ~110 modules, ~6 MB of a proxy process's RSS) when the proxy only dispatches through pools. This is
// the very class undici exports (undici-pool.test.ts checks), with the request API (`pool.request`, used by health
// checks) mixed into Dispatcher as undici's index.js does.
import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

const require = createRequire(import.meta.url);
Object.assign((require('undici/lib/dispatcher/dispatcher.js') as { prototype: object }).prototype, require('undici/lib/api/index.js'));

export type Pool = UndiciPool;
export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
