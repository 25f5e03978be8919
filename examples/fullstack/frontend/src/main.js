// Every call is a relative URL: the page and the API share one origin through the gateway,
// so there is no CORS and no mixed content, in development and in production alike.
import "./style.css";

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(`/api${path}`, {
    headers: { "Content-Type": "application/json" },
    ...options,
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.status === 204 ? null : response.json();
}

function cardItem(card) {
  const li = document.createElement("li");
  li.textContent = card.title;
  return li;
}

async function refresh() {
  const cards = await api("/cards");
  $("cards").replaceChildren(...cards.map(cardItem));
}

async function start() {
  const health = await api("/health");
  $("health").textContent = `${health.status} (version ${health.version})`;
  $("route").textContent = `route: ${location.pathname}`;
  await refresh();

  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/ws/echo`);
  socket.onopen = () => socket.send("hello");
  socket.onmessage = (event) => {
    $("ws").textContent = event.data;
    document.body.dataset.ready = "yes";
  };
}

$("add").addEventListener("submit", async (event) => {
  event.preventDefault();
  // The example keeps cards in each replica's memory (a real app uses a database),
  // so show the card the API returned instead of re-reading a list from another replica.
  const card = await api("/cards", { method: "POST", body: JSON.stringify({ title: $("title").value }) });
  $("title").value = "";
  $("cards").append(cardItem(card));
});

start().catch((error) => {
  $("health").textContent = `error: ${error.message}`;
  console.error(error);
});
