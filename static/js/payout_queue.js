// The cashier's payout queue: select all on the page, the selection's count and total as it
// changes, and the question before paying says both (forms.js asks it: data-confirm).
(function () {
  const form = document.getElementById("payout-form");
  if (!form) return;
  const all = document.getElementById("select-all");
  const boxes = function () { return Array.from(form.querySelectorAll("input[name=claim]")); };
  // "1234.56" → 123456 fen, by its digits (no floating point in money, even on the screen)
  const fen = function (text) {
    const parts = String(text).split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  };
  const yuan = function (cents) {
    const whole = Math.floor(cents / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return whole + "." + String(cents % 100).padStart(2, "0");
  };
  const update = function () {
    const chosen = boxes().filter(function (box) { return box.checked; });
    const cents = chosen.reduce(function (sum, box) { return sum + fen(box.dataset.amount); }, 0);
    document.getElementById("selection-count").textContent = chosen.length;
    document.getElementById("selection-total").textContent = yuan(cents);
    const pay = document.getElementById("pay-selected");
    pay.setAttribute("data-confirm", pay.dataset.question.replace("{count}", chosen.length).replace("{total}", yuan(cents)));
    if (all) all.checked = chosen.length > 0 && chosen.length === boxes().length;
  };
  if (all) all.addEventListener("change", function () {
    boxes().forEach(function (box) { box.checked = all.checked; });
    update();
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "claim") update();
  });
  update();
})();
