// A chat room: the log, the input box and who is here, over one WebSocket.
// Plain JavaScript, no build step. The server's messages are described in chat/consumers.py.
"use strict";

(function () {
  const roomName = JSON.parse(document.getElementById("room-name").textContent);
  const userName = JSON.parse(document.getElementById("user-name").textContent);
  const log = document.getElementById("chat-log");
  const presence = document.getElementById("presence");
  const presenceCount = document.getElementById("presence-count");
  const status = document.getElementById("connection-status");
  const errorBox = document.getElementById("chat-error");
  const form = document.getElementById("chat-form"); // absent for guests
  const input = document.getElementById("chat-message-input");
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  let socket = null;
  let attempts = 0;
  let leaving = false;
  let errorTimer = null;

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/chat/" + roomName + "/");
    setStatus("connecting", "connecting…");
    socket.onopen = function () {
      attempts = 0;
      setStatus("online", "connected");
    };
    socket.onmessage = function (event) {
      receive(JSON.parse(event.data));
    };
    socket.onclose = function (event) {
      if (leaving) {
        return;
      }
      setStatus("offline", "reconnecting…");
      // 1001: the server is restarting; come back soon, with jitter. Else back off.
      const delay = event.code === 1001
        ? 500 + Math.random() * 2000
        : Math.min(10000, 1000 * 2 ** attempts) * (0.5 + Math.random());
      attempts += 1;
      window.setTimeout(connect, delay);
    };
  }

  function receive(data) {
    switch (data.type) {
      case "history":
        log.replaceChildren(...data.messages.map(renderMessage));
        if (data.messages.length === 0) {
          log.append(placeholder());
        }
        log.scrollTop = log.scrollHeight;
        break;
      case "message": {
        const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
        log.querySelector(".empty")?.remove();
        log.append(renderMessage(data.message));
        if (atBottom || data.message.author === userName) {
          log.scrollTop = log.scrollHeight;
        }
        break;
      }
      case "presence":
        renderPresence(data.users);
        break;
      case "error":
        showError(data.error);
        break;
    }
  }

  function renderMessage(message) {
    const item = document.createElement("li");
    item.className = "message" + (message.author === userName ? " mine" : "");
    item.dataset.id = message.id;
    const meta = element("div", "meta");
    const author = element("span", "author", message.author);
    const created = new Date(message.created);
    const time = element("time", "", timeFormat.format(created));
    time.dateTime = message.created;
    time.title = created.toLocaleString();
    meta.append(author, time);
    item.append(avatar(message.author), meta, element("div", "text", message.text));
    return item;
  }

  function renderPresence(users) {
    presence.replaceChildren(...users.map(function (name) {
      const item = document.createElement("li");
      item.dataset.user = name;
      item.append(avatar(name), element("span", "name", name));
      if (name === userName) {
        item.append(element("span", "you", "(you)"));
      }
      return item;
    }));
    presenceCount.textContent = users.length ? "· " + users.length : "";
  }

  function placeholder() {
    return element("li", "empty", "No messages yet. Say hello!");
  }

  function avatar(name) {
    const badge = element("span", "avatar", name.slice(0, 1));
    badge.style.background = colour(name);
    badge.setAttribute("aria-hidden", "true");
    return badge;
  }

  function colour(name) {
    let hash = 0;
    for (const character of name) {
      hash = (hash * 31 + character.codePointAt(0)) % 360;
    }
    return "hsl(" + hash + ", 55%, 50%)";
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function setStatus(state, text) {
    status.className = "status status-" + state;
    status.textContent = text;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
    window.clearTimeout(errorTimer);
    errorTimer = window.setTimeout(function () { errorBox.hidden = true; }, 5000);
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) {
        return;
      }
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        showError("Not connected; your message was not sent.");
        return;
      }
      socket.send(JSON.stringify({ message: text }));
      input.value = "";
      input.focus();
    });
  }

  window.addEventListener("pagehide", function () {
    leaving = true;
    if (socket) {
      socket.close(1000);
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { // back from the browser's page cache: the socket was closed
      leaving = false;
      connect();
    }
  });

  connect();
})();
