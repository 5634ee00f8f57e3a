// Preloaded (node -r) by request-allocations.mjs --heap-profile: SIGUSR2 starts V8's sampling heap profiler, counting
// objects the collector has already freed too (every allocation, not only what is live); the next SIGUSR2 writes the
// profile to HEAP_PROFILE_OUT and prints `heap-profile-written`. MINOR_GC_SAMPLES=0 leaves out objects freed by young
// collections: what is left is what survived one (promoted, or alive at the end).
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');

const session = new inspector.Session();
session.connect();
let sampling = false;
process.on('SIGUSR2', () => {
  sampling = !sampling;
  if (sampling) {
    session.post('HeapProfiler.startSampling', {
      samplingInterval: Number(process.env.HEAP_SAMPLING_INTERVAL ?? 512),
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: process.env.MINOR_GC_SAMPLES !== '0',
    });
    return;
  }
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) throw err;
    writeFileSync(process.env.HEAP_PROFILE_OUT, JSON.stringify(result.profile));
    console.log('heap-profile-written');
  });
});
