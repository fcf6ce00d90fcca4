// Service worker of the capture page: the page and its static files stay usable
// without a connection. Deposits themselves are kept by offline.js in IndexedDB,
// never here; this worker only answers GET requests.
"use strict";

var CACHE = "outage-desk-capture-v1";
var PAGE = new URL(self.registration.scope).pathname;
var STATIC = new URL(self.location.href).searchParams.get("static") || "/static/";

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// Network first, so the clerk sees today's deposits; the last good copy when offline.
function capturePage(request) {
  return caches.open(CACHE).then(function (cache) {
    return fetch(request).then(function (response) {
      if (response.ok && !response.redirected && response.type === "basic") {
        cache.put(PAGE, response.clone());
      } else if (response.redirected || response.type === "opaqueredirect") {
        // Logged out: the saved page (with the user's data) goes too.
        cache.delete(PAGE);
      }
      return response;
    }).catch(function (error) {
      return cache.match(PAGE, { ignoreVary: true, ignoreSearch: true }).then(function (hit) {
        if (hit) { return hit; }
        throw error;
      });
    });
  });
}

// Static files: answer from the cache at once, refresh it in the background.
function staticFile(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      var refresh = fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
      if (hit) {
        refresh.catch(function () { return null; });
        return hit;
      }
      return refresh;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(capturePage(request));
  } else if (url.pathname.indexOf(STATIC) === 0) {
    event.respondWith(staticFile(request));
  }
});
