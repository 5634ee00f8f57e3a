export { getFreePort } from './free-port.js';
export { startRedis, findRedisServer, pingRedis, type RedisServer } from './redis-server.js';
export { launchBrowser, CHROMIUM_ARGS } from './browser.js';
export { startEchoUpstream, type EchoUpstream, type RecordedRequest } from './echo-upstream.js';
export { startHttpUpstream, type HttpUpstream } from './http-upstream.js';
export { signInAtDemoIdp } from './demo-idp-sign-in.js';
export { startDemoIdp, startDemoApp, DEMO_USERS, DEMO_PASSWORD, type DemoIdp, type DemoIdpOptions, type DemoUser } from '@vallum/demo';
export { countIterations } from './count-iterations.js';
export { writeConfigMapVolume, type ConfigMapVolume } from './configmap-volume.js';
