// The AI budget form: each share has a number box (two decimals, what is sent) and a slider
// that moves it; the total is counted in hundredths of a percent, so 33.33 + 33.33 + 33.34
// is exactly 100; a small pie previews the split as it changes. Saving needs exactly 100
// when custom.
(function () {
  function hundredths(text) {
    var value = Number(String(text).trim().replace(",", "."));
    return isFinite(value) && String(text).trim() !== "" ? Math.round(value * 100) : NaN;
  }

  function percent(cents) {
    return (cents / 100).toFixed(2).replace(/\.?0+$/, "") + "%";
  }

  function piePaths(form, shares) {
    var svg = document.getElementById("budget-pie-preview");
    if (!svg) return;
    var total = shares.reduce(function (sum, s) { return sum + Math.max(0, s.cents || 0); }, 0);
    var angle = -Math.PI / 2, r = 90, c = 100;
    shares.forEach(function (s) {
      var path = svg.querySelector('path[data-op="' + s.op + '"]');
      if (!path) return;
      var part = total > 0 ? Math.max(0, s.cents || 0) / total : 0;
      if (part <= 0) { path.setAttribute("d", ""); return; }
      if (part >= 0.9999) {
        path.setAttribute("d", "M 10 100 a 90 90 0 1 0 180 0 a 90 90 0 1 0 -180 0 Z");
        return;
      }
      var end = angle + part * 2 * Math.PI;
      var d = "M " + c + " " + c + " L " + (c + r * Math.cos(angle)).toFixed(2) + " " +
        (c + r * Math.sin(angle)).toFixed(2) + " A " + r + " " + r + " 0 " +
        (part > 0.5 ? 1 : 0) + " 1 " + (c + r * Math.cos(end)).toFixed(2) + " " +
        (c + r * Math.sin(end)).toFixed(2) + " Z";
      path.setAttribute("d", d);
      angle = end;
    });
  }

  function update(event) {
    var form = document.getElementById("budget-form");
    if (!form) return;
    var source = event && event.target;
    if (source && source.matches && source.matches("input[data-slider-for]")) {
      var box = document.getElementById(source.getAttribute("data-slider-for"));
      if (box) box.value = Number(source.value).toFixed(2).replace(/\.?0+$/, "");
    }
    var total = 0, valid = true, shares = [];
    form.querySelectorAll(".slider-row").forEach(function (row) {
      var box = row.querySelector("input[type=number]");
      var slider = row.querySelector("input[type=range]");
      var cents = hundredths(box.value);
      if (isNaN(cents) || cents < 0 || cents > 10000) valid = false;
      else total += cents;
      if (slider && slider !== source && !isNaN(cents)) slider.value = cents / 100;
      shares.push({ op: row.getAttribute("data-op"), cents: cents });
    });
    var custom = form.querySelector("input[name=use_global_defaults][value=false]");
    var isCustom = custom && custom.checked;
    var ok = valid && total === 10000;
    var totalBox = document.getElementById("budget-total");
    totalBox.querySelector("strong").textContent = valid ? percent(total) : "—";
    totalBox.classList.toggle("bad", isCustom && !ok);
    totalBox.classList.toggle("good", !isCustom || ok);
    totalBox.querySelector(".hint").textContent = !isCustom
      ? "The global defaults are in force; the shares are kept for when you switch."
      : !valid ? "Each share is a number from 0 to 100, with up to two decimals."
      : ok ? "Ready to save." : "Change the shares until the total is 100%.";
    form.querySelector(".budget-fields").classList.toggle("is-global", !isCustom);
    piePaths(form, shares);
    var save = form.querySelector("button[type=submit]");
    if (save) save.disabled = isCustom && !ok;
  }
  document.addEventListener("input", update);
  document.addEventListener("change", update);
  document.addEventListener("DOMContentLoaded", function () { update(null); });
})();
