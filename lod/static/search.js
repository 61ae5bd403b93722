/* The static search of search.html: loads only the index files a query needs (lod/pages/search.py),
   as <script> files, so it works from any static host and from the built folder opened as files. */
window.lodSearch = (function () {
  "use strict";
  var here = document.currentScript ? document.currentScript.src.replace(/[^\/]*$/, "") : "search/";
  var words = {}, docs = {}, facets = {}, loading = {}, meta = null, SHOWN = 50, run = 0;

  function load(file, cb) {
    if (loading[file] === true) { cb(); return; }
    if (loading[file]) { loading[file].push(cb); return; }
    loading[file] = [cb];
    var s = document.createElement("script");
    s.src = here + file + ".js";
    s.onload = s.onerror = function () { var cbs = loading[file]; loading[file] = true; for (var i = 0; i < cbs.length; i++) { cbs[i](); } };
    document.head.appendChild(s);
  }
  function loadAll(files, cb) {
    var left = files.length;
    if (!left) { cb(); return; }
    for (var i = 0; i < files.length; i++) { load(files[i], function () { if (--left === 0) { cb(); } }); }
  }
  function normalise(text) { return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase(); }
  function terms(text) {
    var out = [], seen = {}, parts = normalise(text).split(/[^\p{L}\p{N}]+/u);
    for (var i = 0; i < parts.length; i++) { if (parts[i].length >= 2 && !seen[parts[i]]) { seen[parts[i]] = 1; out.push(parts[i]); } }
    return out;
  }
  function hex(s) {
    var bytes = new TextEncoder().encode(Array.from(s).slice(0, 2).join("")), h = "";
    for (var i = 0; i < bytes.length; i++) { h += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return "t-" + h;
  }
  function intersect(a, b) {
    if (a === null) { return b; }
    var set = {}, out = [];
    for (var i = 0; i < b.length; i++) { set[b[i]] = 1; }
    for (var j = 0; j < a.length; j++) { if (set[a[j]]) { out.push(a[j]); } }
    return out;
  }
  function matching(term) {  // every talk with a word starting with term
    var shard = words[hex(term)] || {}, hits = {}, out = [];
    for (var w in shard) { if (w.lastIndexOf(term, 0) === 0) { var p = shard[w]; for (var i = 0; i < p.length; i++) { hits[p[i]] = 1; } } }
    for (var n in hits) { out.push(Number(n)); }
    return out;
  }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) { e.className = cls; } if (text) { e.textContent = text; } return e; }

  function search() {
    var form = document.getElementById("search"), mine = ++run;
    var q = form.elements.q.value, ts = terms(q), chosen = [];
    ["in", "topic", "year"].forEach(function (f) { var v = form.elements[f].value; if (v) { chosen.push("f-" + f + "-" + v); } });
    var params = new URLSearchParams();
    if (q) { params.set("q", q); }
    ["in", "topic", "year"].forEach(function (f) { if (form.elements[f].value) { params.set(f, form.elements[f].value); } });
    if (window.history && history.replaceState && location.protocol !== "file:") { history.replaceState(null, "", "?" + params.toString()); }
    var status = document.getElementById("search-status"), box = document.getElementById("search-results");
    if (!ts.length && !chosen.length) { status.textContent = "Type a word (two letters or more) or choose a filter."; box.textContent = ""; return; }
    status.textContent = "Searching…";
    var files = ts.map(hex).concat(chosen).concat(["meta"]);
    loadAll(files, function () {
      if (mine !== run) { return; }
      var found = null;
      for (var i = 0; i < ts.length; i++) { found = intersect(found, matching(ts[i])); }
      for (var j = 0; j < chosen.length; j++) { found = intersect(found, facets[chosen[j].slice(2)] || []); }
      // A talk's number sorts by its day and time (lod/pages/search.py): newest first.
      found = (found || []).slice().sort(function (a, b) { return b - a; });
      var shown = found.slice(0, SHOWN), need = {};
      shown.forEach(function (n) { need["d-" + Math.floor(n / meta.bucket)] = 1; });
      loadAll(Object.keys(need), function () {
        if (mine !== run) { return; }
        box.textContent = "";
        status.textContent = found.length === 0 ? "No talk found." : found.length + (found.length === 1 ? " talk found" : " talks found") +
          (found.length > SHOWN ? "; the " + SHOWN + " most recent are shown." : ".");
        if (!shown.length) { return; }
        var ul = el("ul", "items");
        shown.forEach(function (n) {
          var d = (docs[Math.floor(n / meta.bucket)] || {})[n];
          if (!d) { return; }  // an index file missing: the others still show
          var li = el("li"), a = el("a", "item-title", d[2]);
          a.href = here + "../" + d[1];
          var when = el("div", "meta");
          if (d[3]) { var t = el("time", "", d[3]); t.setAttribute("datetime", d[3]); when.appendChild(t); }
          li.appendChild(when);
          var title = el("div"); title.appendChild(a); li.appendChild(title);
          var more = [d[4], d[5]].filter(Boolean).join(" · ");
          if (more) { li.appendChild(el("div", "meta", more)); }
          ul.appendChild(li);
        });
        box.appendChild(ul);
      });
    });
  }

  function start() {
    var form = document.getElementById("search");
    if (!form) { return; }
    var params = new URLSearchParams(location.search), timer = null;
    form.elements.q.value = params.get("q") || "";
    ["in", "topic", "year"].forEach(function (f) { if (params.get(f)) { form.elements[f].value = params.get(f); } });
    form.addEventListener("submit", function (e) { e.preventDefault(); search(); });
    form.addEventListener("change", search);
    form.elements.q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 150); });
    if (params.toString()) { search(); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }

  return {
    words: function (name, map) { words[name] = map; },
    docs: function (b, list) { var byNumber = {}; for (var i = 0; i < list.length; i++) { byNumber[list[i][0]] = list[i]; } docs[b] = byNumber; },
    facet: function (key, list) { facets[key] = list; },
    meta: function (m) { meta = m; }
  };
}());
