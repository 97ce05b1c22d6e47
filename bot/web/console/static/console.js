// The console's little script: sort and filter tables, the live audience count, confirmations.
// Pages work without it; it only saves clicks.
"use strict";

// "Ninh Kiều" -> "ninh kieu": what is typed without accents finds names with them.
function fold(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "d")
    .toLowerCase().replace(/\s+/g, " ").trim();
}

function sortable(table) {
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((head, index) => {
    if (!head.dataset.sort) return;
    head.tabIndex = 0;
    const sort = () => {
      const ascending = head.getAttribute("aria-sort") !== "ascending";
      heads.forEach((h) => h.removeAttribute("aria-sort"));
      head.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const rows = Array.from(table.tBodies[0].rows);
      const key = (row) => {
        const cell = row.cells[index];
        return head.dataset.sort === "num" ? parseFloat(cell.dataset.value) : fold(cell.textContent);
      };
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        const order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach((row) => table.tBodies[0].appendChild(row));
    };
    head.addEventListener("click", sort);
    head.addEventListener("keydown", (e) => { if (e.key === "Enter") sort(); });
  });
}

function filter(input) {
  const table = document.getElementById(input.dataset.filter);
  input.addEventListener("input", () => {
    const wanted = fold(input.value);
    Array.from(table.tBodies[0].rows).forEach((row) => {
      row.hidden = wanted !== "" && !row.dataset.name.includes(wanted);
    });
  });
}

function audienceCount(form) {
  const out = document.getElementById("audience-count");
  const update = async () => {
    const query = new URLSearchParams();
    new FormData(form).forEach((value, name) => {
      if (["area", "role", "lang"].includes(name) && value) query.append(name, value);
    });
    const answer = await fetch(form.dataset.countUrl + "?" + query, { credentials: "same-origin" });
    if (answer.ok) out.textContent = (await answer.json()).text;
  };
  form.addEventListener("change", update);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable").forEach(sortable);
  document.querySelectorAll("input[data-filter]").forEach(filter);
  document.querySelectorAll("form[data-count-url]").forEach(audienceCount);
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
  });
});
