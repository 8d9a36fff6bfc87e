// The link target picker: a suggestion button puts its reference into the field.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("button.pick") : null;
  if (!button) { return; }
  var input = document.getElementById("link-target");
  if (!input) { return; }
  input.value = button.getAttribute("data-ref");
  var results = document.getElementById("picker-results");
  if (results) { results.textContent = ""; }
  var submit = document.getElementById("link-submit");
  if (submit) { submit.focus(); }
});
