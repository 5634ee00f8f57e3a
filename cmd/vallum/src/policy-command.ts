// `vallum policy explain|test|diff`: look at a policy decision, run table-driven fixtures, or review a change.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ConfigError } from '@vallum/config';
import { isVallumError } from '@vallum/errors';
import type { Decision, Identity } from '@vallum/policy';
import { createAuthorizer } from '@vallum/authorize';
import { loadVallumConfig } from './load.js';
import { readIdentity, readUsers, runFixture } from './policy-fixtures.js';
import { diffAccess, readUsersFile } from './policy-diff.js';
import { clientCertificateFile, readUserCertificates } from './client-certificate-input.js';
import { UsageError, formatHelp, parseCommandArgs, type CommandHelp } from './cli-usage.js';

const HELP: CommandHelp = {
  usage: 'vallum policy explain|test|diff [options]     (vallum policy COMMAND --help)',
  summary: 'Look at a policy decision, run table-driven fixtures, or review a policy change.',
  notes: [
    'commands:',
    '  explain  the decision for one user and request on one route, with its reasons',
    '  test     run fixture files of users, requests and expected decisions',
    '  diff     who gains or loses access between two configurations',
    '',
    'exit codes: explain 0 allow / 1 deny; test 0 all pass / 1 a case failed; diff 0; 2 bad usage or input',
  ].join('\n'),
  examples: [
    'vallum policy explain --config vallum.yaml --route wiki --email bob@example.com --groups engineering',
    'vallum policy test policy/tests',
    'vallum policy diff old.yaml vallum.yaml --users users.yaml',
  ],
};

const EXPLAIN_HELP: CommandHelp = {
  usage:
    'vallum policy explain --config FILE --route ID (--email ADDRESS | --anonymous) [--groups a,b] [--claim name=value]...\n                      [--sub ID] [--acr VALUE] [--auth-time ISO-TIME] [--path /] [--method GET] [--header name:value]... [--ip ADDRESS] [--client-cert PEM] [--at ISO-TIME]',
  summary: "Print the decision of a route's policy (and the global policy) for one identity and request, with every reason.",
  options: [
    ['-c, --config FILE', 'the configuration file (or VALLUM_CONFIG)'],
    ['--route ID', "the route's name"],
    ['--email ADDRESS', 'the signed-in user (or --anonymous)'],
    ['--groups a,b', "the user's groups"],
    ['--claim name=value', 'an IdP claim (repeatable)'],
    ['--sub ID', "the user's subject"],
    ['--acr VALUE', 'the assurance the IdP signed the user in with (for acr)'],
    ['--auth-time ISO-TIME', 'when the user signed in at the IdP (for auth_age)'],
    ['--path, --method', 'the request (default / and GET)'],
    ['--header name:value', 'a request header (repeatable)'],
    ['--ip ADDRESS', 'the client address'],
    ['--client-cert PEM', 'a client certificate file, as if the listener had verified it (downstream_mtls)'],
    ['--at ISO-TIME', 'evaluate at this time (default now)'],
    ['-h, --help', 'show this help'],
  ],
  notes: 'exit codes: 0 allow; 1 deny; 2 bad usage or input',
  examples: [
    'vallum policy explain --config vallum.yaml --route app --email bob@example.com --path /admin',
    'vallum policy explain --config vallum.yaml --route wiki --anonymous --at 2027-01-31T09:00:00Z',
  ],
};

const TEST_HELP: CommandHelp = {
  usage: 'vallum policy test [FIXTURE.yaml | DIR]...',
  summary: 'Run policy fixtures: each names a config, its users, and cases of request and expected decision (default: policy/tests).',
  options: [['-h, --help', 'show this help']],
  notes: 'exit codes: 0 every case passed; 1 a case failed; 2 bad usage or input',
  examples: ['vallum policy test', 'vallum policy test policy/tests/wiki.yaml'],
};

const DIFF_HELP: CommandHelp = {
  usage: 'vallum policy diff OLD.yaml NEW.yaml --users users.yaml [--at ISO-TIME]',
  summary: 'List which user gains or loses access to which route, path and method between two configurations.',
  options: [
    ['--users FILE', 'the users to probe (a map of name to email, groups, claims, client_certificate)'],
    ['--at ISO-TIME', 'evaluate at this time (default now)'],
    ['-h, --help', 'show this help'],
  ],
  examples: ['vallum policy diff vallum.yaml vallum.new.yaml --users users.yaml'],
};

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') return printHelp(HELP);
  if (command === undefined) throw new UsageError('policy', 'a command is required: explain, test or diff');
  try {
    switch (command) {
      case 'explain':
        return explain(rest);
      case 'test':
        return test(rest);
      case 'diff':
        return diff(rest);
      default:
        throw new UsageError('policy', `unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof ConfigError) console.error(`vallum policy: ${err.message}`);
    else if (isVallumError(err) || (err instanceof Error && err.name === 'TypeError')) console.error(`vallum policy: ${err.message}`);
    else throw err;
    return 2;
  }
}

function printHelp(help: CommandHelp): number {
  console.log(formatHelp(help));
  return 0;
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
  const { values } = parseCommandArgs('policy explain', argv, {
    ...HELP_OPTION,
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
    'client-cert': { type: 'string' },
    at: { type: 'string' },
    acr: { type: 'string' },
    'auth-time': { type: 'string' },
    anonymous: { type: 'boolean' },
  });
  if (values.help) return printHelp(EXPLAIN_HELP);
  const file = values.config ?? process.env.VALLUM_CONFIG;
  if (!file || !values.route || (!values.email && !values.anonymous)) {
    throw new UsageError('policy explain', '--config, --route and --email (or --anonymous) are required');
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
    : readIdentity(
        {
          email: values.email,
          sub: values.sub,
          groups: values.groups ? values.groups.split(',').filter(Boolean) : [],
          claims,
          acr: values.acr,
          auth_time: values['auth-time'],
        },
        '--email',
        'identity',
      );
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new TypeError(`--header: expected name:value, got '${h}'`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const request = {
    method: (values.method ?? 'GET').toUpperCase(),
    host: route.host,
    path: values.path ?? '/',
    headers,
    ...(values.ip ? { sourceIp: values.ip } : {}),
    ...(values['client-cert'] ? { clientCertificate: clientCertificateFile(values['client-cert'], '--client-cert') } : {}),
  };
  const explanation = createAuthorizer(config).explain({ routeId: route.id, identity, request }, at(values.at));
  console.log(
    `route ${route.id} (${route.from}), ${identity?.email ?? 'anonymous'} ${request.method} ${request.path}, policy version ${explanation.policyVersion}`,
  );
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
  const { values, positionals } = parseCommandArgs('policy test', argv, HELP_OPTION, true);
  if (values.help) return printHelp(TEST_HELP);
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
  const { values, positionals } = parseCommandArgs('policy diff', argv, { ...HELP_OPTION, users: { type: 'string' }, at: { type: 'string' } }, true);
  if (values.help) return printHelp(DIFF_HELP);
  const [oldFile, newFile] = positionals;
  if (!oldFile || !newFile || positionals.length !== 2 || !values.users) {
    throw new UsageError('policy diff', 'OLD, NEW and --users are required');
  }
  const listed = readUsersFile(values.users);
  const certificates = readUserCertificates(listed, values.users);
  const users = new Map([...readUsers(listed, values.users)].map(([name, identity]) => [name, { ...identity, clientCertificate: certificates.get(name) }]));
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
