// Bench-only job: returns the monotonic clock (ns) at handler start, so the load generator can
// measure submit -> handler start (Node's process.hrtime and C's CLOCK_MONOTONIC are the same clock).
export default {
  name: 'benchStamp',
  run() {
    return String(process.hrtime.bigint());
  },
};
