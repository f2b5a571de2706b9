/*
 * The study table (studies/): filter by facet, certainty, year and words; sort by clicking a column heading.
 * Works on the rows already in the page (no network), and re-runs on every page view, because Material's
 * instant navigation swaps pages without reloading scripts: `document$` emits once per page.
 * Filters are read from and written to the query string (?substances=mdma&conditions=ptsd), so the evidence
 * matrix and term pages can link to a filtered table.
 */
(function () {
  "use strict";

  function words(value) {
    return (value || "").split(" ").filter(Boolean);
  }

  function setupStudyTable() {
    var table = document.querySelector("[data-kb-study-table]");
    var form = document.querySelector("[data-kb-study-filters]");
    if (!table || !form || table.dataset.kbReady) {
      return;
    }
    table.dataset.kbReady = "true";
    form.hidden = false;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var selects = form.querySelectorAll("select[data-filter]");
    var from = form.querySelector("[data-year=from]");
    var to = form.querySelector("[data-year=to]");
    var text = form.querySelector("[data-text]");
    var count = form.querySelector("[data-count]");

    function readQuery() {
      var params = new URLSearchParams(window.location.search);
      selects.forEach(function (select) {
        var value = params.get(select.name);
        if (value && select.querySelector('option[value="' + CSS.escape(value) + '"]')) {
          select.value = value;
        }
      });
      [from, to].forEach(function (select) {
        var value = params.get(select.name);
        if (value && select.querySelector('option[value="' + CSS.escape(value) + '"]')) {
          select.value = value;
        }
      });
      text.value = params.get("q") || "";
    }

    function writeQuery() {
      var params = new URLSearchParams();
      form.querySelectorAll("select, input").forEach(function (field) {
        if (field.value) {
          params.set(field.name, field.value);
        }
      });
      var query = params.toString();
      var url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
      window.history.replaceState(window.history.state, "", url);
    }

    function matches(row) {
      for (var i = 0; i < selects.length; i++) {
        var wanted = selects[i].value;
        if (wanted && words(row.dataset[selects[i].dataset.filter]).indexOf(wanted) < 0) {
          return false;
        }
      }
      var year = parseInt(row.dataset.year, 10);
      if (from.value && !(year >= parseInt(from.value, 10))) {
        return false;
      }
      if (to.value && !(year <= parseInt(to.value, 10))) {
        return false;
      }
      var query = folded(text.value);
      return !query || folded(row.textContent).indexOf(query) >= 0;
    }

    // "self compassion", "Self-compassion" and "self-compassion" find the same rows: case, hyphens and runs of
    // spaces do not matter.
    function folded(value) {
      return value.toLowerCase().replace(/[\u2010-\u2015-]+/g, " ").replace(/\s+/g, " ").trim();
    }

    function applyFilters() {
      var shown = 0;
      rows.forEach(function (row) {
        var visible = matches(row);
        row.hidden = !visible;
        shown += visible ? 1 : 0;
      });
      var impossible = from.value && to.value && parseInt(from.value, 10) > parseInt(to.value, 10);
      count.textContent = impossible
        ? "No study can match: the first year (" + from.value + ") is after the last (" + to.value + ")."
        : "Showing " + shown + " of " + rows.length + " studies.";
    }

    function sortBy(header) {
      var column = header.cellIndex;
      var numeric = header.dataset.sort === "number";
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th[data-sort]").forEach(function (other) {
        other.setAttribute("aria-sort", "none");
      });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var keyed = rows.map(function (row, index) {
        var value = row.cells[column].dataset.value || "";
        return { row: row, index: index, value: numeric ? parseFloat(value) : value.toLowerCase() };
      });
      keyed.sort(function (a, b) {
        var missingA = numeric ? isNaN(a.value) : a.value === "";
        var missingB = numeric ? isNaN(b.value) : b.value === "";
        if (missingA || missingB) {
          return missingA === missingB ? a.index - b.index : missingA ? 1 : -1; // blanks last
        }
        var order = numeric ? a.value - b.value : a.value.localeCompare(b.value);
        return (ascending ? order : -order) || a.index - b.index;
      });
      keyed.forEach(function (item) {
        body.appendChild(item.row);
      });
    }

    table.querySelectorAll("th[data-sort]").forEach(function (header) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "kb-sort";
      button.textContent = header.textContent;
      button.title = "Sort by " + header.textContent.toLowerCase();
      header.textContent = "";
      header.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(header);
      });
    });
    form.addEventListener("input", function () {
      applyFilters();
      writeQuery();
    });
    form.addEventListener("change", function () {
      applyFilters();
      writeQuery();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    form.addEventListener("reset", function () {
      window.setTimeout(function () {
        applyFilters();
        writeQuery();
      }, 0);
    });
    readQuery();
    applyFilters();
  }

  /*
   * Every table wrapper (.kb-table-wrapper) scrolls sideways when its table is wider than the screen, so a
   * keyboard must be able to reach it and a screen reader must name it. The templates' table_region macro writes
   * tabindex, role and aria-label; a wrapper written without them gets them here, named by its heading.
   */
  function labelTableRegions() {
    document.querySelectorAll(".kb-table-wrapper:not([tabindex])").forEach(function (wrapper) {
      var heading = wrapper.previousElementSibling;
      while (heading && !/^H[1-6]$/.test(heading.tagName)) {
        heading = heading.previousElementSibling;
      }
      wrapper.tabIndex = 0;
      wrapper.setAttribute("role", "region");
      wrapper.setAttribute("aria-label", heading ? heading.textContent.replace(/¶/g, "").replace(/\s+/g, " ").trim() : "Table");
    });
  }

  function setup() {
    labelTableRegions();
    setupStudyTable();
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(setup);
  } else {
    document.addEventListener("DOMContentLoaded", setup);
  }
})();
