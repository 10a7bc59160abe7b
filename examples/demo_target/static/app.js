// Demo target page script: fills the status widget; page faults come from <body data-faults>.
(function () {
  "use strict";
  var faults = (document.body.getAttribute("data-faults") || "").split(" ");
  function has(name) {
    return faults.indexOf(name) !== -1;
  }

  var widget = document.getElementById("status-widget");
  if (widget) {
    fetch("/api/v1/status", { headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json();
      })
      .then(function (body) {
        widget.textContent = body.status === "healthy" ? "All systems healthy" : "Status: " + body.status;
        widget.setAttribute("data-state", body.status);
      })
      .catch(function () {
        widget.textContent = "Status unavailable";
        widget.setAttribute("data-state", "unavailable");
      });
  }

  if (has("console_error")) {
    console.error("demo target fault: console_error");
  }
  if (has("post_from_page")) {
    // A write a read-only monitor must block; a rejected fetch is expected then.
    fetch("/api/track", { method: "POST", body: "{\"event\":\"page_view\"}" }).catch(function () {});
  }
  if (has("js_exception")) {
    throw new Error("demo target fault: js_exception");
  }
})();
