// Table-driven policy tests: a fixture file names what it tests (a vallum.yaml or one policy file), the users, and
// cases (user + request → allow or deny, optionally with reason codes). Used by `vallum policy test`.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { VallumError, ErrorCodes, didYouMean } from '@vallum/errors';
import { compilePolicy, evaluatePolicy, type CompiledPolicy, type Decision, type Identity, type RequestInfo } from '@vallum/policy';
import { createAuthorizer } from '@vallum/authorize';
import { loadVallumConfig } from './load.js';
import { readClientCertificate } from './client-certificate-input.js';

export interface CaseResult {
  name: string;
  passed: boolean;
  expected: 'allow' | 'deny';
  decision: Decision;
  /** Reason codes the case asked for but the decision did not carry. */
  missingReasons: string[];
}

type Decide = (routeId: string | undefined, identity: Identity | null, request: RequestInfo, now: number) => Decision;

const fail = (file: string, message: string): never => {
  throw new VallumError(ErrorCodes.CONFIG_INVALID, `${file}: ${message}`, { status: 500 });
};
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const CASE_KEYS = ['name', 'user', 'identity', 'request', 'expect', 'reasons'];
const REQUEST_KEYS = ['route', 'method', 'path', 'host', 'headers', 'source_ip', 'client_certificate', 'at'];

/** `name: {email, groups, claims, sub}`; sub defaults to the email. */
export function readUsers(value: unknown, file: string): Map<string, Identity> {
  const users = new Map<string, Identity>();
  if (value === undefined) return users;
  if (!isRecord(value)) fail(file, 'users: expected a mapping of name → {email, groups, claims}');
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) users.set(name, readIdentity(raw, file, `users.${name}`));
  return users;
}

export function readIdentity(raw: unknown, file: string, where: string): Identity {
  if (!isRecord(raw) || typeof raw.email !== 'string') return fail(file, `${where}: expected {email, groups?, claims?, sub?, acr?, auth_time?}`);
  const groups = raw.groups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) fail(file, `${where}.groups: expected a list of group names`);
  if (raw.claims !== undefined && !isRecord(raw.claims)) fail(file, `${where}.claims: expected a mapping`);
  const identity: Identity = {
    sub: typeof raw.sub === 'string' ? raw.sub : raw.email,
    email: raw.email,
    groups: groups as string[],
    claims: (raw.claims as Record<string, unknown>) ?? {},
  };
  return { ...identity, ...readSignIn(raw, file, where) };
}

/** `acr` and `auth_time` (an ISO time, like a request's `at`) of a fixture identity, for the acr and auth_age criteria. */
function readSignIn(raw: Record<string, unknown>, file: string, where: string): Pick<Identity, 'acr' | 'authTime'> {
  const out: Pick<Identity, 'acr' | 'authTime'> = {};
  if (raw.acr !== undefined) out.acr = typeof raw.acr === 'string' ? raw.acr : fail(file, `${where}.acr: expected a string`);
  if (raw.auth_time !== undefined) {
    const at = raw.auth_time instanceof Date ? raw.auth_time.getTime() : Date.parse(String(raw.auth_time));
    out.authTime = Number.isNaN(at) ? fail(file, `${where}.auth_time: expected a time like 2027-01-31T09:00:00Z`) : at;
  }
  return out;
}

export function readFixtureFile(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return fail(file, (err as Error).message.split('\n')[0] ?? 'unreadable');
  }
  if (!isRecord(value)) return fail(file, 'expected a mapping with config or policy, users and cases');
  return value;
}

/** What the fixture tests: every route of a vallum.yaml, or one policy file. */
function deciderFor(fixture: Record<string, unknown>, file: string): Decide {
  const base = dirname(file);
  if (typeof fixture.config === 'string') {
    const authorizer = createAuthorizer(loadVallumConfig(resolve(base, fixture.config), { env: {} }), {});
    return (routeId, identity, request, now) => {
      if (routeId === undefined) return fail(file, 'a case against a config needs request.route');
      return authorizer.explain({ routeId, identity, request }, now).decision;
    };
  }
  if (typeof fixture.policy === 'string') {
    const policy: CompiledPolicy = compilePolicy(parse(readFileSync(resolve(base, fixture.policy), 'utf8')));
    return (_routeId, identity, request, now) => evaluatePolicy(policy, identity, request, now);
  }
  return fail(file, 'expected config: PATH (a vallum.yaml) or policy: PATH (one policy file), relative to this file');
}

export function runFixture(file: string): CaseResult[] {
  const fixture = readFixtureFile(file);
  const unknown = Object.keys(fixture).find((k) => !['config', 'policy', 'users', 'cases'].includes(k));
  if (unknown) fail(file, `unknown key '${unknown}'${didYouMean(unknown, ['config', 'policy', 'users', 'cases'])}; expected config, policy, users, cases`);
  const decide = deciderFor(fixture, file);
  const users = readUsers(fixture.users, file);
  if (!Array.isArray(fixture.cases) || fixture.cases.length === 0) return fail(file, 'cases: expected a non-empty list');
  return fixture.cases.map((raw, i) => runCase(raw, `cases[${i}]`, { file, users, decide }));
}

function runCase(raw: unknown, where: string, ctx: { file: string; users: Map<string, Identity>; decide: Decide }): CaseResult {
  const { file, users, decide } = ctx;
  if (!isRecord(raw)) return fail(file, `${where}: expected a mapping`);
  const bad = Object.keys(raw).find((k) => !CASE_KEYS.includes(k));
  if (bad) fail(file, `${where}: unknown key '${bad}'${didYouMean(bad, CASE_KEYS)}; expected ${CASE_KEYS.join(', ')}`);
  if (raw.expect !== 'allow' && raw.expect !== 'deny') fail(file, `${where}.expect: expected allow or deny`);
  let identity: Identity | null;
  if (raw.identity !== undefined) identity = readIdentity(raw.identity, file, `${where}.identity`);
  else if (raw.user === null || raw.user === 'anonymous') identity = null;
  else if (typeof raw.user === 'string' && users.has(raw.user)) identity = users.get(raw.user)!;
  else
    return fail(
      file,
      `${where}.user: unknown user${typeof raw.user === 'string' ? ` '${raw.user}'${didYouMean(raw.user, [...users.keys()])}` : ''}; expected one of ${[...users.keys(), 'anonymous'].join(', ')}`,
    );
  const req = raw.request ?? {};
  if (!isRecord(req)) return fail(file, `${where}.request: expected a mapping`);
  const badKey = Object.keys(req).find((k) => !REQUEST_KEYS.includes(k));
  if (badKey) fail(file, `${where}.request: unknown key '${badKey}'${didYouMean(badKey, REQUEST_KEYS)}; expected ${REQUEST_KEYS.join(', ')}`);
  const now = req.at === undefined ? Date.now() : Date.parse(String(req.at instanceof Date ? req.at.toISOString() : req.at));
  if (Number.isNaN(now)) fail(file, `${where}.request.at: expected a date like 2027-01-31T09:00:00Z`);
  const request: RequestInfo = {
    method: String(req.method ?? 'GET').toUpperCase(),
    host: String(req.host ?? 'app.localhost'),
    path: String(req.path ?? '/'),
    ...(isRecord(req.headers) ? { headers: lowerKeys(req.headers) } : {}),
    ...(typeof req.source_ip === 'string' ? { sourceIp: req.source_ip } : {}),
    ...(req.client_certificate === undefined
      ? {}
      : { clientCertificate: readClientCertificate(req.client_certificate, dirname(file), `${file}: ${where}.request.client_certificate`) }),
  };
  const decision = decide(typeof req.route === 'string' ? req.route : undefined, identity, request, now);
  const expected = raw.expect as 'allow' | 'deny';
  const wanted = Array.isArray(raw.reasons) ? raw.reasons.map(String) : [];
  const missingReasons = wanted.filter((code) => !decision.reasons.some((r) => r.code === code));
  const name = typeof raw.name === 'string' ? raw.name : `${where}: ${identity?.email ?? 'anonymous'} ${request.method} ${request.path}`;
  return { name, expected, decision, missingReasons, passed: (decision.allow ? 'allow' : 'deny') === expected && missingReasons.length === 0 };
}

function lowerKeys(headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}
