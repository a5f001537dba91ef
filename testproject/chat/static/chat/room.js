// The room page: one websocket, messages in, members list, reconnect on loss.
(function () {
  "use strict";
  const room = JSON.parse(document.getElementById("room-name").textContent);
  const name = new URLSearchParams(window.location.search).get("name");
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  let url = scheme + "://" + window.location.host + "/ws/chat/" + encodeURIComponent(room) + "/";
  if (name) {
    url += "?name=" + encodeURIComponent(name);
  }

  const messages = document.getElementById("messages");
  const members = document.getElementById("members");
  const status = document.getElementById("status");
  const input = document.getElementById("message-input");
  const button = document.getElementById("message-send");
  let socket = null;
  let retryDelay = 500;

  function setState(state, text) {
    status.dataset.state = state;
    status.textContent = text;
    input.disabled = button.disabled = state !== "open";
  }

  // textContent everywhere: what other people type is never parsed as HTML.
  function addMessage(user, text) {
    const item = document.createElement("li");
    item.className = user === "bot" ? "message bot" : "message";
    const who = document.createElement("span");
    who.className = "user";
    who.textContent = user;
    const what = document.createElement("span");
    what.className = "text";
    what.textContent = text;
    item.append(who, what);
    messages.append(item);
    item.scrollIntoView({block: "end"});
  }

  function showMembers(names) {
    members.replaceChildren(...names.map(function (member) {
      const item = document.createElement("li");
      item.textContent = member;
      return item;
    }));
  }

  const handlers = {
    welcome: function (data) { document.getElementById("me").textContent = data.user; },
    message: function (data) { addMessage(data.user, data.text); },
    members: function (data) { showMembers(data.members); },
  };

  function connect() {
    setState("connecting", "connecting…");
    socket = new WebSocket(url);
    socket.addEventListener("open", function () {
      retryDelay = 500;
      setState("open", "connected");
    });
    socket.addEventListener("message", function (event) {
      const data = JSON.parse(event.data);
      const handler = handlers[data.type];
      if (handler) {
        handler(data);
      }
    });
    socket.addEventListener("close", function () {
      setState("closed", "disconnected, reconnecting…");
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 5000);
    });
  }

  document.getElementById("send").addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (text && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({text: text}));
      input.value = "";
    }
    input.focus();
  });

  connect();
})();
