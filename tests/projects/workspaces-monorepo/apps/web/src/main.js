async function showEvents() {
  const events = await (await fetch('/api/events')).json()
  document.querySelector('#events').innerHTML = events.map((e) => `<li>${e.name}, ${e.when}</li>`).join('')
}

showEvents()
