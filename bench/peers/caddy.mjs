// Peer: Caddy as a plain reverse proxy (no authentication), run as a child with `caddy run --config FILE`, never
// the system service.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CADDY_PACKAGES = ['caddy'];

/** Writes a Caddy JSON config (a plain reverse proxy, no admin endpoint, no automatic HTTPS) and returns its path. */
export function writeCaddyConfig(dir, { port, upstream }) {
  const file = join(dir, 'caddy.json');
  const config = {
    admin: { disabled: true },
    logging: { logs: { default: { level: 'WARN' } } },
    apps: {
      http: {
        servers: {
          bench: {
            listen: [`127.0.0.1:${port}`],
            automatic_https: { disable: true },
            routes: [
              {
                handle: [
                  {
                    handler: 'reverse_proxy',
                    upstreams: [{ dial: new URL(upstream).host }],
                    transport: { protocol: 'http', keep_alive: { max_idle_conns_per_host: 128 } },
                  },
                ],
              },
            ],
          },
        },
      },
    },
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}
