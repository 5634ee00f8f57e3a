// Route lookup: a Map from host to that host's routes, longest prefix first. Unknown hosts match nothing — never
// "the first route".
import type { RouteConfig } from '@vallum/config';

export interface RouteTable {
  match(host: string, path: string): RouteConfig | undefined;
  hasHost(host: string): boolean;
}

export function createRouteTable(routes: readonly RouteConfig[]): RouteTable {
  const byHost = new Map<string, RouteConfig[]>();
  for (const route of routes) {
    const list = byHost.get(route.host) ?? [];
    list.push(route);
    byHost.set(route.host, list);
  }
  for (const list of byHost.values()) list.sort((a, b) => b.prefix.length - a.prefix.length);
  return {
    match(host, path) {
      const candidates = byHost.get(host);
      if (!candidates) return undefined;
      for (const route of candidates) if (path.startsWith(route.prefix)) return route;
      return undefined;
    },
    hasHost(host) {
      return byHost.has(host);
    },
  };
}
