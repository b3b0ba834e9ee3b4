/*
 * Report downloads with a progress indication: a [data-download] link is fetched in the
 * background while its button shows a spinner, then saved under the server's file name.
 * Without JavaScript the link is an ordinary download.
 */
(function () {
  "use strict";

  function message(key, values) {
    return window.PolicyLab.message(key, values);
  }

  function toast(text, level) {
    document.dispatchEvent(new CustomEvent("showToast", { detail: { message: text, level: level } }));
  }

  function filenameOf(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : fallback;
  }

  function errorOf(response) {
    return response
      .json()
      .then(function (body) {
        return body && body.detail ? body.detail : message("exportFailed");
      })
      .catch(function () {
        return message("exportFailedStatus", { status: response.status });
      });
  }

  document.addEventListener("click", function (evt) {
    var link = evt.target.closest("a[data-download]");
    if (!link || !window.fetch || !window.URL || !URL.createObjectURL) return;
    evt.preventDefault();
    if (link.getAttribute("aria-busy") === "true") return;
    var label = link.getAttribute("data-format-label") || message("defaultFormat");
    var status = document.querySelector("[data-download-status]");
    link.setAttribute("aria-busy", "true");
    if (status) {
      status.textContent = message(link.hasAttribute("data-slow") ? "preparingLargeFile" : "preparingFile", {
        format: label,
      });
    }
    fetch(link.href, { credentials: "same-origin", headers: { Accept: "*/*" } })
      .then(function (response) {
        if (!response.ok) {
          return errorOf(response).then(function (reason) {
            throw new Error(reason);
          });
        }
        var name = filenameOf(response, link.getAttribute("download") || message("defaultFileName"));
        return response.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var save = document.createElement("a");
          save.href = url;
          save.download = name;
          save.className = "visually-hidden";
          document.body.appendChild(save);
          save.click();
          save.remove();
          window.setTimeout(function () {
            URL.revokeObjectURL(url);
          }, 10000);
          if (status) status.textContent = message("fileReady", { format: label, name: name });
        });
      })
      .catch(function (error) {
        if (status) status.textContent = "";
        toast(error.message || message("exportFailedRetry"), "error");
      })
      .then(function () {
        link.removeAttribute("aria-busy");
      });
  });
})();
