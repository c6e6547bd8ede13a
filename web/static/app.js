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
      return;
    }
    // File inputs with data-max-bytes refuse a file over the limit before
    // it is sent (the server refuses it too, after the upload).
    Array.prototype.forEach.call(form.querySelectorAll("input[type='file'][data-max-bytes]"), function (input) {
      var limit = parseInt(input.getAttribute("data-max-bytes") || "", 10);
      var file = input.files && input.files[0];
      if (!file || !(limit > 0) || file.size <= limit) {
        return;
      }
      ev.preventDefault();
      var id = input.id + "-error";
      var msg = document.getElementById(id);
      if (!msg) {
        msg = document.createElement("p");
        msg.className = "field-error";
        msg.id = id;
        input.insertAdjacentElement("afterend", msg);
      }
      msg.setAttribute("data-size-warning", "");
      msg.textContent = input.getAttribute("data-too-large") || "";
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      input.focus();
    });
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

  // Selects with data-autosubmit submit their form when changed (the
  // catalog's sort order); the form's own button does it without script.
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
      if (typeof el.form.requestSubmit === "function") {
        el.form.requestSubmit();
      } else {
        el.form.submit();
      }
    }
    // A new choice of file clears a size warning given for the last one.
    if (el instanceof HTMLInputElement && el.type === "file" && el.hasAttribute("data-max-bytes")) {
      var warning = document.getElementById(el.id + "-error");
      if (warning && warning.hasAttribute("data-size-warning")) {
        warning.remove();
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
      }
    }
    // Ticking "remove row" greys the row out until the form is saved.
    if (el instanceof HTMLInputElement && el.hasAttribute("data-remove-row")) {
      var row = el.closest("[data-item-row]");
      if (row) {
        row.classList.toggle("removing", el.checked);
      }
    }
  });

  // Panels marked data-collapse-narrow start closed on phones (the
  // catalog's filters), so the results come first.
  if (window.matchMedia && window.matchMedia("(max-width: 720px)").matches) {
    Array.prototype.forEach.call(document.querySelectorAll("details[data-collapse-narrow]"), function (d) {
      d.open = false;
    });
  }

  // The data items editor: "add" clones the last row with the next index
  // instead of asking the server for more rows.
  var itemIndex = /items\[(\d+)\]/;
  document.addEventListener("click", function (ev) {
    var btn = ev.target instanceof Element ? ev.target.closest("[data-add-row]") : null;
    if (!btn) {
      return;
    }
    var rows = document.querySelectorAll("[data-item-row]");
    var last = rows[rows.length - 1];
    if (!last) {
      return; // the server adds rows
    }
    ev.preventDefault();
    var next = 0;
    Array.prototype.forEach.call(rows, function (row) {
      var field = row.querySelector("[name^='items[']");
      var m = field && itemIndex.exec(field.getAttribute("name") || "");
      if (m) {
        next = Math.max(next, parseInt(m[1], 10) + 1);
      }
    });
    var row = last.cloneNode(true);
    row.classList.remove("removing");
    Array.prototype.forEach.call(row.querySelectorAll(".field-error"), function (p) {
      p.remove();
    });
    Array.prototype.forEach.call(row.querySelectorAll("[name], [id], [for], [aria-describedby]"), function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v) {
          el.setAttribute(attr, v.replace(itemIndex, "items[" + next + "]"));
        }
      });
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
      if (el instanceof HTMLInputElement) {
        if (el.type === "checkbox") {
          el.checked = false;
        } else {
          el.value = "";
        }
      } else if (el instanceof HTMLSelectElement) {
        Array.prototype.forEach.call(el.querySelectorAll("option[data-invalid]"), function (o) {
          o.remove(); // a refused value of the row cloned
        });
        el.value = el.getAttribute("data-default") || "";
      }
    });
    var num = row.querySelector(".row-num");
    if (num) {
      num.textContent = String(rows.length + 1);
    }
    last.parentNode.insertBefore(row, last.nextSibling);
    var first = row.querySelector("input:not([type='checkbox'])");
    if (first) {
      first.focus();
    }
  });
})();
