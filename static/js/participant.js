/*
 * Participant page behaviours (besides app.js):
 *
 *   [data-phase-watch]    -> the phase poll's reload waits while unsent text is on screen;
 *                            a notice with a link is shown instead
 *   [data-resave-draft]   -> text sent back after a refused submit is kept as a draft again
 *   [data-score-form]     -> saves by itself as soon as relevance and level are both chosen
 *                            (no button: the plain form's button is hidden). A first score
 *                            completed by a tap or Enter goes on to the next one; a change,
 *                            or a choice made with the arrow keys, is saved in place (after a
 *                            short pause for arrow keys, which pass over every option)
 *   [data-send-shortcut]  -> Ctrl+Enter (Cmd+Enter) sends the field's form
 *   [data-retry-offline]  -> a form whose request got no answer (no connection) keeps its text,
 *                            says so, and is sent again by itself — same fields, so the same
 *                            client_id and the server stores it once — after 1, 2, 4 … 30 s
 *                            and at once when the browser is back online, until it is answered;
 *                            then it says "Saved"
 */
(function () {
  "use strict";

  function message(key) {
    return window.PolicyLab.message(key);
  }

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

  /* ------------------------------------------------------------ sending */

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter" || !(evt.ctrlKey || evt.metaKey)) return;
    var field = evt.target.closest && evt.target.closest("textarea[data-send-shortcut]");
    if (!field || !field.form) return;
    evt.preventDefault();
    if (field.form.requestSubmit) {
      field.form.requestSubmit();
    } else {
      window.htmx.trigger(field.form, "submit");
    }
  });

  /* ------------------------------------------------------------ scoring */

  var KEYBOARD_SAVE_MS = 900;

  function chosen(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function showDirty(form, needs) {
    var dirty = form.querySelector("[data-score-dirty]");
    if (!dirty) return;
    dirty.hidden = needs === null;
    dirty.querySelectorAll("[data-needs]").forEach(function (el) {
      el.hidden = el.getAttribute("data-needs") !== needs;
    });
  }

  function saveScore(form, advance) {
    window.clearTimeout(form._scoreTimer);
    var field = form.querySelector("[data-score-advance]");
    if (field) field.value = advance ? "1" : "0";
    showDirty(form, "");
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      window.htmx.trigger(form, "submit");
    }
  }

  // What is chosen now decides: one of the two -> say which is missing; both -> save.
  function scoreChanged(form, byKeyboard) {
    var relevance = chosen(form, "relevance");
    var level = chosen(form, "policy_level");
    if (!relevance || !level) {
      showDirty(form, relevance ? "policy_level" : "relevance");
      return;
    }
    var first = form.getAttribute("data-scored") !== "true";
    window.clearTimeout(form._scoreTimer);
    if (byKeyboard) {
      showDirty(form, "");
      form._scoreTimer = window.setTimeout(function () {
        if (form.isConnected) saveScore(form, false);
      }, KEYBOARD_SAVE_MS);
      return;
    }
    saveScore(form, first);
  }

  function scoreForm(el) {
    return el && el.closest ? el.closest("form[data-score-form]") : null;
  }

  document.addEventListener("keydown", function (evt) {
    var form = scoreForm(evt.target);
    if (!form || !evt.target.matches("input[type=radio]")) return;
    if (evt.key === "Enter") {
      evt.preventDefault();
      if (chosen(form, "relevance") && chosen(form, "policy_level")) {
        saveScore(form, form.getAttribute("data-scored") !== "true");
      }
      return;
    }
    form._keyAt = Date.now();
  });

  document.addEventListener("change", function (evt) {
    var form = scoreForm(evt.target);
    if (!form) return;
    scoreChanged(form, Date.now() - (form._keyAt || 0) < 500);
  });

  // A score saved in place: what is chosen is what is saved now (live updates may redraw it).
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = scoreForm(evt.detail && evt.detail.elt);
    if (!form || !evt.detail.successful || !form.isConnected) return;
    form.setAttribute("data-scored", "true");
    form.querySelectorAll("input[type=radio]").forEach(function (input) {
      input.defaultChecked = input.checked;
    });
    showDirty(form, null);
  });

  function initScoring(root) {
    var forms = Array.prototype.slice.call(root.querySelectorAll("form[data-score-form]"));
    if (root.matches && root.matches("form[data-score-form]")) forms.push(root);
    forms.forEach(function (form) {
      form.querySelectorAll("[data-score-submit]").forEach(function (el) {
        el.hidden = true;
      });
    });
  }

  /* ---------------------------------- sending again after a lost connection */

  var RETRY_FIRST_MS = 1000;
  var RETRY_MAX_MS = 30000;
  var savedAfterRetry = false;

  function retryForm(elt) {
    return elt && elt.closest ? elt.closest("form[data-retry-offline]") : null;
  }

  function requestForm(detail) {
    var config = detail && detail.requestConfig;
    return retryForm((config && config.elt) || (detail && detail.elt));
  }

  // The polite region exists before anything is said in it, so screen readers announce it.
  function retryRegion(form) {
    var region = form.querySelector("[data-retry-status]");
    if (!region) {
      region = document.createElement("div");
      region.className = "retry-status";
      region.setAttribute("data-retry-status", "");
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      form.appendChild(region);
    }
    return region;
  }

  function say(form, level, text) {
    var region = retryRegion(form);
    if (region.getAttribute("data-said") === text) return; // said once, not at every try
    region.setAttribute("data-said", text);
    region.textContent = "";
    var box = document.createElement("div");
    box.className = "flash flash--" + level;
    var icon = document.createElement("span");
    icon.className = "status-icon";
    icon.setAttribute("aria-hidden", "true");
    var words = document.createElement("p");
    words.className = "flash__text";
    words.textContent = text;
    box.append(icon, words);
    window.setTimeout(function () {
      region.appendChild(box);
    }, 50);
  }

  function resend(form) {
    if (!form.isConnected || !form._retry) return;
    window.clearTimeout(form._retry.timer);
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      window.htmx.trigger(form, "submit");
    }
  }

  document.addEventListener("htmx:sendError", function (evt) {
    var form = requestForm(evt.detail);
    if (!form) return;
    var retry = form._retry || (form._retry = { delay: RETRY_FIRST_MS, timer: null });
    window.clearTimeout(retry.timer);
    retry.timer = window.setTimeout(function () {
      resend(form);
    }, retry.delay);
    retry.delay = Math.min(retry.delay * 2, RETRY_MAX_MS);
    say(form, "warning", message("notSentOffline"));
  });

  // A press on Send while a retry waits is that retry.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = requestForm(evt.detail);
    if (form && form._retry) window.clearTimeout(form._retry.timer);
  });

  // Any answer ends the retrying: 2xx swaps in a fresh form, a refusal shows its message.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = requestForm(evt.detail);
    var xhr = evt.detail && evt.detail.xhr;
    if (!form || !form._retry || !xhr || !xhr.status) return;
    window.clearTimeout(form._retry.timer);
    savedAfterRetry = !!evt.detail.successful;
    form._retry = null;
  });

  window.addEventListener("online", function () {
    document.querySelectorAll("form[data-retry-offline]").forEach(function (form) {
      if (form._retry) resend(form);
    });
  });

  function initRetry(root) {
    var forms = Array.prototype.slice.call(root.querySelectorAll("form[data-retry-offline]"));
    if (root.matches && root.matches("form[data-retry-offline]")) forms.push(root);
    forms.forEach(function (form) {
      retryRegion(form);
      if (savedAfterRetry) {
        savedAfterRetry = false;
        say(form, "success", message("savedAfterRetry"));
      }
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(initRetry);
    window.htmx.onLoad(init);
    window.htmx.onLoad(initScoring);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  }
})();
