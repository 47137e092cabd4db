// The tables: sort by any header (click or Enter), filter by text. Runs before plotly.js is
// parsed, so the table works at once; <body data-interactive="ms"> records when, counted from
// the start of navigation.
(function () {
  "use strict";

  function sortValue(td) {
    var raw = td.hasAttribute("data-sort") ? td.getAttribute("data-sort") : td.textContent;
    var num = Number(raw);
    return raw.trim() !== "" && isFinite(num) ? num : raw.toLowerCase();
  }

  function compare(a, b) {
    var aNum = typeof a === "number", bNum = typeof b === "number";
    if (aNum && bNum) { return a - b; }
    if (aNum !== bNum) { return aNum ? -1 : 1; }
    return a < b ? -1 : (a > b ? 1 : 0);
  }

  function makeSortable(table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, column) {
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var keyed = Array.prototype.map.call(body.rows, function (row, i) {
          return [sortValue(row.cells[column]), i, row];
        });
        keyed.sort(function (x, y) {
          return (ascending ? 1 : -1) * compare(x[0], y[0]) || x[1] - y[1];
        });
        keyed.forEach(function (k) { body.appendChild(k[2]); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) { if (event.key === "Enter") { sort(); } });
    });
  }

  function makeFilter(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    input.addEventListener("input", function () {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        row.hidden = !terms.every(function (term) { return text.indexOf(term) >= 0; });
      });
    });
  }

  document.querySelectorAll("table.sortable").forEach(makeSortable);
  document.querySelectorAll("input.filter").forEach(makeFilter);
  document.body.setAttribute("data-interactive", String(Math.round(performance.now())));
}());
