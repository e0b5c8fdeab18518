/* Voronka CRM: the navbar's quick search. As the user types, the first clients found drop
   down under the box (GET /search/quick?q=); arrows choose, Enter opens the chosen client's
   card or, with none chosen, the page of all results; "/" anywhere puts the cursor in the
   box. Texts come from the box's data attributes, in the user's language. */
(function () {
  "use strict";
  var input = document.querySelector(".crm-quick-search input[name=q]");
  if (!input) {
    return;
  }
  var form = input.form;
  var list = form.querySelector(".crm-quick-results");
  var timer = null;
  var asked = "";
  var active = -1;

  function links() {
    return list.querySelectorAll("a");
  }

  function close() {
    list.style.display = "none";
    active = -1;
  }

  function choose(index) {
    var items = links();
    if (!items.length) {
      return;
    }
    active = (index + items.length) % items.length;
    items.forEach(function (link, i) {
      link.parentNode.classList.toggle("active", i === active);
    });
  }

  function item(href, title, details) {
    var li = document.createElement("li");
    var link = document.createElement("a");
    link.href = href;
    var strong = document.createElement("strong");
    strong.textContent = title;
    link.appendChild(strong);
    if (details) {
      var small = document.createElement("small");
      small.className = "crm-quick-details";
      small.textContent = details;
      link.appendChild(small);
    }
    li.appendChild(link);
    return li;
  }

  function show(term, result) {
    list.textContent = "";
    if (!result.length) {
      var nothing = document.createElement("li");
      nothing.className = "dropdown-header";
      nothing.textContent = input.getAttribute("data-nothing");
      list.appendChild(nothing);
    }
    result.forEach(function (found) {
      list.appendChild(item(found.url, found.name, found.details));
    });
    var divider = document.createElement("li");
    divider.className = "divider";
    list.appendChild(divider);
    list.appendChild(item(form.action + "?q=" + encodeURIComponent(term),
                          input.getAttribute("data-all"), ""));
    list.style.display = "block";
    active = -1;
  }

  function ask() {
    var term = input.value.trim();
    if (term.length < 2) {
      close();
      return;
    }
    asked = term;
    fetch(input.getAttribute("data-quick") + "?q=" + encodeURIComponent(term),
          {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (answer && term === asked && term === input.value.trim()) {
          show(term, answer.result);
        }
      })
      .catch(close);
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 200);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      choose(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      window.location.href = links()[active].href;
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", function () {
    window.setTimeout(close, 200);  // a click on a result lands first
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable;
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
    }
  });
})();
