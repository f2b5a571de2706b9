// Pagefind in Material's search box (mkdocs.yml: extra: kb_search: pagefind).
//
// Material's own search downloads the whole index (every word of every page) before it can show a result; at
// thousands of studies that is megabytes. Pagefind fetches only the index chunks for the words typed and the
// excerpts of the results shown. main.html detaches Material's search before its bundle runs (so it neither
// fetches search_index.json nor binds the box); this script drives the same box, in Material's markup and styles.
(function () {
  "use strict";
  const root = document.querySelector('[data-kb-search="pagefind"]');
  if (!root) return;
  const input = root.querySelector("input.md-search__input");
  const meta = root.querySelector(".md-search-result__meta");
  const list = root.querySelector(".md-search-result__list");
  const toggle = document.getElementById("__search");
  const config = JSON.parse(document.getElementById("__config").textContent);
  const base = new URL(config.base.replace(/\/?$/, "/"), location.href);
  const PAGE = 5; // results per batch: each one fetches its own excerpt, so the first answer comes sooner
  let pagefind = null;
  let latest = 0;
  meta.textContent = "Type to start searching";

  function load() {
    if (!pagefind) {
      pagefind = import(new URL("pagefind/pagefind.js", base).href).then(async (module) => {
        await module.options({ baseUrl: base.pathname });
        return module;
      });
    }
    return pagefind;
  }

  // Excerpts come from Pagefind as HTML with <mark> around matches; keep only their text and the marks.
  function excerptNodes(html) {
    const parsed = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html");
    const paragraph = document.createElement("p");
    for (const node of parsed.body.firstChild.childNodes) {
      if (node.nodeName === "MARK") {
        const mark = document.createElement("mark");
        mark.textContent = node.textContent;
        paragraph.append(mark);
      } else {
        paragraph.append(document.createTextNode(node.textContent));
      }
    }
    return paragraph;
  }

  function item(data) {
    const link = document.createElement("a");
    link.className = "md-search-result__link";
    link.href = data.url;
    link.tabIndex = -1;
    const article = document.createElement("article");
    article.className = "md-search-result__article md-typeset";
    const title = document.createElement("h1");
    title.textContent = (data.meta && data.meta.title) || data.url;
    article.append(title, excerptNodes(data.excerpt || ""));
    link.append(article);
    const entry = document.createElement("li");
    entry.className = "md-search-result__item";
    entry.append(link);
    return entry;
  }

  async function search(query) {
    const ticket = ++latest;
    if (!query.trim()) {
      list.replaceChildren();
      meta.textContent = "Type to start searching";
      return;
    }
    let module;
    try {
      module = await load();
    } catch (error) {
      pagefind = null; // try again on the next keystroke
      meta.textContent = "Search is not available: the index is built by `kb build` (not by `kb serve`)";
      return;
    }
    const found = await module.search(query);
    if (ticket !== latest || !found) return; // a newer query has started
    const count = found.results.length;
    meta.textContent = count === 0 ? "No matching documents" : `${count} matching document${count === 1 ? "" : "s"}`;
    list.replaceChildren();
    await showMore(found.results, 0, ticket);
  }

  // The next PAGE results, then a button for the ones after them.
  async function showMore(results, start, ticket) {
    const data = await Promise.all(results.slice(start, start + PAGE).map((result) => result.data()));
    if (ticket !== latest) return;
    list.append(...data.map(item));
    if (start + PAGE < results.length) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "md-button";
      button.textContent = `Show more results (${results.length - start - PAGE} left)`;
      const entry = document.createElement("li");
      entry.className = "md-search-result__item kb-search-more";
      entry.append(button);
      button.addEventListener("click", () => {
        entry.remove();
        showMore(results, start + PAGE, ticket);
      });
      list.append(entry);
    }
  }

  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value), 150);
  });
  input.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const first = list.querySelector("a");
    if (first) location.href = first.href;
  });
  input.form.addEventListener("reset", () => setTimeout(() => search(""), 0));
  input.addEventListener("focus", () => {
    toggle.checked = true;
    load();
  });
  toggle.addEventListener("change", () => {
    if (toggle.checked) input.focus();
  });
  list.addEventListener("click", (event) => {
    if (event.target.closest("a")) toggle.checked = false;
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape" && toggle.checked) {
      toggle.checked = false;
      input.blur();
    } else if (!typing && !event.ctrlKey && !event.metaKey && !event.altKey && ["/", "s", "f"].includes(event.key)) {
      event.preventDefault();
      toggle.checked = true;
      input.focus();
    }
  });
})();
