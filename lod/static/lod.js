/* Progressive enhancements of the site's pages; every page is complete without them.
   1. Times in the visitor's own time zone, beside the venue's and UTC.
   2. Upcoming and past talks on the home page split at the visitor's "now" rather than the build's. */
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }

  function fmt(d, opts) {
    var o = { timeZone: zone };
    for (var k in opts) { o[k] = opts[k]; }
    return new Intl.DateTimeFormat("en-GB", o).format(d);
  }
  function dayOf(d) {  // "Friday 21 February 2025", as the pages write days
    var parts = new Intl.DateTimeFormat("en-GB", { timeZone: zone, weekday: "long", day: "numeric", month: "long",
                                                   year: "numeric" }).formatToParts(d), got = {};
    for (var i = 0; i < parts.length; i++) { got[parts[i].type] = parts[i].value; }
    return got.weekday + " " + got.day + " " + got.month + " " + got.year;
  }
  function timeOf(d) {
    return fmt(d, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
  function offsetOf(d) {
    var parts = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "longOffset" }).formatToParts(d);
    for (var i = 0; i < parts.length; i++) { if (parts[i].type === "timeZoneName") { return parts[i].value.replace("GMT", "UTC") || "UTC"; } }
    return "";
  }
  function instant(el) {
    var v = el && el.getAttribute("datetime");
    return v && v.length > 10 ? new Date(v) : null;
  }

  function visitorTimes() {
    if (/^(Etc\/)?(UTC|GMT|UCT|Zulu|Universal)$/.test(zone)) { return; }  // the UTC line already says it
    var utcs = document.querySelectorAll("span.utc");
    for (var i = 0; i < utcs.length; i++) {
      var utc = utcs[i], local = utc.parentNode.querySelector(".local");
      if (!local) { continue; }
      var times = local.querySelectorAll("time"), a = instant(times[0]), b = instant(times[1]);
      if (!a || isNaN(a)) { continue; }
      var text = dayOf(a) + ", " + timeOf(a);
      if (b && !isNaN(b)) { text += (dayOf(b) === dayOf(a) ? "–" : " – " + dayOf(b) + ", ") + timeOf(b); }
      var span = document.createElement("span");
      span.className = "visitor";
      span.textContent = text + " your time (" + zone + (offsetOf(a) ? ", " + offsetOf(a) : "") + ")";
      utc.parentNode.insertBefore(span, utc.nextSibling);
      utc.parentNode.insertBefore(document.createElement("br"), span);
    }
  }

  function todayLocal() {
    var d = new Date(), m = d.getMonth() + 1, day = d.getDate();
    return d.getFullYear() + "-" + (m < 10 ? "0" : "") + m + "-" + (day < 10 ? "0" : "") + day;
  }
  function isUpcoming(end, now, today) {
    if (end.length <= 10) { return end >= today; }  // known by its day only: upcoming until that day is over
    return Date.parse(end) >= now;
  }
  function list(box, items, empty) {
    box.textContent = "";
    if (!items.length) {
      var p = document.createElement("p"); p.className = "meta"; p.textContent = empty; box.appendChild(p); return;
    }
    var ul = document.createElement("ul"); ul.className = "items";
    for (var i = 0; i < items.length; i++) { ul.appendChild(items[i]); ul.appendChild(document.createTextNode("\n")); }
    box.appendChild(ul);
  }
  function upcomingPast() {
    var up = document.getElementById("upcoming-talks"), past = document.getElementById("past-talks");
    if (!up || !past) { return; }
    var all = Array.prototype.slice.call(document.querySelectorAll("#upcoming-talks li[data-end], #past-talks li[data-end]"));
    var now = Date.now(), today = todayLocal(), soon = [], gone = [];
    all.sort(function (x, y) { return Number(x.getAttribute("data-order")) - Number(y.getAttribute("data-order")); });
    for (var i = 0; i < all.length; i++) { (isUpcoming(all[i].getAttribute("data-end"), now, today) ? soon : gone).push(all[i]); }
    gone.reverse();
    list(up, soon, "No upcoming talks.");
    list(past, gone, "No past talks.");
    var asOf = document.getElementById("as-of");
    if (asOf) { asOf.textContent = "As of now in your browser"; }
  }

  function run() { visitorTimes(); upcomingPast(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", run); } else { run(); }
}());
