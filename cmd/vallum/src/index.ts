export { startVallum, type StartOptions, type RunningVallum, type ReloadResult } from './start-vallum.js';
export { startDemo, demoConfigYaml, demoBanner, type DemoOptions, type DemoConfigInput, type RunningDemo } from './demo.js';
export { loadVallumConfig, loadVallumConfigOffThread, loadVallumConfigText } from './load.js';
export { parseListenAddress } from './listen-address.js';
export { watchConfigFile, type ConfigWatcher, type WatchOptions } from './watch-config.js';
export { ENV_VARIABLES, environmentTable, type EnvVariable } from './env-variables.js';
export { createGarbagePacer, restoreHeapGrowth, tuneStartupHeap, type GarbagePacer } from './process-memory.js';
export { createIpcCacheClient, serveStore } from './shared-store.js';
