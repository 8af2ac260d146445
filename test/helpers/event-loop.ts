/**
 * Watches this process's event loop: a 10 ms timer measures how late it fires. `stop()` ends the watch and
 * returns the longest stall seen, in ms (the test servers run in the test's process, so their stalls show here).
 */
export function watchEventLoop(): { stop(): number } {
  let worst = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  return {
    stop() {
      clearInterval(ticker);
      return worst;
    },
  };
}
