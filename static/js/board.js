/*
 * Clustering board: select a note and move it with the keyboard, or drag it (SortableJS).
 *
 *   the canvas                               -> --board-height / --workspace-height on <html>:
 *                                               the row of columns fills the first screen
 *   [data-board-overview] (button)           -> overview on/off (html[data-board-view]), kept
 *                                               in localStorage
 *   #board-map a[data-drop-cluster]          -> brings its column into view; while a note is
 *                                               dragged, a drop target for that column
 *
 *   [data-note] (button.note, aria-pressed)  -> select / deselect; Escape clears; M jumps
 *                                               from the selected note to "Move to"
 *   #move-contribution (select)              -> kept in step with the selected note
 *   [data-move-here] forms                   -> shown once a note is selected, carry its id
 *   [data-board-list] lists                  -> Sortable; a drop POSTs to #board[data-drop-url]
 *                                               and swaps the columns the server sends back;
 *                                               on failure the note goes back and a toast says why
 *   #board-status                            -> polite status line (HX-Trigger "boardStatus")
 *   input[data-valuetext]                    -> range input speaks its step name
 */
(function () {
  "use strict";

  var selectedId = null;
  var VIEW_KEY = "policylab.boardView";
  var dragging = null; // {x, y} of the pointer while a note is dragged

  function message(key, values) {
    return window.PolicyLab.message(key, values);
  }

  function toast(text, level) {
    if (window.PolicyLab && window.PolicyLab.toast) window.PolicyLab.toast(text, level || "error");
  }

  var statusTimer = null;

  function announce(text) {
    var region = document.getElementById("board-status");
    if (!region || !text) return;
    // Clear first so the same sentence twice in a row is still spoken.
    region.textContent = "";
    window.clearTimeout(statusTimer);
    window.setTimeout(function () {
      region.textContent = text;
    }, 60);
    // The line floats over the board: it goes once read (it was spoken already).
    statusTimer = window.setTimeout(function () {
      region.textContent = "";
    }, 12000);
  }

  function noteText(note) {
    var text = note.querySelector(".note__text");
    var value = (text ? text.textContent : note.textContent).trim();
    return value.length > 70 ? value.slice(0, 67) + "\u2026" : value;
  }

  function findNote(id) {
    if (!id) return null;
    return document.querySelector('[data-note][data-contribution-id="' + id + '"]');
  }

  /* --------------------------------------------------------- selection */

  function applySelection() {
    var note = findNote(selectedId);
    if (!note) selectedId = null;
    document.querySelectorAll("[data-note]").forEach(function (el) {
      el.setAttribute("aria-pressed", String(el === note));
    });
    var picker = document.getElementById("move-contribution");
    if (picker && selectedId && picker.value !== selectedId) picker.value = selectedId;
    document.querySelectorAll("[data-move-here]").forEach(function (form) {
      var input = form.querySelector("[data-selected-input]");
      if (input) input.value = selectedId || "";
      var column = form.closest("[data-column]");
      var inThisColumn = !!(note && column && column.contains(note));
      form.hidden = !note || inThisColumn;
    });
    var board = document.getElementById("board");
    if (board) board.classList.toggle("board-area--selecting", !!note);
  }

  function select(id, speak) {
    selectedId = id ? String(id) : null;
    applySelection();
    if (!speak) return;
    var note = findNote(selectedId);
    announce(note ? message("noteSelected", { text: noteText(note) }) : message("selectionCleared"));
  }

  document.addEventListener("click", function (evt) {
    var note = evt.target.closest("[data-note]");
    if (!note) return;
    var id = note.getAttribute("data-contribution-id");
    select(note.getAttribute("aria-pressed") === "true" ? null : id, true);
  });

  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (target.id === "move-contribution") {
      select(target.value || null, false);
    } else if (target.matches && target.matches("input[data-valuetext]")) {
      speakRange(target);
    }
  });

  document.addEventListener("input", function (evt) {
    if (evt.target.matches && evt.target.matches("input[data-valuetext]")) speakRange(evt.target);
  });

  document.addEventListener("keydown", function (evt) {
    if (!selectedId || document.querySelector("dialog[open]")) return;
    if (evt.key === "Escape") {
      select(null, true);
      return;
    }
    // M on the selected note jumps to the "Move to" list, so nobody has to tab across the board.
    var onNote = evt.target.closest && evt.target.closest("[data-note]");
    if (onNote && (evt.key === "m" || evt.key === "M") && !evt.ctrlKey && !evt.metaKey && !evt.altKey) {
      var target = document.getElementById("move-target");
      if (target) {
        evt.preventDefault();
        target.focus();
      }
    }
  });

  /* ----------------------------------------------- range: spoken step name */

  function speakRange(input) {
    var steps;
    try {
      steps = JSON.parse(input.getAttribute("data-valuetext"));
    } catch (e) {
      return;
    }
    var value = parseFloat(input.value);
    for (var i = 0; i < steps.length; i++) {
      if (Math.abs(steps[i][0] - value) < 1e-9) {
        input.setAttribute("aria-valuetext", steps[i][1]);
        return;
      }
    }
  }

  /* ----------------------------------------------------- status events */

  // HX-Trigger: {"boardStatus": {"message": "...", "clear": true}}
  document.addEventListener("boardStatus", function (evt) {
    var detail = evt.detail || {};
    if (detail.clear) select(null, false);
    announce(detail.message || detail.value);
  });

  function triggerDetail(response, name) {
    var header = response.headers.get("HX-Trigger");
    if (!header) return null;
    try {
      return JSON.parse(header)[name] || null;
    } catch (e) {
      return null;
    }
  }

  /* ------------------------------------------------------ drag and drop */

  function revert(evt) {
    var item = evt.item;
    item.remove();
    evt.from.insertBefore(item, evt.from.children[evt.oldIndex] || null);
  }

  function swapColumns(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    Array.prototype.forEach.call(template.content.children, function (fresh) {
      var current = fresh.id && document.getElementById(fresh.id);
      if (!current) return;
      if (window.htmx && window.htmx.swap) {
        // Through htmx, so the new column's forms and counters are wired like any swap.
        window.htmx.swap(current, fresh.outerHTML, { swapStyle: "outerHTML" });
      } else {
        current.replaceWith(fresh);
      }
    });
  }

  function onDrop(evt) {
    var board = document.getElementById("board");
    var over = mapTargetAt(dragging);
    endDragging();
    if (!board) return;
    if (over) {
      // Dropped on a column's name in the map: the note goes to the end of that column.
      revert(evt);
      var fromId = evt.from.getAttribute("data-cluster-id");
      var toId = over.getAttribute("data-drop-cluster");
      if (fromId !== toId) sendMove(board, evt, evt.item.getAttribute("data-id"), toId, "");
      return;
    }
    var toInbox = evt.to.getAttribute("data-cluster-id") === "";
    if (evt.from === evt.to && (evt.oldIndex === evt.newIndex || toInbox)) {
      // The inbox keeps arrival order: reordering it changes nothing.
      if (evt.oldIndex !== evt.newIndex) revert(evt);
      return;
    }
    sendMove(board, evt, evt.item.getAttribute("data-id"), evt.to.getAttribute("data-cluster-id"), String(evt.newIndex));
  }

  function sendMove(board, evt, contributionId, clusterId, position) {
    var body = new FormData();
    body.append("contribution_id", contributionId);
    body.append("cluster_id", clusterId);
    body.append("position", position);
    fetch(board.getAttribute("data-drop-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", Accept: "text/html" },
    })
      .then(function (response) {
        return response.text().then(function (text) {
          if (!response.ok) {
            revert(evt);
            var failure = triggerDetail(response, "showToast");
            toast(failure && failure.message ? failure.message : message("moveFailed"));
            return;
          }
          swapColumns(text);
          var done = triggerDetail(response, "boardStatus");
          select(null, false);
          if (done) announce(done.message);
        });
      })
      .catch(function () {
        revert(evt);
        toast(message("errorOffline"));
      });
  }

  function initSortable(root) {
    if (!window.Sortable || !root.querySelectorAll) return;
    var lists = root.matches && root.matches("[data-board-list]") ? [root] : [];
    lists = lists.concat(Array.prototype.slice.call(root.querySelectorAll("[data-board-list]")));
    lists.forEach(function (list) {
      if (window.Sortable.get(list)) return;
      window.Sortable.create(list, {
        group: "board",
        draggable: ".board__item",
        animation: 150,
        // Pointer-based dragging: buttons inside draggable items work in every browser.
        forceFallback: true,
        fallbackTolerance: 5,
        delayOnTouchOnly: true,
        delay: 180,
        onStart: startDragging,
        onEnd: onDrop,
      });
    });
  }

  /* ------------------------------------------ the map: drop targets for every column */

  function pointerAt(evt) {
    var point = evt.touches && evt.touches[0] ? evt.touches[0] : evt;
    if (dragging && typeof point.clientX === "number") {
      dragging.x = point.clientX;
      dragging.y = point.clientY;
      markMapTarget();
    }
  }

  function mapTargetAt(point) {
    if (!point || point.x === null) return null;
    var el = document.elementFromPoint(point.x, point.y);
    return el && el.closest ? el.closest("#board-map [data-drop-cluster]") : null;
  }

  function markMapTarget() {
    var over = mapTargetAt(dragging);
    document.querySelectorAll("#board-map [data-drop-cluster]").forEach(function (link) {
      link.classList.toggle("board-map__link--over", link === over);
    });
  }

  function startDragging() {
    dragging = { x: null, y: null };
    var board = document.getElementById("board");
    if (board) board.classList.add("board-area--dragging");
  }

  function endDragging() {
    dragging = null;
    var board = document.getElementById("board");
    if (board) board.classList.remove("board-area--dragging");
    document.querySelectorAll(".board-map__link--over").forEach(function (link) {
      link.classList.remove("board-map__link--over");
    });
    // SortableJS (pointer mode) swallows the click that follows a drop. When the drop ends
    // away from where it started (a column's name in the map), or the board is redrawn, no
    // such click comes, and it would swallow the person's next real click instead: give it
    // one now, on the root element, where no behaviour listens.
    window.setTimeout(function () {
      document.documentElement.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    }, 0);
  }

  ["pointermove", "mousemove", "touchmove"].forEach(function (name) {
    document.addEventListener(name, pointerAt, { passive: true });
  });

  // A name in the map brings its column into view (without moving the page up or down).
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("#board-map a[href^='#column-']");
    if (!link) return;
    var column = document.getElementById(link.getAttribute("href").slice(1));
    if (!column) return;
    evt.preventDefault();
    // At once, not smoothly: a live redraw arriving meanwhile would stop a smooth scroll.
    column.scrollIntoView({ block: "nearest", inline: "start" });
    column.classList.remove("board__column--reached");
    void column.offsetWidth; // restart the animation
    column.classList.add("board__column--reached");
    var heading = column.querySelector(".board__column-title");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  });

  /* ------------------------------------------------ the canvas: size and overview */

  // The row of columns takes what is left of the first screen (never less than 20rem),
  // the side panel as much as the whole board area.
  function sizeCanvas() {
    var canvas = document.querySelector("[data-board-canvas]");
    var root = document.documentElement;
    if (!canvas) return;
    var top = canvas.getBoundingClientRect().top + window.scrollY;
    var height = Math.max(320, Math.floor(window.innerHeight - top - 12));
    root.style.setProperty("--board-height", height + "px");
    var workspace = document.getElementById("workspace");
    if (workspace) {
      var wtop = workspace.getBoundingClientRect().top + window.scrollY;
      root.style.setProperty("--workspace-height", Math.max(320, Math.floor(window.innerHeight - wtop - 12)) + "px");
    }
  }

  function storedView() {
    try {
      return window.localStorage.getItem(VIEW_KEY) || "";
    } catch (e) {
      return "";
    }
  }

  function setView(view) {
    var root = document.documentElement;
    if (view === "overview") root.setAttribute("data-board-view", "overview");
    else root.removeAttribute("data-board-view");
    document.querySelectorAll("[data-board-overview]").forEach(function (button) {
      button.hidden = false;
      button.setAttribute("aria-pressed", String(view === "overview"));
    });
    try {
      window.localStorage.setItem(VIEW_KEY, view);
    } catch (e) {
      /* private mode: the choice lasts for this page only */
    }
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-board-overview]");
    if (!button) return;
    setView(button.getAttribute("aria-pressed") === "true" ? "" : "overview");
    sizeCanvas();
  });

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(sizeCanvas, 100);
  });

  // Opening or closing the assistant changes the space above nothing, but the page may
  // have scrolled: size again.
  document.addEventListener(
    "toggle",
    function (evt) {
      if (evt.target.matches && evt.target.matches("[data-side-panel]")) sizeCanvas();
    },
    true
  );

  function init(root) {
    if (root === document || root === document.body) {
      if (document.querySelector("[data-board-overview]")) setView(storedView());
    }
    // Anything redrawn (a proposal in the panel, a notice) may move the board: size again.
    sizeCanvas();
    initSortable(root);
    if (root.querySelectorAll) root.querySelectorAll("input[data-valuetext]").forEach(speakRange);
    applySelection();
  }

  if (window.htmx) {
    window.htmx.onLoad(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  } else {
    init(document);
  }
})();
