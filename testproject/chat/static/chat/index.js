// Go to the chosen room, carrying the chosen name in the query string.
(function () {
  "use strict";
  document.getElementById("join").addEventListener("submit", function (event) {
    event.preventDefault();
    const room = document.getElementById("room-input").value.trim();
    const name = document.getElementById("name-input").value.trim();
    let url = "/chat/" + encodeURIComponent(room) + "/";
    if (name) {
      url += "?name=" + encodeURIComponent(name);
    }
    window.location.href = url;
  });
})();
