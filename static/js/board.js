/*
 * Clustering board: select a note and move it with the keyboard, or drag it (SortableJS).
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

  function message(key, values) {
    return window.PolicyLab.message(key, values);
  }

  function toast(text, level) {
    if (window.PolicyLab && window.PolicyLab.toast) window.PolicyLab.toast(text, level || "error");
  }

  function announce(text) {
    var region = document.getElementById("board-status");
    if (!region || !text) return;
    // Clear first so the same sentence twice in a row is still spoken.
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = text;
    }, 60);
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
    if (!board) return;
    var toInbox = evt.to.getAttribute("data-cluster-id") === "";
    if (evt.from === evt.to && (evt.oldIndex === evt.newIndex || toInbox)) {
      // The inbox keeps arrival order: reordering it changes nothing.
      if (evt.oldIndex !== evt.newIndex) revert(evt);
      return;
    }
    var body = new FormData();
    body.append("contribution_id", evt.item.getAttribute("data-id"));
    body.append("cluster_id", evt.to.getAttribute("data-cluster-id"));
    body.append("position", String(evt.newIndex));
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
        onEnd: onDrop,
      });
    });
  }

  function init(root) {
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
