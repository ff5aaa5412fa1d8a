// The console's only script: progressive enhancement, nothing needs it.
// On a scan's progress page it follows the job's server-sent events (the API's own stream)
// and writes them into the page as text (textContent only: device strings stay inert).
"use strict";

(function () {
  var section = document.getElementById("scan-job");
  if (!section || !section.dataset.eventsUrl || section.dataset.ended === "yes" ||
      !window.EventSource) {
    return;
  }
  var list = document.getElementById("job-events");
  var state = document.getElementById("job-state-value");
  var progress = document.getElementById("job-progress");
  var count = document.getElementById("job-count");
  var silentLine = document.getElementById("job-silent");
  var total = null;
  var done = 0;
  var silent = 0;

  function describe(event) {
    switch (event.event) {
      case "started":
        return "started: " + event.hosts + " hosts";
      case "host":
        if (!event.manufacturer) {
          return "host: " + event.ip + " — answered, maker not identified";
        }
        return "host: " + event.ip + " — " + event.manufacturer +
          (event.restricted ? " (restricted)" : "");
      case "scanned":
        return "scanned: " + event.devices + " devices";
      case "stored":
        return "stored: scan " + event.scan_id;
      case "failed":
        return "failed: " + event.detail;
      default:
        return String(event.event);
    }
  }

  function show(event) {
    if (event.event === "started") {
      total = event.hosts;
      progress.max = Math.max(total, 1);
    } else if (event.event === "host") {
      done += 1;
      progress.value = done;
    }
    count.textContent = done + " of " + (total === null ? "?" : total);
    if (event.event === "host" && !event.found) {
      // a host without an answer is counted on one line, not listed: finds stay visible
      silent += 1;
      silentLine.textContent = silent + (silent === 1 ? " host" : " hosts") +
        " without an answer (no open port), not listed one by one.";
      return;
    }
    var item = document.createElement("li");
    item.textContent = describe(event);
    list.appendChild(item);
    if (event.event === "stored") {
      state.textContent = "done";
    } else if (event.event === "failed") {
      state.textContent = "failed";
    }
  }

  // The stream starts from the first event: the server-rendered ones are replaced.
  list.textContent = "";
  silentLine.textContent = "0 hosts without an answer (no open port), not listed one by one.";
  var source = new EventSource(section.dataset.eventsUrl);
  ["started", "host", "scanned", "stored", "failed"].forEach(function (name) {
    source.addEventListener(name, function (message) {
      show(JSON.parse(message.data));
      if (name === "stored" || name === "failed") {
        source.close();
      }
    });
  });
  source.onerror = function () {
    // The stream ends with the job; the browser would reconnect and replay it.
    source.close();
  };
})();
