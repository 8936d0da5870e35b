// Township-office claim entry: add cost-line rows from the formset's empty form, and make
// Enter in the member finder look the member up instead of submitting the claim.
(function () {
  "use strict";
  var rows = document.getElementById("cost-line-rows");
  var template = document.getElementById("cost-line-template");
  var total = document.querySelector("input[name='lines-TOTAL_FORMS']");
  var add = document.getElementById("add-cost-line");
  if (rows && template && total && add) {
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var first = rows.lastElementChild.querySelector("select, input");
      if (first) { first.focus(); }
    });
  }
  var finder = document.getElementById("member-q");
  var find = document.getElementById("member-find");
  function lookup() {
    if (window.htmx && finder) { window.htmx.trigger(finder, "lookup"); }
  }
  if (finder) {
    finder.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); lookup(); }
    });
  }
  if (find) { find.addEventListener("click", lookup); }
})();
