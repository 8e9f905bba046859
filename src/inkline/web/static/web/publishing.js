// Publishing settings: the live preview names the fields it cannot accept; highlight exactly
// those in the form (and only those), as a refused save does.
(function () {
  function highlight() {
    var form = document.getElementById("publishing-form");
    var preview = document.getElementById("preview");
    if (!form || !preview) return;
    var bad = {};
    preview.querySelectorAll("[data-problems] [data-field]").forEach(function (li) {
      bad[li.getAttribute("data-field")] = true;
    });
    form.querySelectorAll(".field[data-field]").forEach(function (field) {
      var name = field.getAttribute("data-field");
      field.classList.toggle("has-error", !!bad[name]);
      if (!bad[name]) {
        // A message from a refused save no longer applies once the field is fixed.
        field.querySelectorAll("p.error").forEach(function (p) { p.remove(); });
      }
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "preview") highlight();
  });
})();
