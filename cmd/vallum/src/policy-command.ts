// `vallum policy explain|test|diff`: look at a policy decision, run table-driven fixtures, or review a change.
import { parseArgs } from 'node:util';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ConfigError } from '@vallum/config';
import { isVallumError } from '@vallum/errors';
import type { Decision, Identity } from '@vallum/policy';
import { createAuthorizer } from '@vallum/authorize';
import { loadVallumConfig } from './load.js';
import { readIdentity, readUsers, runFixture } from './policy-fixtures.js';
import { diffAccess, readUsersFile } from './policy-diff.js';

const USAGE = `usage:
  vallum policy explain --config FILE --route ID (--email ADDRESS | --anonymous) [--groups a,b] [--claim name=value]...
                        [--sub ID] [--path /] [--method GET] [--header name:value]... [--ip ADDRESS] [--at ISO-TIME]
  vallum policy test [FIXTURE.yaml | DIR]...     (default: policy/tests)
  vallum policy diff OLD.yaml NEW.yaml --users users.yaml [--at ISO-TIME]
exit codes: explain 0 allow / 1 deny; test 0 all pass / 1 a case failed; diff 0; 2 bad usage or input`;

export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'explain':
        return explain(rest);
      case 'test':
        return test(rest);
      case 'diff':
        return diff(rest);
      default:
        console.error(command === undefined || command === '--help' || command === '-h' ? USAGE : `vallum policy: unknown command '${command}'\n${USAGE}`);
        return command === '--help' || command === '-h' ? 0 : 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) console.error(`vallum policy: ${err.message}`);
    else if (isVallumError(err) || (err instanceof Error && err.name === 'TypeError')) console.error(`vallum policy: ${err.message}`);
    else throw err;
    return 2;
  }
}

function at(value: string | undefined): number {
  if (value === undefined) return Date.now();
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new TypeError(`--at: expected a time like 2027-01-31T09:00:00Z, got '${value}'`);
  return ms;
}

function printDecision(label: string, decision: Decision): void {
  const verdict = decision.shadow ? 'ALLOW (shadow mode: would deny)' : decision.allow ? 'ALLOW' : 'DENY';
  console.log(`${label}${verdict}`);
  for (const r of decision.reasons) console.log(`  - ${r.code}: ${r.message}`);
}

function explain(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      route: { type: 'string' },
      email: { type: 'string' },
      sub: { type: 'string' },
      groups: { type: 'string' },
      claim: { type: 'string', multiple: true },
      path: { type: 'string' },
      method: { type: 'string' },
      header: { type: 'string', multiple: true },
      ip: { type: 'string' },
      at: { type: 'string' },
      anonymous: { type: 'boolean' },
    },
  });
  const file = values.config ?? process.env.VALLUM_CONFIG;
  if (!file || !values.route || (!values.email && !values.anonymous)) {
    console.error(`vallum policy explain: --config, --route and --email (or --anonymous) are required\n${USAGE}`);
    return 2;
  }
  const config = loadVallumConfig(file);
  const route = config.routes.find((r) => r.id === values.route);
  if (!route) {
    console.error(`vallum policy explain: no route '${values.route}' in ${file}; routes: ${config.routes.map((r) => r.id).join(', ')}`);
    return 2;
  }
  const claims: Record<string, unknown> = {};
  for (const c of values.claim ?? []) {
    const eq = c.indexOf('=');
    if (eq <= 0) throw new TypeError(`--claim: expected name=value, got '${c}'`);
    claims[c.slice(0, eq)] = c.slice(eq + 1);
  }
  const identity: Identity | null = values.anonymous
    ? null
    : readIdentity({ email: values.email, sub: values.sub, groups: values.groups ? values.groups.split(',').filter(Boolean) : [], claims }, '--email', 'identity');
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new TypeError(`--header: expected name:value, got '${h}'`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const request = { method: (values.method ?? 'GET').toUpperCase(), host: route.host, path: values.path ?? '/', headers, ...(values.ip ? { sourceIp: values.ip } : {}) };
  const explanation = createAuthorizer(config).explain({ routeId: route.id, identity, request }, at(values.at));
  console.log(`route ${route.id} (${route.from}), ${identity?.email ?? 'anonymous'} ${request.method} ${request.path}, policy version ${explanation.policyVersion}`);
  printDecision('decision: ', explanation.decision);
  if (explanation.global) printDecision('  global policy: ', explanation.global);
  if (explanation.route) printDecision('  route rule: ', explanation.route);
  return explanation.decision.allow ? 0 : 1;
}

function fixtureFiles(args: string[]): string[] {
  const inputs = args.length > 0 ? args : ['policy/tests'];
  return inputs.flatMap((input) => {
    const path = resolve(input);
    if (!statSync(path).isDirectory()) return [path];
    return readdirSync(path)
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort()
      .map((f) => join(path, f));
  });
}

function test(argv: string[]): number {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  let passed = 0;
  let failed = 0;
  for (const file of fixtureFiles(positionals)) {
    const shown = relative(process.cwd(), file);
    console.log(shown.startsWith('..') || shown === '' ? file : shown);
    for (const result of runFixture(file)) {
      if (result.passed) {
        passed++;
        console.log(`  ok    ${result.name}`);
        continue;
      }
      failed++;
      const got = result.decision.allow ? 'allow' : 'deny';
      console.log(`  FAIL  ${result.name}: expected ${result.expected}, got ${got}`);
      if (result.missingReasons.length > 0) console.log(`        missing reasons: ${result.missingReasons.join(', ')}`);
      for (const r of result.decision.reasons) console.log(`        - ${r.code}: ${r.message}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

function diff(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { users: { type: 'string' }, at: { type: 'string' } } });
  const [oldFile, newFile] = positionals;
  if (!oldFile || !newFile || positionals.length !== 2 || !values.users) {
    console.error(`vallum policy diff: OLD, NEW and --users are required\n${USAGE}`);
    return 2;
  }
  const users = readUsers(readUsersFile(values.users), values.users);
  const changes = diffAccess(oldFile, newFile, users, at(values.at));
  if (changes.length === 0) {
    console.log(`no access changes for ${users.size} users`);
    return 0;
  }
  for (const c of changes) console.log(`${c.change === 'gains' ? '+' : '-'} ${c.user} ${c.change} ${c.route} ${c.method} ${c.path}`);
  const gains = changes.filter((c) => c.change === 'gains').length;
  console.log(`${gains} gained, ${changes.length - gains} lost`);
  return 0;
}
