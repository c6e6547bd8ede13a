// cityhub console: small enhancements only. Every page works without it.
(function () {
  "use strict";

  // Forms with data-confirm ask before they submit (deletions, revocations).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
    }
  });

  function selectText(el) {
    var sel = window.getSelection();
    if (!sel) {
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(el);
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // Buttons with data-copy="id" copy that element's text; they stay hidden
  // without JavaScript.
  var buttons = document.querySelectorAll("[data-copy]");
  Array.prototype.forEach.call(buttons, function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var source = document.getElementById(btn.getAttribute("data-copy") || "");
      if (!source) {
        return;
      }
      var done = function () {
        btn.textContent = btn.getAttribute("data-copied-label") || btn.textContent;
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.textContent || "").then(done, function () {
          selectText(source);
        });
      } else {
        selectText(source);
      }
    });
  });
})();
