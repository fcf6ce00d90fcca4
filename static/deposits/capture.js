// Capture form: picking a customer from the search fills account and payer name.
(function () {
  "use strict";
  function field(name) { return document.getElementById("id_" + name); }

  document.addEventListener("click", function (event) {
    var choice = event.target.closest("[data-customer-id]");
    if (!choice) { return; }
    field("customer").value = choice.dataset.customerId;
    field("account").value = choice.dataset.account;
    if (!field("payer_name").value) { field("payer_name").value = choice.dataset.name; }
    document.getElementById("customer-results").replaceChildren();
    field("amount").focus();
  });

  // After a save the fresh form is swapped in: start the next entry at the search.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "capture-form-box") {
      var search = document.getElementById("customer-search");
      var saved = document.querySelector("[data-testid=saved]");
      if (saved && search) { search.focus(); }
    }
  });

  // Typing another account by hand unlinks the chosen customer.
  document.addEventListener("input", function (event) {
    if (event.target.id === "id_account" && field("customer")) { field("customer").value = ""; }
  });
})();
