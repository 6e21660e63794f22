// The web Trash view's only script, served by trashd: while "Empty Trash"
// runs in the background, it keeps the progress on the page current by
// asking the server for the job's status, and reloads the page once the
// job is done. Without it the page still works: the panel has a link that
// reloads it.
(function () {
  "use strict";
  var panel = document.getElementById("empty-progress");
  if (!panel || panel.getAttribute("data-state") !== "running") {
    return;
  }
  var statusUrl = panel.getAttribute("data-status");
  var doneUrl = panel.getAttribute("data-done");
  var removed = panel.querySelector("[data-removed]");
  var bar = panel.querySelector("progress");
  function later(ms) {
    window.setTimeout(tick, ms);
  }
  function tick() {
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (job) {
        if (!job) {
          later(3000);
          return;
        }
        if (job.state !== "running") {
          window.location.replace(doneUrl);
          return;
        }
        removed.textContent = String(job.removed);
        bar.max = Math.max(job.total, 1);
        bar.value = job.removed;
        bar.textContent = job.removed + " of " + job.total;
        later(1000);
      })
      .catch(function () {
        later(3000);
      });
  }
  later(1000);
})();
