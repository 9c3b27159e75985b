// Keyboard shortcuts for the pairwise view. Without JavaScript the buttons
// work the same; this only maps keys to them.
(function () {
  "use strict";
  var form = document.getElementById("labelform");
  var undo = document.getElementById("undoform");
  var comment = document.getElementById("comment");
  var busy = false;

  function choose(value) {
    if (!form || busy) return;
    var button = document.getElementById("choice-" + value);
    if (!button) return;
    busy = true; // one label per item, even if a key repeats
    if (form.requestSubmit) form.requestSubmit(button); else button.click();
  }

  function strength(n) {
    if (!form) return;
    var r = form.querySelector('input[name="strength"][value="' + n + '"]');
    if (r) r.checked = true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" && t.type === "text")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    switch (e.key) {
      case "a": case "A": case "ArrowLeft": choose("a"); break;
      case "b": case "B": case "ArrowRight": choose("b"); break;
      case "t": case "T": choose("tie"); break;
      case "x": case "X": choose("both_bad"); break;
      case "1": case "2": case "3": strength(e.key); break;
      case "c": case "C": if (comment) comment.focus(); break;
      case "u": case "U": if (undo && !busy) { busy = true; undo.submit(); } break;
      default: return;
    }
    e.preventDefault();
  });
})();
