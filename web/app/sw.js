// SPDX-License-Identifier: AGPL-3.0-or-later
//
// sw.js -- the Guichet app's service worker (scope /app/): keeps a copy of
// the app's own files so that it opens without network -- the current
// code and a scanned payment's offline code need no server.
//
// Network first, the copy only when the network fails: an online phone
// always runs the app the bank serves now, never a stale one.  Only the
// files listed here are kept, and only GET answers 200 from this origin;
// nothing of /v1/ (the API: pending payments, signed requests) ever goes
// near the cache, and the worker holds no key, code or secret.

const CACHE = "guichet-app-v1";
const APP = new URL("./", self.location).pathname;            // "/app/"
const COMMON = new URL("../common/", self.location).pathname;  // "/common/"
const FILES = [
  "", "index.html", "style.css", "app.js", "api.js", "crypto.js", "i18n.js", "payload.js",
  "scan.js", "scan_worker.js", "store.js", "tt.js", "manifest.webmanifest", "icon.svg",
  "icon-192.png", "icon-512.png", "vendor/jsQR.js",
].map((f) => APP + f).concat(["base.css", "phone.css", "text_core.js", "errors.js"].map((f) => COMMON + f));
const KEPT = new Set(FILES);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One missing file (e.g. no QR decoder installed) must not stop the rest.
    await Promise.all(FILES.map((f) => cache.add(new Request(f, { cache: "no-store" }))
      .catch(() => {})));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys())
      if (name !== CACHE)
        await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || !KEPT.has(url.pathname))
    return;                                   // the browser's own way
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req, { cache: "no-store" });
      if (res.ok && res.type === "basic")
        await cache.put(url.pathname, res.clone());
      return res;
    } catch (e) {
      const kept = await cache.match(url.pathname);
      if (kept)
        return kept;
      throw e;
    }
  })());
});
