// deploy/kubernetes without a cluster: every kustomization is rendered by kustomize (`kubectl kustomize`), every
// object is validated against the Kubernetes OpenAPI schemas (kubernetes-models), and the properties that matter
// are checked on what `kubectl apply -k` would send: probes, resources, the locked-down security context, the drain
// timeline, disruption budgets and autoscaling, network isolation, and that every reference (Secret keys, the
// ConfigMap, service URLs) resolves. The ConfigMap's vallum.yaml goes through Vallum's own loader with the environment
// each container gets, and a real vallum answers the probes' paths as the kubelet asks them.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parseDocument } from 'yaml';
import { loadConfigFile, SERVICE_NAMES } from '@vallum/config';
import { getFreePort, startDemoIdp, startEchoUpstream, startRedis, writeConfigMapVolume } from '@vallum/testing';
import { stopChild } from './harness.js';
import { MALLOC_SETTINGS } from './dockerfile.js';
import {
  containerEnv,
  kustomizeRenderer,
  podLabelsOf,
  podTemplateOf,
  rawResources,
  renderKustomization,
  schemaProblem,
  secretData,
  selects,
  type Container,
  type KubeObject,
  type LabelSelector,
} from './kubernetes-manifests.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OVERLAYS = ['overlays/all-in-one', 'overlays/split'] as const;
const KUSTOMIZATIONS = [...OVERLAYS, 'examples/redis-sentinel'] as const;
/** Vallum's shutdown_grace default: SIGTERM lets in-flight requests finish this long. */
const SHUTDOWN_GRACE_SECONDS = 30;
const VALLUM_USER = 1000;
/** Services whose listener is the proxy's: their own paths live under /.vallum/ so route hosts keep theirs. */
const PROXY_LISTENERS = new Set(['all', 'proxy']);

const renderer = kustomizeRenderer();
if (!renderer.available) console.log(`kubernetes: ${renderer.reason}`);
const RENDER = renderer.available ? {} : { skip: renderer.reason };

const renders = new Map<string, KubeObject[]>();
function render(dir: string): KubeObject[] {
  let objects = renders.get(dir);
  if (!objects) renders.set(dir, (objects = renderKustomization(dir)));
  return objects;
}

// ---- what a rendered kustomization holds ----------------------------------------------------------------------------

interface Workload {
  object: KubeObject;
  labels: Record<string, string>;
  containers: Container[];
}

function workloads(objects: KubeObject[]): Workload[] {
  return objects.flatMap((object) => {
    const template = podTemplateOf(object);
    return template ? [{ object, labels: podLabelsOf(object), containers: template.spec?.containers ?? [] }] : [];
  });
}

const isVallum = (w: Workload) => w.labels['app.kubernetes.io/name'] === 'vallum';

/** The Vallum container of a Vallum workload and the service it runs (`--service`). */
function vallumContainer(w: Workload): { container: Container; service: string; configFile: string } {
  const container = w.containers.find((c) => c.name === 'vallum');
  assert.ok(container, `${w.object.metadata.name}: no container named vallum`);
  const args = container.args ?? [];
  const service = args[args.indexOf('--service') + 1];
  const configFile = args[args.indexOf('--config') + 1];
  assert.ok(args.includes('--service') && service, `${w.object.metadata.name}: --service is not set`);
  assert.ok(args.includes('--config') && configFile, `${w.object.metadata.name}: --config is not set`);
  return { container, service, configFile };
}

/** A field of an object's spec, as the type the test expects (the schema check above has vouched for its shape). */
function specField<T>(object: KubeObject, key: string): T {
  return object.spec?.[key] as T;
}

function ofKind(objects: KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

function named(objects: KubeObject[], kind: string, name: string): KubeObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

/** Secret values for the loader: long random-looking strings that are not the shipped placeholders. */
function testSecret(_secret: string, key: string): string {
  return `test-${key}-${'x'.repeat(32)}`;
}

/** Polls until `probe` gives `expected` (20 s at most); `message` says what went wrong, with the output by then. */
async function until<T>(probe: () => Promise<T>, expected: T, message: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await probe()) !== expected) {
    if (Date.now() > deadline) assert.fail(message());
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The real vallum with a container's args and environment (test secrets, a loopback address, a local Redis for
 * VALLUM_REDIS_URL), reading `file` where the container reads `configFile`; stopped when the test ends.
 */
async function startVallumAs(t: TestContext, container: Container, configFile: string, file: string): Promise<{ url: string; output(): string }> {
  const port = await getFreePort();
  const env: Record<string, string> = { ...containerEnv(container, testSecret), VALLUM_ADDRESS: `127.0.0.1:${port}` };
  if (env['VALLUM_REDIS_URL'] !== undefined) {
    const redis = await startRedis();
    t.after(() => redis.stop());
    env['VALLUM_REDIS_URL'] = redis.url;
  }
  const args = (container.args ?? []).map((a) => (a === configFile ? file : a));
  const child = spawn(process.execPath, [join(ROOT, 'cmd/vallum/bin/vallum.js'), ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => stopChild(child));
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await until(
    () =>
      request(`${url}/.vallum/healthz`).then(
        async (r) => (await r.body.text(), child.exitCode === null),
        () => child.exitCode !== null,
      ),
    true,
    () => `vallum did not start:\n${output}`,
  );
  assert.equal(child.exitCode, null, `vallum exited:\n${output}`);
  return { url, output: () => output };
}

// ---- the tests ------------------------------------------------------------------------------------------------------

describe('deploy/kubernetes, raw manifests (no kustomize needed)', () => {
  test('every object the kustomizations list under resources validates against the Kubernetes OpenAPI schemas', async () => {
    const problems: string[] = [];
    let count = 0;
    for (const dir of ['base', ...KUSTOMIZATIONS]) {
      for (const { file, objects } of rawResources(dir)) {
        for (const object of objects) {
          count++;
          const problem = await schemaProblem(object);
          if (problem) problems.push(`${file}: ${object.kind} ${object.metadata?.name}: ${problem}`);
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(count >= 20, `only ${count} objects found`);
  });

  test('the validator refuses broken objects, so the checks can fail', async () => {
    const deployment = rawResources('overlays/all-in-one')
      .flatMap((r) => r.objects)
      .find((o) => o.kind === 'Deployment')!;
    assert.equal(await schemaProblem(deployment), undefined);

    const badPort = structuredClone(deployment);
    podTemplateOf(badPort)!.spec!.containers[0]!.ports![0]!.containerPort = 'eight-thousand' as unknown as number;
    assert.match((await schemaProblem(badPort)) ?? '', /containerPort must be integer/);

    const noSelector = structuredClone(deployment);
    delete noSelector.spec!['selector'];
    assert.match((await schemaProblem(noSelector)) ?? '', /spec must have required property '?selector'?/);

    assert.match((await schemaProblem({ ...deployment, apiVersion: 'apps/v1beta9' })) ?? '', /no Kubernetes schema for apps\/v1beta9 Deployment/);
  });
});

for (const dir of KUSTOMIZATIONS) {
  describe(`deploy/kubernetes/${dir}, rendered by kubectl kustomize`, RENDER, () => {
    test('every object validates against the Kubernetes OpenAPI schemas, in namespace vallum', async () => {
      const problems: string[] = [];
      for (const object of render(dir)) {
        const problem = await schemaProblem(object);
        if (problem) problems.push(`${object.kind} ${object.metadata.name}: ${problem}`);
        if (object.kind !== 'Namespace' && object.metadata.namespace !== 'vallum')
          problems.push(`${object.kind} ${object.metadata.name}: not in namespace vallum`);
      }
      assert.deepEqual(problems, []);
    });

    test('every container has startup, liveness and readiness probes, resource requests and limits, and a locked-down security context', () => {
      const all = workloads(render(dir));
      assert.ok(all.length > 0);
      for (const w of all) {
        const pod = podTemplateOf(w.object)!.spec!;
        const podSecurity = pod.securityContext ?? {};
        assert.equal(pod.automountServiceAccountToken, false, `${w.object.metadata.name}: a service-account token is mounted`);
        for (const c of w.containers) {
          const where = `${w.object.metadata.name}/${c.name}`;
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) assert.ok(c[probe], `${where}: no ${probe}`);
          for (const bound of ['requests', 'limits'] as const) {
            for (const resource of ['cpu', 'memory']) assert.ok(c.resources?.[bound]?.[resource], `${where}: no ${resource} in resources.${bound}`);
          }
          const security = c.securityContext ?? {};
          assert.equal(security.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
          assert.equal(security.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
          assert.deepEqual(security.capabilities?.drop, ['ALL'], `${where}: capabilities.drop`);
          assert.equal(security.runAsNonRoot ?? podSecurity.runAsNonRoot, true, `${where}: runAsNonRoot`);
          const user = security.runAsUser ?? podSecurity.runAsUser;
          assert.ok(typeof user === 'number' && user > 0, `${where}: runAsUser must be a numeric non-root user, got ${user}`);
          if (isVallum(w)) assert.equal(user, VALLUM_USER, `${where}: the image's node user`);
          assert.equal((security.seccompProfile ?? podSecurity.seccompProfile)?.type, 'RuntimeDefault', `${where}: seccompProfile`);
        }
      }
    });

    test("Vallum's probes ask /healthz (startup, liveness) and /readyz (readiness), under /.vallum/ on the proxy's listener, on a declared port", () => {
      for (const w of workloads(render(dir)).filter(isVallum)) {
        const { container, service } = vallumContainer(w);
        const prefix = PROXY_LISTENERS.has(service) ? '/.vallum' : '';
        const ports = new Set((container.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
        for (const [probe, path] of [
          ['startupProbe', `${prefix}/healthz`],
          ['livenessProbe', `${prefix}/healthz`],
          ['readinessProbe', `${prefix}/readyz`],
        ] as const) {
          const get = container[probe]?.httpGet;
          assert.equal(get?.path, path, `${w.object.metadata.name}: ${probe}`);
          assert.ok(ports.has(get.port), `${w.object.metadata.name}: ${probe} asks port ${get.port}, which the container does not declare`);
        }
      }
    });

    test('every Vallum Deployment has two replicas or more, a Service, a PodDisruptionBudget that lets one go, zero-downtime rollouts; the proxy an HPA on CPU', () => {
      const objects = render(dir);
      const vallum = workloads(objects).filter(isVallum);
      assert.ok(vallum.length > 0);
      for (const w of vallum) {
        const name = w.object.metadata.name;
        const { container, service } = vallumContainer(w);
        const replicas = w.object.spec?.['replicas'] as number;
        assert.ok(replicas >= 2, `${name}: ${replicas} replica(s)`);
        assert.equal(
          specField<{ rollingUpdate?: { maxUnavailable?: number } }>(w.object, 'strategy').rollingUpdate?.maxUnavailable,
          0,
          `${name}: maxUnavailable`,
        );

        const services = ofKind(objects, 'Service').filter((s) => selects({ matchLabels: s.spec?.['selector'] as Record<string, string> }, w.labels));
        assert.equal(services.length, 1, `${name}: ${services.length} Services select its pods`);
        const declared = new Set((container.ports ?? []).map((p) => p.name));
        for (const port of specField<Array<{ targetPort: string }>>(services[0]!, 'ports')) {
          assert.ok(declared.has(port.targetPort), `${name}: Service targetPort ${port.targetPort} is not a declared port`);
        }

        const budgets = ofKind(objects, 'PodDisruptionBudget').filter((p) => selects(p.spec?.['selector'] as LabelSelector, w.labels));
        assert.equal(budgets.length, 1, `${name}: ${budgets.length} PodDisruptionBudgets select its pods`);
        const minAvailable = budgets[0]!.spec?.['minAvailable'] as number | undefined;
        const maxUnavailable = budgets[0]!.spec?.['maxUnavailable'] as number | undefined;
        assert.ok(
          minAvailable !== undefined ? minAvailable >= 1 && minAvailable < replicas : (maxUnavailable ?? 0) >= 1,
          `${name}: the budget blocks every drain`,
        );

        const scalers = ofKind(objects, 'HorizontalPodAutoscaler').filter((h) => specField<{ name: string }>(h, 'scaleTargetRef').name === name);
        if (!PROXY_LISTENERS.has(service)) continue;
        assert.equal(scalers.length, 1, `${name}: ${scalers.length} autoscalers`);
        assert.equal(scalers[0]!.apiVersion, 'autoscaling/v2');
        const spec = scalers[0]!.spec as { minReplicas: number; metrics: Array<{ type: string; resource?: { name: string; target: { type: string } } }> };
        assert.ok(spec.minReplicas >= 2, `${name}: the autoscaler may go below two replicas`);
        assert.ok(
          spec.metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target.type === 'Utilization'),
          `${name}: no CPU utilisation target`,
        );
        assert.ok(container.resources?.requests?.['cpu'], `${name}: CPU utilisation needs a CPU request`);
      }
    });

    test('drain: the preStop sleep and shutdown_grace (30s) fit within terminationGracePeriodSeconds', () => {
      for (const w of workloads(render(dir)).filter(isVallum)) {
        const { container } = vallumContainer(w);
        const sleep = container.lifecycle?.preStop?.sleep?.seconds;
        assert.ok(typeof sleep === 'number' && sleep >= 5, `${w.object.metadata.name}: preStop sleep is ${sleep}`);
        const grace = podTemplateOf(w.object)!.spec!.terminationGracePeriodSeconds ?? 30;
        assert.ok(
          grace > sleep + SHUTDOWN_GRACE_SECONDS,
          `${w.object.metadata.name}: ${grace}s grace < ${sleep}s preStop + ${SHUTDOWN_GRACE_SECONDS}s shutdown_grace`,
        );
      }
    });

    test("every Vallum container starts with the image's glibc allocator settings (issue 14)", () => {
      for (const w of workloads(render(dir)).filter(isVallum)) {
        const { container } = vallumContainer(w);
        const env = containerEnv(container, testSecret);
        for (const [name, value] of Object.entries(MALLOC_SETTINGS)) assert.equal(env[name], value, `${w.object.metadata.name}: ${name}`);
      }
    });

    test('references resolve: Secret keys, the config directory (no subPath), one tagged image, the service and Redis URLs', () => {
      const objects = render(dir);
      const vallum = workloads(objects).filter(isVallum);
      const images = new Set<string>();
      for (const w of workloads(objects)) {
        for (const c of w.containers) {
          for (const variable of c.env ?? []) {
            const ref = variable.valueFrom?.secretKeyRef;
            if (!ref) continue;
            const secret = named(objects, 'Secret', ref.name ?? '');
            assert.ok(secret && secretData(secret, ref.key) !== undefined, `${w.object.metadata.name}: Secret ${ref.name} has no key ${ref.key}`);
          }
        }
        for (const volume of podTemplateOf(w.object)!.spec!.volumes ?? []) {
          if (volume.configMap)
            assert.ok(named(objects, 'ConfigMap', volume.configMap.name ?? ''), `${w.object.metadata.name}: no ConfigMap ${volume.configMap.name}`);
        }
      }
      for (const w of vallum) {
        const name = w.object.metadata.name;
        const { container, service, configFile } = vallumContainer(w);
        images.add(container.image ?? '');
        const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(configFile));
        assert.ok(mount, `${name}: nothing mounted at ${dirname(configFile)}`);
        assert.equal(mount.subPath, undefined, `${name}: a subPath mount never sees ConfigMap updates`);
        const volume = podTemplateOf(w.object)!.spec!.volumes?.find((v) => v.name === mount.name);
        const configMap = named(objects, 'ConfigMap', volume?.configMap?.name ?? '');
        assert.ok(configMap?.data?.[basename(configFile)], `${name}: ${configFile} is not a key of the mounted ConfigMap`);

        const env = containerEnv(container, testSecret);
        for (const [variable, target] of [
          ['VALLUM_AUTHORIZE_SERVICE_URL', 'authorize'],
          ['VALLUM_CACHE_SERVICE_URL', 'cache'],
        ] as const) {
          if (env[variable] === undefined) continue;
          const url = new URL(env[variable]);
          const target_ = named(objects, 'Service', url.hostname);
          assert.ok(target_, `${name}: ${variable} names no Service`);
          assert.ok(
            specField<Array<{ port: number }>>(target_, 'ports').some((p) => p.port === Number(url.port)),
            `${name}: ${variable} port`,
          );
          const selected = vallum.filter((v) => selects({ matchLabels: target_.spec?.['selector'] as Record<string, string> }, v.labels));
          assert.deepEqual(
            selected.map((v) => vallumContainer(v).service),
            [target],
            `${name}: ${variable}`,
          );
        }
        const splitPeers =
          service === 'proxy' ? ['VALLUM_AUTHORIZE_SERVICE_URL', 'VALLUM_CACHE_SERVICE_URL'] : service === 'authenticate' ? ['VALLUM_CACHE_SERVICE_URL'] : [];
        for (const variable of splitPeers) assert.ok(env[variable], `${name}: ${variable} is not set`);

        const storesSessions = service === 'all' || service === 'cache';
        assert.equal(env['VALLUM_REDIS_URL'] !== undefined, storesSessions, `${name}: VALLUM_REDIS_URL is for the session store's process only`);
        if (storesSessions) {
          const hosts = /^redis(?:\+sentinel)?:\/\/(?:[^@]*@)?([^/]+)\//.exec(env['VALLUM_REDIS_URL']!)?.[1]?.split(',') ?? [];
          assert.ok(hosts.length > 0, `${name}: VALLUM_REDIS_URL ${env['VALLUM_REDIS_URL']}`);
          assert.doesNotMatch(env['VALLUM_REDIS_URL']!, /\$\(/, `${name}: an unresolved $(VAR) in VALLUM_REDIS_URL`);
          for (const host of hosts) {
            const hostname = host.slice(0, host.lastIndexOf(':'));
            // A StatefulSet pod's stable name is POD.SERVICE.
            const serviceName = hostname.includes('.') ? hostname.split('.')[1]! : hostname;
            assert.ok(named(objects, 'Service', serviceName), `${name}: Redis host ${host} has no Service`);
          }
        }
      }
      assert.equal(images.size, 1, `Vallum containers run different images: ${[...images].join(', ')}`);
      assert.match([...images][0]!, /^[^:]+:(?!latest$)[\w.-]+$/, 'a pinned tag');
    });

    test('NetworkPolicies: authorize and cache admit proxy and authenticate only; Redis admits the session store only', () => {
      const objects = render(dir);
      const policies = ofKind(objects, 'NetworkPolicy');
      const pods = workloads(objects);
      /** Whether pods labelled `target` are isolated for ingress, and which workloads may reach them. */
      const admitted = (target: Record<string, string>) => {
        const applying = policies.filter(
          (p) => selects(p.spec?.['podSelector'] as LabelSelector, target) && specField<string[]>(p, 'policyTypes').includes('Ingress'),
        );
        const rules = applying.flatMap(
          (p) => (p.spec?.['ingress'] ?? []) as Array<{ from?: Array<{ podSelector?: LabelSelector; namespaceSelector?: unknown; ipBlock?: unknown }> }>,
        );
        for (const rule of rules) {
          assert.ok(rule.from && rule.from.length > 0, 'an ingress rule without `from` admits everyone');
          for (const peer of rule.from) assert.ok(peer.podSelector && !peer.namespaceSelector && !peer.ipBlock, 'peers are pods of this namespace');
        }
        const from = pods.filter((source) => rules.some((rule) => rule.from!.some((peer) => selects(peer.podSelector, source.labels))));
        return { isolated: applying.length > 0, from: from.map((w) => w.object.metadata.name).sort() };
      };
      const component = (w: Workload) => (isVallum(w) ? vallumContainer(w).service : w.labels['app.kubernetes.io/name']);
      const names = (keep: (w: Workload) => boolean) =>
        pods
          .filter(keep)
          .map((w) => w.object.metadata.name)
          .sort();

      let checked = 0;
      for (const w of pods) {
        const c = component(w);
        if (c === 'authorize' || c === 'cache') {
          const { isolated, from } = admitted(w.labels);
          assert.ok(isolated, `${w.object.metadata.name}: no NetworkPolicy selects it`);
          assert.deepEqual(
            from,
            names((s) => ['proxy', 'authenticate'].includes(component(s) ?? '')),
            `${w.object.metadata.name}: admitted`,
          );
          checked++;
        }
        if (w.labels['app.kubernetes.io/component'] === 'session-store') {
          const { isolated, from } = admitted(w.labels);
          assert.ok(isolated, `${w.object.metadata.name}: no NetworkPolicy selects it`);
          const vallumFrom = from.filter((n) => pods.some((s) => s.object.metadata.name === n && isVallum(s)));
          assert.deepEqual(
            vallumFrom,
            names((s) => isVallum(s) && ['cache', 'all'].includes(component(s) ?? '')),
            `${w.object.metadata.name}: admitted`,
          );
          checked++;
        }
      }
      assert.ok(checked >= (dir === 'overlays/all-in-one' ? 1 : 3), `only ${checked} isolated workloads checked`);
    });

    test("the ConfigMap's vallum.yaml passes Vallum's config loader with each container's environment", () => {
      const objects = render(dir);
      const tmp = mkdtempSync(join(tmpdir(), 'vallum-k8s-config-'));
      try {
        for (const w of workloads(objects).filter(isVallum)) {
          const { container, service, configFile } = vallumContainer(w);
          assert.ok(service === 'all' || (SERVICE_NAMES as readonly string[]).includes(service), `--service ${service}`);
          const configMap = ofKind(objects, 'ConfigMap').find((c) => c.data?.[basename(configFile)] !== undefined)!;
          const file = join(tmp, basename(configFile));
          writeFileSync(file, configMap.data![basename(configFile)]!);
          const env = containerEnv(container, testSecret);
          const config = loadConfigFile(file, { env });
          assert.equal(config.cookieSecret, testSecret('', 'cookie_secret'), 'the secrets come from the environment');
          assert.equal(config.redisUrl, env['VALLUM_REDIS_URL']);
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });
}

describe('deploy/kubernetes, the shipped Secret and a real vallum', RENDER, () => {
  test("the shipped Secret's CHANGE-ME placeholders are refused by Vallum, so nobody runs on them by accident", () => {
    const objects = render('overlays/all-in-one');
    const tmp = mkdtempSync(join(tmpdir(), 'vallum-k8s-config-'));
    try {
      const w = workloads(objects).find(isVallum)!;
      const { container, configFile } = vallumContainer(w);
      const file = join(tmp, basename(configFile));
      writeFileSync(file, named(objects, 'ConfigMap', 'vallum-config')!.data![basename(configFile)]!);
      const env = containerEnv(container, (secret, key) => secretData(named(objects, 'Secret', secret)!, key)!);
      assert.throws(() => loadConfigFile(file, { env }), /shared_secret is a placeholder from the example \(it contains 'CHANGE-ME'\)/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("overlays/all-in-one: a ConfigMap update reaches a running vallum through the kubelet's `..data` swap; a broken one leaves it serving", async (t) => {
    const objects = render('overlays/all-in-one');
    const w = workloads(objects).find(isVallum)!;
    const { container, configFile } = vallumContainer(w);
    const shipped = named(objects, 'ConfigMap', 'vallum-config')!.data![basename(configFile)]!;
    const upstream = await startEchoUpstream();
    t.after(() => upstream.close());
    const withStatusRoute = parseDocument(shipped);
    withStatusRoute.addIn(['routes'], { name: 'status', from: 'https://status.corp.example.com', to: upstream.url, allow_public_unauthenticated_access: true });
    const mount = mkdtempSync(join(tmpdir(), 'vallum-k8s-configmap-'));
    t.after(() => rmSync(mount, { recursive: true, force: true }));
    const volume = writeConfigMapVolume(mount, { [basename(configFile)]: shipped });
    const vallum = await startVallumAs(t, container, configFile, join(mount, basename(configFile)));
    const statusPage = () =>
      request(`${vallum.url}/`, { headers: { host: 'status.corp.example.com', 'x-forwarded-proto': 'https' } }).then(
        async (r) => (await r.body.text(), r.statusCode),
        () => 0,
      );
    assert.equal(await statusPage(), 404, 'no such route yet');

    volume.update({ [basename(configFile)]: withStatusRoute.toString() });
    await until(statusPage, 200, () => `the new route never answered:\n${vallum.output()}`);

    volume.update({ [basename(configFile)]: `${withStatusRoute.toString()}\ncookie_expire: soon\n` });
    await until(
      () => Promise.resolve(/configuration not reloaded/.test(vallum.output())),
      true,
      () => `the broken update was not reported:\n${vallum.output()}`,
    );
    assert.equal(await statusPage(), 200, 'the running config stays in force');
  });

  // Readiness as each workload can be ready here: all-in-one with the config's IdP pointed at a real one on loopback
  // (the shipped issuer is not reachable) and a local Redis; authorize needs nothing; the split proxy's peers
  // (vallum-authorize, vallum-cache) do not exist here, so its /readyz answers 503 and its log names both.
  const readiness = { vallum: 'ready', 'vallum-proxy': 'peers missing', 'vallum-authorize': 'ready' } as const;
  for (const [dir, workload] of [
    ['overlays/all-in-one', 'vallum'],
    ['overlays/split', 'vallum-proxy'],
    ['overlays/split', 'vallum-authorize'],
  ] as const) {
    test(`${dir} ${workload}: a real vallum with the ConfigMap and the container's args and environment answers its startup, liveness and readiness probes, asked as the kubelet asks (Host: pod IP)`, async (t) => {
      const objects = render(dir);
      const w = workloads(objects).find((x) => x.object.metadata.name === workload)!;
      const { container, configFile } = vallumContainer(w);
      const tmp = mkdtempSync(join(tmpdir(), 'vallum-k8s-probe-'));
      t.after(() => rmSync(tmp, { recursive: true, force: true }));
      const file = join(tmp, basename(configFile));
      const config = parseDocument(named(objects, 'ConfigMap', 'vallum-config')!.data![basename(configFile)]!);
      if (workload === 'vallum') {
        const idp = await startDemoIdp({
          clients: [{ client_id: 'vallum', client_secret: 'unused', redirect_uris: ['https://authenticate.corp.example.com/oauth2/callback'] }],
        });
        t.after(() => idp.close());
        config.setIn(['idp', 'issuer'], idp.issuer);
        config.setIn(['idp', 'allow_insecure_http'], true);
      }
      writeFileSync(file, config.toString());
      const vallum = await startVallumAs(t, container, configFile, file);

      const declared = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
      const ask = (probe: 'startupProbe' | 'livenessProbe' | 'readinessProbe'): Promise<{ status: number; body: Record<string, unknown> }> => {
        const get = container[probe]!.httpGet!;
        const containerPort = typeof get.port === 'number' ? get.port : declared.get(get.port)!;
        return request(`${vallum.url}${get.path}`, { headers: { host: `10.1.2.3:${containerPort}` } }).then(
          async (r) => ({ status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> }),
          () => ({ status: 0, body: {} }),
        );
      };
      for (const probe of ['startupProbe', 'livenessProbe'] as const) {
        await until(
          async () => (await ask(probe)).status,
          200,
          () => `${probe} ${container[probe]!.httpGet!.path} did not answer 200:\n${vallum.output()}`,
        );
      }
      const path = container.readinessProbe!.httpGet!.path;
      if (readiness[workload] === 'ready') {
        await until(
          async () => (await ask('readinessProbe')).status,
          200,
          () => `readinessProbe ${path} did not answer 200:\n${vallum.output()}`,
        );
      } else {
        const answer = await ask('readinessProbe');
        assert.equal(answer.status, 503, `readinessProbe ${path}`);
        assert.deepEqual(answer.body, { status: 'not ready', service: 'proxy' }, 'the probe learns not ready, nothing more');
        // Why is in the pod's log (kubectl logs), once: the peers it cannot reach.
        await until(
          async () => /not ready: authorize \(.+\), cache \(.+\)/.test(vallum.output()),
          true,
          () => `the log does not say why:\n${vallum.output()}`,
        );
      }
    });
  }
});
