// `vallum policy diff OLD NEW --users users.yaml`: who gains or loses access to which route (and to the paths and
// methods the policies name), so a policy change can be reviewed before it ships.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { ClientCertificateInfo, Identity, RequestInfo } from '@vallum/policy';
import { createAuthorizer, type Authorizer } from '@vallum/authorize';
import type { VallumConfig } from '@vallum/config';
import { loadVallumConfig } from './load.js';

export interface AccessChange {
  user: string;
  change: 'gains' | 'loses';
  route: string;
  method: string;
  path: string;
}

interface Side {
  config: VallumConfig;
  authorizer: Authorizer;
}

function side(file: string): Side {
  const config = loadVallumConfig(file, { env: {} });
  return { config, authorizer: createAuthorizer(config) };
}

/** Literal paths (`is`, `starts_with`) and methods a policy value names anywhere inside it. */
export function namedProbes(value: unknown, paths: Set<string>, methods: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) namedProbes(item, paths, methods);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'http_path') {
      const operand =
        typeof inner === 'object' && inner !== null ? ((inner as Record<string, unknown>).is ?? (inner as Record<string, unknown>).starts_with) : inner;
      if (typeof operand === 'string' && operand.startsWith('/')) paths.add(operand);
    } else if (key === 'http_method') {
      const operand = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? Object.values(inner)[0] : inner;
      for (const m of [operand].flat()) if (typeof m === 'string') methods.add(m.toUpperCase());
    } else namedProbes(inner, paths, methods);
  }
}

function policiesOf(config: VallumConfig): unknown[] {
  return [...config.routes.map((r) => r.policy), ...config.namedPolicies.map((n) => n.value), config.globalPolicy];
}

/** A user to probe, with the client certificate its requests present, if any. */
export type ProbeUser = Identity & { clientCertificate?: ClientCertificateInfo | undefined };

export function diffAccess(oldFile: string, newFile: string, users: ReadonlyMap<string, ProbeUser>, now: number): AccessChange[] {
  const before = side(oldFile);
  const after = side(newFile);
  const paths = new Set(['/']);
  const methods = new Set(['GET']);
  for (const value of [...policiesOf(before.config), ...policiesOf(after.config)]) namedProbes(value, paths, methods);
  const routes = new Map<string, string>();
  for (const r of [...before.config.routes, ...after.config.routes]) routes.set(r.id, r.host);
  const allowed = (s: Side, routeId: string, identity: Identity, request: RequestInfo) =>
    s.config.routes.some((r) => r.id === routeId) && s.authorizer.explain({ routeId, identity, request }, now).decision.allow;

  const changes: AccessChange[] = [];
  for (const [user, { clientCertificate, ...identity }] of users) {
    for (const [routeId, host] of routes) {
      for (const method of methods) {
        for (const path of [...paths].sort()) {
          const request: RequestInfo = clientCertificate ? { method, host, path, clientCertificate } : { method, host, path };
          const was = allowed(before, routeId, identity, request);
          const is = allowed(after, routeId, identity, request);
          if (was !== is) changes.push({ user, change: is ? 'gains' : 'loses', route: routeId, method, path });
        }
      }
    }
  }
  return changes;
}

export function readUsersFile(file: string): unknown {
  const value = parse(readFileSync(file, 'utf8')) as unknown;
  return typeof value === 'object' && value !== null && 'users' in value ? (value as { users: unknown }).users : value;
}
