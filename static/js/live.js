// Live updates: one websocket per page to /ws/live/ (data-live-debounce="ms" lengthens the wait). The server decides which streams this user
// follows; each event carries an id and a verb only. Elements marked data-live-on="diary. report."
// (and an id) are re-fetched from the same, permission-checked page when a matching verb arrives.
// After a drop the socket reconnects with backoff and resumes from the last event it saw; when
// the server cannot replay that far back it answers "resync" and every live region is refreshed.
(function () {
  "use strict";

  var status = document.getElementById("live-status");
  if (!status || !("WebSocket" in window)) {
    return;
  }
  var lastId = "";
  var delay = 1000;
  var pending = new Set();
  var timer = null;

  function setState(state, label) {
    status.dataset.state = state;
    status.title = label;
    status.querySelector(".live-label").textContent = label;
  }

  function matches(el, verb) {
    return (el.dataset.liveOn || "").split(/[\s,]+/).some(function (prefix) {
      return prefix && verb.indexOf(prefix) === 0;
    });
  }

  function refresh() {
    var targets = Array.from(pending);
    pending.clear();
    timer = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        targets.forEach(function (el) {
          var replacement = el.id && fresh.getElementById(el.id);
          if (replacement && el.isConnected) {
            el.replaceWith(replacement);
            if (window.htmx) { window.htmx.process(replacement); }
          }
        });
        document.dispatchEvent(new CustomEvent("psp:live-refreshed", { detail: { count: targets.length } }));
      })
      .catch(function () { /* the next event or reconnect tries again */ });
  }

  function schedule(targets) {
    // Debounce bursts into one fetch; heavy aggregate pages ask for a longer wait.
    var wait = 250;
    targets.forEach(function (el) {
      pending.add(el);
      wait = Math.max(wait, parseInt(el.dataset.liveDebounce || "250", 10) || 250);
    });
    if (!timer) { timer = setTimeout(refresh, wait); }
  }

  function onEvent(message) {
    if (message.id) { lastId = message.id; }
    document.dispatchEvent(new CustomEvent("psp:live", { detail: message }));
    var targets = Array.from(document.querySelectorAll("[data-live-on]")).filter(function (el) {
      return matches(el, message.verb || "");
    });
    if (targets.length) { schedule(targets); }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + window.location.host + "/ws/live/" + (lastId ? "?after=" + encodeURIComponent(lastId) : "");
    var socket = new WebSocket(url);
    window.pspLive = { socket: socket, lastId: function () { return lastId; } }; // for tests and debugging
    socket.onopen = function () {
      delay = 1000;
      setState("on", status.dataset.labelOn);
    };
    socket.onmessage = function (frame) {
      var message = JSON.parse(frame.data);
      if (message.type === "event") {
        onEvent(message);
      } else if (message.type === "resync") {
        schedule(Array.from(document.querySelectorAll("[data-live-on]")));
      }
    };
    socket.onclose = function (event) {
      setState("off", status.dataset.labelOff);
      if (event.code === 4401) { return; } // signed out: nothing to follow
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  connect();
})();
