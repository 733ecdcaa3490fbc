// Slate's only script: a page showing work in progress (a job generating, a model training)
// reloads itself every few seconds while it is visible, so nobody has to press reload.
// Without scripts the page says so and offers a link that does the same.
(function () {
  "use strict";
  var main = document.querySelector("main[data-refresh-seconds]");
  if (!main) { return; }
  var seconds = Math.max(2, parseInt(main.getAttribute("data-refresh-seconds"), 10) || 3);
  window.setTimeout(function reload() {
    if (document.visibilityState === "hidden") { window.setTimeout(reload, seconds * 1000); return; }
    window.location.reload();
  }, seconds * 1000);
})();
