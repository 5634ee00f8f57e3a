// The worker thread of load-config-off-thread.ts: parses one config text (the YAML step, the slowest of a load) and
// posts the plain value back.
import { parentPort, workerData } from 'node:worker_threads';
import { parseConfigText } from './load-config.js';

const { text, file, env } = workerData as { text: string; file: string; env: Record<string, string | undefined> };
parentPort!.postMessage(parseConfigText(text, file, { env }));
