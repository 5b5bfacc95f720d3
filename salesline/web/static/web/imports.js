// The mapping page: keep "Fields every row needs" current as columns are mapped and values
// given for every row (the server shows the same on load and refuses the rest), and add
// "same value for every row" slots.
"use strict";

const mappingForm = document.querySelector("form.import-mapping");

if (mappingForm) {
  const unit = mappingForm.dataset.unit || "row";
  const constants = mappingForm.querySelector("[data-constants]");
  const template = document.getElementById("import-constant-template");
  const addButton = mappingForm.querySelector("[data-add-constant]");

  const given = () => {
    const columns = new Map();
    for (const select of mappingForm.querySelectorAll("select[data-column]")) {
      if (select.value && !columns.has(select.value)) columns.set(select.value, select.dataset.column);
    }
    const values = new Map();
    for (const slot of constants.querySelectorAll("[data-constant]")) {
      const field = slot.querySelector("select").value;
      const value = slot.querySelector("input").value.trim();
      if (field && value && !values.has(field)) values.set(field, value);
    }
    return { columns, values };
  };

  const update = () => {
    const { columns, values } = given();
    let missing = 0;
    for (const item of mappingForm.querySelectorAll("[data-requirement]")) {
      const targets = item.dataset.requirement.split(" ");
      const column = targets.find((t) => columns.has(t));
      const value = targets.find((t) => values.has(t));
      let state;
      if (column) state = `from column “${columns.get(column)}”`;
      else if (value) state = `one value for every ${unit}: ${values.get(value).slice(0, 60)}`;
      else {
        state = `not mapped: map a column to it or give one value for every ${unit}`;
        missing += 1;
      }
      item.querySelector("[data-requirement-state]").textContent = state;
      item.classList.toggle("import-requirement-missing", !column && !value);
    }
    const text = missing
      ? `${missing} required field${missing === 1 ? "" : "s"} not mapped: the dry run would reject every ${unit}.`
      : "Every required field is mapped.";
    for (const summary of mappingForm.querySelectorAll("[data-required-summary]")) {
      // Only write on change, so the live region speaks once per change.
      if (summary.textContent !== text) summary.textContent = text;
      summary.classList.toggle("import-required-summary-missing", missing > 0);
    }
  };

  mappingForm.addEventListener("change", update);
  mappingForm.addEventListener("input", (event) => {
    if (event.target.closest("[data-constant]")) update();
  });

  if (constants && template && addButton) {
    const most = 20; // the slots the server reads (MAX_CONSTANTS)
    const refresh = () => {
      addButton.hidden = constants.querySelectorAll("[data-constant]").length >= most;
    };
    addButton.addEventListener("click", () => {
      const number = constants.querySelectorAll("[data-constant]").length + 1;
      const html = template.innerHTML.replaceAll("__N__", String(number));
      constants.insertAdjacentHTML("beforeend", html);
      constants.lastElementChild.querySelector("select").focus();
      refresh();
    });
    refresh();
  }
}
