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

  // Typing another account by hand unlinks the chosen customer.
  document.addEventListener("input", function (event) {
    if (event.target.id === "id_account" && field("customer")) { field("customer").value = ""; }
  });
})();
