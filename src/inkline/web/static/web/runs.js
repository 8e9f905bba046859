// Banners about a run's state ("Run … started.", "… is running.", "… is pausing: …") go once
// the page shows that state is over. A banner's classes name its run and what keeps it true
// ("run-msg run-<id> while-<state>"); the page's live parts carry the run's state
// (data-run, data-run-status, data-run-settling) and are polled while it may change.
(function () {
  var holds = {
    active: function (status) { return ["queued", "running", "paused"].indexOf(status) >= 0; },
    running: function (status, settling) { return status === "running" && !settling; },
    paused: function (status) { return status === "paused"; },
    settling: function (status, settling) { return settling; },
  };
  function sweep() {
    document.querySelectorAll("[data-run][data-run-status]").forEach(function (part) {
      var id = part.getAttribute("data-run");
      var status = part.getAttribute("data-run-status");
      var settling = part.getAttribute("data-run-settling") === "true";
      document.querySelectorAll(".msg.run-msg.run-" + id).forEach(function (msg) {
        Object.keys(holds).forEach(function (state) {
          if (msg.classList.contains("while-" + state) && !holds[state](status, settling)) {
            msg.remove();
          }
        });
      });
    });
    document.querySelectorAll(".messages").forEach(function (list) {
      if (!list.children.length) list.remove();
    });
  }
  document.addEventListener("DOMContentLoaded", sweep);
  document.addEventListener("htmx:afterSettle", sweep);
})();
