// Saves partial answers while the form is being filled in, so nothing is lost
// when the page is closed. The form works without this script.
"use strict";
(function () {
  const form = document.querySelector("form[data-token]");
  if (!form || !window.fetch) { return; }
  const status = form.querySelector(".status");
  let timer = null;

  function answers() {
    const data = {};
    for (const element of form.elements) {
      if (!element.name || element.name === "_lang") { continue; }
      if (element.type === "checkbox") {
        data[element.name] = data[element.name] || [];
        if (element.checked) { data[element.name].push(element.value); }
      } else if (element.type === "radio") {
        if (element.checked) { data[element.name] = element.value; }
      } else if (element.value !== "") {
        data[element.name] = element.value;
      }
    }
    return data;
  }

  function save() {
    const url = "/api/v1/forms/" + encodeURIComponent(form.dataset.token) + "/draft";
    fetch(url, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ answers: answers() }),
      credentials: "omit",
    }).then(function (response) {
      if (response.ok && status) { status.textContent = form.dataset.saved; }
    }).catch(function () { /* offline: the answers stay in the page */ });
  }

  form.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(save, 400);
  });
})();
