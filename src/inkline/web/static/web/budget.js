// The AI budget form: a live total of the five sliders; saving needs exactly 100 when custom.
(function () {
  function update() {
    var form = document.getElementById("budget-form");
    if (!form) return;
    var total = 0;
    form.querySelectorAll("input[type=range]").forEach(function (slider) {
      total += Number(slider.value);
      var out = form.querySelector('output[for="' + slider.id + '"]');
      if (out) out.textContent = slider.value + "%";
    });
    var custom = form.querySelector('input[name=use_global_defaults][value=false]');
    var isCustom = custom && custom.checked;
    var box = document.getElementById("budget-total");
    box.querySelector("strong").textContent = total + "%";
    box.classList.toggle("bad", isCustom && total !== 100);
    box.classList.toggle("good", !isCustom || total === 100);
    box.querySelector(".hint").textContent = !isCustom
      ? "The global defaults are in force; the sliders are kept for when you switch."
      : total === 100 ? "Ready to save." : "Move the sliders until the total is 100%.";
    form.querySelector(".budget-fields").classList.toggle("is-global", !isCustom);
    var save = form.querySelector("button[type=submit]");
    if (save) save.disabled = isCustom && total !== 100;
  }
  document.addEventListener("input", update);
  document.addEventListener("change", update);
  document.addEventListener("DOMContentLoaded", update);
})();
