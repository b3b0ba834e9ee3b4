/*
 * Participant page behaviours (besides app.js):
 *
 *   [data-phase-watch]    -> the phase poll's reload waits while unsent text is on screen;
 *                            a notice with a link is shown instead
 *   [data-resave-draft]   -> text sent back after a refused submit is kept as a draft again
 *   [data-score-form]     -> says "changed, not saved yet" once a saved score is changed
 */
(function () {
  "use strict";

  function unsentText() {
    var fields = document.querySelectorAll("textarea[data-keep-unsent]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value.trim()) return true;
    }
    return false;
  }

  // HX-Refresh reloads the page when the facilitator changes the phase. Someone typing would
  // lose the text on screen, so hold the reload back and offer a link instead.
  document.addEventListener("htmx:beforeOnLoad", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || !elt.matches || !elt.matches("[data-phase-watch]")) return;
    var xhr = evt.detail.xhr;
    if (!xhr || xhr.getResponseHeader("HX-Refresh") !== "true") return;
    if (!unsentText()) return;
    evt.preventDefault();
    var notice = elt.querySelector("[data-phase-notice]");
    if (notice && notice.hidden) notice.hidden = false;
  });

  function init(root) {
    if (!root || !root.querySelectorAll) return;
    // app.js drops a draft once the server answered 2xx; a re-rendered form that was refused
    // (422/409/413) still holds unsent text, so store it again.
    root.querySelectorAll("textarea[data-draft][data-resave-draft]").forEach(function (field) {
      if (field.value) field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  document.addEventListener("change", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-score-form]");
    if (!form) return;
    var dirty = form.querySelector("[data-score-dirty]");
    if (dirty) dirty.hidden = false;
  });

  if (window.htmx) {
    window.htmx.onLoad(init);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  }
})();
