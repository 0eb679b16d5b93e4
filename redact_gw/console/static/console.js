// redact_gw console: the only script. Selecting text in a transcript segment fills the
// "missed personal data" form (segment and text); everything works without it too.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var text = document.getElementById("missed-text");
  var segment = document.getElementById("missed-segment");
  if (!text || !segment) { return; }
  document.addEventListener("selectionchange", function () {
    var sel = document.getSelection();
    if (!sel || sel.isCollapsed || sel.rangeCount === 0) { return; }
    var node = sel.anchorNode;
    var el = node && (node.nodeType === 1 ? node : node.parentElement);
    var seg = el && el.closest ? el.closest(".segment[data-segment]") : null;
    var chosen = sel.toString().trim();
    if (!seg || !chosen || chosen.length > 200) { return; }
    segment.value = seg.getAttribute("data-segment");
    text.value = chosen;
  });
});
