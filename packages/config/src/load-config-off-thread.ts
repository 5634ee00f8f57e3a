// A config file loaded as `loadConfigFile` does, with its YAML parsed in a worker thread: at 10,000 routes the parse
// takes seconds, and a reload that parsed on the event loop held every request for that long. The value comes back
// by structured clone and is validated and built here; errors read exactly as `loadConfigFile`'s.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { VallumConfig } from './build-config.js';
import { ConfigError, configFromParsed, loadConfigText, type LoadOptions, type LocatedIssue } from './load-config.js';

/** Below this size the worker's start costs more than the parse it spares the event loop. */
const OFF_THREAD_MIN_BYTES = 64 * 1024;

export async function loadConfigFileOffThread(file: string, options: LoadOptions = {}): Promise<VallumConfig> {
  let text: string;
  try {
    // Read at once (a megabyte is a millisecond): an asynchronous read waits behind the thread pool's crypto jobs.
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new VallumError(ErrorCodes.CONFIG_READ, `cannot read config file ${file}: ${(cause as Error).message}`, { cause });
  }
  if (text.length < OFF_THREAD_MIN_BYTES) return loadConfigText(text, file, options);
  const env = options.env ?? process.env;
  const parsed = await parseInWorker(text, file, env);
  if ('syntaxErrors' in parsed) throw new ConfigError(file, parsed.syntaxErrors);
  const config = configFromParsed(parsed.raw, text, file, { env });
  // The requests that arrived during the build are served before the caller goes on to build services from it.
  await new Promise((resolve) => setImmediate(resolve));
  return config;
}

function parseInWorker(text: string, file: string, env: Record<string, string | undefined>): Promise<{ raw: unknown } | { syntaxErrors: LocatedIssue[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./parse-config-worker.js', import.meta.url), { workerData: { text, file, env } });
    let answered = false;
    worker.once('message', (message: { raw: unknown } | { syntaxErrors: LocatedIssue[] }) => {
      answered = true;
      resolve(message);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new VallumError(ErrorCodes.CONFIG_READ, `parsing ${file} stopped (worker exit code ${code})`));
    });
  });
}
