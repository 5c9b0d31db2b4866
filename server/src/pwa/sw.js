// Mac Status service worker. Generated per build by the host (`/sw.js`): VERSION changes
// whenever the app shell changes, and the shell is cached as one unit under that version, so a
// page never runs a stale WASM with a new JS glue (or the reverse).
const VERSION = "__VERSION__";
const CACHE = `__NAME__-${VERSION}`;
const SHELL = __ASSETS__;

self.addEventListener("install", (event) => {
  // From the network, never the HTTP cache: a file revalidated by its Last-Modified second
  // could otherwise come back from before a rebuild made in that same second.
  const fresh = SHELL.map((url) => new Request(url, { cache: "reload" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(fresh)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("__NAME__-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// The page asks for this when the user accepts an update.
self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  // Live data always goes to the network: never a cached number presented as current.
  if (url.pathname.startsWith("/api/") || url.pathname === "/metrics" || url.pathname === "/healthz") return;

  if (req.mode === "navigate") {
    event.respondWith(
      fetch(req)
        .then((res) => {
          // A page from another build would load this version's cached JS/WASM: use the
          // cached page of this version instead (the update banner offers the new one).
          if (res.ok && res.headers.get("__BUILD_HEADER__") === VERSION) {
            const copy = res.clone();
            caches.open(CACHE).then((c) => c.put("/", copy));
            return res;
          }
          if (!res.ok) return res;
          return caches.match("/").then((cached) => cached || res);
        })
        .catch(() => caches.match("/").then((cached) => cached || Response.error())),
    );
    return;
  }
  event.respondWith(caches.match(req, { ignoreSearch: true }).then((cached) => cached || fetch(req)));
});
