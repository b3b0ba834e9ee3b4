/*
 * Live pages: one server-sent event stream per page (htmx SSE extension), see
 * app/live/pages.py for what the server sends.
 *
 *   [data-live-sink]        -> the page's stream. Messages:
 *       hello  {phase, server_now, timer, seq}  clock offset, timer, phase check
 *       update HTML, hx-swap-oob fragments      morphed in by id (idiomorph); never under
 *                                               someone's hands
 *       timer  {state, ends_at, remaining, server_now}
 *       phase  {phase}    what it does: data-live-on-phase = reload | notice | ignore
 *       reset  {reason}   updates were missed: reload (or a notice on facilitator boards)
 *       renew  {reason, retry_ms}  the stream ends as planned: the next one opens from the
 *                                  last event id, unseen (see "the stream" below)
 *       session_deleted   "This session has been deleted" on the page; no more reconnecting
 *   [data-timer]            -> countdown from ends_at, corrected by the server clock offset,
 *                              so a laptop whose clock is off shows the same time
 *   [data-timer-announce]   -> polite "1 minute left" / "Time is up", nothing else
 *   [data-timer-when]       -> timer controls shown only in these timer states
 *   [data-live-notices]     -> "updates paused" / "the phase changed" / "deleted" notices
 *   [data-live-poll="N"]    -> fallback: hx-trigger="livepoll" every N s while no stream runs
 *   hidden tab              -> stream closed after a while (browsers allow 6 connections
 *                              per host), reopened on return with the last event id
 *
 * Updates are morphed into the page (Idiomorph): elements that stay keep their focus, open
 * <details> and what scripts set on them. A region someone works in (typing, a choice not
 * saved, an open edit form, a selected or dragged note) is held back: its update waits until
 * they are done, its untouched sub-regions (those with ids) are updated meanwhile, and a
 * notice offers to show it now. Words come from the page's #policylab-config (app.js).
 */
(function () {
  "use strict";

  if (!window.htmx || !window.Idiomorph || !window.PolicyLab) return;
  var htmx = window.htmx;
  var Idiomorph = window.Idiomorph;
  var message = window.PolicyLab.message;
  var config = window.PolicyLab.config;

  var EVENTS = ["hello", "update", "timer", "phase", "reset", "ack"];
  var HIDDEN_CLOSE_MS = 20000;
  var POLL_AFTER_MS = 20000;
  // Reconnecting. A stream that dropped without a word (a proxy, a crashed server): again
  // after a moment drawn from DROPPED_RETRY_MS, so that a room does not come back at once.
  // An attempt that failed: again after RETRY_BASE_MS, doubled per failure up to
  // RETRY_MAX_MS, each drawn between half and one and a half of that.
  var DROPPED_RETRY_MS = [250, 2500];
  var RETRY_BASE_MS = 1000;
  var RETRY_MAX_MS = 30000;
  // A renewed stream is left to end by itself, and closed after this in any case.
  var RENEW_CLOSE_MS = 5000;

  var offset = 0; // the server's clock minus this browser's, in ms
  var timer = null; // {state, endsAt (server ms), remaining (s)}
  var lastLeft = null;
  var lastId = null;
  var paused = false;
  var gone = false; // the session was deleted: nothing more will come
  var hiddenTimer = null;
  var downSince = Date.now(); // since when the page has had no stream (null: it has one)
  var pending = {}; // element id -> its newer version, waiting until nobody works in it

  function sink() {
    return document.querySelector("[data-live-sink]");
  }

  /* ---------------------------------------------------------- the stream */

  // The page's stream belongs to this script. htmx's SSE extension binds it to the sink
  // element and hands its messages on (htmx:sseBeforeMessage, below) through the
  // htmx.createEventSource hook, which gets a LiveSource instead of an EventSource: one
  // EventSource after another, each opened from the last event id this page saw.
  //   renew            the server's lifetime cap: the next stream opens at once (reason
  //                    "restart": after the server's retry_ms, drawn by the server)
  //   an error         the browser's own reconnection is stopped and done here, spread out;
  //                    an attempt that fails asks GET /api/v1/sessions/{code}: 404 = gone
  //   session_deleted  the page says so and stops
  // app.js shows the connection state from what this reports ("policylab:stream": open,
  // down, paused, gone), only after a real outage: a renewal changes nothing on screen.
  var stream = {
    url: null, // the sink's stream URL (its last_event_id is replaced by lastId)
    code: null, // the session code, for the check
    target: null, // what the extension listens on
    source: null, // the EventSource open or opening
    opened: false, // `source` has opened
    failures: 0, // attempts in a row that did not open
    retry: null, // the next attempt's timer
    checking: false,
    stopped: false, // the extension let the sink go
  };

  function withLastId(url) {
    if (!lastId) return url;
    var param = "last_event_id=" + encodeURIComponent(lastId);
    if (/[?&]last_event_id=/.test(url)) return url.replace(/([?&])last_event_id=[^&]*/, "$1" + param);
    return url + (url.indexOf("?") < 0 ? "?" : "&") + param;
  }

  function between(range) {
    return range[0] + Math.random() * (range[1] - range[0]);
  }

  function report(state) {
    document.dispatchEvent(new CustomEvent("policylab:stream", { detail: { state: state } }));
  }

  function active() {
    return stream.url && !stream.stopped && !paused && !gone;
  }

  function closeSource() {
    window.clearTimeout(stream.retry);
    stream.retry = null;
    if (stream.source) stream.source.close();
    stream.source = null;
    stream.opened = false;
  }

  function connect() {
    closeSource();
    if (!active() || !window.EventSource) return; // without EventSource, the regions poll
    var es = new EventSource(withLastId(stream.url), { withCredentials: true });
    stream.source = es;
    es.onopen = function (evt) {
      if (es !== stream.source) return;
      stream.opened = true;
      stream.failures = 0;
      downSince = null;
      report("open");
      if (typeof stream.target.onopen === "function") stream.target.onopen(evt);
    };
    es.onerror = function () {
      if (es === stream.source) {
        onStreamError();
      } else {
        es.close(); // a renewed stream that ended, as it said it would: no reconnecting
      }
    };
    EVENTS.forEach(function (name) {
      es.addEventListener(name, function (evt) {
        if (es !== stream.source || gone) return;
        if (evt.lastEventId) lastId = evt.lastEventId;
        stream.target.dispatchEvent(new MessageEvent(name, { data: evt.data, lastEventId: evt.lastEventId }));
      });
    });
    es.addEventListener("renew", function (evt) {
      if (es !== stream.source) return;
      var data = parse(evt.data);
      // The server ends this stream now; let it (closing it first would cut the response).
      stream.source = null;
      stream.opened = false;
      downSince = Date.now();
      report("down"); // shown only if the next stream is not open within app.js's OUTAGE_MS
      window.setTimeout(function () {
        es.close();
      }, RENEW_CLOSE_MS);
      if (data.reason === "restart") {
        // The server is going away: come back when it says, like the rest of the room.
        stream.retry = window.setTimeout(connect, Math.max(0, data.retry_ms || 0));
      } else {
        connect();
      }
    });
    es.addEventListener("session_deleted", function (evt) {
      if (es === stream.source) sessionGone();
    });
  }

  function parse(text) {
    try {
      return (JSON.parse(text) || {}).data || {};
    } catch (e) {
      return {};
    }
  }

  function onStreamError() {
    var wasOpen = stream.opened;
    closeSource(); // no reconnection by the browser: it is done here
    var delay;
    if (downSince === null) downSince = Date.now(); // else: down since a renewal or before
    if (wasOpen) {
      delay = between(DROPPED_RETRY_MS);
    } else {
      stream.failures += 1;
      var base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * Math.pow(2, stream.failures - 1));
      delay = Math.min(RETRY_MAX_MS, base * between([0.5, 1.5]));
      checkSession();
    }
    report("down");
    stream.retry = window.setTimeout(connect, delay);
  }

  // A stream that cannot open may belong to a session deleted while this page could not
  // hear it (the server was down): the API says so with a 404.
  function checkSession() {
    if (stream.checking || !stream.code || !window.fetch) return;
    stream.checking = true;
    window
      .fetch("/api/v1/sessions/" + encodeURIComponent(stream.code), {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      })
      .then(
        function (response) {
          if (response.status === 404) sessionGone();
        },
        function () {} // no answer: the server is away; the next failed attempt asks again
      )
      .then(function () {
        stream.checking = false;
      });
  }

  function LiveSource(url) {
    var target = new EventTarget();
    target.url = url;
    target.readyState = 0;
    target.onopen = null;
    target.onerror = null; // never called: a renewal or a reconnection is no error
    target.close = function () {
      target.readyState = 2;
      if (stream.target !== target) return; // a sink replaced by a new one: that one runs
      stream.stopped = true;
      closeSource();
    };
    return target;
  }

  // The extension asks for the sink's stream through this hook (once per sink element).
  htmx.createEventSource = function (url) {
    if (stream.target) stream.target.close();
    var match = /\/s\/([^/?]+)\/live/.exec(url);
    stream.url = url;
    stream.code = match ? decodeURIComponent(match[1]) : null;
    stream.stopped = false;
    stream.target = LiveSource(url);
    connect();
    return stream.target;
  };

  window.addEventListener("online", function () {
    // The network is back (a room's Wi-Fi: everyone at once): try again soon, spread out.
    if (!active() || stream.opened) return;
    closeSource();
    stream.failures = 0;
    stream.retry = window.setTimeout(connect, between(DROPPED_RETRY_MS));
  });

  document.addEventListener("htmx:sseBeforeMessage", function (evt) {
    var data = evt.detail;
    if (!data || EVENTS.indexOf(data.type) < 0) return;
    evt.preventDefault(); // everything is applied here, not by the extension's swap
    if (gone) return;
    try {
      if (data.type === "update") {
        applyUpdate(data.data);
      } else if (data.type === "hello") {
        onHello(JSON.parse(data.data));
      } else if (data.type === "timer") {
        onTimer(JSON.parse(data.data));
      } else if (data.type === "phase") {
        onPhase(JSON.parse(data.data).phase);
      } else if (data.type === "reset") {
        onReset();
      }
    } catch (e) {
      if (window.console) window.console.error(e);
    }
  });

  function onHello(hello) {
    setOffset(hello.server_now);
    if (hello.timer) onTimer(hello.timer);
    onPhase(hello.phase);
  }

  /* ------------------------------------------------------ session deleted */

  function sessionGone() {
    if (gone) return;
    gone = true;
    closeSource();
    pending = {};
    window.clearInterval(pendingTimer);
    pendingTimer = null;
    timer = null;
    document.querySelectorAll("[data-timer]").forEach(function (el) {
      el.hidden = true;
    });
    var region = document.querySelector("[data-live-notices]");
    if (region) region.textContent = "";
    notice("deleted", message("sessionDeleted"), message("goToStart"), "/");
    report("gone");
  }

  /* ---------------------------------------------- hidden tabs, fallback */

  function pause() {
    if (!active()) return;
    paused = true;
    closeSource();
    report("paused"); // closed on purpose: no outage to show
  }

  function resume() {
    paused = false;
    stream.failures = 0;
    downSince = Date.now();
    if (active()) connect();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      window.clearTimeout(hiddenTimer);
      hiddenTimer = window.setTimeout(pause, HIDDEN_CLOSE_MS);
    } else {
      window.clearTimeout(hiddenTimer);
      if (paused) resume();
    }
  });

  // Without a stream (no EventSource, or none for a while) the regions poll instead.
  window.setInterval(function () {
    if (paused || gone || !sink()) return;
    if (window.EventSource && (downSince === null || Date.now() - downSince < POLL_AFTER_MS)) return;
    document.querySelectorAll("[data-live-poll]").forEach(function (el) {
      var every = (parseFloat(el.getAttribute("data-live-poll")) || 10) * 1000;
      if (Date.now() - (el._livePolled || 0) < every) return;
      el._livePolled = Date.now();
      htmx.trigger(el, "livepoll");
    });
  }, 1000);

  /* --------------------------------------------------------- phase, reset */

  function unsent() {
    var fields = document.querySelectorAll("textarea[data-keep-unsent]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value.trim()) return true;
    }
    return !!document.querySelector("[data-score-form] [data-score-dirty]:not([hidden])");
  }

  function reload() {
    window.location.reload();
  }

  // Someone typing keeps their text: the page offers the next step instead of reloading.
  function reloadUnlessUnsent(text) {
    if (unsent()) {
      var held = document.querySelector("[data-phase-notice]");
      if (held) {
        held.hidden = false;
      } else {
        notice("phase", text, message("showNextStep"), reload);
      }
      return;
    }
    // A room reloads together: spread it a little.
    window.setTimeout(reload, Math.random() * 1500);
  }

  function phaseName(phase) {
    return (config.phaseNames || {})[phase] || (config.phaseLabels || {})[phase] || phase;
  }

  function onPhase(phase) {
    var s = sink();
    if (!s || !phase || phase === s.getAttribute("data-live-phase")) return;
    var mode = s.getAttribute("data-live-on-phase");
    var text = message("phaseChanged", { phase: phaseName(phase) });
    if (mode === "reload") {
      reloadUnlessUnsent(text);
      return;
    }
    s.setAttribute("data-live-phase", phase);
    if (mode === "notice") notice("phase", text, message("reloadPage"), reload);
  }

  function onReset() {
    var s = sink();
    var mode = s ? s.getAttribute("data-live-on-phase") : "reload";
    if (mode === "notice") {
      notice("reset", message("updatesMissed"), message("reloadPage"), reload);
    } else {
      reloadUnlessUnsent(message("pageOutOfDate"));
    }
  }

  /* ------------------------------------------------------------ notices */

  // A notice with one action: a function for a button, or an address for a link.
  function notice(key, text, label, action) {
    var region = document.querySelector("[data-live-notices]");
    if (!region) return;
    var box = region.querySelector('[data-notice="' + key + '"]');
    if (!box) {
      box = document.createElement("div");
      box.className = "live-notice live-notice--" + key;
      box.setAttribute("data-notice", key);
      var p = document.createElement("p");
      p.className = "live-notice__text";
      var control = document.createElement(typeof action === "string" ? "a" : "button");
      control.className = "btn btn--secondary btn--small";
      if (typeof action === "string") {
        control.href = action;
      } else {
        control.type = "button";
        control.addEventListener("click", function () {
          action();
        });
      }
      box.append(p, control);
      region.appendChild(box);
    }
    box.querySelector("p").textContent = text;
    box.querySelector(".btn").textContent = label;
  }

  function clearNotice(key) {
    var box = document.querySelector('[data-live-notices] [data-notice="' + key + '"]');
    if (box) box.remove();
  }

  /* ------------------------------------------------------------- updates */

  // Each fragment's root carries htmx's out-of-band mark (app/live/fragments.py): "true"
  // (the element with the same id), "delete", or "afterbegin:#list" / "beforeend:#list"
  // (children for a list; one that is there already, by id, is updated in place).
  function applyUpdate(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    Array.prototype.slice.call(template.content.children).forEach(function (el) {
      var spec = el.getAttribute("hx-swap-oob") || "true";
      el.removeAttribute("hx-swap-oob");
      var colon = spec.indexOf(":");
      var style = colon > 0 ? spec.slice(0, colon) : spec;
      var target = colon > 0 ? document.querySelector(spec.slice(colon + 1)) : el.id && document.getElementById(el.id);
      if (!target) return; // not on this page (another challenge, another view)
      quiet(el);
      if (style === "delete") {
        delete pending[target.id];
        htmx.swap(target, "", { swapStyle: "delete" });
      } else if (style === "afterbegin" || style === "beforeend") {
        var children = Array.prototype.slice.call(el.children);
        if (style === "afterbegin") children.reverse();
        children.forEach(function (child) {
          var existing = child.id && document.getElementById(child.id);
          if (existing) {
            update(existing, child, false);
          } else {
            htmx.swap(target, child.outerHTML, { swapStyle: style });
          }
        });
      } else {
        update(target, el, false);
      }
    });
    tidyOthers();
    schedulePending();
  }

  // Live swaps never move focus (app.js focuses these after a swap when nothing has focus).
  function quiet(el) {
    [el].concat(Array.prototype.slice.call(el.querySelectorAll("[data-focus-after-swap], [autofocus]"))).forEach(
      function (node) {
        node.removeAttribute("data-focus-after-swap");
        node.removeAttribute("autofocus");
      }
    );
  }

  function dragging() {
    return !!document.querySelector(".sortable-chosen, .sortable-drag, .sortable-fallback");
  }

  function isField(node) {
    return node.matches("input, textarea, select");
  }

  function changedField(field) {
    var type = (field.type || "").toLowerCase();
    if (type === "hidden" || type === "submit" || type === "button") return false;
    if (type === "checkbox" || type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      var index = 0;
      for (var i = 0; i < field.options.length; i++) {
        if (field.options[i].defaultSelected) index = i;
      }
      return field.options.length > 0 && field.selectedIndex !== index;
    }
    return field.value !== field.defaultValue;
  }

  function dirty(el) {
    var fields = el.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      if (changedField(fields[i])) return true;
    }
    return isField(el) && changedField(el);
  }

  // Someone works in this region: typing or choosing in it, an edit form open in it, a note
  // selected in it, or a note being dragged anywhere.
  function busy(el) {
    if (dragging()) return true;
    var active = document.activeElement;
    if (
      active &&
      active !== document.body &&
      el.contains(active) &&
      active.matches("input:not([type=hidden]), textarea, select, summary, [contenteditable]")
    ) {
      return true;
    }
    if ((el.matches("details[open]") && el.querySelector("form")) || el.querySelector("details[open] form")) {
      return true;
    }
    if (el.matches('[aria-pressed="true"]') || el.querySelector('[data-note][aria-pressed="true"]')) return true;
    return dirty(el);
  }

  // The person's own request from this region is on its way: its answer redraws the region
  // (and places the focus). Updating now would pull the focused button away under them; the
  // update is checked again afterwards, quietly, and is usually the same by then.
  function inFlight(el) {
    return el.matches(".htmx-request") || !!el.querySelector(".htmx-request");
  }

  // What a person sees of a region: its text, ids and bar values; not what scripts add.
  function signature(el, skipParts) {
    var copy = el.cloneNode(true);
    copy.querySelectorAll(".char-counter, [aria-live], [role=status]").forEach(function (node) {
      node.remove();
    });
    if (skipParts) {
      parts(copy).forEach(function (node) {
        node.replaceWith(document.createTextNode("#" + node.id));
      });
    }
    var ids = Array.prototype.map.call(copy.querySelectorAll("[id]"), function (node) {
      return node.id;
    });
    var values = Array.prototype.map.call(copy.querySelectorAll("[data-fill], [value], [checked], [aria-current]"), function (node) {
      return [node.getAttribute("data-fill"), node.getAttribute("value"), node.hasAttribute("checked"), node.getAttribute("aria-current")].join(",");
    });
    return [copy.textContent.replace(/\s+/g, " ").trim(), ids.join(" "), values.join(" ")].join("|");
  }

  // The sub-regions of a region: its outermost descendants that have an id.
  function parts(el) {
    return Array.prototype.filter.call(el.querySelectorAll("[id]"), function (node) {
      var holder = node.parentElement && node.parentElement.closest("[id]");
      return holder === el || (!holder && el.contains(node));
    });
  }

  // A busy region may still be updated part by part when only its parts changed: the same
  // parts, in the same order, and the same text around them.
  function samePartsOnly(old, fresh) {
    var a = parts(old);
    var b = parts(fresh);
    return (
      b.length > 0 &&
      a.length === b.length &&
      a.every(function (node, i) {
        return node.id === b[i].id;
      }) &&
      signature(old, true) === signature(fresh, true)
    );
  }

  function forgetInside(el) {
    Object.keys(pending).forEach(function (id) {
      if (el.id !== id && el.querySelector("#" + CSS.escape(id))) delete pending[id];
    });
  }

  function hold(id, fresh, loud) {
    forgetInside(fresh);
    pending[id] = fresh.cloneNode(true);
    if (!loud) return;
    notice("paused", message("updatesHeld"), message("showUpdatesNow"), function () {
      flushPending(true);
    });
  }

  // Idiomorph asks before it changes an element; every element with an id is a region that
  // may have to wait. `force`: the person asked to see the update now (nothing typed is lost).
  function guard(force) {
    var free = null; // a region found free: nobody works anywhere inside it
    return function (old, fresh) {
      if (old.nodeType !== 1) return true;
      if (free && free.contains(old)) return true;
      // What someone typed or chose and did not send stays, whatever else changes.
      if (isField(old) && changedField(old)) return false;
      var id = old.getAttribute("id");
      if (!id || !old.isConnected) return true;
      if (signature(old) === signature(fresh)) {
        delete pending[id];
        return false;
      }
      if (!force && inFlight(old)) {
        hold(id, fresh, false);
        return false;
      }
      if (force || !busy(old)) {
        delete pending[id];
        forgetInside(fresh);
        if (!free || !old.contains(free)) free = old;
        return true;
      }
      if (samePartsOnly(old, fresh)) {
        delete pending[id];
        return true; // its parts are asked for one by one
      }
      hold(id, fresh, true);
      return false;
    };
  }

  // Where the focus was, to find it again when the focused element was redrawn elsewhere
  // (a note moved to another column keeps the focus).
  function focusKey(target) {
    var active = document.activeElement;
    if (!active || active === document.body || !target.contains(active)) return null;
    if (active.id) return "#" + CSS.escape(active.id);
    var note = active.getAttribute("data-contribution-id");
    return note ? '[data-contribution-id="' + CSS.escape(note) + '"]' : null;
  }

  function update(target, fresh, force) {
    var id = target.id;
    var key = focusKey(target);
    // What the morph changed, read synchronously: nothing changed, nothing to set up again.
    var watcher = new MutationObserver(function () {});
    watcher.observe(target.parentNode, { subtree: true, childList: true, attributes: true, characterData: true });
    Idiomorph.morph(target, fresh, {
      morphStyle: "outerHTML",
      ignoreActiveValue: true,
      callbacks: {
        beforeNodeMorphed: guard(force),
        // Open <details> stay open: the person opened them.
        beforeAttributeUpdated: function (name, node, change) {
          return !(name === "open" && change === "remove" && node.tagName === "DETAILS");
        },
      },
    });
    var changed = watcher.takeRecords().length > 0;
    watcher.disconnect();
    var now = (id && document.getElementById(id)) || (target.isConnected ? target : null);
    if (!now || !changed) return; // the same as shown, or held back whole
    // New content gets its htmx behaviour, then what every swap gets (app.js, board.js …).
    htmx.process(now);
    htmx.trigger(now, "htmx:load");
    var active = document.activeElement;
    if (key && (!active || active === document.body)) {
      var found = document.querySelector(key);
      if (found) found.focus({ preventScroll: true });
    }
  }

  var pendingTimer = null;

  function schedulePending() {
    if (pendingTimer || !Object.keys(pending).length) return;
    pendingTimer = window.setInterval(function () {
      flushPending(false);
    }, 1000);
  }

  function flushPending(force) {
    Object.keys(pending).forEach(function (id) {
      var fresh = pending[id];
      var target = document.getElementById(id);
      delete pending[id];
      if (!target || !fresh) return;
      update(target, fresh, force && !dirty(target));
    });
    if (!Object.keys(pending).length) {
      window.clearInterval(pendingTimer);
      pendingTimer = null;
      clearNotice("paused");
    }
    tidyOthers();
  }

  // A swap the person asked for redraws the region from the server: anything waiting in it
  // is older.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var detail = evt.detail || {};
    if (!detail.requestConfig || !detail.target) return;
    var target = detail.target.isConnected ? detail.target : document.getElementById(detail.target.id);
    Object.keys(pending).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || (target && (target === el || target.contains(el)))) delete pending[id];
    });
    if (!Object.keys(pending).length) clearNotice("paused");
  });

  /* "What others wrote": shared notes arrive for everyone; a participant's own ones are in
     their own list already, so they leave this one. */
  function tidyOthers() {
    document.querySelectorAll('[id^="others-list-"]').forEach(function (list) {
      list.querySelectorAll('[id^="other-"]').forEach(function (note) {
        if (document.getElementById("contribution-" + note.id.slice(6))) note.remove();
      });
      var count = list.children.length;
      list.hidden = count === 0;
      var section = list.closest("section") || list.parentElement;
      section.querySelectorAll("[data-live-count]").forEach(function (el) {
        el.textContent = String(count);
      });
      section.querySelectorAll("[data-live-empty]").forEach(function (el) {
        el.hidden = count > 0;
      });
    });
  }

  /* --------------------------------------------------------------- timer */

  function setOffset(serverNow) {
    var at = Date.parse(serverNow || "");
    if (!isNaN(at)) offset = at - Date.now();
  }

  function onTimer(data) {
    if (!data) return;
    if (data.server_now) setOffset(data.server_now);
    var endsAt = data.ends_at ? Date.parse(data.ends_at) : NaN;
    timer = {
      state: data.state || "idle",
      endsAt: isNaN(endsAt) ? null : endsAt,
      remaining: parseFloat(data.remaining) || 0,
    };
    lastLeft = null;
    tick();
  }

  function fromElement(el) {
    onTimer({
      state: el.getAttribute("data-state"),
      ends_at: el.getAttribute("data-ends-at"),
      remaining: el.getAttribute("data-remaining"),
      server_now: el.getAttribute("data-server-now"),
    });
  }

  function secondsLeft() {
    if (!timer) return 0;
    if (timer.state === "running" && timer.endsAt !== null) {
      return (timer.endsAt - (Date.now() + offset)) / 1000;
    }
    return timer.state === "paused" ? timer.remaining : 0;
  }

  function clock(seconds) {
    var total = Math.max(0, Math.ceil(seconds - 1e-9));
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    var ss = (s < 10 ? "0" : "") + s;
    if (h) return h + ":" + (m < 10 ? "0" : "") + m + ":" + ss;
    return m + ":" + ss;
  }

  function announce(text) {
    var region = document.querySelector("[data-timer-announce]");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = text;
    }, 60);
  }

  var STATE_TEXT = { paused: "timerPaused", expired: "timerExpired", idle: "timerIdle" };

  function stateText(state) {
    return STATE_TEXT[state] ? message(STATE_TEXT[state]) : "";
  }

  function tick() {
    if (!timer) return;
    var left = secondsLeft();
    var state = timer.state;
    if (state === "running" && left <= 0) {
      state = "expired";
      left = 0;
    }
    var text = clock(left);
    var label = stateText(state);
    document.querySelectorAll("[data-timer]").forEach(function (el) {
      el.hidden = state === "idle" && !el.classList.contains("live-timer--large");
      if (el.getAttribute("data-state") !== state) el.setAttribute("data-state", state);
      var value = el.querySelector("[data-timer-value]");
      if (value && value.textContent !== text) value.textContent = text;
      var shown = el.querySelector("[data-timer-state-text]");
      if (shown && shown.textContent !== label) shown.textContent = label;
    });
    document.querySelectorAll("[data-timer-when]").forEach(function (el) {
      el.hidden = el.getAttribute("data-timer-when").split(" ").indexOf(state) < 0;
    });
    var start = message(state === "running" || state === "paused" ? "timerRestart" : "timerStart");
    document.querySelectorAll("[data-timer-start]").forEach(function (el) {
      if (el.textContent !== start) el.textContent = start;
    });
    if (timer.state === "running" && lastLeft !== null) {
      if (lastLeft > 60 && left <= 60 && left > 0) announce(message("timerOneMinute"));
      if (lastLeft > 0 && left <= 0) announce(message("timerExpired"));
    }
    lastLeft = timer.state === "running" ? left : null;
  }

  window.setInterval(tick, 250);

  /* ---------------------------------------------------------------- init */

  htmx.onLoad(function (root) {
    if (!root || !root.querySelector) return;
    // A timer rendered by the server just now (the page, the dashboard's timer card).
    var fresh = root.matches && root.matches("[data-timer]") ? root : root.querySelector("[data-timer]");
    if (fresh) fromElement(fresh);
    if (root === document.body) tidyOthers();
  });
})();
