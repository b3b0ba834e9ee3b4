/*
 * The projector: a presentation that never scrolls.
 *
 *   [data-fit-list]     -> shows the first items that fit whole (newest notes first); the
 *                          rest are hidden until the screen has room again
 *   [data-fit-line]     -> one line, its font made smaller until it fits (join code, URL)
 *   [data-slide]        -> one results page at a time: on-screen arrows ([data-slide-go]),
 *                          ← → PageUp PageDown (presentation clickers), Home, End. The page
 *                          shown stays shown when live updates redraw the view.
 *
 * Without JavaScript the arrows are links (?slide=N) and the lists are cut by CSS.
 */
(function () {
  "use strict";

  var currentKey = null;

  // --- lists that show what fits ------------------------------------------------------------

  function fitList(list) {
    var items = Array.prototype.slice.call(list.children);
    items.forEach(function (item) {
      item.hidden = false;
    });
    var bottom = list.getBoundingClientRect().bottom + 0.5;
    var full = false;
    items.forEach(function (item) {
      if (!full && item.getBoundingClientRect().bottom > bottom) full = true;
      if (full) item.hidden = true;
    });
  }

  function fitLine(el) {
    el.style.fontSize = "";
    var size = parseFloat(getComputedStyle(el).fontSize);
    var guard = 40;
    while (el.scrollWidth > el.clientWidth + 0.5 && size > 8 && guard-- > 0) {
      size = size * 0.94;
      el.style.fontSize = size + "px";
    }
  }

  function fit(root) {
    (root || document).querySelectorAll("[data-fit-line]").forEach(fitLine);
    (root || document).querySelectorAll("[data-fit-list]").forEach(fitList);
  }

  // --- results, a page at a time -------------------------------------------------------------

  function slides() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-slide]"));
  }

  function shownIndex(all) {
    for (var i = 0; i < all.length; i++) {
      if (!all[i].hidden) return i;
    }
    return 0;
  }

  function show(index, moveFocus) {
    var all = slides();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, index));
    var hadFocus = document.activeElement && document.activeElement.closest("[data-slide]");
    all.forEach(function (slide, i) {
      slide.hidden = i !== index;
    });
    currentKey = all[index].getAttribute("data-slide");
    if (window.history && history.replaceState) {
      var url = new URL(window.location.href);
      url.searchParams.set("slide", String(index + 1));
      history.replaceState(history.state, "", url.toString());
    }
    if (hadFocus || moveFocus) {
      var target =
        all[index].querySelector('[data-slide-go="' + moveFocus + '"]') ||
        all[index].querySelector("[data-slide-go]");
      if (target) target.focus({ preventScroll: true });
    }
    fit(all[index]);
  }

  function go(step) {
    var all = slides();
    if (all.length) show(shownIndex(all) + step, step);
  }

  // After a live update the server's first page is marked as shown: go back to ours.
  function restore() {
    var all = slides();
    if (!all.length) return;
    var index = -1;
    if (currentKey !== null) {
      for (var i = 0; i < all.length; i++) {
        if (all[i].getAttribute("data-slide") === currentKey) index = i;
      }
    }
    if (index < 0) index = shownIndex(all);
    show(index, 0);
  }

  document.addEventListener("click", function (evt) {
    var link = evt.target.closest("[data-slide-go]");
    if (!link || evt.ctrlKey || evt.metaKey || evt.shiftKey || evt.button !== 0) return;
    evt.preventDefault();
    go(parseInt(link.getAttribute("data-slide-go"), 10) || 1);
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.altKey || evt.ctrlKey || evt.metaKey || evt.defaultPrevented) return;
    if (evt.target.closest && evt.target.closest("input, textarea, select, [contenteditable]")) return;
    var all = slides();
    if (!all.length) return;
    var steps = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 };
    var ends = { Home: 0, End: all.length - 1 };
    if (evt.key in steps) {
      evt.preventDefault();
      go(steps[evt.key]);
    } else if (evt.key in ends) {
      evt.preventDefault();
      show(ends[evt.key], 0);
    }
  });

  document.addEventListener("htmx:load", function (evt) {
    var el = evt.target;
    if (!el || !el.querySelector) return;
    if (el.id === "projector-body" || el.querySelector("#projector-body")) {
      restore();
      fit(el);
    }
  });

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      fit(document);
    }, 100);
  });

  function start() {
    restore();
    fit(document);
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(function () { fit(document); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
