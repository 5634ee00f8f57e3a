// What keeps a `vallum` process small: V8 settings made before anything is loaded, and a pacer that collects the
// buffers streamed bodies leave behind sooner than V8 would. test/src/proxy-streaming.test.ts holds a proxy process
// under 100 MB of RSS while 1 GiB goes through it each way. Only node: modules here: the bin loads this file first.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's own growth factor for the young generation (Node 20, V8 11.3). */
const DEFAULT_SEMI_SPACE_GROWTH_FACTOR = 2;

/** Called by the bin before the first module loads. */
export function tuneStartupHeap(): void {
  // Nearly everything allocated while modules load lives on, and V8 takes that survival as a reason to grow the
  // young generation to its 2 × 16 MB maximum, which then stays resident: ~12 MB of an idle proxy's RSS.
  setFlagsFromString('--semi-space-growth-factor=1');
  // undici parses HTTP with llhttp compiled to WebAssembly. On the first upstream connection V8 tiers its one huge
  // function up with TurboFan, whose compiler takes ~30 MB for a moment (and glibc keeps much of it). Liftoff's code
  // parses fast enough: a proxy's CPU per 1 KiB response stayed within noise (92 µs against 91–95 µs).
  setFlagsFromString('--liftoff-only');
}

/** Called once the services are listening: under load a larger young generation pays for itself again. */
export function restoreHeapGrowth(): void {
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_SEMI_SPACE_GROWTH_FACTOR}`);
}

export interface GarbagePacer {
  /** A request (or upgraded connection) started; `release` when it ends. */
  hold(): void;
  release(): void;
}

export interface GarbagePacerOptions {
  /** How much buffer memory may pile up above its recent low before a young collection. */
  stepBytes?: number;
  intervalMs?: number;
  /** Above this many requests in flight the pacer stands aside (see below). */
  maxInFlight?: number;
}

/**
 * Every chunk a streamed body brings in is a fresh Buffer of up to 64 KiB, dead as soon as it is written on. Buffer
 * memory lives outside the JS heap, and V8 11 runs a young collection for it only once 32 MB of it have piled up
 * (2 × its maximum semi-space size, a constant), so a fast transfer keeps 20–40 MB of dead buffers in RSS. While
 * requests are in flight the pacer reads V8's external-memory counter every `intervalMs` (~0.5 µs) and runs a
 * young collection (a scavenge: well under a millisecond, its cost proportional to what is alive) once it has
 * grown by `stepBytes` since its last low.
 *
 * With many requests in flight it stands aside: they allocate enough on the JS heap for V8 to collect often on its
 * own, and collections forced between V8's would promote every request's objects to the old generation before they
 * die (measured: 100 KiB responses at 50 connections cost up to 70 % more CPU per request). A process serving that
 * many requests at once is not one that stays under 100 MB anyway.
 *
 * Returns undefined where V8 does not let `gc` be exposed at run time.
 */
export function createGarbagePacer(options: GarbagePacerOptions = {}): GarbagePacer | undefined {
  const stepBytes = options.stepBytes ?? 2 * 1024 * 1024;
  const intervalMs = options.intervalMs ?? 2;
  const maxInFlight = options.maxInFlight ?? 4;
  const collect = exposeGc();
  if (!collect) return undefined;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  // The lowest external memory seen since the last collection: what is alive, plus what piled up in one interval.
  let low = Infinity;
  const tick = () => {
    const external = getHeapStatistics().external_memory;
    if (external < low) low = external;
    else if (external - low > stepBytes) {
      collect();
      // Dead buffers are freed by a background sweeper after the collection: the next reading is the new low.
      low = Infinity;
    }
  };
  const update = () => {
    const pace = inFlight > 0 && inFlight <= maxInFlight;
    if (pace && !timer) {
      low = Infinity;
      timer = setInterval(tick, intervalMs);
      timer.unref();
    } else if (!pace && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return {
    hold() {
      inFlight++;
      update();
    },
    release() {
      if (inFlight > 0) inFlight--;
      update();
    },
  };
}

/** V8's `gc`, taken from a fresh context while --expose-gc is on, so no other code sees it. */
function exposeGc(): (() => void) | undefined {
  let gc: unknown;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('typeof gc === "function" ? gc : undefined');
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  if (typeof gc !== 'function') return undefined;
  return () => (gc as (options: { type: 'minor' }) => void)({ type: 'minor' });
}
