// archsearch report: sortable and filterable trial tables, with no library and no network.
// Rows are written by Python; this script only reorders and hides them, so the page reads the
// same without it. A URL fragment such as #sort=reward-desc sorts every table at load, with
// the same function a header click uses.
(function () {
  "use strict";

  function value(row, index) {
    const cell = row.cells[index];
    const stored = cell.getAttribute("data-v");
    return stored === null ? cell.textContent.trim() : stored;
  }

  function order(a, b, index, numeric) {
    const x = value(a, index);
    const y = value(b, index);
    if (!numeric) return x.localeCompare(y);
    const u = parseFloat(x);
    const v = parseFloat(y);
    if (isNaN(u) || isNaN(v)) return (isNaN(u) ? 1 : 0) - (isNaN(v) ? 1 : 0);
    return u - v;
  }

  // Sort `table` by the column whose header has data-key `key`, "asc" or "desc"; rows with
  // no value go last either way, and ties keep the trials' order.
  function sortTable(table, key, direction) {
    const header = table.querySelector('th[data-key="' + key + '"]');
    if (!header) return false;
    const index = header.cellIndex;
    const numeric = header.getAttribute("data-type") === "number";
    const sign = direction === "desc" ? -1 : 1;
    const body = table.tBodies[0];
    const rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      const missing = (value(a, index) === "") - (value(b, index) === "");
      const result = missing || sign * order(a, b, index, numeric);
      return result || a.getAttribute("data-trial") - b.getAttribute("data-trial");
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th[data-key]").forEach(function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", direction === "desc" ? "descending" : "ascending");
    table.setAttribute("data-sort", key + "-" + direction);
    return true;
  }

  // Show the rows whose text holds the box's words and whose status is the one chosen.
  function filterTable(box) {
    const words = box.querySelector("input.filter").value.trim().toLowerCase();
    const status = box.querySelector("select.status").value;
    let shown = 0;
    box.querySelectorAll("tbody tr").forEach(function (row) {
      const match = (status === "all" || row.getAttribute("data-status") === status) &&
        (!words || row.textContent.toLowerCase().indexOf(words) >= 0);
      row.hidden = !match;
      shown += match ? 1 : 0;
    });
    box.querySelector(".shown").textContent = String(shown);
  }

  function setUp(box) {
    const table = box.querySelector("table");
    table.querySelectorAll("th[data-key]").forEach(function (th) {
      th.tabIndex = 0;
      const click = function () {
        const now = th.getAttribute("aria-sort");
        const first = th.getAttribute("data-type") === "number" ? "desc" : "asc";
        const next = now ? (now === "ascending" ? "desc" : "asc") : first;
        sortTable(table, th.getAttribute("data-key"), next);
      };
      th.addEventListener("click", click);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); click(); }
      });
    });
    box.querySelector("input.filter").addEventListener("input", function () { filterTable(box); });
    box.querySelector("select.status").addEventListener("change", function () { filterTable(box); });
    box.querySelector(".total").textContent = String(table.tBodies[0].rows.length);
    filterTable(box);
    table.setAttribute("data-ready", "true");
  }

  function sortFromFragment(boxes) {
    const match = /(?:^#|&)sort=([^&]+)-(asc|desc)(?:&|$)/.exec(window.location.hash);
    if (!match) return;
    boxes.forEach(function (box) {
      sortTable(box.querySelector("table"), decodeURIComponent(match[1]), match[2]);
    });
  }

  const boxes = Array.prototype.slice.call(document.querySelectorAll(".trials"));
  boxes.forEach(setUp);
  sortFromFragment(boxes);
  window.addEventListener("hashchange", function () { sortFromFragment(boxes); });
  document.body.setAttribute("data-script", "ran");
})();
