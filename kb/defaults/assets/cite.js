/*
 * "Cite this" on a study page: each button saves the BibTeX or RIS shown on the page as a file
 * (<study id>.bib or .ris), so a study needs no citation files of its own on the server. The buttons stay
 * hidden without JavaScript; the text itself is always on the page to copy. One listener on the document
 * serves every page that Material's instant navigation swaps in.
 */
(function () {
  "use strict";

  function save(button) {
    var source = document.getElementById(button.dataset.kbDownload);
    if (!source) {
      return;
    }
    var blob = new Blob([source.textContent], { type: button.dataset.kbType + ";charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.dataset.kbFileName;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () {
      URL.revokeObjectURL(link.href);
    }, 0);
  }

  function showButtons() {
    var groups = document.querySelectorAll(".kb-cite__downloads[hidden]");
    Array.prototype.forEach.call(groups, function (group) {
      group.hidden = false;
    });
  }

  // Material's copy button says only "Copy to clipboard" (in a tooltip); name what it copies.
  function nameCopyButtons() {
    var blocks = document.querySelectorAll(".kb-cite details");
    Array.prototype.forEach.call(blocks, function (block) {
      var copy = block.querySelector("button[data-md-type=copy], button.md-clipboard");
      var summary = block.querySelector("summary");
      if (copy && summary) {
        var format = summary.textContent.replace(/^\s*Show\s+/, "").trim(); // "Show BibTeX" -> "BibTeX"
        copy.setAttribute("aria-label", "Copy the " + format + " citation to the clipboard");
      }
    });
  }

  function setup() {
    showButtons();
    nameCopyButtons();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-kb-download]");
    if (button) {
      save(button);
    }
  });
  if (typeof document$ !== "undefined") {
    document$.subscribe(setup);
  } else {
    document.addEventListener("DOMContentLoaded", setup);
  }
})();
