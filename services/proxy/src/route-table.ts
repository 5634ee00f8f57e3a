// Route lookup: a Map from host to that host's routes, never "the first route" for an unknown host. Within a host
// the most specific route wins, whatever the file order: an exact `path`, then a `regex` (file order among them),
// then the longest `prefix`. Exact paths and prefixes are Map lookups — one per distinct prefix length — so a lookup
// costs the same with 10 routes or 10,000.
import type { RouteConfig } from '@vallum/config';

export interface RouteTable {
  match(host: string, path: string): RouteConfig | undefined;
  hasHost(host: string): boolean;
  /** The tcp route of a CONNECT authority (`host:port`, lower-cased); tcp routes never answer HTTP requests. */
  tunnel(authority: string): RouteConfig | undefined;
}

interface HostRoutes {
  exact: Map<string, RouteConfig>;
  regexes: Array<{ re: RegExp; route: RouteConfig }>;
  prefixes: Map<string, RouteConfig>;
  /** Distinct prefix lengths, longest first. */
  lengths: number[];
}

export function createRouteTable(routes: readonly RouteConfig[]): RouteTable {
  const byHost = new Map<string, HostRoutes>();
  const tunnels = new Map<string, RouteConfig>();
  for (const route of routes) {
    if (route.tcp) {
      if (!tunnels.has(route.host)) tunnels.set(route.host, route);
      continue;
    }
    let entry = byHost.get(route.host);
    if (!entry) {
      entry = { exact: new Map(), regexes: [], prefixes: new Map(), lengths: [] };
      byHost.set(route.host, entry);
    }
    if (route.path !== undefined) {
      if (!entry.exact.has(route.path)) entry.exact.set(route.path, route);
    } else if (route.regex !== undefined) {
      entry.regexes.push({ re: new RegExp(`^(?:${route.regex})$`), route });
    } else if (!entry.prefixes.has(route.prefix)) {
      entry.prefixes.set(route.prefix, route);
    }
  }
  for (const entry of byHost.values()) {
    entry.lengths = [...new Set([...entry.prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a);
  }
  return {
    match(host, path) {
      const entry = byHost.get(host);
      if (!entry) return undefined;
      const exact = entry.exact.get(path);
      if (exact) return exact;
      // Indexed loops: no iterator per request, whichever tier of V8 runs this.
      const { regexes, lengths } = entry;
      for (let i = 0; i < regexes.length; i++) if (regexes[i]!.re.test(path)) return regexes[i]!.route;
      for (let i = 0; i < lengths.length; i++) {
        const length = lengths[i]!;
        if (length > path.length) continue;
        const route = entry.prefixes.get(length === path.length ? path : path.slice(0, length));
        if (route) return route;
      }
      return undefined;
    },
    hasHost(host) {
      return byHost.has(host);
    },
    tunnel(authority) {
      return tunnels.get(authority);
    },
  };
}
