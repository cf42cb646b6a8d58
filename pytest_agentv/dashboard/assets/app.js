/* pytest-agentv dashboard: sorting, filtering, search and compare selection over tables that are
   already complete HTML. Filters, sort order and selected runs live in the URL, so a link reopens
   the same view. Data files are scripts (agentvData(key, value)) so file:// works too. */
(function () {
  "use strict";
  var root = document.body.getAttribute("data-root") || "";
  var params = new URLSearchParams(location.search);
  var loaded = {}, waiting = {};

  window.agentvData = function (key, value) {
    loaded[key] = value;
    (waiting[key] || []).forEach(function (resolve) { resolve(value); });
    delete waiting[key];
  };

  function load(key) {
    return new Promise(function (resolve, reject) {
      if (key in loaded) { resolve(loaded[key]); return; }
      var first = !(key in waiting);
      (waiting[key] = waiting[key] || []).push(resolve);
      if (!first) return;
      var script = document.createElement("script");
      script.src = root + "data/" + key + ".js";
      script.onerror = function () { reject(new Error("cannot load " + script.src)); };
      document.head.appendChild(script);
    });
  }

  function setParam(name, value) {
    if (value) params.set(name, value); else params.delete(name);
    var query = params.toString();
    history.replaceState(null, "", query ? "?" + query : location.pathname);
  }

  var FILTERS = ["model", "eval", "branch", "tag"];
  var ATTRS = { model: "data-model", eval: "data-eval", branch: "data-branch", tag: "data-tags" };

  function current() {
    var chosen = {};
    FILTERS.concat(["q"]).forEach(function (name) { chosen[name] = params.get(name) || ""; });
    return chosen;
  }

  function matches(el, chosen) {
    for (var i = 0; i < FILTERS.length; i++) {
      var name = FILTERS[i], want = chosen[name], attr = ATTRS[name];
      if (!want || !el.hasAttribute(attr)) continue;
      var have = el.getAttribute(attr);
      if (name === "tag" ? have.indexOf("|" + want + "|") < 0 : have !== want) return false;
    }
    var q = chosen.q.toLowerCase();
    if (q && el.hasAttribute("data-search") && el.getAttribute("data-search").indexOf(q) < 0) {
      return false;
    }
    return true;
  }

  function active() {
    var chosen = current();
    return Object.keys(chosen).some(function (k) { return chosen[k]; });
  }

  // --- filters --------------------------------------------------------------------------------
  function applyFilters() {
    var chosen = current(), shown = 0, total = 0;
    document.querySelectorAll("table.data tbody tr").forEach(function (row) {
      var ok = matches(row, chosen);
      row.hidden = !ok;
      total++; if (ok) shown++;
    });
    document.querySelectorAll("section.trend").forEach(function (section) {
      var visible = 0;
      section.querySelectorAll("a.pt-link").forEach(function (link) {
        var ok = matches(link.querySelector("circle"), chosen);
        link.style.display = ok ? "" : "none";
        if (ok) visible++;
      });
      section.querySelectorAll("polyline").forEach(function (line) {
        var model = line.getAttribute("data-model"), coords = [];
        section.querySelectorAll("a.pt-link").forEach(function (link) {
          var c = link.querySelector("circle");
          if (link.style.display !== "none" && c.getAttribute("data-model") === model) {
            coords.push(c.getAttribute("cx") + "," + c.getAttribute("cy"));
          }
        });
        line.setAttribute("points", coords.join(" "));
        line.style.display = coords.length ? "" : "none";
      });
      section.querySelectorAll("ul.legend li").forEach(function (li) {
        li.hidden = !!chosen.model && li.getAttribute("data-model") !== chosen.model;
      });
      section.setAttribute("data-visible", visible);
      shown += visible;
    });
    var out = document.getElementById("shown");
    if (out) {
      var runs = document.getElementById("runs");
      out.textContent = runs && runs.getAttribute("data-all") === "1"
        ? shown + " of " + runs.getAttribute("data-total") + " runs match"
        : (active() ? shown + " shown" : "");
    }
  }

  function setupFilters(onChange) {
    var form = document.getElementById("filters");
    if (!form) return;
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name) return;
      var value = params.get(field.name);
      if (value) {
        if (field.tagName === "SELECT" && !Array.prototype.some.call(field.options,
            function (o) { return o.value === value; })) {
          field.add(new Option(value, value));
        }
        field.value = value;
      }
      field.addEventListener(field.tagName === "SELECT" ? "change" : "input", function () {
        setParam(field.name, field.value);
        onChange();
      });
    });
  }

  // --- sorting --------------------------------------------------------------------------------
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var v = cell.getAttribute("data-v");
    return v !== null ? v : cell.textContent.trim();
  }

  function sortTable(table, label, descending) {
    var heads = table.tHead.rows[0].cells, index = -1;
    for (var i = 0; i < heads.length; i++) {
      heads[i].removeAttribute("aria-sort");
      if (heads[i].textContent.trim() === label) index = i;
    }
    if (index < 0) return;
    heads[index].setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index), nx = Number(x), ny = Number(y);
      var order = x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function setupSorting(table, before) {
    table.querySelectorAll("th button.sort").forEach(function (button) {
      button.addEventListener("click", function () {
        var label = button.textContent.trim();
        var descending = params.get("sort") === label && params.get("desc") !== "1";
        setParam("sort", label);
        setParam("desc", descending ? "1" : "");
        before().then(function () { sortTable(table, label, descending); applyFilters(); });
      });
    });
  }

  function applySort(table) {
    if (params.get("sort")) sortTable(table, params.get("sort"), params.get("desc") === "1");
  }

  // --- the runs table: every run, loaded on demand ----------------------------------------------
  var allRuns = null;
  function ensureAllRuns() {
    var table = document.getElementById("runs");
    if (!table || table.getAttribute("data-all") === "1") return Promise.resolve();
    if (allRuns) return allRuns;
    allRuns = load("overview").then(function (overview) {
      return Promise.all(overview.chunks.map(load)).then(function (parts) {
        window.agentvPairs = overview.pairs;
        table.tBodies[0].innerHTML = parts.reverse().join("");
        table.setAttribute("data-all", "1");
        var note = document.getElementById("runs-note");
        if (note) note.hidden = true;
        restoreSelection();
      });
    });
    return allRuns;
  }

  // --- compare selection ----------------------------------------------------------------------
  function selected() { return (params.get("sel") || "").split(",").filter(Boolean); }

  function restoreSelection() {
    var chosen = selected();
    document.querySelectorAll("input.pick").forEach(function (box) {
      box.checked = chosen.indexOf(box.value) >= 0;
    });
    updateCompare();
  }

  function rowOf(id) { return document.querySelector('#runs tr[data-id="' + id + '"]'); }

  function updateCompare() {
    var link = document.getElementById("compare"), note = document.getElementById("compare-note");
    if (!link) return;
    var chosen = selected();
    link.setAttribute("aria-disabled", "true");
    link.removeAttribute("href");
    if (chosen.length !== 2) {
      note.textContent = chosen.length + " of 2 runs selected";
      return;
    }
    var a = rowOf(chosen[0]), b = rowOf(chosen[1]);
    if (!a || !b) { note.textContent = "loading the selected runs…"; return; }
    if (+a.getAttribute("data-seq") > +b.getAttribute("data-seq")) { var t = a; a = b; b = t; }
    var base = a.getAttribute("data-id"), next = b.getAttribute("data-id");
    var pair = base + "-" + next;
    if (b.getAttribute("data-prev") === base || (window.agentvPairs || []).indexOf(pair) >= 0) {
      link.href = root + "compare/" + pair + ".html";
      link.setAttribute("aria-disabled", "false");
      note.textContent = "base " + base.slice(0, 8) + " → new " + next.slice(0, 8);
    } else {
      note.textContent = "no compare page for this pair: add it with 'agentv-results dashboard " +
        "--compare " + base.slice(0, 8) + " " + next.slice(0, 8) + "', or run 'agentv-results diff " +
        base.slice(0, 8) + " " + next.slice(0, 8) + "'";
    }
  }

  function setupSelection() {
    var table = document.getElementById("runs");
    if (!table) return;
    table.addEventListener("change", function (event) {
      var box = event.target;
      if (!box.classList || !box.classList.contains("pick")) return;
      var chosen = selected().filter(function (id) { return id !== box.value; });
      if (box.checked) chosen.push(box.value);
      while (chosen.length > 2) chosen.shift();
      setParam("sel", chosen.join(","));
      restoreSelection();
    });
  }

  // --- compare page ---------------------------------------------------------------------------
  function setupCompare() {
    var only = document.getElementById("only-differs");
    if (!only) return;
    only.checked = params.get("only") === "differs";
    only.addEventListener("change", function () {
      setParam("only", only.checked ? "differs" : "");
    });
  }

  // --- start ----------------------------------------------------------------------------------
  function refresh() {
    var table = document.getElementById("runs");
    var need = table && (active() || params.get("sort") || selected().length);
    return (need ? ensureAllRuns() : Promise.resolve()).then(function () {
      document.querySelectorAll("table.sortable").forEach(applySort);
      applyFilters();
    });
  }

  setupFilters(refresh);
  document.querySelectorAll("table.sortable").forEach(function (table) {
    setupSorting(table, table.id === "runs" ? ensureAllRuns : function () { return Promise.resolve(); });
  });
  setupSelection();
  setupCompare();
  restoreSelection();
  refresh().then(function () { document.documentElement.setAttribute("data-ready", "1"); });
})();
