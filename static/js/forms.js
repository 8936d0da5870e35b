// Small behaviours of plain forms, without inline scripts (the Content-Security-Policy allows
// scripts from this site only).
//
// <form data-submit-once>: a double click must not send the form twice (the server refuses a
//   repeated payout or booking anyway); the clicked button's name and value still go along, and a
//   button with formmethod="get" (a filter) is left alone.
// <select data-autosubmit>: choosing a value submits its form (e.g. the policy year).
// <button data-confirm="…">: a step that moves money or decides a claim asks first; cancelling
//   sends nothing (runs before data-submit-once, in the capture phase).
document.addEventListener("submit", function (event) {
  const button = event.submitter;
  const question = button && button.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) return;
  if (event.submitter && event.submitter.getAttribute("formmethod") === "get") return;
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
  if (event.submitter && event.submitter.name) {
    const chosen = document.createElement("input");
    chosen.type = "hidden"; chosen.name = event.submitter.name; chosen.value = event.submitter.value;
    form.appendChild(chosen);
  }
  form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
});
document.addEventListener("change", function (event) {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
  }
});
