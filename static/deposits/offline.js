// Offline capture. Without a connection the capture form keeps each deposit in
// IndexedDB under its client UUID, with the device time; the kept deposits are
// sent to POST /api/v1/deposits/ (Idempotency-Key = client UUID) when the
// connection returns, whenever the page opens, and every little while. A retry
// of a deposit the server already has is answered with that deposit, so nothing
// is recorded twice. Amounts stay decimal strings; limits compare them as
// integers of thousandths (BigInt), never as floats.
(function () {
  "use strict";
  var box = document.getElementById("offline-box");
  if (!box || !window.indexedDB) { return; }

  var DB_NAME = "outage-desk-offline";
  var STORE = "deposits";
  var CACHE = "outage-desk-capture-v1";
  var SYNC_EVERY_MS = 20000;
  var cfg = box.dataset;
  var incidents = JSON.parse(document.getElementById("offline-incidents").textContent);
  var text = JSON.parse(document.getElementById("offline-messages").textContent);
  var syncing = false;

  function say(key, values) {
    var out = text[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      out = out.split("%(" + name + ")s").join(values[name]);
    });
    return out;
  }

  // ---- IndexedDB, wrapped in promises -------------------------------------
  var dbPromise = new Promise(function (resolve, reject) {
    var open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = function () {
      var store = open.result.createObjectStore(STORE, { keyPath: "client_uuid" });
      store.createIndex("user", "user");
    };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });

  function tx(mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(result && result.result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }
  function entriesOfUser() {
    return tx("readonly", function (store) {
      return store.index("user").getAll(cfg.username);
    }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }
  function putEntry(entry) { return tx("readwrite", function (s) { s.put(entry); }); }
  function deleteEntry(uuid) { return tx("readwrite", function (s) { s["delete"](uuid); }); }

  // ---- Decimal strings and time zones -------------------------------------
  var AMOUNT = /^\d{1,15}(\.\d{1,3})?$/;
  function thousandths(value) {
    var parts = value.split(".");
    return BigInt(parts[0]) * 1000n + BigInt((parts[1] || "").padEnd(3, "0"));
  }
  function zoneOffset(instant, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"
    }).formatToParts(instant).forEach(function (p) { parts[p.type] = p.value; });
    var wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24,
      +parts.minute, +parts.second);
    return wall - Math.floor(instant.getTime() / 1000) * 1000;
  }
  // "2026-05-04T09:30" on the branch's clock -> the instant it names.
  function wallToInstant(wall, zone) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(wall);
    if (!m) { return null; }
    var guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    var first = guess - zoneOffset(new Date(guess), zone);
    return new Date(guess - zoneOffset(new Date(first), zone));
  }
  function nowOnBranchClock(zone) {
    var local = new Date(Date.now() + zoneOffset(new Date(), zone));
    return local.toISOString().slice(0, 16);
  }
  function newUuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---- The page -----------------------------------------------------------
  function field(name) { return document.getElementById("id_" + name); }
  function value(name) { var el = field(name); return el ? el.value.trim() : ""; }
  function labelOf(name) {
    var label = document.querySelector("label[for=id_" + name + "]");
    return label ? label.textContent.trim() : name;
  }

  function showMessage(message, kind) {
    var area = document.getElementById("offline-message");
    area.replaceChildren();
    if (!message) { return; }
    var div = document.createElement("div");
    div.className = "alert py-2 mb-0 alert-" + (kind || "info");
    div.textContent = message;
    area.appendChild(div);
  }

  function freshForm() {
    var form = document.getElementById("capture-form");
    if (!form) { return; }
    ["customer", "account", "payer_name", "amount", "reference", "note", "duplicate_reason"]
      .forEach(function (name) { if (field(name)) { field(name).value = ""; } });
    if (field("evidence")) { field("evidence").value = ""; }
    field("client_uuid").value = newUuid();
    if (field("received_at")) { field("received_at").value = nowOnBranchClock(cfg.timezone); }
    var submit = document.getElementById("capture-submit");
    if (submit) { submit.disabled = false; }
    var search = document.getElementById("customer-search");
    if (search) { search.value = ""; search.focus(); }
  }

  function render() {
    var online = navigator.onLine;
    document.getElementById("offline-state").textContent =
      online ? say("online") : say("offline");
    box.classList.toggle("is-offline", !online);
    return entriesOfUser().then(function (entries) {
      var pending = entries.filter(function (e) { return e.status === "pending"; });
      var kept = entries.filter(function (e) { return e.status !== "conflict"; });
      var badge = box.querySelector("[data-testid=offline-pending]");
      badge.dataset.count = String(pending.length);
      badge.textContent = say("pending", { n: pending.length });
      badge.hidden = pending.length === 0;
      document.getElementById("offline-send").hidden = pending.length === 0;
      document.getElementById("offline-export").hidden = kept.length === 0;
      renderProblems(entries.filter(function (e) { return e.status !== "pending"; }));
    });
  }

  function describe(entry) {
    var b = entry.body;
    return b.amount + " " + b.currency + " · " + b.account + " · " + b.payer_name +
      " · " + entry.client_uuid.slice(0, 8);
  }

  function renderProblems(entries) {
    var list = document.getElementById("offline-problems");
    list.replaceChildren();
    entries.forEach(function (entry) {
      var li = document.createElement("li");
      li.className = "alert py-2 mb-1 d-flex justify-content-between align-items-start gap-2 " +
        (entry.status === "conflict" ? "alert-warning" : "alert-danger");
      li.dataset.status = entry.status;
      var span = document.createElement("span");
      var strong = document.createElement("strong");
      strong.textContent = entry.status === "conflict"
        ? say("needsSupervisor") : say("refused") + ": " + entry.error;
      span.appendChild(strong);
      span.appendChild(document.createElement("br"));
      span.appendChild(document.createTextNode(describe(entry)));
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "btn btn-sm btn-outline-dark";
      discard.textContent = say("discard");
      discard.dataset.discard = entry.client_uuid;
      li.appendChild(span);
      li.appendChild(discard);
      list.appendChild(li);
    });
  }

  // ---- Keeping a deposit ---------------------------------------------------
  function formProblems(body, pending) {
    var problems = [];
    ["account", "payer_name", "amount", "currency", "received_at"].forEach(function (name) {
      if (!value(name)) { problems.push(say("required", { x: labelOf(name) })); }
    });
    if (body.amount && !AMOUNT.test(body.amount)) { problems.push(say("badAmount")); }
    if (body.currency && !/^[A-Z]{3}$/.test(body.currency)) { problems.push(say("badCurrency")); }
    if (field("evidence") && field("evidence").files && field("evidence").files.length) {
      problems.push(say("noEvidence"));
    }
    if (problems.length) { return problems; }
    if ((cfg.maxAmount || cfg.maxTotal) && body.currency !== cfg.currency) {
      return [say("otherCurrency", { x: cfg.currency })];
    }
    var amount = thousandths(body.amount);
    if (cfg.maxAmount && amount > thousandths(cfg.maxAmount)) {
      return [say("overMax", { x: cfg.maxAmount + " " + cfg.currency })];
    }
    if (cfg.maxTotal) {
      var total = pending.reduce(function (sum, e) {
        return e.body.currency === cfg.currency ? sum + thousandths(e.body.amount) : sum;
      }, amount);
      if (total > thousandths(cfg.maxTotal)) {
        return [say("overTotal", { x: cfg.maxTotal + " " + cfg.currency })];
      }
    }
    return [];
  }

  function keep() {
    var received = wallToInstant(value("received_at"), cfg.timezone);
    var body = {
      client_uuid: value("client_uuid"),
      incident: incidents[value("incident")] || "",
      branch: value("branch") || cfg.branch,
      channel: value("channel"),
      account: value("account"),
      payer_name: value("payer_name"),
      amount: value("amount"),
      currency: value("currency").toUpperCase(),
      received_at: received ? received.toISOString() : "",
      reference: value("reference"),
      note: value("note"),
      duplicate_reason: value("duplicate_reason"),
      device_time: new Date().toISOString(),
      offline: true
    };
    return entriesOfUser().then(function (entries) {
      var known = entries.some(function (e) { return e.client_uuid === body.client_uuid; });
      var pending = entries.filter(function (e) { return e.status === "pending"; });
      var problems = formProblems(body, pending);
      if (problems.length) {
        showMessage(problems.join(" "), "danger");
        var submit = document.getElementById("capture-submit");
        if (submit) { submit.disabled = false; }
        return;
      }
      var entry = {
        client_uuid: body.client_uuid, user: cfg.username, status: "pending",
        error: "", seq: Date.now() + Math.random(), body: body
      };
      return (known ? Promise.resolve() : putEntry(entry)).then(function () {
        showMessage(say("savedOffline", { x: describe(entry) }), "warning");
        freshForm();
        return render();
      });
    });
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "capture-form" && !navigator.onLine) {
      event.preventDefault();
      keep();
    }
  });
  // The request never got an answer: keep it under the same UUID. If the server
  // did record it, sending it again returns that deposit.
  document.body.addEventListener("htmx:sendError", function (event) {
    if (event.detail.elt && event.detail.elt.id === "capture-form") { keep(); }
  });

  // ---- Sending ---------------------------------------------------------------
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function errorText(data) {
    if (!data || typeof data !== "object") { return ""; }
    return Object.keys(data).map(function (key) {
      var v = data[key];
      var msg = Array.isArray(v) ? v.join(" ") : String(v);
      return key === "detail" ? msg : key + ": " + msg;
    }).join(" ");
  }

  // One entry; resolves true to go on with the next, false to stop this round.
  function sendOne(entry, outcome) {
    return fetch(cfg.apiUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken(),
        "Idempotency-Key": entry.client_uuid
      },
      body: JSON.stringify(entry.body)
    }).then(function (response) {
      if (response.status === 200 || response.status === 201) {
        outcome.sent += 1;
        return response.json().catch(function () { return {}; }).then(function (data) {
          // Over the branch's offline limits: recorded, but waits for a supervisor.
          if (data && data.hold_message) {
            outcome.held.push((data.receipt_number || entry.client_uuid) + ": " + data.hold_message);
          }
          return deleteEntry(entry.client_uuid);
        }).then(function () { return true; });
      }
      if (response.status === 409 || response.status === 400 || response.status === 422) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          entry.status = response.status === 409 ? "conflict" : "refused";
          entry.error = errorText(data);
          return putEntry(entry).then(function () { return true; });
        });
      }
      if (response.status === 401 || response.status === 403) { outcome.login = true; }
      return false; // server trouble or logged out: keep it, try again later
    }, function () { return false; }); // no connection: keep it
  }

  function sync() {
    if (syncing || !navigator.onLine) { return Promise.resolve(); }
    syncing = true;
    var outcome = { sent: 0, login: false, held: [] };
    return entriesOfUser().then(function (entries) {
      var pending = entries.filter(function (e) { return e.status === "pending"; });
      return pending.reduce(function (chain, entry) {
        return chain.then(function (goOn) { return goOn ? sendOne(entry, outcome) : false; });
      }, Promise.resolve(true));
    }).then(function () {
      if (outcome.login) { showMessage(say("loginAgain"), "danger"); }
      else if (outcome.held.length) {
        showMessage(say("sent", { n: outcome.sent }) + " " + say("held") + " " +
          outcome.held.join(" "), "warning");
      }
      else if (outcome.sent) { showMessage(say("sent", { n: outcome.sent }), "success"); }
    }).catch(function () { return null; }).then(function () {
      syncing = false;
      return render();
    });
  }

  // ---- Export for the supervisor's import (canonical deposit CSV) ------------
  var COLUMNS = ["receipt_number", "branch", "channel", "account", "payer_name", "amount",
    "currency", "received_at", "reference", "note"];
  function csvCell(v) {
    var s = String(v == null ? "" : v);
    return /[",\r\n]/.test(s) ? "\"" + s.replace(/"/g, "\"\"") + "\"" : s;
  }
  function exportCsv() {
    return entriesOfUser().then(function (entries) {
      var rows = entries.filter(function (e) { return e.status !== "conflict"; });
      var lines = [COLUMNS.join(",")].concat(rows.map(function (e) {
        var b = e.body;
        var row = {
          // The client UUID stands in for the receipt number the server never gave.
          receipt_number: e.client_uuid, branch: b.branch, channel: b.channel,
          account: b.account, payer_name: b.payer_name, amount: b.amount,
          currency: b.currency, received_at: b.received_at.replace(/\.\d+Z$/, "+00:00"),
          reference: b.reference, note: b.note
        };
        return COLUMNS.map(function (c) { return csvCell(row[c]); }).join(",");
      }));
      var blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "offline-deposits-" + cfg.branch + "-" +
        new Date().toISOString().slice(0, 16).replace(/[:T]/g, "") + ".csv";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    });
  }

  document.getElementById("offline-send").addEventListener("click", sync);
  document.getElementById("offline-export").addEventListener("click", exportCsv);
  document.getElementById("offline-problems").addEventListener("click", function (event) {
    var button = event.target.closest("[data-discard]");
    if (button) { deleteEntry(button.dataset.discard).then(render); }
  });
  window.addEventListener("online", function () { render(); sync(); });
  window.addEventListener("offline", render);
  setInterval(sync, SYNC_EVERY_MS);

  // ---- Service worker and the offline copy of this page ---------------------
  function cacheThisPage() {
    var resources = performance.getEntriesByType("resource").map(function (r) { return r.name; })
      .filter(function (url) {
        var u = new URL(url);
        return u.origin === location.origin && u.pathname.indexOf(cfg.staticUrl) === 0;
      });
    return caches.open(CACHE).then(function (cache) {
      return cache.addAll([cfg.swScope].concat(resources));
    });
  }
  function registerWorker() {
    if (!("serviceWorker" in navigator) || !window.caches) { return Promise.resolve(); }
    var url = cfg.swUrl + "?static=" + encodeURIComponent(cfg.staticUrl);
    return navigator.serviceWorker.register(url, { scope: cfg.swScope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      return navigator.onLine ? cacheThisPage() : null;
    }).then(function () {
      box.dataset.offlineReady = "true";
      if (navigator.onLine) {
        document.getElementById("offline-state").textContent = say("online") + " " + say("ready");
      }
    }).catch(function () { return null; });
  }

  // The saved offline copy of this page carries a UUID that may have been used
  // already: every page starts with its own. Offline, the time is stale too.
  if (!navigator.onLine) { freshForm(); } else if (field("client_uuid")) {
    field("client_uuid").value = newUuid();
  }
  render().then(sync).then(registerWorker);
})();
