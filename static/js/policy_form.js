// The draft policy form (fund/simulation_form.html): "增加一行" under a level's bands or the single
// diseases copies the table's last row, empty, with the next row number in its fields' names
// (levels__county__bands_3__ratio → …_4__…); the server reads every row posted.
(function () {
  "use strict";
  function renumber(text, row) {
    return text.replace(/_(\d+)__/, "_" + row + "__");
  }
  document.querySelectorAll("table[data-rows]").forEach(function (table) {
    var body = table.tBodies[0];
    var button = document.createElement("button");
    button.type = "button";
    button.className = "add-row";
    button.textContent = table.getAttribute("data-add-label");
    button.addEventListener("click", function () {
      var last = body.rows[body.rows.length - 1];
      var row = body.rows.length + 1;
      var copy = last.cloneNode(true);
      copy.querySelectorAll("input, select").forEach(function (field) {
        field.name = renumber(field.name, row);
        if (field.id) { field.id = renumber(field.id, row); }
        if (field.tagName === "SELECT") { field.selectedIndex = 0; } else { field.value = ""; }
        field.removeAttribute("aria-invalid");
      });
      copy.querySelectorAll(".errorlist").forEach(function (list) { list.remove(); });
      copy.querySelectorAll(".has-error").forEach(function (cell) { cell.classList.remove("has-error"); });
      var number = copy.querySelector("td.row-number");
      if (number) { number.textContent = row; }
      body.appendChild(copy);
      var first = copy.querySelector("input, select");
      if (first) { first.focus(); }
    });
    table.parentNode.insertBefore(button, table.nextSibling);
  });
})();
