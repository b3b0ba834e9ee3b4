/*
 * Policy Lab — the facilitator's brainstorm board: choosing contributions to remove in bulk.
 *
 *   [data-bulk-item="<challenge>"]  a contribution's checkbox (belongs to form#bulk-remove)
 *   [data-bulk-all="<challenge>"]   "Select all" of a challenge (ticked, mixed or not)
 *   [data-bulk-bar]                 the count, "Clear the selection", "Remove selected…"
 *   [data-bulk-confirm]             the confirmation the server sends back; Escape cancels
 *
 * Everything works without this script (tick, then Remove selected… asks on a page); it adds
 * the running count, Select all and Escape. Words come from PolicyLab.message.
 */
(function () {
  "use strict";

  function items(challenge) {
    var selector = challenge ? '[data-bulk-item="' + CSS.escape(challenge) + '"]' : "[data-bulk-item]";
    return Array.prototype.slice.call(document.querySelectorAll(selector));
  }

  function refresh() {
    var page = document.querySelector("[data-bulk-page]");
    if (!page) return;
    page.classList.add("bulk-ready");
    var chosen = items().filter(function (box) {
      return box.checked;
    }).length;
    var bar = document.querySelector("[data-bulk-bar]");
    if (bar) {
      bar.hidden = items().length === 0;
      bar.classList.toggle("bulk-bar--active", chosen > 0);
      var count = bar.querySelector("[data-bulk-count]");
      var hint = bar.querySelector("[data-bulk-hint]");
      var clear = bar.querySelector("[data-bulk-clear]");
      if (count) {
        count.textContent = window.PolicyLab.message("selectedCount", { count: chosen });
        count.hidden = chosen === 0;
      }
      if (hint) hint.hidden = chosen > 0;
      if (clear) clear.hidden = chosen === 0;
    }
    document.querySelectorAll("[data-bulk-all]").forEach(function (all) {
      var own = items(all.getAttribute("data-bulk-all"));
      var ticked = own.filter(function (box) {
        return box.checked;
      }).length;
      all.checked = own.length > 0 && ticked === own.length;
      all.indeterminate = ticked > 0 && ticked < own.length;
    });
  }

  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (!target.matches) return;
    if (target.matches("[data-bulk-all]")) {
      var on = target.checked;
      items(target.getAttribute("data-bulk-all")).forEach(function (box) {
        box.checked = on;
      });
      refresh();
    } else if (target.matches("[data-bulk-item]")) {
      refresh();
    }
  });

  document.addEventListener("click", function (evt) {
    var clear = evt.target.closest && evt.target.closest("[data-bulk-clear]");
    if (!clear) return;
    items().forEach(function (box) {
      box.checked = false;
    });
    refresh();
    var submit = document.querySelector("[data-bulk-submit]");
    if (submit) submit.focus();
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var confirm = evt.target.closest && evt.target.closest("[data-bulk-confirm]");
    var cancel = confirm && confirm.querySelector("[data-bulk-cancel]");
    if (cancel) {
      evt.preventDefault();
      cancel.click();
    }
  });

  document.addEventListener("htmx:load", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refresh);
  } else {
    refresh();
  }
})();
