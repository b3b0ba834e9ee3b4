/*
 * Policy Lab page behaviours. No framework, no inline handlers, no eval:
 * everything is wired through data attributes and htmx events so pages work
 * under Content-Security-Policy script-src 'self'; style-src 'self'.
 *
 *   showToast event (HX-Trigger)   -> toast in #toasts, never over the control just used
 *   [data-copy] / [data-copy-target] -> copy to clipboard, "Copied"
 *   [data-counter] on [maxlength]  -> characters-left counter (polite, throttled)
 *   [data-confirm]                 -> native <dialog> confirmation before click/submit
 *   [data-draft="key"]             -> keeps unsent text in localStorage
 *   [data-live-indicator]          -> the page's connection state (stream from live.js), shown
 *                                     after a real outage of a few seconds, not a blip
 *   [data-fill="0..100"]           -> sets --fill for .bar (no inline styles)
 *   [autofocus] / [data-focus-after-swap] in swapped content -> focused
 *
 * Every word shown comes from the page's #policylab-config block (app/vocabulary.py):
 * PolicyLab.message(key, values) fills its {name} placeholders from values.name.
 */
(function () {
  "use strict";

  var TOAST_LIMIT = 3;
  var TOAST_MS = { success: 5000, info: 6000, error: 10000 };

  /* ------------------------------------------------------------ words */

  function readConfig() {
    var block = document.getElementById("policylab-config");
    try {
      return (block && JSON.parse(block.textContent)) || {};
    } catch (e) {
      return {};
    }
  }

  var config = readConfig();

  // A message by key, with its {name} placeholders filled from `values`. A missing key shows
  // the key itself: visible in a test, never a blank.
  function message(key, values) {
    var forms = (config.plurals || {})[key];
    var text = forms && values && typeof values.count === "number"
      ? pluralForm(forms, values.count)
      : (config.messages || {})[key];
    if (typeof text !== "string") return key;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  // A message with a count in the plural form the page's language uses for it: the server
  // sends every form by CLDR category (app/vocabulary.py CLIENT_PLURALS).
  function pluralForm(forms, count) {
    var category = null;
    try {
      category = new Intl.PluralRules(config.pluralLocale || undefined).select(count);
    } catch (e) {
      category = null;
    }
    return forms[category] || forms.other;
  }

  /* ------------------------------------------------------------ toasts */

  function toastRegion() {
    var region = document.getElementById("toasts");
    if (!region) {
      region = document.createElement("div");
      region.id = "toasts";
      region.className = "toasts";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    return region;
  }

  // A toast never covers the control someone just used (the Copy button at the foot of a
  // phone's screen, say): when it would, the toasts move to the other edge of the screen.
  var lastUsed = null;
  ["pointerdown", "focusin"].forEach(function (type) {
    document.addEventListener(
      type,
      function (evt) {
        if (evt.target && evt.target.closest && !evt.target.closest(".toasts")) lastUsed = evt.target;
      },
      true
    );
  });

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  function keepClear(region) {
    var used = lastUsed && lastUsed.isConnected ? lastUsed : null;
    if (!used) return;
    var control = used.closest("button, a, input, select, textarea, summary, label") || used;
    var spot = control.getBoundingClientRect();
    if (spot.width === 0 && spot.height === 0) return;
    region.classList.remove("toasts--top");
    if (overlaps(region.getBoundingClientRect(), spot)) region.classList.add("toasts--top");
  }

  function dismissToast(toast) {
    if (!toast.isConnected || toast.classList.contains("is-leaving")) return;
    toast.classList.add("is-leaving");
    window.setTimeout(function () {
      toast.remove();
    }, 220);
  }

  function showToast(text, level) {
    if (!text) return;
    level = ["success", "error", "info"].indexOf(level) >= 0 ? level : "info";
    var region = toastRegion();

    var toast = document.createElement("div");
    toast.className = "toast toast--" + level;

    var icon = document.createElement("span");
    icon.className = "status-icon";
    icon.setAttribute("aria-hidden", "true");

    var body = document.createElement("p");
    body.className = "toast__message";
    body.textContent = text;

    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast__close";
    close.setAttribute("aria-label", message("dismissMessage"));
    close.textContent = "\u00d7";
    close.addEventListener("click", function () {
      dismissToast(toast);
    });

    toast.append(icon, body, close);
    region.appendChild(toast);
    while (region.children.length > TOAST_LIMIT) region.firstElementChild.remove();
    keepClear(region);

    // Pause the timer while the pointer or focus is on the toast.
    var timer = null;
    function arm() {
      timer = window.setTimeout(function () {
        dismissToast(toast);
      }, TOAST_MS[level]);
    }
    function disarm() {
      window.clearTimeout(timer);
    }
    toast.addEventListener("mouseenter", disarm);
    toast.addEventListener("mouseleave", arm);
    toast.addEventListener("focusin", disarm);
    toast.addEventListener("focusout", arm);
    arm();
    return toast;
  }

  // HX-Trigger: {"showToast": {"message": "...", "level": "success|error|info"}}
  document.addEventListener("showToast", function (evt) {
    var detail = evt.detail || {};
    if (typeof detail.value === "string") detail = { message: detail.value };
    showToast(detail.message, detail.level);
  });

  function responseHasToast(xhr) {
    var header = xhr && xhr.getResponseHeader && xhr.getResponseHeader("HX-Trigger");
    return !!header && header.indexOf("showToast") >= 0;
  }

  document.addEventListener("htmx:responseError", function (evt) {
    if (responseHasToast(evt.detail.xhr)) return;
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    var key =
      status === 409
        ? "errorWrongPhase"
        : status === 403 || status === 401
          ? "errorForbidden"
          : status === 429
            ? "errorTooManyRequests"
            : "errorGeneric";
    showToast(message(key), "error");
  });

  document.addEventListener("htmx:sendError", function (evt) {
    var detail = evt.detail || {};
    var elt = (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
    // Forms that send again by themselves say so next to the form (participant.js).
    if (elt && elt.closest && elt.closest("[data-retry-offline]")) return;
    // A background poll failing every few seconds would flood the toasts; the live
    // indicator already says the connection is down.
    if (!byUser(detail)) return;
    showToast(message("errorOffline"), "error");
  });

  /* --------------------------------------------------------- clipboard */

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http venues: fall back to a hidden textarea and execCommand.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      area.remove();
      if (ok) {
        resolve();
      } else {
        reject(new Error("copy"));
      }
    });
  }

  function copySource(button) {
    if (button.hasAttribute("data-copy")) return button.getAttribute("data-copy");
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target) return "";
    return "value" in target && typeof target.value === "string" ? target.value : target.textContent.trim();
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-copy], [data-copy-target]");
    if (!button) return;
    evt.preventDefault();
    var text = copySource(button);
    if (!text) return;
    copyText(text).then(
      function () {
        var label = button.querySelector(".btn__label") || button;
        if (!button.hasAttribute("data-copy-original")) {
          button.setAttribute("data-copy-original", label.textContent);
        }
        label.textContent = message("copied");
        button.setAttribute("data-copied", "");
        showToast(message("copiedToClipboard"), "success");
        window.setTimeout(function () {
          label.textContent = button.getAttribute("data-copy-original");
          button.removeAttribute("data-copy-original");
          button.removeAttribute("data-copied");
        }, 2000);
      },
      function () {
        showToast(message("copyFailed"), "error");
      }
    );
  });

  /* -------------------------------------------------- character counters */

  function counterFor(field) {
    var selector = field.getAttribute("data-counter");
    var counter = selector ? document.querySelector(selector) : null;
    if (!counter) {
      counter = document.createElement("p");
      counter.className = "char-counter";
      counter.id = (field.id || field.name || "field") + "-counter";
      field.insertAdjacentElement("afterend", counter);
    }
    return counter;
  }

  function setupCounter(field) {
    if (field.hasAttribute("data-counter-ready")) return;
    // data-maxlength: a limit the server enforces, without maxlength cutting a long paste.
    var max = parseInt(field.getAttribute("maxlength") || field.getAttribute("data-maxlength"), 10);
    if (!max) return;
    field.setAttribute("data-counter-ready", "");

    var counter = counterFor(field);
    // The visible counter updates at once; a separate polite live region speaks
    // only after typing pauses, so screen readers are not flooded per keystroke.
    var live = document.createElement("span");
    live.className = "visually-hidden";
    live.setAttribute("aria-live", "polite");
    counter.insertAdjacentElement("afterend", live);

    var visible = document.createElement("span");
    visible.setAttribute("aria-hidden", "true");
    var spoken = document.createElement("span");
    spoken.className = "visually-hidden";
    counter.textContent = "";
    counter.append(visible, spoken);

    var timer = null;
    function text(left) {
      if (left < 0) return message("charactersTooMany", { count: -left, max: max });
      return message("charactersLeft", { count: left });
    }
    function update(announce) {
      var left = max - field.value.length;
      counter.setAttribute("data-state", left <= 0 ? "full" : left <= max * 0.1 ? "near" : "ok");
      visible.textContent = message("charactersUsed", { used: field.value.length, max: max });
      if (left < 0) visible.textContent += " — " + text(left);
      spoken.textContent = text(left);
      if (!announce) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        live.textContent = text(left);
      }, 1000);
    }
    // A live redraw (idiomorph) keeps the field but not what this script added around it:
    // it is set up again, and the one listener calls the newest counter.
    field._counterUpdate = update;
    if (!field._counterListening) {
      field._counterListening = true;
      field.addEventListener("input", function () {
        field._counterUpdate(true);
      });
    }
    update(false);
  }

  /* ----------------------------------------------------- confirmations */

  var confirmDialog = null;

  function buildConfirmDialog() {
    var dialog = document.createElement("dialog");
    dialog.className = "dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-body");
    var form = document.createElement("form");
    form.method = "dialog";
    var title = document.createElement("h2");
    title.className = "dialog__title";
    title.id = "confirm-dialog-title";
    var body = document.createElement("p");
    body.className = "dialog__body";
    body.id = "confirm-dialog-body";
    var actions = document.createElement("div");
    actions.className = "dialog__actions";
    var cancel = document.createElement("button");
    cancel.className = "btn btn--secondary";
    cancel.value = "cancel";
    cancel.autofocus = true;
    cancel.textContent = message("confirmCancel");
    var ok = document.createElement("button");
    ok.className = "btn btn--primary";
    ok.value = "ok";
    ok.setAttribute("data-confirm-ok", "");
    actions.append(cancel, ok);
    form.append(title, body, actions);
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    return dialog;
  }

  function askConfirmation(source, onConfirm) {
    var question = source.getAttribute("data-confirm");
    if (typeof HTMLDialogElement !== "function") {
      if (window.confirm(question)) onConfirm();
      return;
    }
    confirmDialog = confirmDialog || buildConfirmDialog();
    var dialog = confirmDialog;
    var ok = dialog.querySelector("[data-confirm-ok]");
    var danger =
      source.getAttribute("data-confirm-kind") === "danger" ||
      source.classList.contains("btn--danger");
    dialog.querySelector(".dialog__title").textContent =
      source.getAttribute("data-confirm-title") || message("confirmTitle");
    dialog.querySelector(".dialog__body").textContent = question;
    ok.textContent = source.getAttribute("data-confirm-label") || message("confirmOk");
    ok.className = "btn " + (danger ? "btn--danger" : "btn--primary");
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      function () {
        if (dialog.returnValue === "ok") {
          onConfirm();
        } else if (source.isConnected) {
          source.focus();
        }
      },
      { once: true }
    );
    dialog.showModal();
  }

  // Capture phase: runs before htmx's own listeners on the element.
  document.addEventListener(
    "click",
    function (evt) {
      var source = evt.target.closest("[data-confirm]");
      if (!source || source.tagName === "FORM") return;
      if (source.hasAttribute("data-confirmed")) {
        source.removeAttribute("data-confirmed");
        return;
      }
      evt.preventDefault();
      evt.stopImmediatePropagation();
      askConfirmation(source, function () {
        source.setAttribute("data-confirmed", "");
        source.click();
      });
    },
    true
  );

  document.addEventListener(
    "submit",
    function (evt) {
      var form = evt.target;
      if (!form.hasAttribute || !form.hasAttribute("data-confirm")) return;
      if (form.hasAttribute("data-confirmed")) {
        form.removeAttribute("data-confirmed");
        return;
      }
      evt.preventDefault();
      evt.stopImmediatePropagation();
      var submitter = evt.submitter || null;
      askConfirmation(form, function () {
        form.setAttribute("data-confirmed", "");
        if (form.requestSubmit) {
          form.requestSubmit(submitter);
        } else {
          form.submit();
        }
      });
    },
    true
  );

  /* ------------------------------------------------------------- drafts */

  function draftKey(field) {
    return "policylab:draft:" + field.getAttribute("data-draft");
  }

  function setupDraft(field) {
    if (field.hasAttribute("data-draft-ready")) return;
    field.setAttribute("data-draft-ready", "");
    var key = draftKey(field);
    try {
      var saved = window.localStorage.getItem(key);
      if (saved && !field.value) {
        field.value = saved;
        field.dispatchEvent(new Event("input", { bubbles: true }));
      }
    } catch (e) {
      return; // storage blocked: nothing to restore or keep
    }
    if (field._draftListening) return; // the same field, set up again after a live redraw
    field._draftListening = true;
    field.addEventListener("input", function () {
      window.clearTimeout(field._draftTimer);
      field._draftTimer = window.setTimeout(function () {
        try {
          if (field.value) {
            window.localStorage.setItem(key, field.value);
          } else {
            window.localStorage.removeItem(key);
          }
        } catch (e) {
          /* quota or privacy mode: the field itself still holds the text */
        }
      }, 300);
    });
  }

  function clearDrafts(form) {
    if (!form || !form.querySelectorAll) return;
    form.querySelectorAll("[data-draft]").forEach(function (field) {
      // A save still pending from the last keystrokes would bring the sent text back.
      window.clearTimeout(field._draftTimer);
      try {
        window.localStorage.removeItem(draftKey(field));
      } catch (e) {
        /* ignore */
      }
    });
  }

  // A draft is dropped only once the server accepted it.
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (!evt.detail.successful) return;
    // When the answer replaced the form that sent it, htmx reports this event on the swap
    // target; the form that sent the text is the request's own element.
    var config = evt.detail.requestConfig;
    var elt = (config && config.elt) || evt.detail.elt;
    clearDrafts(elt.tagName === "FORM" ? elt : elt.closest && elt.closest("form"));
  });

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (evt.defaultPrevented || !form.hasAttribute) return;
    // htmx forms (which htmx itself usually prevents) are cleared after the response.
    var htmxForm = ["post", "put", "patch"].some(function (verb) {
      return form.hasAttribute("hx-" + verb) || form.hasAttribute("data-hx-" + verb);
    });
    if (!htmxForm) clearDrafts(form);
  });

  /* ----------------------------------------------- live connection state */

  var LIVE_TEXT = {
    connecting: "liveConnecting",
    live: "liveLive",
    reconnecting: "liveReconnecting",
    offline: "liveOffline",
    deleted: "liveDeleted",
  };
  // A state worse than "live" is shown only once it has lasted this long: a stream renewed,
  // a blip of the Wi-Fi or a server restart the page gets over quickly change nothing.
  var OUTAGE_MS = 3500;

  function setLiveState(state) {
    document.querySelectorAll("[data-live-indicator]").forEach(function (indicator) {
      if (indicator.getAttribute("data-state") === state) return;
      indicator.setAttribute("data-state", state);
      var text = indicator.querySelector(".live-indicator__text") || indicator;
      text.textContent = message(LIVE_TEXT[state]);
    });
  }

  function shownLiveState() {
    var indicator = document.querySelector("[data-live-indicator]");
    return indicator ? indicator.getAttribute("data-state") : null;
  }

  // live.js reports the page's stream ("policylab:stream": open, down, paused, gone); the
  // answers to the page's requests tell too: a request that got no answer means "offline"
  // even before the browser's offline event (which may come late, or after the stream said
  // it was open), and any answer ends that.
  var stream = null; // not reported yet: still connecting
  var saidOffline = false;
  var outageTimer = null;

  function connectionState() {
    if (stream === "gone") return "deleted";
    if (navigator.onLine === false || saidOffline) return "offline";
    if (stream === "open") return "live";
    return stream === null ? "connecting" : "reconnecting";
  }

  function showConnection() {
    if (stream === "paused") return; // a hidden tab's stream, closed on purpose
    var state = connectionState();
    var shown = shownLiveState();
    if (state === "live" || state === "deleted" || (shown !== "live" && shown !== "connecting")) {
      window.clearTimeout(outageTimer);
      outageTimer = null;
      setLiveState(state);
      return;
    }
    if (state === shown || outageTimer) return;
    outageTimer = window.setTimeout(function () {
      outageTimer = null;
      if (stream !== "paused") setLiveState(connectionState());
    }, OUTAGE_MS);
  }

  document.addEventListener("policylab:stream", function (evt) {
    if (stream === "gone") return;
    stream = evt.detail.state;
    if (stream === "open") saidOffline = false; // a stream just opened: the server is reachable
    showConnection();
  });
  document.addEventListener("htmx:sendError", function () {
    saidOffline = true;
    showConnection();
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (!saidOffline || !xhr || !xhr.status) return;
    saidOffline = false;
    showConnection();
  });
  window.addEventListener("offline", showConnection);
  window.addEventListener("online", showConnection);

  /* ------------------------------------------------------ focus management */

  function focusInto(root) {
    if (!root || !root.querySelector) return false;
    var selector = "[data-focus-after-swap], [autofocus]";
    var target = root.matches && root.matches(selector) ? root : root.querySelector(selector);
    if (!target) return false;
    if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
    return true;
  }

  function byUser(detail) {
    var trigger = detail.requestConfig && detail.requestConfig.triggeringEvent;
    return !!trigger && /^(click|submit|change|keydown|keyup|input)$/.test(trigger.type);
  }

  // The element itself, or — when a swap replaced it — its new copy (same id, or a link to
  // the same place): a tab or button someone activated keeps the focus after the redraw.
  function counterpart(old) {
    if (!old || !old.getAttribute) return null;
    if (old.isConnected) return old;
    var found = old.id ? document.getElementById(old.id) : null;
    var href = old.getAttribute("href");
    if (!found && href && window.CSS && CSS.escape) {
      found = document.querySelector(old.tagName.toLowerCase() + '[href="' + CSS.escape(href) + '"]');
    }
    return found && found.getClientRects().length ? found : null;
  }

  document.addEventListener("htmx:afterSettle", function (evt) {
    var detail = evt.detail || {};
    var active = document.activeElement;
    var idle = !active || active === document.body;
    // Live (SSE) or polled updates never pull focus away from someone typing.
    if (!byUser(detail) && !idle) return;
    if (focusInto(detail.elt)) return;
    // A user action whose focused element was swapped away: keep focus near it
    // instead of dropping it to <body>.
    if (byUser(detail) && idle) {
      var target = counterpart(detail.requestConfig && detail.requestConfig.elt);
      if (!target) target = counterpart(detail.target) || counterpart(detail.elt);
      if (target && target.isConnected && target !== document.body) {
        if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
        target.focus({ preventScroll: true });
      }
    }
  });

  /* ----------------------------------------------------------- init */

  function each(root, selector, fn) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches(selector)) fn(root);
    root.querySelectorAll(selector).forEach(fn);
  }

  function init(root) {
    each(root, "[data-counter][maxlength], [data-counter][data-maxlength]", setupCounter);
    each(root, "[data-draft]", setupDraft);
    each(root, "[data-fill]", function (el) {
      var value = Math.max(0, Math.min(100, parseFloat(el.getAttribute("data-fill")) || 0));
      el.style.setProperty("--fill", String(value));
    });
  }

  window.PolicyLab = {
    toast: showToast,
    copy: copyText,
    message: message,
    config: config,
  };

  if (window.htmx) {
    // Runs for the initial page and for every piece of swapped-in content.
    window.htmx.onLoad(function (elt) {
      init(elt);
    });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  } else {
    init(document);
  }
})();
