// The Organization page (docs/console.md). htmx applies a row's seat type as soon as it is
// chosen; a row that is selected waits instead, so that its choice goes with the others
// when "Apply to selected" sends them as one batch (the article's swap in one step).
// htmx's trigger filters would need eval, which the CSP forbids: hence this file.
"use strict";

document.documentElement.classList.add("js");

document.addEventListener("htmx:confirm", (event) => {
  const control = event.detail.elt;
  if (!control.matches || !control.matches("select[data-batch]")) {
    return;
  }
  const row = control.closest("tr");
  const selected = row && row.querySelector("input[data-select-member]");
  if (!selected || !selected.checked) {
    return;
  }
  event.preventDefault();
  const chosen = control.options[control.selectedIndex].text;
  announce(`${chosen} for ${row.dataset.member}: applied with the other selected members when you press Apply to selected.`);
});

function announce(text) {
  const region = document.getElementById("status");
  if (!region) {
    return;
  }
  const message = document.createElement("p");
  message.className = "notice";
  message.textContent = text;
  region.replaceChildren(message);
}
