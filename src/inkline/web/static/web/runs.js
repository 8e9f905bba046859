// Banners about a run in progress ("Run … started.", "… is running.") go once the page
// shows that run has ended: its live part carries data-run-ended="<run id>".
(function () {
  function sweep() {
    document.querySelectorAll("[data-run-ended]").forEach(function (ended) {
      var id = ended.getAttribute("data-run-ended");
      document.querySelectorAll(".msg.run-msg").forEach(function (msg) {
        if (msg.classList.contains("run-" + id)) msg.remove();
      });
    });
    var list = document.querySelector(".messages");
    if (list && !list.children.length) list.remove();
  }
  document.addEventListener("DOMContentLoaded", sweep);
  document.addEventListener("htmx:afterSettle", sweep);
})();
