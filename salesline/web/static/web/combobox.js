// Company and person pickers: one combobox everywhere a record is chosen (record forms, inline
// edits, the board's gate panel, lead conversion), after the WAI-ARIA APG "combobox with listbox
// popup" with list autocomplete and no automatic selection.
//
// The server renders a plain <select> (none, the chosen record, the first few by name) in a
// <div data-combobox>: without JavaScript that list is the picker. Here it becomes a text input
// (role=combobox) that asks the server for matches as the user types, a listbox of them, and a
// hidden input carrying the chosen id under the select's name — the form posts what it posted
// before. Names reach the page as JSON and go in with textContent: a name is never markup.
// Deferred and from our own origin (the CSP); started for every picker on the page and for
// every one added later (an inline edit swapped in by htmx, a gate panel opened by board.js).
"use strict";

(() => {
  const DELAY_MS = 200; // typing pauses this long before the server is asked
  const NOUNS = { company: ["company", "companies"], person: ["person", "people"] };
  const checks = new WeakMap(); // wrapper -> its check before the form is sent

  function enhance(wrapper) {
    const select = wrapper.querySelector("select");
    if (!select || wrapper.dataset.ready) return;
    wrapper.dataset.ready = "true";
    const id = select.id;
    const [noun, plural] = NOUNS[wrapper.dataset.kind] || ["record", "records"];
    const label = document.querySelector(`label[for="${CSS.escape(id)}"]`);
    const chosenId = select.value;
    const chosenName = chosenId ? wrapper.dataset.name || select.selectedOptions[0]?.text || "" : "";

    const input = document.createElement("input");
    Object.assign(input, { type: "text", id, value: chosenName, autocomplete: "off", spellcheck: false });
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", `${id}-listbox`);
    for (const name of ["aria-invalid", "aria-required"]) {
      if (select.hasAttribute(name)) input.setAttribute(name, select.getAttribute(name));
    }
    const hidden = document.createElement("input");
    Object.assign(hidden, { type: "hidden", name: select.name, value: chosenId });
    const listbox = document.createElement("ul");
    listbox.id = `${id}-listbox`;
    listbox.className = "combobox-list";
    listbox.setAttribute("role", "listbox");
    listbox.hidden = true;
    if (label) {
      label.id ||= `${id}-label`;
      listbox.setAttribute("aria-labelledby", label.id);
    }
    // Says why nothing is listed, or that text was typed but nothing chosen.
    const note = document.createElement("p");
    note.id = `${id}-note`;
    note.className = "combobox-note";
    note.setAttribute("aria-live", "polite");
    const described = [select.getAttribute("aria-describedby"), note.id].filter(Boolean);
    input.setAttribute("aria-describedby", described.join(" "));
    const field = document.createElement("div"); // the list opens right under the input
    field.className = "combobox-field";
    field.append(input, listbox);
    select.replaceWith(field, hidden, note);

    // A contact picker lists the chosen company's people by default; unticking the box shows
    // everyone.
    let scope = null;
    if (wrapper.dataset.narrow || wrapper.dataset.company) {
      scope = document.createElement("label");
      scope.className = "combobox-scope";
      const box = document.createElement("input");
      Object.assign(box, { type: "checkbox", checked: true });
      scope.append(box, document.createTextNode(" "), document.createElement("span"));
      field.before(scope); // above the input: the open list never covers it
      box.addEventListener("change", () => {
        listedFor = null; // the next search asks for the other scope
        close();
      });
    }
    const form = input.form;
    const companyInput = () => {
      const named = wrapper.dataset.narrow && form?.elements.namedItem(wrapper.dataset.narrow);
      return named instanceof HTMLInputElement || named instanceof HTMLSelectElement ? named : null;
    };
    // The company chosen in the same form, else the one the page gave (the opportunity's).
    const companyId = () => companyInput()?.value || wrapper.dataset.company || "";
    const companyName = () => {
      const named = companyInput();
      const text = named?.value
        ? named.closest("[data-combobox]")?.querySelector("[role=combobox]")?.value
        : wrapper.dataset.companyName;
      return text || "the chosen company";
    };
    const narrowed = () => Boolean(scope && scope.querySelector("input").checked && companyId());
    function updateScope() {
      if (!scope) return;
      scope.hidden = !companyId();
      scope.querySelector("span").textContent = `Only people at ${companyName()}`;
    }
    updateScope();
    form?.addEventListener("change", (event) => {
      if (scope && event.target === companyInput()) {
        listedFor = null;
        updateScope();
      }
    });

    let items = [];
    let listedFor = null; // the search `items` answer: ArrowDown reopens them without asking
    let active = -1;
    let timer = 0;
    let pending = null;
    let failed = false; // the last check refused the text: the note says so until it is fixed

    const isOpen = () => !listbox.hidden;

    function open() {
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      const options = listbox.children;
      if (!options.length) return;
      active = (index + options.length) % options.length;
      for (const [n, option] of Array.from(options).entries()) {
        option.setAttribute("aria-selected", String(n === active));
      }
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({ block: "nearest" });
    }

    const searchKey = () => `${input.value.trim()}\n${narrowed() ? companyId() : ""}`;

    function render(found, q) {
      items = found;
      listedFor = searchKey();
      listbox.replaceChildren(
        ...found.map((item, n) => {
          const option = document.createElement("li");
          option.id = `${id}-option-${n}`;
          option.setAttribute("role", "option");
          option.setAttribute("aria-selected", "false");
          const name = document.createElement("span");
          name.textContent = item.name;
          option.append(name);
          if (item.detail) {
            const detail = document.createElement("span");
            detail.className = "combobox-detail";
            detail.textContent = item.detail;
            option.append(" ", detail);
          }
          return option;
        }),
      );
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (found.length) {
        if (!failed) note.textContent = "";
        // An answer that comes after the user left the field does not open a list there.
        if (document.activeElement === input) open();
      } else {
        close();
        const where = narrowed() ? ` at ${companyName()}` : "";
        note.textContent = q ? `No ${noun}${where} has a word starting with “${q}”.` : `No ${plural}${where} yet.`;
      }
    }

    // Asks the server for the matches of the text typed; resolves when they are listed.
    async function search() {
      clearTimeout(timer);
      if (listedFor === searchKey()) {
        render(items, input.value.trim());
        return;
      }
      pending?.abort();
      pending = new AbortController();
      const q = input.value.trim();
      const params = new URLSearchParams({ q });
      if (narrowed()) params.set("company", companyId());
      try {
        const response = await fetch(`${wrapper.dataset.source}?${params}`, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          signal: pending.signal,
        });
        if (!response.ok) throw new Error(String(response.status));
        render((await response.json()).items, q);
      } catch (error) {
        if (error.name === "AbortError") return;
        close();
        note.textContent = `The ${plural} could not be searched; check the connection and try again.`;
      }
    }

    function choose(index) {
      const item = items[index];
      if (!item) return;
      input.value = item.name;
      const changed = hidden.value !== item.id;
      hidden.value = item.id;
      close();
      if (failed) {
        failed = false;
        input.removeAttribute("aria-invalid");
      }
      note.textContent = "";
      if (changed) hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function clearChoice() {
      if (!hidden.value) return;
      hidden.value = "";
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }

    // Text typed but nothing chosen: the one listed record of exactly that name is the choice.
    function resolveTyped() {
      const text = input.value.trim().toLowerCase();
      if (hidden.value || !text) return true;
      const same = items.filter((item) => item.name.trim().toLowerCase() === text);
      if (same.length === 1) choose(items.indexOf(same[0]));
      return Boolean(hidden.value);
    }

    input.addEventListener("input", () => {
      clearChoice(); // the text no longer names the chosen record
      clearTimeout(timer);
      if (!input.value.trim()) {
        pending?.abort();
        close();
        if (!failed) note.textContent = "";
        return;
      }
      timer = setTimeout(search, DELAY_MS);
    });

    input.addEventListener("keydown", async (event) => {
      const count = listbox.children.length;
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          if (isOpen() && !event.altKey) highlight(active + 1);
          else {
            await search();
            if (!event.altKey) highlight(0);
          }
          break;
        case "ArrowUp":
          event.preventDefault();
          if (isOpen()) highlight(active <= 0 ? count - 1 : active - 1);
          else {
            await search();
            highlight(listbox.children.length - 1);
          }
          break;
        case "Home":
        case "End":
          if (!isOpen() || !count) break;
          event.preventDefault();
          highlight(event.key === "Home" ? 0 : count - 1);
          break;
        case "Enter":
          if (isOpen() && active >= 0) {
            event.preventDefault(); // a choice, not the form's submit
            choose(active);
          }
          break;
        case "Escape":
          if (isOpen()) {
            // Closes the list only, not the dialog or the inline edit around it.
            event.preventDefault();
            event.stopPropagation();
            close();
          }
          break;
        case "Tab":
          close();
          break;
      }
    });

    input.addEventListener("blur", () => {
      close();
      resolveTyped();
    });
    // The list keeps focus in the input, so that a click chooses instead of blurring first.
    listbox.addEventListener("mousedown", (event) => event.preventDefault());
    listbox.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) choose(Array.from(listbox.children).indexOf(option));
    });

    checks.set(wrapper, () => {
      if (resolveTyped() || wrapper.closest("[hidden]")) return true;
      failed = true;
      input.setAttribute("aria-invalid", "true");
      note.textContent = `Choose a ${noun} from the list, or clear the text: “${input.value.trim()}” is not chosen yet.`;
      input.focus();
      search();
      return false;
    });
  }

  // Text typed but no record chosen is not sent as "no company": the form stays, and says so.
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      for (const wrapper of form.querySelectorAll("[data-combobox][data-ready]")) {
        if (!checks.get(wrapper)?.()) {
          event.preventDefault();
          event.stopImmediatePropagation();
          return;
        }
      }
    },
    true,
  );

  function enhanceAll(root) {
    if (root.matches?.("[data-combobox]")) enhance(root);
    for (const wrapper of root.querySelectorAll?.("[data-combobox]") || []) enhance(wrapper);
  }

  enhanceAll(document);
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) if (node.nodeType === Node.ELEMENT_NODE) enhanceAll(node);
    }
  }).observe(document.body, { childList: true, subtree: true });
})();
