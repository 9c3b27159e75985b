// Keyboard shortcuts and small helps for the labeling pages. Without
// JavaScript every button works the same (the server refuses A or B without
// a strength and says so); this maps keys to the buttons, lets A or B wait
// for the strength, and remembers the difference view.
(function () {
  "use strict";
  var form = document.getElementById("labelform");
  var undo = document.getElementById("undoform");
  var comment = document.getElementById("comment");
  var skipbox = document.getElementById("skipbox");
  var reason = document.getElementById("reason");
  var diff = document.getElementById("diffview");
  var hint = document.getElementById("hint");
  var busy = false;
  var pending = null; // "a" or "b": waiting for a strength

  var optional = form && form.getAttribute("data-strength-optional") === "true";

  function strengthChosen() {
    return form && form.querySelector('input[name="strength"]:checked') !== null;
  }

  function say(text) {
    if (!hint) return;
    hint.textContent = text;
    hint.hidden = !text;
  }

  function send(button) {
    if (busy) return;
    busy = true; // one label per item, even if a key repeats
    if (form.requestSubmit) form.requestSubmit(button); else button.click();
  }

  function choose(value) {
    if (!form || busy) return;
    var button = document.getElementById("choice-" + value);
    if (!button) return;
    if ((value === "a" || value === "b") && !optional && !strengthChosen()) {
      wait(value);
      return;
    }
    send(button);
  }

  function wait(value) {
    pending = value;
    ["a", "b"].forEach(function (v) {
      var b = document.getElementById("choice-" + v);
      if (b) b.classList.toggle("pending", v === value);
    });
    document.getElementById("strength").classList.add("asking");
    say(value.toUpperCase() + " is better: how much? 1, 2 or 3");
  }

  function strength(n) {
    if (!form) return;
    var r = form.querySelector('input[name="strength"][value="' + n + '"]');
    if (!r) return;
    r.checked = true;
    if (pending) {
      send(document.getElementById("choice-" + pending));
    }
  }

  if (form) {
    form.addEventListener("submit", function (e) {
      var b = e.submitter;
      if (b && (b.value === "a" || b.value === "b") && !optional && !strengthChosen()) {
        e.preventDefault();
        busy = false;
        wait(b.value);
      }
    });
    form.querySelectorAll('input[name="strength"]').forEach(function (r) {
      r.addEventListener("change", function () { if (pending) strength(r.value); });
    });
  }

  if (diff) {
    try { diff.checked = localStorage.getItem("prefdata-diff") === "1"; } catch (err) { /* private mode */ }
    diff.addEventListener("change", function () {
      try { localStorage.setItem("prefdata-diff", diff.checked ? "1" : "0"); } catch (err) { /* private mode */ }
    });
  }

  function openBox(box, field) {
    if (!box) return;
    box.open = true;
    if (field) field.focus();
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.tagName === "INPUT" && t.type === "text")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    switch (e.key) {
      case "a": case "A": case "ArrowLeft": choose("a"); break;
      case "b": case "B": case "ArrowRight": choose("b"); break;
      case "t": case "T": choose("tie"); break;
      case "x": case "X": choose("both_bad"); break;
      case "1": case "2": case "3": strength(e.key); break;
      case "d": case "D": if (diff) { diff.click(); } break;
      case "c": case "C": if (comment) openBox(comment.closest("details"), comment); break;
      case "s": case "S": openBox(skipbox, reason); break;
      case "u": case "U": if (undo && !busy) { busy = true; undo.submit(); } break;
      case "Escape": pending = null; say(""); break;
      default: return;
    }
    e.preventDefault();
  });
})();
