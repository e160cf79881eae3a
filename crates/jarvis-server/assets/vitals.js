// Web Vitals of this page (LCP, CLS, INP, FCP, TTFB), sent once in one beacon when the page is
// hidden. The page is reported as its route template: every path segment that is not a plain
// lowercase word becomes {id}, so no identifier leaves the browser (the server checks the same).
(() => {
  if (!("PerformanceObserver" in window) || !navigator.sendBeacon) return;
  const v = {};
  const observe = (type, cb, opts) => {
    try {
      new PerformanceObserver((l) => l.getEntries().forEach(cb))
        .observe(Object.assign({ type, buffered: true }, opts || {}));
    } catch (_) { /* type not supported by this browser */ }
  };
  observe("paint", (e) => { if (e.name === "first-contentful-paint") v.FCP = e.startTime; });
  observe("largest-contentful-paint", (e) => { v.LCP = e.startTime; });
  // CLS: the largest session window (shifts less than 1 s apart, at most 5 s long).
  let win = 0, first = 0, last = 0;
  observe("layout-shift", (e) => {
    if (e.hadRecentInput) return;
    if (win && e.startTime - last < 1000 && e.startTime - first < 5000) {
      win += e.value;
    } else {
      win = e.value;
      first = e.startTime;
    }
    last = e.startTime;
    v.CLS = Math.max(v.CLS || 0, win);
  });
  // INP: the slowest interaction seen (event timing entries that carry an interaction id).
  observe("event", (e) => {
    if (e.interactionId) v.INP = Math.max(v.INP || 0, e.duration);
  }, { durationThreshold: 40 });
  const nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  if (nav && nav.responseStart > 0) v.TTFB = Math.max(0, nav.responseStart - (nav.activationStart || 0));
  const page = "/" + location.pathname.split("/").filter(Boolean)
    .map((s) => (/^[a-z][a-z-]{0,31}$/.test(s) ? s : "{id}")).slice(0, 8).join("/");
  let sent = false;
  const send = () => {
    if (sent) return;
    const metrics = Object.keys(v).filter((k) => isFinite(v[k]))
      .map((k) => ({ name: k, value: Math.round(v[k] * 1000) / 1000 }));
    if (!metrics.length) return;
    sent = true;
    navigator.sendBeacon("/api/v1/vitals",
      new Blob([JSON.stringify({ page, metrics })], { type: "application/json" }));
  };
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") send(); });
  addEventListener("pagehide", send);
})();
